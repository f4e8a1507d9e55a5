"""The one WARC reader: damaged and hostile WARCs get the same verdict from every command.

The WARCs here are composed byte by byte by the test (gzip members of WARC
records whose digests the test computes), not written by archiver, so the
damage is exactly what each case says.
"""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from warcassert import sha256_label

from archiver import ArchiveRoot
from archiver.capture.reindex import rebuild
from archiver.extract.reader import Extracted, ExtractFailure, extract_warcs
from archiver.fixity.manifest import rebuild_manifest
from archiver.fixity.verification import VerifyMode, verify_archive
from archiver.warc.reader import MAX_HEADER_BYTES
from archiver.warc.scan import scan_warc

PAGE = (b"<html><head><title>Detention centres</title></head><body><article>"
        + b"<p>Satellite images show new walls and watchtowers around the camps.</p>" * 8
        + b"</article></body></html>")


def _record(rec_type: str, block: bytes, *, uri: str = "http://example.org/camps",
            content_type: str = "application/http; msgtype=response",
            drop: str = "", length_extra: int = 0) -> bytes:
    fields = [("WARC-Type", rec_type), ("WARC-Record-ID", f"<urn:uuid:{rec_type}-{len(block)}>"),
              ("WARC-Date", "2026-01-02T03:04:05Z"), ("WARC-Target-URI", uri),
              ("Content-Type", content_type), ("WARC-Block-Digest", sha256_label(block)),
              ("Content-Length", str(len(block) + length_extra))]
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields if k != drop)
    return head.encode() + b"\r\n" + block + b"\r\n\r\n"


def _member(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


WARCINFO = _member(_record("warcinfo", b"software: test\r\n", uri="",
                           content_type="application/warc-fields"))
RESPONSE_BLOCK = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                  b"Content-Length: " + str(len(PAGE)).encode() + b"\r\n\r\n" + PAGE)
RESPONSE = _member(_record("response", RESPONSE_BLOCK))

#: name -> (file bytes, offset of the damaged record)
DAMAGED = {
    "last record cut short": (WARCINFO + RESPONSE[: len(RESPONSE) // 2], len(WARCINFO)),
    "only record cut mid-way": (RESPONSE[: len(RESPONSE) // 2], 0),
    "gzip trailer cut off": (WARCINFO + RESPONSE[:-4], len(WARCINFO)),
    "cut inside the last member's gzip header": (WARCINFO + RESPONSE[:2], len(WARCINFO)),
    "cut just after the last member's gzip header": (WARCINFO + RESPONSE[:10], len(WARCINFO)),
    "no WARC-Type": (WARCINFO + _member(_record("response", RESPONSE_BLOCK, drop="WARC-Type")),
                     len(WARCINFO)),
    "no WARC-Record-ID": (WARCINFO + _member(_record("response", RESPONSE_BLOCK,
                                                     drop="WARC-Record-ID")), len(WARCINFO)),
    "declared length longer than the data": (
        WARCINFO + _member(_record("response", RESPONSE_BLOCK, length_extra=100)),
        len(WARCINFO)),
    "declared length past any index-sized integer": (
        WARCINFO + _member(_record("response", RESPONSE_BLOCK, length_extra=10**30)),
        len(WARCINFO)),
    "declared length shorter than the data": (
        WARCINFO + _member(_record("response", RESPONSE_BLOCK, length_extra=-7)),
        len(WARCINFO)),
}


def test_a_digest_mismatch_is_shown_in_the_header_s_own_encoding(tmp_path: Path) -> None:
    wrong = sha256_label(b"something else")  # sha256:BASE32, as archiver writes them
    record = _record("response", RESPONSE_BLOCK).replace(sha256_label(RESPONSE_BLOCK).encode(),
                                                          wrong.encode())
    path = tmp_path / "one.warc.gz"
    path.write_bytes(_member(record))
    (found,) = scan_warc(path).records
    assert found.mismatches == (f"block digest {sha256_label(RESPONSE_BLOCK)} does not match the "
                                f"header's {wrong}",)


def _archive(tmp_path: Path, files: dict[str, bytes]) -> ArchiveRoot:
    root = ArchiveRoot(tmp_path / "archive")
    root.ensure()
    for name, data in files.items():
        (root.warcs / name).write_bytes(data)
    return root


def test_a_sound_file_reads_the_same_everywhere(tmp_path: Path) -> None:
    root = _archive(tmp_path, {"sound.warc.gz": WARCINFO + RESPONSE})
    rebuild_manifest(root, jobs=1)
    assert verify_archive(root, VerifyMode.RECORDS, jobs=1, record_event=False).problems == []
    assert rebuild(root)[1] == []
    items = list(extract_warcs([root.warcs / "sound.warc.gz"], root=root))
    assert [type(i) for i in items] == [Extracted]


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_verify_reindex_and_extract_agree_on_a_damaged_record(tmp_path: Path, case: str) -> None:
    data, offset = DAMAGED[case]
    root = _archive(tmp_path, {"damaged.warc.gz": data})
    rel = "warcs/damaged.warc.gz"
    # blesses the file as it is (listing it needs accept_unreadable): only --records can tell
    rebuild_manifest(root, jobs=1, accept_unreadable=True)

    report = verify_archive(root, VerifyMode.RECORDS, jobs=1, record_event=False)
    assert [(p.kind, p.path) for p in report.problems] == [("invalid-record", rel)]
    assert [r.offset for r in report.problems[0].records] == [offset]

    count, errors = rebuild(root)
    assert count == 0
    assert [(e.path, e.offset) for e in errors] == [(root.warcs / "damaged.warc.gz", offset)]

    items = list(extract_warcs([root.warcs / "damaged.warc.gz"], root=root))
    assert items == [ExtractFailure(rel, offset, items[0].message)] if items else False
    # The same words in all three, naming the damage.
    reason = report.problems[0].records[0].reason
    assert reason.removeprefix("cannot be parsed: ") in str(errors[0]) and \
        reason.removeprefix("cannot be parsed: ") in items[0].message


def test_an_http_head_past_the_bounds_spoils_only_its_own_record(tmp_path: Path) -> None:
    # The WARC record is whole (verify and reindex find nothing wrong); its HTTP
    # message cannot be read, so extract skips that one record and reads on.
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + b"X-Pad: " + b"a" * 300_000
    big = _member(_record("response", head + b"\r\n\r\n" + PAGE))
    root = _archive(tmp_path, {"big.warc.gz": WARCINFO + big + RESPONSE})
    rebuild_manifest(root, jobs=1)
    assert verify_archive(root, VerifyMode.RECORDS, jobs=1, record_event=False).problems == []
    assert rebuild(root)[1] == []
    items = list(extract_warcs([root.warcs / "big.warc.gz"], root=root))
    assert [type(i) for i in items] == [ExtractFailure, Extracted]
    assert items[0].offset == len(WARCINFO)
    assert "HTTP header block is not ended by a blank line within" in items[0].message


def test_warcio_warnings_never_reach_the_terminal(tmp_path: Path) -> None:
    # warcio wrote a multi-line "WARNING: Record not followed by newline ... Remainder:"
    # to stderr for a record longer than its Content-Length; it is a finding, said once.
    data, offset = DAMAGED["declared length shorter than the data"]
    root = _archive(tmp_path, {"short.warc.gz": data})
    for command in ("reindex", "extract"):
        status, out, _, _ = _run(root, command)
        assert status == 1
        assert "WARNING: Record" not in out and "Remainder" not in out, out
        assert out.count(f"short.warc.gz at offset {offset}: unreadable record: the record "
                         "does not end where its Content-Length says") == 1, out


def _header_bomb(inflated: int) -> bytes:
    """One gzip member: a WARC record whose header lines never end (``inflated`` bytes).

    Built from one deflate block repeated after full flushes, so making it is
    quick: each block decompresses on its own to the same 1 MiB of lines.
    """
    head = b"WARC/1.1\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:uuid:bomb>\r\n"
    chunk = (b"X-Junk: " + b"a" * 54 + b"\r\n") * (1 << 14)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    start = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    count = inflated // len(chunk)
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    size = (len(head) + count * len(chunk)) & 0xFFFFFFFF
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + start + block * count
            + deflate.flush() + struct.pack("<II", crc, size))


#: Runs the CLI and reports its own peak RSS at exit (VmHWM is this process's
#: alone; a child's ru_maxrss would include what it inherited from pytest).
_MEASURED = """
import atexit, runpy, sys
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("peak-rss-kb " + line.split()[1] + "\\n")
atexit.register(peak)
sys.argv[0] = "archiver"
runpy.run_module("archiver", run_name="__main__")
"""


def _run(root: ArchiveRoot, *args: str) -> tuple[int, str, float, int]:
    """Run the CLI in one process; returns exit status, output, seconds and peak RSS in MB."""
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _MEASURED, "--root", str(root.path), *args],
                          capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - t0
    out, _, peak = (done.stdout + done.stderr).rpartition("peak-rss-kb ")
    return done.returncode, out, seconds, int(peak) // 1024


def test_a_header_block_that_never_ends_is_malformed_and_the_next_file_is_read(
        tmp_path: Path) -> None:
    # A 3 MB member inflating to 1 GiB of header lines with no blank line: warcio
    # would read it all (manifest grew past 500 MB and never finished).
    bomb = _header_bomb(1 << 30)
    assert len(bomb) < 4 << 20
    root = _archive(tmp_path, {"a-bomb.warc.gz": WARCINFO + bomb,
                               "b-sound.warc.gz": WARCINFO + RESPONSE})
    where = f"warcs/a-bomb.warc.gz at offset {len(WARCINFO)}"
    bound = (f"WARC header block is not ended by a blank line within 1000 lines or "
             f"{MAX_HEADER_BYTES // 1024} KiB (malformed record)")

    status, out, seconds, rss = _run(root, "manifest", "--accept-unreadable", "--jobs", "1")
    assert status == 0, out
    assert seconds < 20 and rss < 150, (seconds, rss)
    assert f"warcs/a-bomb.warc.gz: WARC records unreadable at offset {len(WARCINFO)}" in out
    assert bound in out
    assert "manifest: 2 files, 3 records" in out  # the sound file's two records are indexed

    status, out, seconds, rss = _run(root, "verify", "--records", "--jobs", "1")
    assert status == 1 and seconds < 20 and rss < 150, (status, out, seconds, rss)
    assert f"record at {len(WARCINFO)}  : cannot be parsed: {bound}" in out

    status, out, seconds, rss = _run(root, "reindex")
    assert status == 1 and seconds < 20 and rss < 150, (status, out, seconds, rss)
    assert f"DAMAGED {root.path}/{where}: unreadable record: {bound}" in out

    status, out, seconds, rss = _run(root, "extract")
    assert status == 1 and seconds < 20 and rss < 150, (status, out, seconds, rss)
    assert f"archiver: {where}: unreadable record: {bound}" in out
    assert "Detention centres" in out  # the next file's article
