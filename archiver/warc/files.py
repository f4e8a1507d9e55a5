"""WARC files on disk: which names are WARCs, and the ``.open`` suffix of one being written.

The one rule for "which files are WARCs", used by every reader of an archive
(reindex, extract, recovery). A WARC being written is ``NAME.warc.gz.open``
and becomes ``NAME.warc.gz`` when it is closed, so a name ending in
:data:`OPEN_SUFFIX` is never a finished WARC.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["OPEN_SUFFIX", "WARC_SUFFIX", "WARC_SUFFIXES", "find_open_files", "find_warc_files",
           "is_warc_name"]

#: The suffix of a WARC file while it is being written.
OPEN_SUFFIX = ".open"
#: The suffix of the WARC files archiver writes (one gzip member per record).
WARC_SUFFIX = ".warc.gz"
#: Every suffix read as a WARC file.
WARC_SUFFIXES = (".warc.gz", ".warc")


def is_warc_name(name: str) -> bool:
    """Whether a file called ``name`` is a closed WARC file."""
    return name.endswith(WARC_SUFFIXES)


def find_warc_files(folder: Path) -> list[Path]:
    """The closed WARC files under ``folder``, recursively, sorted by path."""
    if not folder.is_dir():
        return []
    # A symlink is never followed: it could point anywhere outside the archive.
    return sorted(p for p in folder.rglob("*")
                  if is_warc_name(p.name) and p.is_file() and not p.is_symlink())


def find_open_files(folder: Path) -> list[Path]:
    """The WARC files under ``folder`` that a writer left ``.open``, sorted by path."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*" + WARC_SUFFIX + OPEN_SUFFIX) if p.is_file())
