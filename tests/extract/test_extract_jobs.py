"""`archiver extract --jobs N`: articles extracted in worker processes give the
same output, byte for byte and in the same order, as one process; a worker
that dies is reported and its pages done again."""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import signal
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_extract_cli import PAGE, SHELL, Warc, _with_dom
from warcassert import sha256_label

from archiver.cli import cli
from archiver.extract.reader import Extracted, ExtractFailure, extract_warcs
from archiver.root import ArchiveRoot


def _page(i: int) -> bytes:
    return PAGE.replace(b"Raids in Ili", b"Report %d" % i).replace(
        b"Paragraph 0", b"Paragraph 0 of report %d" % i)


@pytest.fixture
def archive(tmp_path: Path) -> ArchiveRoot:
    return make_archive(tmp_path / "archive")


def make_archive(path: Path) -> ArchiveRoot:
    """Several WARCs: distinct pages, repeated captures, revisits (one met
    before its original), a payload that fails to extract captured twice, a
    record whose digest lies, a damaged WARC between good ones, pages whose
    article is in their rendered DOM (one DOM damaged), and WARCs that break
    off after a page with article text and after one without."""
    root = ArchiveRoot(path)
    root.ensure()
    later = Warc(root.warcs / "2024/a.warc.gz")
    first = Warc(root.warcs / "2024/b.warc.gz")
    originals = [first.response(f"http://e.org/{i}", _page(i)) for i in range(12)]
    first.response("http://e.org/3", _page(3))  # recaptured unchanged, dedup off
    binary = b"\x00\x01\x02 not a page \xff" * 50
    first.response("http://e.org/bin", binary)  # fails to extract ...
    first.response("http://e.org/bin", binary)  # ... so its recapture is tried too
    first.response("http://e.org/lie", PAGE, digest=sha256_label(b"other"))
    first.revisit("http://e.org/0", originals[0], "http://e.org/0")
    later.revisit("http://e.org/5", originals[5], "http://e.org/5")  # before its original
    later.record("revisit", "http://e.org/x", b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                 b"\r\n", {"WARC-Refers-To": originals[7],
                           "WARC-Payload-Digest": sha256_label(_page(7))})
    (root.warcs / "2024/c.warc.gz").write_bytes(gzip.compress(b"no WARC record\r\n\r\n" * 3))
    last = Warc(root.warcs / "2024/d.warc.gz")
    for i in range(12, 30):
        last.response(f"http://e.org/{i}", _page(i), chunked=i % 2 == 0)
        last.response(f"http://e.org/{i}", _page(i))  # the same page again, close behind
    _with_dom(last, "http://e.org/js", SHELL, _page(40))
    _with_dom(last, "http://e.org/static", _page(41), SHELL)
    _with_dom(last, "http://e.org/bad-dom", SHELL, _page(42), block_digest=sha256_label(b"x"))
    for name, pages in (("e", [SHELL, _page(43)]), ("f", [_page(44), SHELL])):
        cut = Warc(root.warcs / f"2024/{name}.warc.gz")
        for n, body in enumerate(pages):
            cut.response(f"http://e.org/{name}{n}", body)
        with cut.path.open("ab") as fh:
            fh.write(gzip.compress(b"WARC/1.1\r\nWARC-Type: broken"))
    return root


@pytest.mark.parametrize("fmt", ["jsonl", "text", "markdown"])
@pytest.mark.parametrize("every", [False, True])
def test_jobs_2_output_is_byte_identical_to_jobs_1(archive: ArchiveRoot, fmt: str,
                                                   every: bool) -> None:
    runs = []
    for jobs in ("1", "2"):
        args = ["--root", str(archive.path), "extract", "--jobs", jobs, "--format", fmt]
        runs.append(CliRunner().invoke(cli, args + (["--all-captures"] if every else [])))
    one, two = runs
    assert one.exit_code == two.exit_code == 1  # the damaged WARC, the lying digest, ...
    assert two.stdout_bytes == one.stdout_bytes
    assert two.stderr == one.stderr
    assert one.stdout.count("Report ") >= 30
    assert "warcs/2024/c.warc.gz" in one.stderr and one.stderr.count("http://e.org/bin") == 2
    if not every:
        assert "unchanged recapture(s) left out" in one.stderr


def test_library_items_and_order_do_not_depend_on_jobs(archive: ArchiveRoot) -> None:
    paths = sorted(archive.warcs.rglob("*.warc.gz"))
    one = extract_warcs(paths, root=archive)
    items = list(one)
    three = extract_warcs(paths, root=archive, jobs=3)
    assert list(three) == items
    assert three.duplicates == one.duplicates > 0
    keys = [(i.provenance.warc_file, i.provenance.offset) if isinstance(i, Extracted)
            else (i.warc_file, i.offset) for i in items]
    assert any(isinstance(i, ExtractFailure) for i in items)
    # Input order: files in the order given, records in file order, revisits
    # met before their original last.
    assert keys[0][0] == "warcs/2024/b.warc.gz"
    assert keys[-1][0] == "warcs/2024/a.warc.gz"
    d = [k[1] for k, i in zip(keys, items, strict=True)
         if k[0] == "warcs/2024/d.warc.gz" and isinstance(i, Extracted)]
    assert d == sorted(d) and len(d) == 18 + 3
    dom = [i for i in items if isinstance(i, Extracted) and i.provenance.dom_record_id]
    assert [i.provenance.target_uri for i in dom] == ["http://e.org/js"]


def _one_warc(tmp_path: Path, pages: list[tuple[str, bytes]]) -> tuple[ArchiveRoot, Warc]:
    """An archive with one WARC holding a response for each (URL, body)."""
    root = ArchiveRoot(tmp_path / "archive")
    root.ensure()
    warc = Warc(root.warcs / "a.warc.gz")
    for url, body in pages:
        warc.response(url, body)
    return root, warc


def test_a_killed_worker_is_reported_and_every_page_still_done(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root, warc = _one_warc(tmp_path, [(f"http://e.org/{i}", _page(i)) for i in range(60)])
    expected = list(extract_warcs([warc.path], root=root))
    run = extract_warcs([warc.path], root=root, jobs=2)
    items = iter(run)
    got = [next(items)]
    pids = run.worker_pids()
    assert len(pids) == 2
    with caplog.at_level(logging.WARNING, logger="archiver.extract.reader"):
        os.kill(pids[0], signal.SIGKILL)
        got += list(items)
    assert got == expected
    assert "worker process died" in caplog.text
    assert run.worker_pids() == []  # the pool is shut down at the end


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_page_that_kills_its_worker_every_time_is_that_records_failure(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A page that takes seconds of CPU to parse, within the body limit; the
    # watcher below kills any worker that has spent over 1.5 s of CPU, as the
    # kernel's OOM killer or an operator would a runaway worker: every time
    # the page is tried, its worker dies.
    slow = (b"<html><body>" + b"".join(b"<div><p>w%d</p></div>" % i for i in range(220_000))
            + b"</body></html>")
    pages = [(f"http://e.org/{i}", _page(i)) for i in range(8)]
    root, warc = _one_warc(tmp_path, [*pages[:4], ("http://e.org/slow", slow), *pages[4:]])
    run = extract_warcs([warc.path], root=root, jobs=2)
    done = threading.Event()
    killed: list[int] = []

    def watch() -> None:
        while not done.wait(0.05):
            try:
                pids = run.worker_pids()
            except RuntimeError:  # the pool's table changed while read
                continue
            for pid in pids:
                if pid not in killed and _cpu_seconds(pid) > 1.5:
                    killed.append(pid)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with caplog.at_level(logging.WARNING, logger="archiver.extract.reader"):
            items = list(run)
    finally:
        done.set()
        watcher.join()
    assert len(killed) == 2  # the page's first try, and its try alone
    failures = [i for i in items if isinstance(i, ExtractFailure)]
    assert [f.message for f in failures] == ["the worker process died extracting this page (out "
                                             "of memory, or killed), alone as well; try it with "
                                             "--jobs 1"]
    assert failures[0].warc_file == "warcs/a.warc.gz" and failures[0].offset is not None
    assert sorted(i.provenance.target_uri or "" for i in items if isinstance(i, Extracted)) == \
        sorted(f"http://e.org/{i}" for i in range(8))
    assert "worker process died" in caplog.text
    assert run.worker_pids() == []
