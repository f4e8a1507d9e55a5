"""``extract``, ``import`` and ``verify --records`` on s3:// URLs, through the real
CLI in a subprocess, against a real S3 API on loopback (moto's server): the
same output as for the same local files, and one clear line for each bad
location while the batch carries on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from s3server import S3Server, free_port

from archiver.warc.files import find_warc_files
from archiver.warc.record import iter_records


def archiver(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archiver", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=300, env=env)


def _warcs(pristine: Path) -> list[Path]:
    found = find_warc_files(pristine / "warcs")
    assert found
    return found


def _jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_extract_from_s3_equals_extract_from_the_local_files(
        s3: S3Server, pristine: Path, tmp_path: Path) -> None:
    bucket = s3.bucket("extract")
    local = _warcs(pristine)
    urls = {s3.put(bucket, f"crawl/{p.name}", p): p for p in local}
    outside = tmp_path / "elsewhere"  # no archive: provenance names the files as given
    outside.mkdir()
    here = archiver(outside, s3.env(), "extract", "--all-captures", *map(str, local))
    there = archiver(outside, s3.env(), "extract", "--all-captures", f"s3://{bucket}/crawl/")
    assert here.returncode == 0, here.stderr
    assert there.returncode == 0, there.stderr
    mine, theirs = _jsonl(here.stdout), _jsonl(there.stdout)
    assert len(mine) > 1
    names = {str(p): url for url, p in urls.items()}
    for a, b in zip(mine, theirs, strict=True):
        prov_a, prov_b = dict(a.pop("provenance")), dict(b.pop("provenance"))  # type: ignore[call-overload]
        assert prov_b.pop("warc_file") == names[str(prov_a.pop("warc_file"))]
        for key in ("original_warc_file",):
            if key in prov_a:
                assert prov_b.pop(key) == names[str(prov_a.pop(key))]
        assert prov_a == prov_b
        assert a == b
    # Byte for byte, once each local path is written as its URL.
    expected = here.stdout
    for url, path in urls.items():
        expected = expected.replace(json.dumps(str(path))[1:-1], url)
    assert there.stdout == expected


def test_import_from_s3_hashes_as_sha256sum(s3: S3Server, pristine: Path,
                                           tmp_path: Path) -> None:
    bucket = s3.bucket("imports")
    source = _warcs(pristine)[0]
    url = s3.put(bucket, f"other-tool/{source.name}", source)
    root = tmp_path / "archive"
    done = archiver(root, s3.env(), "import", url)
    assert done.returncode == 0, done.stderr
    real = subprocess.run(["sha256sum", str(source)], capture_output=True, text=True,
                          check=True).stdout.split()[0]
    manifest = (root / "manifests" / "manifest-sha256.txt").read_text().splitlines()
    imported = [line for line in manifest if "warcs/imported/" in line]
    assert len(imported) == 1 and imported[0].split()[0] == real
    assert imported[0].split()[1].endswith(f"{real[:16]}-{source.name}")
    # The copy is the object, byte for byte, and the event names the URL.
    check = subprocess.run(["sha256sum", "--strict", "-c", "manifests/manifest-sha256.txt"],
                           cwd=root, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    events = (root / "manifests" / "events.jsonl").read_text()
    assert f"imported from {url} sha256:{real}" in events
    again = archiver(root, s3.env(), "import", f"s3://{bucket}/other-tool/")
    assert again.returncode == 0 and "already" in again.stdout


def test_verify_records_finds_a_corrupted_object_and_names_url_and_offset(
        s3: S3Server, pristine: Path, tmp_path: Path) -> None:
    bucket = s3.bucket("verify")
    source = _warcs(pristine)[0]
    good = s3.put(bucket, f"ok/{source.name}", source)
    entries = [(e.offset, e.length(), e.record.rec_type) for e in iter_records(source)]
    offset, length, _ = next(e for e in entries if e[2] == "response")
    data = bytearray(source.read_bytes())
    # Rewrite one record uncompressed-equal but with a flipped byte in its
    # payload: recompress that member so the file still reads, only the digest fails.
    import gzip
    member = gzip.decompress(bytes(data[offset:offset + length]))
    flipped = bytearray(member)
    flipped[-10] ^= 0x01
    bad_bytes = bytes(data[:offset]) + gzip.compress(bytes(flipped)) + bytes(
        data[offset + length:])
    bad = s3.put(bucket, f"bad/{source.name}", bad_bytes)
    root = tmp_path / "no-archive"
    ok = archiver(root, s3.env(), "verify", "--records", good)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"{good}: ok:" in ok.stdout
    assert not root.exists()  # no archive needed, none made
    done = archiver(root, s3.env(), "verify", "--records", bad, good)
    assert done.returncode == 1
    lines = [line for line in done.stdout.splitlines() if line.startswith(bad)]
    assert lines and all(f"{bad}: record at offset {offset}: " in line for line in lines)
    assert "digest" in lines[0] and "does not match" in lines[0]
    assert f"{good}: ok:" in done.stdout  # the batch carried on
    as_json = json.loads(archiver(root, s3.env(), "verify", "--records", "--json",
                                  bad).stdout)
    assert as_json["failed"] == 1
    assert as_json["warcs"][0]["problems"][0]["offset"] == offset
    # A flipped byte inside the compressed member is damage, at the same offset.
    torn = bytearray(data)
    torn[offset + length // 2] ^= 0xFF
    torn_url = s3.put(bucket, f"torn/{source.name}", bytes(torn))
    done = archiver(root, s3.env(), "verify", "--records", torn_url)
    assert done.returncode == 1
    assert f"{torn_url}: record at offset {offset}: unreadable" in done.stdout


def test_bad_locations_are_one_line_each_and_the_batch_carries_on(
        s3: S3Server, pristine: Path, tmp_path: Path) -> None:
    bucket = s3.bucket("batch")
    source = _warcs(pristine)[0]
    good = s3.put(bucket, source.name, source)
    no_bucket = "s3://no-such-bucket-anywhere/crawl/"
    no_object = f"s3://{bucket}/absent.warc.gz"
    root = tmp_path / "archive"
    for command in (["extract"], ["verify", "--records"], ["import"]):
        done = archiver(root, s3.env(), *command, no_bucket, no_object, good)
        assert done.returncode == 1, (command, done.stderr)
        errors = [line for line in done.stderr.splitlines() if line.startswith("archiver: ")]
        assert any(line.startswith(f"archiver: {no_bucket}: ") and "no such bucket" in line
                   for line in errors), (command, done.stderr)
        assert any(line.startswith(f"archiver: {no_object}: no such object") for line in errors), \
            (command, done.stderr)
        assert "Traceback" not in done.stderr
        if command == ["extract"]:
            assert _jsonl(done.stdout)  # the good object's articles
        elif command == ["import"]:
            assert "imported: " + good in done.stdout
        else:
            assert f"{good}: ok:" in done.stdout
    env = s3.env()
    bad_endpoint = f"http://127.0.0.1:{free_port()}"
    done = archiver(root, env, "extract", "--s3-endpoint", bad_endpoint, good,
                    str(source))
    assert done.returncode == 1
    assert f"archiver: {good}: cannot connect to the S3 endpoint {bad_endpoint}" in done.stderr
    assert _jsonl(done.stdout)  # the local file was still extracted


def test_verify_with_files_needs_records_and_import_link_refuses_s3(
        s3: S3Server, pristine: Path, tmp_path: Path) -> None:
    bucket = s3.bucket("usage")
    source = _warcs(pristine)[0]
    url = s3.put(bucket, source.name, source)
    root = tmp_path / "archive"
    done = archiver(root, s3.env(), "verify", url)
    assert done.returncode == 2 and "go with --records alone" in done.stderr
    done = archiver(root, s3.env(), "verify", "--records", "--quick", str(source))
    assert done.returncode == 2
    done = archiver(root, s3.env(), "import", "--link", url)
    assert done.returncode == 1
    assert f"archiver: {url}: an S3 object cannot be hard-linked" in done.stderr
    # A local file given to verify --records is checked as it is.
    done = archiver(root, s3.env(), "verify", "--records", str(source))
    assert done.returncode == 0 and f"{source.as_posix()}: ok:" in done.stdout
