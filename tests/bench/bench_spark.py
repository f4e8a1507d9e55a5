"""Spark benchmark: pages/s of ``archiver spark extract`` in ``local[2]`` against
``archiver extract --jobs 2`` on the same 5,000 WARC records, and the Spark
job's start-up cost (run by hand; never collected by pytest)::

    python tests/bench/bench_spark.py [--records 5000] [--dir /tmp] [--repeat 2]

The records are :func:`bench_scale.make_records`' (extraction-web pages, in
WARC files under a temp folder), and ``extract --jobs 2`` is timed by
:func:`bench_scale.run_extract`, so both figures measure the same thing. The
Spark side is one whole process as a user runs it (``python -m archiver spark
extract --master local[2]``): interpreter start-up, the JVM, the job, the
Parquet write. Its start-up cost is measured apart, in a process that starts a
``local[2]`` session and runs a trivial two-task job (the fixed price of every
Spark run before a page is read). Rows are checked: the Parquet articles must
be the JSON Lines' (same text sha256 per URL).

On a shared machine wall clock measures the neighbours too, so CPU seconds
are the main figure: user + system of each command's whole process tree (the
JVM and its Python workers included, read from /proc while they run, as a
JVM's workers are never reaped where rusage would count them), and pages per
CPU second; wall clock is given beside them. The median of ``--repeat``
alternating runs is reported, with ratios from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from bench_scale import make_records, run_extract  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(REPO), "SPARK_LOCAL_IP": "127.0.0.1"}

STARTUP = """
import json, sys, time
t0 = time.perf_counter()
from archiver import spark as job
s = job.session("local[2]")
t1 = time.perf_counter()
s.sparkContext.parallelize(range(2), 2).map(lambda x: x + 1).count()
t2 = time.perf_counter()
s.stop()
print(json.dumps({"session_s": t1 - t0, "first_job_s": t2 - t1}))
"""


class TreeCPU:
    """CPU seconds of a process and all its descendants, read from /proc while they
    run (a JVM's Python workers are not reaped where rusage would count them):
    the last value seen per process, polled every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval = pid, interval
        self.seen: dict[int, float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self.done.is_set():
            stats: dict[int, tuple[int, float]] = {}
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    raw = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                fields = raw[raw.rindex(")") + 2:].split()
                stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
            tree = {self.pid}
            grew = True
            while grew:
                more = {p for p, (ppid, _) in stats.items() if ppid in tree} - tree
                grew = bool(more)
                tree |= more
            for p in tree:
                if p in stats:
                    self.seen[p] = max(self.seen.get(p, 0.0), stats[p][1])
            self.done.wait(self.interval)

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        return sum(self.seen.values())


def _timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds of the process tree, and stdout of one command."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)
    cpu = TreeCPU(proc.pid)
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    tree_cpu = cpu.stop()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd[:5])} failed ({proc.returncode}): {err.decode()[-800:]}")
    return seconds, tree_cpu, out.decode()


def run_startup() -> dict[str, float]:
    wall, cpu, out = _timed([sys.executable, "-c", STARTUP])
    figures = json.loads(out.strip().splitlines()[-1])
    return {"wall_s": wall, "cpu_s": cpu, **figures}


def run_spark(warcs: list[Path], out: Path) -> tuple[float, float, list[dict[str, object]]]:
    import pyarrow.parquet as pq

    shutil.rmtree(out, ignore_errors=True)
    wall, cpu, _ = _timed([sys.executable, "-m", "archiver", "spark", "extract",
                           "--master", "local[2]", "-o", str(out), *map(str, warcs)])
    return wall, cpu, pq.read_table(out).to_pylist()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--dir", type=Path, default=None, help="where the WARCs go (a temp folder)")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    jobs2: list[tuple[float, float, int]] = []
    spark: list[tuple[float, float, int]] = []
    startup: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-spark-") as tmp:
        work = Path(tmp)
        warcs = make_records(work / "warcs", args.records)
        for _ in range(args.repeat):
            startup.append(run_startup())
            timing = run_extract(warcs, 2, work / "out-2.jsonl")
            jobs2.append((timing.seconds, timing.cpu, timing.pages))
            wall, cpu, rows = run_spark(warcs, work / "out.parquet")
            articles = [r for r in rows if r["error"] is None]
            spark.append((wall, cpu, len(articles)))
            # The same articles both ways (text sha256 per URL).
            ours = sorted((r["provenance"]["target_uri"], r["provenance"]["text_sha256"])  # type: ignore[index]
                          for r in articles)
            lines = [json.loads(x) for x in timing.output.decode().splitlines()]
            theirs = sorted((x["provenance"]["target_uri"], x["provenance"]["text_sha256"])
                            for x in lines)
            if ours != theirs:
                raise SystemExit("spark extract's articles differ from extract --jobs 2's")
    med = statistics.median
    pages = spark[0][2]
    figures = {
        "pages": pages,
        "jobs2_wall_s": med(t[0] for t in jobs2), "jobs2_cpu_s": med(t[1] for t in jobs2),
        "spark_wall_s": med(t[0] for t in spark), "spark_cpu_s": med(t[1] for t in spark),
        "startup_wall_s": med(s["wall_s"] for s in startup),
        "startup_session_s": med(s["session_s"] for s in startup),
        "startup_first_job_s": med(s["first_job_s"] for s in startup),
        "startup_cpu_s": med(s["cpu_s"] for s in startup),
    }
    figures["jobs2_pages_per_s"] = pages / figures["jobs2_wall_s"]
    figures["spark_pages_per_s"] = pages / figures["spark_wall_s"]
    figures["spark_pages_per_s_after_startup"] = pages / (
        figures["spark_wall_s"] - figures["startup_wall_s"])
    figures["spark_vs_jobs2"] = figures["spark_pages_per_s"] / figures["jobs2_pages_per_s"]
    figures["jobs2_pages_per_cpu_s"] = pages / figures["jobs2_cpu_s"]
    figures["spark_pages_per_cpu_s"] = pages / figures["spark_cpu_s"]
    figures["spark_pages_per_cpu_s_after_startup"] = pages / (
        figures["spark_cpu_s"] - figures["startup_cpu_s"])
    figures["spark_vs_jobs2_cpu"] = (figures["spark_pages_per_cpu_s"]
                                     / figures["jobs2_pages_per_cpu_s"])
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}, indent=2))
    print(f"per CPU second: spark {figures['spark_pages_per_cpu_s']:.1f} pages "
          f"({figures['spark_pages_per_cpu_s_after_startup']:.1f} after start-up), "
          f"extract --jobs 2 {figures['jobs2_pages_per_cpu_s']:.1f}: "
          f"{figures['spark_vs_jobs2_cpu']:.2f}x; start-up {figures['startup_cpu_s']:.1f} CPU s")
    print(f"spark local[2]: {figures['spark_pages_per_s']:.1f} pages/s "
          f"({figures['spark_pages_per_s_after_startup']:.1f} after start-up), extract --jobs 2: "
          f"{figures['jobs2_pages_per_s']:.1f} pages/s: {figures['spark_vs_jobs2']:.2f}x; "
          f"Spark start-up {figures['startup_wall_s']:.1f} s wall "
          f"(median of {args.repeat}, {pages} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
