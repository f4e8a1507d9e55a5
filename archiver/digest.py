"""Streaming SHA-256: of whole files, and of every record inside a WARC file.

This module owns *how* bytes are hashed: one block size, one buffer per
process, and the WARC 1.1 digest rules. A record's block digest covers the
whole record block; its payload digest covers the HTTP entity body with
``Transfer-Encoding: chunked`` removed and ``Content-Encoding`` kept, which is
why we de-chunk ourselves instead of trusting ``warcio check`` (it hashes the
chunk framing). ``revisit`` records carry only HTTP headers, and their payload
digest names the original capture, so it is never checked as a payload.

Digests in WARC headers look like ``sha256:<RFC 4648 base32>``; everything
archiver writes (records.jsonl, reports) uses lowercase hex.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator

__all__ = [
    "BLOCK_SIZE",
    "RecordDigest",
    "WarcScan",
    "describe_exception",
    "hex_digest",
    "http_digests",
    "record_at",
    "scan_warc",
    "sha256_file",
]

#: One block size for every read: large enough that Python's per-call cost
#: vanishes next to SHA-256, small enough to keep memory flat.
BLOCK_SIZE = 1 << 20

#: An HTTP header section larger than this is not parsed for chunking.
MAX_HTTP_HEAD = 1 << 20

#: Record types whose payload digest we compute (revisit: see module docstring).
PAYLOAD_TYPES = frozenset({"response", "request", "resource", "conversion"})

_BUFFER: bytearray | None = None


def _buffer() -> bytearray:
    # One reusable buffer per process: hashing 20,000 small files must not
    # allocate 20,000 megabytes of buffers.
    global _BUFFER
    if _BUFFER is None:
        _BUFFER = bytearray(BLOCK_SIZE)
    return _BUFFER


def sha256_file(path: Path | str) -> tuple[str, int]:
    """The lowercase hex SHA-256 and size of the file at ``path``, streamed.

    Raises :class:`OSError` (unreadable, a directory, a dangling link…).
    """
    digest = hashlib.sha256()
    size = 0
    buf = _buffer()
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


def hex_digest(value: str | None) -> tuple[str, str] | None:
    """``("sha256", hex)`` from a WARC digest header (``sha256:BASE32`` or hex).

    Returns ``None`` for an absent or unparseable value.
    """
    if not value or ":" not in value:
        return None
    alg, _, text = value.strip().partition(":")
    alg = alg.lower().replace("-", "")
    try:
        size = hashlib.new(alg).digest_size
    except ValueError:
        return None
    if len(text) == size * 2:
        try:
            return alg, bytes.fromhex(text).hex()
        except ValueError:
            return None
    try:
        raw = base64.b32decode(text.upper() + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        return None
    return (alg, raw.hex()) if len(raw) == size else None


@dataclass(frozen=True, slots=True)
class RecordDigest:
    """One WARC record as found on disk: where it is and what it hashes to."""

    offset: int
    length: int
    record_id: str
    type: str
    target_uri: str | None
    date: str | None
    block_sha256: str
    payload_sha256: str | None
    #: Problems with the record's own digest headers (empty when it is sound).
    mismatches: tuple[str, ...] = ()


@dataclass(slots=True)
class WarcScan:
    """The result of reading one WARC file once, end to end."""

    sha256: str
    size: int
    records: list[RecordDigest] = field(default_factory=list)
    #: Why the file could not be parsed to its end (with the offset), if so.
    error: str | None = None
    error_offset: int | None = None


class _HashingReader:
    """A read-only file wrapper that hashes every byte handed to warcio."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.pos = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        self.pos += len(data)
        return data

    def tell(self) -> int:
        return self.pos

    def drain(self) -> None:
        while self.read(BLOCK_SIZE):
            pass


class _Dechunker:
    """Streaming HTTP/1.1 chunked-body decoder feeding a hash.

    Like warcio, a body that stops parsing as chunks is taken as not chunked
    from that point on (servers that lie about Transfer-Encoding exist).
    """

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.state = "size"
        self.line = b""
        self.remaining = 0

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = getattr(self, f"_{self.state}")(view)

    def _size(self, view: memoryview) -> memoryview:
        end = bytes(view[:1024]).find(b"\n")
        if end < 0:
            self.line += bytes(view)
            if len(self.line) > 1024:
                return self._give_up(b"", view[len(view):])
            return view[len(view):]
        line, rest = self.line + bytes(view[: end + 1]), view[end + 1 :]
        self.line = b""
        try:
            self.remaining = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            return self._give_up(line, rest)
        self.state = "data" if self.remaining else "done"
        return rest

    def _data(self, view: memoryview) -> memoryview:
        take = min(self.remaining, len(view))
        self.sink.update(view[:take])
        self.remaining -= take
        if not self.remaining:
            self.state, self.remaining = "crlf", 2
        return view[take:]

    def _crlf(self, view: memoryview) -> memoryview:
        take = min(self.remaining, len(view))
        self.remaining -= take
        if not self.remaining:
            self.state = "size"
        return view[take:]

    def _done(self, view: memoryview) -> memoryview:
        return view[len(view):]  # trailers and final CRLF are not payload

    def _raw(self, view: memoryview) -> memoryview:
        self.sink.update(view)
        return view[len(view):]

    def _give_up(self, line: bytes, rest: memoryview) -> memoryview:
        self.sink.update(line)
        self.state = "raw"
        return rest


class _BlockDigester:
    """Hashes a record block and, beside it, the payload the WARC rules define."""

    def __init__(self, rec_type: str, content_type: str, extra_algs: set[str]) -> None:
        self.block = hashlib.sha256()
        self.payload: Any = hashlib.sha256() if rec_type in PAYLOAD_TYPES else None
        self.http = content_type.lower().startswith("application/http")
        self.head = b""
        self.body: Any = None if self.http else self.payload
        self.extra = {alg: hashlib.new(alg) for alg in extra_algs}

    def feed(self, data: bytes) -> None:
        self.block.update(data)
        for h in self.extra.values():
            h.update(data)
        if self.payload is None:
            return
        if self.body is not None:
            self.body.update(data) if self.body is self.payload else self.body.feed(data)
            return
        self._feed_head(data)

    def _feed_head(self, data: bytes) -> None:
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            if len(self.head) > MAX_HTTP_HEAD:
                self.payload = None  # not HTTP after all: no payload to speak of
            return
        head, rest = self.head[: end + 4], self.head[end + 4 :]
        self.head = b""
        self.body = _Dechunker(self.payload) if _is_chunked(head) else self.payload
        self.feed_body(rest)

    def feed_body(self, data: bytes) -> None:
        if data:
            self.body.update(data) if self.body is self.payload else self.body.feed(data)

    def payload_hex(self) -> str | None:
        if self.payload is None:
            return None
        if self.body is None:  # HTTP head never ended: the payload is empty
            return hashlib.sha256(b"").hexdigest()
        return str(self.payload.hexdigest())


def _is_chunked(head: bytes) -> bool:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"transfer-encoding":
            codings = [c.strip() for c in value.lower().split(b",")]
            return bool(codings) and codings[-1] == b"chunked"
    return False


def _check(name: str, declared: str | None, found: dict[str, str]) -> list[str]:
    parsed = hex_digest(declared)
    if declared is None:
        return []
    if parsed is None:
        return [f"{name} digest header {declared!r} cannot be parsed"]
    alg, expected = parsed
    actual = found.get(alg)
    if actual is None or actual == expected:
        return []
    return [f"{name} digest {alg}:{actual} does not match the header's {alg}:{expected}"]


def _digest_record(record: Any) -> tuple[_BlockDigester, list[str]]:
    headers = record.rec_headers
    block_hdr = headers.get_header("WARC-Block-Digest")
    payload_hdr = headers.get_header("WARC-Payload-Digest")
    algs = {p[0] for p in (hex_digest(block_hdr),) if p} - {"sha256"}
    digester = _BlockDigester(record.rec_type, headers.get_header("Content-Type") or "", algs)
    while chunk := record.raw_stream.read(BLOCK_SIZE):
        digester.feed(chunk)
    block = {"sha256": digester.block.hexdigest()}
    block.update({alg: h.hexdigest() for alg, h in digester.extra.items()})
    problems = _check("block", block_hdr, block)
    payload = digester.payload_hex()
    if payload is not None and record.rec_type != "revisit":
        problems += _check("payload", payload_hdr, {"sha256": payload})
    return digester, problems


def scan_warc(path: Path | str) -> WarcScan:
    """Read the WARC at ``path`` once: file SHA-256 and every record's digests.

    Never raises for a damaged WARC: parsing stops at the first record that
    cannot be read, which is reported in :attr:`WarcScan.error`, and the rest
    of the file is still hashed. Raises :class:`OSError` if it cannot be read.
    """
    with open(path, "rb") as raw:
        reader = _HashingReader(raw)
        scan = WarcScan(sha256="", size=0)
        iterator = ArchiveIterator(reader, no_record_parse=True, block_size=BLOCK_SIZE)
        offset = 0
        with _quiet_warcio() as warned:
            try:
                for record in iterator:
                    offset = iterator.offset
                    digester, problems = _digest_record(record)
                    scan.records.append(_record_digest(iterator, record, digester, problems))
            except OSError:
                raise
            except Exception as exc:  # warcio and zlib raise many types for bad bytes
                scan.error, scan.error_offset = describe_exception(exc), offset
        if warned.getvalue() and scan.error is None:
            scan.error = "a record does not end where its Content-Length says"
            scan.error_offset = offset
        reader.drain()
        scan.sha256, scan.size = reader.digest.hexdigest(), reader.pos
        return scan


def _record_digest(
    iterator: Any, record: Any, digester: _BlockDigester, problems: list[str]
) -> RecordDigest:
    headers = record.rec_headers
    return RecordDigest(
        offset=iterator.get_record_offset(),
        length=iterator.get_record_length(),
        record_id=headers.get_header("WARC-Record-ID") or "",
        type=record.rec_type or "",
        target_uri=headers.get_header("WARC-Target-URI"),
        date=headers.get_header("WARC-Date"),
        block_sha256=digester.block.hexdigest(),
        payload_sha256=digester.payload_hex(),
        mismatches=tuple(problems),
    )


class _Window:
    """``length`` bytes of ``raw`` from its current position: one gzip member."""

    def __init__(self, raw: IO[bytes], length: int) -> None:
        self.raw = raw
        self.left = length
        self.pos = 0

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self.raw.read(size)
        self.left -= len(data)
        self.pos += len(data)
        return data

    def tell(self) -> int:
        return self.pos


def record_at(fh: IO[bytes], offset: int, length: int) -> tuple[str, str]:
    """``(record ID, block sha256)`` of the record stored at ``offset``..``+length``.

    Reads only that gzip member, streaming. Raises :class:`ValueError` (or the
    decompressor's error) if no whole record can be read there.
    """
    fh.seek(offset)
    with _quiet_warcio() as warned:
        iterator = ArchiveIterator(_Window(fh, length), no_record_parse=True,
                                   block_size=BLOCK_SIZE)
        record = next(iter(iterator), None)
        if record is None:
            raise ValueError("no WARC record there")
        block = hashlib.sha256()
        while chunk := record.raw_stream.read(BLOCK_SIZE):
            block.update(chunk)
        if getattr(record.raw_stream, "limit", 0):
            raise ValueError("the record block ends early")
        # Read on to the end of the gzip member, so its CRC-32 is checked too.
        if next(iter(iterator), None) is not None:
            raise ValueError("more than one record in this gzip member")
    if warned.getvalue():
        raise ValueError("the record block does not end where its Content-Length says")
    return record.rec_headers.get_header("WARC-Record-ID") or "", block.hexdigest()


@contextlib.contextmanager
def _quiet_warcio() -> Iterator[io.StringIO]:
    # warcio prints its "Record not followed by newline" warning to stderr; a
    # library must not print, and the warning is a finding: hand it back.
    with contextlib.redirect_stderr(io.StringIO()) as caught:
        yield caught


def describe_exception(exc: BaseException) -> str:
    """A short one-line account of a parse failure (warcio quotes raw bytes)."""
    text = str(exc).split(", first line", 1)[0].splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:120]}" if text else type(exc).__name__


class _Counter:
    """A hash sink that also counts what it is fed."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.size = 0

    def update(self, data: bytes | memoryview) -> None:
        self.hash.update(data)
        self.size += len(data)


def http_digests(head: bytes, body: IO[bytes]) -> tuple[bytes, bytes, int]:
    """Block sha256, payload sha256 and payload size of an HTTP message, in one pass.

    ``head`` is the status line and headers (with the blank line), ``body``
    the raw bytes after it, read to the end. The payload is the body with
    chunked transfer framing removed and content-encoding kept (WARC 1.1); a
    body cut short (a truncated record) yields the payload up to the cut.
    """
    block = hashlib.sha256(head)
    payload = _Counter()
    sink: Any = _Dechunker(payload) if _is_chunked(head) else None
    while chunk := body.read(BLOCK_SIZE):
        block.update(chunk)
        if sink is None:
            payload.update(chunk)
        else:
            sink.feed(chunk)
    return block.digest(), payload.hash.digest(), payload.size
