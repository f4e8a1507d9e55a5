"""archiver.hashing: the file hasher and digest-label codec, checked against hashlib, base64."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archiver.hashing import (
    BLOCK_SIZE,
    EMPTY_SHA256,
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
