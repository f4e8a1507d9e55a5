"""WARC locations (archiver.warc.location): local paths and s3:// URLs, read
back from a real S3 API on loopback (moto's server) and compared with the
local bytes and records."""

from __future__ import annotations

from pathlib import Path

import pytest
from s3server import S3Server, free_port

from archiver.errors import LocationError
from archiver.warc.files import find_warc_files
from archiver.warc.location import (
    list_warcs,
    location_name,
    open_range,
    open_read,
    parse_location,
)
from archiver.warc.reader import RecordReader
from archiver.warc.record import iter_records


def _warcs(pristine: Path) -> list[Path]:
    found = find_warc_files(pristine / "warcs")
    assert found
    return found


def test_parse_location_keeps_urls_and_makes_paths() -> None:
    assert parse_location("s3://bkt/a/b.warc.gz") == "s3://bkt/a/b.warc.gz"
    assert parse_location("s3a://bkt/a") == "s3://bkt/a"
    assert parse_location("warcs/x.warc.gz") == Path("warcs/x.warc.gz")
    assert location_name(Path("a/b.warc")) == "a/b.warc"


def test_list_and_stream_an_s3_prefix(s3: S3Server, pristine: Path) -> None:
    bucket = s3.bucket("listing")
    local = _warcs(pristine)
    for i, path in enumerate(reversed(local)):
        s3.put(bucket, f"crawl/{i:02d}-{path.name}", path)
    s3.put(bucket, "crawl/notes.txt", b"not a warc")
    s3.put(bucket, "crawl.warc.gz.other/x.warc", b"")  # a sibling prefix, not under crawl/
    listed = list_warcs(f"s3://{bucket}/crawl")
    assert listed == sorted(f"s3://{bucket}/crawl/{i:02d}-{p.name}"
                            for i, p in enumerate(reversed(local)))
    assert list_warcs(f"s3://{bucket}/crawl/") == listed
    one = listed[0]
    assert list_warcs(one) == [one]
    # Streamed back in small reads, byte for byte.
    source = reversed(local).__next__()
    with open_read(one) as fh:
        got = b"".join(iter(lambda: fh.read(7000), b""))
    assert got == source.read_bytes()


def test_records_read_from_s3_equal_the_local_ones(s3: S3Server, pristine: Path) -> None:
    bucket = s3.bucket("records")
    path = _warcs(pristine)[0]
    url = s3.put(bucket, path.name, path)
    local = [(e.offset, e.record.rec_headers.get_header("WARC-Record-ID"), e.length())
             for e in iter_records(path)]
    remote = [(e.offset, e.record.rec_headers.get_header("WARC-Record-ID"), e.length())
              for e in iter_records(url)]
    assert remote == local and len(local) > 2


def test_open_range_gives_one_record(s3: S3Server, pristine: Path) -> None:
    bucket = s3.bucket("ranges")
    path = _warcs(pristine)[0]
    url = s3.put(bucket, path.name, path)
    entries = [(e.offset, e.length(), e.record.rec_headers.get_header("WARC-Record-ID"))
               for e in iter_records(path)]
    offset, length, record_id = entries[len(entries) // 2]
    with open(path, "rb") as fh:
        fh.seek(offset)
        expected = fh.read(length)
    for location in (url, path):
        with open_range(location, offset, length) as fh:
            assert fh.read() == expected
        with open_range(location, offset, length) as fh:
            records = list(RecordReader(fh))
            assert [r.rec_headers.get_header("WARC-Record-ID") for r in records] == [record_id]


def test_missing_bucket_object_and_bad_endpoint_are_one_line(s3: S3Server,
                                                            pristine: Path) -> None:
    bucket = s3.bucket("present")
    with pytest.raises(LocationError) as missing_bucket:
        list_warcs("s3://no-such-bucket-here/crawl/")
    with pytest.raises(LocationError) as missing_object:
        open_read(f"s3://{bucket}/absent.warc.gz")
    with pytest.raises(LocationError, match="no such object"):
        list_warcs(f"s3://{bucket}/absent.warc.gz")
    with pytest.raises(LocationError) as empty_prefix:
        list_warcs(f"s3://{bucket}/nothing/")
    with pytest.raises(LocationError) as bad_endpoint:
        list_warcs(f"s3://{bucket}/x", endpoint=f"http://127.0.0.1:{free_port()}")
    for exc, url, hint in (
            (missing_bucket, "s3://no-such-bucket-here/crawl/", "no such bucket or object"),
            (missing_object, f"s3://{bucket}/absent.warc.gz", "no such bucket or object"),
            (empty_prefix, f"s3://{bucket}/nothing/", "no WARC files"),
            (bad_endpoint, f"s3://{bucket}/x", "cannot connect to the S3 endpoint")):
        text = str(exc.value)
        assert text.startswith(f"{url}: ") and hint in text and "\n" not in text


def test_no_credentials_is_one_line(s3: S3Server, monkeypatch: pytest.MonkeyPatch,
                                    tmp_path: Path) -> None:
    bucket = s3.bucket("creds")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    # No shared credentials file either (botocore would read ~/.aws).
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    import fsspec

    fsspec.filesystem("s3").clear_instance_cache()
    try:
        with pytest.raises(LocationError, match="no S3 credentials found: set AWS_ACCESS_KEY_ID"):
            list_warcs(f"s3://{bucket}/x/")
    finally:
        fsspec.filesystem("s3").clear_instance_cache()


def test_a_local_folder_without_warcs_and_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(LocationError, match="no WARC files"):
        list_warcs(tmp_path)
    with pytest.raises(LocationError, match="no such file or folder"):
        list_warcs(tmp_path / "gone")


def test_iter_records_over_a_byte_range_gives_the_files_offsets(s3: S3Server,
                                                                pristine: Path) -> None:
    bucket = s3.bucket("split")
    path = _warcs(pristine)[0]
    url = s3.put(bucket, path.name, path)
    whole = [(e.offset, e.length()) for e in iter_records(path)]
    assert len(whole) >= 4
    # The second half of the file, as one task of a split job would read it.
    cut = len(whole) // 2
    start = whole[cut][0]
    end = whole[-1][0] + whole[-1][1]
    for location in (path, url):
        got = [(e.offset, e.length()) for e in iter_records(location, start=start,
                                                            length=end - start)]
        assert got == whole[cut:]
        first = [(e.offset, e.length()) for e in iter_records(location, start=0,
                                                              length=start)]
        assert first == whole[:cut]
        rest = [(e.offset, e.length()) for e in iter_records(location, start=start)]
        assert rest == whole[cut:]


def test_a_large_object_is_streamed_in_bounded_memory(s3: S3Server, tmp_path: Path) -> None:
    """verify --records' reader over a 64 MiB object: memory grows by less than it
    (measured: by 39 MiB, for a 48 MiB as for a 160 MiB object: s3fs's read-ahead
    copies; by 110 MiB for 48 MiB when the object is read whole)."""
    import hashlib
    import subprocess
    import sys

    bucket = s3.bucket("large")
    body = hashlib.sha256(b"seed").digest() * (64 * 1024 * 1024 // 32)
    block = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n" + body
    digest = hashlib.sha256(block).hexdigest()
    head = ("WARC/1.1\r\nWARC-Type: response\r\n"
            "WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
            "WARC-Date: 2026-01-01T00:00:00Z\r\nWARC-Target-URI: http://example.test/big\r\n"
            f"WARC-Block-Digest: sha256:{digest}\r\n"
            "Content-Type: application/http;msgtype=response\r\n"
            f"Content-Length: {len(block)}\r\n\r\n").encode()
    url = s3.put(bucket, "big.warc", head + block + b"\r\n\r\n")
    # VmHWM, the peak of this process's own memory (ru_maxrss would carry
    # pytest's across fork and exec).
    script = (
        "import re\n"
        "def peak():\n"
        "    status = open('/proc/self/status').read()\n"
        "    return int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1))\n"
        "from archiver.warc.check import check_warc\n"
        "import s3fs, fsspec\n"
        "before = peak()\n"
        f"check = check_warc({url!r})\n"
        "print(check.records, check.digests_checked, check.size, (peak() - before) // 1024)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=s3.env(), timeout=300)
    assert done.returncode == 0, done.stderr
    records, checked, size, grew_mib = map(int, done.stdout.split())
    assert (records, checked, size) == (1, 1, len(head) + len(block) + 4)
    assert grew_mib < 52, f"reading a 64 MiB object grew memory by {grew_mib} MiB"
