"""Package size of `archiver prove` and time of `verify --evidence` in a large archive.

    python tests/bench/bench_timestamp.py [--records 1000000] [--tokens 3]

A real capture of one page (real WARC, catalog, evidence log and checkpoint),
then N more log leaves (about 330 bytes each, as capture writes them, naming
records of WARCs that are not made: neither command reads them) and a
checkpoint over all of them, timestamped by a real `openssl ts -reply` TSA
on loopback (tests/tsa.py) a few times, the last a renewal. Then
`archiver prove URL` (inclusion proof into the capture's own checkpoint,
consistency proof from there to the N-leaf one) and `archiver verify
--evidence` are timed as subprocesses, and the package's size is reported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from servers import HTTPTestServer
from tsa import PKI, TimeStampAuthority

from archiver import ArchiveRoot
from archiver.fixity.events import EventType, append_event, utc_now
from archiver.fixity.evidencelog import Checkpoint, canonical, last_checkpoint
from archiver.fixity.merkle import Frontier, leaf_hash


def grow_log(root: ArchiveRoot, leaves: int) -> None:
    """Append ``leaves`` synthetic record leaves to the log and a checkpoint over all."""
    frontier = Frontier()
    with open(root.log_path, "rb") as fh:
        for line in fh:
            frontier.append(leaf_hash(line.rstrip(b"\n")))
    per_file = 100_000
    with open(root.log_path, "ab") as out:
        for n in range(leaves):
            line = canonical({
                "kind": "record", "offset": (n % per_file) * 2000, "length": 2000,
                "file": f"warcs/2026/11/24/archiver-20261124000000000000-{n // per_file:05d}"
                        "-bench.warc.gz",
                "record_id": f"<urn:uuid:00000000-0000-4000-8000-{n:012d}>",
                "type": ("request", "response", "metadata")[n % 3],
                "target_uri": f"https://news.example/{n // 3}", "date": "2026-11-24T00:00:00Z",
                "member_sha256": hashlib.sha256(n.to_bytes(8, "big")).hexdigest()})
            out.write(line + b"\n")
            frontier.append(leaf_hash(line))
    last = last_checkpoint(root)
    cp = Checkpoint(frontier.size, frontier.root().hex(), utc_now(),
                    last.sha256 if last else None)
    append_event(root, EventType.LOG_CHECKPOINT, outcome="success", obj="manifests/log.jsonl",
                 detail=f"{frontier.size} leaves (benchmark)", extra={
                     "checkpoint": cp.as_dict(), "checkpoint_sha256": cp.sha256})


def timed(*args: str) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "archiver", *args], capture_output=True,
                          text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"archiver {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--tokens", type=int, default=3, help="timestamp runs (the last renews)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, HTTPTestServer() as web:
        path = Path(tmp) / "archive"
        web.route("/report", b"<html><body><h1>Report</h1><p>" + b"Words. " * 3000 + b"</p>")
        timed("--root", str(path), "capture", web.url("/report"), "--delay", "0")
        root = ArchiveRoot(path)
        grow_log(root, args.records)
        size = root.log_path.stat().st_size
        tsa = TimeStampAuthority(web, PKI(Path(tmp) / "pki"), chain=True)
        timed("--root", str(path), "config", "tsa", "add", tsa.url, "--ca", str(tsa.pki.ca))
        for n in range(args.tokens):
            renew = ["--renew"] if n == args.tokens - 1 and n > 0 else []
            took = timed("--root", str(path), "timestamp", *renew)
            print(f"timestamp{' --renew' if renew else ''}: {took:.2f}s")
        leaves = last_checkpoint(root)
        took = timed("--root", str(path), "verify", "--evidence")
        print(f"verify --evidence, {leaves.tree_size if leaves else 0:,} leaves "
              f"({size / 1e6:.0f} MB log), {args.tokens} token runs: {took:.2f}s")
        pkg = Path(tmp) / "pkg"
        took = timed("--root", str(path), "prove", web.url("/report"), "-o", str(pkg))
        total = sum(p.stat().st_size for p in pkg.iterdir())
        proof = json.loads((pkg / "proof.json").read_text())
        hashes = sum(len(r["inclusion_proof"]) for r in proof["records"]) + sum(
            len(c["consistency_proof"]) for c in proof["checkpoints"])
        print(f"prove: {took:.2f}s; package {total:,} bytes in {len(list(pkg.iterdir()))} "
              f"files ({(pkg / 'capture.warc.gz').stat().st_size:,} of WARC, "
              f"{(pkg / 'proof.json').stat().st_size:,} of proof.json with {hashes} hashes)")


if __name__ == "__main__":
    main()
