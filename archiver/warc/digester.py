"""The WARC 1.1 digest rules for one record block, applied while it streams past.

A record's block digest covers the whole block. Its payload digest covers
the HTTP entity body with ``Transfer-Encoding: chunked`` removed and
``Content-Encoding`` kept (for ``application/http`` records), or the whole
block (``resource``, ``conversion``). ``revisit`` records carry only HTTP
headers and their payload digest names the original capture, so no payload
is computed for them. We de-chunk ourselves because ``warcio check`` hashes
the chunk framing.
"""

from __future__ import annotations

import hashlib
from typing import IO, Any

from ..hashing import BLOCK_SIZE

__all__ = [
    "MAX_HTTP_HEAD",
    "PAYLOAD_TYPES",
    "BlockDigester",
    "Dechunker",
    "chunked_coding",
    "http_digests",
    "is_chunked",
]

#: An HTTP header section larger than this is not parsed for chunking.
MAX_HTTP_HEAD = 1 << 20

#: Record types whose payload digest we compute (revisit: see module docstring).
PAYLOAD_TYPES = frozenset({"response", "request", "resource", "conversion"})


class Dechunker:
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


class BlockDigester:
    """Hashes a record block and, beside it, the payload the WARC rules define."""

    def __init__(self, rec_type: str, content_type: str, extra_algs: set[str],
                 *, keep_raw: bool = False) -> None:
        self.keep_raw = keep_raw
        #: With ``keep_raw``, a chunked body's sha256 with its framing (other
        #: tools' payload digest, see :mod:`archiver.warc.check`).
        self.raw: Any = None
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
            self.feed_body(data)
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
        self.body = Dechunker(self.payload) if is_chunked(head) else self.payload
        if self.keep_raw and self.body is not self.payload:
            self.raw = hashlib.sha256()
        self.feed_body(rest)

    def feed_body(self, data: bytes) -> None:
        if self.raw is not None:
            self.raw.update(data)
        if data:
            self.body.update(data) if self.body is self.payload else self.body.feed(data)

    def payload_hex(self) -> str | None:
        if self.payload is None:
            return None
        if self.body is None:  # HTTP head never ended: the payload is empty
            return hashlib.sha256(b"").hexdigest()
        return str(self.payload.hexdigest())


def is_chunked(head: bytes) -> bool:
    """Whether an HTTP head's body is chunked (its last transfer-coding is ``chunked``)."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"transfer-encoding":
            return chunked_coding(value.decode("latin-1"))
    return False


def chunked_coding(transfer_encoding: str | None) -> bool:
    """Whether a ``Transfer-Encoding`` value ends in ``chunked`` (RFC 9112 §6.1)."""
    codings = [c.strip() for c in (transfer_encoding or "").lower().split(",")]
    return codings[-1] == "chunked"


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
    sink: Any = Dechunker(payload) if is_chunked(head) else None
    while chunk := body.read(BLOCK_SIZE):
        block.update(chunk)
        if sink is None:
            payload.update(chunk)
        else:
            sink.feed(chunk)
    return block.digest(), payload.hash.digest(), payload.size
