"""Capture benchmark: ``archiver capture`` against ``wget --warc-file`` on loopback (run by hand).

    python tests/bench/bench_capture.py                    # 500 pages x ~50 KB, 3 rounds
    python tests/bench/bench_capture.py --pages 200 --rounds 1 --server asyncio
    python tests/bench/bench_capture.py --latency 0.05   # remote-like hosts: 50 ms per response

Serves a generated site of distinct HTML pages (so deduplication never
kicks in) and, in the same run, captures it with ``archiver capture -i
urls.txt --delay 0`` and with ``wget --warc-file=… -i urls.txt``: first
from one host (127.0.0.1), then spread over four loopback hosts
(127.0.0.2-5) with ``--concurrency 8`` (wget has no concurrency and runs the
same list sequentially). For each it prints pages/s, MB/s (page bytes served)
and CPU seconds per MB of the capturing process and its children (rusage
from ``wait4``), the median of ``--rounds``, and archiver's ratios to wget.
Targets (issue 2): single host >= 1x wget's pages/s; four hosts >= 3x; CPU/MB
<= wget's.

The server is nginx if it is installed (``apt-get install nginx-light`` on
Debian; one worker, sendfile, no access log), else a small asyncio server in
a child process: Python's threaded ``http.server`` would be the bottleneck on
a 2-core machine. Only loopback addresses are used; everything runs in a
temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HOSTS_MULTI = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
HOST_SINGLE = "127.0.0.1"
READY_TIMEOUT = 10.0
RUN_TIMEOUT = 600.0

WORDS = (
    "Xinjiang", "Kazakh", "Uyghur", "detention", "camp", "authorities", "county", "prefecture",
    "police", "arrested", "family", "relatives", "border", "Kazakhstan", "released", "statistics",
    "human", "rights", "group", "report", "sources", "said", "resident", "anonymous", "business",
    "traders", "assets", "frozen", "bank", "accounts", "Ili", "Yining", "Urumqi", "study",
    "center", "re-education", "crackdown", "policy", "party", "secretary", "region", "Muslim",
    "religious", "freedom", "lawyers", "court", "sentence", "prison", "church", "pastor",
    "members",
)


# ---------------------------------------------------------------------------- the site


def make_site(folder: Path, pages: int, size: int, seed: int = 2017) -> list[str]:
    """Write ``pages`` distinct HTML files of about ``size`` bytes; return their paths."""
    rng = random.Random(seed)
    paths = []
    for n in range(pages):
        path = f"/news/{n // 100:02d}/story-{n:04d}.html"
        paras, length = [], 0
        while length < size - 1200:
            para = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120))) + "."
            paras.append(f"<p>{para.capitalize()}</p>")
            length += len(para) + 8
        html = (
            f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Story {n}</title><link rel=\"stylesheet\" href=\"/s.css\"></head>\n"
            "<body><header><nav><a href=\"/\">Home</a> "
            "<a href=\"/news/\">News</a></nav></header>\n"
            f"<main><article><h1>Story {n}</h1>\n" + "\n".join(paras) +
            "\n</article></main><footer>Bench site</footer></body></html>\n"
        )
        target = folder / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------- servers


def free_port(hosts: Sequence[str]) -> int:
    """A port free on every host (nginx needs a fixed one; small race, fine for a bench)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for host in hosts[1:]:
                with socket.socket() as other:
                    other.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no common free port on the loopback hosts")


def wait_ready(hosts: Sequence[str], port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    for host in hosts:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with status {proc.returncode}")
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server not listening on {host}:{port}") from None
                time.sleep(0.05)


NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types {{ text/html html; text/css css; }}
    default_type application/octet-stream;
    charset utf-8;
    client_body_temp_path {tmp}/nginx-body;
    server {{
{listens}
        root {root};
    }}
}}
"""


@contextlib.contextmanager
def nginx_server(root: Path, hosts: Sequence[str], tmp: Path) -> Iterator[int]:
    port = free_port(hosts)
    listens = "\n".join(f"        listen {host}:{port};" for host in hosts)
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, root=root, listens=listens), encoding="utf-8")
    # -e: even the start-up error log goes to our folder, not /var/log/nginx.
    proc = subprocess.Popen(["nginx", "-p", str(tmp), "-e", str(tmp / "nginx-error.log"),
                             "-c", str(conf)], stdin=subprocess.DEVNULL)
    try:
        wait_ready(hosts, port, proc)
        yield port
    finally:
        stop_child(proc, signal.SIGQUIT)


@contextlib.contextmanager
def asyncio_server(root: Path, hosts: Sequence[str], latency: float = 0.0) -> Iterator[int]:
    port = free_port(hosts)
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(root), str(port),
                             str(latency), *hosts], stdin=subprocess.DEVNULL)
    try:
        wait_ready(hosts, port, proc)
        yield port
    finally:
        stop_child(proc, signal.SIGTERM)


def stop_child(proc: subprocess.Popen[bytes], sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def serve_forever(root: Path, port: int, hosts: Sequence[str], latency: float = 0.0,
                  types: Mapping[str, str] | None = None) -> None:
    """The fallback server: every file of ``root`` in memory, HTTP/1.1 keep-alive.

    ``latency`` delays each response, as a remote server's round trip would.
    ``types`` maps a file suffix to its Content-Type (default: every file is HTML).
    """
    files = {"/" + p.relative_to(root).as_posix(): p.read_bytes()
             for p in root.rglob("*") if p.is_file()}

    def content_type(path: str) -> str:
        if types is None:
            return "text/html; charset=utf-8"
        return types.get(Path(path).suffix, "text/plain")

    heads = {
        path: (f"HTTP/1.1 200 OK\r\nContent-Type: {content_type(path)}\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode("ascii")
        for path, body in files.items()
    }
    missing = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                target = head.split(b" ", 2)[1].decode("latin-1").split("?", 1)[0]
                body = files.get(target)
                if latency:
                    await asyncio.sleep(latency)
                writer.write(missing if body is None else heads[target] + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        servers = [await asyncio.start_server(handle, host, port) for host in hosts]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await stop.wait()
        for server in servers:
            server.close()

    asyncio.run(main())


# ---------------------------------------------------------------------------- runs


@dataclass
class Run:
    tool: str
    seconds: float
    cpu: float
    ok: bool
    note: str = ""


def timed(cmd: Sequence[str], cwd: Path) -> tuple[int, float, float, str]:
    """(exit status, wall seconds, CPU seconds of the child and its children, stderr tail)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None
    # stderr is small (one summary line); read it, then reap with wait4 for the rusage.
    err = proc.stderr.read()
    proc.stderr.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    return proc.returncode, seconds, usage.ru_utime + usage.ru_stime, tail[0]


def run_archiver(urls: Path, work: Path, concurrency: int, pages: int) -> Run:
    root = work / "archiver-root"
    shutil.rmtree(root, ignore_errors=True)
    cmd = [sys.executable, "-m", "archiver", "--root", str(root), "capture", "-i", str(urls),
           "--delay", "0", "--concurrency", str(concurrency)]
    status, seconds, cpu, tail = timed(cmd, work)
    captured = re.search(r"captured (\d+)", tail)
    ok = status == 0 and captured is not None and int(captured.group(1)) == pages
    return Run("archiver", seconds, cpu, ok, "" if ok else f"exit {status}: {tail}")


def run_wget(urls: Path, work: Path, pages: int) -> Run:
    out = work / "wget"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    cmd = ["wget", "-q", "--warc-file", str(out / "bench"), "-i", str(urls), "-O", "/dev/null"]
    status, seconds, cpu, _ = timed(cmd, work)
    responses = count_responses(out / "bench.warc.gz")
    ok = status == 0 and responses == pages
    return Run("wget", seconds, cpu, ok, "" if ok else f"exit {status}, {responses} responses")


def count_responses(path: Path) -> int:
    from warcio.archiveiterator import ArchiveIterator

    with path.open("rb") as stream:
        return sum(1 for rec in ArchiveIterator(stream) if rec.rec_type == "response")


@dataclass
class Figures:
    pages_s: float
    mb_s: float
    cpu_mb: float
    ok: bool


def summarise(runs: list[Run], pages: int, megabytes: float) -> Figures:
    seconds = statistics.median(r.seconds for r in runs)
    cpu = statistics.median(r.cpu for r in runs)
    return Figures(pages / seconds, megabytes / seconds, cpu / megabytes, all(r.ok for r in runs))


def scenario(name: str, urls: Path, work: Path, pages: int, megabytes: float,
             concurrency: int, rounds: int) -> tuple[Figures, Figures]:
    ours: list[Run] = []
    theirs: list[Run] = []
    for _ in range(rounds):  # interleaved, so drift (page cache, CPU clock) hits both alike
        ours.append(run_archiver(urls, work, concurrency, pages))
        theirs.append(run_wget(urls, work, pages))
    a, w = summarise(ours, pages, megabytes), summarise(theirs, pages, megabytes)
    print(f"\n{name}  ({pages} pages, {megabytes:.1f} MB, median of {rounds})")
    print(f"  {'tool':<10}{'pages/s':>10}{'MB/s':>9}{'CPU s/MB':>10}  complete")
    for tool, fig in (("archiver", a), ("wget", w)):
        print(f"  {tool:<10}{fig.pages_s:>10.1f}{fig.mb_s:>9.2f}{fig.cpu_mb:>10.4f}  {fig.ok}")
    print(f"  ratio archiver/wget: pages/s {a.pages_s / w.pages_s:.2f}x, "
          f"CPU/MB {a.cpu_mb / w.cpu_mb:.2f}x")
    for run in ours + theirs:
        if not run.ok:
            print(f"  ! {run.tool}: {run.note}")
    return a, w


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--size", type=int, default=50_000, help="approximate bytes per page")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8, help="archiver, four-host run")
    parser.add_argument("--server", choices=("auto", "nginx", "asyncio"), default="auto")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="delay every response (as a remote news site's round trip); "
                             "uses the asyncio server")
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)  # internal: child server
    args = parser.parse_args(argv)
    if args.serve:
        serve_forever(Path(args.serve[0]), int(args.serve[1]), args.serve[3:],
                      float(args.serve[2]))
        return 0
    if shutil.which("wget") is None:
        print("wget is not installed (apt-get install wget)", file=sys.stderr)
        return 2
    kind = "asyncio" if args.latency else args.server
    if kind == "auto":
        kind = "nginx" if shutil.which("nginx") else "asyncio"
        if kind == "asyncio":
            print("nginx not found (apt-get install nginx-light); using the asyncio server",
                  file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)  # nginx workers run as nobody and must read the site
        site = tmp / "site"
        paths = make_site(site, args.pages, args.size)
        megabytes = sum((site / p.lstrip("/")).stat().st_size for p in paths) / 1e6
        hosts = (HOST_SINGLE, *HOSTS_MULTI)
        server = (nginx_server(site, hosts, tmp) if kind == "nginx"
                  else asyncio_server(site, hosts, args.latency))
        wget_version = subprocess.run(["wget", "--version"], capture_output=True, text=True,
                                      check=False).stdout.splitlines()[0]
        print(f"server: {kind}, {args.latency * 1000:.0f} ms latency per response; archiver: "
              f"{sys.executable} -m archiver; {wget_version}; {os.cpu_count()} CPUs")
        with server as port:
            single = tmp / "urls-1host.txt"
            single.write_text("".join(f"http://{HOST_SINGLE}:{port}{p}\n" for p in paths))
            multi = tmp / "urls-4hosts.txt"
            multi.write_text("".join(f"http://{HOSTS_MULTI[n % 4]}:{port}{p}\n"
                                     for n, p in enumerate(paths)))
            a1, w1 = scenario(f"one host ({HOST_SINGLE})", single,
                              tmp, args.pages, megabytes, args.concurrency, args.rounds)
            a4, w4 = scenario(f"four hosts, archiver --concurrency {args.concurrency}", multi,
                              tmp, args.pages, megabytes, args.concurrency, args.rounds)
    valid = all(f.ok for f in (a1, w1, a4, w4))

    def verdict(met: bool) -> str:
        # A failed or incomplete run has no meaningful speed: never report it as met.
        return "INVALID (a run failed)" if not valid else "met" if met else "MISSED"

    print("\ntargets: one host >= 1x wget pages/s: "
          f"{verdict(a1.pages_s >= w1.pages_s)}; four hosts >= 3x: "
          f"{verdict(a4.pages_s >= 3 * w4.pages_s)}; CPU/MB <= wget: "
          f"{verdict(a1.cpu_mb <= w1.cpu_mb and a4.cpu_mb <= w4.cpu_mb)}")
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
