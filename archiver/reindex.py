"""Rebuilding the capture catalog from the WARCs, the record of truth.

``archiver reindex`` (and the recovery of a crashed run) reads every record:
response and revisit records give where each capture landed and which
payloads the archive holds; archiver's ``metadata`` records
(:mod:`archiver.outcome`) give the outcome of each attempt, failures included.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .catalog import Catalog, PayloadRef
from .outcome import capture_from_fields, parse_outcome
from .root import ArchiveRoot
from .warc import WARC_SUFFIX, hex_digest, iter_records

__all__ = ["index_warcs", "rebuild"]

log = logging.getLogger(__name__)


def rebuild(root: ArchiveRoot) -> int:
    """Empty the catalog and refill it from every closed WARC; returns attempts indexed."""
    with root.writer_lock(), Catalog(root.catalog_path) as catalog:
        catalog.clear()
        return index_warcs(root, catalog, sorted(root.warcs.rglob("*" + WARC_SUFFIX)))


def index_warcs(root: ArchiveRoot, catalog: Catalog, paths: Sequence[Path]) -> int:
    """Add the captures recorded in ``paths`` to ``catalog`` (idempotent); returns the count."""
    count = 0
    for path in paths:
        count += _index_one(root, catalog, path)
    return count


def _index_one(root: ArchiveRoot, catalog: Catalog, path: Path) -> int:
    rel = root.relative(path)
    located: dict[str, tuple[int, int, str]] = {}
    count = 0
    for entry in iter_records(path):
        headers = entry.record.rec_headers
        rec_type = entry.record.rec_type
        rec_id = headers.get_header("WARC-Record-ID")
        if rec_type in ("response", "revisit"):
            located[rec_id] = (entry.offset, entry.length(), rec_type)
            sha = hex_digest(headers.get_header("WARC-Payload-Digest"))
            if rec_type == "response" and sha and not headers.get_header("WARC-Truncated"):
                uri = headers.get_header("WARC-Target-URI")
                ref = PayloadRef(rec_id, uri, headers.get_header("WARC-Date"))
                catalog.add_payload(sha, ref)
        elif rec_type == "metadata":
            parsed = parse_outcome(entry.record)
            if parsed is None:
                continue
            capture = capture_from_fields(parsed[0], rec_id)
            target = headers.get_header("WARC-Concurrent-To")
            if target in located:
                offset, length, kind = located[target]
                capture = replace(capture, warc=rel, offset=offset, length=length,
                                  record_id=target, record_type=kind)
            catalog.add(capture)
            count += 1
    log.info("%s: %d captures indexed", rel, count)
    return count
