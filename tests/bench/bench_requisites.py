"""Page requisites benchmark: ``archiver capture -p`` against ``wget -p --warc-file`` (run by hand).

    python tests/bench/bench_requisites.py                 # 100 pages x 20 requisites, 3 rounds
    python tests/bench/bench_requisites.py --pages 300 --rounds 1

Serves a generated news site on one loopback host (127.0.0.1) from a small
asyncio server in a child process (files in memory, keep-alive, a
Content-Type per extension, so both tools parse the stylesheet). Each page
needs 20 requisites, shared across pages as real sites share them: one
stylesheet (whose ``url()``s name a background image and a font), a
script, a logo and a favicon on every page, and 14 photos drawn from a pool
of 60 (an ``img`` with a ``srcset`` among them). In the same run it captures
the site with ``archiver capture -p -i urls.txt --delay 0`` and with
``wget -p --warc-file=… -i urls.txt``, alternating, and prints pages/s, the
response records each WARC holds, CPU seconds of each tool, the median of
``--rounds``, and archiver's ratio to wget. Only loopback is used;
everything runs in a temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bench_capture import (
    WORDS,
    count_responses,
    free_port,
    serve_forever,
    stop_child,
    timed,
    wait_ready,
)

HOST = "127.0.0.1"
POOL = 60  # photos the pages draw from
PHOTOS_PER_PAGE = 14
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css", ".js": "text/javascript",
         ".png": "image/png", ".jpg": "image/jpeg", ".ico": "image/x-icon",
         ".woff2": "font/woff2", ".json": "application/json"}


def make_site(folder: Path, pages: int, seed: int = 2017) -> list[str]:
    """Write the pages and their requisites; return the pages' paths."""
    rng = random.Random(seed)

    def write(path: str, data: bytes) -> None:
        target = folder / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    write("/static/site.css", b"body { font-family: Body; background: url(bg.png) }\n"
          b"@font-face { font-family: Body; src: url(/static/body.woff2) format('woff2') }\n"
          + b".story p { margin: 0 0 1em }\n" * 200)
    write("/static/app.js", b"document.documentElement.className = 'js';\n" * 300)
    for name, size in (("/static/logo.png", 8_000), ("/static/bg.png", 20_000),
                       ("/static/body.woff2", 40_000), ("/favicon.ico", 2_000)):
        write(name, rng.randbytes(size))
    for n in range(POOL):
        write(f"/img/photo-{n:02d}.jpg", rng.randbytes(rng.randint(5_000, 30_000)))
        write(f"/img/photo-{n:02d}-2x.jpg", rng.randbytes(rng.randint(20_000, 60_000)))
    paths = []
    for n in range(pages):
        photos = rng.sample(range(POOL), PHOTOS_PER_PAGE - 1)
        imgs = [f'<img src="/img/photo-{p:02d}.jpg" alt="">' for p in photos[1:]]
        lead = photos[0]
        # src and the srcset's largest candidate: two requisites from one img
        imgs.insert(0, f'<img src="/img/photo-{lead:02d}.jpg" srcset="/img/photo-{lead:02d}.jpg'
                       f' 1x, /img/photo-{lead:02d}-2x.jpg 2x" alt="">')
        paras = [f"<p>{' '.join(rng.choice(WORDS) for _ in range(80)).capitalize()}.</p>"
                 for _ in range(12)]
        html = (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Story {n}</title><link rel=\"stylesheet\" href=\"/static/site.css\">"
            "<link rel=\"icon\" href=\"/favicon.ico\"><script src=\"/static/app.js\"></script>"
            "</head>\n<body><header><img src=\"/static/logo.png\" alt=\"logo\"></header>\n"
            f"<main class=\"story\"><h1>Story {n}</h1>\n" + "\n".join(paras[:6]) + "\n"
            + "\n".join(imgs) + "\n" + "\n".join(paras[6:]) +
            "\n</main><footer>Bench site</footer></body></html>\n"
        )
        path = f"/news/story-{n:04d}.html"
        write(path, html.encode())
        paths.append(path)
    return paths


@contextlib.contextmanager
def site_server(root: Path) -> Iterator[int]:
    port = free_port([HOST])
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(root), str(port)],
                            stdin=subprocess.DEVNULL)
    try:
        wait_ready([HOST], port, proc)
        yield port
    finally:
        stop_child(proc, signal.SIGTERM)


@dataclass
class Run:
    tool: str
    seconds: float
    cpu: float
    responses: int
    ok: bool
    note: str = ""


def run_archiver(urls: Path, work: Path, pages: int) -> Run:
    root = work / "archiver-root"
    shutil.rmtree(root, ignore_errors=True)
    cmd = [sys.executable, "-m", "archiver", "--root", str(root), "capture", "-p",
           "-i", str(urls), "--delay", "0"]
    status, seconds, cpu, tail = timed(cmd, work)
    responses = sum(count_responses(p) for p in sorted((root / "warcs").rglob("*.warc.gz")))
    failed = re.search(r"requisites: captured \d+, revisits \d+, failed (\d+)", tail)
    ok = status == 0 and failed is not None and failed.group(1) == "0"
    return Run("archiver", seconds, cpu, responses, ok, "" if ok else f"exit {status}: {tail}")


def run_wget(urls: Path, work: Path, pages: int) -> Run:
    out = work / "wget"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    cmd = ["wget", "-q", "-p", "--warc-file", str(out / "bench"), "-i", str(urls),
           "-P", str(out / "files")]
    status, seconds, cpu, _ = timed(cmd, work)
    responses = count_responses(out / "bench.warc.gz")
    ok = status == 0 and responses >= pages
    return Run("wget", seconds, cpu, responses, ok, "" if ok else f"exit {status}")


T = TypeVar("T")


def interleaved(site: Path, tmp: Path, paths: Sequence[str], rounds: int,
                tools: Sequence[Callable[[Path], T]]) -> list[list[T]]:
    """Serve ``site`` on loopback and run each tool on the file of its page
    URLs ``rounds`` times, the tools in turn in every round, so drift in the
    machine's load hits them alike; each tool's runs."""
    runs: list[list[T]] = [[] for _ in tools]
    with site_server(site) as port:
        urls = tmp / "urls.txt"
        urls.write_text("".join(f"http://{HOST}:{port}{p}\n" for p in paths))
        for _ in range(rounds):
            for tool, done in zip(tools, runs, strict=True):
                done.append(tool(urls))
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)  # internal: child server
    args = parser.parse_args(argv)
    if args.serve:
        serve_forever(Path(args.serve[0]), int(args.serve[1]), [HOST], types=TYPES)
        return 0
    if shutil.which("wget") is None:
        print("wget is not installed (apt-get install wget)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-requisites-") as tmp_name:
        tmp = Path(tmp_name)
        site = tmp / "site"
        paths = make_site(site, args.pages)
        megabytes = sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 1e6
        wget_version = subprocess.run(["wget", "--version"], capture_output=True, text=True,
                                      check=False).stdout.splitlines()[0]
        ours, theirs = interleaved(site, tmp, paths, args.rounds, (
            lambda urls: run_archiver(urls, tmp, args.pages),
            lambda urls: run_wget(urls, tmp, args.pages)))
    print(f"{args.pages} pages x 20 requisites (site {megabytes:.1f} MB, {POOL} photos shared), "
          f"one host, median of {args.rounds}; {wget_version}")
    print(f"  {'tool':<10}{'pages/s':>9}{'responses':>11}{'CPU s':>8}  complete")
    figures = {}
    for tool, runs in (("archiver", ours), ("wget", theirs)):
        seconds = statistics.median(r.seconds for r in runs)
        cpu = statistics.median(r.cpu for r in runs)
        figures[tool] = args.pages / seconds
        print(f"  {tool:<10}{args.pages / seconds:>9.1f}{runs[-1].responses:>11}{cpu:>8.1f}"
              f"  {all(r.ok for r in runs)}")
        for run in runs:
            if not run.ok:
                print(f"  ! {run.tool}: {run.note}")
    print(f"  ratio archiver/wget pages/s: {figures['archiver'] / figures['wget']:.2f}x")
    return 0 if all(r.ok for r in ours + theirs) else 1


if __name__ == "__main__":
    sys.exit(main())
