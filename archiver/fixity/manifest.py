"""``manifests/manifest-sha256.txt``: the fixity manifest, and how it is kept.

One line ``<64 lowercase hex>␠␠<path>`` per closed file under ``warcs/``;
paths relative to the archive root, POSIX, UTF-8 NFC, sorted bytewise, LF
only, so that ``sha256sum -c manifests/manifest-sha256.txt`` passes from the
archive root. Names holding a backslash, CR or LF use GNU sha256sum's escaped
form (a leading ``\\``). A WARC being written (``*.open``) and ``.gitkeep``
placeholders are never listed.

This module owns the format, the sorted walk of the files the manifest should
list, the full rebuild (``archiver manifest``) and the incremental update a
capture run makes when it ends (:func:`record_ingest`). Both rewrite the
manifest and ``records.jsonl`` atomically under the writer lock, index first
and manifest last: the manifest's rename is the commit point, and index lines
for files it does not list are ignored, so a crash leaves the old valid state
or the new one.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..atomic import atomic_write, remove_stale_temps
from ..errors import ArchiveRootError, ManifestError
from ..root import MANIFEST_NAME, ArchiveRoot
from ..warc.files import OPEN_SUFFIX, is_imported
from ..warc.handoff import forget_closed, pending_closed
from ..warc.scan import RecordDigest, WarcScan, scan_warc
from .events import EventType, append_event, manifest_recorded, tag_sha256
from .pool import batched, default_jobs, imap_ordered
from .recordindex import copy_groups, write_group

if TYPE_CHECKING:  # imported when a log is opened: verify never needs it
    from .evidencelog import EvidenceLog

__all__ = [
    "DiskEntry",
    "ManifestEntry",
    "RebuildReport",
    "append_leaves",
    "format_line",
    "iter_disk",
    "iter_manifest",
    "os_error_text",
    "rebuild_manifest",
    "record_ingest",
    "unreadable_warc",
]

#: Names under warcs/ that are never archive content (git keeps empty folders).
PLACEHOLDERS = frozenset({".gitkeep"})

log = logging.getLogger(__name__)

_LINE = re.compile(rb"^(\\?)([0-9a-f]{64})  (.+)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One manifest line: a root-relative POSIX path and its SHA-256."""

    path: str
    sha256: str


def _escape(path: str) -> tuple[str, str]:
    if not any(c in path for c in "\\\n\r"):
        return "", path
    return "\\", path.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m[1], m[1]), text)


def format_line(entry: ManifestEntry) -> bytes:
    """The manifest line for ``entry``, as ``sha256sum`` would print it."""
    mark, name = _escape(entry.path)
    return f"{mark}{entry.sha256}  {name}\n".encode()


def _parse_line(line: bytes, source: Path, lineno: int) -> ManifestEntry:
    match = _LINE.match(line.removesuffix(b"\n"))
    if match is None:
        raise ManifestError(source, "not a '<sha256>  <path>' line", line=lineno)
    try:
        name = match[3].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(source, "path is not UTF-8", line=lineno) from exc
    return ManifestEntry(_unescape(name) if match[1] else name, match[2].decode("ascii"))


def iter_manifest(source: Path) -> Iterator[ManifestEntry]:
    """Stream the entries of the manifest at ``source``, checking their order.

    The order is what lets verification compare a million-line manifest with
    the disk in one merge pass and flat memory, so a manifest out of order is
    an error (:class:`ManifestError` naming the line), not something to sort.
    """
    last: str | None = None
    with open(source, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            entry = _parse_line(line, source, lineno)
            if last is not None and entry.path <= last:
                why = "duplicate path" if entry.path == last else "paths are not sorted bytewise"
                raise ManifestError(source, f"{why} ({entry.path}); the manifest was edited",
                                    line=lineno)
            last = entry.path
            yield entry


@dataclass(frozen=True, slots=True)
class DiskEntry:
    """A file found under ``warcs/``: its root-relative path and size (or why not).

    ``link`` is set, to the link's target, for a symbolic link: never followed,
    never hashed, never listed (it could point anywhere outside the archive).
    """

    path: str
    size: int | None
    error: str | None = None
    link: str | None = None

    def link_text(self) -> str:
        """``symlink to TARGET; not followed``."""
        return f"symlink to {self.link}; not followed (a link is never part of the archive)"


def os_error_text(exc: OSError) -> str:
    """``EIO: Input/output error``: the errno name first, for grepping reports."""
    code = errno.errorcode.get(exc.errno or 0, "")
    return f"{code}: {exc.strerror}" if code and exc.strerror else str(exc)


def _listed(name: str) -> bool:
    return not name.endswith(OPEN_SUFFIX) and name not in PLACEHOLDERS


def _sorted_entries(folder: Path) -> list[os.DirEntry[str]]:
    # Sorting a folder's entries by name, with "/" appended to sub-folders,
    # makes the recursive walk come out in bytewise order of the full path
    # (UTF-8 keeps code point order, and a folder's files share its prefix).
    with os.scandir(folder) as it:
        entries = list(it)
    return sorted(entries, key=lambda e: e.name + "/" if _is_dir(e) else e.name)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _walk(folder: Path, prefix: str) -> Iterator[DiskEntry]:
    for entry in _sorted_entries(folder):
        rel = f"{prefix}/{entry.name}"
        if _is_dir(entry):
            yield from _walk(Path(entry.path), rel)
        elif _listed(entry.name):
            try:
                if entry.is_symlink():
                    yield DiskEntry(rel, None, link=os.readlink(entry.path))
                else:
                    yield DiskEntry(rel, entry.stat(follow_symlinks=False).st_size)
            except OSError as exc:
                yield DiskEntry(rel, None, os_error_text(exc))


def iter_disk(root: ArchiveRoot) -> Iterator[DiskEntry]:
    """Every file the manifest should list, in bytewise path order, streamed.

    Memory holds one folder's names per level. Symbolic links (to files or
    folders) are entries with ``link`` set, never followed; a failed ``stat``
    is reported, not raised.
    """
    if root.warcs.is_dir():
        yield from _walk(root.warcs, "warcs")


def _scan_batch(task: tuple[str, list[str]]) -> list[tuple[str, WarcScan | str]]:
    """Worker: scan each WARC of ``(root, [relative paths])``; an I/O error becomes text."""
    base, paths = task
    out: list[tuple[str, WarcScan | str]] = []
    for path in paths:
        try:
            out.append((path, scan_warc(os.path.join(base, path), foreign=is_imported(path))))
        except OSError as exc:
            out.append((path, os_error_text(exc)))
    return out


def _scan_all(root: ArchiveRoot, entries: Iterable[DiskEntry], jobs: int
              ) -> Iterator[tuple[str, WarcScan]]:
    tasks = ((str(root.path), [e.path for e in batch])
             for batch in batched(entries, lambda e: e.size or 0))
    for results in imap_ordered(_scan_batch, tasks, jobs):
        for path, result in results:
            if isinstance(result, str):
                raise ManifestError(root.path / path, f"cannot read: {result}; "
                                    "repair or remove it before rebuilding")
            yield path, result


def unreadable_warc(scan: WarcScan) -> str | None:
    """Why a scanned file is not a readable WARC (``None``: it is one).

    warcio reads almost any bytes as some record, so a record with no
    ``WARC-Record-ID`` or ``WARC-Type`` counts as unreadable too.
    """
    if scan.error:
        return f"at offset {scan.error_offset}: {scan.error}"
    if not scan.records:
        return "no WARC record in it"
    for rec in scan.records:
        if not rec.record_id or not rec.type:
            return f"at offset {rec.offset}: a record with no WARC-Record-ID or WARC-Type"
    return None


def _checked(entries: Iterable[DiskEntry], skipped: list[tuple[str, str]]
             ) -> Iterator[DiskEntry]:
    for entry in entries:
        if entry.link is not None:
            skipped.append((entry.path, entry.link_text()))
            continue
        if entry.error is not None:
            raise ManifestError(entry.path, f"cannot read: {entry.error}")
        if unicodedata.normalize("NFC", entry.path) != entry.path:
            raise ManifestError(entry.path, "name is not Unicode NFC; rename the file to "
                                "its NFC form (or run `archiver verify` to see if it moved)")
        yield entry


@dataclass(slots=True)
class RebuildReport:
    """What ``archiver manifest`` did."""

    files: int = 0
    bytes: int = 0
    records: int = 0
    #: Files listed whose WARC records could not all be read: (path, why);
    #: only with ``accept_unreadable``.
    unparseable: list[tuple[str, str]] = field(default_factory=list)
    #: Files under warcs/ left out of the manifest: (path, why). Symbolic
    #: links, and files that are not readable WARCs (without ``accept_unreadable``).
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: Compared with the manifest this rebuild replaced (None: there was none).
    added: int | None = None
    removed: int | None = None
    changed: int | None = None
    manifest_sha256: str | None = None
    #: Leaves appended to the evidence log, and files it records as removed.
    leaves: int = 0
    removals: int = 0


class _Diff:
    """Counts added, removed and changed paths against the old manifest, streaming."""

    def __init__(self, source: Path) -> None:
        self.old = self._safe(source)
        self.cur = next(self.old, None)
        self.added = self.removed = self.changed = 0
        self.valid = source.exists()

    def _safe(self, source: Path) -> Iterator[ManifestEntry]:
        with contextlib.suppress(FileNotFoundError, ManifestError):
            yield from iter_manifest(source)

    def see(self, path: str, sha256: str) -> None:
        while self.cur is not None and self.cur.path < path:
            self.removed, self.cur = self.removed + 1, next(self.old, None)
        if self.cur is not None and self.cur.path == path:
            self.changed += self.cur.sha256 != sha256
            self.cur = next(self.old, None)
        else:
            self.added += 1

    def finish(self, report: RebuildReport) -> None:
        while self.cur is not None:
            self.removed, self.cur = self.removed + 1, next(self.old, None)
        if self.valid:
            report.added, report.removed, report.changed = self.added, self.removed, self.changed


#: Why a file the new manifest no longer lists left the archive, unless told.
REMOVAL_REASON = "deleted from warcs/ and the deletion accepted by a manifest rebuild"


def rebuild_manifest(root: ArchiveRoot, *, jobs: int | None = None,
                     accept_unreadable: bool = False,
                     reason: str = REMOVAL_REASON) -> RebuildReport:
    """Rehash every closed file under ``warcs/`` and rewrite manifest and index.

    This blesses the files as they are now: use it after a deliberate change
    (``archiver verify`` first), never to make a failing check pass. The
    ``manifest rebuild`` event records how the new manifest differs from the old.
    Symbolic links are never listed; a file that is not a readable WARC is
    listed only with ``accept_unreadable``. What is left out is in
    :attr:`RebuildReport.skipped`.

    The evidence log gets, in file order, leaves for the records of files
    new to the manifest, and a ``removal`` leaf giving ``reason`` for each
    file it no longer lists (and for each whose bytes changed, before its new
    records); then a checkpoint.
    """
    report = RebuildReport()
    with root.writer_lock(), _open_log(root) as elog:
        manifest = root.manifest_path
        previous = _listing(root)() if manifest.exists() else {}
        diff = _Diff(manifest)
        with atomic_write(manifest) as mf, atomic_write(root.records_path) as rf:
            entries = _checked(iter_disk(root), report.skipped)
            for path, scan in _scan_all(root, entries, jobs or default_jobs()):
                why = unreadable_warc(scan)
                if why is not None and not accept_unreadable:
                    report.skipped.append((path, f"not a readable WARC ({why})"))
                    continue
                _add(report, mf, rf, path, scan)
                diff.see(path, scan.sha256)
        diff.finish(report)
        report.skipped.sort()
        report.manifest_sha256 = tag_sha256(manifest)
        report.leaves, report.removals = elog.bring_in_line(reason, previous)
        append_event(root, EventType.MANIFEST_REBUILD, outcome="success",
                     obj=f"manifests/{MANIFEST_NAME}", detail=_rebuild_detail(report),
                     counts=_rebuild_counts(report))
        elog.commit(obj=f"manifests/{MANIFEST_NAME}")
        forget_closed(root, pending_closed(root))  # every closed file was considered
    return report


def _add(report: RebuildReport, mf: BinaryIO, rf: BinaryIO, path: str, scan: WarcScan) -> None:
    mf.write(format_line(ManifestEntry(path, scan.sha256)))
    write_group(rf, path, scan)
    report.files += 1
    report.bytes += scan.size
    report.records += len(scan.records)
    why = unreadable_warc(scan)
    if why is not None:
        report.unparseable.append((path, why))


def _rebuild_counts(report: RebuildReport) -> dict[str, int]:
    counts = {"files": report.files, "bytes": report.bytes, "records": report.records,
              "unparseable": len(report.unparseable), "skipped": len(report.skipped),
              "log_leaves": report.leaves, "log_removals": report.removals}
    if report.added is not None:
        counts.update(added=report.added, removed=report.removed or 0,
                      changed=report.changed or 0)
    return counts


def _rebuild_detail(report: RebuildReport) -> str:
    if report.added is None:
        return "first manifest of this archive"
    return (f"{report.added} added, {report.removed} removed, {report.changed} changed "
            "since the previous manifest")


def _closed_paths(root: ArchiveRoot, closed_warcs: Sequence[Path]) -> list[str]:
    """The given files as sorted root-relative NFC paths; each must be a closed file."""
    paths = set()
    for warc in closed_warcs:
        rel = root.relative(Path(warc))
        name = rel.rsplit("/", 1)[-1]
        if (not rel.startswith("warcs/") or not _listed(name) or not Path(warc).is_file()
                or Path(warc).is_symlink()):
            raise ArchiveRootError(warc, "is not a closed file under warcs/")
        paths.add(unicodedata.normalize("NFC", rel))
    return sorted(paths)


def _listing(root: ArchiveRoot) -> Callable[[], dict[str, str]]:
    """What the evidence log reads the manifest with: ``{path: sha256}``."""
    return lambda: {e.path: e.sha256 for e in iter_manifest(root.manifest_path)}


def append_leaves(root: ArchiveRoot, path: str, records: Sequence[RecordDigest]) -> int:
    """Append evidence log leaves for ``path``'s ``records`` (in write order) and checkpoint.

    For a caller that lists a file in the manifest itself; call it after the
    manifest lists ``path`` (root-relative). :func:`record_ingest` (capture,
    import) does this already. Takes the writer lock; returns the leaves appended.
    """
    with root.writer_lock(), _open_log(root) as elog:
        count = elog.append_records(path, records)
        elog.commit(obj=path)
        return count


def _in_given_order(root: ArchiveRoot, closed_warcs: Sequence[Path]) -> list[str]:
    return [unicodedata.normalize("NFC", root.relative(Path(w))) for w in closed_warcs]


def _unlisted(root: ArchiveRoot, paths: list[str]) -> list[str]:
    manifest = root.manifest_path
    if not manifest.exists():
        return paths
    wanted = set(paths)
    listed = {e.path for e in iter_manifest(manifest) if e.path in wanted}
    return [p for p in paths if p not in listed]


def _merged(old: Iterable[tuple[str, bytes]], new: Iterable[tuple[str, bytes]]
            ) -> Iterator[bytes]:
    """Merge two streams of ``(path, bytes)`` sorted by path; ``new`` wins a tie."""
    new_it = iter(new)
    nxt = next(new_it, None)
    for path, data in old:
        while nxt is not None and nxt[0] < path:
            yield nxt[1]
            nxt = next(new_it, None)
        if nxt is not None and nxt[0] == path:
            yield nxt[1]
            nxt = next(new_it, None)
        else:
            yield data
    while nxt is not None:
        yield nxt[1]
        nxt = next(new_it, None)


def record_ingest(root: ArchiveRoot, closed_warcs: Sequence[Path], *,
                  scans: Mapping[Path, WarcScan] | None = None,
                  accept_unreadable: bool = False, detail: str | None = None) -> list[str]:
    """Add newly closed WARCs to the manifest, the index and the history.

    Called by a capture run at its end, and at its start for what a crashed
    run closed but never listed. Hashes only the new files (each read once
    for its file and record digests), merges them into the sorted manifest
    and index, rewrites both atomically, and appends ``ingestion`` and
    ``message digest calculation`` events. Files already listed are left
    alone, so calling it twice is harmless; a file that is not a readable
    WARC is not listed (a warning names it). Finally the files are dropped
    from the pending handoff list (:mod:`archiver.warc.handoff`). Takes the
    (re-entrant) writer lock. Returns the paths newly listed.

    ``scans`` may give, per file, what its writer hashed while writing it
    (:attr:`archiver.warc.writer.WarcWriter.scans`, hash-while-copying); those
    files are not read again. Others (a crashed run's recovered files) are.
    ``accept_unreadable`` lists a file that is not a readable WARC too (an
    import the user accepted as damaged); ``detail`` goes into the
    ``ingestion`` event (an import says where the file came from).

    The new files' records are appended to the evidence log in the order
    given (a capture gives its files in close order, each file's records in
    write order), then a checkpoint if the log grew.
    """
    with root.writer_lock():
        for tag_file in (root.manifest_path, root.records_path):
            remove_stale_temps(tag_file)  # what a run killed while rewriting them left
        # Asked before the log's own repair events can make it true again.
        recorded = manifest_recorded(root)
        with _open_log(root) as elog:
            new = _ingest(root, elog, closed_warcs, scans, accept_unreadable, detail, recorded)
            elog.commit(obj=new)
            return new


def _open_log(root: ArchiveRoot) -> EvidenceLog:
    """The archive's evidence log, in line with the manifest."""
    from .evidencelog import EvidenceLog

    return EvidenceLog.open(root, _listing(root))


def _ingest(root: ArchiveRoot, elog: EvidenceLog, closed_warcs: Sequence[Path],
            scans: Mapping[Path, WarcScan] | None, accept_unreadable: bool,
            detail: str | None, recorded: bool) -> list[str]:
    given = _closed_paths(root, closed_warcs)
    new = _unlisted(root, given)
    # Listed, still pending, and the history never recorded this manifest:
    # an ingest was cut between its manifest rename and its events.
    pending = set(pending_closed(root))
    late = [] if recorded else [
        p for p in given if p in pending and p not in set(new)]
    known = {root.relative(p): scan for p, scan in (scans or {}).items()}
    todo = sorted(new + late)
    entries = [DiskEntry(p, root.absolute(p).stat().st_size) for p in todo
               if p not in known]
    found = dict(_scan_all(root, entries, max(1, min(len(entries), default_jobs()))))
    found.update({p: known[p] for p in todo if p in known})
    unreadable = [] if accept_unreadable else [
        p for p in new if unreadable_warc(found[p]) is not None]
    for path in unreadable:
        log.warning("%s: not a readable WARC (%s); not added to the manifest",
                    path, unreadable_warc(found[path]))
        new.remove(path)
    if new:
        _write_merged(root, new, found)
        added = set(new)
        for path in _in_given_order(root, closed_warcs):
            if path in added:
                elog.append_records(path, found[path].records)
                added.discard(path)
    if new or late:
        _ingest_events(root, sorted(new + late), found, detail)
    forget_closed(root, given)
    return new


def _write_merged(root: ArchiveRoot, new: list[str], scans: dict[str, WarcScan]) -> None:
    manifest, index = root.manifest_path, root.records_path
    old_lines = ((e.path, format_line(e)) for e in
                 (iter_manifest(manifest) if manifest.exists() else iter(())))
    new_lines = [(p, format_line(ManifestEntry(p, scans[p].sha256))) for p in new]
    old_groups = copy_groups(index, set(new)) if index.exists() else iter(())
    with atomic_write(manifest) as mf:
        with atomic_write(index) as rf:
            for chunk in _merged(old_groups, ((p, _group_bytes(p, scans[p])) for p in new)):
                rf.write(chunk)
        for line in _merged(old_lines, new_lines):
            mf.write(line)


def _group_bytes(path: str, scan: WarcScan) -> bytes:
    buf = io.BytesIO()
    write_group(buf, path, scan)
    return buf.getvalue()


def _ingest_events(root: ArchiveRoot, new: list[str], scans: dict[str, WarcScan],
                   detail: str | None = None) -> None:
    counts = {"files": len(new), "bytes": sum(scans[p].size for p in new),
              "records": sum(len(scans[p].records) for p in new)}
    append_event(root, EventType.INGESTION, outcome="success", obj=new, counts=counts,
                 detail=detail)
    detail = "; ".join(f"{p} sha256:{scans[p].sha256}" for p in new)
    append_event(root, EventType.MESSAGE_DIGEST_CALCULATION, outcome="success", obj=new,
                 detail=detail, counts=counts)
