"""Page requisites (``archiver capture -p``) against real loopback servers.

127.0.0.2 and 127.0.0.3 play public sites (``--private-networks 127.0.0.1/32``)
and 127.0.0.1 the internal service beside the archiver, as in the
private-redirect test. Every WARC is read back with warcio, its digests
recomputed by :mod:`warcassert`; what the servers sent is compared with what
the records hold.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import http_scripts as hs
import pytest
from servers import HTTPTestServer, RawServer, Response
from warcassert import Rec, all_records, assert_warcio_check_passes, warcs_in

from archiver.capture.catalog import Catalog
from archiver.capture.requisites import (
    Kind,
    Requisite,
    css_requisites,
    largest_candidate,
    page_requisites,
)

PUBLIC_SITE = ("--private-networks", "127.0.0.1/32", "--delay", "0", "--retries", "0",
               "--timeout", "1")

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def archiver(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archiver", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120, check=False)


def asset(body: bytes, content_type: str) -> Response:
    return Response(200, body, content_type=content_type)


def json_rows(root: Path) -> list[dict[str, object]]:
    done = archiver(root, "list", "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def responses(recs: list[Rec]) -> dict[str, Rec]:
    return {r.uri: r for r in recs if r.type in ("response", "revisit")}


@pytest.mark.usefixtures("loopback_hosts")
def test_a_page_is_captured_with_what_it_needs_to_render(
        tmp_path: Path, make_http_server: Callable[..., HTTPTestServer],
        make_raw_server: Callable[..., RawServer]) -> None:
    site = make_http_server("127.0.0.2")
    slow = make_raw_server("127.0.0.3")
    internal = make_http_server("127.0.0.1")
    internal.route("/internal.png", asset(PNG, "image/png"))
    slow.script("/slow.png", hs.headers_then_stall(length=5000))
    page = f"""<!doctype html><html><head><title>Report</title>
<link rel="stylesheet" href="/css/site.css"><script src="/js/app.js"></script></head>
<body><img src="/img/logo.png" alt="logo">
<img src="/img/photo-320.jpg" srcset="/img/photo-320.jpg 320w, /img/photo-1024.jpg 1024w,
 /img/photo-640.jpg 640w">
<img src="/img/missing.png"><img src="{slow.url('/slow.png')}"><img src="/img/huge.jpg">
<img src="{internal.url('/internal.png')}"><p>Mass detentions in Xinjiang.</p></body></html>
""".encode()
    css = (b'body { background: url("../img/bg.png") }\n'
           b'@font-face { font-family: Body; src: url(/fonts/body.woff2) format("woff2") }\n')
    served = {
        "/css/site.css": asset(css, "text/css"),
        "/js/app.js": asset(b"console.log('app');\n", "application/javascript"),
        "/img/logo.png": asset(PNG, "image/png"),
        "/img/photo-320.jpg": asset(b"small jpeg" * 10, "image/jpeg"),
        "/img/photo-640.jpg": asset(b"medium jpeg" * 10, "image/jpeg"),
        "/img/photo-1024.jpg": asset(b"large jpeg" * 10, "image/jpeg"),
        "/img/huge.jpg": asset(b"J" * 20000, "image/jpeg"),
        "/img/bg.png": asset(PNG[::-1], "image/png"),
        "/fonts/body.woff2": asset(b"wOF2" + b"\0" * 100, "font/woff2"),
    }
    site.route("/article.html", page)
    for path, response in served.items():
        site.route(path, response)

    done = archiver(tmp_path, "capture", "-p", site.url("/article.html"), *PUBLIC_SITE,
                    "--max-bytes", "8192")

    # Only requisites failed: the run succeeds, and says how many failed.
    assert done.returncode == 0, done.stderr
    assert "captured 1, revisits 0, failed 0" in done.stderr
    assert "requisites: captured 8, revisits 0, failed 3" in done.stderr
    assert f"FAILED requisite {site.url('/img/missing.png')}: HTTP 404 Not Found" in done.stderr
    assert (f"FAILED requisite {internal.url('/internal.png')}: refused to follow a page "
            "requisite from the public address 127.0.0.2 to the private address 127.0.0.1 "
            "(--allow-private-redirects fetches it)") in done.stderr
    assert internal.requests == []  # not a byte sent to the private address
    # Each requisite once; srcset's largest candidate (and src), not the others.
    assert site.hits("/img/photo-640.jpg") == 0
    assert {p: site.hits(p) for p in served if p != "/img/photo-640.jpg"} == \
        dict.fromkeys([p for p in served if p != "/img/photo-640.jpg"], 1)

    for path in warcs_in(tmp_path):
        assert_warcio_check_passes(path)
    recs = all_records(tmp_path)  # (digests recomputed by the test)
    got = responses(recs)
    for path, response in served.items():
        if path in ("/img/photo-640.jpg", "/img/huge.jpg"):
            continue
        assert got[site.url(path)].http_body == response.body, path
    huge = got[site.url("/img/huge.jpg")]
    assert huge.headers["WARC-Truncated"] == "length"
    assert huge.http_body == served["/img/huge.jpg"].body[:8192]

    # The catalog links every requisite to its page; list shows the count.
    rows = json_rows(tmp_path)
    (page_row,) = [r for r in rows if r["page_id"] is None]
    requisite_rows = {r["url"]: r for r in rows if r["page_id"] is not None}
    assert page_row["url"] == site.url("/article.html") and page_row["outcome"] == "captured"
    assert (page_row["requisites"], page_row["requisites_failed"]) == (11, 3)
    assert {r["page_id"] for r in requisite_rows.values()} == {page_row["metadata_id"]}
    failed = {u: r["reason"] for u, r in requisite_rows.items() if r["outcome"] == "failed"}
    assert failed == {site.url("/img/missing.png"): "http-error",
                      slow.url("/slow.png"): "timeout",
                      internal.url("/internal.png"): "private-requisite"}
    assert requisite_rows[site.url("/img/huge.jpg")]["truncated"] == "length"
    listing = archiver(tmp_path, "list").stdout.splitlines()
    assert len(listing) == 1 and listing[0].endswith("[11 requisites, 3 failed]")
    failed_listing = archiver(tmp_path, "list", "--failed").stdout.splitlines()
    assert len(failed_listing) == 3
    assert all(line.endswith("(requisite)") for line in failed_listing)

    # The WARC's metadata records carry the link: the page names its requisites,
    # each requisite its page (and the stylesheet what it names).
    meta = {r.uri: r.fields() for r in recs if r.type == "metadata"}
    assert len(meta[site.url("/article.html")]["requisite"]) == 9
    assert "image " + site.url("/img/photo-1024.jpg") in meta[site.url("/article.html")][
        "requisite"]
    logo = meta[site.url("/img/logo.png")]
    assert logo["page-url"] == [site.url("/article.html")]
    assert logo["page-record"] == [page_row["metadata_id"]]
    assert meta[site.url("/css/site.css")]["requisite"] == [
        "css-url " + site.url("/img/bg.png"), "css-url " + site.url("/fonts/body.woff2")]

    # A reindex rebuilds the same catalog, links included, from the WARCs alone.
    (tmp_path / "manifests" / "catalog.sqlite").unlink()
    assert archiver(tmp_path, "reindex").returncode == 0
    assert json_rows(tmp_path) == rows

    # --retry-failed retries pages only: a requisite (the private one least of all)
    # is fetched on its page's behalf, never as a URL given.
    retry = archiver(tmp_path, "capture", "--retry-failed", *PUBLIC_SITE)
    assert retry.returncode == 2 and "no URLs given" in retry.stderr
    assert internal.requests == []


@pytest.mark.usefixtures("loopback_hosts")
def test_requisites_are_shared_bounded_and_deduplicated(
        tmp_path: Path, make_http_server: Callable[..., HTTPTestServer]) -> None:
    site = make_http_server("127.0.0.2")
    cdn = make_http_server("127.0.0.3")  # requisites on any host
    cdn.route("/logo.png", asset(PNG, "image/png"))
    for n in range(4):
        site.route(f"/img/{n}.png", asset(PNG + bytes([n]), "image/png"))
    one = f'<img src="{cdn.url("/logo.png")}"><img src="/img/0.png"><img src="/img/1.png">'
    two = f'<img src="{cdn.url("/logo.png")}"><img src="/img/2.png"><img src="/img/3.png">'
    site.route("/one.html", one.encode())
    site.route("/two.html", two.encode())
    pages = [site.url("/one.html"), site.url("/two.html")]

    done = archiver(tmp_path, "capture", "-p", *pages, *PUBLIC_SITE, "--requisites-max", "2")
    assert done.returncode == 0, done.stderr
    # Shared across pages: fetched once, with the first page that needs it.
    assert cdn.hits("/logo.png") == 1
    # At most 2 per page: the third of each is left out, and the page's record says so.
    assert [site.hits(f"/img/{n}.png") for n in range(4)] == [1, 0, 1, 0]
    assert "requisites: captured 3, revisits 0, failed 0" in done.stderr
    meta = {r.uri: r.fields() for r in all_records(tmp_path) if r.type == "metadata"}
    assert meta[pages[0]]["requisites-left-out"] == ["1"]
    counts = {r["url"]: r.get("requisites") for r in json_rows(tmp_path)
              if r["page_id"] is None}
    assert counts == {pages[0]: 2, pages[1]: 1}

    # A later run captures them again; an unchanged payload is a revisit.
    again = archiver(tmp_path, "capture", "-p", pages[0], *PUBLIC_SITE, "--requisites-max", "2")
    assert again.returncode == 0, again.stderr
    assert "requisites: captured 0, revisits 2, failed 0" in again.stderr
    assert cdn.hits("/logo.png") == 2
    # Without -p, nothing but the pages.
    archiver(tmp_path, "capture", pages[1], *PUBLIC_SITE)
    assert site.hits("/img/3.png") == 0


@pytest.mark.usefixtures("loopback_hosts")
def test_a_private_page_may_have_requisites_anywhere(
        tmp_path: Path, make_http_server: Callable[..., HTTPTestServer]) -> None:
    # Under the default networks all of 127.0.0.0/8 is private: the page is too,
    # and its requisite on another private address is fetched, as a redirect would be.
    site = make_http_server("127.0.0.2")
    internal = make_http_server("127.0.0.1")
    internal.route("/logo.png", asset(PNG, "image/png"))
    site.route("/page.html", f'<img src="{internal.url("/logo.png")}">'.encode())
    done = archiver(tmp_path, "capture", "-p", site.url("/page.html"), "--delay", "0")
    assert done.returncode == 0, done.stderr
    assert internal.hits("/logo.png") == 1


def test_an_earlier_catalog_gets_the_page_link_column(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with sqlite3.connect(path) as db:  # the schema before requisites
        db.execute("CREATE TABLE captures (id INTEGER PRIMARY KEY, url TEXT NOT NULL, "
                   "final_url TEXT, status INTEGER, captured_at TEXT NOT NULL, "
                   "outcome TEXT NOT NULL, reason TEXT, error TEXT, truncated TEXT, warc TEXT, "
                   "offset INTEGER, length INTEGER, record_id TEXT, record_type TEXT, "
                   "payload_sha256 TEXT, payload_size INTEGER, metadata_id TEXT UNIQUE, "
                   "source TEXT)")
        db.execute("INSERT INTO captures (url, captured_at, outcome, metadata_id) "
                   "VALUES ('http://example.org/', '2026-01-01T00:00:00Z', 'failed', 'm1')")
    db.close()
    with Catalog(path) as catalog:
        (row,) = catalog.captures()
        assert row.page_id is None and catalog.failed_urls() == ["http://example.org/"]
        assert catalog.requisite_counts() == {}
    with sqlite3.connect(path) as db:
        columns = {r[1] for r in db.execute("PRAGMA table_info(captures)")}
    db.close()
    assert "page_id" in columns


def test_the_largest_srcset_candidate() -> None:
    assert largest_candidate("a.jpg 1x, b.jpg 2x") == "b.jpg"
    assert largest_candidate("s.jpg 320w,l.jpg 1024w, m.jpg 640w") == "l.jpg"
    assert largest_candidate("only.jpg") == "only.jpg"
    assert largest_candidate("x.jpg, y.jpg 1.5x") == "y.jpg"
    assert largest_candidate("img,1.jpg 100w, img,2.jpg 200w") == "img,2.jpg"
    assert largest_candidate("") == ""


def test_what_a_page_and_a_stylesheet_name() -> None:
    html = b"""<html><head><base href="http://cdn.example/x/">
<link rel="stylesheet" href="s.css"><link rel="alternate stylesheet" href="alt.css">
<link rel="shortcut icon" href="/favicon.ico"><link rel="apple-touch-icon" href="/t.png">
<link rel="preload" href="f.woff2" as="font"><link rel="canonical" href="/page">
<script src="a.js"></script><script>var x = "url(no.png)";</script>
<style>div { background: url('in.png') }</style></head>
<body><img src="i.png"><img src="data:image/png;base64,AAAA"><img src="javascript:x">
<picture><source srcset="p.webp 1x, p2.webp 2x"><img src="i.png"></picture>
<video poster="po.jpg"><source src="v.mp4"><track src="t.vtt"></video><audio src="a.mp3">
<a href="/next">next</a><div style="background-image: url(st.png)"></div></body></html>"""
    got = page_requisites(html, "http://site.example/page")
    base = "http://cdn.example/x/"
    assert got == [
        Requisite(base + "s.css", Kind.STYLESHEET),
        Requisite("http://cdn.example/favicon.ico", Kind.ICON),
        Requisite("http://cdn.example/t.png", Kind.ICON),
        Requisite(base + "f.woff2", Kind.PRELOAD),
        Requisite(base + "a.js", Kind.SCRIPT),
        Requisite(base + "in.png", Kind.CSS_URL),
        Requisite(base + "i.png", Kind.IMAGE),
        Requisite(base + "p2.webp", Kind.IMAGE),
        Requisite(base + "po.jpg", Kind.IMAGE),
        Requisite(base + "v.mp4", Kind.MEDIA),
        Requisite(base + "t.vtt", Kind.MEDIA),
        Requisite(base + "a.mp3", Kind.MEDIA),
        Requisite(base + "st.png", Kind.CSS_URL),
    ]
    css = b"""@charset "utf-8"; @import url("print.css") print; @import 'more.css';
/* url(commented.png) */ .a { background: url( bg.png ) } .b { cursor: url("c.cur"), auto }
@font-face { src: url(/f.woff2) format("woff2"), url(data:font/woff;base64,AA) }"""
    assert css_requisites(css, "http://h.example/css/s.css") == [
        Requisite("http://h.example/css/print.css", Kind.STYLESHEET),
        Requisite("http://h.example/css/more.css", Kind.STYLESHEET),
        Requisite("http://h.example/css/bg.png", Kind.CSS_URL),
        Requisite("http://h.example/css/c.cur", Kind.CSS_URL),
        Requisite("http://h.example/f.woff2", Kind.CSS_URL),
    ]
