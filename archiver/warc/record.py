"""WARC/1.1 records: building them with our own digests, recovering and reading files.

We use warcio's record builder, serializer and reader, but own two things:

* **Digests.** warcio computes sha1, and over chunk framing. Every record we
  write carries ``WARC-Block-Digest`` (and, for HTTP messages,
  ``WARC-Payload-Digest``) in sha256, computed by the caller from the bytes
  that crossed the wire; :class:`_Serializer` never computes a digest itself.
* **Compression.** Each record is its own gzip member (:func:`gzip_member`),
  so a reader can seek to any record and a crash can only damage the last one.

Writing files (rotation, ``.open`` names, fsync) is :mod:`archiver.warc.writer`.
:func:`recover_open_files` cuts a crashed ``.open`` file back to its last
complete gzip member and closes it, so nothing completed is lost.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.warcwriter import WARCWriter

from ..atomic import fsync_dir, fsync_file
from ..errors import LocationError, WarcError
from ..hashing import BLOCK_SIZE, sha256_label
from ..root import ArchiveRoot
from .files import OPEN_SUFFIX, find_open_files, is_arc_name
from .handoff import note_closing
from .location import Location, basename, open_range, open_read
from .reader import RecordReader
from .scan import describe_exception

__all__ = [
    "DOM_URN",
    "REVISIT_PROFILE",
    "SCREENSHOT_URN",
    "OpenRecord",
    "WarcEntry",
    "WireHeaders",
    "WrittenRecord",
    "build_record",
    "close_open_file",
    "gzip_member",
    "iter_records",
    "recover_open_files",
    "warc_date",
]

log = logging.getLogger(__name__)

#: Target-URI prefixes of the ``resource`` records ``capture --browser`` writes
#: for a page: its screenshot and its rendered DOM. A URN, not the page's URL,
#: so replay and extraction never take them for the page's own response.
SCREENSHOT_URN = "urn:screenshot:"
DOM_URN = "urn:dom:"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"


def warc_date(moment: datetime) -> str:
    """A WARC/1.1 date: UTC, microseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


class WireHeaders(StatusAndHeaders):  # type: ignore[misc]
    """HTTP headers parsed for reading, but serialized exactly as received."""

    def __init__(self, raw: bytes) -> None:
        parsed = StatusAndHeadersParser([], verify=False).parse(BytesIO(raw))
        super().__init__(parsed.statusline, parsed.headers, parsed.protocol)
        self.headers_buff = raw

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        """Keep the wire bytes: warcio would otherwise re-serialize the headers."""


class _Serializer(WARCWriter):  # type: ignore[misc]
    """warcio's record serializer, with digests left entirely to us."""

    def __init__(self, out: Any) -> None:
        super().__init__(out, gzip=False, warc_version="WARC/1.1")

    def ensure_digest(self, record: Any, block: bool = True, payload: bool = True) -> None:
        """Never compute digests here: every record arrives with sha256 digests set."""


def gzip_member(out: IO[bytes], record: ArcWarcRecord, level: int) -> None:
    """Serialize ``record`` with warcio into ``out`` as one complete gzip member."""
    member = _GzipMember(out, level)
    serializer = _serializer()
    serializer.out = member
    try:
        serializer.write_record(record)
    finally:
        serializer.out = None
    member.finish()


_LOCAL = threading.local()


def _serializer() -> _Serializer:
    # One per thread: constructing warcio's writer costs a gethostname() call
    # each time, and records are written by several threads at once.
    ser: _Serializer | None = getattr(_LOCAL, "serializer", None)
    if ser is None:
        ser = _LOCAL.serializer = _Serializer(None)
    return ser


class _GzipMember:
    """A file-like that compresses what is written into one gzip member."""

    def __init__(self, out: IO[bytes], level: int) -> None:
        self._out = out
        self._zip = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16)

    def write(self, data: bytes) -> int:
        self._out.write(self._zip.compress(data))
        return len(data)

    def flush(self) -> None:
        """warcio flushes after each record; the member only ends in :meth:`finish`."""

    def finish(self) -> None:
        self._out.write(self._zip.flush())


@dataclass(frozen=True)
class OpenRecord:
    """A record built and ready to write (its digests already set)."""

    record: ArcWarcRecord
    record_id: str


@dataclass(frozen=True)
class WrittenRecord:
    """Where a record landed: root-relative WARC path, offset and member length."""

    record_id: str
    warc: str
    offset: int
    length: int


def build_record(
    uri: str,
    rec_type: str,
    *,
    date: str,
    block_digest: bytes,
    payload: IO[bytes] | None = None,
    length: int = 0,
    http_head: bytes | None = None,
    payload_digest: str | None = None,
    content_type: str = "",
    headers: Sequence[tuple[str, str]] = (),
    record_id: str | None = None,
) -> OpenRecord:
    """Build one record with our own sha256 digests (see module docstring)."""
    record_id = record_id or new_record_id()
    fields: dict[str, str] = {"WARC-Record-ID": record_id, "WARC-Date": date}
    fields.update(headers)
    fields["WARC-Block-Digest"] = sha256_label(block_digest)
    if payload_digest:
        fields["WARC-Payload-Digest"] = payload_digest
    builder = _serializer()
    record = builder.create_warc_record(
        uri,
        rec_type,
        payload=payload,
        length=length,
        warc_content_type=content_type,
        warc_headers_dict=fields,
        http_headers=WireHeaders(http_head) if http_head is not None else None,
    )
    return OpenRecord(record, record_id)


def fields_block(fields: Sequence[tuple[str, str]]) -> bytes:
    """An ``application/warc-fields`` block: named fields ended by a blank line,
    as in a WARC header (and as wget writes it; warcat otherwise reports the
    block's length as changed when it parses the fields)."""
    lines = (f"{name}: {_one_line(value)}\r\n" for name, value in fields if value != "")
    return ("".join(lines) + "\r\n").encode("utf-8")


def _one_line(value: str) -> str:
    return re.sub(r"[\r\n]+", " ", value)


def close_open_file(root: ArchiveRoot, path: Path) -> Path:
    """Rename a finished ``NAME.warc.gz.open`` to ``NAME.warc.gz`` durably.

    The final name is noted as pending ingest first
    (:mod:`archiver.warc.handoff`), so a crash right after the rename still
    leaves the next run a way to find the file and list it in the manifest.
    """
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    note_closing(root, final)
    os.replace(path, final)
    fsync_dir(path.parent)
    return final


def _complete_members_end(path: Path, start: int = 0) -> int:
    """Offset just past the last complete gzip member of ``path`` (from ``start``).

    Streams the file through zlib with bounded output per call, so a damaged
    or hostile file cannot make us hold more than a few blocks in memory.
    """
    end = start
    pos = start  # absolute offset of the start of ``data``
    decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
    with open(path, "rb") as fh:
        fh.seek(start)
        while chunk := fh.read(BLOCK_SIZE):
            data = chunk
            while data:
                try:
                    decomp.decompress(data, BLOCK_SIZE)
                    while decomp.unconsumed_tail and not decomp.eof:
                        decomp.decompress(decomp.unconsumed_tail, BLOCK_SIZE)
                except zlib.error:
                    return end
                if not decomp.eof:
                    pos += len(data)
                    break
                end = pos + len(data) - len(decomp.unused_data)
                pos, data = end, decomp.unused_data
                decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
    return end


def recover_open_files(root: ArchiveRoot) -> list[Path]:
    """Close every ``.open`` WARC a crashed run left, keeping all complete records.

    Each is cut at the end of its last complete gzip member (a partial trailing
    record is dropped), fsynced and renamed to ``.warc.gz``; an ``.open`` file
    with no complete record is removed. Returns the files closed.
    Call with the archive's writer lock held.
    """
    closed: list[Path] = []
    if not root.warcs.is_dir():
        return closed
    for path in find_open_files(root.warcs):
        if path.is_symlink():  # never truncate, or rename, what a link points at
            log.warning("%s: a symlink, not a WARC being written; left alone", path)
            continue
        size = path.stat().st_size
        end = _complete_members_end(path)
        if end == 0:
            log.warning("%s: no complete record; removing the empty file", path)
            path.unlink()
            continue
        if end < size:
            log.warning("%s: cut a partial record (%d bytes) at offset %d", path, size - end, end)
        with open(path, "r+b") as fh:
            fh.truncate(end)
            fsync_file(fh)
        closed.append(close_open_file(root, path))
    return closed


@dataclass
class WarcEntry:
    """One record met while iterating a WARC: its offset and the warcio record."""

    path: Location
    offset: int
    record: ArcWarcRecord
    _it: Any

    def finish(self) -> None:
        """Read the rest of the record; raises :class:`WarcError` if it is damaged.

        Call it before trusting what was read from a record: damage (a block
        cut short, a corrupt gzip member) shows only at the record's end.
        """
        try:
            self._it.read_to_end()
        except LocationError:
            raise  # (the object store failed, not the record)
        except Exception as exc:  # the reader's verdict, or zlib's
            raise _damaged(self.path, self.offset, exc) from exc

    def length(self) -> int:
        """The record's length in the file (reads the rest of the record, see :meth:`finish`)."""
        self.finish()
        return int(self._it.get_record_length())


def iter_records(path: Location, *, start: int = 0,
                 length: int | None = None) -> Iterator[WarcEntry]:
    """Yield each record of a WARC (a local path or an ``s3://`` URL, see
    :mod:`archiver.warc.location`) with its offset, streaming.

    ``start`` and ``length`` read only the records in that byte range (it must
    begin at a record, e.g. from a records index: one task's share of a large
    WARC); offsets are still the file's.

    Read what you need of ``entry.record`` before taking the next one.
    Raises :class:`WarcError` naming the file and the damaged record's offset
    on damage (:mod:`archiver.warc.reader` says what counts as damage: the
    same verdict as ``verify --records``).
    """
    it: RecordReader | None = None
    # The reader's offsets are stream positions: the file's after a seek, from
    # 0 in a range opened on its own.
    base = 0 if length is None else start

    def where() -> int:
        return base + (int(it.offset) if it is not None else start - base)

    try:
        if length is None:
            opened = open_read(path)
            if start:
                opened.seek(start)
        else:
            opened = open_range(path, start, length)
        with opened as fh:
            it = RecordReader(fh, arc=is_arc_name(basename(path)))
            for record in it:
                # it.offset is the current record's start until it is read to
                # the end (get_record_offset() would read it to the end first).
                yield WarcEntry(path, where(), record, it)
    except LocationError as exc:
        exc.offset = where()
        raise
    except OSError as exc:
        raise WarcError(path, f"cannot read: {exc.strerror or exc}", offset=where()) from exc
    except WarcError:
        raise
    except Exception as exc:  # warcio and zlib raise many types on damage
        raise _damaged(path, where(), exc) from exc


def _damaged(path: Location, offset: int, exc: Exception) -> WarcError:
    return WarcError(path, f"unreadable record: {describe_exception(exc)}", offset=offset)
