"""Export of the archive as a BagIt 1.0 bag (RFC 8493), for hand-over and deposit.

The bag holds the WARC files and the fixity records under ``data/``::

    DEST/bagit.txt
    DEST/bag-info.txt                 Payload-Oxum, Bagging-Date, Bag-Software-Agent
    DEST/manifest-sha256.txt          every payload file
    DEST/tagmanifest-sha256.txt       the three tag files above
    DEST/data/manifests/{manifest-sha256.txt,records.jsonl,events.jsonl,log.jsonl}
    DEST/data/warcs/…                 every file the fixity manifest lists

Each WARC is hashed while it is copied and must match the fixity manifest,
so a bag is never made of damaged evidence (run ``archiver verify`` to see
what is wrong). The capture catalog is left out: it is derived data that
``archiver reindex`` rebuilds from the WARCs. The bag is built in a sibling
folder and renamed into place, under the writer lock, so DEST is either
absent or complete (the next export to DEST removes what a killed one left);
a ``replication`` event records the export.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from ..atomic import fsync_dir, fsync_file
from ..errors import ConfigError, ExportError, VerifyError
from ..hashing import BLOCK_SIZE, sha256_file
from ..root import EVENTS_NAME, LOG_NAME, MANIFEST_NAME, RECORDS_NAME, ArchiveRoot
from ..version import SOFTWARE
from .events import EventType, append_event
from .manifest import iter_manifest

__all__ = ["ExportReport", "export_bagit"]

TAG_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt")


@dataclass(frozen=True, slots=True)
class ExportReport:
    """The bag written: where, and its Payload-Oxum."""

    dest: Path
    files: int
    bytes: int


def _copy_hashed(src: Path, dst: Path) -> tuple[str, int]:
    """Copy ``src`` to ``dst`` (fsynced), returning the SHA-256 and size of what was read."""
    digest, size = hashlib.sha256(), 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:  # a symlink put where a listed file was is never followed out of the archive
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ExportError(src, "is a symlink, not the file the manifest lists; "
                              "run `archiver verify` before exporting") from exc
        raise
    with open(fd, "rb") as fin, open(dst, "wb") as fout:
        while chunk := fin.read(BLOCK_SIZE):
            digest.update(chunk)
            fout.write(chunk)
            size += len(chunk)
        fsync_file(fout)
    return digest.hexdigest(), size


def _bag_path(rel: str) -> str:
    # RFC 8493 §2.1.3: only CR, LF and % are percent-encoded in manifest paths.
    return rel.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _payload(root: ArchiveRoot) -> Iterator[tuple[str, str | None]]:
    """``(root-relative path, sha256 it must have or None)``, in bytewise order."""
    for name in sorted((MANIFEST_NAME, RECORDS_NAME, EVENTS_NAME, LOG_NAME)):
        if (root.manifests / name).is_file():
            yield f"manifests/{name}", None
    for entry in iter_manifest(root.manifest_path):
        yield entry.path, entry.sha256


def _write_payload(root: ArchiveRoot, bag: Path, manifest: BinaryIO) -> tuple[int, int]:
    files = size = 0
    for rel, expected in _payload(root):
        sha, n = _copy_hashed(root.absolute(rel), bag.joinpath("data", *rel.split("/")))
        if expected is not None and sha != expected:
            raise ExportError(root.absolute(rel), f"sha256 {sha} does not match the manifest's "
                              f"{expected}; run `archiver verify` before exporting")
        manifest.write(f"{sha}  {_bag_path('data/' + rel)}\n".encode())
        files, size = files + 1, size + n
    return files, size


def _write_tags(bag: Path, files: int, size: int) -> None:
    (bag / "bagit.txt").write_bytes(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    info = (f"Bag-Software-Agent: {SOFTWARE}\n"
            f"Bagging-Date: {datetime.now(UTC).date().isoformat()}\n"
            f"Payload-Oxum: {size}.{files}\n")
    (bag / "bag-info.txt").write_bytes(info.encode())
    lines = [f"{sha256_file(bag / name)[0]}  {name}\n" for name in sorted(TAG_FILES)]
    (bag / "tagmanifest-sha256.txt").write_bytes("".join(lines).encode())


def _remove_stale_partials(dest: Path) -> None:
    """Remove the half-built bags for ``dest`` that killed exports left behind."""
    prefix = f".{dest.name}.partial-"
    try:
        with os.scandir(dest.parent) as it:
            found = [(e.path, e.name[len(prefix):]) for e in it if e.name.startswith(prefix)]
    except FileNotFoundError:
        return
    for path, pid in found:
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def export_bagit(root: ArchiveRoot, dest: Path) -> ExportReport:
    """Write the archive as a BagIt 1.0 bag at ``dest`` (which must not exist).

    Raises :class:`ConfigError` if ``dest`` exists, :class:`ExportError` if a
    WARC does not match the manifest, :class:`VerifyError` for no manifest.
    """
    dest = Path(dest).expanduser().absolute()
    if dest.exists():
        raise ConfigError(f"{dest}: already exists; give a new folder for the bag")
    # Resolved, as the root is: a ".." or a symlinked folder on the way must
    # not hide that the bag would land inside the archive it copies.
    if dest.resolve().is_relative_to(root.path):
        raise ConfigError(f"{dest}: is inside the archive root {root.path}; "
                          "put the bag elsewhere")
    if not (root.manifest_path).is_file():
        raise VerifyError(root.manifest_path, "no manifest; run `archiver manifest`")
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    with root.writer_lock():
        _remove_stale_partials(dest)
        try:
            partial.mkdir(parents=True)
            with open(partial / "manifest-sha256.txt", "wb") as manifest:
                files, size = _write_payload(root, partial, manifest)
                fsync_file(manifest)
            _write_tags(partial, files, size)
            os.rename(partial, dest)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        fsync_dir(dest.parent)
        append_event(root, EventType.REPLICATION, outcome="success", obj=str(dest),
                     detail="BagIt 1.0 bag", counts={"files": files, "bytes": size})
    return ExportReport(dest, files, size)
