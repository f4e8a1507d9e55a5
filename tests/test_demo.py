"""archiver.demo serves the sample site exactly as site.json says, on loopback."""

from __future__ import annotations

import gzip
import http.client
import socket

import pytest
from warcassert import split_chunked

from archiver.demo import DemoPage, DemoSite, load_site


def raw_get(site: DemoSite, path: str) -> bytes:
    """The exact bytes the server sends for one GET with Connection: close."""
    with socket.create_connection(("127.0.0.1", site.port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def get(site: DemoSite, path: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


PLAIN = [p for p in load_site() if p.mode == "plain"]


@pytest.mark.parametrize("page", PLAIN, ids=lambda p: p.path)
def test_plain_pages_have_their_bytes_type_and_length(demo_site: DemoSite, page: DemoPage) -> None:
    status, headers, body = get(demo_site, page.path)
    assert status == 200
    assert body == page.body()
    assert headers["Content-Type"] == page.content_type_header
    assert headers["Content-Length"] == str(len(body))
    assert "Transfer-Encoding" not in headers


def test_chunked_gzip_page_is_really_chunked_and_gzipped(demo_site: DemoSite) -> None:
    page = next(p for p in demo_site.pages if p.mode == "chunked+gzip")
    raw = raw_get(demo_site, page.path)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in head
    assert b"\r\nContent-Encoding: gzip" in head
    assert b"Content-Length" not in head
    assert body.count(b"\r\n") > 4  # several chunks, not one
    payload, trailer = split_chunked(body)
    assert trailer == b"\r\n"
    assert gzip.decompress(payload) == page.body()


def test_gbk_pages_declare_exactly_what_site_json_says(demo_site: DemoSite) -> None:
    declared = demo_site.page("/mandarin/yataibaodao/shaoshuminzu/ql-11132017.html")
    assert get(demo_site, declared.path)[1]["Content-Type"] == "text/html; charset=GBK"
    bare = next(p for p in demo_site.pages if p.encoding == "gbk" and p.charset is None)
    assert get(demo_site, bare.path)[1]["Content-Type"] == "text/html"


def test_redirect_points_to_the_rfa_article(demo_site: DemoSite) -> None:
    status, headers, _ = get(demo_site, "/story/xinjiang-kazakhs")
    assert status == 301
    assert headers["Location"] == demo_site.url("/english/news/uyghur/kazakhs-11132017.html")


def test_unknown_path_is_404_and_query_is_ignored(demo_site: DemoSite) -> None:
    assert get(demo_site, "/no/such/page")[0] == 404
    assert get(demo_site, "/robots.txt?x=1")[0] == 200


def test_head_sends_headers_only(demo_site: DemoSite) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", demo_site.port, timeout=5)
    try:
        conn.request("HEAD", "/")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == b""
    finally:
        conn.close()


def test_seed_urls_cover_index_articles_gbk_redirect_and_assets(demo_site: DemoSite) -> None:
    urls = demo_site.seed_urls()
    assert urls[0] == demo_site.base_url + "/"
    assert demo_site.url("/story/xinjiang-kazakhs") in urls
    assert any(u.endswith(".css") for u in urls) and any(u.endswith(".png") for u in urls)
    assert sum(1 for p in demo_site.pages if p.article and demo_site.url(p.path) in urls) == 4
    assert all(u.startswith("http://127.0.0.1:") for u in urls)


def test_stop_releases_the_port() -> None:
    site = DemoSite()
    site.start()
    port = site.port
    site.stop()
    site.stop()  # idempotent
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ValueError):
        DemoSite(host="0.0.0.0")
