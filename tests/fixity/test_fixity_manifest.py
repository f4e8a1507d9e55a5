"""manifest-sha256.txt and records.jsonl: format, sha256sum -c, determinism, ingest, crashes."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fixity_archive import records_of, warcs
from servers import HTTPTestServer
from warcassert import sha256_label
from warcio.archiveiterator import ArchiveIterator

import archiver.atomic
import archiver.fixity.manifest
from archiver import ArchiveRoot, ManifestError
from archiver.fixity.manifest import rebuild_manifest, record_ingest
from archiver.fixity.problem import DamagedRecord, Problem
from archiver.fixity.verification import VerifyMode, verify_archive
from archiver.warc.scan import scan_warc


def snapshot(root: ArchiveRoot) -> dict[str, bytes]:
    return {n: (root.manifests / n).read_bytes()
            for n in ("manifest-sha256.txt", "records.jsonl", "events.jsonl")}


def test_the_real_sha256sum_accepts_the_manifest(root: ArchiveRoot) -> None:
    result = subprocess.run(["sha256sum", "--strict", "-c", "manifests/manifest-sha256.txt"],
                            cwd=root.path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{w}: OK" for w in warcs(root)]


def test_manifest_lines_are_sorted_lf_lowercase_and_list_closed_warcs_only(
        root: ArchiveRoot) -> None:
    data = (root.manifests / "manifest-sha256.txt").read_bytes()
    assert b"\r" not in data and data.endswith(b"\n")
    paths = [re.fullmatch(rb"[0-9a-f]{64}  (warcs/\S+\.warc\.gz)", line)[1]  # type: ignore[index]
             for line in data.splitlines()]
    assert paths == sorted(paths) == [w.encode() for w in warcs(root)]


def test_a_rebuild_gives_byte_identical_files_to_incremental_ingest(root: ArchiveRoot) -> None:
    before = snapshot(root)
    report = rebuild_manifest(root, jobs=2)
    after = snapshot(root)
    assert after["manifest-sha256.txt"] == before["manifest-sha256.txt"]
    assert after["records.jsonl"] == before["records.jsonl"]
    assert (report.files, report.added, report.removed, report.changed) == (2, 0, 0, 0)
    rebuild_manifest(root, jobs=1)
    assert snapshot(root)["manifest-sha256.txt"] == after["manifest-sha256.txt"]


def test_records_index_agrees_with_every_warc_header(root: ArchiveRoot) -> None:
    for rel in warcs(root):
        indexed = records_of(root, rel)
        with open(root.absolute(rel), "rb") as fh:
            it = ArchiveIterator(fh, no_record_parse=True)
            seen = []
            for rec in it:
                block = rec.rec_headers.get_header("WARC-Block-Digest")
                rec.raw_stream.read()
                seen.append((it.get_record_offset(), rec.rec_headers.get_header("WARC-Record-ID"),
                             rec.rec_type, base64.b32decode(block.split(":")[1]).hex()))
        assert [(r.offset, r.record_id, r.type, r.block_sha256) for r in indexed] == seen
        assert indexed[-1].offset + indexed[-1].length == root.absolute(rel).stat().st_size


def test_ingest_is_idempotent(root: ArchiveRoot) -> None:
    before = snapshot(root)
    record_ingest(root, [root.absolute(w) for w in warcs(root)])
    assert snapshot(root) == before


def test_ingest_hashes_only_new_files(root: ArchiveRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    first = warcs(root)[0]
    new = root.absolute(first).with_name("archiver-copy-00009-test.warc.gz")
    new.write_bytes(root.absolute(first).read_bytes())
    scanned: list[str] = []
    real = archiver.fixity.manifest.scan_warc
    monkeypatch.setattr(archiver.fixity.manifest, "scan_warc",
                        lambda p, **kw: scanned.append(str(p)) or real(p, **kw))
    record_ingest(root, [new, root.absolute(first)])
    assert scanned == [str(new)]
    assert verify_archive(root, jobs=1).problems == []
    assert root.relative(new) in (root.manifests / "manifest-sha256.txt").read_text()


@pytest.mark.parametrize("bad", ["x.warc.gz.open", "../outside.warc.gz"])
def test_ingest_refuses_open_or_outside_files(root: ArchiveRoot, bad: str) -> None:
    path = root.warcs / bad
    path.write_bytes(b"x")
    with pytest.raises(archiver.ArchiveRootError):
        record_ingest(root, [path])


def test_a_crash_before_the_manifest_rename_leaves_the_old_valid_state(
        root: ArchiveRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    first = warcs(root)[0]
    new = root.absolute(first).with_name("archiver-late-00007-test.warc.gz")
    new.write_bytes(root.absolute(first).read_bytes())
    before = snapshot(root)
    real = archiver.atomic.os.replace

    def crash(src: str, dst: Path) -> None:
        if Path(dst).name == "manifest-sha256.txt":
            raise OSError(5, "simulated power cut")
        real(src, dst)

    monkeypatch.setattr(archiver.atomic.os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        record_ingest(root, [new])
    monkeypatch.undo()

    assert (root.manifests / "manifest-sha256.txt").read_bytes() == \
        before["manifest-sha256.txt"]
    assert not list(root.manifests.glob(".*.tmp"))
    rel = root.relative(new)
    # The old state: the new WARC is not yet listed (its index lines are ignored).
    assert [(p.kind, p.path) for p in verify_archive(root, jobs=1).problems] == [("extra", rel)]
    record_ingest(root, [new])  # the next run completes it
    assert verify_archive(root, jobs=1).problems == []


def test_an_unsorted_manifest_is_rejected_with_its_line(root: ArchiveRoot) -> None:
    manifest = root.manifests / "manifest-sha256.txt"
    manifest.write_bytes(b"".join(reversed(manifest.read_bytes().splitlines(keepends=True))))
    with pytest.raises(ManifestError, match=r"manifest-sha256.txt:2: paths are not sorted"):
        verify_archive(root, jobs=1)


CHUNKED = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"


def _warc_with(payload_label: str) -> bytes:
    """A one-response WARC, chunked body, with the given WARC-Payload-Digest."""
    block = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + CHUNKED
    head = ("WARC/1.1\r\nWARC-Type: response\r\n"
            "WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
            "WARC-Target-URI: http://127.0.0.1/x\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
            f"WARC-Block-Digest: {sha256_label(block)}\r\nWARC-Payload-Digest: {payload_label}\r\n"
            "Content-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(block)}\r\n\r\n").encode()
    return gzip.compress(head + block + b"\r\n\r\n", mtime=0)


def test_records_mode_checks_dechunked_payload_digests(root: ArchiveRoot) -> None:
    good = root.warcs / "good.warc.gz"
    bad = root.warcs / "bad.warc.gz"
    good.write_bytes(_warc_with(sha256_label(b"hello world")))  # de-chunked: correct
    bad.write_bytes(_warc_with(sha256_label(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")))  # framed
    rebuild_manifest(root, jobs=1)
    scan = scan_warc(bad)
    rec = scan.records[0]

    problems = [p for p in verify_archive(root, VerifyMode.RECORDS, jobs=2).problems
                if p.path in ("warcs/good.warc.gz", "warcs/bad.warc.gz")]

    assert rec.payload_sha256 == hashlib.sha256(b"hello world").hexdigest()
    assert problems == [Problem(
        "invalid-record", "warcs/bad.warc.gz",
        "1 WARC record fails its own digests or cannot be read",
        scan.sha256, scan.sha256, scan.size, scan.size,
        records=(DamagedRecord(0, rec.record_id, "http://127.0.0.1/x",
                               # (in the header's own base32, to compare by eye)
                               f"payload digest {sha256_label(b'hello world')} does not match "
                               f"the header's {sha256_label(CHUNKED)}"),))]


# The CLI in a child that dies, as kill -9 would, just before renaming a new
# manifest into place: its temporary file is left behind.
DIE_BEFORE_MANIFEST_RENAME = """
import os, sys
real = os.replace
def replace(src, dst, *a, **kw):
    if os.path.basename(dst) == "manifest-sha256.txt":
        os._exit(137)
    return real(src, dst, *a, **kw)
os.replace = replace
from archiver.cli import main
sys.argv[0] = "archiver"
main()
"""


def archiver_cli(root: ArchiveRoot, *args: str, script: str | None = None,
                 umask: int = -1) -> subprocess.CompletedProcess[str]:
    command = ["-c", script] if script else ["-m", "archiver"]
    return subprocess.run([sys.executable, *command, "--root", str(root.path), *args],
                          capture_output=True, text=True, timeout=120, umask=umask)


@pytest.mark.parametrize("next_run", ["manifest", "capture"])
def test_temp_files_of_killed_runs_are_removed_by_the_next_writer(
        root: ArchiveRoot, web: HTTPTestServer, next_run: str) -> None:
    died = archiver_cli(root, "manifest", script=DIE_BEFORE_MANIFEST_RENAME)
    assert died.returncode == 137, died.stderr
    (left,) = root.manifests.glob(".*.tmp")
    assert left.name.startswith(".manifest-sha256.txt.") and left.stat().st_size > 0
    # what tempfile.mkstemp names looked like in earlier versions, and a file not ours
    (root.manifests / ".records.jsonl.k3j_x9a2.tmp").write_bytes(b"{}\n" * 1000)
    (root.manifests / ".records.jsonl.keep").write_bytes(b"mine")

    if next_run == "manifest":
        result = archiver_cli(root, "manifest")
    else:
        web.route("/next", b"<p>next</p>")
        result = archiver_cli(root, "capture", web.url("/next"), "--delay", "0")
    assert result.returncode == 0, result.stderr

    assert sorted(p.name for p in root.manifests.iterdir() if p.name.startswith(".")) == [
        ".lock", ".records.jsonl.keep"]
    check = subprocess.run(["sha256sum", "-c", "manifests/manifest-sha256.txt"],
                           cwd=root.path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("umask", [0o027, 0o002])
def test_every_file_a_run_creates_follows_the_umask(
        tmp_path: Path, web: HTTPTestServer, umask: int) -> None:
    web.route("/a", b"<p>a</p>")
    root = ArchiveRoot(tmp_path / "archive")
    result = archiver_cli(root, "capture", web.url("/a"), "--delay", "0", umask=umask)
    assert result.returncode == 0, result.stderr
    result = archiver_cli(root, "manifest", umask=umask)  # rewrites the manifest files
    assert result.returncode == 0, result.stderr
    (warc,) = root.warcs.rglob("*.warc.gz")
    created = [warc, *root.manifests.iterdir()]
    modes = {p.relative_to(root.path).as_posix(): oct(p.stat().st_mode & 0o777)
             for p in created}
    assert modes == {name: oct(0o666 & ~umask) for name in modes}
    assert {"manifests/manifest-sha256.txt", "manifests/records.jsonl",
            "manifests/events.jsonl", "manifests/catalog.sqlite"} <= set(modes)
