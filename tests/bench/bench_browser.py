"""Browser capture benchmark: ``archiver capture --browser`` against Playwright alone (run by hand).

    python tests/bench/bench_browser.py                 # 20 pages, 3 rounds
    python tests/bench/bench_browser.py --pages 40 --rounds 1

Serves a generated site of JavaScript-built pages on 127.0.0.1 from a small
asyncio server in a child process (bench_capture's ``serve_forever``): each
page's HTML has no article; a script fetches it as JSON and writes it in,
and the page has a stylesheet and two images. In the same run, alternating,
it loads the pages with

* ``archiver capture --browser -i urls.txt --delay 0``: every request through
  archiver's recording proxy, into WARCs, with a screenshot and the DOM; and
* Playwright alone, in a child process, doing the same work with the same
  Chromium and flags (load, wait for the network to go idle, full-page
  screenshot, DOM, title, links) and recording nothing,

and prints pages/s and CPU seconds per page (the tool's process and all its
children: Python, Playwright's driver, Chromium) for each, the median of
``--rounds``, and the recording overhead. Only loopback is used; everything
runs in a temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench_capture import WORDS, Run, timed
from bench_requisites import interleaved

# The smallest valid PNG (1x1), for the images: decoding cost is not the point.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2a4b3d5"
                    "0000000049454e44ae426082")


def make_site(folder: Path, pages: int) -> list[str]:
    """Write the pages, their JSON and requisites; return the pages' paths."""
    (folder / "api").mkdir(parents=True)
    (folder / "img").mkdir()
    (folder / "style.css").write_text("body{font:18px serif;margin:2em}h1{color:#900}")
    (folder / "img" / "logo.png").write_bytes(PNG)
    paths = []
    for n in range(pages):
        words = [WORDS[(n * 7 + i * 13) % len(WORDS)] for i in range(900)]
        paragraphs = [" ".join(words[i:i + 90]) + "." for i in range(0, 900, 90)]
        (folder / "api" / f"{n}.json").write_text(json.dumps(
            {"headline": f"Report {n}", "paragraphs": paragraphs}))
        (folder / "img" / f"{n}.png").write_bytes(PNG)
        (folder / f"page{n}.html").write_text(f"""<!doctype html><html><head>
<title>loading</title><link rel="stylesheet" href="/style.css"></head><body>
<img src="/img/logo.png" alt=""><main id="story">Loading&hellip;</main>
<img src="/img/{n}.png" alt=""><a href="/page{(n + 1) % pages}.html">next</a>
<script>fetch('/api/{n}.json').then(r => r.json()).then(d => {{
  document.getElementById('story').innerHTML = '<h1>' + d.headline + '</h1>' +
    d.paragraphs.map(p => '<p>' + p + '</p>').join('');
  document.title = d.headline; }});</script></body></html>""")
        paths.append(f"/page{n}.html")
    return paths


def playwright_alone(urls_file: str, timeout: float) -> int:
    """The reference: the same browser work as archiver's driver, nothing recorded."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    from archiver.capture.browser import FLAGS, VIEWPORT

    urls = Path(urls_file).read_text().split()
    done = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                     args=list(FLAGS))
        for url in urls:
            context = browser.new_context(viewport=VIEWPORT, service_workers="block")
            page = context.new_page()
            t0 = time.monotonic()
            page.goto(url, wait_until="load", timeout=timeout * 1000)
            with contextlib.suppress(PlaywrightTimeout):
                left = max(timeout - (time.monotonic() - t0), 0.1)
                page.wait_for_load_state("networkidle", timeout=left * 1000)
            shot = page.screenshot(full_page=True, type="png")
            dom = page.content()
            page.title()
            page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
            done += bool(shot) and "Report" in dom
            context.close()
        browser.close()
    print(f"rendered {done}", file=sys.stderr)
    return 0 if done == len(urls) else 1


def run_archiver(urls: Path, work: Path, pages: int) -> Run:
    root = work / "archiver-root"
    shutil.rmtree(root, ignore_errors=True)
    cmd = [sys.executable, "-m", "archiver", "--root", str(root), "capture", "--browser",
           "-i", str(urls), "--delay", "0"]
    status, seconds, cpu, tail = timed(cmd, work)
    ok = status == 0 and f"captured {pages}, revisits 0, failed 0" in tail
    return Run("archiver", seconds, cpu, ok, "" if ok else f"exit {status}: {tail}")


def run_playwright(urls: Path, work: Path, pages: int) -> Run:
    cmd = [sys.executable, __file__, "--playwright-alone", str(urls)]
    status, seconds, cpu, tail = timed(cmd, work)
    ok = status == 0 and tail == f"rendered {pages}"
    return Run("playwright", seconds, cpu, ok, "" if ok else f"exit {status}: {tail}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--playwright-alone", help=argparse.SUPPRESS)  # internal: reference
    args = parser.parse_args(argv)
    if args.playwright_alone:
        return playwright_alone(args.playwright_alone, 30.0)
    if shutil.which("chromium") is None:
        print("chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp_name:
        tmp = Path(tmp_name)
        site = tmp / "site"
        paths = make_site(site, args.pages)
        ours, theirs = interleaved(site, tmp, paths, args.rounds, (
            lambda urls: run_archiver(urls, tmp, args.pages),
            lambda urls: run_playwright(urls, tmp, args.pages)))
    print(f"{args.pages} JavaScript-built pages (HTML, JSON, CSS, 2 images each), one host, "
          f"median of {args.rounds}")
    print(f"  {'tool':<12}{'pages/s':>9}{'CPU s/page':>12}  complete")
    rate, cpu = {}, {}
    for tool, runs in (("archiver", ours), ("playwright", theirs)):
        rate[tool] = args.pages / statistics.median(r.seconds for r in runs)
        cpu[tool] = statistics.median(r.cpu for r in runs) / args.pages
        print(f"  {tool:<12}{rate[tool]:>9.2f}{cpu[tool]:>12.3f}  {all(r.ok for r in runs)}")
        for run in runs:
            if not run.ok:
                print(f"  ! {run.tool}: {run.note}")
    slower = rate["playwright"] / rate["archiver"] - 1
    costlier = cpu["archiver"] / cpu["playwright"] - 1
    print(f"  recording overhead: {slower:+.1%} time per page, {costlier:+.1%} CPU per page "
          f"(target <= 15%)")
    return 0 if all(r.ok for r in ours + theirs) else 1


if __name__ == "__main__":
    sys.exit(main())
