"""Export of the archive as a WACZ 1.1.1 file, for ReplayWeb.page, browsertrix and pywb.

The zip (every entry ``ZIP_STORED``: a WARC's gzip members stay seekable in
place) holds::

    archive/NAME.warc.gz          every WARC the fixity manifest lists
    indexes/index.cdx.gz          the CDXJ index, gzipped; filenames relative to archive/
    pages/pages.jsonl             one page per successful capture of a seed URL
    datapackage.json              every file above with its sha256 and size
    datapackage-digest.json       the sha256 of datapackage.json

Pages are the catalog's captures: each URL given to ``archiver capture``
that was captured (or a revisit), at its capture time, titled with the
title ``archiver extract`` finds in its page; an imported capture is a page
when it is an HTML page (it has a title). Each WARC is hashed while it is
copied in and must match the fixity manifest, so a WACZ is never made of
damaged evidence. The file is written beside DEST and renamed into place.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..capture.catalog import Capture, Catalog, Outcome, Source
from ..capture.reindex import catalog_for_reading
from ..errors import ConfigError, ExportError, VerifyError
from ..extract.reader import Extracted, extract_warcs
from ..fixity.events import EventType, append_event
from ..fixity.manifest import iter_manifest
from ..hashing import BLOCK_SIZE, HashingWriter
from ..root import ArchiveRoot
from ..version import SOFTWARE
from ..warc.cdxj import JOURNAL_SUFFIX, cdxj_path, read_cdxj, rebuild_cdxj
from ..warc.files import find_warc_files

__all__ = ["WACZ_VERSION", "WaczReport", "export_wacz"]

WACZ_VERSION = "1.1.1"
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}


@dataclass(frozen=True, slots=True)
class WaczReport:
    """The WACZ written: where, how many WARCs and pages, its size."""

    dest: Path
    warcs: int
    pages: int
    bytes: int


def export_wacz(root: ArchiveRoot, dest: Path) -> WaczReport:
    """Write the archive as a WACZ 1.1.1 file at ``dest`` (which must not exist).

    Raises :class:`ConfigError` if ``dest`` exists or is inside the archive,
    :class:`ExportError` if a WARC does not match the manifest or two WARCs
    share a name, :class:`VerifyError` for no manifest.
    """
    dest = Path(dest).expanduser().absolute()
    if dest.exists():
        raise ConfigError(f"{dest}: already exists; give a new file name for the WACZ")
    if dest.resolve().is_relative_to(root.path):
        raise ConfigError(f"{dest}: is inside the archive root {root.path}; "
                          "put the WACZ elsewhere")
    if not root.manifest_path.is_file():
        raise VerifyError(root.manifest_path, "no manifest; run `archiver manifest`")
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    with root.writer_lock():
        names = _archive_names(root)
        pages = _pages(root)
        try:
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                resources = _write_warcs(root, zf, names)
                resources.append(_write_index(root, zf, names))
                resources.append(_write_entry(zf, "pages/pages.jsonl", _pages_jsonl(pages)))
                package = _datapackage(resources)
                _write_entry(zf, "datapackage.json", package)
                digest = {"path": "datapackage.json",
                          "hash": "sha256:" + hashlib.sha256(package).hexdigest()}
                _write_entry(zf, "datapackage-digest.json",
                             json.dumps(digest, indent=2).encode() + b"\n")
            with open(partial, "rb+") as fh:
                os.fsync(fh.fileno())
            os.rename(partial, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
        size = dest.stat().st_size
        append_event(root, EventType.REPLICATION, outcome="success", obj=str(dest),
                     detail=f"WACZ {WACZ_VERSION} file",
                     counts={"files": len(names), "bytes": size})
    return WaczReport(dest, len(names), len(pages), size)


def _archive_names(root: ArchiveRoot) -> dict[str, tuple[str, str]]:
    """root-relative WARC path -> (its name under archive/, the sha256 it must have)."""
    names: dict[str, tuple[str, str]] = {}
    seen: dict[str, str] = {}
    for entry in iter_manifest(root.manifest_path):
        name = entry.path.rsplit("/", 1)[-1]
        if name in seen:
            raise ExportError(root.absolute(entry.path), f"has the same name as {seen[name]}; "
                              "a WACZ holds its WARCs in one folder")
        seen[name] = entry.path
        names[entry.path] = (name, entry.sha256)
    return names


def _write_warcs(root: ArchiveRoot, zf: zipfile.ZipFile,
                 names: dict[str, tuple[str, str]]) -> list[dict[str, object]]:
    resources: list[dict[str, object]] = []
    for rel, (name, expected) in names.items():
        src = root.absolute(rel)
        arcname = f"archive/{name}"
        size = src.stat().st_size
        with src.open("rb") as fin, zf.open(arcname, "w", force_zip64=size >= 1 << 31) as fout:
            out = HashingWriter(fout)
            while chunk := fin.read(BLOCK_SIZE):
                out.write(chunk)
        sha = out.digest.hexdigest()
        if sha != expected:
            raise ExportError(src, f"sha256 {sha} does not match the manifest's {expected}; "
                              "run `archiver verify` before exporting")
        resources.append(_resource(arcname, sha, out.size))
    return resources


def _write_index(root: ArchiveRoot, zf: zipfile.ZipFile,
                 names: dict[str, tuple[str, str]]) -> dict[str, object]:
    """indexes/index.cdx.gz: the archive's CDXJ index (complete, rebuilt if a
    capture run's journal says it may not be), its filenames made relative to archive/."""
    index = cdxj_path(root)
    if not index.is_file() or index.with_name(index.name + JOURNAL_SUFFIX).exists():
        rebuild_cdxj(root)
    arcname = "indexes/index.cdx.gz"
    with zf.open(arcname, "w") as fout:
        out = HashingWriter(fout)
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
            for entry in read_cdxj(index):
                if entry.fields.get("filename") not in names:
                    continue  # (a file not in the manifest is not in the WACZ)
                fields = dict(entry.fields, filename=names[entry.fields["filename"]][0])
                line = f"{entry.key} {entry.timestamp} " + json.dumps(
                    fields, ensure_ascii=False, separators=(", ", ": "))
                gz.write(line.encode("utf-8") + b"\n")
    return _resource(arcname, out.digest.hexdigest(), out.size)


def _pages(root: ArchiveRoot) -> list[dict[str, str]]:
    titles = _titles(root)
    catalog, _ = catalog_for_reading(root)
    pages: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    with catalog:
        for capture in _successful(catalog):
            key = (capture.final_url or capture.url, capture.payload_sha256 or "")
            title = titles.get(key)
            if capture.source == Source.IMPORT and title is None:
                continue  # an imported image, stylesheet, script...
            ts = capture.captured_at  # a WARC-Date: ISO 8601 in UTC, as WACZ wants
            if (capture.url, ts) in seen:
                continue
            seen.add((capture.url, ts))
            page = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ts} {capture.url}")),
                    "url": capture.url, "ts": ts}
            if title:
                page["title"] = title
            pages.append(page)
    return pages


def _successful(catalog: Catalog) -> list[Capture]:
    return [c for c in catalog.captures()
            if c.outcome in (Outcome.CAPTURED, Outcome.REVISIT) and c.warc]


def _titles(root: ArchiveRoot) -> dict[tuple[str, str], str]:
    """(URL, payload sha256) -> the page's title, as ``archiver extract`` finds it."""
    titles: dict[tuple[str, str], str] = {}
    for item in extract_warcs(find_warc_files(root.warcs), root=root):
        if isinstance(item, Extracted) and item.article.title:
            prov = item.provenance
            titles.setdefault((prov.target_uri or "", prov.payload_sha256), item.article.title)
    return titles


def _pages_jsonl(pages: list[dict[str, str]]) -> bytes:
    lines = [json.dumps(PAGES_HEADER), *(json.dumps(p, ensure_ascii=False) for p in pages)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _datapackage(resources: list[dict[str, object]]) -> bytes:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    package = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "resources": resources,
        "created": now,
        "modified": now,
        "software": SOFTWARE,
    }
    return json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


def _resource(path: str, sha: str, size: int) -> dict[str, object]:
    return {"name": path.rsplit("/", 1)[-1], "path": path, "hash": f"sha256:{sha}",
            "bytes": size}


def _write_entry(zf: zipfile.ZipFile, arcname: str, data: bytes) -> dict[str, object]:
    with zf.open(arcname, "w") as fout:
        fout.write(data)
    return _resource(arcname, hashlib.sha256(data).hexdigest(), len(data))

