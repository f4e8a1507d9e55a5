"""archiver.warc.payload: de-chunking and content decoding of archived bodies, with caps."""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib

import pytest

from archiver.errors import ExtractError
from archiver.warc.payload import decode_content, read_payload

BODY = b"<html><body><p>" + b"Uyghur detention camps. " * 200 + b"</p></body></html>"


def _chunked(data: bytes, size: int = 100) -> bytes:
    out = b""
    for i in range(0, len(data), size):
        piece = data[i : i + size]
        out += f"{len(piece):x};ext=1\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\nX-Trailer: t\r\n\r\n"


def test_plain_body_is_kept_and_hashed() -> None:
    payload = read_payload(io.BytesIO(BODY), chunked=False)
    assert payload.data == BODY
    assert payload.sha256 == hashlib.sha256(BODY).hexdigest()


def test_chunked_body_is_dechunked_before_hashing() -> None:
    payload = read_payload(io.BytesIO(_chunked(BODY)), chunked=True)
    assert payload.data == BODY
    assert payload.sha256 == hashlib.sha256(BODY).hexdigest()


def test_body_over_the_cap_is_an_error_naming_the_source() -> None:
    with pytest.raises(ExtractError, match=r"warcs/a\.warc\.gz.*larger than 100 bytes"):
        read_payload(io.BytesIO(BODY), chunked=False, max_bytes=100, source="warcs/a.warc.gz")


@pytest.mark.parametrize("coding,encode", [
    ("gzip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),  # zlib-wrapped, as RFC 9110 says
    ("deflate", lambda d: zlib.compress(d)[2:-4]),  # raw deflate, as some servers send
    ("identity", lambda d: d),
    ("gzip, deflate", lambda d: zlib.compress(gzip.compress(d))),
])
def test_content_codings_are_undone(coding: str, encode: object) -> None:
    assert decode_content(encode(BODY), coding) == BODY  # type: ignore[operator]


def test_no_coding_returns_the_bytes() -> None:
    assert decode_content(BODY, None) == BODY


def test_brotli_is_undone_when_the_extra_is_installed() -> None:
    brotli = pytest.importorskip("brotli", reason="needs the brotli extra")
    assert decode_content(brotli.compress(BODY), "br") == BODY


def test_a_decompression_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (20 << 20))  # 20 MB of zeros in ~20 KB
    assert len(bomb) < 100_000
    with pytest.raises(ExtractError, match=r"^x: gzip/deflate body expands past 1048576 bytes"):
        decode_content(bomb, "gzip", max_bytes=1 << 20, source="x")


@pytest.mark.parametrize("coding,data,message", [
    ("compress", b"abc", "compress"),
    ("gzip", b"not gzip at all", "gzip"),
])
def test_unknown_coding_or_corrupt_data_is_an_extract_error(coding: str, data: bytes,
                                                             message: str) -> None:
    with pytest.raises(ExtractError, match=message):
        decode_content(data, coding, source="warcs/a.warc.gz")


def test_brotli_is_undone_under_the_replay_extras_brotlipy() -> None:
    """pywb pulls in brotlipy, whose ``brotli`` package shadows Google's module
    (no Decompressor.process): br bodies must still decode, bombs still stop."""
    pytest.importorskip("pywb", reason="needs the replay extra: pip install 'archiver[replay]'")
    import brotli  # the shadowing package, as any import of it sees it

    assert not hasattr(brotli.Decompressor, "process"), "brotlipy no longer shadows brotli"
    data = brotli.compress(BODY)
    assert decode_content(data, "br") == BODY
    bomb = brotli.compress(b"\0" * (3 << 20), quality=1)
    with pytest.raises(ExtractError, match=r"^x: br body expands past 1048576 bytes"):
        decode_content(bomb, "br", max_bytes=1 << 20, source="x")
    with pytest.raises(ExtractError, match=r"^x: cannot decode br body"):
        decode_content(b"\xff" * 64, "br", source="x")
