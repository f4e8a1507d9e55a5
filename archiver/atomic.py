"""Atomic replacement of files that are records of truth.

A record of truth (a manifest, the event log rewrite, a closed WARC) is never
edited in place: it is written to a temporary file in the same folder, flushed
and fsynced, renamed over the old name with :func:`os.replace`, and the folder
itself is fsynced so that the rename survives a power cut.

The temporary file is ``.NAME.<random>.tmp``. A process killed mid-write
leaves one behind; the next writer of ``NAME`` (holding the lock that guards
it) removes them. New files get the permissions the umask gives, like every
other file archiver creates.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "fsync_dir", "fsync_file", "remove_stale_temps"]


def fsync_dir(path: Path) -> None:
    """fsync the directory ``path`` so renames and creations inside it are durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(fh: BinaryIO) -> None:
    """Flush Python's buffer and fsync ``fh`` to stable storage."""
    fh.flush()
    os.fsync(fh.fileno())


def _temp_name_pattern(name: str) -> re.Pattern[str]:
    # Ours are 12 hex digits; 8 of [a-z0-9_] are what tempfile.mkstemp made
    # in earlier versions. No dot inside: NAME.b's temp files never match NAME's.
    return re.compile(rf"\.{re.escape(name)}\.[a-z0-9_]{{8,12}}\.tmp")


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove the temporary files a killed :func:`atomic_write` of ``path`` left.

    Only safe while holding the lock that guards ``path`` (no live writer
    can own one). Returns the files removed.
    """
    pattern = _temp_name_pattern(path.name)
    removed = []
    try:
        with os.scandir(path.parent) as it:
            stale = [Path(e.path) for e in it if pattern.fullmatch(e.name)]
    except FileNotFoundError:
        return []
    for tmp in stale:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def _create_temp(path: Path) -> tuple[int, Path]:
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            # 0o666: the umask decides, as for any file created with open().
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` atomically: yields a binary file; on success it replaces ``path``.

    On any exception the temporary file is removed and ``path`` is untouched,
    so a reader sees either the old complete file or the new complete one.
    Call it holding the lock that guards ``path``: temporary files of ``path``
    that a killed writer left are removed first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fsync_file(fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)
