"""Scale benchmark: pages/s of ``archiver extract --jobs 2`` against ``--jobs 1``
on the same 5,000 WARC records (run by hand; never collected by pytest)::

    python tests/bench/bench_scale.py [--records 5000] [--dir /tmp] [--repeat 3]

The records are HTML ``response`` records made from the shared dataset
``extraction-web`` (``$ARCHIVER_DATASETS`` or ``../shared/datasets``), page after
page under distinct URLs (so every record is extracted, none left out as an
unchanged recapture), in 4 gzipped WARC files. Both runs are whole commands,
interpreter start-up included, writing JSON Lines to a file; the outputs must
be byte-identical. Wall clock is what ``--jobs`` buys; CPU seconds (the whole
process tree's user + system) show what the parallelism costs. The median of
``--repeat`` runs is reported, and the ratio from the same run.

The functions :func:`make_records` and :func:`run_extract` are meant to be
called by the Spark comparison too, so both measure the same thing.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from extract_metric import datasets_folder  # noqa: E402

ARCHIVER = [sys.executable, "-m", "archiver"]
WARC_FILES = 4


def make_records(folder: Path, records: int = 5000, files: int = WARC_FILES) -> list[Path]:
    """``records`` HTML response records from extraction-web pages, in ``files``
    WARCs under ``folder``; the pages are used in turn (a page used again gets
    a new URL). Returns the WARC paths."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    web = datasets_folder(REPO) / "extraction-web"
    pages = sorted(web.glob("*.html.gz"))
    if not pages:
        raise SystemExit(f"no pages in {web}: set ARCHIVER_DATASETS")
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"bench-{i:02d}.warc.gz" for i in range(files)]
    per_file = -(-records // files)
    made = 0
    for path in paths:
        with path.open("wb") as fh:
            writer = WARCWriter(fh, gzip=True)
            for _ in range(min(per_file, records - made)):
                page = pages[made % len(pages)]
                meta = json.loads(page.with_name(page.name[:-len(".html.gz")] + ".json")
                                  .read_text(encoding="utf-8"))
                body = gzip.decompress(page.read_bytes())
                url = f"http://bench.example/{made}/{page.name[:-len('.html.gz')]}"
                http = StatusAndHeaders("200 OK", [
                    ("Content-Type", f"text/html; charset={meta['encoding']}"),
                    ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
                writer.write_record(writer.create_warc_record(
                    url, "response", payload=io.BytesIO(body), http_headers=http))
                made += 1
    return paths


@dataclass
class Timing:
    jobs: int
    seconds: float  # wall clock, start-up included
    cpu: float  # user + system of the process tree
    pages: int
    output: bytes

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds


def run_extract(warcs: list[Path], jobs: int, out: Path, *extra: str) -> Timing:
    """One ``archiver extract --all-captures --jobs N WARC...`` run, JSON Lines to ``out``."""
    cmd = [*ARCHIVER, "extract", "--all-captures", "--jobs", str(jobs), "-o", str(out),
           *extra, *map(str, warcs)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.stderr.close()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    output = out.read_bytes()
    if code not in (0, 1):
        raise SystemExit(f"extract --jobs {jobs} failed ({code}): {err.decode()[-500:]}")
    return Timing(jobs, seconds, usage.ru_utime + usage.ru_stime, output.count(b"\n"), output)


def compare_jobs(warcs: list[Path], work: Path, repeat: int) -> dict[str, float]:
    """Median pages/s of --jobs 1 and --jobs 2 (alternating runs), and their ratio."""
    runs: dict[int, list[Timing]] = {1: [], 2: []}
    for _ in range(repeat):
        for jobs in (1, 2):
            runs[jobs].append(run_extract(warcs, jobs, work / f"out-{jobs}.jsonl"))
    if runs[1][0].output != runs[2][0].output:
        raise SystemExit("--jobs 2 output differs from --jobs 1")
    figures: dict[str, float] = {"pages": runs[1][0].pages}
    for jobs, timings in runs.items():
        figures[f"jobs{jobs}_pages_per_s"] = statistics.median(t.pages_per_s for t in timings)
        figures[f"jobs{jobs}_cpu_s"] = statistics.median(t.cpu for t in timings)
        figures[f"jobs{jobs}_wall_s"] = statistics.median(t.seconds for t in timings)
    figures["speedup"] = figures["jobs2_pages_per_s"] / figures["jobs1_pages_per_s"]
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--dir", type=Path, default=None, help="where the WARCs go (a temp folder)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-scale-") as tmp:
        work = Path(tmp)
        warcs = make_records(work / "warcs", args.records)
        figures = compare_jobs(warcs, work, args.repeat)
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}, indent=2))
    print(f"extract --jobs 2: {figures['jobs2_pages_per_s']:.1f} pages/s, --jobs 1: "
          f"{figures['jobs1_pages_per_s']:.1f} pages/s: {figures['speedup']:.2f}x "
          f"(median of {args.repeat}, {figures['pages']:.0f} pages, start-up included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
