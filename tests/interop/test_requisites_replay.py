"""Page requisites, seen as a reader would: a page captured with ``-p``, replayed
through pywb and rendered by Debian's chromium, shows its image where the page
places it; captured without ``-p``, the same place stays blank (so the check can
fail). The PNG is decoded here, as in test_replay."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from pngcheck import png_pixels
from servers import HTTPTestServer, Response
from test_replay import REPLAY_EXTRA, _screenshot

from archiver import ArchiveRoot, CaptureSettings, capture_urls
from archiver.interop.replay import ReplayServer

pytest.importorskip("pywb", reason=REPLAY_EXTRA)

PAGE = (b"<!DOCTYPE html><html><head><title>Detention centre</title>"
        b"<style>body{margin:0;background:#fff}</style></head><body>"
        b'<img src="/satellite.png" style="position:absolute;left:100px;top:100px;'
        b'width:300px;height:300px">'
        b"<p style='margin-top:500px'>Satellite image of the facility.</p></body></html>")


def _red_png(size: int = 30) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\0" + b"\xdd\x11\x22" * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _red_box(rows: list[bytes]) -> tuple[int, int, int, int, int]:
    """The bounding box (x0, y0, x1, y1) of the image's red pixels, and their count,
    sampled every 5 pixels."""
    xs, ys = [], []
    for y in range(0, len(rows), 5):
        row = rows[y]
        for x in range(0, len(row) // 3, 5):
            r, g, b = row[3 * x: 3 * x + 3]
            if r > 180 and g < 80 and b < 90:
                xs.append(x)
                ys.append(y)
    if not xs:
        return 0, 0, 0, 0, 0
    return min(xs), min(ys), max(xs) + 5, max(ys) + 5, len(xs)


def _render(tmp_path: Path, web: HTTPTestServer, requisites: bool, name: str) -> list[bytes]:
    root = ArchiveRoot(tmp_path / name)
    url = web.url("/story.html")
    settings = CaptureSettings(delay=0.0, retries=0, page_requisites=requisites)
    report = capture_urls(root, [url], settings)
    assert report.failed == 0
    with ReplayServer(root) as replay:
        png = _screenshot(replay.url_for(url, "", "mp_"), tmp_path / f"{name}.png",
                          tmp_path / f"{name}-profile")
    width, height, rows = png_pixels(png)
    assert (width, height) == (1024, 768)
    return rows


def test_a_page_captured_with_requisites_replays_with_its_image(tmp_path: Path,
                                                                  web: HTTPTestServer) -> None:
    web.route("/story.html", PAGE)
    web.route("/satellite.png", Response(body=_red_png(), content_type="image/png"))
    with_p = _render(tmp_path, web, True, "with")
    without_p = _render(tmp_path, web, False, "without")
    x0, y0, x1, y1, count = _red_box(with_p)
    # A 300 x 300 block of the image's red, 100 px from the left as placed (pywb
    # may push the page down by its own banner, so the top is not pinned).
    assert abs((x1 - x0) - 300) <= 10 and abs((y1 - y0) - 300) <= 10, (x0, y0, x1, y1)
    assert abs(x0 - 100) <= 5 and count >= 0.95 * (300 // 5) ** 2
    assert _red_box(without_p)[4] == 0  # not captured: not shown
