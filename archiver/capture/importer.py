"""Importing WARC (and ARC) files made by other tools: ``archiver import``.

Each file is first read to its end (:func:`archiver.warc.check.check_warc`:
every record parsed, every digest it carries checked). A file that is not
sound is refused with the reason, and nothing of it enters the archive,
unless ``allow_damaged`` (then it is imported as it is, recorded as damaged).
A sound file is copied (never moved; hard-linked with ``link``) to
``warcs/imported/<sha256 prefix>-<name>``: the name holds the file's own
digest, so two different files never collide and the same file imported
again is found and left alone. The copy is hashed as it is written and
compared with what was checked, fsynced and renamed into place; then it is
added to the manifest, the records index and the events log (an
``ingestion`` event naming the source path, its sha256 and what was
checked), and its responses to the catalog as captures with source
``import`` (:mod:`archiver.capture.reindex`).

A source may be an ``s3://`` URL (an object, or a prefix: the WARCs under
it; :mod:`archiver.warc.location`): it is read twice, streaming, as a local
file is (checked, then copied while hashing), and never hard-linked.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from ..atomic import fsync_dir, fsync_file, remove_stale_temps
from ..errors import ArchiverError, LocationError, WarcImportError
from ..fixity.manifest import iter_manifest, record_ingest
from ..hashing import BLOCK_SIZE, sha256_file
from ..root import ArchiveRoot
from ..warc.cdxj import add_warcs_to_cdxj
from ..warc.check import WarcCheck, check_warc
from ..warc.files import IMPORTED_FOLDER, is_warc_name
from ..warc.location import Location, basename, is_remote, list_warcs, open_read
from .catalog import Catalog
from .reindex import index_warcs, open_catalog

__all__ = ["ImportReport", "ImportResult", "ImportStatus", "import_warcs"]

log = logging.getLogger(__name__)

#: How a refused file can be made readable (the one tool that rewrites a WARC
#: compressed as a whole, or with records sharing gzip members, record by record).
RECOMPRESS = ("if its compression is the fault (the whole file one gzip stream, or records "
              "sharing gzip members), `warcio recompress FILE FIXED.warc.gz` rewrites it "
              "record by record")


class ImportStatus(StrEnum):
    """What happened to one file given to import."""

    IMPORTED = "imported"
    #: Imported although it is not sound (``allow_damaged``).
    DAMAGED = "imported-damaged"
    #: The same bytes are in the archive already: nothing done.
    ALREADY = "already"
    REFUSED = "refused"


@dataclass(frozen=True)
class ImportResult:
    """One file given to import: where it went (root-relative) or why not."""

    source: Location
    status: ImportStatus
    dest: str | None = None
    sha256: str | None = None
    checked: str = ""
    error: str | None = None
    #: Refused for what was found reading it (``allow_damaged`` would import it).
    damaged: bool = False


@dataclass
class ImportReport:
    """What an import run did, file by file."""

    results: list[ImportResult] = field(default_factory=list)
    captures: int = 0

    @property
    def refused(self) -> list[ImportResult]:
        return [r for r in self.results if r.status == ImportStatus.REFUSED]


class _Damaged(WarcImportError):
    """Refused for what reading it found (not for its name or a failed copy)."""


def iter_sources(paths: Iterable[Location]) -> Iterator[Location | LocationError]:
    """The files named, and the WARC and ARC files under the folders (or S3
    prefixes) named, sorted; a prefix that cannot be listed, as its error."""
    for path in paths:
        if isinstance(path, Path) and path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and is_warc_name(p.name))
        elif is_remote(path):
            try:
                yield from list_warcs(path)
            except LocationError as exc:
                yield exc
        else:
            yield path


def import_warcs(root: ArchiveRoot, paths: Iterable[Location], *, link: bool = False,
                 allow_damaged: bool = False) -> ImportReport:
    """Import the files (and folders of files) in ``paths``; see the module docstring.

    Never raises for one bad file: it is reported refused and the run goes
    on. Raises :class:`archiver.errors.LockError` if another run holds the
    archive.
    """
    report = ImportReport()
    root.ensure()
    with root.writer_lock(), open_catalog(root) as catalog:
        for source in iter_sources(paths):
            if isinstance(source, LocationError):
                report.results.append(ImportResult(source.name, ImportStatus.REFUSED,
                                                   error=str(source)))
                continue
            try:
                result = _import_one(root, catalog, source, link, allow_damaged)
            except _Damaged as exc:
                result = ImportResult(source, ImportStatus.REFUSED, error=str(exc), damaged=True)
            except ArchiverError as exc:
                result = ImportResult(source, ImportStatus.REFUSED, error=str(exc))
            if result.status == ImportStatus.REFUSED:
                log.info("%s", result.error)
            report.results.append(result)
            if result.dest is not None and result.status != ImportStatus.ALREADY:
                added, errors = index_warcs(root, catalog, [root.absolute(result.dest)])
                report.captures += added
                # (a damaged file's errors are the ones index_warcs just gave)
                add_warcs_to_cdxj(root, [root.absolute(result.dest)])
                for error in errors:
                    log.warning("%s", error)
    return report


def _import_one(root: ArchiveRoot, catalog: Catalog, source: Location, link: bool,
                allow_damaged: bool) -> ImportResult:
    name = basename(source)
    if not is_warc_name(name):
        raise WarcImportError(source, "not a WARC or ARC file name (.warc, .warc.gz, .arc, "
                              ".arc.gz); rename it if it is one")
    if isinstance(source, Path) and not source.is_file():
        raise WarcImportError(source, "no such file" if not source.exists() else "not a file")
    if link and is_remote(source):
        raise WarcImportError(source, "an S3 object cannot be hard-linked; import it "
                              "without --link to copy it")
    try:
        check = check_warc(source)
    except LocationError as exc:
        raise WarcImportError(source, exc.reason) from exc
    except OSError as exc:
        raise WarcImportError(source, f"cannot read: {exc.strerror or exc}") from exc
    if not check.sound and not allow_damaged:
        gz = name.endswith(".gz") and check.damage is not None
        remedy = f"; {RECOMPRESS}" if gz and "recompress" not in (check.damage or "") else ""
        raise _Damaged(source, f"not imported: {check.verdict()}{remedy}")
    existing = _already(root, check.sha256)
    if existing is not None:
        return ImportResult(source, ImportStatus.ALREADY, existing, check.sha256,
                            f"the same bytes are already in the archive as {existing}")
    dest = root.warcs / IMPORTED_FOLDER / f"{check.sha256[:16]}-{_safe_name(name)}"
    _place(source, dest, check, link)
    rel = root.relative(dest)
    status = ImportStatus.IMPORTED if check.sound else ImportStatus.DAMAGED
    origin = source if isinstance(source, str) else source.resolve().as_posix()
    detail = (f"imported from {origin} sha256:{check.sha256} "
              f"({'hard link' if link else 'copy'}); "
              + (check.summary() if check.sound else f"imported as damaged: {check.verdict()}"))
    record_ingest(root, [dest], accept_unreadable=not check.sound, detail=detail)
    return ImportResult(source, status, rel, check.sha256,
                        check.summary() if check.sound else check.verdict())


def _already(root: ArchiveRoot, sha256: str) -> str | None:
    """The archive file holding exactly these bytes, if any (by the manifest)."""
    if not root.manifest_path.exists():
        return None
    for entry in iter_manifest(root.manifest_path):
        if entry.sha256 == sha256:
            return entry.path
    return None


def _safe_name(name: str) -> str:
    # The source's own name, kept recognisable, in characters every file
    # system and every manifest reader takes as they are.
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return safe[-150:]


def _place(source: Location, dest: Path, check: WarcCheck, link: bool) -> None:
    """Copy (or hard-link) ``source`` to ``dest`` durably, proving the bytes are
    the ones checked; the temporary name is removed on any failure."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(dest)  # what an import of the same file, killed, left
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.tmp")
    try:
        if link:
            assert isinstance(source, Path)  # (refused for S3 by _import_one)
            try:
                os.link(source, tmp)
            except OSError as exc:
                raise WarcImportError(source, f"cannot hard-link into the archive "
                                      f"({exc.strerror or exc}); import it without link "
                                      "to copy it") from exc
            sha, _ = sha256_file(tmp)
        else:
            sha = _copy(source, tmp)
        if sha != check.sha256:
            raise WarcImportError(source, "changed while it was being imported "
                                  f"(sha256 {check.sha256} when checked, {sha} when copied); "
                                  "import it again once nothing writes to it")
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _copy(source: Location, tmp: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open_read(source) as src, open(tmp, "xb") as out:
            while chunk := src.read(BLOCK_SIZE):
                out.write(chunk)
                digest.update(chunk)
            fsync_file(out)
    except LocationError as exc:
        raise WarcImportError(source, f"cannot copy into the archive: {exc.reason}") from exc
    except OSError as exc:
        raise WarcImportError(source, f"cannot copy into the archive: "
                              f"{exc.strerror or exc}") from exc
    return digest.hexdigest()
