"""Scripted HTTP responses for :class:`servers.RawServer`, byte by byte.

A script is a tuple of steps (:class:`Send`, :class:`Repeat`, :class:`Drip`,
:class:`Sleep`, :class:`Stall`, :class:`Reset`); after the last step the
server closes the connection normally. The builders below make the
behaviours capture has to survive: chunked bodies with extensions and
trailers, gzip inside chunks, a Content-Length longer than the body, a stall
after the head or mid-body, a slow drip, a TCP reset before or after the
head, a malformed status line, non-HTTP garbage, a huge body and a body whose
bytes contradict its declared charset, interim 1xx responses, too many or
contradictory headers. Every response says ``Connection: close`` (one request
per connection keeps the recorded bytes unambiguous), except
:func:`keep_alive_then_drop`, which plays the race of a server closing an
idle kept-alive connection just as the client reuses it.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "BAD_UTF8_BODY",
    "AwaitRequest",
    "Drip",
    "Repeat",
    "Reset",
    "Script",
    "Send",
    "Sleep",
    "Stall",
    "bad_charset",
    "chunked",
    "close_without_answer",
    "conflicting_lengths",
    "garbage",
    "gzip_chunked",
    "head",
    "headers_then_stall",
    "huge_body",
    "interim_then",
    "keep_alive_then_drop",
    "malformed_status_line",
    "not_found",
    "ok",
    "reset_after_headers",
    "reset_before_headers",
    "reset_mid_body",
    "slow_drip",
    "stall_mid_body",
    "too_many_headers",
    "truncated",
]

MAX_STALL = 60.0  # a stall ends by itself after this even if the server is never stopped
HTML = "text/html; charset=utf-8"
Headers = Sequence[tuple[str, str]]


class Player(Protocol):
    """What a step can do to the connection (implemented by ``servers._Player``)."""

    def send(self, data: bytes) -> None: ...
    def wait(self, seconds: float) -> None: ...
    def reset(self) -> None: ...
    def await_request(self) -> bytes: ...


class Step(Protocol):
    def play(self, player: Player) -> None: ...


Script = tuple[Step, ...]


@dataclass(frozen=True)
class Send:
    data: bytes

    def play(self, player: Player) -> None:
        player.send(self.data)


@dataclass(frozen=True)
class Repeat:
    """``total`` bytes made of ``pattern`` repeated, streamed (never built in memory)."""

    pattern: bytes
    total: int

    def play(self, player: Player) -> None:
        block = self.pattern * max(1, 65536 // len(self.pattern))
        left = self.total
        while left > 0:
            piece = block[:left]
            player.send(piece)
            left -= len(piece)


@dataclass(frozen=True)
class Drip:
    """``data`` sent ``size`` bytes at a time, ``interval`` seconds apart."""

    data: bytes
    interval: float = 0.1
    size: int = 1

    def play(self, player: Player) -> None:
        for start in range(0, len(self.data), self.size):
            player.send(self.data[start : start + self.size])
            player.wait(self.interval)


@dataclass(frozen=True)
class Sleep:
    seconds: float

    def play(self, player: Player) -> None:
        player.wait(self.seconds)


@dataclass(frozen=True)
class Stall:
    """Send nothing more until the server stops (or ``limit`` passes), keeping the socket open."""

    limit: float = MAX_STALL

    def play(self, player: Player) -> None:
        player.wait(self.limit)


@dataclass(frozen=True)
class Reset:
    """Abort the connection with a TCP RST (SO_LINGER 0, then close)."""

    def play(self, player: Player) -> None:
        player.reset()


@dataclass(frozen=True)
class AwaitRequest:
    """Wait for the client's next request on this connection (kept-alive) and read it."""

    def play(self, player: Player) -> None:
        player.await_request()


# ------------------------------------------------------------------ building blocks


def head(status: int = 200, reason: str = "OK", headers: Headers = (),
         *, content_type: str | None = HTML, close: bool = True) -> bytes:
    """A response head: status line, headers in the given order, blank line."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{name}: {value}" for name, value in headers]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk_frame(data: bytes, extension: str | None = None) -> bytes:
    ext = f";{extension}" if extension else ""
    return f"{len(data):x}{ext}\r\n".encode("latin-1") + data + b"\r\n"


def last_chunk(trailers: Headers = ()) -> bytes:
    return b"0\r\n" + b"".join(f"{n}: {v}\r\n".encode("latin-1") for n, v in trailers) + b"\r\n"


# ------------------------------------------------------------------ behaviours


def ok(body: bytes, *, content_type: str | None = HTML, headers: Headers = (),
       status: int = 200, reason: str = "OK") -> Script:
    """A well-formed response with Content-Length."""
    hdrs = [*headers, ("Content-Length", str(len(body)))]
    return (Send(head(status, reason, hdrs, content_type=content_type) + body),)


def not_found() -> Script:
    return ok(b"not found\n", content_type="text/plain", status=404, reason="Not Found")


def chunked(chunks: Sequence[bytes], *, extensions: Sequence[str | None] = (),
            trailers: Headers = (), content_type: str | None = HTML,
            headers: Headers = ()) -> Script:
    """``Transfer-Encoding: chunked`` with one frame per chunk.

    ``extensions[i]`` (e.g. ``"name=value"``) is added to chunk i's size line;
    ``trailers`` follow the last chunk (and are announced in ``Trailer``).
    """
    hdrs = [*headers, ("Transfer-Encoding", "chunked")]
    if trailers:
        hdrs.append(("Trailer", ", ".join(name for name, _ in trailers)))
    exts = list(extensions) + [None] * (len(chunks) - len(extensions))
    body = b"".join(chunk_frame(c, e) for c, e in zip(chunks, exts, strict=True))
    return (Send(head(200, "OK", hdrs, content_type=content_type)),
            Send(body + last_chunk(trailers)))


def gzip_chunked(body: bytes, *, chunk_size: int = 1024, content_type: str | None = HTML,
                 headers: Headers = ()) -> Script:
    """``body`` gzip-encoded (mtime 0, so deterministic) and sent chunked."""
    encoded = gzip.compress(body, mtime=0)
    pieces = [encoded[i : i + chunk_size] for i in range(0, len(encoded), chunk_size)]
    return chunked(pieces, content_type=content_type,
                   headers=[*headers, ("Content-Encoding", "gzip")])


def truncated(body: bytes, declared: int, *, content_type: str | None = HTML) -> Script:
    """Claims ``Content-Length: declared`` (> len(body)), sends ``body``, then closes."""
    assert declared > len(body)
    return (Send(head(200, "OK", [("Content-Length", str(declared))],
                      content_type=content_type) + body),)


def headers_then_stall(*, length: int = 1000, limit: float = MAX_STALL) -> Script:
    """A complete head promising ``length`` bytes, then silence with the socket open."""
    return (Send(head(200, "OK", [("Content-Length", str(length))])), Stall(limit))


def stall_mid_body(body: bytes, after: int, *, limit: float = MAX_STALL) -> Script:
    """Content-Length of the whole ``body``; sends ``after`` bytes of it, then silence."""
    return (Send(head(200, "OK", [("Content-Length", str(len(body)))]) + body[:after]),
            Stall(limit))


def slow_drip(body: bytes, *, interval: float = 0.1, head_too: bool = False) -> Script:
    """Each byte ``interval`` seconds apart: never idle long enough for a read timeout."""
    start = head(200, "OK", [("Content-Length", str(len(body)))])
    if head_too:
        return (Drip(start + body, interval),)
    return (Send(start), Drip(body, interval))


def reset_before_headers() -> Script:
    """Reads the request, then answers with a TCP reset and nothing else."""
    return (Reset(),)


def reset_after_headers(*, length: int = 1000) -> Script:
    return (Send(head(200, "OK", [("Content-Length", str(length))])), Reset())


def reset_mid_body(body: bytes, after: int) -> Script:
    return (Send(head(200, "OK", [("Content-Length", str(len(body)))]) + body[:after]),
            Sleep(0.05), Reset())  # the pause lets the client read the bytes before the RST


def close_without_answer() -> Script:
    """Reads the request, then closes cleanly (FIN) without a byte of answer."""
    return ()


def keep_alive_then_drop(body: bytes) -> Script:
    """Answers and keeps the connection alive; when the client's next request
    arrives on it, closes without answering (an idle timeout racing a reuse)."""
    hdrs = [("Content-Length", str(len(body))), ("Keep-Alive", "timeout=5")]
    return (Send(head(200, "OK", hdrs, close=False) + body), AwaitRequest())


def interim_then(body: bytes, *interim: bytes) -> Script:
    """Interim responses (e.g. ``b"HTTP/1.1 103 Early Hints\\r\\nLink: ...\\r\\n\\r\\n"``)
    before an ordinary response."""
    return (Send(b"".join(interim)), Sleep(0.02), *ok(body))


def too_many_headers(count: int = 150) -> Script:
    """More header lines than http.client accepts (100)."""
    hdrs = [(f"X-Header-{n}", "v") for n in range(count)] + [("Content-Length", "2")]
    return (Send(head(200, "OK", hdrs) + b"ok"),)


def conflicting_lengths() -> Script:
    """Two Content-Length headers that disagree (a request-smuggling vector)."""
    return (Send(head(200, "OK", [("Content-Length", "5"), ("Content-Length", "6")])
                 + b"hello!"),)


def malformed_status_line() -> Script:
    """A status line no HTTP parser accepts, followed by an otherwise normal response."""
    return (Send(b"HTTP/1.1 two-hundred OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nhi\n"),)


def garbage() -> Script:
    """Bytes that are not HTTP at all (an SSH banner and binary), then close."""
    return (Send(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\xfe\x16\x03\x01\x00\x00binary\x00junk\r\n"),)


def huge_body(size: int, *, chunk: bool = False, pattern: bytes = b"0123456789abcdef\n",
              content_type: str = "application/octet-stream") -> Script:
    """``size`` body bytes, streamed; with Content-Length, or chunked framing if ``chunk``."""
    if not chunk:
        return (Send(head(200, "OK", [("Content-Length", str(size))], content_type=content_type)),
                Repeat(pattern, size))
    frame = 65536
    steps: list[Step] = [Send(head(200, "OK", [("Transfer-Encoding", "chunked")],
                                   content_type=content_type))]
    full, rest = divmod(size, frame)
    body_block = (pattern * (frame // len(pattern) + 1))[:frame]
    steps += [Send(chunk_frame(body_block))] * full
    if rest:
        steps.append(Send(chunk_frame(body_block[:rest])))
    steps.append(Send(last_chunk()))
    return tuple(steps)


# Declared UTF-8, but holds Latin-1 é, a lone continuation byte, a truncated
# 3-byte sequence and an overlong encoding: a decoder must not crash on it.
BAD_UTF8_BODY = (
    b"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>caf\xe9</title></head>"
    b"<body><p>caf\xe9 au lait \x80 \xe4\xb8 \xc0\xaf ok</p><p>\xe6\x96\xb0\xe7\x96\x86</p>"
    b"</body></html>\n"
)


def bad_charset(body: bytes = BAD_UTF8_BODY, *, charset: str = "utf-8") -> Script:
    """``body`` served as ``text/html; charset=<charset>`` although its bytes are not."""
    return ok(body, content_type=f"text/html; charset={charset}")
