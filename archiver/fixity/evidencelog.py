"""``manifests/log.jsonl``: the append-only Merkle evidence log, and its checkpoints.

The fixity manifest and ``records.jsonl`` are rewritten whole and sorted by
path; they say what the archive holds now. This log says what was written,
in the order it was written, and lets anyone holding an earlier checkpoint
prove that nothing before it was changed since (RFC 9162 consistency proofs).

Format: one leaf per line, each line the canonical JSON of its entry (keys
sorted, no spaces, UTF-8, as :func:`canonical`), LF-terminated. A ``record``
leaf names one WARC record as stored: ``file``, ``offset``, ``length``,
``record_id``, ``type``, ``target_uri``, ``date`` and ``member_sha256`` (the
SHA-256 of the gzip member on disk). A ``removal`` leaf names a file taken
out of the archive on purpose (``file``, its ``sha256``, ``reason``,
``time``); its earlier leaves stay. Leaf hash ``SHA-256(0x00 ‖ line)``, tree
as RFC 9162 §2.1 (:mod:`archiver.fixity.merkle`).

A **checkpoint** (tree size, root hash, time, SHA-256 of the previous
checkpoint) is appended to ``events.jsonl`` as a ``log checkpoint`` event at
the end of every run that grew the log (capture, import, manifest). A
checkpoint copied elsewhere (handed to a partner, timestamped) pins the first
``tree_size`` leaves: :func:`check_log` proves the current log extends it.

Writing (:class:`EvidenceLog`, used by :mod:`archiver.fixity.manifest`, whose
``record_ingest`` capture and import call, and whose ``append_leaves`` is for
a caller that lists files itself): leaves are appended under the writer lock
with ``O_APPEND`` writes and an fsync, always after the manifest change they
record has been committed. ``manifests/log-state.json`` caches the tree's right edge and the
manifest the log was last brought in line with, so a run appends without
reading the log. When that cache does not match (a crash between the
manifest's commit and the log's append, a torn last line, or an archive
older than the log) the log is brought in line with the manifest and index
by reading it once; what that appends is recorded in a ``log repair`` (or,
for a new log, ``log creation``) event.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_write, fsync_dir
from ..errors import ArchiverError, ManifestError
from ..root import ArchiveRoot
from ..warc.scan import MemberHasher, RecordDigest
from .events import EventType, append_event, tag_sha256, utc_now
from .merkle import Frontier, TreeStore, leaf_hash, verify_consistency
from .recordindex import add_member_sha256, iter_groups, warn_unreadable
from .signing import sign_checkpoint

__all__ = [
    "STATE_NAME",
    "Checkpoint",
    "EvidenceLog",
    "LogCheck",
    "LogMismatch",
    "canonical",
    "check_log",
    "check_members",
    "iter_checkpoints",
    "last_checkpoint",
    "read_checkpoint",
]

log = logging.getLogger(__name__)

STATE_NAME = "log-state.json"
_CHECKPOINT_TAG = b'"type":"log checkpoint"'
_TAIL_STEP = 1 << 16
_WRITE_BATCH = 1 << 20


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(obj: dict[str, Any]) -> bytes:
    """The canonical JSON of a log entry or checkpoint: sorted keys, no spaces, UTF-8."""
    return _CANONICAL.encode(obj).encode("utf-8")


def _record_entry(path: str, rec: RecordDigest) -> dict[str, Any]:
    return {"kind": "record", "file": path, "offset": rec.offset, "length": rec.length,
            "record_id": rec.record_id, "type": rec.type, "target_uri": rec.target_uri,
            "date": rec.date, "member_sha256": rec.member_sha256}


def _removal_entry(path: str, sha256: str | None, reason: str) -> dict[str, Any]:
    return {"kind": "removal", "file": path, "sha256": sha256, "reason": reason,
            "time": utc_now()}


# --- checkpoints --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed-off state of the log: its first ``tree_size`` leaves hash to ``root_hash``."""

    tree_size: int
    root_hash: str
    time: str
    prev_checkpoint: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"tree_size": self.tree_size, "root_hash": self.root_hash, "time": self.time,
                "prev_checkpoint": self.prev_checkpoint}

    @property
    def sha256(self) -> str:
        """SHA-256 of the checkpoint's canonical JSON: what the next one names as ``prev``."""
        return hashlib.sha256(canonical(self.as_dict())).hexdigest()

    def describe(self) -> str:
        return f"checkpoint of {self.tree_size} leaves at {self.time} (root {self.root_hash})"

    @classmethod
    def from_dict(cls, obj: Any, source: Path | str, line: int | None = None) -> Checkpoint:
        """A checkpoint from its JSON object, or from an event that holds one."""
        if isinstance(obj, dict) and isinstance(obj.get("checkpoint"), dict):
            obj = obj["checkpoint"]
        try:
            size, root = obj["tree_size"], obj["root_hash"]
            if not isinstance(size, int) or size < 0 or not isinstance(root, str) or len(
                    bytes.fromhex(root)) != 32:
                raise ValueError("tree_size or root_hash")
            return cls(size, root, str(obj["time"]), obj.get("prev_checkpoint"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(source, f"not a log checkpoint (lacks a valid {exc})",
                                line=line) from exc


def read_checkpoint(path: Path) -> Checkpoint:
    """The checkpoint in the file at ``path``: its JSON, or the ``events.jsonl`` line holding it."""
    try:
        text = path.read_bytes().strip()
    except OSError as exc:
        raise ManifestError(path, f"cannot read: {exc.strerror or exc}") from exc
    try:
        obj = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(path, "not a JSON checkpoint (give the file `archiver "
                            "checkpoint` wrote, or a `log checkpoint` line of events.jsonl)"
                            ) from exc
    return Checkpoint.from_dict(obj, path)


def iter_checkpoints(root: ArchiveRoot) -> Iterator[tuple[int, Checkpoint]]:
    """Every checkpoint in ``events.jsonl`` with its line number, oldest first."""
    try:
        fh = open(root.events_path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return
    with fh:
        for lineno, line in enumerate(fh, 1):
            if _CHECKPOINT_TAG in line and line.endswith(b"\n"):
                with contextlib.suppress(ValueError, ManifestError):
                    obj = json.loads(line)
                    if isinstance(obj, dict) and obj.get("type") == EventType.LOG_CHECKPOINT:
                        yield lineno, Checkpoint.from_dict(obj, root.events_path, lineno)


def last_checkpoint(root: ArchiveRoot) -> Checkpoint | None:
    """The latest checkpoint in ``events.jsonl``, read from its end."""
    try:
        fd = os.open(root.events_path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        end = os.lseek(fd, 0, os.SEEK_END)
        rest = b""
        while end > 0:
            step = min(_TAIL_STEP, end)
            end -= step
            lines = (os.pread(fd, step, end) + rest).split(b"\n")
            rest = lines.pop(0) if end > 0 else b""
            for line in reversed(lines):
                found = _checkpoint_of(line, root)
                if found is not None:
                    return found
        return _checkpoint_of(rest, root)
    finally:
        os.close(fd)


def _checkpoint_of(line: bytes, root: ArchiveRoot) -> Checkpoint | None:
    if _CHECKPOINT_TAG not in line:
        return None
    try:
        obj = json.loads(line)
        if isinstance(obj, dict) and obj.get("type") == EventType.LOG_CHECKPOINT:
            return Checkpoint.from_dict(obj, root.events_path)
    except (ValueError, ManifestError):
        pass
    return None


# --- writing ------------------------------------------------------------------


def _iter_lines(path: Path) -> Iterator[bytes]:
    """The complete lines of the log (without LF), streamed."""
    with open(path, "rb") as fh:
        for line in fh:
            if line.endswith(b"\n"):
                yield line[:-1]


def _frontier_of(path: Path) -> tuple[Frontier, int]:
    frontier, size = Frontier(), 0
    with contextlib.suppress(FileNotFoundError):
        for line in _iter_lines(path):
            frontier.append(leaf_hash(line))
            size += len(line) + 1
    return frontier, size


class EvidenceLog:
    """The log opened for appending, in line with the current manifest and index.

    Use :meth:`open` under the writer lock, append what a committed manifest
    change added or removed, then :meth:`commit`.
    """

    def __init__(self, root: ArchiveRoot, fd: int, frontier: Frontier, size: int,
                 listed: Callable[[], Mapping[str, str]]) -> None:
        self.root = root
        self._listed = listed
        self._fd = fd
        self.frontier = frontier
        self.bytes = size
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        #: Records of an old index given their ``member_sha256`` by this run.
        self.filled = 0

    @property
    def tree_size(self) -> int:
        return self.frontier.size

    @classmethod
    def open(cls, root: ArchiveRoot, listed: Callable[[], Mapping[str, str]]) -> EvidenceLog:
        """Open (creating or upgrading) the log and bring it in line with the manifest.

        ``listed`` reads the manifest as ``{path: sha256}`` (the manifest's
        module owns its format). Call with the writer lock held, before
        changing the manifest. Raises
        :class:`ManifestError` if the log is gone although checkpoints of it
        exist (its order cannot be rebuilt: restore it from a copy).
        """
        path = root.log_path
        created = not path.exists()
        if created:
            found = last_checkpoint(root)
            if found is not None:
                raise ManifestError(path, f"missing, but events.jsonl holds a {found.describe()}:"
                                    " the log's order of writing cannot be rebuilt; restore it "
                                    "from a copy of the archive")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666)
        try:
            if created:
                fsync_dir(root.manifests)
            cut = _repair_tail(fd)
            frontier, size, synced = _load_state(root, fd)
            elog = cls(root, fd, frontier, size, listed)
            if cut is not None:
                log.warning("%s: cut a torn last line of %d bytes (an interrupted write)",
                            path, cut[0])
                append_event(root, EventType.LOG_REPAIR, outcome="recorded",
                             obj=f"manifests/{path.name}", counts={"cut_bytes": cut[0]},
                             detail=f"a torn last line ({cut[0]} bytes, sha256 {cut[1]}) "
                             "left by an interrupted write was cut")
            if synced != tag_sha256(root.manifest_path) or cut is not None:
                elog._repair(created)
        except BaseException:
            os.close(fd)
            raise
        return elog

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> EvidenceLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- appending ----------------------------------------------------------

    def _append(self, entry: dict[str, Any]) -> None:
        line = canonical(entry)
        self.frontier.append(leaf_hash(line))
        self._pending.append(line + b"\n")
        self._pending_bytes += len(line) + 1
        if self._pending_bytes >= _WRITE_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
            self.bytes += len(data)
            self._pending, self._pending_bytes = [], 0

    def append_records(self, path: str, records: Iterable[RecordDigest]) -> int:
        """Append a ``record`` leaf for each of ``path``'s records (in write order).

        A record without ``member_sha256`` (from an old index) is hashed from
        the file now.
        """
        count = 0
        # An unreadable file's leaves say so: no member_sha256.
        with MemberHasher(self.root, warn_unreadable("leaves")) as hasher:
            for rec in records:
                if rec.member_sha256 is None:
                    rec = dataclasses.replace(
                        rec, member_sha256=hasher(path, rec.offset, rec.length))
                self._append(_record_entry(path, rec))
                count += 1
        return count

    def append_removal(self, path: str, sha256: str | None, reason: str) -> None:
        """Append a ``removal`` leaf: ``path`` left the archive on purpose, for ``reason``."""
        self._append(_removal_entry(path, sha256, reason))

    def commit(self, *, obj: str | Sequence[str] | None = None) -> Checkpoint | None:
        """Make the appended leaves durable and note the manifest they match;
        append a checkpoint if the tree grew since the last one (or has none).

        Call after the manifest change the leaves record has been committed.
        Returns the new checkpoint, if one was made (an empty log gets none).
        """
        self._flush()
        os.fsync(self._fd)
        _save_state(self.root, self.frontier, self.bytes)
        last = last_checkpoint(self.root)
        if self.tree_size == (last.tree_size if last is not None else 0):
            return None
        cp = Checkpoint(self.tree_size, self.frontier.root().hex(), utc_now(),
                        last.sha256 if last is not None else None)
        grown = self.tree_size - (last.tree_size if last is not None else 0)
        append_event(self.root, EventType.LOG_CHECKPOINT, outcome="success",
                     obj=f"manifests/{self.root.log_path.name}",
                     detail=f"{self.tree_size} leaves, {grown} since the previous checkpoint"
                     + (f" ({', '.join(obj) if not isinstance(obj, str) else obj})"
                        if obj else ""),
                     counts={"tree_size": self.tree_size, "new_leaves": grown},
                     extra={"checkpoint": cp.as_dict(), "checkpoint_sha256": cp.sha256})
        try:  # the operator's signature, if configured: its failure costs no capture
            sign_checkpoint(self.root, cp.as_dict())
        except ArchiverError as exc:
            log.warning("checkpoint of %d leaves not signed: %s", cp.tree_size, exc)
        return cp

    # -- bringing the log in line with the manifest --------------------------

    def bring_in_line(self, reason: str, previous: Mapping[str, str] | None = None
                      ) -> tuple[int, int]:
        """Append what the manifest and index hold and the log lacks, in file order.

        A file the log holds and the manifest no longer lists gets a
        ``removal`` leaf giving ``reason``; a listed file whose records differ
        from its leaves (a changed member, or a record gone) a ``removal``
        leaf and new leaves; records the log lacks get leaves. ``previous``
        (the manifest before the change, as ``{path: sha256}``) gives removal
        leaves their file's SHA-256. Reads the whole log once. With no
        manifest, does nothing (an absent manifest removes nothing). Returns
        ``(leaves appended, files removed)``.
        """
        root = self.root
        if not root.manifest_path.exists():
            return 0, 0
        live: dict[str, dict[int, str | None]] = {}
        for line in _iter_lines(root.log_path):
            obj = json.loads(line)
            if obj.get("kind") == "record":
                live.setdefault(obj["file"], {})[obj["offset"]] = obj.get("member_sha256")
            elif obj.get("kind") == "removal":
                live.pop(obj["file"], None)
        listed = self._listed()
        if root.records_path.exists():
            self.filled += add_member_sha256(root.records_path, root, set(listed))
        start = self.tree_size
        gone = sorted(set(live) - set(listed))
        for path in gone:
            self.append_removal(path, (previous or {}).get(path), reason)
        if root.records_path.exists():
            for entry, records in iter_groups(root.records_path, listed):
                have = live.get(entry.path, {})
                offsets = {r.offset for r in records}
                if (any(have.get(r.offset, r.member_sha256) != r.member_sha256 for r in records)
                        or any(o not in offsets for o in have)):
                    self.append_removal(entry.path, (previous or {}).get(entry.path),
                                        f"its records were replaced by different bytes ({reason})")
                    have = {}
                self.append_records(entry.path, [r for r in records if r.offset not in have])
        self._flush()
        return self.tree_size - start, len(gone)

    def _repair(self, created: bool) -> None:
        """At open: bring a log out of line with the manifest in line, and say so."""
        root = self.root
        added, _ = self.bring_in_line("no longer in the manifest (found when the log was "
                                      "brought in line with it after an interrupted run)")
        os.fsync(self._fd)
        _save_state(root, self.frontier, self.bytes)
        if created:
            append_event(root, EventType.LOG_CREATION, outcome="success",
                         obj=f"manifests/{root.log_path.name}",
                         detail=f"the evidence log was built from records.jsonl in file order "
                         f"({added} leaves): the archive predates it",
                         counts={"leaves": added, "member_sha256_added": self.filled})
        elif added:
            log.warning("%s: %d leaves an interrupted run did not append were appended",
                        root.log_path, added)
            append_event(root, EventType.LOG_REPAIR, outcome="recorded",
                         obj=f"manifests/{root.log_path.name}",
                         detail=f"{added} leaves for what the manifest lists and the log "
                         "lacked (an interrupted run) were appended in file order",
                         counts={"leaves": added})


def _repair_tail(fd: int) -> tuple[int, str] | None:
    """Cut a last line that lacks its LF; return ``(bytes cut, their sha256)``."""
    end = os.lseek(fd, 0, os.SEEK_END)
    if end == 0 or os.pread(fd, 1, end - 1) == b"\n":
        return None
    pos = end
    while pos > 0:
        step = min(_TAIL_STEP, pos)
        block = os.pread(fd, step, pos - step)
        cut = block.rfind(b"\n")
        if cut >= 0:
            pos = pos - step + cut + 1
            break
        pos -= step
    torn = b""
    for offset in range(pos, end, _TAIL_STEP):
        torn += os.pread(fd, min(_TAIL_STEP, end - offset), offset)
    os.ftruncate(fd, pos)
    os.fsync(fd)
    return end - pos, hashlib.sha256(torn).hexdigest()


def _state_path(root: ArchiveRoot) -> Path:
    return root.manifests / STATE_NAME


def _load_state(root: ArchiveRoot, fd: int) -> tuple[Frontier, int, str | None]:
    """The cached right edge, if it matches the log file; else read the log once.

    Returns the frontier, the log's size in bytes, and the manifest SHA-256
    the log was last brought in line with (``None``: unknown).
    """
    size = os.fstat(fd).st_size
    try:
        obj = json.loads(_state_path(root).read_bytes())
        if obj["log_bytes"] == size:
            frontier = Frontier(obj["tree_size"], [bytes.fromhex(h) for h in obj["perfect"]])
            return frontier, size, obj["manifest_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    frontier, counted = _frontier_of(root.log_path)
    return frontier, counted, None


def _save_state(root: ArchiveRoot, frontier: Frontier, size: int) -> None:
    state = {"log_bytes": size, "tree_size": frontier.size,
             "perfect": [h.hex() for h in frontier.perfect],
             "manifest_sha256": tag_sha256(root.manifest_path)}
    with atomic_write(_state_path(root)) as fh:
        fh.write(canonical(state) + b"\n")


# --- checking -----------------------------------------------------------------


@dataclass
class LogCheck:
    """What :func:`check_log` found."""

    leaves: int = 0
    root_hash: str | None = None
    checkpoints: int = 0
    last: Checkpoint | None = None
    #: Each a line naming what differs; any makes the check fail.
    problems: list[str] = field(default_factory=list)
    #: Worth knowing, not a failure (leaves after the last checkpoint).
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_log(root: ArchiveRoot, handed: Sequence[tuple[Checkpoint, str]] = ()) -> LogCheck:
    """Recompute the tree, check every checkpoint and each against the next.

    Each checkpoint's root must be the root of the log's first ``tree_size``
    leaves, name the previous checkpoint's SHA-256, and (RFC 9162
    consistency proof) its tree must be a prefix of the next one's. Each of
    ``handed`` (a checkpoint kept outside the archive, and the name to call
    it by) must be extended by the current log, and still be in
    events.jsonl. Writes nothing.
    """
    root.require()
    found = LogCheck()
    path = root.log_path
    if not path.exists():
        if last_checkpoint(root) is not None or handed:
            found.problems.append(f"{path}: missing, but checkpoints of it exist")
        else:
            found.notes.append(f"{path}: no evidence log yet (the next writing run creates it)")
        return found
    with TreeStore() as store:
        with open(path, "rb") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.endswith(b"\n"):
                    found.notes.append(f"log.jsonl line {lineno}: torn (an interrupted write); "
                                       "the next writing run cuts it")
                    break
                store.append(leaf_hash(line[:-1]))
        found.leaves = store.size
        found.root_hash = store.root().hex()
        prev: tuple[int, Checkpoint] | None = None
        for lineno, cp in iter_checkpoints(root):
            found.checkpoints += 1
            found.last = cp
            _check_one(store, lineno, cp, prev, found)
            prev = (lineno, cp)
        for cp, name in handed:
            _check_handed(root, store, cp, name, found)
    last_size = found.last.tree_size if found.last is not None else 0
    if found.leaves > last_size:
        found.notes.append(f"{found.leaves - last_size} leaves after the last checkpoint "
                           "(an interrupted run, or a checkpoint removed; the next writing "
                           "run checkpoints them)")
    return found


def _check_one(store: TreeStore, lineno: int, cp: Checkpoint,
               prev: tuple[int, Checkpoint] | None, found: LogCheck) -> None:
    where = f"events.jsonl line {lineno}"
    expected_prev = prev[1].sha256 if prev is not None else None
    if cp.prev_checkpoint != expected_prev:
        found.problems.append(f"{where}: checkpoint names previous checkpoint "
                              f"{cp.prev_checkpoint}, but the one before it hashes to "
                              f"{expected_prev}: a checkpoint was removed, inserted or edited")
    if cp.tree_size > store.size:
        found.problems.append(f"{where}: {cp.describe()}, but the log holds only {store.size} "
                              "leaves: leaves were removed from its end")
        return
    actual = store.root(cp.tree_size).hex()
    if actual != cp.root_hash:
        found.problems.append(f"{where}: {cp.describe()}, but the log's first {cp.tree_size} "
                              f"leaves hash to {actual}: a leaf before {cp.tree_size} was "
                              "changed, removed, inserted or reordered")
    if prev is not None and prev[1].tree_size <= cp.tree_size <= store.size:
        old = prev[1]
        proof = store.consistency_proof(old.tree_size, cp.tree_size)
        if not verify_consistency(old.tree_size, cp.tree_size, bytes.fromhex(old.root_hash),
                                  bytes.fromhex(cp.root_hash), proof):
            found.problems.append(f"{where}: the consistency proof from the checkpoint on line "
                                  f"{prev[0]} ({old.tree_size} leaves) to this one "
                                  f"({cp.tree_size}) fails: the earlier tree is not a prefix "
                                  "of this one")
    elif prev is not None and cp.tree_size < prev[1].tree_size:
        found.problems.append(f"{where}: the tree shrank from {prev[1].tree_size} to "
                              f"{cp.tree_size} leaves")


def _check_handed(root: ArchiveRoot, store: TreeStore, handed: Checkpoint, name: str,
                  found: LogCheck) -> None:
    if handed.tree_size > store.size:
        found.problems.append(f"{name}: {handed.describe()}, but the log holds only "
                              f"{store.size} leaves: leaves it covers were removed")
    else:
        proof = store.consistency_proof(handed.tree_size, store.size)
        if not verify_consistency(handed.tree_size, store.size,
                                  bytes.fromhex(handed.root_hash), store.root(), proof):
            actual = store.root(handed.tree_size).hex()
            found.problems.append(
                f"{name}: {handed.describe()}, but the log's first {handed.tree_size} leaves "
                f"hash to {actual}; the consistency proof to the current {store.size}-leaf "
                f"tree fails: a leaf before {handed.tree_size} was changed, removed, inserted "
                "or reordered since that checkpoint")
    if not any(cp == handed for _, cp in iter_checkpoints(root)):
        found.problems.append(f"{name}: {handed.describe()} is not in events.jsonl: the "
                              "history was rewritten, or checkpoints were removed from it")


@dataclass(frozen=True, slots=True)
class LogMismatch:
    """A live ``record`` leaf whose stored bytes no longer hash to its ``member_sha256``."""

    leaf: int
    file: str
    offset: int
    record_id: str
    target_uri: str | None
    reason: str


def check_members(root: ArchiveRoot) -> Iterator[LogMismatch]:
    """Read every live record leaf's bytes from its WARC and compare their SHA-256.

    A leaf is live unless a later ``removal`` leaf names its file. Streams
    the log twice (removals first), reads each member with ``pread`` in
    blocks, and holds one file open at a time. Files that are missing are
    left to the manifest check.
    """
    path = root.log_path
    if not path.exists():
        return
    removed: dict[str, int] = {}
    for index, line in enumerate(_iter_lines(path)):
        if b'"kind":"removal"' in line:
            removed[json.loads(line)["file"]] = index
    with MemberHasher(root) as hasher:  # a missing file is left to the manifest check
        for index, line in enumerate(_iter_lines(path)):
            obj = json.loads(line)
            if obj.get("kind") != "record" or removed.get(obj["file"], -1) > index:
                continue
            found = hasher(obj["file"], obj["offset"], obj["length"])
            if found is not None and found != obj.get("member_sha256"):
                yield LogMismatch(index, obj["file"], obj["offset"], obj["record_id"],
                                  obj.get("target_uri"),
                                  f"stored bytes have sha256 {found}, the evidence log's leaf "
                                  f"{index} recorded {obj.get('member_sha256')}")
