"""The recording proxy and the archive's certificate authority, used by plain HTTP clients.

Real servers on loopback, a real proxy on loopback; the browser comes in
test_browser.py. What each test checks: the client receives exactly the
bytes the origin sent, the fetcher's result holds them too, HTTPS works
through the archive's own authority while the origin's real certificate is
verified (and recorded), and Chromium's background hosts are refused
without a fetch.
"""

from __future__ import annotations

import socket
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path

import http_scripts as hs
import pytest
import requests
from servers import HTTPTestServer, RawServer

pytest.importorskip("cryptography", reason="needs the browser extra: "
                    "pip install 'archiver[browser]'")

from archiver.capture.authority import CA_DIR, CertificateAuthority
from archiver.capture.fetcher import Fetcher, FetchResult
from archiver.capture.proxy import RecordingProxy, is_background_host
from archiver.capture.settings import CaptureSettings
from archiver.errors import FailureReason


class Collect:
    """A proxy client that keeps every result (closed at the end of the test)."""

    def __init__(self, referrer: str | None = None) -> None:
        self.referrer = referrer
        self.results: list[FetchResult] = []

    def referrer_for(self, url: str) -> str | None:
        return self.referrer

    def record(self, result: FetchResult) -> None:
        self.results.append(result)


@pytest.fixture
def authority(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path / "manifests")


def _proxy(client: Collect, authority: CertificateAuthority, **settings: object
           ) -> RecordingProxy:
    fetcher = Fetcher(CaptureSettings(delay=0, retries=0, **settings))  # type: ignore[arg-type]
    return RecordingProxy(fetcher, client, authority)


@pytest.fixture
def collected() -> Iterator[Collect]:
    client = Collect()
    yield client
    for result in client.results:
        result.close()


def _raw_get(proxy: RecordingProxy, url: str) -> bytes:
    """One GET through the proxy on a raw socket; every byte the proxy sends back."""
    port = int(proxy.address.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        host = url.split("/")[2]
        sock.sendall(f"GET {url} HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\n"
                     "Proxy-Connection: close\r\n\r\n".encode())
        out = bytearray()
        while data := sock.recv(65536):
            out += data
    return bytes(out)


def test_http_through_the_proxy_is_the_origins_exact_bytes(
        raw: RawServer, authority: CertificateAuthority, collected: Collect) -> None:
    body = b"<p>Reporters found the detention site from satellite images.</p>" * 50
    raw.script("/story", hs.gzip_chunked(body, chunk_size=100))
    with _proxy(collected, authority) as proxy:
        got = _raw_get(proxy, raw.url("/story"))
    (exchange,) = raw.exchanges
    assert got == bytes(exchange.sent)  # chunk framing and gzip untouched
    assert b"Transfer-Encoding: chunked" in got and b"Content-Encoding: gzip" in got
    (result,) = collected.results
    hop = result.final
    assert hop is not None and result.error is None
    hop.exchange.body.seek(0)
    assert hop.exchange.response_head + hop.exchange.body.read() == got
    # The request on the wire is archiver's (its User-Agent), with the browser's Accept.
    assert b"User-Agent: archiver/" in exchange.request
    assert b"Accept: text/html" in exchange.request
    assert exchange.request.startswith(b"GET /story HTTP/1.1\r\n")


def test_requests_through_the_proxy_and_redirects_left_to_the_client(
        web: HTTPTestServer, authority: CertificateAuthority, collected: Collect) -> None:
    web.route("/old", b"")
    web.redirect_chain("/old", 1, b"<p>moved</p>")
    with _proxy(collected, authority) as proxy:
        got = requests.get(web.url("/old"), proxies={"http": proxy.address}, timeout=10)
    assert got.text == "<p>moved</p>" and [r.status_code for r in got.history] == [302]
    # Two requests from the client, two results: the proxy followed nothing itself.
    assert [r.url for r in collected.results] == [web.url("/old"), web.url("/old/1")]
    assert [r.final.status for r in collected.results if r.final] == [302, 200]


def test_https_through_the_proxy_with_the_archives_authority(
        tmp_path: Path, tls_site: tuple[str, Path], authority: CertificateAuthority,
        collected: Collect) -> None:
    base, origin_cert = tls_site
    with _proxy(collected, authority, ca_bundle=str(origin_cert)) as proxy:
        got = requests.get(base + "/secure", proxies={"https": proxy.address},
                           verify=str(authority.cert_path), timeout=10)
    assert got.status_code == 200
    assert got.text == "<p>Kazakh traders detained in Dorbiljin.</p>"
    (result,) = collected.results
    assert result.url == base + "/secure" and result.error is None
    # The origin's real certificate, as verified by the fetcher, not the proxy's.
    hop = result.final
    assert hop is not None
    der = ssl.PEM_cert_to_DER_cert(origin_cert.read_text())
    assert hop.exchange.peer_certs == [der]
    assert hop.exchange.request.startswith(b"GET /secure HTTP/1.1\r\n")
    # The authority's key is private to the archive's owner.
    key = tmp_path / "manifests" / CA_DIR / "ca-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_the_proxy_verifies_the_origin_certificate_itself(
        tls_site: tuple[str, Path], authority: CertificateAuthority,
        collected: Collect) -> None:
    base, _ = tls_site  # the origin's self-signed certificate is trusted by no one here
    with _proxy(collected, authority) as proxy:
        got = requests.get(base + "/secure", proxies={"https": proxy.address},
                           verify=str(authority.cert_path), timeout=10)
    assert got.status_code == 502
    (result,) = collected.results
    assert result.error is not None and result.error.reason == FailureReason.TLS
    assert "CERTIFICATE_VERIFY_FAILED" in str(result.error)


def test_background_hosts_are_refused_unsent_and_unrecorded(
        authority: CertificateAuthority, collected: Collect) -> None:
    assert is_background_host("update.googleapis.com")
    assert is_background_host("r3---sn-4g5e6nz7.gvt1.com")
    assert not is_background_host("fonts.googleapis.com")
    with _proxy(collected, authority) as proxy:
        port = int(proxy.address.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"CONNECT safebrowsing.googleapis.com:443 HTTP/1.1\r\n"
                         b"Host: safebrowsing.googleapis.com:443\r\n\r\n")
            answer = sock.recv(4096)
        plain = _raw_get(proxy, "http://clients2.google.com/service/update2")
        refusals = list(proxy.refusals)
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert plain.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert collected.results == []  # nothing fetched, nothing to record
    assert refusals == ["safebrowsing.googleapis.com:443",
                        "http://clients2.google.com/service/update2"]


def test_a_public_pages_browser_may_not_reach_a_private_address(
        web: HTTPTestServer, authority: CertificateAuthority) -> None:
    web.route("/internal", b"secret")
    client = Collect(referrer="93.184.216.34")  # the page came from a public address
    try:
        with _proxy(client, authority) as proxy:
            got = _raw_get(proxy, web.url("/internal"))
        assert got.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
        (result,) = client.results
        assert result.error is not None
        assert result.error.reason == FailureReason.PRIVATE_REQUISITE
        assert web.hits("/internal") == 0  # refused before a byte was sent
    finally:
        for result in client.results:
            result.close()
