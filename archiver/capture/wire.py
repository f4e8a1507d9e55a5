"""The wire recorder: the exact bytes of each HTTP exchange, as sent and received.

A WARC must record the HTTP messages as they crossed the wire: chunk framing
and content-encoded bytes kept, headers untouched. requests (through urllib3
and http.client) parses and de-chunks responses, so we sit one layer below
it: :class:`RecordingHTTPConnection` tees every byte http.client *sends* and
every byte it *consumes* from the socket into an :class:`Exchange`.

We tee what http.client consumes rather than what the socket delivers, so the
record holds exactly the HTTP message and never read-ahead bytes beyond it.
The connection classes are installed per session through
:class:`RecordingAdapter`; nothing is monkey-patched globally.

The tee also enforces the total deadline of an exchange: every read checks
the clock, so a server that drips one byte at a time cannot outlast it.

Interim ``1xx`` responses (``100 Continue``, ``103 Early Hints``) that come
before the real one are read past (http.client itself only skips ``100``,
and would hand a ``103`` over as if it were the answer, leaving the real
response on the connection). Their exact bytes are kept apart in
:attr:`Exchange.interim`, so the response record holds one well-formed HTTP
message and nothing received is lost.

What this relies on, below the public APIs of requests and urllib3 (the
floors in pyproject.toml are tested with exactly these; re-check them on a
major upgrade):

* ``requests.adapters.HTTPAdapter.get_connection_with_tls_context`` (requests
  >= 2.32.2), overridden to hand the pool the pending :class:`Exchange`, and
  ``init_poolmanager`` / ``poolmanager.pool_classes_by_scheme``.
* ``urllib3.connectionpool.HTTP(S)ConnectionPool.ConnectionCls`` and
  ``_get_conn``, to make and adopt recording connections.
* ``urllib3.connection.HTTP(S)Connection.connect``, ``send``, ``getresponse``
  and ``sock``; and ``http.client.HTTPResponse.begin`` and its ``fp`` (made
  by ``sock.makefile``), where the consumed bytes are teed.
"""

from __future__ import annotations

import http.client
import io
import re
import tempfile
import time
from collections.abc import Callable
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ..warc.scan import http_digests

__all__ = ["DeadlineExceeded", "Exchange", "RecordingAdapter"]

# Bodies up to this size stay in memory; larger ones spill to a temporary file.
SPOOL_MEMORY = 1 << 20
# The most one unbounded read asks of the socket buffer at once.
READ_PIECE = 1 << 16
# "HTTP/1.1 1xx": an interim response (101 Switching Protocols is final).
_INTERIM = re.compile(rb"HTTP/\d\.\d 1(?!01)\d\d")


class DeadlineExceeded(TimeoutError):
    """The exchange ran past its total deadline."""


class Exchange:
    """The raw bytes of one request/response exchange on one connection.

    ``request`` holds the bytes sent. The response head (status line and
    headers, up to and including the blank line) is in ``response_head`` once
    :meth:`mark_head_end` has been called; every byte consumed after that (the
    body with its transfer framing) goes to the ``body`` spool file.
    """

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.deadline_hit = False
        self.request = bytearray()
        self.response_head = b""
        self._head = bytearray()
        self._in_body = False
        self.body: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=SPOOL_MEMORY
        )
        self.body_size = 0
        self.interim: list[bytes] = []  # 1xx responses read before the real one, exactly
        self.peer_ip: str | None = None
        #: The origin's certificate chain as verified (DER, leaf first); empty for http.
        self.peer_certs: list[bytes] = []
        self.reused = False  # sent on a kept-alive connection that had served before
        self.error: Exception | None = None  # why the body ended early, if it did
        #: Vets the address connected to before anything is sent (the address
        #: policy of :mod:`archiver.capture.netpolicy`); raises to refuse it.
        self.peer_check: Callable[[str], None] | None = None
        self._digests: tuple[bytes, bytes, int] | None = None

    def check_peer(self) -> None:
        """Apply :attr:`peer_check` to the connected address, if both are known."""
        if self.peer_check is not None and self.peer_ip is not None:
            self.peer_check(self.peer_ip)

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.deadline_hit = True
            raise DeadlineExceeded("total deadline exceeded")

    def received(self, data: bytes) -> None:
        if self._in_body:
            self.body.write(data)
            self.body_size += len(data)
        else:
            self._head += data

    def mark_head_end(self) -> None:
        """Everything consumed so far is the response head; what follows is body."""
        if self._in_body:
            return
        self.interim, self.response_head = split_interim(bytes(self._head))
        self._head.clear()
        self._in_body = True

    @property
    def received_anything(self) -> bool:
        return bool(self._head or self.response_head or self.body_size)

    def cut_body(self, size: int) -> None:
        """Drop every body byte past ``size`` (the record is being truncated)."""
        self.body.truncate(size)
        self.body.seek(size)
        self.body_size = size

    def digests(self) -> tuple[bytes, bytes, int]:
        """(block sha256, payload sha256, payload size) of the response as recorded.

        Computed from the recorded bytes themselves, so the payload digest
        always matches the block, even when the body ended early.
        """
        if self._digests is None:
            self.body.seek(0)
            self._digests = http_digests(self.response_head, self.body)
        return self._digests

    def close(self) -> None:
        self.body.close()


def split_interim(head: bytes) -> tuple[list[bytes], bytes]:
    """Split the bytes consumed up to the real response's body into the interim
    ``1xx`` responses that came first and the final response head."""
    interim: list[bytes] = []
    while _INTERIM.match(head):
        # A head ends at its first empty line (CRLF or bare LF, as http.client reads it).
        end = re.search(rb"\r?\n\r?\n", head)
        if end is None or end.end() == len(head):
            break  # not followed by another response: leave it whole
        interim.append(head[: end.end()])
        head = head[end.end() :]
    return interim, head


class _FinalResponse(http.client.HTTPResponse):
    """An http.client response that reads past interim 1xx responses to the real one."""

    def begin(self) -> None:
        super().begin()
        while 100 <= self.status < 200 and self.status != 101:
            # begin() is a no-op once headers are set: clear them to parse the next head.
            self.headers = self.msg = None  # type: ignore[assignment]
            super().begin()


class _TeeReader(io.RawIOBase):
    """The file http.client reads a response from, copying what it consumes."""

    def __init__(self, fp: Any, owner: RecordingMixin) -> None:
        super().__init__()
        self._fp = fp
        self._owner = owner

    def _tee(self, data: bytes) -> bytes:
        exchange = self._owner.exchange
        if exchange is not None and data:
            exchange.received(data)
        return data

    def _check(self) -> None:
        exchange = self._owner.exchange
        if exchange is not None:
            exchange.check_deadline()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        # Built from read1() so that every piece is recorded as it arrives: a
        # BufferedReader.read() that fails half-way (a reset, a timeout)
        # discards what it had already received, and that is evidence too.
        parts = []
        want = -1 if size is None or size < 0 else size
        while want:
            self._check()
            data = self._fp.read1(want if want > 0 else READ_PIECE)
            if not data:
                break
            parts.append(self._tee(data))
            if want > 0:
                want -= len(data)
        return b"".join(parts)

    def read1(self, size: int = -1) -> bytes:
        self._check()
        return self._tee(self._fp.read1(size if size >= 0 else READ_PIECE))

    def readline(self, size: int | None = -1) -> bytes:
        self._check()
        return self._tee(self._fp.readline(size))

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def peek(self, size: int = 0) -> bytes:
        return bytes(self._fp.peek(size))

    def close(self) -> None:
        self._fp.close()
        super().close()


class _SocketProxy:
    """A socket whose ``makefile`` returns a teeing reader; all else passes through."""

    def __init__(self, sock: Any, owner: RecordingMixin) -> None:
        self._sock = sock
        self._owner = owner

    def makefile(self, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        reader = _TeeReader(self._sock.makefile(mode, *args, **kwargs), self._owner)
        self._owner.reader = reader
        return reader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


_DER = 2  # _ssl.ENCODING_DER (the module is private)


def _verified_chain(sock: Any) -> list[bytes]:
    """The certificate chain a TLS socket verified (DER, leaf first); [] if none.

    Python 3.13 has ``SSLSocket.get_verified_chain``; before it, the same
    method exists on the socket's ``_sslobj``. Failing both, the leaf alone.
    """
    getter = getattr(sock, "get_verified_chain", None) or \
        getattr(getattr(sock, "_sslobj", None), "get_verified_chain", None)
    try:
        if getter is not None:
            return [c if isinstance(c, bytes) else c.public_bytes(_DER)
                    for c in getter()]
        leaf = sock.getpeercert(binary_form=True) if hasattr(sock, "getpeercert") else None
    except (OSError, ValueError, AttributeError):
        return []
    return [leaf] if leaf else []


class RecordingMixin:
    """Connection behaviour shared by the HTTP and HTTPS recording connections."""

    exchange: Exchange | None = None
    peer_ip: str | None = None
    peer_certs: list[bytes] = []  # noqa: RUF012 - replaced, never mutated
    reader: _TeeReader | None = None  # the current response's file on the socket
    sock: Any
    response_class: type[http.client.HTTPResponse] = _FinalResponse

    def _wrap_socket(self) -> None:
        try:
            self.peer_ip = str(self.sock.getpeername()[0])
        except OSError:
            self.peer_ip = None
        self.peer_certs = _verified_chain(self.sock)
        if self.exchange is not None:
            self.exchange.peer_ip = self.peer_ip
            self.exchange.peer_certs = self.peer_certs
        self.sock = _SocketProxy(self.sock, self)

    def begin_exchange(self, exchange: Exchange) -> None:
        self.exchange = exchange
        exchange.peer_ip = self.peer_ip
        exchange.peer_certs = self.peer_certs
        # The pool has already dropped connections the server closed while idle,
        # so an open socket here is a kept-alive one being used again.
        exchange.reused = self.sock is not None
        if exchange.reused:
            try:
                exchange.check_peer()
            except BaseException:
                self.close()  # type: ignore[attr-defined]  # (urllib3's connection)
                raise

    # Cooperative overrides: super() is urllib3's HTTP(S)Connection in the
    # concrete classes below, so one mixin serves both schemes.

    def _new_conn(self) -> Any:
        # The TCP connection is open and nothing is sent yet (for https, not
        # even the TLS handshake): the moment to vet the address reached.
        sock = super()._new_conn()  # type: ignore[misc]
        if self.exchange is not None and self.exchange.peer_check is not None:
            try:
                self.exchange.peer_check(str(sock.getpeername()[0]))
            except BaseException:
                sock.close()
                raise
        return sock

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._wrap_socket()

    def send(self, data: Any) -> None:
        self._record_sent(data)
        super().send(data)  # type: ignore[misc]

    def getresponse(self) -> Any:
        try:
            response = super().getresponse()  # type: ignore[misc]
        except BaseException:
            # urllib3 can reject a parsed head (conflicting Content-Lengths)
            # before it owns http.client's response, whose file on the socket
            # would then stay open until garbage collection.
            if self.reader is not None:
                self.reader.close()
            raise
        # http.client has parsed the status line and headers and read no
        # body yet: everything consumed so far is the head.
        if self.exchange is not None:
            self.exchange.mark_head_end()
        return response

    def _record_sent(self, data: Any) -> None:
        if self.exchange is None:
            return
        if isinstance(data, (bytes, bytearray, memoryview)):
            self.exchange.request += bytes(data)
        elif isinstance(data, str):
            self.exchange.request += data.encode("iso-8859-1")


class RecordingHTTPConnection(RecordingMixin, HTTPConnection):
    """An urllib3 HTTP connection that records its exchanges."""


class RecordingHTTPSConnection(RecordingMixin, HTTPSConnection):
    """An urllib3 HTTPS connection that records its exchanges (after TLS)."""


class _AdoptingPoolMixin:
    """Pool behaviour: hand the pending exchange to the connection it gives out."""

    pending_exchange: Exchange | None = None

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        if self.pending_exchange is not None and isinstance(conn, RecordingMixin):
            conn.begin_exchange(self.pending_exchange)
            self.pending_exchange = None
        return conn


class _RecordingPool(_AdoptingPoolMixin, HTTPConnectionPool):
    ConnectionCls = RecordingHTTPConnection


class _RecordingHTTPSPool(_AdoptingPoolMixin, HTTPSConnectionPool):
    ConnectionCls = RecordingHTTPSConnection


class RecordingAdapter(HTTPAdapter):
    """A requests adapter whose connections record their raw exchanges.

    Before each request the caller sets :attr:`next_exchange`; the connection
    the pool hands out for that request adopts it. One adapter serves one
    thread (the capture keeps one session per worker thread).
    """

    def __init__(self) -> None:
        self.next_exchange: Exchange | None = None
        super().__init__(pool_connections=16, pool_maxsize=2, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _RecordingPool,
            "https": _RecordingHTTPSPool,
        }

    def get_connection_with_tls_context(self, *args: Any, **kwargs: Any) -> Any:
        pool = super().get_connection_with_tls_context(*args, **kwargs)
        if isinstance(pool, _AdoptingPoolMixin):
            pool.pending_exchange = self.next_exchange
        self.next_exchange = None
        return pool
