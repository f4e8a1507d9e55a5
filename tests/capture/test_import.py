"""``archiver import``: WARCs made by other tools, against the real tools.

WARCs are made in the test by real ``wget --warc-file`` and by warcio's
``capture_http`` against the demo site on loopback, imported with the real
CLI, and then listed, extracted and verified, with ``sha256sum -c`` checking
the manifest. Damaged files (whole-file gzip) are refused and leave the
archive untouched.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.demo import DemoSite
from archiver.hashing import sha256_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "warcio"


def archiver(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archiver", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120)


def events(root: Path) -> list[dict[str, object]]:
    path = root / "manifests" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def sha256sum_c(root: Path) -> None:
    done = subprocess.run(["sha256sum", "--strict", "-c", "manifests/manifest-sha256.txt"],
                          cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def listed(root: Path) -> list[dict[str, object]]:
    done = archiver(root, "list", "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def wget_warc(site: DemoSite, dest: Path) -> Path:
    """A WARC made by the real wget from the demo site's seed pages."""
    if shutil.which("wget") is None:
        pytest.skip("wget is not installed (.ci/run installs it)")
    urls = [u for u in site.seed_urls() if u.endswith(".html")]
    done = subprocess.run(["wget", "-q", "--no-proxy", "--warc-file", str(dest / "wget"),
                           "-O", "/dev/null", *urls], capture_output=True, text=True,
                          timeout=60, cwd=dest)
    assert done.returncode == 0, done.stderr
    return dest / "wget.warc.gz"


def warcio_warc(site: DemoSite, dest: Path, digest: str = "sha1") -> Path:
    """A WARC made by warcio's ``capture_http`` (with requests) from every seed URL,
    with ``digest`` digests (warcio writes sha1; a subclass makes it write others)."""
    out = dest / f"warcio-{digest}.warc.gz"
    script = textwrap.dedent(f"""
        from warcio.capture_http import capture_http
        from warcio.utils import Digester
        from warcio.warcwriter import WARCWriter
        import requests  # after capture_http, as warcio asks

        class Writer(WARCWriter):
            @staticmethod
            def _create_digester():
                return Digester({digest!r})

        with open({str(out)!r}, "wb") as fh, capture_http(Writer(fh)), \\
                requests.Session() as s:
            s.trust_env = False
            for url in {site.seed_urls()!r}:
                s.get(url)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    return out


def test_wget_warc_imports_lists_extracts_and_verifies(tmp_path: Path,
                                                       demo_site: DemoSite) -> None:
    made = wget_warc(demo_site, tmp_path)
    root = tmp_path / "archive"
    done = archiver(root, "import", str(made))
    assert done.returncode == 0, done.stderr
    (dest,) = (root / "warcs" / "imported").iterdir()
    assert dest.read_bytes() == made.read_bytes() and made.exists()  # copied, never moved
    assert dest.name.endswith("-wget.warc.gz")
    assert dest.name.startswith(sha256_file(made)[0][:16])

    text = archiver(root, "list").stdout.splitlines()
    assert text and all(line.endswith("  (imported)") for line in text)
    rows = listed(root)
    pages = {u for u in demo_site.seed_urls() if u.endswith(".html")}
    assert {r["url"] for r in rows} >= pages
    assert {r["source"] for r in rows} == {"import"}
    assert all(r["warc"] == f"warcs/imported/{dest.name}" for r in rows)

    extracted = archiver(root, "extract", "--format", "jsonl")
    assert extracted.returncode == 0, extracted.stderr
    articles = [json.loads(line) for line in extracted.stdout.splitlines()]
    assert any("Xinjiang" in a["title"] for a in articles)

    assert archiver(root, "verify", "--records").returncode == 0
    sha256sum_c(root)
    ingest = [e for e in events(root) if e["type"] == "ingestion"]
    assert len(ingest) == 1
    detail = str(ingest[0]["detail"])
    assert str(made.resolve()) in detail and sha256_file(made)[0] in detail
    assert "records read to the end" in detail and "digests checked (sha1)" in detail


@pytest.mark.parametrize("digest", ["sha1", "sha256"])
def test_warcio_capture_http_warc_chunked_digest_over_framing_accepted(
        tmp_path: Path, demo_site: DemoSite, digest: str) -> None:
    made = warcio_warc(demo_site, tmp_path, digest)
    # warcio hashes the chunk framing of the chunked page: prove it here.
    chunked_raw = 0
    with open(made, "rb") as fh:
        for rec in ArchiveIterator(fh):
            if rec.rec_type == "response" and \
                    "chunked" in (rec.http_headers.get_header("Transfer-Encoding") or ""):
                body = rec.raw_stream.read()
                alg, _, value = rec.rec_headers.get_header("WARC-Payload-Digest").partition(":")
                assert alg == digest
                assert base64.b32decode(value) == hashlib.new(alg, body).digest()
                chunked_raw += 1
    assert chunked_raw >= 1
    root = tmp_path / "archive"
    done = archiver(root, "import", str(made))
    assert done.returncode == 0, done.stderr
    assert f"0 over the de-chunked body (WARC 1.1), {chunked_raw} over the raw chunked body" \
        in done.stdout
    ingest = [e for e in events(root) if e["type"] == "ingestion"]
    assert f"{chunked_raw} over the raw chunked body" in str(ingest[0]["detail"])
    rows = listed(root)
    assert {r["url"] for r in rows} >= set(demo_site.seed_urls()) - {
        u for u in demo_site.seed_urls() if "redirect" in u}
    extracted = archiver(root, "extract")
    assert extracted.returncode == 0 and "Xinjiang" in extracted.stdout
    assert archiver(root, "verify", "--records").returncode == 0
    sha256sum_c(root)


def test_whole_file_gzip_is_refused_and_nothing_enters(tmp_path: Path) -> None:
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(gzip.compress((FIXTURES / "example.warc").read_bytes()))
    good = tmp_path / "good.warc.gz"
    shutil.copy(FIXTURES / "example.warc.gz", good)
    root = tmp_path / "archive"
    done = archiver(root, "import", str(whole), str(good))  # the batch carries on
    assert done.returncode == 1
    refusal = [line for line in done.stderr.splitlines() if "whole.warc.gz" in line]
    assert len(refusal) == 1
    assert "not imported" in refusal[0] and "warcio recompress" in refusal[0]
    assert "--allow-damaged" in refusal[0]
    names = [p.name for p in (root / "warcs" / "imported").iterdir()]
    assert len(names) == 1 and names[0].endswith("-good.warc.gz")  # no temp file either
    manifest = (root / "manifests" / "manifest-sha256.txt").read_text()
    assert "whole.warc.gz" not in manifest
    assert "whole.warc.gz" not in json.dumps(events(root))

    allowed = archiver(root, "import", "--allow-damaged", str(whole))
    assert allowed.returncode == 0, allowed.stderr
    assert "imported-damaged" in allowed.stdout
    assert "whole.warc.gz" in (root / "manifests" / "manifest-sha256.txt").read_text()
    last = [e for e in events(root) if e["type"] == "ingestion"][-1]
    assert "imported as damaged" in str(last["detail"])
    sha256sum_c(root)


def test_a_file_that_is_not_a_warc_is_refused(tmp_path: Path) -> None:
    notes = tmp_path / "notes.warc"
    notes.write_text("meeting notes, not a WARC\n")
    root = tmp_path / "archive"
    done = archiver(root, "import", str(notes))
    assert done.returncode == 1
    assert f"archiver: {notes}: not imported: unreadable at offset 0: not a WARC or ARC " \
        "file: no record at its start" in done.stderr
    assert not (root / "warcs" / "imported").exists() or \
        not list((root / "warcs" / "imported").iterdir())


def test_reimport_is_a_no_op_and_link_hard_links(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    src = tmp_path / "src" / "example.warc.gz"
    shutil.copy(FIXTURES / "example.warc.gz", src)
    root = tmp_path / "archive"
    assert archiver(root, "import", "--link", str(src)).returncode == 0
    (dest,) = (root / "warcs" / "imported").iterdir()
    assert os.stat(dest).st_ino == os.stat(src).st_ino
    before = (events(root), listed(root),
              (root / "manifests" / "manifest-sha256.txt").read_bytes())
    again = archiver(root, "import", str(src), str(src.parent))  # the file, and its folder
    assert again.returncode == 0, again.stderr
    assert [line.split(":")[0] for line in again.stdout.splitlines()] == ["already"] * 2
    after = (events(root), listed(root),
             (root / "manifests" / "manifest-sha256.txt").read_bytes())
    assert after == before


def test_reindex_indexes_imported_files(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    assert archiver(root, "import", str(FIXTURES / "example.warc"),
                    str(FIXTURES / "post-test.warc.gz")).returncode == 0
    before = listed(root)
    assert len(before) == 5 and {r["source"] for r in before} == {"import"}
    (root / "manifests" / "catalog.sqlite").unlink()
    assert archiver(root, "reindex").returncode == 0
    key = lambda r: (r["warc"], r["offset"])  # noqa: E731
    assert sorted(listed(root), key=key) == sorted(before, key=key)


def test_a_file_dropped_into_warcs_is_extra_with_the_way_out(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    assert archiver(root, "import", str(FIXTURES / "example.warc")).returncode == 0
    shutil.copy(FIXTURES / "example.warc.gz", root / "warcs" / "dropped.warc.gz")
    done = archiver(root, "verify")
    assert done.returncode == 1
    (line,) = [ln for ln in done.stdout.splitlines() if "dropped.warc.gz" in ln]
    assert line.startswith("extra")
    assert line.endswith("(move it out of warcs/ and run archiver import on it, or archiver "
                         "manifest --accept-unreadable to accept it as is)")
