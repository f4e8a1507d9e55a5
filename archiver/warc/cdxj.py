"""The CDXJ index of an archive's WARC records: ``manifests/index.cdxj``.

The format pywb reads (and ``cdxj-indexer`` writes): one line per response,
revisit or resource record, ``SURT-KEY TIMESTAMP14 {json}``, the JSON holding
``url``, ``mime``, ``status``, ``digest`` (the WARC-Payload-Digest as
written), ``length``, ``offset`` and ``filename`` (root-relative, so pywb's
archive path is the archive root), lines sorted bytewise so lookups are a
binary search.

The index is derived data: the WARCs are the record of truth, and
:func:`rebuild_cdxj` (``archiver cdxj``) makes it again from them. It is kept
up to date without re-reading the archive:

* a capture run appends each committed record's line to a journal,
  ``manifests/index.cdxj.open`` (:class:`CdxjJournal`), and on close merges it
  into the sorted index; a journal left by a killed run means lines may be
  missing, so the next run rebuilds the index first;
* ``archiver import`` (and anything else that adds whole files) calls
  :func:`add_warcs_to_cdxj` with the files it added.

Every merge streams: the sorted index is read line by line beside the sorted
new lines (one run's, or one file's), and written to a temporary file that
atomically replaces the index, so memory holds only the new lines.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote_from_bytes, unquote_to_bytes, urlsplit

from ..atomic import atomic_write, fsync_dir
from ..errors import WarcError
from ..root import ArchiveRoot
from .files import find_warc_files
from .record import iter_records

__all__ = ["CDXJ_NAME", "CdxjEntry", "CdxjJournal", "add_warcs_to_cdxj", "cdxj_line",
           "cdxj_path", "read_cdxj", "rebuild_cdxj", "surt", "timestamp14"]

#: The index's file name, under ``manifests/``.
CDXJ_NAME = "index.cdxj"
#: The journal of the capture run writing the index (present only during a run).
JOURNAL_SUFFIX = ".open"
#: The record types pywb replays from.
INDEXED_TYPES = frozenset({"response", "revisit", "resource"})

_DEFAULT_PORTS = {"http": 80, "https": 443}


def cdxj_path(root: ArchiveRoot) -> Path:
    """Where ``root``'s CDXJ index lives."""
    return root.manifests / CDXJ_NAME


def surt(url: str) -> str:
    """The SURT key of ``url`` as pywb computes it (the ``surt`` package's defaults).

    A port of its two canonicalizers. Google's: percent-escapes undone
    repeatedly, then only bytes outside printable ASCII, ``#`` and ``%``
    escaped again; the path's dot segments resolved and empty segments
    dropped. The Internet Archive's: lower-cased; userinfo, fragment, a
    leading ``www``/``wwwN`` label, the default port, a trailing slash, an
    empty query and session ids dropped; the query's parameters sorted. Then
    the host's labels reversed and comma-joined, and ``)``:
    ``http://www.Example.com/A?b=2&a=1`` is ``com,example)/a?a=1&b=2``.
    Anything that is not an http(s) URL with a host is returned lower-cased.
    (Not ported: surt resolves hosts written as decimal or octal numbers by DNS.)
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.lower()
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url.lower()
    host = _unescape(parts.hostname.encode("utf-8"))
    if not host.isascii():
        with contextlib.suppress(UnicodeError):
            host = host.decode("utf-8", "ignore").encode("idna")
    host = host.replace(b"..", b".").strip(b".").lower()
    host = _WWW.sub(b"", _escape(host), count=1)
    key = b",".join(reversed(host.split(b".")))
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        key += f":{port}".encode()
    path = _escape(_normalize_path(_unescape(parts.path.encode("utf-8")))).lower()
    path = _strip_path_session(path)
    if path.endswith(b"/") and len(path) > 1:
        path = path[:-1]
    key += b")" + path
    if parts.query:
        query = _escape(_unescape(parts.query.encode("utf-8")))
        query = _alpha_reorder(_strip_query_session(query).lower())
        if query:
            key += b"?" + query
    return key.decode("utf-8", "replace")


_WWW = re.compile(rb"^www\d*\.")
_ESCAPE_SAFE = b"""!"$&'()*+,-./:;<=>?@[\\]^_`{|}~"""
_PATH_SESSION = [
    re.compile(rb"^(.*/)(\((?:[a-z]\([0-9a-z]{24}\))+\)/)([^\?]+\.aspx.*)$", re.I),
    re.compile(rb"^(.*/)(\([0-9a-z]{24}\)/)([^\?]+\.aspx.*)$", re.I),
]
_QUERY_SESSION = [
    re.compile(rb"^(.*)(?:jsessionid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:phpsessid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:sid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:ASPSESSIONID[a-zA-Z]{8}=[a-zA-Z]{24})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:cfid=[^&]+&cftoken=[^&]+)(?:&(.*))?$", re.I),
]


def _unescape(data: bytes) -> bytes:
    while True:
        plain = unquote_to_bytes(data)
        if plain == data:
            return data
        data = plain


def _escape(data: bytes) -> bytes:
    return quote_from_bytes(data, safe=_ESCAPE_SAFE).encode("ascii") if data else data


def _normalize_path(path: bytes) -> bytes:
    if not path:
        return b"/"
    kept: list[bytes] = []
    for segment in path.split(b"/")[1:]:
        if segment == b".":
            continue
        if segment == b".." and kept:
            kept.pop()
        else:
            kept.append(segment)
    if not kept:
        return b"/"
    # empty segments are dropped, but for the last (a trailing slash)
    return b"/" + b"".join(seg + b"/" for seg in kept[:-1] if seg) + kept[-1]


def _strip_path_session(path: bytes) -> bytes:
    for pattern in _PATH_SESSION:
        m = pattern.match(path)
        if m:
            path = m.group(1) + m.group(3)
    return path


def _strip_query_session(query: bytes) -> bytes:
    for pattern in _QUERY_SESSION:
        m = pattern.match(query)
        if m:
            query = m.group(1) + m.group(2) if m.group(2) else m.group(1)
    return query


def _alpha_reorder(query: bytes) -> bytes:
    if len(query) <= 1:
        return query
    pairs = sorted(tuple(arg.split(b"=", 1)) for arg in query.split(b"&"))
    return b"&".join(b"=".join(pair) for pair in pairs)


def timestamp14(warc_date: str) -> str:
    """``2026-11-24T15:00:01.5Z`` -> ``20261124150001``."""
    digits = re.sub(r"\D", "", warc_date.split(".")[0])
    return (digits + "0" * 14)[:14]


def cdxj_line(record: Any, filename: str, offset: int, length: int) -> str | None:
    """The index line of a warcio record at ``offset`` (``length`` bytes) of
    ``filename``, or None for a record pywb does not replay from."""
    if record.rec_type not in INDEXED_TYPES:
        return None
    headers = record.rec_headers
    url = headers.get_header("WARC-Target-URI")
    if not url:
        return None
    fields: dict[str, str] = {"url": url}
    http = record.http_headers
    if record.rec_type == "revisit":
        fields["mime"] = "warc/revisit"
    elif http is not None and record.rec_type == "response":
        fields["mime"] = _mime(http.get_header("Content-Type"))
    else:
        fields["mime"] = _mime(headers.get_header("Content-Type"))
    if http is not None and record.rec_type != "resource":
        status = http.get_statuscode()
        if status:
            fields["status"] = status
    digest = headers.get_header("WARC-Payload-Digest")
    if digest:
        fields["digest"] = digest
    fields.update(length=str(length), offset=str(offset), filename=filename)
    key = surt(url)
    stamp = timestamp14(headers.get_header("WARC-Date") or "")
    return f"{key} {stamp} {json.dumps(fields, ensure_ascii=False, separators=(', ', ': '))}"


def _mime(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower() or "unk"


@dataclass(frozen=True)
class CdxjEntry:
    """One parsed index line."""

    key: str
    timestamp: str
    fields: dict[str, str]

    @property
    def url(self) -> str:
        return self.fields.get("url", "")


def read_cdxj(path: Path) -> Iterator[CdxjEntry]:
    """The entries of a CDXJ file, streamed; none if it does not exist."""
    try:
        fh = path.open("r", encoding="utf-8")
    except FileNotFoundError:
        return
    with fh:
        for line in fh:
            key, stamp, data = line.rstrip("\n").split(" ", 2)
            yield CdxjEntry(key, stamp, json.loads(data))


def warc_lines(root: ArchiveRoot, path: Path) -> tuple[list[str], WarcError | None]:
    """The sorted index lines of one WARC file, and its error if it is damaged
    (the records before the damage are indexed)."""
    rel = root.relative(path)
    lines: list[str] = []
    error: WarcError | None = None
    try:
        for entry in iter_records(path):
            line = cdxj_line(entry.record, rel, entry.offset, entry.length())
            if line is not None:
                lines.append(line)
    except WarcError as exc:
        error = exc
    lines.sort()
    return lines, error


def _merge_into(index: Path, runs: Sequence[Iterable[str]], *, keep_old: bool = True) -> int:
    """Merge sorted ``runs`` of lines (and the index itself) into the index,
    atomically, dropping duplicates; returns the number of lines written."""
    count = 0
    with contextlib.ExitStack() as stack:
        sources: list[Iterable[str]] = [iter(run) for run in runs]
        if keep_old:
            with contextlib.suppress(FileNotFoundError):
                old = stack.enter_context(index.open("r", encoding="utf-8"))
                sources.append(line.rstrip("\n") for line in old)
        out = stack.enter_context(atomic_write(index))
        last = None
        for line in heapq.merge(*sources):
            if line and line != last:
                out.write(line.encode("utf-8") + b"\n")
                count += 1
                last = line
    return count


def add_warcs_to_cdxj(root: ArchiveRoot, paths: Iterable[Path],
                      index: Path | None = None) -> list[WarcError]:
    """Add the records of the WARC files ``paths`` to the index (idempotent).

    What ``archiver import`` calls with the files it added. Hold the archive's
    writer lock. ``index`` is another CDXJ file to add them to (replay of a
    read-only archive builds its index elsewhere). Returns the error of each
    damaged file (its records before the damage are indexed).
    """
    index = index or cdxj_path(root)
    errors: list[WarcError] = []
    with tempfile.TemporaryDirectory(dir=index.parent, prefix=".cdxj-") as tmp:
        runs = []
        for n, path in enumerate(paths):
            lines, error = warc_lines(root, path)
            if error is not None:
                errors.append(error)
            # One sorted run per file on disk: memory holds one file's lines.
            run = Path(tmp) / f"{n}.cdxj"
            run.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
            runs.append(run)
        with contextlib.ExitStack() as stack:
            files = [stack.enter_context(run.open("r", encoding="utf-8")) for run in runs]
            _merge_into(index, [(line.rstrip("\n") for line in fh) for fh in files])
    return errors


def rebuild_cdxj(root: ArchiveRoot) -> tuple[int, list[WarcError]]:
    """Make ``manifests/index.cdxj`` again from every closed WARC (``archiver cdxj``).

    Takes the writer lock. Returns the number of lines and each damaged
    file's error (what could be read of it is indexed).
    """
    root.require_writable()
    with root.writer_lock():
        index = cdxj_path(root)
        with contextlib.suppress(FileNotFoundError):
            index.unlink()
        errors = add_warcs_to_cdxj(root, find_warc_files(root.warcs))
        if not index.exists():
            _merge_into(index, [])
        journal = index.with_name(index.name + JOURNAL_SUFFIX)
        with contextlib.suppress(FileNotFoundError):
            journal.unlink()
            fsync_dir(journal.parent)
        return sum(1 for _ in read_cdxj(index)), errors


class CdxjJournal:
    """The index lines of a capture run, merged into the index when it closes.

    Opened holding the writer lock. A journal already there was left by a run
    that was killed, whose lines may be lost: the index is rebuilt from the
    WARCs first. Lines are written as records are committed (no fsync: the
    index is derived, and the journal's presence is what says it may be
    incomplete).
    """

    def __init__(self, root: ArchiveRoot) -> None:
        self.root = root
        self.index = cdxj_path(root)
        self.path = self.index.with_name(self.index.name + JOURNAL_SUFFIX)
        if self.path.exists():
            rebuild_cdxj(root)
        self._fh: IO[str] | None = self.path.open("a", encoding="utf-8")
        fsync_dir(self.path.parent)

    def add(self, record: Any, filename: str, offset: int, length: int) -> None:
        """Note one written record (anything but a response, revisit or resource is skipped)."""
        line = cdxj_line(record, filename, offset, length)
        if line is not None and self._fh is not None:
            self._fh.write(line + "\n")

    def close(self) -> None:
        """Merge the run's lines into the sorted index and remove the journal."""
        if self._fh is None:
            return
        self._fh.close()
        self._fh = None
        with self.path.open("r", encoding="utf-8") as fh:
            lines = sorted(line.rstrip("\n") for line in fh)
        _merge_into(self.index, [lines])
        os.unlink(self.path)
        fsync_dir(self.path.parent)
