"""HTTP payloads read back from WARC records: de-chunking and content decoding.

A WARC ``response`` block is the HTTP response as received, so its body may
still carry ``Transfer-Encoding: chunked`` framing and ``Content-Encoding``
compression. :func:`read_payload` strips the framing (that is the WARC
payload, which we hash) and :func:`decode_content` undoes gzip, deflate and
brotli, streaming and with a size cap, so a decompression bomb stops at the
cap instead of filling memory.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import zlib
from dataclasses import dataclass
from typing import IO, Any

from ..errors import ExtractError
from ..hashing import BLOCK_SIZE
from .digester import Dechunker

__all__ = ["DEFAULT_MAX_BODY", "Payload", "brotli_module", "decode_content", "read_payload"]

DEFAULT_MAX_BODY = 32 * 1024 * 1024


@dataclass(frozen=True)
class Payload:
    """A de-chunked HTTP body (content-encoding kept) and its sha256 (hex).

    ``raw_sha256`` is the sha256 of the body as stored, chunk framing
    included (the same as ``sha256`` when it was not chunked): the payload
    digest other tools write (:mod:`archiver.warc.check`).
    """

    data: bytes
    sha256: str
    raw_sha256: str


class _Collector:
    """A de-chunker sink that keeps the payload, hashes it and enforces the cap."""

    def __init__(self, max_bytes: int, source: str | None) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.digest = hashlib.sha256()
        self.max_bytes, self.source = max_bytes, source

    def update(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise ExtractError(self.source, f"HTTP body larger than {self.max_bytes} bytes")
        self.digest.update(data)
        self.parts.append(bytes(data))


def read_payload(stream: IO[bytes], *, chunked: bool, max_bytes: int = DEFAULT_MAX_BODY,
                 source: str | None = None) -> Payload:
    """Read an HTTP body from ``stream``, de-chunking it if ``chunked``.

    The de-chunker is the one the WARC payload digests are computed with
    (:class:`archiver.warc.digester.Dechunker`), so a sound record always matches
    its ``WARC-Payload-Digest``. Raises :class:`ExtractError` past ``max_bytes``.
    """
    sink = _Collector(max_bytes, source)
    feed = Dechunker(sink).feed if chunked else sink.update
    raw = hashlib.sha256() if chunked else None
    while block := stream.read(BLOCK_SIZE):
        feed(block)
        if raw is not None:
            raw.update(block)
    sha = sink.digest.hexdigest()
    return Payload(b"".join(sink.parts), sha, raw.hexdigest() if raw is not None else sha)


def decode_content(data: bytes, encoding: str | None, *, max_bytes: int = DEFAULT_MAX_BODY,
                   source: str | None = None) -> bytes:
    """Undo ``Content-Encoding`` (``gzip``, ``deflate``, ``br``, in the order listed).

    Output is capped at ``max_bytes``; an unknown coding or corrupt data raises
    :class:`ExtractError`.
    """
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):
        if coding in {"identity", "none"}:
            continue
        data = _inflate(data, coding, max_bytes, source)
    return data


def _inflate(data: bytes, coding: str, max_bytes: int, source: str | None) -> bytes:
    try:
        if coding in {"gzip", "x-gzip"}:
            return _inflate_zlib(data, 16 + zlib.MAX_WBITS, max_bytes, source)
        if coding == "deflate":
            # The RFC says zlib-wrapped; many servers send raw deflate.
            wrapped = len(data) > 1 and (data[0] & 0x0F) == 8 and int.from_bytes(data[:2]) % 31 == 0
            return _inflate_zlib(data, zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS,
                                 max_bytes, source)
        if coding == "br":
            return _inflate_brotli(data, max_bytes, source)
    except zlib.error as exc:
        raise ExtractError(source, f"cannot decode {coding} body: {exc}") from exc
    raise ExtractError(source, f"unsupported Content-Encoding {coding!r}")


def _too_big(coding: str, max_bytes: int, source: str | None) -> ExtractError:
    return ExtractError(
        source, f"{coding} body expands past {max_bytes} bytes (decompression bomb?)")


def _inflate_zlib(data: bytes, wbits: int, max_bytes: int, source: str | None) -> bytes:
    dec = zlib.decompressobj(wbits)
    out: list[bytes] = []
    size = 0
    pending = data
    while pending:
        # max_length bounds each step's output, so a bomb is caught at the cap.
        chunk = dec.decompress(pending, BLOCK_SIZE)
        pending = dec.unconsumed_tail
        size += len(chunk)
        if size > max_bytes:
            raise _too_big("gzip/deflate", max_bytes, source)
        out.append(chunk)
        if dec.eof:
            break
    out.append(dec.flush())
    return b"".join(out)


def brotli_module() -> Any:
    """Google's brotli module, or None when no brotli is installed.

    pywb (the replay extra) pulls in ``brotlipy``, whose ``brotli`` package
    shadows Google's ``brotli`` module (a package wins over a module of the
    same name) and has another API (no ``Decompressor.process``). Google's C
    extension, ``_brotli``, is still installed beside it, and is what
    ``brotli`` would have given. With brotlipy alone, its module is
    returned: :func:`_brotli_step` speaks both APIs.
    """
    try:
        import brotli  # type: ignore[import-untyped]  # optional extra, no stubs
    except ImportError:
        return None
    if hasattr(brotli.Decompressor, "process"):
        return brotli
    return _google_brotli() or brotli


@functools.cache
def _google_brotli() -> Any:
    """Google's ``_brotli`` extension, loaded from its file: brotlipy's own
    extension registers itself as ``_brotli`` in ``sys.modules``, so a plain
    import would return brotlipy's once brotlipy is loaded."""
    spec = importlib.machinery.PathFinder.find_spec("_brotli")
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module if hasattr(getattr(module, "Decompressor", None), "process") else None


def _inflate_brotli(data: bytes, max_bytes: int, source: str | None) -> bytes:
    brotli = brotli_module()
    if brotli is None:
        raise ExtractError(
            source, "brotli-encoded body; install the extra: pip install 'archiver[brotli]'")
    dec = brotli.Decompressor()
    out: list[bytes] = []
    size = 0
    try:
        for start in range(0, max(len(data), 1), 1024):
            piece = data[start:start + 1024]
            while True:
                chunk = _brotli_step(dec, piece)
                piece = b""
                size += len(chunk)
                if size > max_bytes:
                    raise _too_big("br", max_bytes, source)
                out.append(chunk)
                if not chunk:
                    break
    except brotli.error as exc:
        raise ExtractError(source, f"cannot decode br body: {exc}") from exc
    return b"".join(out)


def _brotli_step(dec: Any, data: bytes) -> bytes:
    """One bounded decompression step (brotli >= 1.2 caps the output buffer)."""
    if not hasattr(dec, "process"):  # brotlipy: no limit; small input steps bound it
        return bytes(dec.decompress(data))
    try:
        out: bytes = dec.process(data, output_buffer_limit=BLOCK_SIZE)
    except TypeError:  # older brotli: no limit; small input steps bound it instead
        out = dec.process(data)
    return out
