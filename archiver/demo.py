"""The bundled sample site: its description (``demo_site/site.json``) and a loopback server for it.

:class:`DemoSite` serves ``archiver/demo_site/`` on 127.0.0.1 at an ephemeral
port, exactly as ``site.json`` says: the declared ``Content-Type`` and charset
(or none), ``Content-Length`` for plain pages, real chunked framing around a
gzip body for the chunked page, a 301 for the redirect and 404 for anything
else. ``archiver demo`` captures :meth:`DemoSite.seed_urls` from it; tests use
it to check capture and extraction against known pages. It never listens
beyond loopback and every connection has an idle timeout, so it cannot keep a
process alive.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from importlib.resources.abc import Traversable
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from .version import __version__

__all__ = ["DemoPage", "DemoSite", "load_site"]

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# An idle keep-alive connection is dropped after this many seconds, so a client
# that never closes cannot hold a handler thread (or the process) forever.
IDLE_TIMEOUT = 10.0
MODES = ("plain", "chunked+gzip", "redirect")


@dataclass(frozen=True)
class DemoPage:
    """One served path of the sample site, as ``site.json`` describes it."""

    path: str
    file: str | None
    content_type: str
    charset: str | None
    mode: str
    status: int
    seed: bool
    location: str | None = None
    chunk_size: int = 1000
    encoding: str | None = None
    meta_charset: str | None = None
    article: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def content_type_header(self) -> str:
        """The exact ``Content-Type`` header value the server sends."""
        if self.charset is None:
            return self.content_type
        return f"{self.content_type}; charset={self.charset}"

    def body(self) -> bytes:
        """The file's bytes as stored (before any content-encoding); empty for redirects."""
        if self.file is None:
            return b""
        return (_site_dir() / self.file).read_bytes()


def _site_dir() -> Traversable:
    # A Traversable, not a Path, so the site is found inside a wheel or zip as well as a checkout.
    return resources.files("archiver") / "demo_site"


def load_site() -> list[DemoPage]:
    """Every page of the bundled sample site, in ``site.json`` order."""
    raw = json.loads((_site_dir() / "site.json").read_text(encoding="utf-8"))
    return [_page_from_json(entry) for entry in raw["pages"]]


def _page_from_json(entry: Mapping[str, Any]) -> DemoPage:
    mode = str(entry["mode"])
    if mode not in MODES:
        raise ValueError(f"site.json: {entry['path']}: unknown mode {mode!r}")
    return DemoPage(
        path=str(entry["path"]),
        file=entry.get("file"),
        content_type=str(entry["content_type"]),
        charset=entry.get("charset"),
        mode=mode,
        status=int(entry.get("status", 200)),
        seed=bool(entry.get("seed", False)),
        location=entry.get("location"),
        chunk_size=int(entry.get("chunk_size", 1000)),
        encoding=entry.get("encoding"),
        meta_charset=entry.get("meta_charset"),
        article=entry.get("article"),
    )


@dataclass(frozen=True)
class _Response:
    """A fully prepared answer: status, headers in order, body, and how to frame it."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    chunk_size: int | None = None  # None: Content-Length framing


def _prepare(page: DemoPage, base_url: str) -> _Response:
    if page.mode == "redirect":
        assert page.location is not None
        body = (
            "<!DOCTYPE html>\n<html><head><title>301 Moved Permanently</title></head>\n"
            "<body><h1>Moved Permanently</h1>"
            f'<p><a href="{page.location}">here</a></p></body></html>\n'
        ).encode("ascii")
        headers: tuple[tuple[str, str], ...] = (
            ("Location", base_url + page.location),
            ("Content-Type", page.content_type_header),
            ("Content-Length", str(len(body))),
        )
        return _Response(page.status, headers, body)
    body = page.body()
    if page.mode == "chunked+gzip":
        # mtime=0 keeps the encoded bytes, and so the payload digest, identical run to run.
        encoded = gzip.compress(body, compresslevel=6, mtime=0)
        headers = (
            ("Content-Type", page.content_type_header),
            ("Content-Encoding", "gzip"),
            ("Vary", "Accept-Encoding"),
            ("Transfer-Encoding", "chunked"),
        )
        return _Response(page.status, headers, encoded, chunk_size=page.chunk_size)
    headers = (("Content-Type", page.content_type_header), ("Content-Length", str(len(body))))
    return _Response(page.status, headers, body)


def _not_found() -> _Response:
    body = b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n" \
        b"<body><h1>Not Found</h1></body></html>\n"
    headers = (("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))))
    return _Response(404, headers, body)


class _Handler(BaseHTTPRequestHandler):
    """Answers from the server's prepared responses; never touches the file system."""

    protocol_version = "HTTP/1.1"  # keep-alive and chunked framing need 1.1
    server_version = f"archiver-demo/{__version__}"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: _DemoHTTPServer

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        path = urlsplit(self.path).path
        response = self.server.responses.get(path) or _not_found()
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self._write_body(response)

    def _write_body(self, response: _Response) -> None:
        if response.chunk_size is None:
            self.wfile.write(response.body)
            return
        body, size = response.body, response.chunk_size
        for start in range(0, len(body), size):
            piece = body[start : start + size]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        # The application owns logging: route access lines to our logger, not stderr.
        log.debug("demo site: %s", format % args)


class _DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client must never keep the process alive
    # Fail fast instead of reusing a port another process still holds.
    allow_reuse_address = False
    responses: dict[str, _Response]


class DemoSite:
    """The sample site served on loopback for the life of a ``with`` block.

    >>> with DemoSite() as site:            # doctest: +SKIP
    ...     urls = site.seed_urls()
    """

    def __init__(self, *, host: str = LOOPBACK, port: int = 0) -> None:
        if not host.startswith("127."):
            raise ValueError(f"the demo site only listens on loopback, not {host}")
        self.pages: list[DemoPage] = load_site()
        self._host = host
        self._port = port
        self._server: _DemoHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind and start serving in a daemon thread."""
        if self._server is not None:
            return
        server = _DemoHTTPServer((self._host, self._port), _Handler, bind_and_activate=True)
        self._server = server
        server.responses = {page.path: _prepare(page, self.base_url) for page in self.pages}
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name="archiver-demo-site", daemon=True,
        )
        self._thread.start()
        log.info("demo site serving on %s", self.base_url)

    def stop(self) -> None:
        """Stop serving and close the listening socket (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> DemoSite:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (only while running)."""
        if self._server is None:
            raise RuntimeError("the demo site is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` with no trailing slash."""
        return f"http://{self._host}:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of a site path such as ``/robots.txt``."""
        return self.base_url + path

    def page(self, path: str) -> DemoPage:
        """The page served at ``path``; KeyError if there is none."""
        for page in self.pages:
            if page.path == path:
                return page
        raise KeyError(path)

    def seed_urls(self) -> list[str]:
        """The URLs a demo capture starts from: index, articles, GBK pages, redirect, assets."""
        return [self.url(page.path) for page in self.pages if page.seed]
