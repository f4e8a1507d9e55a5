"""Real servers on loopback for the tests: never mocks.

:class:`HTTPTestServer`
    A stdlib threaded HTTP/1.1 server with programmable routes. A route maps a
    path to one :class:`Response` or a sequence of them (the n-th request gets
    the n-th, the last repeats), so a test can script ``503, 503, 200`` and
    then assert ``hits(path) == 3``. Redirect chains and loops, ``Retry-After``,
    gzip bodies and per-response delays are built in.

:class:`RawServer`
    A socket-and-threads server that plays a scripted byte sequence per
    request (see :mod:`http_scripts` for the HTTP behaviours: chunked, truncated,
    stalled, reset, malformed, huge …). Every exchange records the request it
    read and exactly the bytes the kernel accepted from it, for comparison with
    what lands in the WARC.

Both bind an ephemeral port on a loopback address of your choice (Linux routes
all of 127.0.0.0/8 to ``lo``, so 127.0.0.2–5 work with no set-up), use daemon
threads and a timeout on every blocking call, and stop cleanly in
:meth:`stop` (also the ``with`` exit): a stalled script is woken and its socket
closed, so a test run can never hang on them.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import itertools
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import http_scripts

__all__ = [
    "Exchange",
    "HTTPTestServer",
    "RawServer",
    "Request",
    "Response",
    "redirect",
    "retry_after",
]

IO_TIMEOUT = 5.0  # every socket read/write on the server side
STOP_JOIN = 5.0  # how long stop() waits for each thread
MAX_STALL = 60.0  # a stall ends by itself after this, even if nobody calls stop()


class _Lifecycle:
    """Start/stop as a context manager; subclasses provide start() and stop()."""

    def start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --------------------------------------------------------------------------- HTTP server


@dataclass(frozen=True)
class Response:
    """One programmed answer. ``gzip`` encodes the body and says so."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str | None = "text/html; charset=utf-8"
    delay: float = 0.0
    gzip: bool = False


def redirect(location: str, status: int = 302) -> Response:
    """A redirect to ``location`` (sent as given: absolute or relative)."""
    return Response(status, b"", (("Location", location),), content_type=None)


def retry_after(status: int = 503, seconds: int | str = 1) -> Response:
    """A 429/503 with ``Retry-After`` (seconds, or an HTTP date as a string)."""
    return Response(status, b"try again later\n", (("Retry-After", str(seconds)),),
                    content_type="text/plain")


@dataclass(frozen=True)
class Request:
    """What a server received: method, target (path and query), headers, body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path


class _RouteHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "test-server"
    sys_version = ""
    timeout = IO_TIMEOUT
    server: _RouteHTTPServer

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_POST(self) -> None:
        self._answer()

    def _answer(self, *, send_body: bool = True) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, dict(self.headers.items()), body)
        response = self.server.owner._next_response(request)
        if response.delay and self.server.owner._stopping.wait(response.delay):
            self.close_connection = True
            return
        self._send(response, send_body=send_body)

    def _send(self, response: Response, *, send_body: bool) -> None:
        payload = gzip.compress(response.body, mtime=0) if response.gzip else response.body
        self.send_response(response.status)
        names = {name.lower() for name, _ in response.headers}
        if response.content_type is not None:
            self.send_header("Content-Type", response.content_type)
        if response.gzip:
            self.send_header("Content-Encoding", "gzip")
        for name, value in response.headers:
            self.send_header(name, value)
        if not names & {"content-length", "transfer-encoding"}:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if send_body:
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests assert on server.requests, not on stderr noise


class _RouteHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: HTTPTestServer

    # Track open connections so stop() can end idle keep-alive ones at once.
    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        with self.owner._lock:
            self.owner._conns.add(sock)
        return sock, addr

    def shutdown_request(self, request: Any) -> None:
        with self.owner._lock:
            self.owner._conns.discard(request)
        super().shutdown_request(request)


class HTTPTestServer(_Lifecycle):
    """A threaded HTTP server on ``host`` with programmable routes.

    Unknown paths get 404. ``requests`` lists every request in arrival order.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.requests: list[Request] = []
        self._routes: dict[str, list[Response]] = {}
        self._handlers: dict[str, Callable[[Request], Response]] = {}
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._server: _RouteHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> HTTPTestServer:
        server = _RouteHTTPServer((self.host, 0), _RouteHandler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"http-test-server-{self.host}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes any delayed response
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:  # wake handlers waiting on idle keep-alive connections
            for sock in self._conns:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(STOP_JOIN)

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, *responses: Response | bytes | str) -> None:
        """Program ``path`` (exact; a target with a query matches first, then the bare path).

        Bytes or str become a 200 text/html response. Several responses play in turn.
        """
        if not responses:
            raise ValueError("route() needs at least one response")
        made = [r if isinstance(r, Response) else
                Response(body=r.encode("utf-8") if isinstance(r, str) else r) for r in responses]
        with self._lock:
            self._routes[path] = made

    def handle(self, path: str, handler: Callable[[Request], Response]) -> None:
        """Answer ``path`` with ``handler(request)``: for servers whose answer depends on
        the request (a time-stamp authority signing each query)."""
        with self._lock:
            self._handlers[path] = handler

    def redirect_chain(self, path: str, hops: int, final: Response | bytes | str = b"end\n",
                       *, status: int = 302) -> list[str]:
        """``path`` → ``path/1`` → … → ``path/hops``, which answers ``final``.

        Returns every URL of the chain, first to last.
        """
        paths = [path] + [f"{path.rstrip('/')}/{n}" for n in range(1, hops + 1)]
        for here, there in itertools.pairwise(paths):
            self.route(here, redirect(self.url(there), status))
        self.route(paths[-1], final)
        return [self.url(p) for p in paths]

    def redirect_loop(self, *paths: str, status: int = 302) -> None:
        """Each path redirects to the next, the last back to the first."""
        for here, there in zip(paths, paths[1:] + paths[:1], strict=True):
            self.route(here, redirect(self.url(there), status))

    def hits(self, path: str) -> int:
        """How many requests arrived for ``path`` (query ignored)."""
        with self._lock:
            return self._hits.get(path, 0)

    def _next_response(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            n = self._hits.get(request.path, 0)
            self._hits[request.path] = n + 1
            responses = self._routes.get(request.target) or self._routes.get(request.path)
            handler = self._handlers.get(request.path)
        if handler is not None:
            return handler(request)
        if responses is None:
            return Response(404, b"not found\n", content_type="text/plain")
        return responses[min(n, len(responses) - 1)]


# --------------------------------------------------------------------------- raw server


Script = http_scripts.Script


class _Stop(Exception):
    """The script ends early (server stopping, client gone, or a deliberate reset)."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome


@dataclass
class Exchange:
    """One connection: the request read, and exactly what was sent back.

    ``sent`` keeps the bytes up to the server's ``record_limit``; ``sent_length``
    and ``sent_sha256`` always cover everything. ``outcome`` is ``closed``,
    ``reset``, ``client-gone``, ``stopped`` or ``no-request``.
    """

    request: bytes = b""
    path: str | None = None
    later_requests: list[bytes] = field(default_factory=list)  # kept-alive (AwaitRequest)
    sent: bytearray = field(default_factory=bytearray)
    sent_length: int = 0
    outcome: str = "running"
    _digest: Any = field(default_factory=hashlib.sha256, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def sent_sha256(self) -> str:
        return str(self._digest.hexdigest())

    @property
    def response_body(self) -> bytes:
        """What followed the response head in ``sent`` (framing included)."""
        return bytes(self.sent).partition(b"\r\n\r\n")[2]

    def wait(self, timeout: float = IO_TIMEOUT) -> Exchange:
        """Block until the server has finished with this connection."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"exchange for {self.path} still running after {timeout}s")
        return self


class _Player:
    """Plays steps on one accepted socket and records what the kernel accepted."""

    def __init__(self, sock: socket.socket, exchange: Exchange, stopping: threading.Event,
                 record_limit: int) -> None:
        self.sock = sock
        self.exchange = exchange
        self.stopping = stopping
        self.record_limit = record_limit

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.stopping.is_set():
                raise _Stop("stopped")
            try:
                n = self.sock.send(view)
            except OSError as exc:  # reset/pipe/timeout: the client is gone or stuck
                raise _Stop("client-gone") from exc
            self._record(view[:n])
            view = view[n:]

    def _record(self, chunk: memoryview) -> None:
        ex = self.exchange
        ex.sent_length += len(chunk)
        ex._digest.update(chunk)
        room = self.record_limit - len(ex.sent)
        if room > 0:
            ex.sent += chunk[:room]

    def wait(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise _Stop("stopped")

    def await_request(self) -> bytes:
        request = _read_head(self.sock)
        if not request:
            raise _Stop("client-gone")
        self.exchange.later_requests.append(request)
        return request

    def reset(self) -> None:
        # Linger 0 makes close() send RST instead of FIN.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raise _Stop("reset")


class RawServer(_Lifecycle):
    """Accepts connections on ``host``, reads one request each, plays its script.

    One request per connection (a script may read more with ``AwaitRequest``,
    but answers none of them): the script runs, then the socket is closed
    (FIN), unless the script reset it. Unscripted paths get a plain 404.
    """

    def __init__(self, host: str = "127.0.0.1", *, record_limit: int = 64 << 20) -> None:
        self.host = host
        self.record_limit = record_limit
        self.exchanges: list[Exchange] = []
        self._scripts: dict[str, list[Script]] = {}
        self._default: list[Script] = []
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()

    # set-up ---------------------------------------------------------------

    def start(self) -> RawServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((self.host, 0))
        listener.listen(64)
        listener.settimeout(0.05)  # accept() polls so stop() is seen promptly
        self._listener = listener
        self._spawn(self._accept_loop, "raw-server-accept")
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for sock in self._open:  # wake threads blocked in recv/send; they close
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            threads = list(self._threads)
        for thread in threads:
            thread.join(STOP_JOIN)
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    @property
    def port(self) -> int:
        assert self._listener is not None, "server not started"
        return int(self._listener.getsockname()[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def script(self, path: str, *scripts: Script) -> None:
        """Program ``path``: successive requests play successive scripts, the last repeats."""
        if not scripts:
            raise ValueError("script() needs at least one script")
        with self._lock:
            self._scripts[path] = list(scripts)

    def default(self, *scripts: Script) -> None:
        """What any unscripted path gets (instead of 404), in turn like :meth:`script`."""
        with self._lock:
            self._default = list(scripts)

    # results --------------------------------------------------------------

    def hits(self, path: str) -> int:
        with self._lock:
            return self._hits.get(path, 0)

    def exchanges_for(self, path: str) -> list[Exchange]:
        with self._lock:
            return [ex for ex in self.exchanges if ex.path == path]

    def sent(self, path: str, index: int = -1, *, timeout: float = IO_TIMEOUT) -> bytes:
        """The exact bytes sent for the ``index``-th request to ``path`` (waits for it to end)."""
        return bytes(self.exchanges_for(path)[index].wait(timeout).sent)

    # machinery ------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(IO_TIMEOUT)
            with self._lock:
                self._open.add(sock)
            self._spawn(self._serve, "raw-server-conn", sock)

    def _serve(self, sock: socket.socket) -> None:
        exchange = Exchange()
        with self._lock:
            self.exchanges.append(exchange)
        player = _Player(sock, exchange, self._stopping, self.record_limit)
        try:
            exchange.request = _read_head(sock)
            if not exchange.request:
                raise _Stop("no-request")
            exchange.path = _target_path(exchange.request)
            for step in self._script_for(exchange.path):
                step.play(player)
            exchange.outcome = "closed"
        except _Stop as stop:
            exchange.outcome = stop.outcome
        finally:
            with self._lock:
                self._open.discard(sock)
            sock.close()
            exchange._done.set()

    def _script_for(self, path: str) -> Script:
        with self._lock:
            n = self._hits.get(path, 0)
            self._hits[path] = n + 1
            scripts = self._scripts.get(path) or self._default
        if not scripts:
            return http_scripts.not_found()
        return scripts[min(n, len(scripts) - 1)]


def _read_head(sock: socket.socket, limit: int = 65536) -> bytes:
    """Read until the end of the request head (or EOF, limit, timeout)."""
    buf = b""
    while b"\r\n\r\n" not in buf and len(buf) < limit:
        try:
            data = sock.recv(4096)
        except OSError as exc:
            raise _Stop("no-request" if not buf else "client-gone") from exc
        if not data:
            break
        buf += data
    return buf


def _target_path(request: bytes) -> str:
    line = request.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    return urlsplit(parts[1]).path if len(parts) == 3 else ""


def iter_loopback_hosts(count: int = 4) -> Iterator[str]:
    """127.0.0.2, 127.0.0.3, … (extra loopback addresses for multi-host tests)."""
    for n in range(2, 2 + count):
        yield f"127.0.0.{n}"


def loopback_host_works(host: str) -> bool:
    """True if ``host`` can be bound and connected to (it can, on Linux)."""
    try:
        with socket.socket() as listener:
            listener.bind((host, 0))
            listener.listen(1)
            with socket.create_connection(listener.getsockname(), timeout=1):
                conn, _ = listener.accept()
                conn.close()
        return True
    except OSError:
        return False
