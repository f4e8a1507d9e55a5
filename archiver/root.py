"""The archive root: where an archive lives on disk, and its writer lock.

An archive root is a folder holding ``warcs/`` (the WARC files, the record of
truth) and ``manifests/`` (the catalog, fixity manifests and event history).
It is ``--root DIR`` if given, else ``$ARCHIVER_ROOT``, else the current
directory.

Only one process may write to an archive at a time. :meth:`ArchiveRoot.writer_lock`
takes an exclusive ``flock`` on ``manifests/.lock``; it is re-entrant inside
one process (a capture run that updates manifests at its end takes it once).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import ArchiveRootError, LockError

__all__ = ["ENV_ROOT", "ArchiveRoot"]

ENV_ROOT = "ARCHIVER_ROOT"
LOCK_NAME = ".lock"
CATALOG_NAME = "catalog.sqlite"
MANIFEST_NAME = "manifest-sha256.txt"
RECORDS_NAME = "records.jsonl"
EVENTS_NAME = "events.jsonl"
LOG_NAME = "log.jsonl"


@dataclass
class _LockState:
    fd: int | None = None
    depth: int = 0
    owner: int | None = None
    mutex: threading.Lock = field(default_factory=threading.Lock)


# One lock state per resolved root, shared by every ArchiveRoot object naming it,
# because flock conflicts between two descriptors of the same process too.
_LOCKS: dict[Path, _LockState] = {}
_LOCKS_MUTEX = threading.Lock()


class ArchiveRoot:
    """An archive on disk: ``warcs/`` + ``manifests/`` under :attr:`path`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser().resolve()

    @classmethod
    def resolve(cls, root: Path | str | None = None) -> ArchiveRoot:
        """The archive root from ``root``, else ``$ARCHIVER_ROOT``, else the cwd."""
        if root is None or str(root) == "":
            root = os.environ.get(ENV_ROOT) or Path.cwd()
        return cls(root)

    def __repr__(self) -> str:
        return f"ArchiveRoot({str(self.path)!r})"

    @property
    def warcs(self) -> Path:
        """The folder holding WARC files."""
        return self.path / "warcs"

    @property
    def manifests(self) -> Path:
        """The folder holding the catalog, manifests and event log."""
        return self.path / "manifests"

    @property
    def catalog_path(self) -> Path:
        """The SQLite capture catalog."""
        return self.manifests / CATALOG_NAME

    @property
    def manifest_path(self) -> Path:
        """The fixity manifest, in ``sha256sum`` format (:mod:`archiver.fixity.manifest`)."""
        return self.manifests / MANIFEST_NAME

    @property
    def records_path(self) -> Path:
        """The index of every WARC record (:mod:`archiver.fixity.recordindex`)."""
        return self.manifests / RECORDS_NAME

    @property
    def events_path(self) -> Path:
        """The hash-chained fixity history (:mod:`archiver.fixity.events`)."""
        return self.manifests / EVENTS_NAME

    @property
    def log_path(self) -> Path:
        """The append-only Merkle evidence log (:mod:`archiver.fixity.evidencelog`)."""
        return self.manifests / LOG_NAME

    def is_archive(self) -> bool:
        """Whether an archive is here: a ``warcs/`` or ``manifests/`` folder."""
        return self.warcs.is_dir() or self.manifests.is_dir()

    def require(self) -> None:
        """Raise :class:`ArchiveRootError` unless an archive is here.

        Commands that only read call this instead of creating anything, so a
        mistyped root is reported, not turned into an empty archive.
        """
        if not self.is_archive():
            raise ArchiveRootError(self.path, "no archive here (no warcs/ or manifests/ "
                                   "folder); check the archive root's path")

    @property
    def read_only(self) -> bool:
        """Whether this process cannot write to the archive (read-only media, a
        mounted snapshot, a write-blocker, or no write permission)."""
        where = self.manifests if self.manifests.is_dir() else self.path
        return not os.access(where, os.W_OK)

    def require_writable(self) -> None:
        """Raise :class:`ArchiveRootError`, one line, if the archive cannot be written."""
        if not self.read_only:
            return
        where = self.manifests if self.manifests.is_dir() else self.path
        try:
            on_ro_fs = bool(os.statvfs(where).f_flag & os.ST_RDONLY)
        except OSError:
            on_ro_fs = False
        why = "is on a read-only file system" if on_ro_fs else "is not writable by this user"
        raise ArchiveRootError(self.path, f"the archive {why}; nothing was written "
                               "(reading commands still work: verify, list, extract)")

    def ensure(self) -> None:
        """Create ``warcs/`` and ``manifests/`` if missing; fail clearly if we cannot.

        Only the commands that start an archive (capture, demo) call this.
        """
        if self.is_archive():
            self.require_writable()
        try:
            self.warcs.mkdir(parents=True, exist_ok=True)
            self.manifests.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveRootError(
                self.path, f"cannot create the archive folders ({exc.strerror}); "
                "choose a writable folder for the archive"
            ) from exc

    def relative(self, path: Path) -> str:
        """``path`` relative to the root as a POSIX string (``warcs/…``).

        Raises :class:`ArchiveRootError` for a path outside the root.
        """
        try:
            rel = Path(path).resolve().relative_to(self.path)
        except ValueError as exc:
            raise ArchiveRootError(path, f"is outside the archive root {self.path}") from exc
        return PurePosixPath(*rel.parts).as_posix()

    def absolute(self, rel: str) -> Path:
        """The file for a root-relative POSIX path; rejects anything escaping the root."""
        pure = PurePosixPath(rel)
        if pure.is_absolute() or rel.startswith("~") or ".." in pure.parts or not pure.parts:
            raise ArchiveRootError(rel, "is not a relative path inside the archive root")
        return self.path.joinpath(*pure.parts)

    @contextlib.contextmanager
    def writer_lock(self, *, wait: bool = True, timeout: float | None = None) -> Iterator[None]:
        """Hold the archive's exclusive writer lock for the ``with`` block.

        With ``wait`` (the default) block until the lock is free, or until
        ``timeout`` seconds pass; without it, fail at once. Either failure raises
        :class:`LockError` naming the lock file. Re-entrant within one process.

        Creates nothing but ``manifests/`` (in an archive that has only
        ``warcs/``) and the lock file: with no archive here, or a read-only
        one, it raises :class:`ArchiveRootError`.
        """
        self.require()
        self.require_writable()
        if not self.manifests.is_dir():
            self.ensure()
        with _LOCKS_MUTEX:
            state = _LOCKS.setdefault(self.path, _LockState())
        me = threading.get_ident()
        with state.mutex:
            if state.depth and state.owner == me:
                state.depth += 1
                reentered = True
            else:
                reentered = False
        if not reentered:
            self._acquire(state, wait=wait, timeout=timeout)
        try:
            yield
        finally:
            with state.mutex:
                state.depth -= 1
                if state.depth == 0 and state.fd is not None:
                    fcntl.flock(state.fd, fcntl.LOCK_UN)
                    os.close(state.fd)
                    state.fd = None
                    state.owner = None

    def _acquire(self, state: _LockState, *, wait: bool, timeout: float | None) -> None:
        lock_path = self.manifests / LOCK_NAME
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:  # e.g. made read-only since the check
            raise ArchiveRootError(lock_path, f"cannot create the lock: {exc.strerror}; "
                                   "nothing was written") from exc
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise ArchiveRootError(lock_path, f"cannot lock: {exc.strerror}") from exc
                if not wait or (deadline is not None and time.monotonic() >= deadline):
                    os.close(fd)
                    holder = _read_holder(fd_path=lock_path)
                    raise LockError(
                        lock_path,
                        f"another archiver run{holder} is writing to this archive; "
                        "wait for it to finish or use another archive root",
                    ) from exc
                time.sleep(0.1)
        # Record who holds the lock, for the message a second run prints.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        with state.mutex:
            state.fd = fd
            state.depth = 1
            state.owner = threading.get_ident()


def _read_holder(fd_path: Path) -> str:
    try:
        pid = fd_path.read_text(encoding="ascii").strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
