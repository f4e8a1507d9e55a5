"""Capture against real loopback servers: byte-exact records, digests, links, failures.

Every WARC written here is read back with warcio and its digests recomputed by
:mod:`warcassert` (the test's own sha256 and de-chunker), and run through the
real ``warcio check``.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import sys
import time
from pathlib import Path
from urllib.parse import unquote_to_bytes

import http_scripts as hs
import pytest
from servers import HTTPTestServer, RawServer, Response, retry_after
from warcassert import (
    Rec,
    all_records,
    assert_warcio_check_passes,
    dechunk,
    read_warc,
    sha256_label,
    warcs_in,
)

from archiver import ArchiveRoot
from archiver.capture.catalog import Catalog
from archiver.capture.run import CaptureReport, capture_urls
from archiver.capture.settings import CaptureSettings
from archiver.version import __version__

FAST = CaptureSettings(delay=0, retries=0, connect_timeout=2, read_timeout=2, deadline=10,
                       backoff=0.05)


def run(tmp_path: Path, urls: list[str], **overrides: object) -> tuple[CaptureReport, list[Rec]]:
    settings = CaptureSettings(**{**FAST.__dict__, **overrides})  # type: ignore[arg-type]
    report = capture_urls(ArchiveRoot(tmp_path), urls, settings)
    for path in warcs_in(tmp_path):
        assert_warcio_check_passes(path)
    assert not list((tmp_path / "warcs").rglob("*.open")), "a WARC was left open"
    return report, all_records(tmp_path)


def by_type(recs: list[Rec], kind: str) -> list[Rec]:
    return [r for r in recs if r.type == kind]


# --------------------------------------------------------------- records and digests


def test_plain_page_is_recorded_byte_for_byte(tmp_path: Path, raw: RawServer) -> None:
    body = "<html><body><p>Mass detentions in Xinjiang — 新疆</p></body></html>".encode()
    # Odd header spacing and order must survive untouched.
    raw.script("/page", (hs.Send(hs.head(200, "OK", [("X-Odd",   "  spaced  "),
                                                     ("Content-Length", str(len(body)))])
                                 + body),))
    report, recs = run(tmp_path, [raw.url("/page")])
    assert (report.captured, report.failed) == (1, 0)

    sent = raw.exchanges_for("/page")[0].wait()
    response = by_type(recs, "response")[0]
    request = by_type(recs, "request")[0]
    assert response.block == bytes(sent.sent)
    assert request.block == sent.request
    assert response.headers["WARC-Payload-Digest"] == sha256_label(body)
    assert response.headers["WARC-Block-Digest"] == "sha256:" + _b32hex(sent.sent_sha256)
    assert response.headers["WARC-Concurrent-To"] == request.id  # back, never forward
    assert "WARC-Concurrent-To" not in request.headers
    assert response.headers["WARC-IP-Address"] == request.headers["WARC-IP-Address"] == "127.0.0.1"
    assert response.headers["Content-Type"] == "application/http; msgtype=response"
    assert b"User-Agent: archiver/" + __version__.encode() in request.block


def _b32hex(hexdigest: str) -> str:
    import base64

    return base64.b32encode(bytes.fromhex(hexdigest)).decode()


def test_warcinfo_first_and_referenced_by_every_record(tmp_path: Path, raw: RawServer) -> None:
    raw.default(hs.ok(b"<p>x</p>"))
    settings = {"operator": "Evidence Team <evidence@example.org>"}
    _, recs = run(tmp_path, [raw.url("/a"), raw.url("/b")], **settings)
    info = recs[0]
    assert info.type == "warcinfo" and info.headers["WARC-Filename"].endswith(".warc.gz")
    fields = info.fields()
    assert fields["software"][0].startswith(f"archiver/{__version__}")
    assert fields["format"] == ["WARC File Format 1.1"]
    assert "warc-1.1" in fields["conformsTo"][0]
    assert fields["operator"] == ["Evidence Team <evidence@example.org>"]
    assert fields["hostname"] and fields["robots"]
    for rec in recs[1:]:
        assert rec.headers["WARC-Warcinfo-ID"] == info.id
        assert rec.headers["WARC-Date"].endswith("Z")
    assert all(r.headers.get("WARC-Type") for r in recs)


def test_chunked_gzip_kept_on_the_wire_payload_digest_dechunked(
    tmp_path: Path, raw: RawServer
) -> None:
    article = ("<html><body>" + "<p>Kazakh traders detained in Dorbiljin.</p>" * 200
               + "</body></html>").encode()
    raw.script("/rfa", hs.chunked([b"abc", b"defgh", b"ij"], extensions=["x=1", None, "y"],
                                  trailers=[("X-Checksum", "none")]))
    raw.script("/gz", hs.gzip_chunked(article, chunk_size=700))
    report, recs = run(tmp_path, [raw.url("/rfa"), raw.url("/gz")])
    assert report.captured == 2
    responses = {r.uri: r for r in by_type(recs, "response")}

    plain = responses[raw.url("/rfa")]
    assert plain.block == bytes(raw.exchanges_for("/rfa")[0].wait().sent)
    assert b"3;x=1\r\nabc\r\n" in plain.http_body and b"X-Checksum: none" in plain.http_body
    assert plain.headers["WARC-Payload-Digest"] == sha256_label(b"abcdefghij")

    gz = responses[raw.url("/gz")]
    assert gz.block == bytes(raw.exchanges_for("/gz")[0].wait().sent)
    encoded = gzip.compress(article, mtime=0)
    assert dechunk(gz.http_body) == encoded  # content-encoding kept
    assert gz.headers["WARC-Payload-Digest"] == sha256_label(encoded)
    assert gzip.decompress(dechunk(gz.http_body)) == article


def test_metadata_record_describes_each_capture(tmp_path: Path, web: HTTPTestServer) -> None:
    urls = web.redirect_chain("/story", 2, b"<p>final</p>", status=301)
    _, recs = run(tmp_path, [urls[0]])
    meta = by_type(recs, "metadata")[0]
    fields = meta.fields()
    assert meta.uri == urls[0]
    assert fields["outcome"] == ["captured"]
    assert fields["final-url"] == [urls[-1]]
    assert fields["http-status"] == ["200"]
    assert fields["resolved-ip"] == ["127.0.0.1"]
    assert [h.split()[:2] for h in fields["hop"]] == [
        ["301", urls[0]], ["301", urls[1]], ["200", urls[2]]]
    assert fields["payload-sha256"] == [hashlib.sha256(b"<p>final</p>").hexdigest()]
    assert int(fields["elapsed-ms"][0]) >= 0 and "started" in fields
    final = by_type(recs, "response")[-1]
    assert meta.headers["WARC-Concurrent-To"] == final.id


# --------------------------------------------------------------- redirects


def test_every_redirect_hop_is_its_own_pair(tmp_path: Path, web: HTTPTestServer) -> None:
    urls = web.redirect_chain("/r", 3, b"<p>end</p>")
    report, recs = run(tmp_path, [urls[0]])
    assert report.captured == 1
    responses, requests_ = by_type(recs, "response"), by_type(recs, "request")
    assert [r.uri for r in responses] == urls
    assert [r.status for r in responses] == [302, 302, 302, 200]
    assert [r.headers["WARC-Concurrent-To"] for r in responses] == [q.id for q in requests_]
    with Catalog(tmp_path / "manifests" / "catalog.sqlite") as cat:
        (row,) = list(cat.captures())
    assert (row.url, row.final_url, row.status) == (urls[0], urls[-1], 200)


def test_utf8_location_and_non_ascii_urls_are_requested_percent_encoded(
    tmp_path: Path, raw: RawServer
) -> None:
    # Servers send non-ASCII Locations as raw UTF-8 bytes (Chinese-language
    # sites do); http.client reads header bytes as latin-1. Decoded that way,
    # the redirect would go to a mojibake URL.
    location = "/新闻/café?q=中".encode()
    raw.script("/go", (hs.Send(b"HTTP/1.1 302 Found\r\nLocation: " + location
                               + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),))
    target = "/%E6%96%B0%E9%97%BB/caf%C3%A9"
    raw.script(target, hs.ok(b"<p>arrived</p>"))
    seed = raw.url("/新闻/café?q=中")  # a seed typed with non-ASCII characters
    report, recs = run(tmp_path, [raw.url("/go"), seed])
    assert report.captured + report.revisits == 2 and report.failed == 0
    assert raw.hits(target) == 2
    encoded = raw.url(target + "?q=%E4%B8%AD")
    requested = [r.uri for r in by_type(recs, "request")]
    assert requested == [raw.url("/go"), encoded, encoded]  # WARC-Target-URI is a URI
    assert all(r.uri.isascii() for r in recs)
    with Catalog(tmp_path / "manifests" / "catalog.sqlite") as cat:
        rows = {c.url: c for c in cat.captures()}
    assert rows[raw.url("/go")].final_url == encoded
    assert rows[seed].final_url == encoded  # the seed is listed as it was given
    from archiver.capture.reindex import rebuild

    (tmp_path / "manifests" / "catalog.sqlite").unlink()
    assert rebuild(ArchiveRoot(tmp_path)) == (2, [])
    with Catalog(tmp_path / "manifests" / "catalog.sqlite") as cat:
        assert {c.url: c for c in cat.captures()} == rows


def test_redirect_loop_and_too_many_redirects_fail_clearly(
    tmp_path: Path, web: HTTPTestServer
) -> None:
    web.redirect_loop("/loop/a", "/loop/b")
    chain = web.redirect_chain("/long", 5)
    report, recs = run(tmp_path, [web.url("/loop/a"), chain[0]], max_redirects=2)
    errors = {c.url: c for c in report.failures}
    assert errors[web.url("/loop/a")].reason == "redirect-loop"
    assert "redirect loop" in errors[web.url("/loop/a")].error
    assert errors[chain[0]].reason == "too-many-redirects"
    assert chain[0] in errors[chain[0]].error
    assert len([r for r in by_type(recs, "response") if r.uri.startswith(web.url("/loop"))]) == 2


# --------------------------------------------------------------- retries and politeness


def test_retries_on_5xx_then_succeeds(tmp_path: Path, web: HTTPTestServer) -> None:
    web.route("/flaky", Response(503, b"busy"), Response(500, b"oops"), b"<p>ok</p>")
    report, recs = run(tmp_path, [web.url("/flaky")], retries=3)
    assert report.captured == 1 and web.hits("/flaky") == 3
    (response,) = by_type(recs, "response")  # only the final answer is archived
    assert response.status == 200


def test_retry_after_is_honoured(tmp_path: Path, web: HTTPTestServer) -> None:
    web.route("/busy", retry_after(429, 1), b"<p>ok</p>")
    t0 = time.monotonic()
    report, _ = run(tmp_path, [web.url("/busy")], retries=2, backoff=0.01)
    assert report.captured == 1 and web.hits("/busy") == 2
    assert time.monotonic() - t0 >= 1.0


def test_gives_up_after_retries_and_archives_the_last_answer(
    tmp_path: Path, web: HTTPTestServer
) -> None:
    web.route("/down", Response(503, b"down for maintenance"))
    report, recs = run(tmp_path, [web.url("/down")], retries=2)
    assert web.hits("/down") == 3
    (failure,) = report.failures
    assert failure.reason == "http-error" and failure.status == 503
    assert failure.error == f"{web.url('/down')}: HTTP 503 Service Unavailable"
    assert by_type(recs, "response")[0].http_body == b"down for maintenance"


def test_retries_connection_reset(tmp_path: Path, raw: RawServer) -> None:
    raw.script("/r", hs.reset_before_headers(), hs.ok(b"<p>second time lucky</p>"))
    report, _ = run(tmp_path, [raw.url("/r")], retries=1)
    assert report.captured == 1 and raw.hits("/r") == 2


def test_kept_alive_connection_closed_under_a_reuse_is_retried_at_once(
    tmp_path: Path, raw: RawServer
) -> None:
    # The server answers /a keeping the connection alive, then closes it
    # unanswered when /b arrives on it: the race of an idle timeout that
    # every long crawl meets. /b is retried at once on a new connection,
    # without spending a retry (there are none) or a backoff.
    raw.script("/a", hs.keep_alive_then_drop(b"<p>first</p>"))
    raw.script("/b", hs.ok(b"<p>second</p>"))
    t0 = time.monotonic()
    report, recs = run(tmp_path, [raw.url("/a"), raw.url("/b")], retries=0, backoff=5)
    assert report.captured == 2, [c.error for c in report.failures]
    assert time.monotonic() - t0 < 3
    (first,) = raw.exchanges_for("/a")
    assert [r.split(b" ")[1] for r in first.wait().later_requests] == [b"/b"]  # it was reused
    assert raw.hits("/b") == 1  # then answered on a fresh connection
    bodies = [r.http_body for r in by_type(recs, "response")]
    assert sorted(bodies) == [b"<p>first</p>", b"<p>second</p>"]


def test_server_closing_unanswered_is_retried(tmp_path: Path, raw: RawServer) -> None:
    raw.script("/r", hs.close_without_answer(), hs.ok(b"<p>second time lucky</p>"))
    report, _ = run(tmp_path, [raw.url("/r")], retries=1)
    assert report.captured == 1 and raw.hits("/r") == 2


@pytest.mark.parametrize(
    "interim",
    [
        [b"HTTP/1.1 100 Continue\r\n\r\n"],
        [b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n",
         b"HTTP/1.1 103 Early Hints\r\nLink: </app.js>; rel=preload; as=script\r\n\r\n"],
    ],
    ids=["100-continue", "103-early-hints"],
)
def test_interim_responses_are_kept_apart_from_the_response(
    tmp_path: Path, raw: RawServer, interim: list[bytes]
) -> None:
    body = b"<html><body><p>the real answer</p></body></html>"
    raw.script("/hints", hs.interim_then(body, *interim))
    raw.script("/next", hs.ok(b"<p>next page</p>"))
    report, recs = run(tmp_path, [raw.url("/hints"), raw.url("/next")])
    assert report.captured == 2, [c.error for c in report.failures]
    sent = bytes(raw.exchanges_for("/hints")[0].wait().sent)
    response = next(r for r in by_type(recs, "response") if r.uri == raw.url("/hints"))
    # The record holds the final response, byte for byte; the interim ones
    # went before it on the wire and are kept, exactly, in the metadata.
    assert response.status == 200
    assert sent == b"".join(interim) + response.block
    assert response.http_body == body
    assert response.headers["WARC-Payload-Digest"] == sha256_label(body)
    meta = next(r for r in by_type(recs, "metadata") if r.uri == raw.url("/hints"))
    kept = [v.split(" ", 1) for v in meta.fields()["interim-response"]]
    assert [url for url, _ in kept] == [raw.url("/hints")] * len(interim)
    assert [unquote_to_bytes(text) for _, text in kept] == interim


def test_politeness_delay_between_requests_to_one_host(
    tmp_path: Path, web: HTTPTestServer
) -> None:
    for p in ("/1", "/2", "/3"):
        web.route(p, f"<p>{p}</p>")
    t0 = time.monotonic()
    report, _ = run(tmp_path, [web.url(p) for p in ("/1", "/2", "/3")], delay=0.4)
    assert report.captured == 3
    assert time.monotonic() - t0 >= 0.8


def test_hosts_are_fetched_concurrently(tmp_path: Path) -> None:
    hosts = [HTTPTestServer(f"127.0.0.{n}").start() for n in (2, 3, 4, 5)]
    try:
        for server in hosts:
            body = f"<p>slow {server.host}</p>".encode()
            server.route("/slow", Response(body=body, delay=1.5))
        urls = [s.url("/slow") for s in hosts]
        t0 = time.monotonic()
        report, recs = run(tmp_path / "parallel", urls, concurrency=4)
        parallel = time.monotonic() - t0
        t0 = time.monotonic()
        run(tmp_path / "serial", urls, concurrency=1)
        serial = time.monotonic() - t0
    finally:
        for server in hosts:
            server.stop()
    assert report.captured == 4
    assert {r.headers["WARC-IP-Address"] for r in by_type(recs, "response")} == {
        "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}
    # Relative, not absolute: a loaded machine slows both runs' fixed costs
    # (start-up, catalog, manifest) alike; four 1.5 s waits overlap or add up.
    assert serial >= 6.0 and parallel < 0.6 * serial


# --------------------------------------------------------------- limits and bad servers


def test_body_over_max_bytes_is_cut_and_marked(tmp_path: Path, raw: RawServer) -> None:
    raw.script("/big", hs.huge_body(1_000_000))
    raw.script("/bigchunked", hs.huge_body(1_000_000, chunk=True))
    report, recs = run(tmp_path, [raw.url("/big"), raw.url("/bigchunked")], max_bytes=100_000)
    assert report.captured == 2 and report.failed == 0
    for rec in by_type(recs, "response"):
        assert rec.headers["WARC-Truncated"] == "length"
        path = rec.uri.rsplit("/", 1)[-1]
        served = raw.exchanges_for("/" + path)[0].response_body
        chunked = path == "bigchunked"
        payload = dechunk(rec.http_body, partial=True) if chunked else rec.http_body
        expected = dechunk(served, partial=True) if chunked else served
        assert len(payload) == 100_000
        assert payload == expected[:100_000]
        assert served.startswith(rec.http_body)
        assert rec.headers["WARC-Payload-Digest"] == sha256_label(payload)
    with Catalog(tmp_path / "manifests" / "catalog.sqlite") as cat:
        assert {c.truncated for c in cat.captures()} == {"length"}


@pytest.mark.parametrize(
    ("script", "reason", "fragment"),
    [
        (hs.reset_before_headers(), "reset", "connection reset"),
        (hs.malformed_status_line(), "malformed", "malformed HTTP"),
        (hs.garbage(), "malformed", "malformed HTTP"),
        (hs.headers_then_stall(limit=10), "timeout", "timed out"),
        (hs.close_without_answer(), "reset", "without answering"),
        (hs.too_many_headers(), "malformed", "more than 100 headers"),
        (hs.conflicting_lengths(), "malformed", "Content-Length"),
    ],
    ids=["reset", "bad-status-line", "garbage", "stall-after-head", "closed-unanswered",
         "too-many-headers", "conflicting-lengths"],
)
def test_bad_servers_fail_with_one_clear_reason(
    tmp_path: Path, raw: RawServer, script: hs.Script, reason: str, fragment: str
) -> None:
    raw.script("/bad", script)
    raw.script("/good", hs.ok(b"<p>fine</p>"))
    report, _ = run(tmp_path, [raw.url("/bad"), raw.url("/good")], read_timeout=0.5)
    assert report.captured == 1
    (failure,) = report.failures
    assert failure.reason == reason, failure.error
    assert failure.error.startswith(raw.url("/bad") + ": ") and fragment in failure.error
    assert "\n" not in failure.error


@pytest.mark.parametrize(
    ("script", "reason", "cut"),
    [
        (hs.stall_mid_body(b"x" * 5000, 1000, limit=10), "timeout", "time"),
        (hs.reset_mid_body(b"y" * 5000, 1000), "reset", "disconnect"),
        (hs.truncated(b"z" * 1000, 5000), "reset", "disconnect"),
    ],
    ids=["stall-mid-body", "reset-mid-body", "short-content-length"],
)
def test_partial_bodies_are_kept_marked_and_reported(
    tmp_path: Path, raw: RawServer, script: hs.Script, reason: str, cut: str
) -> None:
    raw.script("/partial", script)
    report, recs = run(tmp_path, [raw.url("/partial")], read_timeout=0.5)
    (failure,) = report.failures
    assert failure.reason == reason and "body incomplete" in failure.error
    (response,) = by_type(recs, "response")
    assert response.headers["WARC-Truncated"] == cut
    served = raw.exchanges_for("/partial")[0].response_body  # (a stalled server is still open)
    assert served.startswith(response.http_body)
    assert len(response.http_body) >= 1000


def test_total_deadline_stops_a_slow_drip(tmp_path: Path, raw: RawServer) -> None:
    raw.script("/drip", hs.slow_drip(b"d" * 200, interval=0.05))
    t0 = time.monotonic()
    report, _ = run(tmp_path, [raw.url("/drip")], read_timeout=1, deadline=1.0)
    assert time.monotonic() - t0 < 5
    (failure,) = report.failures
    assert failure.reason == "deadline" and "deadline" in failure.error


def test_refused_connection(tmp_path: Path) -> None:
    with RawServer() as server:
        dead = server.url("/gone")  # the port is closed once the server stops
    report, recs = run(tmp_path, [dead])
    (failure,) = report.failures
    assert failure.reason == "refused" and failure.error.startswith(dead)
    meta = by_type(recs, "metadata")[0].fields()  # failures are in the WARC too
    assert meta["outcome"] == ["failed"] and meta["reason"] == ["refused"]


@pytest.fixture
def blackhole() -> str:
    """A loopback address:port whose connects time out: a listener that never
    accepts, its backlog filled by one connection, so new SYNs are dropped."""
    listener = socket.socket()
    listener.bind(("127.0.0.7", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=2)
    host, port = listener.getsockname()
    yield f"http://{host}:{port}"
    filler.close()
    listener.close()


def test_connect_timeout_is_its_own_reason(tmp_path: Path, blackhole: str) -> None:
    report, _ = run(tmp_path, [blackhole + "/slow"], connect_timeout=0.3)
    (failure,) = report.failures
    assert failure.reason == "connect-timeout" and "connect timed out" in failure.error


@pytest.mark.parametrize("kind", ["refused", "connect-timeout"])
def test_unreachable_host_fails_its_other_urls_at_once(
    tmp_path: Path, raw: RawServer, blackhole: str, kind: str
) -> None:
    if kind == "refused":
        with RawServer("127.0.0.6") as gone:
            base = gone.base_url  # nothing listens there once it stops
    else:
        base = blackhole
    dead = [f"{base}/page{n}" for n in range(8)]
    raw.script("/alive", hs.ok(b"<p>another host is fine</p>"))
    t0 = time.monotonic()
    report, recs = run(tmp_path, [*dead, raw.url("/alive")], host_failures=2, retries=1,
                       backoff=0.2, connect_timeout=0.3)
    elapsed = time.monotonic() - t0
    assert report.captured == 1 and report.failed == 8
    reasons = {c.url: c.reason for c in report.failures}
    assert [reasons[u] for u in dead] == [kind, kind] + ["host-down"] * 6
    skipped = next(c for c in report.failures if c.url == dead[2])
    assert skipped.error.startswith(dead[2] + ": not tried: the 2 URLs before it on 127.0.0.")
    assert skipped.error.endswith("; try again later")
    # Two URLs with one retry each, not eight: under 4 x (timeout + backoff) and change.
    assert elapsed < 4 * (0.3 + 0.2) + 1.5
    # Skipped URLs are in the WARC too, so a reindex knows them.
    meta = [r.fields() for r in by_type(recs, "metadata")]
    assert sorted(m["requested-url"][0] for m in meta if m.get("reason") == ["host-down"]) == \
        sorted(dead[2:])


def test_other_failures_do_not_mark_a_host_down(tmp_path: Path, raw: RawServer) -> None:
    # Resets and HTTP errors are per page, not per host: every URL is tried.
    for n in range(3):
        raw.script(f"/bad{n}", hs.close_without_answer())
    raw.script("/missing", hs.not_found())
    raw.script("/good", hs.ok(b"<p>still here</p>"))
    urls = [raw.url(p) for p in ("/bad0", "/bad1", "/bad2", "/missing", "/good")]
    report, _ = run(tmp_path, urls, host_failures=1)
    assert report.captured == 1 and report.failed == 4
    assert "host-down" not in {c.reason for c in report.failures}
    assert raw.hits("/good") == 1


@pytest.mark.parametrize(
    "bad", ["ftp://example.org/file", "not a url", "http://", "http://exa mple.org/",
            "http://127.0.0.1:99999/"]
)
def test_invalid_urls_are_reported_and_the_run_goes_on(
    tmp_path: Path, web: HTTPTestServer, bad: str
) -> None:
    web.route("/ok", b"<p>ok</p>")
    report, _ = run(tmp_path, [bad, web.url("/ok")])
    assert report.captured == 1
    (failure,) = report.failures
    assert failure.reason == "invalid" and failure.error.startswith(bad.strip())


def test_http_error_status_is_archived_and_counted_failed(
    tmp_path: Path, web: HTTPTestServer
) -> None:
    report, recs = run(tmp_path, [web.url("/missing")])
    (failure,) = report.failures
    assert failure.status == 404 and failure.warc is not None
    assert by_type(recs, "response")[0].status == 404


# --------------------------------------------------------------- dedup


def test_identical_payload_becomes_a_revisit(tmp_path: Path, web: HTTPTestServer) -> None:
    page = b"<p>the same statement, mirrored</p>"
    web.route("/original", page)
    web.route("/mirror", page)
    report, recs = run(tmp_path, [web.url("/original")])
    report2, recs = run(tmp_path, [web.url("/mirror")])  # a later run: dedup via the catalog
    assert (report.captured, report2.revisits) == (1, 1)
    (original,) = by_type(recs, "response")
    (revisit,) = by_type(recs, "revisit")
    assert revisit.headers["WARC-Profile"] == (
        "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest")
    assert revisit.headers["WARC-Refers-To"] == original.id
    assert revisit.headers["WARC-Refers-To-Target-URI"] == web.url("/original")
    assert revisit.headers["WARC-Refers-To-Date"] == original.headers["WARC-Date"]
    assert revisit.headers["WARC-Payload-Digest"] == sha256_label(page)
    assert revisit.block.endswith(b"\r\n\r\n") and page not in revisit.block


def test_no_dedup_stores_the_payload_again(tmp_path: Path, web: HTTPTestServer) -> None:
    web.route("/a", b"<p>same</p>")
    web.route("/b", b"<p>same</p>")
    report, recs = run(tmp_path, [web.url("/a"), web.url("/b")], dedup=False)
    assert report.captured == 2 and not by_type(recs, "revisit")
    assert len(by_type(recs, "response")) == 2


# --------------------------------------------------------------- files


def test_rotation_at_warc_size(tmp_path: Path, web: HTTPTestServer) -> None:
    for n in range(6):
        web.route(f"/p{n}", f"<p>page {n} ".encode() + bytes(range(256)) * 20)
    report, _ = run(tmp_path, [web.url(f"/p{n}") for n in range(6)], warc_size=4096)
    paths = warcs_in(tmp_path)
    assert report.captured == 6 and len(paths) >= 3
    assert len(report.closed_warcs) == len(paths)
    names = [p.name for p in paths]
    assert len(set(names)) == len(names)
    for path in paths:
        recs = read_warc(path)
        assert recs[0].type == "warcinfo"
        assert {r.headers["WARC-Warcinfo-ID"] for r in recs[1:]} == {recs[0].id}
        assert "127.0.0.1" not in path.name and ":" not in path.name  # never from a URL


def test_reindex_rebuilds_the_same_catalog(tmp_path: Path, web: HTTPTestServer) -> None:
    from archiver.capture.reindex import rebuild

    web.route("/a", b"<p>a</p>")
    web.route("/b", b"<p>a</p>")
    chain = web.redirect_chain("/c", 1, b"<p>c</p>")
    run(tmp_path, [web.url("/a"), web.url("/b"), chain[0], web.url("/missing"), "gopher://x"])
    db = tmp_path / "manifests" / "catalog.sqlite"
    with Catalog(db) as cat:
        before = [c.to_dict() for c in cat.captures() if c.reason != "invalid"]
    db.unlink()
    assert rebuild(ArchiveRoot(tmp_path)) == (4, [])
    with Catalog(db) as cat:
        after = [c.to_dict() for c in cat.captures()]
    assert after == before


@pytest.mark.parametrize("brotli", [True, False], ids=["with-brotli", "without-brotli"])
def test_asks_only_for_codings_extract_can_decode(
    tmp_path: Path, raw: RawServer, monkeypatch: pytest.MonkeyPatch, brotli: bool
) -> None:
    # requests would also offer zstd wherever it can decode it (zstandard
    # installed, Python 3.14); archiver extract could not read such a page.
    if brotli:
        pytest.importorskip("brotli", reason="needs the brotli extra")
    else:
        monkeypatch.setitem(sys.modules, "brotli", None)  # import brotli -> ImportError
    raw.script("/p", hs.ok(b"<p>x</p>"))
    run(tmp_path, [raw.url("/p")])
    sent = raw.exchanges_for("/p")[0].wait().request
    (line,) = [x for x in sent.split(b"\r\n") if x.lower().startswith(b"accept-encoding:")]
    assert line == (b"Accept-Encoding: gzip, deflate, br" if brotli
                    else b"Accept-Encoding: gzip, deflate")
