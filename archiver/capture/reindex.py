"""Rebuilding the capture catalog from the WARCs, the record of truth.

``archiver reindex`` (and the recovery of a crashed run) reads every record:
response and revisit records give where each capture landed and which
payloads the archive holds; archiver's ``metadata`` records
(:mod:`archiver.capture.outcome`) give the outcome of each attempt, failures included.
In files brought in by ``archiver import`` (``warcs/imported/``) every
response and revisit record is a capture of its own, with source ``import``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from warcio.recordloader import ArcWarcRecord

from ..errors import CatalogError, LockError, WarcError
from ..hashing import sha256_hex
from ..root import ArchiveRoot
from ..warc.digester import chunked_coding
from ..warc.files import find_warc_files, is_imported
from ..warc.record import iter_records
from .catalog import MEMORY, Capture, Catalog, Outcome, PayloadRef, Source
from .outcome import capture_from_fields, parse_outcome

__all__ = ["catalog_for_reading", "index_warcs", "open_catalog", "rebuild"]

log = logging.getLogger(__name__)


def rebuild(root: ArchiveRoot) -> tuple[int, list[WarcError]]:
    """Empty the catalog and refill it from every closed WARC.

    Returns the number of capture attempts indexed and, for each damaged WARC,
    its error: what could be read of a damaged file is still indexed, and the
    other files are indexed in full.
    """
    with root.writer_lock(), Catalog(root.catalog_path) as catalog:
        catalog.clear()
        return index_warcs(root, catalog, find_warc_files(root.warcs))


def catalog_for_reading(root: ArchiveRoot) -> tuple[Catalog, str | None]:
    """The catalog, for reading.

    On a writable archive, the catalog file; where there is none (a fresh
    clone holding a committed archive) it is rebuilt from the WARCs and
    saved, saying so once (:func:`open_catalog`). On a read-only archive,
    the file opened read-only. Where it cannot be opened read-only, or is
    missing from read-only media, one is rebuilt in memory from the WARCs
    (damaged ones are indexed up to the damage, with a warning). Returns the
    catalog and, when it was rebuilt in memory, why.
    """
    root.require()
    path = root.catalog_path
    if not path.exists():
        why = "there is no catalog file"
        if not root.read_only:
            try:
                with root.writer_lock(wait=False):
                    return open_catalog(root), None
            except LockError:
                why += " (and a run holding the archive cannot be waited for)"
    elif not root.read_only:
        return Catalog(path), None
    else:
        try:
            return Catalog(path, read_only=True), None
        except CatalogError as exc:
            why = f"the catalog cannot be read without writing ({exc.__cause__})"
    catalog = Catalog(Path(MEMORY))
    _, errors = index_warcs(root, catalog, find_warc_files(root.warcs))
    for error in errors:
        log.warning("%s", error)
    return catalog, why


def open_catalog(root: ArchiveRoot) -> Catalog:
    """The archive's catalog file, for writing (call with the writer lock held).

    A catalog file that does not exist while the archive holds WARCs (a
    fresh clone of a repository with a committed archive, or a deleted
    catalog) is rebuilt from them first, with one warning saying so: so
    ``archiver list`` shows them and capture deduplicates against them.
    """
    path = root.catalog_path
    missing = not path.exists()
    catalog = Catalog(path)
    warcs = find_warc_files(root.warcs) if missing else []
    if warcs:
        try:
            count, errors = index_warcs(root, catalog, warcs)
        except BaseException:
            catalog.close()
            with contextlib.suppress(OSError):
                path.unlink()  # half a rebuild must not pass for a catalog next time
            raise
        for error in errors:
            log.warning("%s", error)
        log.warning("%s: there was no catalog: rebuilt from the %d WARC files (%d captures)",
                    root.relative(path), len(warcs), count)
    return catalog


def index_warcs(root: ArchiveRoot, catalog: Catalog,
                paths: Sequence[Path]) -> tuple[int, list[WarcError]]:
    """Add the captures recorded in ``paths`` to ``catalog`` (idempotent).

    Returns how many were added, and the error of each damaged file: its
    captures are indexed up to the damaged record, and the next file in full.
    """
    count, errors = 0, []
    for path in paths:
        added, error = _index_one(root, catalog, path)
        count += added
        if error is not None:
            log.info("%s", error)  # (the caller reports what it collects)
            errors.append(error)
    return count, errors


def _index_one(root: ArchiveRoot, catalog: Catalog, path: Path) -> tuple[int, WarcError | None]:
    """Index one file; rows wait until the file is read, so none comes from a damaged record."""
    rel = root.relative(path)
    located: dict[str, tuple[int, int, str]] = {}
    payloads: list[tuple[int, str, PayloadRef]] = []
    captures: list[tuple[int, Capture]] = []
    error: WarcError | None = None
    imported = is_imported(rel)
    try:
        for entry in iter_records(path):
            headers = entry.record.rec_headers
            rec_type = entry.record.rec_type
            rec_id = headers.get_header("WARC-Record-ID")
            if imported:
                found = _imported(entry.record, rec_id, entry.offset, entry.length(), rel)
                if found is not None:
                    captures.append((entry.offset, found[0]))
                    if found[1] is not None:
                        payloads.append((entry.offset, *found[1]))
                continue
            if rec_type in ("response", "revisit"):
                located[rec_id] = (entry.offset, entry.length(), rec_type)
                sha = sha256_hex(headers.get_header("WARC-Payload-Digest"))
                if rec_type == "response" and sha and not headers.get_header("WARC-Truncated"):
                    ref = PayloadRef(rec_id, headers.get_header("WARC-Target-URI"),
                                     headers.get_header("WARC-Date"))
                    payloads.append((entry.offset, sha, ref))
            elif rec_type == "metadata":
                capture = _capture(entry.record, rec_id, located, rel)
                if capture is not None:
                    captures.append((entry.offset, capture))
    except WarcError as exc:
        error = exc
    bad = error.offset if error is not None and error.offset is not None else None
    for offset, sha, ref in payloads:
        if bad is None or offset < bad:
            catalog.add_payload(sha, ref)
    kept = [c for offset, c in captures if bad is None or offset < bad]
    for capture in kept:
        catalog.add(capture)
    log.info("%s: %d captures indexed", rel, len(kept))
    return len(kept), error


def _imported(record: ArcWarcRecord, rec_id: str, offset: int, length: int, rel: str
              ) -> tuple[Capture, tuple[str, PayloadRef] | None] | None:
    """A capture (source import) for a response or revisit in a file another tool
    wrote, and the payload it holds for dedup, if its digest says which."""
    rec_type = record.rec_type
    http = record.http_headers
    if rec_type not in ("response", "revisit") or http is None:
        return None
    headers = record.rec_headers
    uri = headers.get_header("WARC-Target-URI") or ""
    date = headers.get_header("WARC-Date") or ""
    status = http.get_statuscode()
    sha = sha256_hex(headers.get_header("WARC-Payload-Digest"))
    capture = Capture(
        url=uri, captured_at=date,
        outcome=Outcome.REVISIT if rec_type == "revisit" else Outcome.CAPTURED,
        final_url=uri, status=int(status) if status and status.isdigit() else None,
        truncated=headers.get_header("WARC-Truncated"), warc=rel, offset=offset,
        length=length, record_id=rec_id, record_type=rec_type, payload_sha256=sha,
        metadata_id=rec_id, source=Source.IMPORT,
    )
    # Only a digest known to be over the de-chunked body names a payload that
    # a later capture could be a revisit of (other tools hash chunk framing).
    if (rec_type != "response" or sha is None or capture.truncated
            or chunked_coding(http.get_header("Transfer-Encoding"))):
        return capture, None
    return capture, (sha, PayloadRef(rec_id, uri, date))


def _capture(record: ArcWarcRecord, rec_id: str, located: dict[str, tuple[int, int, str]],
             rel: str) -> Capture | None:
    parsed = parse_outcome(record)
    if parsed is None:
        return None
    capture = capture_from_fields(parsed[0], rec_id)
    target = record.rec_headers.get_header("WARC-Concurrent-To")
    if target in located:
        offset, length, kind = located[target]
        capture = replace(capture, warc=rel, offset=offset, length=length,
                          record_id=target, record_type=kind)
    return capture
