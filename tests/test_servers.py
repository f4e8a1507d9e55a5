"""The test servers do what they say (checked with plain sockets and http.client)."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import itertools
import socket
import time
from collections.abc import Callable

import http_scripts as hs
import pytest
from servers import HTTPTestServer, RawServer, Response, retry_after
from warcassert import dechunk, split_chunked


def fetch(server: HTTPTestServer | RawServer, path: str, *, method: str = "GET",
          timeout: float = 5.0) -> tuple[bytes, BaseException | None]:
    """Send one request on a fresh socket; return everything received and how it ended."""
    received = bytearray()
    error: BaseException | None = None
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        try:
            while data := sock.recv(65536):
                received += data
        except OSError as exc:
            error = exc
    return bytes(received), error


def http_get(server: HTTPTestServer, path: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        conn.request("GET", path, headers={"User-Agent": "t/1"})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


# ------------------------------------------------------------------ HTTP server


def test_routes_sequences_and_hits(web: HTTPTestServer) -> None:
    web.route("/flaky", retry_after(503, 2), Response(429, headers=(("Retry-After", "0"),)),
                      "fine")
    statuses = [http_get(web, "/flaky")[0] for _ in range(4)]
    assert statuses == [503, 429, 200, 200]
    assert web.hits("/flaky") == 4
    assert http_get(web, "/nothing")[0] == 404
    assert web.requests[0].headers["User-Agent"] == "t/1"


def test_retry_after_header(web: HTTPTestServer) -> None:
    web.route("/busy", retry_after(503, 7))
    status, headers, _ = http_get(web, "/busy")
    assert (status, headers["Retry-After"]) == (503, "7")


def test_gzip_and_delay(web: HTTPTestServer) -> None:
    web.route("/z", Response(body=b"hello " * 100, gzip=True, delay=0.3))
    started = time.monotonic()
    _status, headers, body = http_get(web, "/z")
    assert time.monotonic() - started >= 0.3
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Content-Length"] == str(len(body))
    assert gzip.decompress(body) == b"hello " * 100


def test_redirect_chain_and_loop(web: HTTPTestServer) -> None:
    urls = web.redirect_chain("/r", 3, "done")
    assert len(urls) == 4
    for here, there in itertools.pairwise(urls):
        status, headers, _ = http_get(web, here.removeprefix(web.base_url))
        assert (status, headers["Location"]) == (302, there)
    assert http_get(web, "/r/3")[2] == b"done"
    web.redirect_loop("/a", "/b")
    assert http_get(web, "/b")[1]["Location"] == web.url("/a")
    assert http_get(web, "/a")[1]["Location"] == web.url("/b")


def test_extra_loopback_hosts(loopback_hosts: tuple[str, ...],
                              make_http_server: Callable[..., HTTPTestServer]) -> None:
    for host in loopback_hosts:
        server = make_http_server(host)
        server.route("/", host)
        assert server.base_url.startswith(f"http://{host}:")
        assert http_get(server, "/")[2] == host.encode()


def test_stop_does_not_wait_for_a_delayed_response() -> None:
    server = HTTPTestServer().start()
    server.route("/slow", Response(body=b"x", delay=30))
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.1)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2


def test_stop_ends_idle_keep_alive_connections() -> None:
    server = HTTPTestServer().start()
    server.route("/", "x")
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        reply = b""
        while not reply.endswith(b"\r\n\r\nx") and (data := sock.recv(65536)):
            reply += data
        assert reply.endswith(b"\r\n\r\nx")
        started = time.monotonic()
        server.stop()
        assert sock.recv(65536) == b""  # EOF at once, not after the idle timeout
        assert time.monotonic() - started < 1


# ------------------------------------------------------------------ raw server


def test_ok_records_request_and_exact_bytes(raw: RawServer) -> None:
    raw.script("/p", hs.ok(b"<p>hi</p>"))
    received, error = fetch(raw, "/p?q=1")
    assert error is None
    ex = raw.exchanges_for("/p")[0].wait()
    assert received == bytes(ex.sent) and ex.outcome == "closed"
    assert ex.request.startswith(b"GET /p?q=1 HTTP/1.1\r\n")
    assert received.endswith(b"\r\n\r\n<p>hi</p>") and b"Content-Length: 9" in received


def test_unscripted_path_is_404_and_scripts_play_in_turn(raw: RawServer) -> None:
    assert fetch(raw, "/x")[0].startswith(b"HTTP/1.1 404 ")
    raw.script("/retry", hs.reset_before_headers(), hs.ok(b"second"))
    first, error = fetch(raw, "/retry")
    assert first == b"" and isinstance(error, ConnectionResetError)
    assert fetch(raw, "/retry")[0].endswith(b"second")
    assert raw.hits("/retry") == 2


def test_chunked_with_extensions_and_trailers(raw: RawServer) -> None:
    raw.script("/c", hs.chunked([b"hello ", b"chunked ", b"world"],
                                       extensions=["a=1", None, 'name="quoted"'],
                                       trailers=[("X-Checksum", "abc")]))
    received, _ = fetch(raw, "/c")
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Trailer: X-Checksum" in head
    assert body.startswith(b"6;a=1\r\nhello \r\n8\r\nchunked \r\n5;name=\"quoted\"\r\n")
    payload, trailer = split_chunked(body)
    assert payload == b"hello chunked world"
    assert trailer == b"X-Checksum: abc\r\n\r\n"
    assert received == raw.sent("/c")


def test_gzip_chunked(raw: RawServer) -> None:
    text = b"<p>" + b"Xinjiang " * 2000 + b"</p>"
    raw.script("/gz", hs.gzip_chunked(text, chunk_size=100))
    received, _ = fetch(raw, "/gz")
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"Content-Encoding: gzip" in head
    assert gzip.decompress(dechunk(body)) == text


def test_truncated_body_then_close(raw: RawServer) -> None:
    raw.script("/t", hs.truncated(b"only part", 100))
    received, error = fetch(raw, "/t")
    assert error is None and b"Content-Length: 100" in received
    assert received.endswith(b"\r\n\r\nonly part")


@pytest.mark.parametrize("script", [hs.headers_then_stall(), hs.stall_mid_body(b"x" * 50, 10)],
                         ids=["after-head", "mid-body"])
def test_stalls_hold_the_socket_until_stop(script: hs.Script) -> None:
    server = RawServer().start()
    server.script("/s", script)
    received, error = fetch(server, "/s", timeout=0.5)
    assert isinstance(error, TimeoutError) and received.startswith(b"HTTP/1.1 200 OK")
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    assert server.exchanges_for("/s")[0].wait(1).outcome == "stopped"


def test_slow_drip_never_goes_quiet(raw: RawServer) -> None:
    raw.script("/d", hs.slow_drip(b"0123456789", interval=0.05))
    started = time.monotonic()
    received, error = fetch(raw, "/d", timeout=0.5)  # 0.5 s read timeout never fires
    assert error is None and received.endswith(b"\r\n\r\n0123456789")
    assert time.monotonic() - started >= 0.45


def test_reset_after_headers_and_mid_body(raw: RawServer) -> None:
    raw.script("/h", hs.reset_after_headers())
    raw.script("/m", hs.reset_mid_body(b"y" * 100, 40))
    for path in ("/h", "/m"):
        _, error = fetch(raw, path)
        assert isinstance(error, ConnectionResetError)
        ex = raw.exchanges_for(path)[0].wait()
        assert ex.outcome == "reset"
    assert raw.sent("/m").endswith(b"\r\n\r\n" + b"y" * 40)


def test_malformed_status_line_and_garbage(raw: RawServer) -> None:
    raw.script("/bad", hs.malformed_status_line())
    raw.script("/junk", hs.garbage())
    conn = http.client.HTTPConnection(raw.host, raw.port, timeout=5)
    try:
        conn.request("GET", "/bad")
        with pytest.raises(http.client.BadStatusLine):
            conn.getresponse()
    finally:
        conn.close()
    received, _ = fetch(raw, "/junk")
    assert received.startswith(b"SSH-2.0") and received == raw.sent("/junk")


def test_huge_body_is_streamed_and_digested(make_raw_server: Callable[..., RawServer]) -> None:
    server = make_raw_server(record_limit=1024)
    size = 5 << 20
    server.script("/big", hs.huge_body(size))
    server.script("/bigc", hs.huge_body(size, chunk=True))
    received, _ = fetch(server, "/big")
    ex = server.exchanges_for("/big")[0].wait()
    assert len(received.partition(b"\r\n\r\n")[2]) == size
    assert ex.sent_length == len(received) and len(ex.sent) == 1024
    assert ex.sent_sha256 == hashlib.sha256(received).hexdigest()
    body = fetch(server, "/bigc")[0].partition(b"\r\n\r\n")[2]
    assert len(dechunk(body)) == size


def test_client_that_hangs_up_mid_body(raw: RawServer) -> None:
    raw.script("/big", hs.huge_body(50 << 20))
    with socket.create_connection((raw.host, raw.port), timeout=5) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        sock.recv(65536)
    ex = raw.exchanges_for("/big")[0].wait()
    assert ex.outcome == "client-gone" and ex.sent_length < (50 << 20)


def test_bad_charset_body(raw: RawServer) -> None:
    raw.script("/cs", hs.bad_charset())
    received, _ = fetch(raw, "/cs")
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"charset=utf-8" in head and body == hs.BAD_UTF8_BODY
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
