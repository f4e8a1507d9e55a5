"""``manifests/events.jsonl``: the append-only, hash-chained fixity history.

Every fixity event (``ingestion``, ``message digest calculation``, ``fixity
check``, ``manifest rebuild``, ``event log repair`` after a crash, and the
evidence log's ``log checkpoint``, ``log creation`` and ``log repair``) is one
JSON line in the spirit of a PREMIS event: event ID, type, UTC time, agent
(tool and version), object, outcome, detail, counts, the SHA-256 of the
fixity manifest and record index at that moment, and ``prev``: the SHA-256 of
the previous line's bytes (without its LF; ``null`` on the first line).

Editing, inserting or removing a line breaks the chain at the next line,
which :func:`check_history` reports. What a chain cannot show alone is the
loss of its *last* lines, so :class:`History` gives the head hash for the
researcher to note elsewhere (a lab notebook, an e-mail, a timestamping
service), and the last recorded manifest hash is compared with the manifest.

Lines are appended with one ``write`` on an ``O_APPEND`` descriptor and
fsynced, so a crash leaves at most one partial last line. The next append
terminates it and records an ``event log repair`` event whose ``prev`` is the
partial line's hash, so the chain stays whole and the crash stays visible.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..hashing import sha256_file
from ..root import EVENTS_NAME, ArchiveRoot
from ..version import __version__

__all__ = [
    "EventType",
    "History",
    "append_event",
    "check_history",
    "manifest_recorded",
    "tag_sha256",
    "utc_now",
]



class EventType(StrEnum):
    """The type of a fixity event, named as PREMIS names event types."""

    INGESTION = "ingestion"
    MESSAGE_DIGEST_CALCULATION = "message digest calculation"
    FIXITY_CHECK = "fixity check"
    MANIFEST_REBUILD = "manifest rebuild"
    REPLICATION = "replication"
    EVENT_LOG_REPAIR = "event log repair"
    #: The evidence log's tree size and root, chained to the previous checkpoint
    #: (:mod:`archiver.fixity.evidencelog`).
    LOG_CHECKPOINT = "log checkpoint"
    #: The evidence log was built from the records index (an archive older than it).
    LOG_CREATION = "log creation"
    #: A torn last line of the evidence log was cut, or leaves an interrupted
    #: run did not append were appended.
    LOG_REPAIR = "log repair"
    #: RFC 3161 tokens over a checkpoint (:mod:`archiver.fixity.timestamp`).
    TIMESTAMP = "timestamp"


_REQUIRED = ("event_id", "type", "time", "agent", "outcome", "prev")
_TAIL_STEP = 1 << 16


def utc_now() -> str:
    """The current UTC time as ISO 8601 with milliseconds and ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def tag_sha256(path: Path) -> str | None:
    """SHA-256 of a tag file (manifest, records index) for an event, or ``None`` if absent."""
    try:
        return sha256_file(path)[0]
    except FileNotFoundError:
        return None


def _line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def _tail(fd: int) -> tuple[bytes | None, bool]:
    """The last line of the file (without LF) and whether it lacks its LF."""
    end = os.lseek(fd, 0, os.SEEK_END)
    if end == 0:
        return None, False
    partial = os.pread(fd, 1, end - 1) != b"\n"
    start = end if partial else end - 1
    data = b""  # the bytes from start to the last line's end, read backwards
    while start > 0:
        step = min(_TAIL_STEP, start)
        start -= step
        data = os.pread(fd, step, start) + data
        cut = data.rfind(b"\n")
        if cut >= 0:
            return data[cut + 1 :], partial
    return data, partial


def _event(root: ArchiveRoot, event_type: EventType, prev: str | None, **fields: Any) -> bytes:

    obj: dict[str, Any] = {
        "event_id": f"urn:uuid:{uuid.uuid4()}",
        "type": event_type,
        "time": utc_now(),
        "agent": {"name": "archiver", "version": __version__},
    }
    obj.update(fields)
    obj["manifest_sha256"] = tag_sha256(root.manifest_path)
    obj["records_sha256"] = tag_sha256(root.records_path)
    obj["prev"] = prev
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _write_line(fd: int, line: bytes) -> None:
    # One write() per line on an O_APPEND descriptor, then fsync: a crash can
    # cut only this line, never interleave it with another.
    os.write(fd, line)
    os.fsync(fd)


def append_event(
    root: ArchiveRoot,
    event_type: EventType,
    *,
    outcome: str,
    obj: str | Sequence[str],
    detail: str | None = None,
    counts: dict[str, int] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Append one event to the archive's history and return it as a dict.

    ``extra`` adds fields of the event's own (a checkpoint). Takes the
    writer lock. First records a partial last line, if any.
    """
    with root.writer_lock():
        path = root.events_path
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            last, partial = _tail(fd)
            prev = None if last is None else _line_hash(last)
            if partial and last is not None:
                line = _event(
                    root, EventType.EVENT_LOG_REPAIR, prev, object=EVENTS_NAME, outcome="recorded",
                    detail="the last line was left partial by an interrupted write",
                    partial_sha256=prev, partial_bytes=len(last),
                )
                _write_line(fd, b"\n" + line + b"\n")
                prev = _line_hash(line)
            line = _event(
                root, event_type, prev, object=obj if isinstance(obj, str) else list(obj),
                outcome=outcome, detail=detail, counts=counts or {}, **(extra or {}),
            )
            _write_line(fd, line + b"\n")
        finally:
            os.close(fd)
    result: dict[str, Any] = json.loads(line)
    return result


def manifest_recorded(root: ArchiveRoot) -> bool:
    """Whether the history's last event recorded the manifest as it is now.

    False after a crash between an ingest's manifest rename and its events
    (or when the manifest was changed outside archiver).
    """
    try:
        fd = os.open(root.events_path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        last, partial = _tail(fd)
    finally:
        os.close(fd)
    if last is None or partial:
        return False
    try:
        obj = json.loads(last)
    except ValueError:
        return False
    current = tag_sha256(root.manifest_path)
    return isinstance(obj, dict) and obj.get("manifest_sha256") == current


@dataclass(frozen=True, slots=True)
class History:
    """What :func:`check_history` found in ``events.jsonl``."""

    events: int
    #: SHA-256 of the last complete line: note it elsewhere to anchor the chain.
    head_sha256: str | None
    #: ``(line number, reason)`` of the first broken link, if any.
    broken: tuple[int, str] | None
    #: Line number of an unrecorded partial last line (an interrupted write).
    partial_line: int | None
    #: Why the current manifest differs from the last one recorded, if it does.
    manifest_mismatch: str | None

    @property
    def ok(self) -> bool:
        return self.broken is None and self.manifest_mismatch is None


def _check_line(obj: Any, prev: str | None, lineno: int) -> str | None:
    if not isinstance(obj, dict) or any(k not in obj for k in _REQUIRED):
        return "not an event (fields missing)"
    if obj["prev"] != prev:
        return (f"prev does not match the sha256 of line {lineno - 1}: that line was edited, "
                "or lines were inserted or removed")
    return None


class _Chain:
    """The state of a walk along the chain, one line at a time."""

    def __init__(self) -> None:
        self.prev: str | None = None
        self.count = 0
        self.damaged: tuple[int, str] | None = None  # an unparseable line, awaiting repair
        self.manifest: str | None = None

    def step(self, lineno: int, text: bytes) -> tuple[int, str] | None:
        """Take one complete line; return ``(line, reason)`` if the chain breaks."""
        try:
            obj = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError):
            if self.damaged is not None:
                return self.damaged[0], "not valid JSON (the line was edited)"
            self.damaged = (lineno, _line_hash(text))
            self.prev = self.damaged[1]
            return None
        if self.damaged is not None and (
            not isinstance(obj, dict) or obj.get("type") != EventType.EVENT_LOG_REPAIR
            or obj.get("partial_sha256") != self.damaged[1]
        ):
            return self.damaged[0], "not valid JSON (the line was edited)"
        reason = _check_line(obj, self.prev, lineno)
        if reason is not None:
            return lineno, reason
        self.damaged, self.prev, self.count = None, _line_hash(text), self.count + 1
        self.manifest = obj.get("manifest_sha256", self.manifest)
        return None


def check_history(root: ArchiveRoot) -> History:
    """Walk the whole chain of ``events.jsonl`` and report its first broken link.

    Raises :class:`FileNotFoundError` if the archive has no history yet, and
    :class:`ArchiveRootError` if there is no archive. Writes nothing.
    """
    root.require()
    chain = _Chain()
    broken, partial = None, None
    with open(root.events_path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                partial = lineno
                break
            broken = chain.step(lineno, raw[:-1])
            if broken is not None:
                break
    if broken is None and chain.damaged is not None and partial is None:
        broken = (chain.damaged[0], "not valid JSON (the line was edited)")
    mismatch = _manifest_mismatch(root, chain.manifest) if broken is None else None
    return History(chain.count, chain.prev, broken, partial, mismatch)


def _manifest_mismatch(root: ArchiveRoot, recorded: str | None) -> str | None:

    current = tag_sha256(root.manifest_path)
    if recorded is None or current == recorded:
        return None
    return (f"manifest-sha256.txt has sha256 {current}, but the last event recorded "
            f"{recorded}: it was changed outside archiver (or a run crashed before "
            "recording; `archiver manifest` rebuilds and records it)")
