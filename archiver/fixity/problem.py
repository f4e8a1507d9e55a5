"""What fixity verification finds: each problem, and the report that collects them.

Verification never stops at the first problem; it returns one
:class:`VerifyReport` listing every :class:`Problem`, sorted by path then
kind, so two runs over the same damage print the same report. The kinds:

==============  ================================================================
modified        the file's SHA-256 differs from the manifest (size not smaller)
truncated       the file is shorter than recorded, and so differs
missing         listed in the manifest, not on disk (and not found elsewhere)
extra           on disk under warcs/, listed in no manifest
moved           listed file gone, a file with its SHA-256 at another path
unreadable      present but cannot be read (I/O error, a folder, a dead link);
                never counted as missing, and never as passed
invalid-record  (``--records``) a WARC record's digest disagrees with its own
                header though the file matches the manifest
log-mismatch    (``--records``) a record's stored bytes no longer hash to the
                ``member_sha256`` of its evidence log leaf
==============  ================================================================
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from ..sizes import format_size

__all__ = ["KINDS", "DamagedRecord", "Problem", "ProblemKind", "VerifyReport"]


class ProblemKind(StrEnum):
    """What is wrong with a path (the table above); the values are what reports print."""

    MODIFIED = "modified"
    TRUNCATED = "truncated"
    MISSING = "missing"
    EXTRA = "extra"
    MOVED = "moved"
    UNREADABLE = "unreadable"
    INVALID_RECORD = "invalid-record"
    LOG_MISMATCH = "log-mismatch"


#: Every kind, in the order reports count them.
KINDS = tuple(ProblemKind)


@dataclass(frozen=True, slots=True)
class DamagedRecord:
    """A WARC record inside a damaged file: which capture was hit, and how."""

    offset: int
    record_id: str
    target_uri: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one path. ``path`` is root-relative POSIX."""

    kind: ProblemKind
    path: str
    detail: str
    expected_sha256: str | None = None
    found_sha256: str | None = None
    expected_size: int | None = None
    found_size: int | None = None
    #: For ``moved``: where the file is now.
    moved_to: str | None = None
    records: tuple[DamagedRecord, ...] = ()

    def line(self) -> str:
        """One line for humans: ``KIND  PATH  detail``."""
        return f"{self.kind:<14} {self.path}  {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["records"] = [asdict(r) for r in self.records]
        return data


@dataclass(slots=True)
class VerifyReport:
    """Everything one verification run checked and found."""

    mode: str
    started: str = ""
    finished: str = ""
    #: Entries in the manifest.
    files: int = 0
    #: Files whose content was hashed, and how many bytes that was.
    hashed_files: int = 0
    hashed_bytes: int = 0
    #: Listed files found intact by this mode's checks.
    ok: int = 0
    #: Total bytes of the listed files (what --sample takes its share of).
    total_bytes: int = 0
    sample_percent: float | None = None
    seed: int | None = None
    manifest_sha256: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        """Problems per kind, in :data:`KINDS` order, zero kinds left out."""
        found = Counter(p.kind for p in self.problems)
        return {kind: found[kind] for kind in KINDS if found[kind]}

    def summary(self) -> str:
        """The one-line summary the CLI prints first."""
        hashed = f", {self.hashed_files} hashed ({format_size(self.hashed_bytes)})"
        head = f"verify ({self.mode}): {self.files} files{hashed if self.hashed_files else ''}"
        if self.passed:
            return f"{head}: all intact"
        kinds = ", ".join(f"{n} {kind}" for kind, n in self.counts().items())
        n = len(self.problems)
        return f"{head}: {n} problem{'' if n == 1 else 's'} ({kinds})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode, "started": self.started, "finished": self.finished,
            "passed": self.passed, "files": self.files, "ok": self.ok,
            "hashed_files": self.hashed_files, "hashed_bytes": self.hashed_bytes,
            "total_bytes": self.total_bytes, "sample_percent": self.sample_percent,
            "seed": self.seed, "manifest_sha256": self.manifest_sha256,
            "counts": self.counts(), "problems": [p.as_dict() for p in self.problems],
        }


