"""capture --browser: a real headless Chromium, every request through archiver's proxy.

All on loopback. The page under test has no article in its HTML: a script
fetches it as gzip-encoded JSON and writes it into the page, as news sites
do. The WARCs are read back with warcio and every digest recomputed here
(warcassert); the screenshot is decoded here (pngcheck) and must not be blank.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import http_scripts as hs
import pytest
from pngcheck import luma_variance, png_pixels
from servers import HTTPTestServer, RawServer, Request, Response
from warcassert import Rec, dechunk, read_warc, warcs_in

BROWSER_EXTRA = "needs the browser extra: pip install 'archiver[browser]'"
pytest.importorskip("playwright", reason=BROWSER_EXTRA)
pytest.importorskip("cryptography", reason=BROWSER_EXTRA)
if shutil.which("chromium") is None:  # pragma: no cover - CI installs it
    pytest.skip("needs the browser extra's Chromium: apt-get install chromium",
                allow_module_level=True)

from archiver import ArchiveRoot  # noqa: E402
from archiver.capture.catalog import Outcome  # noqa: E402
from archiver.capture.run import capture_urls  # noqa: E402
from archiver.capture.settings import CaptureSettings  # noqa: E402
from archiver.errors import FailureReason  # noqa: E402
from archiver.extract.reader import Extracted, extract_warcs  # noqa: E402

ARTICLE = ("Satellite images show the camp grew threefold in two years. "
           "Former detainees describe daily political classes and forced labour.")
PAGE = b"""<!doctype html><html><head><title>Camp report</title>
<style>body{margin:0;font:20px sans-serif;background:#fff}
header{background:#b00020;color:#fff;padding:40px;font-size:40px}</style></head>
<body><header>The Ledger</header><main id="story">Loading&hellip;</main>
<a href="/next">Next story</a>
<script>
fetch('/api/story.json').then(r => r.json()).then(d => {
  const main = document.getElementById('story');
  main.innerHTML = '<article><h1>' + d.headline + '</h1>' +
    d.paragraphs.map(p => '<p>' + p + '</p>').join('') + '</article>';
  document.title = d.headline;
});
</script></body></html>"""
STORY = json.dumps({"headline": "Inside the camp",
                    "paragraphs": [ARTICLE] * 4}).encode()
SETTINGS = CaptureSettings(browser=True, delay=0, retries=0, page_timeout=15)


def _site(raw: RawServer) -> str:
    raw.script("/story", hs.ok(PAGE))
    raw.script("/api/story.json", hs.gzip_chunked(STORY, chunk_size=64,
                                                   content_type="application/json"))
    return raw.url("/story")


def _records(root: Path) -> list[Rec]:
    return [r for p in warcs_in(root) for r in read_warc(p)]


def test_a_javascript_built_page_is_captured_with_screenshot_and_dom(
        tmp_path: Path, raw: RawServer) -> None:
    url = _site(raw)
    root = ArchiveRoot(tmp_path)
    report = capture_urls(root, [url], SETTINGS)
    assert (report.captured, report.failed) == (1, 0), report.failures
    recs = _records(tmp_path)
    by_uri = {(r.type, r.uri): r for r in recs}
    # Only the site's own traffic: Chromium's background requests (if it made
    # any) were refused at the proxy, never written.
    assert {r.uri.split("/")[2] for r in recs if r.uri.startswith("http")} == \
        {raw.url("/").split("/")[2]}

    # The JSON the script fetched: exactly the bytes the server sent (chunks, gzip).
    json_rec = by_uri[("response", raw.url("/api/story.json"))]
    (sent,) = [e for e in raw.exchanges if e.path == "/api/story.json"]
    assert json_rec.block == bytes(sent.sent)
    assert gzip.decompress(dechunk(json_rec.http_body)) == STORY

    page = by_uri[("response", url)]
    assert page.block == bytes(next(e for e in raw.exchanges if e.path == "/story").sent)
    assert b"Satellite images" not in page.http_body  # the HTML alone has no article

    shot = by_uri[("resource", "urn:screenshot:" + url)]
    dom = by_uri[("resource", "urn:dom:" + url)]
    for rec in (shot, dom):
        assert rec.headers["WARC-Concurrent-To"] == page.id
    assert shot.headers["Content-Type"] == "image/png"
    width, height, rows = png_pixels(shot.block)
    assert width == 1280 and height >= 900
    assert luma_variance(rows) > 100  # a red header and text on white: not blank
    (tmp_path / "screenshot.png").write_bytes(shot.block)  # (for a person to look at)
    assert dom.headers["Content-Type"].startswith("text/html")
    assert ARTICLE.encode() in dom.block and b"<h1>Inside the camp</h1>" in dom.block

    meta = next(r for r in recs if r.type == "metadata" and r.uri == url)
    fields = meta.fields()
    assert fields["page-title"] == ["Inside the camp"]
    assert fields["outlink"] == [raw.url("/next")]
    assert fields["network-idle"] == ["yes"]
    assert fields["browser"][0].startswith("chromium ")
    # The JSON is the page's requisite in the catalog.
    kinds = {c.url: c for c in report.captures}
    assert kinds[raw.url("/api/story.json")].page_id == meta.id
    assert kinds[raw.url("/api/story.json")].outcome == Outcome.CAPTURED

    # Extraction: the response's HTML has no article; the rendered DOM has it.
    (item,) = [i for i in extract_warcs(warcs_in(tmp_path), root=root)
               if isinstance(i, Extracted)]
    assert ARTICLE in item.article.text and item.article.title == "Inside the camp"
    assert item.provenance.record_id == page.id and item.provenance.dom_record_id == dom.id
    assert item.provenance.target_uri == url


def test_https_page_through_the_proxy(tmp_path: Path, tls_site: tuple[str, Path]) -> None:
    base, cert = tls_site
    url = base + "/secure"
    settings = CaptureSettings(browser=True, delay=0, retries=0, page_timeout=15,
                               ca_bundle=str(cert))
    report = capture_urls(ArchiveRoot(tmp_path), [url], settings)
    assert (report.captured, report.failed) == (1, 0), report.failures
    recs = _records(tmp_path)
    (response,) = [r for r in recs if r.type == "response" and r.uri == url]
    assert response.http_body == b"<p>Kazakh traders detained in Dorbiljin.</p>"
    meta = next(r for r in recs if r.type == "metadata" and r.uri == url)
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    assert meta.fields()["tls-certificate"] == [base64.b64encode(der).decode()]
    shot = next(r for r in recs if r.uri == "urn:screenshot:" + url)
    assert luma_variance(png_pixels(shot.block)[2]) > 10
    # The archive's authority stays in manifests/, never in a WARC.
    ca_key = (tmp_path / "manifests" / "browser-ca" / "ca-key.pem").read_bytes()
    ca_cert = (tmp_path / "manifests" / "browser-ca" / "ca-cert.pem").read_bytes()
    for rec in recs:
        assert ca_key not in rec.block and ca_cert.split(b"\n")[1] not in rec.block


def test_a_public_pages_browser_requests_may_not_reach_a_private_address(
        tmp_path: Path, web: HTTPTestServer,
        make_http_server: Callable[..., HTTPTestServer]) -> None:
    # 127.0.0.2 counts as public here, 127.0.0.1 stays private.
    public = make_http_server("127.0.0.2")
    web.route("/secret.png", Response(body=b"internal", content_type="image/png"))
    public.route("/page", f"<title>p</title><p>A public page.</p>"
                          f"<img src='{web.url('/secret.png')}'>")
    settings = CaptureSettings(browser=True, delay=0, retries=0, page_timeout=10,
                               private_networks=("127.0.0.1/32",))
    report = capture_urls(ArchiveRoot(tmp_path), [public.url("/page")], settings)
    assert report.captured == 1
    (refused,) = [c for c in report.captures if c.url == web.url("/secret.png")]
    assert refused.outcome == Outcome.FAILED
    assert refused.reason == FailureReason.PRIVATE_REQUISITE
    assert web.hits("/secret.png") == 0  # refused before a byte was sent
    assert not [r for r in _records(tmp_path) if r.type == "response"
                and r.uri == web.url("/secret.png")]


def test_without_chromium_the_command_fails_at_once_saying_what_to_install(
        tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    env = {**os.environ, "PATH": str(bare)}
    done = subprocess.run([sys.executable, "-m", "archiver", "--root", str(tmp_path / "a"),
                           "capture", "--browser", "http://127.0.0.1:9/"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "archiver: error: capture --browser needs Chromium: apt-get install chromium"]
    assert not (tmp_path / "a" / "warcs").exists()


def test_without_the_extra_the_command_fails_at_once_saying_what_to_install(
        tmp_path: Path) -> None:
    # Playwright made unimportable in the child (as if never installed): a
    # sitecustomize ahead on the path blocks it (sys.modules[name] = None).
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "sitecustomize.py").write_text("import sys\nsys.modules['playwright'] = None\n")
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "archiver", "--root", str(tmp_path / "a"),
                           "capture", "--browser", "http://127.0.0.1:9/"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "archiver: error: capture --browser needs the browser extra: "
        "pip install 'archiver[browser]'"]


def _chromium_pids(root: int) -> set[int]:
    """Chromium processes below ``root`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.add(child)
            todo.append(child)
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def test_a_browser_crash_or_hang_is_a_recorded_failure_and_the_run_goes_on(
        tmp_path: Path, web: HTTPTestServer) -> None:
    def crash(_: Request) -> Response:
        # The page's script asks for this: the browser dies mid-page.
        for pid in _chromium_pids(os.getpid()):
            if _comm(pid).startswith("chrom"):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        return Response(body=b"{}", content_type="application/json")

    web.route("/crashes", b"<title>x</title><p>before the crash</p>"
                          b"<script>fetch('/boom')</script>")
    web.handle("/boom", crash)
    web.route("/hangs", b"<title>y</title><p>a script that never yields</p>"
                        b"<script>addEventListener('load', () => setTimeout(() => "
                        b"{ while (true) {} }, 0))</script>")
    web.route("/fine", b"<title>z</title><h1>Still here</h1><p>The run went on.</p>")
    urls = [web.url("/crashes"), web.url("/hangs"), web.url("/fine")]
    settings = CaptureSettings(browser=True, delay=0, retries=0, page_timeout=3)
    report = capture_urls(ArchiveRoot(tmp_path), urls, settings)
    by_url = {c.url: c for c in report.captures if c.page_id is None}
    assert by_url[urls[0]].outcome == Outcome.FAILED
    assert by_url[urls[0]].reason == FailureReason.BROWSER
    assert by_url[urls[1]].outcome == Outcome.FAILED
    assert by_url[urls[1]].reason == FailureReason.BROWSER
    assert by_url[urls[2]].outcome == Outcome.CAPTURED
    recs = _records(tmp_path)
    # The failed pages' responses are kept (what the server sent is evidence);
    # only the finished page has a screenshot.
    responses = {r.uri for r in recs if r.type == "response"}
    assert set(urls) <= responses
    shots = [r.uri for r in recs if r.uri.startswith("urn:screenshot:")]
    assert shots == ["urn:screenshot:" + urls[2]]
    assert not {p for p in _chromium_pids(os.getpid()) if _comm(p).startswith("chrom")}


def test_kill_9_during_a_browser_capture_loses_no_completed_capture(
        tmp_path: Path, web: HTTPTestServer) -> None:
    web.route("/done", b"<title>done</title><h1>Captured before the kill</h1>")
    web.route("/slow", Response(body=b"<p>never finished</p>", delay=30))
    cmd = [sys.executable, "-m", "archiver", "--root", str(tmp_path), "capture", "--browser",
           "--delay", "0", "--retries", "0", "--page-timeout", "20",
           web.url("/done"), web.url("/slow")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while web.hits("/slow") == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert web.hits("/slow") == 1, "the second page never started"
        time.sleep(1.5)  # the first page's records: written and synced by now
    finally:
        browsers = _chromium_pids(proc.pid)
        os.killpg(proc.pid, signal.SIGKILL)
        for pid in browsers:  # (Chromium may run in a process group of its own)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(10)
        assert proc.stderr is not None
        proc.stderr.close()
    assert list((tmp_path / "warcs").rglob("*.open"))  # killed mid-file
    # The next run (no browser needed) closes the .open file and lists it.
    web.route("/later", b"<p>later</p>")
    done = subprocess.run([sys.executable, "-m", "archiver", "--root", str(tmp_path),
                           "capture", "--delay", "0", web.url("/later")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    recs = _records(tmp_path)  # every digest recomputed, every link checked
    done_url = web.url("/done")
    assert any(r.type == "response" and r.uri == done_url for r in recs)
    assert any(r.uri == "urn:screenshot:" + done_url for r in recs)
    assert any(r.uri == "urn:dom:" + done_url for r in recs)
    assert any(r.type == "metadata" and r.uri == done_url for r in recs)
    listing = subprocess.run([sys.executable, "-m", "archiver", "--root", str(tmp_path),
                              "list", "--json"], capture_output=True, text=True, timeout=60)
    rows = [json.loads(line) for line in listing.stdout.splitlines() if line.strip()]
    assert any(row["url"] == done_url and row["outcome"] == "captured" for row in rows)
    sums = subprocess.run(["sha256sum", "-c", "--quiet", "manifests/manifest-sha256.txt"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert sums.returncode == 0, sums.stdout + sums.stderr
