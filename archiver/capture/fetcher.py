"""Fetching one URL: redirects, retries, timeouts, size caps, and what went wrong.

:class:`Fetcher` turns a URL into a :class:`FetchResult`: the list of
:class:`Hop` exchanges it took (each redirect is its own hop, archived as its
own request/response pair) and, if it failed, a :class:`FetchError` with a
short ``reason`` code. It never writes anything; :mod:`archiver.capture.run`
decides what goes into the WARC.

Bodies are streamed with ``stream=True`` and read raw (``decode_content=False``):
the payload digest is computed over the de-chunked, still content-encoded
bytes while the wire recorder (:mod:`archiver.capture.wire`) spools the exact bytes.
"""

from __future__ import annotations

import email.utils
import http.client
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.cookies import extract_cookies_to_jar

from ..errors import FailureReason, FetchError, InvalidURLError
from ..warc.digester import is_chunked
from .netpolicy import PeerCheck, PrivateAddressRefused
from .settings import CaptureSettings
from .wire import DeadlineExceeded, Exchange, RecordingAdapter

__all__ = ["UNREACHABLE_REASONS", "Credentials", "FetchResult", "Fetcher", "Hop", "HostGate",
           "accept_encoding", "split_credentials", "validate_url", "wire_url",
           "without_userinfo"]

log = logging.getLogger(__name__)

READ_SIZE = 1 << 16
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_SPACE = re.compile(r"\s")
RETRYABLE_REASONS = frozenset({FailureReason.REFUSED, FailureReason.RESET, FailureReason.TIMEOUT,
                               FailureReason.CONNECT_TIMEOUT})
# Failures that say the host cannot be reached at all, whatever the URL.
UNREACHABLE_REASONS = frozenset({FailureReason.DNS, FailureReason.REFUSED,
                                 FailureReason.CONNECT_TIMEOUT, FailureReason.TLS})


def validate_url(url: str) -> str:
    """``url`` stripped and without its #fragment (never sent, so never archived),
    or :class:`InvalidURLError` saying what is wrong (naming the URL without
    any password it holds). A ``user:password@`` is kept: see :func:`split_credentials`."""
    url = url.strip()
    named = without_userinfo(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidURLError(named, f"not a valid URL ({exc}); check for typos") from exc
    if parts.scheme.lower() not in ("http", "https"):
        what = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        raise InvalidURLError(named, f"unsupported URL ({what}); only http:// and https:// URLs")
    if not parts.hostname:
        raise InvalidURLError(named, "URL has no host name")
    if _SPACE.search(url):
        raise InvalidURLError(named, "URL contains white space; percent-encode it")
    return urldefrag(url).url


_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@]*@")


def without_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` removed: the form recorded and printed."""
    return _USERINFO.sub(r"\1", url, count=1)


Origin = tuple[str, str, int]


def _origin(url: str) -> Origin:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


@dataclass(frozen=True)
class Credentials:
    """HTTP Basic credentials a URL carried, and the one origin they are sent to.

    They are sent (as ``Authorization``, kept in the WARC's request record as
    evidence of what was requested) to the URL's own scheme, host and port,
    redirects there included, never elsewhere; no URI, catalog row or message
    holds them.
    """

    user: str
    password: str = field(repr=False)
    origin: Origin

    def for_url(self, url: str) -> tuple[str, str] | None:
        """``(user, password)`` if ``url`` is on the credentials' origin."""
        return (self.user, self.password) if _origin(url) == self.origin else None


def split_credentials(url: str) -> tuple[str, Credentials | None]:
    """``url`` without its userinfo, and the credentials that userinfo held (if any)."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    clean = without_userinfo(url)
    return clean, Credentials(unquote(parts.username), unquote(parts.password or ""),
                              _origin(clean))


def accept_encoding() -> str:
    """The content-codings we ask for: only those ``archiver extract`` can decode.

    requests would offer whatever this machine can decode (zstd too, with
    zstandard installed or on Python 3.14), and a page captured in a coding
    we cannot read back is evidence we cannot use.
    """
    try:
        import brotli  # type: ignore[import-untyped]  # noqa: F401 - optional extra
    except ImportError:
        return "gzip, deflate"
    return "gzip, deflate, br"


def wire_url(url: str) -> str:
    """``url`` as requests puts it on the wire: IDN host in punycode, non-ASCII
    and spaces percent-encoded. WARC-Target-URI must be a URI, not an IRI."""
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except (requests.RequestException, UnicodeError, ValueError):
        return url
    return prepared.url or url


@dataclass
class Hop:
    """One HTTP exchange as received, ready to archive."""

    url: str
    exchange: Exchange
    date: datetime
    status: int
    reason: str
    location: str | None
    elapsed: float
    ttfb: float
    attempts: int
    truncated: str | None = None  # WARC-Truncated value: length, time, disconnect

    @property
    def block_sha256(self) -> bytes:
        return self.exchange.digests()[0]

    @property
    def payload_sha256(self) -> bytes:
        return self.exchange.digests()[1]

    @property
    def payload_size(self) -> int:
        return self.exchange.digests()[2]


@dataclass
class FetchResult:
    """Every hop taken for one URL, and the error if it failed."""

    url: str
    started: datetime
    hops: list[Hop] = field(default_factory=list)
    error: FetchError | None = None
    elapsed: float = 0.0

    @property
    def final(self) -> Hop | None:
        return self.hops[-1] if self.hops else None

    def close(self) -> None:
        for hop in self.hops:
            hop.exchange.close()


class HostGate:
    """Per-host politeness: at least ``delay`` seconds between requests to a host."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                due = self._next.get(host, 0.0)
                if now >= due:
                    self._next[host] = now + self.delay
                    return
            time.sleep(min(due - now, 1.0))


class Fetcher:
    """Fetches URLs per :class:`CaptureSettings`; one requests session per thread."""

    def __init__(self, settings: CaptureSettings, gate: HostGate | None = None) -> None:
        self.settings = settings
        self.gate = gate or HostGate(settings.delay)
        self.policy = settings.address_policy()
        self._local = threading.local()

    def _session(self) -> tuple[requests.Session, RecordingAdapter]:
        if not hasattr(self._local, "session"):
            session = requests.Session()
            session.trust_env = False  # no proxies or netrc from the environment
            adapter = RecordingAdapter()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update({"User-Agent": self.settings.user_agent,
                                    "Accept-Encoding": accept_encoding()})
            session.headers.update(dict(self.settings.extra_headers))
            self._local.session, self._local.adapter = session, adapter
        return self._local.session, self._local.adapter

    def close(self) -> None:
        if hasattr(self._local, "session"):
            self._local.session.close()

    def fetch(self, url: str, credentials: Credentials | None = None, *,
              requisite_of: str | None = None, headers: Mapping[str, str] | None = None,
              follow: bool = True) -> FetchResult:
        """Fetch ``url`` following redirects; never raises for network failures.

        A ``user:password@`` in ``url`` is taken out of it (the result names
        the URL without it) and used as ``credentials``. ``requisite_of`` is
        the address of the page ``url`` is a requisite of: if that page is
        public, ``url`` may not lead to a private address (the address policy).
        ``headers`` are sent besides the session's (the browser's Accept,
        Referer, Cookie, through the recording proxy); with ``follow`` false a
        redirect is the answer, as a browser wants it.
        """
        url, found = split_credentials(url)
        result = FetchResult(url=url, started=datetime.now(UTC))
        t0 = time.monotonic()
        check = self.policy.on_behalf_of(requisite_of, FailureReason.PRIVATE_REQUISITE)
        try:
            self._follow(result, credentials or found, check, headers, follow)
        except FetchError as exc:
            result.error = exc
        result.elapsed = time.monotonic() - t0
        return result

    def _follow(self, result: FetchResult, credentials: Credentials | None,
                check: PeerCheck | None, headers: Mapping[str, str] | None = None,
                follow: bool = True) -> None:
        current, seen = result.url, {result.url}  # (a seed is fetched as given: no check)
        while True:
            hop = self._with_retries(current, credentials.for_url(current) if credentials else None,
                                     check, headers)
            result.hops.append(hop)
            if hop.truncated and hop.truncated != "length":
                raise _truncation_error(hop)
            if hop.status in REDIRECT_STATUSES and hop.location and follow:
                current = self._next_hop(result, current, hop.location, seen)
                check = self.policy.on_behalf_of(hop.exchange.peer_ip)
                continue
            if hop.status >= 400:
                raise FetchError(hop.url, FailureReason.HTTP_ERROR,
                                 f"HTTP {hop.status} {hop.reason}".strip())
            if hop.truncated == "length":
                log.warning("%s: body cut at the size cap of %d bytes", hop.url,
                            self.settings.max_bytes)
            return

    def _next_hop(self, result: FetchResult, current: str, location: str, seen: set[str]) -> str:
        # A userinfo in a Location is neither recorded nor sent: the redirect
        # goes to the URL without it (credentials reach their own origin only).
        target = without_userinfo(urljoin(current, location))
        try:
            validate_url(target)
        except InvalidURLError as exc:
            raise FetchError(current, FailureReason.MALFORMED,
                             f"redirect to an unusable URL: {exc}") from exc
        if target in seen:
            raise FetchError(result.url, FailureReason.REDIRECT_LOOP,
                             f"redirect loop back to {target}")
        if len(result.hops) > self.settings.max_redirects:
            raise FetchError(
                result.url,
                FailureReason.TOO_MANY_REDIRECTS,
                f"more than {self.settings.max_redirects} redirects (last to {target})",
            )
        seen.add(target)
        return target

    def _with_retries(self, url: str, auth: tuple[str, str] | None = None,
                      check: PeerCheck | None = None,
                      headers: Mapping[str, str] | None = None) -> Hop:
        attempt = 0
        while True:
            attempt += 1
            retry_in: float | None = None
            try:
                hop = self._exchange(url, attempt, auth, check, headers)
            except FetchError as exc:
                if exc.reason not in RETRYABLE_REASONS or attempt > self.settings.retries:
                    raise
                retry_in = self._backoff(attempt)
                log.info("%s: %s; retry %d in %.1fs", url, exc, attempt, retry_in)
            else:
                retry_in = self._retry_delay(hop, attempt)
                if retry_in is None:
                    return hop
                log.info("%s: HTTP %d; retry %d in %.1fs", url, hop.status, attempt, retry_in)
                hop.exchange.close()
            time.sleep(retry_in)

    def _backoff(self, attempt: int) -> float:
        s = self.settings
        return float(min(s.max_backoff, s.backoff * (2 ** (attempt - 1))))

    def _retry_delay(self, hop: Hop, attempt: int) -> float | None:
        """Seconds to wait before retrying ``hop``, or None to keep it."""
        broken = isinstance(hop.exchange.error, FetchError) and \
            hop.exchange.error.reason == FailureReason.MALFORMED
        retryable = hop.status in RETRY_STATUSES or (
            hop.truncated in ("time", "disconnect") and not broken
        )
        if not retryable or attempt > self.settings.retries:
            return None
        asked = _retry_after(hop.exchange.response_head)
        if asked is None:
            return self._backoff(attempt)
        if asked > self.settings.max_retry_after:
            return None  # the server asks for longer than we may wait: keep this answer
        return asked

    def _exchange(self, url: str, attempt: int, auth: tuple[str, str] | None,
                  check: PeerCheck | None, headers: Mapping[str, str] | None = None) -> Hop:
        try:
            return self._send(url, attempt, auth, check, headers)
        except _StaleConnection:
            # A kept-alive connection the server closed just as we reused it
            # (its idle timeout raced our request): nothing was answered, the
            # GET is safe to repeat, and it is no fault of the server's, so
            # try once more on a fresh connection, at once and uncounted.
            log.info("%s: kept-alive connection closed by the server; reconnecting", url)
            return self._send(url, attempt, auth, check, headers, fresh=True)

    def _send(self, url: str, attempt: int, auth: tuple[str, str] | None,
              check: PeerCheck | None, headers: Mapping[str, str] | None = None, *,
              fresh: bool = False) -> Hop:
        s = self.settings
        session, adapter = self._session()
        if not fresh:
            self.gate.wait(urlsplit(url).hostname or "")
        exchange = Exchange(time.monotonic() + s.deadline)
        exchange.peer_check = check
        adapter.next_exchange = exchange
        date = datetime.now(UTC)
        t0 = time.monotonic()
        try:
            # Through the adapter, not Session.send: the session would read a
            # redirect's whole body into memory before we see it (no size cap).
            # A bare PreparedRequest: Session.prepare_request would copy the
            # cookie jar and merge settings on every request.
            prepared = requests.PreparedRequest()
            sent = {**session.headers, **headers} if headers else session.headers
            prepared.prepare(method="GET", url=url, headers=sent, auth=auth,
                             cookies=session.cookies)
            resp = adapter.send(prepared, stream=True, verify=s.ca_bundle or True,
                                timeout=(s.connect_timeout, s.read_timeout))
            extract_cookies_to_jar(session.cookies, prepared, resp.raw)  # type: ignore[no-untyped-call]
        except Exception as exc:
            exchange.close()
            err = classify(url, exc, exchange)
            stale = exchange.reused and not exchange.received_anything and not fresh
            if err.reason == FailureReason.RESET and stale:
                raise _StaleConnection from exc
            raise err from exc
        ttfb = time.monotonic() - t0
        try:
            truncated = self._read_body(resp, exchange)
        finally:
            resp.close()
        return Hop(
            # The URL as requested on the wire (IDN host in punycode, non-ASCII
            # percent-encoded): a WARC-Target-URI must be a URI.
            url=prepared.url or url,
            exchange=exchange,
            date=date,
            status=resp.status_code,
            reason=resp.reason or "",
            location=_header_text(resp.headers.get("Location")),
            elapsed=time.monotonic() - t0,
            ttfb=ttfb,
            attempts=attempt,
            truncated=truncated,
        )

    def _read_body(self, resp: requests.Response, exchange: Exchange) -> str | None:
        """Read the body to its end or the size cap; returns the WARC-Truncated reason.

        The wire recorder keeps the bytes; digests are computed from them later.
        """
        cap = self.settings.max_bytes
        size = 0
        try:
            for data in _raw_chunks(resp, cap):
                size += len(data)
            if size >= cap:
                # Probe one more byte; if there is one, cut the record back to
                # before the probe, so it holds exactly ``cap`` payload bytes.
                mark = exchange.body_size
                if resp.raw.read(1, decode_content=False):
                    exchange.cut_body(mark)
                    return "length"
        except Exception as exc:
            err = classify(resp.url, exc, exchange)
            bad = _bad_chunk_size(exchange) if err.reason == FailureReason.RESET else None
            if bad is not None:  # not a reset: the framing itself is broken
                err = FetchError(resp.url, FailureReason.MALFORMED,
                                 f"malformed HTTP response: chunk size {bad!r} is negative "
                                 "or too large")
            exchange.error = err
            timed_out = err.reason in (FailureReason.TIMEOUT, FailureReason.DEADLINE)
            return "time" if timed_out else "disconnect"
        return None


class _StaleConnection(Exception):
    """A reused connection closed before any byte of the answer arrived."""


_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]+")


def _bad_chunk_size(exchange: Exchange) -> str | None:
    """The first chunk-size of a chunked body that is negative, not hex, or 2**63 or more
    (what overflows a signed 64-bit length), from the bytes received; None if none is.

    http.client reads such a size as a huge (or negative) length and then
    fails as if the connection had been cut; it is the framing that is wrong.
    """
    if not is_chunked(exchange.response_head):
        return None
    body = exchange.body
    end = body.tell()
    try:
        body.seek(0)
        while line := body.readline(1024):
            text = line.split(b";", 1)[0].strip()
            if not text:
                return None  # the body ended (or a trailer): nothing wrong seen
            if not _CHUNK_SIZE.fullmatch(text) or int(text, 16) >= 1 << 63:
                return text.decode("latin-1")
            size = int(text, 16)
            if size == 0:
                return None
            body.seek(size + 2, 1)
        return None
    finally:
        body.seek(end)


def _header_text(value: str | None) -> str | None:
    """A header value as text: http.client decodes header bytes as latin-1, but
    servers send non-ASCII Locations in UTF-8 (as requests assumes too)."""
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _raw_chunks(resp: requests.Response, cap: int) -> Iterator[bytes]:
    size = 0
    while size < cap:
        data = resp.raw.read(min(READ_SIZE, cap - size), decode_content=False)
        if not data:
            return
        size += len(data)
        yield data


def _truncation_error(hop: Hop) -> FetchError:
    err = hop.exchange.error
    if isinstance(err, FetchError):
        return FetchError(hop.url, err.reason, f"body incomplete ({err.message})")
    return FetchError(hop.url, FailureReason.RESET, "body incomplete")


def _retry_after(head: bytes) -> float | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() != b"retry-after":
            continue
        text = value.strip().decode("latin-1")
        if text.isdigit():
            return float(text)
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps (causes, contexts, urllib3 reasons, args)."""
    todo, seen = [exc], set()
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        for nxt in (e.__cause__, e.__context__, getattr(e, "reason", None), *e.args):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def classify(url: str, exc: BaseException, exchange: Exchange | None = None) -> FetchError:
    """Map any exception from a fetch to a :class:`FetchError` with a reason code."""
    causes = list(_causes(exc))
    refused = next((c for c in causes if isinstance(c, PrivateAddressRefused)), None)
    if refused is not None:
        return FetchError(url, refused.reason, str(refused))
    if (exchange is not None and exchange.deadline_hit) or _has(causes, DeadlineExceeded):
        return FetchError(url, FailureReason.DEADLINE, "total deadline exceeded")
    if _has(causes, urllib3.exceptions.NameResolutionError, socket.gaierror):
        return FetchError(url, FailureReason.DNS, "host name not found (DNS); check the URL")
    if _has(causes, ssl.SSLError, urllib3.exceptions.SSLError, requests.exceptions.SSLError):
        return FetchError(url, FailureReason.TLS, f"TLS error: {_first_line(exc)}")
    if _has(causes, ConnectionRefusedError):
        return FetchError(url, FailureReason.REFUSED, "connection refused; is the server up?")
    if _has(causes, requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError):
        return FetchError(url, FailureReason.CONNECT_TIMEOUT, "connect timed out")
    if _has(causes, requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError,
            TimeoutError):
        return FetchError(url, FailureReason.TIMEOUT, "server stalled: read timed out")
    if _has(causes, http.client.RemoteDisconnected):
        # (a BadStatusLine too, but nothing malformed was received: no answer at all)
        return FetchError(url, FailureReason.RESET,
                          "server closed the connection without answering")
    if _has(causes, http.client.BadStatusLine, http.client.LineTooLong,
            urllib3.exceptions.HeaderParsingError, urllib3.exceptions.InvalidChunkLength,
            urllib3.exceptions.InvalidHeader, http.client.UnknownProtocol) or any(
                isinstance(c, http.client.HTTPException)
                and not isinstance(c, http.client.IncompleteRead) for c in causes):
        # The last test catches http.client's bare HTTPExceptions, such as
        # "got more than 100 headers".
        return FetchError(url, FailureReason.MALFORMED,
                          f"malformed HTTP response: {_malformed_detail(causes)}")
    if _has(causes, ConnectionResetError, http.client.IncompleteRead,
            urllib3.exceptions.ProtocolError, BrokenPipeError):
        return FetchError(url, FailureReason.RESET,
                          "connection reset or closed early by the server")
    if _has(causes, requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema):
        return FetchError(url, FailureReason.INVALID, f"invalid URL: {_first_line(exc)}")
    return FetchError(url, FailureReason.IO, f"{type(exc).__name__}: {_first_line(exc)}")


def _malformed_detail(causes: list[BaseException]) -> str:
    # The innermost parser error says what was wrong; urllib3's wrappers only
    # say "Connection aborted".
    for cause in causes:
        if isinstance(cause, (http.client.HTTPException, urllib3.exceptions.HTTPError)) and \
                not isinstance(cause, urllib3.exceptions.ProtocolError):
            return _first_line(cause)
    return _first_line(causes[0])


def _has(causes: list[BaseException], *types: type[BaseException]) -> bool:
    return any(isinstance(c, types) for c in causes)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
