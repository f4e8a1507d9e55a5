"""Benchmark: ``archiver verify`` against openssl, sha256sum and bagit.py, in one run.

Not collected by pytest (tests/bench is in ``norecursedirs``). Run by hand::

    python tests/bench/bench_verify.py [--dir /tmp] [--keep] [--no-million]
    python tests/bench/bench_verify.py --ratio [--gib 1 8] [--runs 7]

``--ratio`` measures only ``verify --jobs 2`` against single-core ``openssl dgst
-sha256``, end to end, over 1 GiB and over 8 GiB in 4 WARCs each (deleted
after each case): the runs alternate (openssl, verify -j 2, verify -j 1) so
a burst of load from other processes falls on all three, and the median of
``--runs`` is reported with each run's ratio.

It builds, under a fresh temporary folder (deleted at the end unless --keep):

* *large*: 2 GB in 8 WARCs of 256 MB (32 resource records of 8 MB each);
* *single*: the same 2 GB as one WARC (gzip members concatenate), for memory;
* *small*: 20,000 WARCs of 10-100 KB (one resource record each);
* *million*: 1,000,000 empty files with a synthetic manifest and index, to
  show that the manifest comparison runs in flat memory.

Payloads are seeded random bytes in stored (level 0) gzip members, so hashing
dominates, not inflating. Every tool reads the same files from the page cache
(the data was just written and fits in RAM): this measures CPU cost, the
thing ``--jobs`` spreads. Each timing is the best of ``--repeat`` runs, wall
clock of the whole command including interpreter start-up; peak memory is
sampled from /proc every 20 ms, as the sum over the process tree and the
largest single process.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ARCHIVER = [sys.executable, "-m", "archiver"]
EMPTY_SHA = hashlib.sha256(b"").hexdigest()
MB = 1_000_000


@dataclass
class Run:
    seconds: float
    tree_mb: float
    proc_mb: float
    code: int
    #: user + system CPU seconds of the whole process tree: unlike wall time,
    #: not inflated when other work shares the machine.
    cpu: float = 0.0


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, IndexError, ValueError):
        return 0


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{current}/task/{tid}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
            except OSError:
                pass
    return out


def measure(cmd: list[str], *, cwd: Path | None = None, repeat: int = 1) -> Run:
    """Best wall time of ``repeat`` runs of ``cmd``, with its peak memory.

    A failing command stops the benchmark: a fast failure is not a result.
    """
    best: Run | None = None
    for _ in range(repeat):
        run = _measure_once(cmd, cwd)
        if run.code != 0:
            raise SystemExit(f"bench: {' '.join(cmd)} failed")
        if best is None or run.seconds < best.seconds:
            best = run
    assert best is not None
    return best


def _sample(pid: int, done: threading.Event, peak: dict[str, int]) -> None:
    while not done.is_set():
        sizes = [_rss_kb(p) for p in _descendants(pid)]
        peak["tree"] = max(peak["tree"], sum(sizes))
        peak["proc"] = max(peak["proc"], max(sizes, default=0))
        done.wait(0.02)


def _measure_once(cmd: list[str], cwd: Path | None) -> Run:
    peak = {"tree": 0, "proc": 0}
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()
    sampler = threading.Thread(target=_sample, args=(proc.pid, done, peak), daemon=True)
    sampler.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    after = os.times()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        print(f"  ! {' '.join(cmd[:4])}… exited {proc.returncode}: {err[-400:]!r}")
    cpu = (after.children_user - before.children_user
           + after.children_system - before.children_system)
    return Run(elapsed, peak["tree"] / 1024, peak["proc"] / 1024, proc.returncode, cpu)


def _label(data: bytes | memoryview) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode()


def warc_member(uri: str, payload: bytes, n: int) -> bytes:
    """One resource record as its own stored gzip member."""
    label = _label(payload)
    head = (f"WARC/1.1\r\nWARC-Type: resource\r\n"
            f"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-{n:012d}>\r\n"
            f"WARC-Target-URI: {uri}\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
            f"WARC-Block-Digest: {label}\r\nWARC-Payload-Digest: {label}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {len(payload)}\r\n\r\n")
    return gzip.compress(head.encode() + payload + b"\r\n\r\n", compresslevel=0, mtime=0)


def make_large(root: Path, rng: random.Random, files: int = 8, records: int = 32,
               size: int = 8 * MB) -> list[Path]:
    folder = root / "warcs" / "2024" / "01" / "01"
    folder.mkdir(parents=True)
    paths, n = [], 0
    for f in range(files):
        path = folder / f"archiver-large-{f:05d}.warc.gz"
        with open(path, "wb") as out:
            for _ in range(records):
                n += 1
                out.write(warc_member(f"http://example.org/{n}", rng.randbytes(size), n))
        paths.append(path)
    return paths


def make_small(root: Path, rng: random.Random, count: int = 20_000) -> None:
    for i in range(count):
        folder = root / "warcs" / "2024" / "02" / f"{i // 1000:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        payload = rng.randbytes(rng.randint(10_000, 100_000))
        (folder / f"archiver-small-{i:05d}.warc.gz").write_bytes(
            warc_member(f"http://example.org/s/{i}", payload, i))


def make_million(root: Path, count: int = 1_000_000, per_dir: int = 1000) -> None:
    """Empty files plus a manifest and index written directly (rehashing is not the point)."""
    (root / "manifests").mkdir(parents=True)
    with open(root / "manifests" / "manifest-sha256.txt", "w") as mf, \
            open(root / "manifests" / "records.jsonl", "w") as rf:
        for d in range(count // per_dir):
            folder = root / "warcs" / f"d{d:04d}"
            folder.mkdir(parents=True)
            for i in range(per_dir):
                rel = f"warcs/d{d:04d}/f{i:04d}.warc.gz"
                os.close(os.open(root / rel, os.O_CREAT | os.O_WRONLY, 0o644))
                mf.write(f"{EMPTY_SHA}  {rel}\n")
                rf.write(json.dumps({"kind": "file", "file": rel, "size": 0, "sha256": EMPTY_SHA,
                                     "records": 0}, separators=(",", ":")) + "\n")


def compile_package() -> None:
    """Byte-compile archiver as ``pip install`` does, so no run pays for it.

    An editable install leaves that to the first import, and with
    ``PYTHONDONTWRITEBYTECODE`` set (some sandboxes and CI images set it)
    every run would compile the package from source again: tens of
    milliseconds no installed copy spends, and a good part of the 1 GiB case.
    """
    import archiver as package

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(package.__file__).parent)],
                   check=True)


def archiver(root: Path, *args: str) -> list[str]:
    return [*ARCHIVER, "--root", str(root), "-q", *args]


def show(name: str, run: Run, amount: float, unit: str, base: Run | None = None) -> float:
    rate = amount / run.seconds
    ratio = f"{base.seconds / run.seconds:5.2f}x" if base else "   --"
    print(f"  {name:<46} {run.seconds:6.2f} s {rate:8,.0f} {unit:<7} {ratio} "
          f"cpu {run.cpu:5.2f} s  peak RSS {run.tree_mb:5.1f} MB tree, "
          f"{run.proc_mb:5.1f} MB largest")
    return rate


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def bench_large(top: Path, rng: random.Random, repeat: int) -> None:
    root = top / "large"
    files = make_large(root, rng)
    total = sum(p.stat().st_size for p in files)
    print(f"\nlarge: {len(files)} WARCs, {total / MB:,.0f} MB; load {_load()}")
    show("archiver manifest --jobs 2 (rebuild + index)",
         measure(archiver(root, "manifest", "--jobs", "2")), total / MB, "MB/s")
    measure(archiver(root, "export", "bagit", str(top / "large-bag")))
    rel = [str(p.relative_to(root)) for p in files]
    openssl = measure(["openssl", "dgst", "-sha256", *rel], cwd=root, repeat=repeat)
    show("openssl dgst -sha256 (1 process)", openssl, total / MB, "MB/s", openssl)
    show("sha256sum -c", measure(["sha256sum", "--quiet", "-c", "manifests/manifest-sha256.txt"],
                                 cwd=root, repeat=repeat), total / MB, "MB/s", openssl)
    show("bagit.py --validate --processes 2",
         measure(["bagit.py", "--validate", "--processes", "2", str(top / "large-bag")],
                 repeat=repeat), total / MB, "MB/s", openssl)
    for jobs in ("1", "2"):
        show(f"archiver verify --jobs {jobs}",
             measure(archiver(root, "verify", "--read-only", "--jobs", jobs), repeat=repeat),
             total / MB, "MB/s", openssl)
    show("archiver verify --records --jobs 2",
         measure(archiver(root, "verify", "--read-only", "--records", "--jobs", "2")),
         total / MB, "MB/s", openssl)
    _in_process(root, total)
    shutil.rmtree(top / "large-bag")


def _in_process(root: Path, total: int) -> None:
    """The hashing phase alone, timed inside one interpreter (no start-up)."""
    code = ("import time,sys; from archiver import ArchiveRoot, verify_archive as v;"
            "r=ArchiveRoot(sys.argv[1]); t=time.perf_counter();"
            "rep=v(r, jobs=int(sys.argv[2]), record_event=False);"
            "print(time.perf_counter()-t, rep.passed)")
    for jobs in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code, str(root), jobs], check=True,
                             capture_output=True, text=True).stdout.split()
        print(f"  {'  (in-process verify() --jobs ' + jobs + ', no start-up)':<46} "
              f"{float(out[0]):6.2f} s {total / MB / float(out[0]):8,.0f} MB/s    "
              f"passed={out[1]}")


def bench_single(top: Path, repeat: int) -> None:
    root = top / "single"
    folder = root / "warcs" / "2024" / "01" / "01"
    folder.mkdir(parents=True)
    big = folder / "archiver-single-00001.warc.gz"
    with open(big, "wb") as out:
        for part in sorted((top / "large" / "warcs").rglob("*.warc.gz")):
            with open(part, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
    total = big.stat().st_size
    print(f"\nsingle: one WARC of {total / MB:,.0f} MB (memory must stay flat)")
    show("archiver manifest (rebuild + index)", measure(archiver(root, "manifest", "--jobs", "1")),
         total / MB, "MB/s")
    show("archiver verify --jobs 1", measure(archiver(root, "verify", "--read-only", "-j", "1"),
                                             repeat=repeat), total / MB, "MB/s")
    show("archiver verify --records --jobs 1",
         measure(archiver(root, "verify", "--read-only", "--records", "-j", "1")),
         total / MB, "MB/s")
    shutil.rmtree(root)


def bench_small(top: Path, rng: random.Random, repeat: int) -> None:
    root = top / "small"
    make_small(root, rng)
    count = 20_000
    total = sum(p.stat().st_size for p in (root / "warcs").rglob("*.warc.gz"))
    print(f"\nsmall: {count:,} WARCs, {total / MB:,.0f} MB; load {_load()}")
    show("archiver manifest --jobs 2", measure(archiver(root, "manifest", "--jobs", "2")),
         count, "files/s")
    measure(archiver(root, "export", "bagit", str(top / "small-bag")))
    bagit = measure(["bagit.py", "--validate", "--processes", "2", str(top / "small-bag")],
                    repeat=repeat)
    show("bagit.py --validate --processes 2", bagit, count, "files/s", bagit)
    show("sha256sum -c", measure(["sha256sum", "--quiet", "-c", "manifests/manifest-sha256.txt"],
                                 cwd=root, repeat=repeat), count, "files/s", bagit)
    listing = root / "files.txt"
    listing.write_text("".join(f"{p.relative_to(root)}\n"
                               for p in sorted((root / "warcs").rglob("*.warc.gz"))))
    show("openssl dgst -sha256 (xargs, serial)",
         measure(["xargs", "-a", str(listing), "openssl", "dgst", "-sha256"], cwd=root,
                 repeat=repeat), count, "files/s", bagit)
    listing.unlink()
    for jobs in ("1", "2"):
        show(f"archiver verify --jobs {jobs}",
             measure(archiver(root, "verify", "--read-only", "--jobs", jobs), repeat=repeat),
             count, "files/s", bagit)
    show("archiver verify --quick",
         measure(archiver(root, "verify", "--read-only", "--quick"), repeat=repeat),
         count, "files/s", bagit)
    shutil.rmtree(top / "small-bag")


def bench_million(top: Path) -> None:
    root = top / "million"
    t0 = time.perf_counter()
    make_million(root)
    print(f"\nmillion: 1,000,000 empty files + 1,000,000-line manifest "
          f"(made in {time.perf_counter() - t0:.0f} s)")
    show("archiver verify --quick", measure(archiver(root, "verify", "--read-only", "--quick")),
         1_000_000, "files/s")
    show("archiver verify --jobs 2", measure(archiver(root, "verify", "--read-only", "-j", "2")),
         1_000_000, "files/s")
    shutil.rmtree(root)


def make_gib(root: Path, gib: int, files: int = 4) -> list[Path]:
    """``gib`` GiB of stored WARC records in ``files`` WARCs of equal size."""
    size = 8 << 20
    records = (gib << 30) // size // files
    return make_large(root, random.Random(gib), files=files, records=records, size=size)


def bench_ratio(top: Path, gib: int, runs: int) -> dict[str, float]:
    """Median wall seconds of openssl and ``verify --jobs 2/1`` over ``gib`` GiB, and ratios."""
    import statistics

    root = top / f"ratio-{gib}g"
    files = make_gib(root, gib)
    measure(archiver(root, "manifest", "--jobs", "2"))
    rel = [str(p.relative_to(root)) for p in files]
    cmds = {"openssl": ["openssl", "dgst", "-sha256", *rel],
            "verify2": archiver(root, "verify", "--read-only", "--jobs", "2"),
            "verify1": archiver(root, "verify", "--read-only", "--jobs", "1")}
    times: dict[str, list[Run]] = {k: [] for k in cmds}
    print(f"\n{gib} GiB in {len(files)} WARCs; load {_load()}")
    for _ in range(runs):
        for name, cmd in cmds.items():
            times[name].append(measure(cmd, cwd=root))
        o, v = times["openssl"][-1], times["verify2"][-1]
        print(f"  openssl {o.seconds:6.3f} s (cpu {o.cpu:5.2f})  verify -j 2 {v.seconds:6.3f} s "
              f"(cpu {v.cpu:5.2f})  ratio {o.seconds / v.seconds:4.2f}x")
    med = {k: statistics.median(r.seconds for r in v) for k, v in times.items()}
    cpu = {k: statistics.median(r.cpu for r in v) for k, v in times.items()}
    ratios = sorted(o.seconds / v.seconds for o, v in zip(times["openssl"], times["verify2"],
                                                          strict=True))
    out = {"gib": gib, "openssl_s": med["openssl"], "verify2_s": med["verify2"],
           "verify1_s": med["verify1"], "openssl_cpu": cpu["openssl"],
           "verify2_cpu": cpu["verify2"], "ratio_of_medians": med["openssl"] / med["verify2"],
           "median_ratio": statistics.median(ratios),
           "jobs1_ratio": med["openssl"] / med["verify1"]}
    print(f"  median: openssl {med['openssl']:.3f} s, verify -j 2 {med['verify2']:.3f} s, "
          f"-j 1 {med['verify1']:.3f} s; verify -j 2 is {out['ratio_of_medians']:.2f}x openssl "
          f"(median of per-run ratios {out['median_ratio']:.2f}x; -j 1 "
          f"{out['jobs1_ratio']:.2f}x); CPU s: openssl {cpu['openssl']:.2f}, "
          f"verify -j 2 {cpu['verify2']:.2f}")
    shutil.rmtree(root)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default="/tmp", help="where to make the data (default /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the data afterwards")
    parser.add_argument("--repeat", type=int, default=2, help="runs per timing (best taken)")
    parser.add_argument("--no-million", action="store_true", help="skip the 1M-file manifest")
    parser.add_argument("--ratio", action="store_true",
                        help="only verify --jobs 2 against openssl over --gib GiB")
    parser.add_argument("--gib", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--runs", type=int, default=7, help="alternating runs for --ratio")
    args = parser.parse_args()
    top = Path(tempfile.mkdtemp(prefix="archiver-bench-", dir=args.dir))
    rng = random.Random(20240101)
    print(f"data under {top}; {os.cpu_count()} CPUs; {sys.version.split()[0]}")
    compile_package()
    try:
        if args.ratio:
            for gib in args.gib:
                bench_ratio(top, gib, args.runs)
            return
        bench_large(top, rng, args.repeat)
        bench_single(top, args.repeat)
        bench_small(top, rng, args.repeat)
        if not args.no_million:
            bench_million(top)
    finally:
        if not args.keep:
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
