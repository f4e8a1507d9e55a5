"""The capture catalog: an SQLite index of every capture attempt.

It lives at ``manifests/catalog.sqlite`` and answers "what did we capture,
when, where is it, what failed" quickly. It is *not* the record of truth: the
WARCs are. Every attempt also writes a ``metadata`` record into the WARC, and
:func:`rebuild` recreates the whole catalog from those records (``archiver
reindex``). Rows are only inserted after the WARC records they point to have
been fsynced, so the catalog never points at bytes that are not on disk.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..errors import CatalogError, FailureReason

__all__ = ["MEMORY", "Capture", "Catalog", "PayloadRef", "Source"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS captures (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    final_url TEXT,
    status INTEGER,
    captured_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    error TEXT,
    truncated TEXT,
    warc TEXT,
    offset INTEGER,
    length INTEGER,
    record_id TEXT,
    record_type TEXT,
    payload_sha256 TEXT,
    payload_size INTEGER,
    metadata_id TEXT UNIQUE,
    source TEXT,
    page_id TEXT
);
CREATE INDEX IF NOT EXISTS captures_url ON captures(url);
CREATE TABLE IF NOT EXISTS payloads (
    sha256 TEXT PRIMARY KEY,
    record_id TEXT NOT NULL,
    target_uri TEXT NOT NULL,
    date TEXT NOT NULL
);
"""


class Outcome(StrEnum):
    """How a capture attempt ended, as the catalog and ``archiver list`` record it."""

    CAPTURED = "captured"
    REVISIT = "revisit"
    FAILED = "failed"


class Source(StrEnum):
    """Where a catalogued capture came from."""

    #: Captured by archiver (described by its metadata record).
    CAPTURE = "capture"
    #: A response record in a WARC imported from another tool (``archiver import``).
    IMPORT = "import"


@dataclass(frozen=True)
class Capture:
    """One capture attempt, as the catalog and ``archiver list`` show it.

    ``outcome`` says how it ended; ``reason`` is the failure code
    (:class:`archiver.errors.FailureReason`). ``warc``,
    ``offset`` and ``length`` locate the final response or revisit record.
    ``metadata_id`` names the metadata record describing the attempt; for an
    imported capture (``source`` import), which has none, the record itself.
    ``page_id`` is set on a page requisite (``capture -p``): the ``metadata_id``
    of the page it was captured for.
    """

    url: str
    captured_at: str
    outcome: Outcome
    final_url: str | None = None
    status: int | None = None
    reason: FailureReason | str | None = None
    error: str | None = None
    truncated: str | None = None
    warc: str | None = None
    offset: int | None = None
    length: int | None = None
    record_id: str | None = None
    record_type: str | None = None
    payload_sha256: str | None = None
    payload_size: int | None = None
    metadata_id: str | None = None
    source: Source = Source.CAPTURE
    page_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PayloadRef:
    """The first response record holding a payload: what a revisit refers to."""

    record_id: str
    target_uri: str
    date: str


#: The ``path`` of a catalog kept in memory.
MEMORY = ":memory:"

_COLUMNS = [f.name for f in fields(Capture)]
_INSERT = (f"INSERT OR IGNORE INTO captures ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in _COLUMNS)})")


class Catalog:
    """The SQLite catalog at ``path``; thread-safe, one connection.

    ``path`` ``:memory:`` is a catalog in memory (rebuilt from the WARCs where
    none can be written). With ``read_only`` nothing is written, not even
    SQLite's ``-wal``/``-shm`` files: for read-only media.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            if read_only:
                self._db = _connect_read_only(path)
                self._have = _columns(self._db)
                return
            if str(path) != MEMORY:
                _create(path)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            _migrate(self._db)
            self._have = _columns(self._db)
        except sqlite3.Error as exc:
            raise CatalogError(path, f"cannot open the catalog ({exc}); "
                               "run `archiver reindex` to rebuild it from the WARCs") from exc

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, capture: Capture, payloads: Sequence[tuple[str, PayloadRef]] = ()) -> None:
        """Record one attempt (and any new payloads it wrote) in one transaction."""
        values = [getattr(capture, c) for c in _COLUMNS]  # (asdict deep-copies: slow)
        with self._lock, self._tx():
            self._db.execute(_INSERT, values)
            for sha, ref in payloads:
                self._db.execute(
                    "INSERT OR IGNORE INTO payloads VALUES (?, ?, ?, ?)",
                    (sha, ref.record_id, ref.target_uri, ref.date),
                )

    def add_payload(self, sha256_hex: str, ref: PayloadRef) -> None:
        """Remember the first record holding a payload (later ones are ignored)."""
        with self._lock, self._tx():
            self._db.execute(
                "INSERT OR IGNORE INTO payloads VALUES (?, ?, ?, ?)",
                (sha256_hex, ref.record_id, ref.target_uri, ref.date),
            )

    def payload(self, sha256_hex: str) -> PayloadRef | None:
        """The first response record with this payload digest, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT record_id, target_uri, date FROM payloads WHERE sha256 = ?",
                (sha256_hex,),
            ).fetchone()
        return PayloadRef(*row) if row else None

    def captures(self, *, failed_only: bool = False) -> Iterator[Capture]:
        """Every attempt in order; with ``failed_only``, URLs whose latest attempt failed."""
        # A catalog opened read-only is never migrated: one an earlier
        # version made has no source column (its rows are all captures).
        columns = [c for c in _COLUMNS if c in self._have]
        sql = f"SELECT {', '.join(columns)} FROM captures"
        if failed_only:
            sql += (" WHERE id IN (SELECT max(id) FROM captures GROUP BY url)"
                    " AND outcome = 'failed'")
        sql += " ORDER BY id"
        with self._lock:
            rows = self._db.execute(sql).fetchall()
        for row in rows:
            yield _from_row(dict(zip(columns, row, strict=True)))

    def warc_files(self) -> list[str]:
        """Every WARC file (root-relative) that some catalogued capture is in."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT warc FROM captures WHERE warc IS NOT NULL ORDER BY warc"
            ).fetchall()
        return [row[0] for row in rows]

    def failed_urls(self) -> list[str]:
        """URLs to retry: pages whose latest attempt failed. A requisite is not one:
        it is fetched on its page's behalf (the address policy), never as a seed."""
        return [c.url for c in self.captures(failed_only=True) if c.page_id is None]

    def requisite_counts(self) -> dict[str, tuple[int, int]]:
        """For each page with requisites (by its ``metadata_id``): how many, how many failed."""
        if "page_id" not in self._have:
            return {}  # an earlier version's catalog, opened read-only: none
        with self._lock:
            rows = self._db.execute(
                "SELECT page_id, count(*), sum(outcome = 'failed') FROM captures"
                " WHERE page_id IS NOT NULL GROUP BY page_id").fetchall()
        return {page: (total, failed) for page, total, failed in rows}

    def clear(self) -> None:
        with self._lock, self._tx():
            self._db.execute("DELETE FROM captures")
            self._db.execute("DELETE FROM payloads")

    def _tx(self) -> _Transaction:
        return _Transaction(self._db, self.path)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    # With no -wal file (a clean close removes it) nothing is pending, and
    # "immutable" keeps SQLite from trying to create one; with one, "mode=ro"
    # reads it (which needs its -shm file, or fails here, not later).
    wal = path.with_name(path.name + "-wal")
    flag = "mode=ro" if wal.exists() else "immutable=1"
    db = sqlite3.connect(f"{path.absolute().as_uri()}?{flag}", uri=True,
                         check_same_thread=False, isolation_level=None)
    try:
        db.execute("SELECT count(*) FROM captures, payloads").fetchone()
    except sqlite3.Error:
        db.close()
        raise
    return db


def _create(path: Path) -> None:
    """Create the catalog file, empty, so its mode follows the umask (SQLite would
    create it 0644 whatever the umask, and give its -wal and -shm files the same)."""
    with contextlib.suppress(OSError):  # exists already, or SQLite will say why not
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666))


def _columns(db: sqlite3.Connection) -> set[str]:
    return {row[1] for row in db.execute("PRAGMA table_info(captures)")}


def _migrate(db: sqlite3.Connection) -> None:
    """Add the columns later versions added to a catalog an earlier one made."""
    have = _columns(db)
    if "source" not in have:
        db.execute("ALTER TABLE captures ADD COLUMN source TEXT")
    if "page_id" not in have:
        db.execute("ALTER TABLE captures ADD COLUMN page_id TEXT")


class _Transaction:
    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db, self.path = db, path

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error as err:
                raise CatalogError(self.path, f"cannot write the catalog: {err}") from err
        else:
            self.db.execute("ROLLBACK")


def _from_row(values: dict[str, Any]) -> Capture:
    values["outcome"] = Outcome(values["outcome"])
    values["reason"] = parse_reason(values["reason"])
    values["source"] = Source(values.get("source") or Source.CAPTURE)
    return Capture(**values)


def parse_reason(code: str | None) -> FailureReason | str | None:
    """The :class:`FailureReason` of a stored code; an unknown code is kept as it is."""
    if not code:
        return None
    # A code this version does not know (a newer archiver wrote it) is kept
    # as it is rather than refused.
    try:
        return FailureReason(code)
    except ValueError:
        return code
