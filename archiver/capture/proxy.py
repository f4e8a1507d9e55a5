"""The recording proxy: every request a browser makes, fetched and recorded by archiver.

``capture --browser`` points Chromium at a :class:`RecordingProxy` on
127.0.0.1 (an ephemeral port). For each request the browser sends (plain
HTTP, or HTTPS inside a CONNECT tunnel whose TLS the proxy terminates with a
certificate from the archive's own authority, :mod:`archiver.capture.authority`)
the proxy fetches the URL with archiver's :class:`~archiver.capture.fetcher.Fetcher`,
so the exchange is recorded as any capture's is (exact bytes, size cap,
timeouts, retries, the address policy, the origin's certificate verified),
sends the browser exactly the bytes the origin sent (head, chunk framing and
content-encoding untouched), and then hands the
:class:`~archiver.capture.fetcher.FetchResult` to its client
(:class:`ProxyClient`), which writes it. Redirects are not followed: the
browser follows them, each its own request.

Chromium's own background traffic (updates, safe browsing, Google
services: it opens CONNECTs to such hosts even when told not to) is refused
at the proxy (``403``): never sent, never recorded. The proxy fetches GET
requests only; any other method is answered ``501`` and not recorded.
"""

from __future__ import annotations

import logging
import re
import socketserver
import ssl
import threading
from collections.abc import Mapping
from io import BufferedIOBase
from typing import Protocol
from urllib.parse import urlsplit

from ..warc.digester import is_chunked
from .authority import CertificateAuthority
from .fetcher import Fetcher, FetchResult

__all__ = ["BACKGROUND_HOSTS", "ProxyClient", "RecordingProxy", "is_background_host"]

log = logging.getLogger(__name__)

#: Hosts (and their subdomains) Chromium talks to on its own account.
BACKGROUND_HOSTS = (
    "clients1.google.com", "clients2.google.com", "clients3.google.com",
    "clients4.google.com", "clients5.google.com", "clients6.google.com",
    "clientservices.googleapis.com", "accounts.google.com", "update.googleapis.com",
    "safebrowsing.googleapis.com", "safebrowsing.google.com", "sb-ssl.google.com",
    "optimizationguide-pa.googleapis.com", "content-autofill.googleapis.com",
    "android.clients.google.com", "www.googleapis.com", "gvt1.com", "gvt2.com",
    "chrome.google.com", "chromewebstore.googleapis.com", "beacons.gcp.gvt2.com",
    "passwordsleakcheck-pa.googleapis.com", "mtalk.google.com",
)
#: Browser request headers sent on to the origin (beside the fetcher's own
#: User-Agent and Accept-Encoding): what a page's content can depend on.
FORWARDED = ("accept", "accept-language", "referer", "cookie", "origin")
#: The most header bytes one browser request may have.
MAX_HEAD = 64 * 1024
#: Seconds a browser connection may sit idle before the proxy closes it.
IDLE = 60.0
_COPY = 1 << 16
_NO_BODY = re.compile(rb"HTTP/\d\.\d (1\d\d|204|304)")


def is_background_host(host: str) -> bool:
    """Whether ``host`` is one of Chromium's own service hosts (or under one)."""
    host = host.lower().rstrip(".")
    return any(host == h or host.endswith("." + h) for h in BACKGROUND_HOSTS)


class ProxyClient(Protocol):
    """Who the proxy works for: says on whose behalf a URL is fetched, and takes
    each result (it then owns it: writes it and closes it)."""

    def referrer_for(self, url: str) -> str | None:
        """The address a request for ``url`` is made on behalf of (the address
        policy), or None for the page itself."""

    def record(self, result: FetchResult) -> None:
        """Take a fetched result after its bytes went to the browser."""


class _Request:
    def __init__(self, method: str, target: str, version: str,
                 headers: list[tuple[str, str]]) -> None:
        self.method, self.target, self.version, self.headers = method, target, version, headers

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


def _read_request(rfile: BufferedIOBase) -> _Request | None:
    """The next request head on a browser connection; None at its end."""
    line = rfile.readline(MAX_HEAD)
    while line in (b"\r\n", b"\n"):
        line = rfile.readline(MAX_HEAD)
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3:
        return None
    headers: list[tuple[str, str]] = []
    size = len(line)
    while True:
        line = rfile.readline(MAX_HEAD)
        size += len(line)
        if not line or size > MAX_HEAD:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return _Request(parts[0].upper(), parts[1], parts[2], headers)


def _has_length(head: bytes) -> bool:
    return re.search(rb"\r\ncontent-length\s*:", head, re.IGNORECASE) is not None


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def setup(self) -> None:
        self.request.settimeout(IDLE)
        super().setup()

    def handle(self) -> None:
        try:
            self._handle()
        except (OSError, ssl.SSLError) as exc:
            log.debug("proxy connection ended: %s", exc)

    def _handle(self) -> None:
        proxy = self.server.proxy
        first = _read_request(self.rfile)
        if first is None:
            return
        if first.method == "CONNECT":
            host, _, port = first.target.rpartition(":")
            host = host.strip("[]")
            if not host or not port.isdigit() or is_background_host(host):
                proxy.refused(first.target)
                self._refuse(self.wfile, 403, "Forbidden")
                return
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            assert proxy.authority is not None
            tls = proxy.authority.server_context(host).wrap_socket(self.request,
                                                                   server_side=True)
            origin = f"https://{host}" + ("" if port == "443" else f":{port}")
            with tls.makefile("rb") as rfile, tls.makefile("wb") as wfile:
                self._serve(rfile, wfile, origin, None)
            tls.close()
            return
        self._serve(self.rfile, self.wfile, None, first)

    def _serve(self, rfile: BufferedIOBase, wfile: BufferedIOBase, origin: str | None,
               first: _Request | None) -> None:
        """Answer requests on one connection until it ends (or a reply cannot be framed)."""
        proxy = self.server.proxy
        request = first
        while True:
            if request is None:
                request = _read_request(rfile)
                if request is None:
                    return
            url = origin + request.target if origin else request.target
            host = urlsplit(url).hostname or ""
            if not url.lower().startswith(("http://", "https://")) or is_background_host(host):
                proxy.refused(url)
                self._refuse(wfile, 403, "Forbidden")
                return
            if request.method != "GET":
                # (its body is not read: the connection ends with the answer)
                self._refuse(wfile, 501, "Not Implemented")
                return
            if not proxy.forward(url, request, wfile):
                return
            request = None

    @staticmethod
    def _refuse(wfile: BufferedIOBase, status: int, reason: str) -> None:
        body = f"archiver recording proxy: {status} {reason}\n".encode()
        wfile.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        wfile.flush()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: RecordingProxy


class RecordingProxy:
    """A thread-per-connection HTTP(S) proxy on 127.0.0.1 that records through a fetcher."""

    def __init__(self, fetcher: Fetcher, client: ProxyClient,
                 authority: CertificateAuthority | None = None) -> None:
        self.fetcher = fetcher
        self.client = client
        self.authority = authority
        self.refusals: list[str] = []  # what was refused (background hosts), for the record
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="recording-proxy", daemon=True)

    @property
    def address(self) -> str:
        """``http://127.0.0.1:<port>``: the proxy server setting for the browser."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RecordingProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> RecordingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def refused(self, what: str) -> None:
        log.debug("proxy refused %s (browser background traffic)", what)
        with self._lock:
            self.refusals.append(what)

    def forward(self, url: str, request: _Request, wfile: BufferedIOBase) -> bool:
        """Fetch ``url`` for the browser, send it the origin's bytes, hand the result
        on; returns whether the connection can carry another request."""
        sent: Mapping[str, str] = {k: v for k, v in request.headers if k.lower() in FORWARDED}
        result = self.fetcher.fetch(url, requisite_of=self.client.referrer_for(url),
                                    headers=sent, follow=False)
        try:
            keep = _send_result(result, wfile)
        except BaseException:
            self.client.record(result)  # (what was fetched is recorded all the same)
            raise
        self.client.record(result)
        return keep and (request.header("proxy-connection") or "").lower() != "close"


def _send_result(result: FetchResult, wfile: BufferedIOBase) -> bool:
    """Write the origin's exact bytes to the browser (a 502 if nothing came back)."""
    hop = result.final
    if hop is None:
        error = str(result.error) if result.error else "no answer"
        _Handler._refuse(wfile, 502, "Bad Gateway")
        log.info("%s: %s", result.url, error)
        return False
    ex = hop.exchange
    wfile.write(ex.response_head)
    end = ex.body.tell()
    try:
        ex.body.seek(0)
        while data := ex.body.read(_COPY):
            wfile.write(data)
    finally:
        ex.body.seek(end)
    wfile.flush()
    head = ex.response_head
    framed = bool(_NO_BODY.match(head)) or is_chunked(head) or _has_length(head)
    # A body that ends when the connection does (no length, no chunks), or
    # one cut short, can only be delimited by closing.
    return framed and hop.truncated is None
