"""Atomic replacement of files that are records of truth.

A record of truth (a manifest, the event log rewrite, a closed WARC) is never
edited in place: it is written to a temporary file in the same folder, flushed
and fsynced, renamed over the old name with :func:`os.replace`, and the folder
itself is fsynced so that the rename survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "fsync_dir", "fsync_file"]


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


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` atomically: yields a binary file; on success it replaces ``path``.

    On any exception the temporary file is removed and ``path`` is untouched,
    so a reader sees either the old complete file or the new complete one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fsync_file(fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)
