"""The handoff of closed WARCs to the fixity manifests, made to survive a crash.

A WARC is closed by renaming ``NAME.warc.gz.open`` to ``NAME.warc.gz``, and
listed in ``manifests/manifest-sha256.txt`` afterwards by the fixity side
(:func:`archiver.fixity.manifest.record_ingest`). A crash between the two
would leave a closed WARC that no manifest lists and that the recovery of
``.open`` files never looks at. So before the rename the closing file's final
name is noted in ``manifests/ingest-pending.txt`` (appended and fsynced); an
ingest forgets the names it has listed, and the next run that holds the
writer lock ingests whatever is still pending.

This module owns that file: one root-relative POSIX path per line, as a JSON
string (a file name may hold any character). Duplicates are harmless; a
partial last line (a crash while noting) is ignored, because the rename it
announced had not happened yet and the file is still ``.open``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from pathlib import Path

from ..atomic import atomic_write, fsync_dir
from ..root import ArchiveRoot

__all__ = ["PENDING_NAME", "forget_closed", "note_closing", "pending_closed"]

PENDING_NAME = "ingest-pending.txt"


def note_closing(root: ArchiveRoot, final: Path) -> None:
    """Durably note that ``final`` is about to be closed and needs ingesting.

    Call with the writer lock held, before renaming the ``.open`` file.
    """
    root.manifests.mkdir(exist_ok=True)  # (a writer may be the first to write here)
    path = root.manifests / PENDING_NAME
    created = not path.exists()
    line = json.dumps(root.relative(final), ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666)
    try:
        os.write(fd, line.encode("utf-8", "surrogateescape"))
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        fsync_dir(root.manifests)


def pending_closed(root: ArchiveRoot) -> list[str]:
    """The root-relative paths noted as closing and not yet forgotten, sorted, unique."""
    try:
        data = (root.manifests / PENDING_NAME).read_bytes()
    except FileNotFoundError:
        return []
    found = set()
    for line in data.split(b"\n"):
        try:
            rel = json.loads(line.decode("utf-8", "surrogateescape"))
        except ValueError:
            continue  # the partial last line of an interrupted note (or an empty line)
        if isinstance(rel, str):
            found.add(rel)
    return sorted(found)


def forget_closed(root: ArchiveRoot, done: Collection[str]) -> None:
    """Drop ``done`` (root-relative paths now listed, or refused) from the pending list.

    Call with the writer lock held. The list is rewritten atomically, or
    removed when nothing is left.
    """
    path = root.manifests / PENDING_NAME
    pending = pending_closed(root)
    if not pending and not path.exists():
        return
    keep = [rel for rel in pending if rel not in done]
    if not keep:
        path.unlink(missing_ok=True)
        fsync_dir(root.manifests)
        return
    if len(keep) == len(pending):
        return
    with atomic_write(path) as fh:
        for rel in keep:
            fh.write((json.dumps(rel, ensure_ascii=False) + "\n").encode("utf-8",
                                                                         "surrogateescape"))
