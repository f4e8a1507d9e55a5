"""Fixity verification: does the archive on disk still match its manifest?

One streaming merge of three sorted inputs (the manifest, the sizes in
``records.jsonl``, and a sorted walk of ``warcs/``) visits every path once,
so a million-line manifest is compared in flat memory. What needs hashing is
batched out to worker processes (``jobs``); what is found is classified into
the kinds of :mod:`archiver.fixity.problem`, all collected, never stopping early.

Modes: *full* rehashes every listed file; *quick* checks existence and size
(a complete WARC ends exactly where its last indexed record ends); *records*
also reads every WARC record and checks its block and payload digests
against its own headers, and every live leaf of the evidence log against the
bytes stored at its offset (``member_sha256``); *sample* hashes a seeded random share of the bytes
and checks the rest quickly. Files whose hash is wrong are then opened at
each record's recorded offset, so the report names the damaged captures.

A run appends a ``fixity check`` event to the history unless ``record_event``
is false (read-only media); it then holds the writer lock throughout, so a
capture cannot add files halfway through a check.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import BinaryIO

from ..errors import ConfigError, VerifyError
from ..hashing import sha256_file
from ..root import MANIFEST_NAME, ArchiveRoot
from ..warc.files import is_arc_name, is_imported
from ..warc.scan import (
    RecordDigest,
    WarcScan,
    describe_exception,
    record_at,
    scan_warc,
)
from .events import EventType, append_event, tag_sha256, utc_now
from .manifest import (
    DiskEntry,
    ManifestEntry,
    iter_disk,
    iter_manifest,
    os_error_text,
)
from .pool import batched, default_jobs, imap_ordered
from .problem import DamagedRecord, Problem, ProblemKind, VerifyReport
from .recordindex import FileEntry, iter_file_entries, iter_groups

__all__ = ["VerifyMode", "verify_archive"]

#: Sampling resolution: the random order is cut in this many buckets.
SAMPLE_BUCKETS = 4096


@dataclass(frozen=True, slots=True)
class _Item:
    """One path as the merge sees it: what the manifest and index expect, what is there."""

    path: str
    sha256: str | None
    size: int | None
    disk: DiskEntry | None


def _join(manifest: Iterator[ManifestEntry], sizes: Iterator[FileEntry],
          disk: Iterator[DiskEntry]) -> Iterator[_Item]:
    m, d, s = next(manifest, None), next(disk, None), next(sizes, None)
    while m is not None or d is not None:
        path = min(x.path for x in (m, d) if x is not None)
        mm = m if m is not None and m.path == path else None
        dd = d if d is not None and d.path == path else None
        while s is not None and s.path < path:
            s = next(sizes, None)
        size = s.size if mm is not None and s is not None and s.path == path else None
        yield _Item(path, mm.sha256 if mm else None, size, dd)
        if mm is not None:
            m = next(manifest, None)
        if dd is not None:
            d = next(disk, None)


@dataclass(frozen=True, slots=True)
class _Checked:
    """What a worker found for one file."""

    path: str
    sha256: str | None
    size: int | None
    error: str | None = None
    invalid: tuple[DamagedRecord, ...] = ()


def _damaged_records(n: int) -> str:
    if n == 1:
        return "1 WARC record fails its own digests or cannot be read"
    return f"{n} WARC records fail their own digests or cannot be read"


def _invalid_records(scan: WarcScan) -> tuple[DamagedRecord, ...]:
    found = [DamagedRecord(r.offset, r.record_id, r.target_uri, "; ".join(r.mismatches))
             for r in scan.records if r.mismatches]
    if scan.error:
        found.append(DamagedRecord(scan.error_offset or 0, "", None,
                                   f"cannot be parsed: {scan.error}"))
    return tuple(found)


def _check_batch(task: tuple[str, bool, list[str]]) -> list[_Checked]:
    """Worker: hash (or, with ``records``, fully scan) each file of a batch."""
    base, records, paths = task
    out = []
    for path in paths:
        full = os.path.join(base, path)
        try:
            if records:
                scan = scan_warc(full, foreign=is_imported(path))
                out.append(_Checked(path, scan.sha256, scan.size, None, _invalid_records(scan)))
            else:
                out.append(_Checked(path, *sha256_file(full)))
        except OSError as exc:
            out.append(_Checked(path, None, None, os_error_text(exc)))
    return out


def _record_reason(fh: BinaryIO, size: int, entry: RecordDigest, arc: bool) -> str | None:
    if entry.offset >= size:
        return "lost: the file ends before this record"
    if entry.offset + entry.length > size:
        return "cut off: the file ends inside this record"
    try:
        record_id, block = record_at(fh, entry.offset, entry.length, arc=arc)
    except OSError:
        raise
    except Exception as exc:  # zlib, warcio: any failure to read the member
        return f"unreadable: {describe_exception(exc)}"
    if record_id != entry.record_id:
        return f"a different record ({record_id or 'none'}) is at this offset"
    if block != entry.block_sha256:
        return f"block sha256 {block} differs from the recorded {entry.block_sha256}"
    return None


def _name_damaged(task: tuple[str, list[RecordDigest]]) -> list[DamagedRecord]:
    """Worker: which of a damaged file's indexed records no longer read back intact."""
    full, entries = task
    try:
        size = os.path.getsize(full)
        with open(full, "rb") as fh:
            arc = is_arc_name(os.path.basename(full))
            reasons = [(e, _record_reason(fh, size, e, arc)) for e in entries]
    except OSError as exc:
        return [DamagedRecord(0, "", None, f"cannot read: {os_error_text(exc)}")]
    return [DamagedRecord(e.offset, e.record_id, e.target_uri, r) for e, r in reasons if r]


class _Sample:
    """A seeded random share of the archive's bytes: which files to hash."""

    def __init__(self, percent: float, seed: int) -> None:
        self.share = percent / 100.0
        self.seed = seed
        self.cutoff = -1

    def bucket(self, path: str) -> int:
        digest = hashlib.sha256(f"{self.seed}\0{path}".encode()).digest()
        return int.from_bytes(digest[:8], "big") * SAMPLE_BUCKETS >> 64

    def plan(self, items: Iterable[_Item]) -> None:
        """First pass: cut the seeded order where the share of bytes is reached."""
        per_bucket = [0] * SAMPLE_BUCKETS
        for item in items:
            if item.sha256 is not None and item.disk is not None:
                per_bucket[self.bucket(item.path)] += _size_of(item)
        goal, total = self.share * sum(per_bucket), 0
        self.cutoff = -1
        for index, size in enumerate(per_bucket):
            if goal <= 0 or total >= goal:
                break
            total, self.cutoff = total + size, index

    def __call__(self, item: _Item) -> bool:
        return self.bucket(item.path) <= self.cutoff


def _size_of(item: _Item) -> int:
    if item.size is not None:
        return item.size
    return item.disk.size or 0 if item.disk is not None else 0


@dataclass
class _Verifier:
    """One run's state: the report being filled and the items awaiting pairing."""

    root: ArchiveRoot
    report: VerifyReport
    records: bool
    jobs: int
    select: Callable[[_Item], bool] | None = None
    missing: list[_Item] = field(default_factory=list)
    extras: list[DiskEntry] = field(default_factory=list)
    damaged: list[Problem] = field(default_factory=list)

    def _to_hash(self, items: Iterable[_Item], inflight: deque[list[_Item]]
                 ) -> Iterator[tuple[str, bool, list[str]]]:
        for batch in batched(self._classify(items), _size_of):
            inflight.append(batch)
            yield str(self.root.path), self.records, [i.path for i in batch]

    def run(self, items: Iterable[_Item]) -> None:
        inflight: deque[list[_Item]] = deque()
        # Plain hashing runs in threads (hashlib and readinto release the GIL);
        # a records scan parses in Python, so it needs processes.
        for results in imap_ordered(_check_batch, self._to_hash(items, inflight), self.jobs,
                                    threads=not self.records):
            for item, checked in zip(inflight.popleft(), results, strict=True):
                self._checked(item, checked)
        self._pair_moved()
        self._name_records()
        self.report.problems.sort(key=lambda p: (p.path, p.kind))

    def _classify(self, items: Iterable[_Item]) -> Iterator[_Item]:
        """Handle what needs no hashing; yield the listed files to hash."""
        for item in items:
            if item.sha256 is None:
                if item.disk is not None:
                    self.extras.append(item.disk)
                continue
            self.report.files += 1
            self.report.total_bytes += _size_of(item)
            if item.disk is None:
                self._absent(item)
            elif item.disk.link is not None:
                self._problem(ProblemKind.UNREADABLE, item,
                              f"cannot read: the path is a {item.disk.link_text()}")
            elif item.disk.error is not None:
                self._problem(ProblemKind.UNREADABLE, item, f"cannot read: {item.disk.error}")
            elif self.select is None or self.select(item):
                yield item
            else:
                self._quick(item)

    def _problem(self, kind: ProblemKind, item: _Item, detail: str, **extra: object) -> None:
        self.report.problems.append(Problem(
            kind, item.path, detail, expected_sha256=item.sha256,
            expected_size=item.size, **extra))  # type: ignore[arg-type]

    def _absent(self, item: _Item) -> None:
        try:
            mode = os.lstat(self.root.absolute(item.path)).st_mode
        except OSError:
            self.missing.append(item)
            return
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        self._problem(ProblemKind.UNREADABLE, item, f"cannot read: the path is {what}")

    def _quick(self, item: _Item) -> None:
        found = item.disk.size if item.disk is not None else None
        if item.size is None or found == item.size:
            self.report.ok += 1
            return
        short = found is not None and found < item.size
        kind = ProblemKind.TRUNCATED if short else ProblemKind.MODIFIED
        self._problem(kind, item, f"size {found} bytes, recorded {item.size}", found_size=found)

    def _checked(self, item: _Item, checked: _Checked) -> None:
        if checked.error is not None:
            self._problem(ProblemKind.UNREADABLE, item, f"cannot read: {checked.error}")
            return
        self.report.hashed_files += 1
        self.report.hashed_bytes += checked.size or 0
        if checked.sha256 == item.sha256:
            if checked.invalid:
                self._problem(ProblemKind.INVALID_RECORD, item,
                              _damaged_records(len(checked.invalid)),
                              found_sha256=checked.sha256,
                              found_size=checked.size, records=checked.invalid)
            else:
                self.report.ok += 1
            return
        short = item.size is not None and (checked.size or 0) < item.size
        kind = ProblemKind.TRUNCATED if short else ProblemKind.MODIFIED
        size_note = f"size {checked.size} bytes, recorded {item.size}; " if short else ""
        self.damaged.append(Problem(
            kind, item.path, f"{size_note}sha256 {checked.sha256}, manifest {item.sha256}",
            item.sha256, checked.sha256, item.size, checked.size))

    def _pair_moved(self) -> None:
        """Match missing files with extra ones by SHA-256: those moved."""
        wanted_sizes = {i.size for i in self.missing}
        candidates = [e for e in self.extras if e.error is None and e.link is None
                      and (None in wanted_sizes or e.size in wanted_sizes)] if self.missing else []
        hashes = dict(_hash_paths(self.root, [e.path for e in candidates], self.jobs))
        by_sha: dict[str, deque[str]] = {}
        for path, sha in sorted(hashes.items()):
            if sha is not None:
                by_sha.setdefault(sha, deque()).append(path)
        moved: set[str] = set()
        for item in self.missing:
            found = by_sha.get(item.sha256 or "")
            if found:
                to = found.popleft()
                moved.add(to)
                self._problem(ProblemKind.MOVED, item, _moved_detail(item.path, to), moved_to=to,
                              found_sha256=item.sha256)
            else:
                self._problem(ProblemKind.MISSING, item, "not on disk")
        for extra in self.extras:
            if extra.path not in moved:
                self.report.problems.append(_extra(extra, hashes.get(extra.path)))

    def _name_records(self) -> None:
        index = self.root.records_path
        if self.damaged and index.exists():
            wanted = {p.path: p for p in self.damaged}
            tasks = ((str(self.root.absolute(f.path)), recs)
                     for f, recs in iter_groups(index, wanted))
            paths = [f.path for f, _ in iter_groups(index, wanted)]
            for path, named in zip(paths, imap_ordered(_name_damaged, tasks, self.jobs),
                                   strict=True):
                p = wanted[path]
                wanted[path] = Problem(p.kind, p.path, p.detail, p.expected_sha256,
                                       p.found_sha256, p.expected_size, p.found_size,
                                       records=tuple(named))
            self.damaged = list(wanted.values())
        self.report.problems.extend(self.damaged)


def _moved_detail(old: str, new: str) -> str:
    if unicodedata.normalize("NFC", new) == old:
        return f"now at {new!a}: the same name in another Unicode form (NFD)"
    return f"now at {new} (same sha256)"


def _extra(entry: DiskEntry, sha: str | None) -> Problem:
    if entry.link is not None:
        return Problem(ProblemKind.EXTRA, entry.path, entry.link_text())
    if entry.error is not None:
        return Problem(ProblemKind.EXTRA, entry.path,
                       f"listed in no manifest (cannot stat: {entry.error})")
    return Problem(ProblemKind.EXTRA, entry.path, "listed in no manifest", found_sha256=sha,
                   found_size=entry.size)


def _hash_paths(root: ArchiveRoot, paths: list[str], jobs: int
                ) -> Iterator[tuple[str, str | None]]:
    tasks = ((str(root.path), False, chunk) for chunk in
             (paths[i : i + 64] for i in range(0, len(paths), 64)))
    for results in imap_ordered(_check_batch, tasks, min(jobs, max(1, len(paths) // 64))):
        for checked in results:
            yield checked.path, checked.sha256


class VerifyMode(StrEnum):
    """How much :func:`verify_archive` reads (see the module docstring)."""

    FULL = "full"
    QUICK = "quick"
    RECORDS = "records"
    SAMPLE = "sample"


def _inputs(root: ArchiveRoot, quick: bool) -> Iterator[_Item]:
    manifest = root.manifest_path
    index = root.records_path
    if not manifest.is_file():
        raise VerifyError(manifest, "no manifest; run `archiver manifest` to create one")
    if quick and not index.is_file():
        raise VerifyError(index, "a quick verification needs the record index for sizes; "
                          "run a full one")
    sizes = iter_file_entries(index) if index.is_file() else iter(())
    return _join(iter_manifest(manifest), sizes, iter_disk(root))


def verify_archive(
    root: ArchiveRoot,
    mode: VerifyMode = VerifyMode.FULL,
    *,
    sample_percent: float | None = None,
    seed: int = 0,
    jobs: int | None = None,
    record_event: bool = True,
) -> VerifyReport:
    """Check every file the manifest lists, and every file it does not.

    Returns the report of every problem found (an empty list: all intact).
    Without ``record_event`` it takes no lock and writes nothing (read-only
    media). Raises :class:`ArchiveRootError` if no archive is there (or, with
    ``record_event``, it is read-only), :class:`VerifyError` only when
    verification cannot run at all (no manifest), :class:`ManifestError`
    for a malformed manifest or index, and
    :class:`ConfigError` for a sample percentage out of range or given
    without :attr:`VerifyMode.SAMPLE` (or missing with it). ``seed`` makes a
    sample repeatable.
    """
    sample = sample_percent
    if (mode == VerifyMode.SAMPLE) != (sample is not None):
        raise ConfigError("a sample percentage goes with the sample mode, and only with it")
    if sample is not None and not 0 < sample <= 100:
        raise ConfigError(f"sample of {sample}%: give a percentage above 0, at most 100")
    root.require()
    quick, records = mode == VerifyMode.QUICK, mode == VerifyMode.RECORDS
    report = VerifyReport(mode=mode.value, started=utc_now(), sample_percent=sample,
                          seed=seed if sample is not None else None)
    lock = root.writer_lock() if record_event else contextlib.nullcontext()
    with lock:
        select: Callable[[_Item], bool] | None = None
        if quick:
            select = _never
        elif sample is not None:
            sampler = _Sample(sample, seed)
            sampler.plan(_inputs(root, quick))
            select = sampler
        run = _Verifier(root, report, records, jobs or default_jobs(), select)
        run.run(_inputs(root, quick))
        if records:
            report.problems.extend(_log_mismatches(root))
            report.problems.sort(key=lambda p: (p.path, p.kind))
        report.manifest_sha256 = tag_sha256(root.manifest_path)
        report.finished = utc_now()
        if record_event:
            _record(root, report)
    return report


def _log_mismatches(root: ArchiveRoot) -> list[Problem]:
    """One ``log-mismatch`` problem per file whose stored records differ from their leaves."""
    by_file: dict[str, list[DamagedRecord]] = {}
    from .evidencelog import check_members  # (records mode only: spare the start-up)

    for bad in check_members(root):
        by_file.setdefault(bad.file, []).append(
            DamagedRecord(bad.offset, bad.record_id, bad.target_uri, bad.reason))
    return [Problem(ProblemKind.LOG_MISMATCH, path,
                    f"{len(recs)} record(s) differ from the bytes the evidence log recorded",
                    records=tuple(recs)) for path, recs in sorted(by_file.items())]


def _never(item: _Item) -> bool:
    return False


def _record(root: ArchiveRoot, report: VerifyReport) -> None:
    counts = {"files": report.files, "ok": report.ok, "hashed_files": report.hashed_files,
              "hashed_bytes": report.hashed_bytes, "problems": len(report.problems)}
    counts.update(report.counts())
    append_event(root, EventType.FIXITY_CHECK, outcome="pass" if report.passed else "fail",
                 obj=f"manifests/{MANIFEST_NAME}", detail=report.summary(), counts=counts)
