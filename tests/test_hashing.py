"""archiver.hashing: the file hasher and digest-label codec, checked against hashlib, base64."""

from __future__ import annotations

import base64
import hashlib
import mmap
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import archiver.hashing as hashing
from archiver.hashing import (
    BLOCK_SIZE,
    EMPTY_SHA256,
    MAP_THRESHOLD,
    parse_digest,
    sha256_file,
    sha256_hex,
    sha256_label,
)


@pytest.mark.parametrize("size", [0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, 2 * BLOCK_SIZE + 17])
def test_sha256_file_matches_hashlib_across_block_boundaries(tmp_path: Path, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    path = tmp_path / "f"
    path.write_bytes(data)
    assert sha256_file(path) == (hashlib.sha256(data).hexdigest(), size)


@pytest.mark.parametrize("size", [MAP_THRESHOLD - 1, MAP_THRESHOLD, 5 * BLOCK_SIZE + 17,
                                  7 * BLOCK_SIZE])
def test_mapped_hashing_matches_hashlib_across_window_boundaries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    # Windows of one block, so a few MiB cross several of them.
    monkeypatch.setattr(hashing, "MAP_WINDOW", BLOCK_SIZE)
    data = random.Random(size).randbytes(size)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert sha256_file(path) == (hashlib.sha256(data).hexdigest(), size)


def test_large_files_hashed_in_threads_at_once_each_get_their_own_digest(tmp_path: Path) -> None:
    blobs = [random.Random(i).randbytes(MAP_THRESHOLD + i * 4099) for i in range(4)]
    paths = []
    for i, blob in enumerate(blobs):
        paths.append(tmp_path / f"f{i}")
        paths[-1].write_bytes(blob)
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(sha256_file, paths))
    assert got == [(hashlib.sha256(b).hexdigest(), len(b)) for b in blobs]


def test_a_file_that_grows_while_mapped_is_an_error_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "growing.warc.gz"
    path.write_bytes(bytes(MAP_THRESHOLD))
    real_mmap = mmap.mmap

    def map_then_append(*args: object, **kwargs: object) -> mmap.mmap:
        # Another process appends while the first window is being hashed.
        with path.open("ab") as fh:
            fh.write(b"more")
        return real_mmap(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashing.mmap, "mmap", map_then_append)
    with pytest.raises(OSError, match="changed size while being hashed") as caught:
        sha256_file(path)
    assert caught.value.filename == str(path)


def test_sha256_file_of_a_missing_file_or_a_folder_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        sha256_file(tmp_path / "absent")
    with pytest.raises(IsADirectoryError):
        sha256_file(tmp_path)


def test_empty_digest_is_the_sha256_of_nothing() -> None:
    assert hashlib.sha256().digest() == EMPTY_SHA256


@given(st.binary(max_size=200))
def test_label_round_trips_and_is_base32(data: bytes) -> None:
    digest = hashlib.sha256(data).digest()
    label = sha256_label(digest)
    assert label == "sha256:" + base64.b32encode(digest).decode()
    assert parse_digest(label) == ("sha256", digest.hex())
    assert sha256_hex(label) == digest.hex()
    # lower case base32 and hex forms are read too
    assert sha256_hex(label.lower().replace("sha256:", "SHA256:")) == digest.hex()
    assert sha256_hex("sha256:" + digest.hex()) == digest.hex()


def test_other_algorithms_are_parsed_but_are_not_sha256() -> None:
    sha1 = hashlib.sha1(b"x").digest()
    label = "sha1:" + base64.b32encode(sha1).decode()
    assert parse_digest(label) == ("sha1", sha1.hex())
    assert parse_digest("sha-1:" + sha1.hex()) == ("sha1", sha1.hex())
    assert sha256_hex(label) is None
    md5 = hashlib.md5(b"x").hexdigest()
    assert parse_digest("md5:" + md5) == ("md5", md5)


@pytest.mark.parametrize("value", [None, "", "sha256", "sha256:", "nosuchalg:AAAA",
                                   "sha256:" + "Z" * 64, "sha256:ABC", "sha1:" + "0" * 39])
def test_bad_labels_give_none(value: str | None) -> None:
    assert parse_digest(value) is None
    assert sha256_hex(value) is None


@pytest.mark.parametrize("alg", ["sha1", "sha256", "md5"])
def test_foreign_digest_encodings_all_parse_to_the_same_hex(alg: str) -> None:
    # Other tools' WARCs write base32 (either case), hex, and base64 in both
    # alphabets (warcio's own test files hold each).
    # The first input whose base64 holds "/" or "+": both alphabets differ there.
    raw = next(d for d in (hashlib.new(alg, bytes([i])).digest() for i in range(256))
               if set(base64.b64encode(d)) & set(b"/+"))
    forms = [base64.b32encode(raw).decode(), base64.b32encode(raw).decode().lower(),
             base64.b32encode(raw).decode().rstrip("="), raw.hex(), raw.hex().upper(),
             base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()]
    for form in forms:
        assert parse_digest(f"{alg}:{form}") == (alg, raw.hex()), form


def test_hashing_a_large_file_keeps_the_resident_size_bounded(tmp_path: Path) -> None:
    # Mapped pages count in a process's resident size: the windows, not the
    # file, must bound it. 192 MiB of holes reads as zeros, quickly.
    big = tmp_path / "big.warc.gz"
    with big.open("wb") as fh:
        fh.truncate(192 << 20)
    small = tmp_path / "small"
    small.write_bytes(b"x")
    script = ("import resource, sys\nfrom archiver.hashing import sha256_file\n"
              "sha256_file(sys.argv[1])\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    peak = {}
    for path in (small, big):
        done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                              text=True, check=True)
        peak[path] = int(done.stdout) * 1024
    assert peak[big] - peak[small] < 48 << 20, peak
