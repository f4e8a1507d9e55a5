"""Crash safety: kill -9 in the middle of a capture run, torn records, the writer lock."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from servers import HTTPTestServer, Response
from warcassert import read_warc, warcs_in

from archiver import ArchiveRoot
from archiver.warc.record import recover_open_files


def archiver(root: Path, *args: str, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "archiver", "--root", str(root), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw,  # type: ignore[call-overload]
    )


def catalog_rows(root: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(root / "manifests" / "catalog.sqlite") as db:
        return db.execute("SELECT outcome, warc, offset FROM captures ORDER BY id").fetchall()


def open_files(root: Path) -> list[Path]:
    return sorted((root / "warcs").rglob("*.warc.gz.open"))


def test_kill_9_mid_run_loses_nothing_completed(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    with HTTPTestServer() as web:
        for n in range(300):
            web.route(f"/p{n}", Response(body=f"<p>report {n}</p>".encode() * 50, delay=0.01))
        urls = tmp_path / "urls.txt"
        urls.write_text("".join(web.url(f"/p{n}") + "\n" for n in range(300)))
        proc = archiver(root, "-q", "capture", "-i", str(urls), "--delay", "0")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            db = root / "manifests" / "catalog.sqlite"
            try:
                if db.exists() and len(catalog_rows(root)) >= 20:
                    break
            except sqlite3.OperationalError:
                pass  # the run has not created its tables yet
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        committed = catalog_rows(root)
        assert 20 <= len(committed) < 300
        (left_open,) = open_files(root)

        # The next run recovers the .open file before capturing anything.
        web.route("/after", b"<p>after the crash</p>")
        proc = archiver(root, "capture", web.url("/after"), "--delay", "0")
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err

    assert not open_files(root)
    closed = left_open.with_name(left_open.name.removesuffix(".open"))
    recs = read_warc(closed)  # every digest proven by the test's own sha256
    offsets = {r.offset for r in recs}
    for outcome, warc, offset in committed:  # every capture the catalog saw is intact
        assert outcome == "captured" and warc == ArchiveRoot(root).relative(closed)
        assert offset in offsets
    responses = [r for r in recs if r.type == "response"]
    assert len(responses) >= len(committed)
    # The recovered captures are back in the catalog, and the file in the manifest.
    assert len(catalog_rows(root)) >= len(responses) + 1
    manifest = (root / "manifests" / "manifest-sha256.txt").read_text()
    assert ArchiveRoot(root).relative(closed) in manifest
    check = subprocess.run(["sha256sum", "-c", "manifests/manifest-sha256.txt"], cwd=root,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_partial_trailing_record_is_cut_at_the_last_complete_member(
    tmp_path: Path
) -> None:
    root = tmp_path / "archive"
    with HTTPTestServer() as web:
        web.route("/a", b"<p>a</p>")
        web.route("/b", b"<p>b</p>")
        proc = archiver(root, "capture", web.url("/a"), web.url("/b"), "--delay", "0")
        proc.communicate(timeout=60)
    (warc,) = warcs_in(root)
    good = warc.read_bytes()
    torn = warc.with_name(warc.name + ".open")
    member = gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n" + b"x" * 5000)
    torn.write_bytes(good + member[: len(member) // 2])  # a record torn by a crash
    warc.unlink()

    closed = recover_open_files(ArchiveRoot(root))

    assert closed == [warc]
    assert warc.read_bytes() == good
    assert [r.type for r in read_warc(warc)].count("response") == 2


def test_open_file_with_no_complete_record_is_removed(tmp_path: Path) -> None:
    root = ArchiveRoot(tmp_path)
    root.ensure()
    stub = root.warcs / "2026" / "archiver-x-00001-host.warc.gz.open"
    stub.parent.mkdir(parents=True)
    stub.write_bytes(gzip.compress(b"WARC/1.1\r\n" * 100)[:20])
    assert recover_open_files(root) == []
    assert not stub.exists()


def test_second_run_refuses_with_no_wait_and_waits_otherwise(tmp_path: Path) -> None:
    root = ArchiveRoot(tmp_path)
    root.ensure()
    with HTTPTestServer() as web:
        web.route("/x", b"<p>x</p>")
        with root.writer_lock():
            proc = archiver(tmp_path, "capture", "--no-wait", web.url("/x"))
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 2
            assert "another archiver run" in err and "manifests/.lock" in err
            assert f"pid {os.getpid()}" in err and len(err.strip().splitlines()) == 1

            waiting = archiver(tmp_path, "capture", web.url("/x"), "--delay", "0")
            assert waiting.stderr is not None
            # Its first line says it waits (read as it comes: a loaded machine
            # may take seconds to start the child); then it must still wait.
            guard = threading.Timer(60, waiting.kill)  # a child that never says it: no hang
            guard.start()
            said = waiting.stderr.readline()
            guard.cancel()
            assert "another archiver run" in said and "waiting for it" in said
            time.sleep(0.5)
            assert waiting.poll() is None and web.hits("/x") == 0
        _, rest = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, said + rest
        assert web.hits("/x") == 1


def test_reindex_reports_a_warc_cut_short_and_indexes_the_rest(tmp_path: Path) -> None:
    from warcassert import warcs_in as closed_warcs

    with HTTPTestServer() as web:
        for name in ("a", "b", "c"):
            web.route(f"/{name}", f"<p>{name}</p>".encode() * 200)
        for name in ("a", "b", "c"):  # three runs: three WARC files
            proc = archiver(tmp_path, "capture", web.url(f"/{name}"), "--delay", "0")
            assert proc.communicate(timeout=60) and proc.returncode == 0
    _, second, _ = closed_warcs(tmp_path)
    data = second.read_bytes()
    second.write_bytes(data[: len(data) - 100])  # cut inside its last record

    proc = archiver(tmp_path, "reindex")
    _, err = proc.communicate(timeout=60)

    assert proc.returncode == 1
    assert f"DAMAGED {second}" in err and "cut short" in err
    # b's outcome record was the one cut: b is not indexed from partial bytes.
    assert "indexed 2 capture attempts, 1 damaged WARC(s)" in err
    with sqlite3.connect(tmp_path / "manifests" / "catalog.sqlite") as db:
        urls = sorted(u for (u,) in db.execute("SELECT url FROM captures"))
    assert [u.rsplit("/", 1)[1] for u in urls] == ["a", "c"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_promptly_and_leaves_a_closed_listed_warc(
    tmp_path: Path, signum: signal.Signals
) -> None:
    with HTTPTestServer() as web:
        for n in range(200):
            web.route(f"/p{n}", Response(body=f"<p>report {n}</p>".encode(), delay=0.05))
        urls = tmp_path / "urls.txt"
        urls.write_text("".join(web.url(f"/p{n}") + "\n" for n in range(200)))
        proc = archiver(tmp_path / "a", "-q", "capture", "-i", str(urls), "--delay", "0")
        # Some pages are in (polled, not a fixed sleep: a loaded machine starts slowly).
        deadline = time.monotonic() + 60
        while sum(web.hits(f"/p{n}") for n in range(200)) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signum)
        t0 = time.monotonic()
        proc.communicate(timeout=30)
        assert time.monotonic() - t0 < 5  # not the ~8 s the remaining pages would take
        assert proc.returncode != 0
        hits = sum(web.hits(f"/p{n}") for n in range(200))
    root = tmp_path / "a"
    assert not open_files(root)
    (warc,) = sorted((root / "warcs").rglob("*.warc.gz"))
    recs = read_warc(warc)
    assert 0 < len([r for r in recs if r.type == "response"]) == hits < 200
    check = subprocess.run(["sha256sum", "-c", "manifests/manifest-sha256.txt"], cwd=root,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


# Runs the archiver CLI in a child that dies, as kill -9 would (no cleanup, no
# finally), at one exact point of a capture run's handoff of its closed WARCs
# to the manifests: "handoff" is after the .open -> .warc.gz rename, before
# anything is listed; "events" is after the manifest's rename, before the
# history records it.
DIE_AT = """
import os, sys
import archiver.fixity.manifest as manifest
name = {"handoff": "record_ingest", "events": "_ingest_events"}[sys.argv.pop(1)]
real = getattr(manifest, name)
def die(root, paths, *args, **kw):
    if paths:
        os._exit(137)
    return real(root, paths, *args, **kw)
setattr(manifest, name, die)
from archiver.cli import main
sys.argv[0] = "archiver"
main()
"""


@pytest.mark.parametrize(("die_at", "pending_list"),
                         [("handoff", "kept"), ("handoff", "absent"), ("events", "kept")])
def test_a_warc_closed_just_before_a_kill_is_listed_by_the_next_run(
    tmp_path: Path, die_at: str, pending_list: str
) -> None:
    """``absent``: the archive of a version that kept no pending list; the catalog
    still names the file, and that is enough."""
    root = tmp_path / "archive"
    with HTTPTestServer() as web:
        web.route("/a", b"<p>a</p>" * 100)
        web.route("/b", b"<p>b</p>" * 100)
        died = subprocess.run(
            [sys.executable, "-c", DIE_AT, die_at, "--root", str(root), "capture",
             web.url("/a"), "--delay", "0"], capture_output=True, text=True, timeout=60)
        assert died.returncode == 137, died.stderr
        assert not open_files(root)
        (orphan,) = warcs_in(root)
        rel = ArchiveRoot(root).relative(orphan)
        manifest = root / "manifests" / "manifest-sha256.txt"
        listed = manifest.exists() and rel in manifest.read_text()
        assert listed == (die_at == "events")
        if pending_list == "absent":
            (root / "manifests" / "ingest-pending.txt").unlink(missing_ok=True)

        proc = archiver(root, "capture", web.url("/b"), "--delay", "0")
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err

    assert rel in manifest.read_text() and len(warcs_in(root)) == 2
    if die_at == "handoff":
        assert f"{rel}: closed by an interrupted run but never listed in the manifest" in err
    assert not (root / "manifests" / "ingest-pending.txt").exists()
    for args in (["verify"], ["verify", "--history"]):
        check = archiver(root, *args)
        out, err = check.communicate(timeout=60)
        assert check.returncode == 0, out + err
    events = [json.loads(line) for line in
              (root / "manifests" / "events.jsonl").read_text().splitlines()]
    assert [rel] in [e["object"] for e in events if e["type"] == "ingestion"]
    check_sums = subprocess.run(["sha256sum", "-c", "manifests/manifest-sha256.txt"], cwd=root,
                                capture_output=True, text=True)
    assert check_sums.returncode == 0, check_sums.stdout + check_sums.stderr
    assert [r.type for r in read_warc(orphan)].count("response") == 1
    assert [w for _, w, _ in catalog_rows(root)] == [rel, ArchiveRoot(root).relative(
        next(w for w in warcs_in(root) if w != orphan))]
