"""Cost of the evidence log (issue 13, point 5), on a synthetic log. Run by hand:

    python tests/bench/bench_evidence.py [--records 1000000] [--batch 100000]

Appends ``--records`` synthetic record leaves (fields shaped like a capture's:
our file names, urn:uuid record IDs, ~70-character URIs, WARC dates, member
hashes) in runs of ``--batch``, each run ending in a checkpoint as a capture
run does, and reports:

* checkpoint time per run of ``--batch`` records (leaf hashing, appending,
  fsync, the state cache and the checkpoint event), and the same with the
  state cache gone (the whole log re-read: what a run after a crash pays);
* the log's size per million records;
* the time to bring the whole log in line with a manifest and index that
  agree with it (what ``archiver manifest`` and the first run after a crash
  between a manifest's commit and the log's append pay);
* ``verify --history`` time (:func:`check_log`: the tree recomputed, every
  checkpoint's root and consistency proof checked);
* an inclusion proof's size and time in the final tree.

Never collected by pytest (no ``test_`` names).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from archiver.fixity.evidencelog import STATE_NAME, EvidenceLog, check_log
from archiver.fixity.manifest import ManifestEntry, format_line
from archiver.fixity.merkle import TreeStore, leaf_hash, verify_inclusion
from archiver.fixity.recordindex import write_group
from archiver.root import ArchiveRoot
from archiver.warc.scan import RecordDigest, WarcScan


def synthetic(n: int, start: int, rng: random.Random) -> list[tuple[str, RecordDigest]]:
    out = []
    per_file = 20_000  # ~1 GB WARCs of ~50 KB records
    offset = 0
    for i in range(start, start + n):
        path = (f"warcs/2026/11/24/archiver-20261124{i // per_file:06d}123456-"
                f"{i // per_file:05d}-capture-host.warc.gz")
        kind = ("warcinfo", "request", "response", "metadata")[i % 4 if i % per_file else 0]
        length = rng.randint(300, 90_000)
        uri = None if kind == "warcinfo" else (
            f"https://www.example-news-site.org/news/2026/11/{rng.getrandbits(64):x}/"
            f"article-{i}.html")
        rec = RecordDigest(offset, length, f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}>",
                           kind, uri, "2026-11-24T15:15:14.123456Z", "", None,
                           member_sha256=hashlib.sha256(i.to_bytes(8, "big")).hexdigest())
        offset += length
        out.append((path, rec))
    return out


def _fake_manifest(root: ArchiveRoot) -> Callable[[], dict[str, str]]:
    """A manifest and records index that agree with the log, built from it."""
    groups: dict[str, list[RecordDigest]] = {}
    with open(root.log_path, "rb") as fh:
        for line in fh:
            obj = json.loads(line)
            groups.setdefault(obj["file"], []).append(RecordDigest(
                obj["offset"], obj["length"], obj["record_id"], obj["type"], obj["target_uri"],
                obj["date"], "", None, member_sha256=obj["member_sha256"]))
    listed = {path: hashlib.sha256(path.encode()).hexdigest() for path in groups}
    with open(root.records_path, "wb") as out:
        for path in sorted(groups):
            write_group(out, path, WarcScan(listed[path], 0, groups[path]))
    with open(root.manifest_path, "wb") as out:
        for path in sorted(listed):
            out.write(format_line(ManifestEntry(path, listed[path])))
    return lambda: dict(listed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=100_000)
    args = ap.parse_args()
    rng = random.Random(13)
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as tmp:
        root = ArchiveRoot(tmp)
        root.ensure()
        runs = []
        with root.writer_lock():
            for start in range(0, args.records, args.batch):
                leaves = synthetic(min(args.batch, args.records - start), start, rng)
                t0 = time.perf_counter()
                with EvidenceLog.open(root, dict) as elog:
                    for path, rec in leaves:
                        elog.append_records(path, [rec])
                    elog.commit()
                runs.append(time.perf_counter() - t0)
            size = root.log_path.stat().st_size
            os.unlink(Path(tmp) / "manifests" / STATE_NAME)
            t0 = time.perf_counter()
            with EvidenceLog.open(root, dict) as elog:
                elog.commit()
            reread = time.perf_counter() - t0
        listing = _fake_manifest(root)
        os.unlink(Path(tmp) / "manifests" / STATE_NAME)
        with root.writer_lock():
            t0 = time.perf_counter()
            with EvidenceLog.open(root, listing) as elog:  # reads and compares every leaf
                assert elog.tree_size == args.records
            in_line = time.perf_counter() - t0
        t0 = time.perf_counter()
        found = check_log(root)
        history = time.perf_counter() - t0
        assert found.ok and found.leaves == args.records, found.problems
        with TreeStore() as store, open(root.log_path, "rb") as fh:
            for line in fh:
                store.append(leaf_hash(line[:-1]))
            index = args.records // 3
            t0 = time.perf_counter()
            proof = store.inclusion_proof(index)
            proof_time = time.perf_counter() - t0
            assert verify_inclusion(store.leaf(index), index, store.size, proof, store.root())
    per_batch = sorted(runs)[len(runs) // 2]
    print(f"records: {args.records:,} in {len(runs)} runs of {args.batch:,}, "
          f"python {sys.version.split()[0]}")
    print(f"checkpoint run ({args.batch:,} records appended + checkpoint): median "
          f"{per_batch:.2f} s, max {max(runs):.2f} s "
          f"({per_batch / args.batch * 1e6:.1f} µs a record)")
    print(f"after a crash (state cache gone, {args.records:,}-leaf log re-read): {reread:.2f} s")
    print(f"bringing the {args.records:,}-leaf log in line with manifest and index "
          f"(nothing to append): {in_line:.2f} s")
    print(f"log size: {size / 1e6:.0f} MB, {size / args.records * 1e6 / 1e6:.0f} MB per "
          f"million records ({size / args.records:.0f} bytes a leaf)")
    print(f"verify --history (tree recomputed, {found.checkpoints} checkpoints and their "
          f"consistency proofs checked): {history:.2f} s")
    print(f"inclusion proof in a {args.records:,}-leaf tree: {len(proof)} hashes, "
          f"{len(proof) * 32} bytes, {proof_time * 1e3:.2f} ms to read from the tree store")


if __name__ == "__main__":
    main()
