"""WARC files on disk: which names are WARCs, and the ``.open`` suffix of one being written.

The one rule for "which files are WARCs", used by every reader of an archive
(reindex, extract, recovery). A WARC being written is ``NAME.warc.gz.open``
and becomes ``NAME.warc.gz`` when it is closed, so a name ending in
:data:`OPEN_SUFFIX` is never a finished WARC.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ARC_SUFFIXES", "IMPORTED_FOLDER", "OPEN_SUFFIX", "WARC_SUFFIX", "WARC_SUFFIXES",
           "find_open_files", "find_warc_files", "is_arc_name", "is_imported", "is_warc_name"]

#: The suffix of a WARC file while it is being written.
OPEN_SUFFIX = ".open"
#: The suffix of the WARC files archiver writes (one gzip member per record).
WARC_SUFFIX = ".warc.gz"
#: The suffixes of ARC files (the format before WARC), read as warcio reads them.
ARC_SUFFIXES = (".arc.gz", ".arc")
#: Every suffix read as a WARC file (ARC included: imported from other tools).
WARC_SUFFIXES = (".warc.gz", ".warc", *ARC_SUFFIXES)


#: The folder under ``warcs/`` that ``archiver import`` copies other tools' files into.
IMPORTED_FOLDER = "imported"


def is_imported(rel: str) -> bool:
    """Whether the root-relative path ``rel`` is a file brought in by ``archiver import``."""
    return rel.startswith(f"warcs/{IMPORTED_FOLDER}/")


def is_warc_name(name: str) -> bool:
    """Whether a file called ``name`` is a closed WARC (or ARC) file."""
    return name.endswith(WARC_SUFFIXES)


def is_arc_name(name: str) -> bool:
    """Whether a file called ``name`` is read as ARC rather than WARC."""
    return name.endswith(ARC_SUFFIXES)


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
