"""``archiver replay``: the archive served through the real pywb, on 127.0.0.1 only.

One pywb per module (it takes a few seconds to start) over a copy of the
pristine archive (two capture runs of the demo site, revisits included). Every
indexed record fetched in pywb's ``id_`` mode equals the payload the test
reads from the WARC itself; pywb listens on 127.0.0.1 only (read from
/proc/net/tcp); the CLI serves and stops on Ctrl-C; without pywb it says what
to install in one line; and Debian's chromium, headless, renders a replayed
page that is not blank (the PNG decoded here, its pixel variance checked).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fixity_archive import copy_archive
from pngcheck import luma_variance, png_pixels
from warcassert import dechunk, is_chunked, read_warc

from archiver.interop.replay import ReplayServer, free_port
from archiver.root import ArchiveRoot
from archiver.warc.cdxj import CDXJ_NAME, read_cdxj

REPLAY_EXTRA = "needs the replay extra: pip install 'archiver[replay]'"
pytest.importorskip("pywb", reason=REPLAY_EXTRA)


@pytest.fixture(scope="module")
def archive(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> ArchiveRoot:
    return copy_archive(pristine, tmp_path_factory.mktemp("replay") / "archive")


@pytest.fixture(scope="module")
def server(archive: ArchiveRoot) -> Iterator[ReplayServer]:
    with ReplayServer(archive) as srv:
        yield srv


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    """One GET, redirects not followed, nothing decoded; every coding capture asks
    for is accepted (else pywb decodes a gzip payload for the client)."""
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", url[len(f"http://{parts.netloc}"):],
                     headers={"Accept-Encoding": "gzip, deflate, br"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _payloads(root: ArchiveRoot) -> dict[tuple[str, int], tuple[int, bytes]]:
    """(file, offset) -> (HTTP status, payload) of every response and revisit, read by
    the test itself (a revisit's payload is its original's)."""
    by_id: dict[str, bytes] = {}
    found: dict[tuple[str, int], tuple[int, bytes]] = {}
    for warc in sorted(root.warcs.rglob("*.warc.gz")):
        for rec in read_warc(warc):
            if rec.type == "response":
                body = dechunk(rec.http_body) if is_chunked(rec.http_head) else rec.http_body
                by_id[rec.id] = body
                found[(root.relative(warc), rec.offset)] = (rec.status, body)
            elif rec.type == "revisit":
                original = by_id[rec.headers["WARC-Refers-To"]]
                found[(root.relative(warc), rec.offset)] = (rec.status, original)
    return found


def test_every_record_replays_as_captured(archive: ArchiveRoot, server: ReplayServer) -> None:
    payloads = _payloads(archive)
    entries = list(read_cdxj(archive.manifests / CDXJ_NAME))
    assert len(entries) == len(payloads) > 10
    revisits = 0
    for entry in entries:
        status, body = payloads[(entry.fields["filename"], int(entry.fields["offset"]))]
        got, headers, data = get(server.url_for(entry.url, entry.timestamp, "id_"))
        assert got == status, entry.url
        if status == 200:
            assert data == body, entry.url
        else:  # the redirect hop: its Location is replayed as captured
            assert "location" in headers
        revisits += entry.fields["mime"] == "warc/revisit"
    assert revisits > 0


def test_a_page_replays_rewritten_for_the_browser(archive: ArchiveRoot,
                                                  server: ReplayServer) -> None:
    entry = next(e for e in read_cdxj(archive.manifests / CDXJ_NAME)
                 if e.url.endswith("kazakhs-11132017.html"))
    status, headers, data = get(server.url_for(entry.url, entry.timestamp, "mp_"))
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"Kazakhs" in data and b"wombat" in data  # pywb's client-side rewriting


def _listening(port: int) -> list[str]:
    """The local addresses (hex, as /proc/net/tcp writes them) listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            next(fh)
            for line in fh:
                local, state = line.split()[1], line.split()[3]
                address, hexport = local.split(":")
                if int(hexport, 16) == port and state == "0A":
                    found.append(address)
    return found


def test_replay_listens_on_loopback_only(server: ReplayServer) -> None:
    assert _listening(server.port) == ["0100007F"]  # 127.0.0.1, nothing else


def test_cli_replay_serves_and_stops(archive: ArchiveRoot) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "archiver", "--root", str(archive.path),
                             "replay", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline() if proc.stderr else ""
        assert line.startswith(f"replaying {archive.path} at http://127.0.0.1:{port}/archive/")
        entry = next(e for e in read_cdxj(archive.manifests / CDXJ_NAME)
                     if e.fields.get("status") == "200" and e.fields["mime"] == "text/html")
        status, _, data = get(f"http://127.0.0.1:{port}/archive/{entry.timestamp}id_/{entry.url}")
        assert status == 200 and b"<html" in data.lower()
        assert _listening(port) == ["0100007F"]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert _listening(port) == []  # pywb went with it


def test_cli_replay_without_pywb_says_what_to_install(archive: ArchiveRoot) -> None:
    # pywb made unimportable in the child, as where the extra is not installed
    code = ("import sys; sys.modules['pywb'] = None; from archiver.cli import main; "
            "sys.argv = ['archiver', '--root', sys.argv[1], 'replay']; main()")
    out = subprocess.run([sys.executable, "-c", code, str(archive.path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "archiver: error: archiver replay needs the replay extra: "
        "pip install 'archiver[replay]'"]


def test_a_port_in_use_is_one_clear_line(archive: ArchiveRoot, server: ReplayServer) -> None:
    out = subprocess.run([sys.executable, "-m", "archiver", "--root", str(archive.path),
                          "replay", "--port", str(server.port)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"archiver: error: 127.0.0.1:{server.port}: the port is in use; choose another "
        "with --port"]


# -- a real browser ------------------------------------------------------------


def _screenshot(url: str, dest: Path, profile: Path) -> bytes:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("needs Debian's chromium (apt-get install chromium; .ci/run installs it)")
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={profile}", f"--screenshot={dest}",
           "--window-size=1024,768", "--virtual-time-budget=5000", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HOME": str(profile)})
    assert dest.is_file(), out.stderr[-2000:]
    return dest.read_bytes()


def test_chromium_renders_a_replayed_page(archive: ArchiveRoot, server: ReplayServer,
                                          tmp_path: Path) -> None:
    entry = next(e for e in read_cdxj(archive.manifests / CDXJ_NAME)
                 if e.url.endswith("kazakhs-11132017.html"))
    started = time.monotonic()
    png = _screenshot(server.url_for(entry.url, entry.timestamp, "mp_"), tmp_path / "page.png",
                      tmp_path / "profile")
    width, height, rows = png_pixels(png)
    assert (width, height) == (1024, 768)
    page = luma_variance(rows)
    # The same browser on a blank page: the check can fail.
    blank = luma_variance(png_pixels(_screenshot("about:blank", tmp_path / "blank.png",
                                                   tmp_path / "profile"))[2])
    assert blank == 0
    assert page > 100, f"the replayed page rendered (nearly) blank: variance {page:.1f}"
    assert time.monotonic() - started < 120
