"""WARC/1.1 files: writing them crash-safely, recovering them after a crash, reading them.

We use warcio's record builder, serializer and reader, but own two things:

* **Digests.** warcio computes sha1, and over chunk framing. Every record we
  write carries ``WARC-Block-Digest`` (and, for HTTP messages,
  ``WARC-Payload-Digest``) in sha256, computed by the caller while the bytes
  crossed the wire; :class:`_Serializer` never computes a digest itself.
* **Compression.** Each record is its own gzip member (:class:`_GzipMember`),
  so a reader can seek to any record and a crash can only damage the last one.

A file being written is ``warcs/YYYY/MM/DD/NAME.warc.gz.open``. After each
capture its records are flushed and fsynced; the file is renamed to
``NAME.warc.gz`` when closed or when it reaches ``warc_size``.
:func:`recover_open_files` cuts a crashed ``.open`` file back to its last
complete gzip member and closes it, so nothing completed is lost.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
import socket
import threading
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import IO, Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.warcwriter import WARCWriter

from .atomic import fsync_dir, fsync_file
from .errors import WarcError
from .root import ArchiveRoot
from .version import SOFTWARE

__all__ = [
    "BLOCK_SIZE",
    "REVISIT_PROFILE",
    "OpenRecord",
    "WarcEntry",
    "WarcWriter",
    "WireHeaders",
    "WrittenRecord",
    "hex_digest",
    "iter_records",
    "recover_open_files",
    "sha256_label",
    "warc_date",
]

log = logging.getLogger(__name__)

BLOCK_SIZE = 1 << 16
OPEN_SUFFIX = ".open"
WARC_SUFFIX = ".warc.gz"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
EMPTY_SHA256 = hashlib.sha256(b"").digest()


def sha256_label(digest: bytes) -> str:
    """The WARC labelled form of a sha256 digest: ``sha256:`` + RFC 4648 base32."""
    return "sha256:" + base64.b32encode(digest).decode("ascii")


def hex_digest(label: str | None) -> str | None:
    """Lowercase hex of a labelled sha256 digest (base32 or hex form), else None."""
    if not label or not label.lower().startswith("sha256:"):
        return None
    value = label.split(":", 1)[1].strip()
    if len(value) == 64:
        return value.lower()
    try:
        return base64.b32decode(value.upper() + "=" * (-len(value) % 8)).hex()
    except (binascii.Error, ValueError):
        return None


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


class _GzipMember:
    """A file-like that compresses what is written into one gzip member."""

    def __init__(self, out: BinaryIO, level: int) -> None:
        self._out = out
        self._zip = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16)

    def write(self, data: bytes) -> int:
        _write_all(self._out, self._zip.compress(data))
        return len(data)

    def flush(self) -> None:
        """warcio flushes after each record; the member only ends in :meth:`finish`."""

    def finish(self) -> None:
        _write_all(self._out, self._zip.flush())


def _write_all(out: BinaryIO, data: bytes) -> None:
    # The WARC is opened unbuffered (so a failed write leaves no stale buffer
    # to be flushed later at the wrong offset); raw writes may be partial.
    view = memoryview(data)
    while view:
        n = out.write(view)
        view = view[n or 0 :]


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
) -> OpenRecord:
    """Build one record with our own sha256 digests (see module docstring)."""
    record_id = new_record_id()
    fields: dict[str, str] = {"WARC-Record-ID": record_id, "WARC-Date": date}
    fields.update(headers)
    fields["WARC-Block-Digest"] = sha256_label(block_digest)
    if payload_digest:
        fields["WARC-Payload-Digest"] = payload_digest
    builder = _Serializer(None)
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
    """An ``application/warc-fields`` block."""
    lines = (f"{name}: {_one_line(value)}\r\n" for name, value in fields if value != "")
    return "".join(lines).encode("utf-8")


def _one_line(value: str) -> str:
    return re.sub(r"[\r\n]+", " ", value)


class WarcWriter:
    """Writes captures into rotating, crash-safe WARC files under ``root.warcs``.

    Thread-safe: :meth:`write_capture` serializes writers and fsyncs after each
    capture. Call :meth:`close` at the end (or use it as a context manager).
    """

    def __init__(
        self,
        root: ArchiveRoot,
        *,
        warc_size: int,
        gzip_level: int = 6,
        operator: str | None = None,
        user_agent: str = "",
        prefix: str = "archiver",
    ) -> None:
        self.root = root
        self.warc_size = warc_size
        self.gzip_level = gzip_level
        self.operator = operator
        self.user_agent = user_agent
        self.prefix = prefix
        self.hostname = _safe_host(socket.gethostname())
        self.closed: list[Path] = []
        self._lock = threading.Lock()
        self._fh: BinaryIO | None = None
        self._path: Path | None = None
        self._warcinfo_id = ""
        self._serial = 0

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write_capture(self, records: Sequence[OpenRecord]) -> list[WrittenRecord]:
        """Append ``records`` (one capture) and fsync; returns where each landed.

        On an I/O error (a full disk) the file is cut back to where this
        capture began, so no partial record is left, and :class:`WarcError`
        is raised naming the file.
        """
        with self._lock:
            fh, path = self._current()
            start = fh.tell()
            try:
                written = [self._write_one(fh, path, rec) for rec in records]
                fsync_file(fh)
            except OSError as exc:
                self._rollback(fh, path, start)
                raise WarcError(path, f"cannot write: {exc.strerror or exc}") from exc
            if fh.tell() >= self.warc_size:
                self._close_current()
            return written

    def close(self) -> list[Path]:
        """Close the current file (rename ``.open`` away); return every file closed."""
        with self._lock:
            self._close_current()
            return list(self.closed)

    def _write_one(self, fh: BinaryIO, path: Path, rec: OpenRecord) -> WrittenRecord:
        offset = fh.tell()
        rec.record.rec_headers.replace_header("WARC-Warcinfo-ID", self._warcinfo_id)
        member = _GzipMember(fh, self.gzip_level)
        _Serializer(member).write_record(rec.record)
        member.finish()
        final = self.root.relative(path.with_name(path.name.removesuffix(OPEN_SUFFIX)))
        return WrittenRecord(rec.record_id, final, offset, fh.tell() - offset)

    def _rollback(self, fh: BinaryIO, path: Path, start: int) -> None:
        try:
            os.truncate(path, start)
            fh.seek(start)
        except OSError:
            log.exception("%s: could not cut back to offset %d", path, start)

    def _current(self) -> tuple[BinaryIO, Path]:
        if self._fh is None or self._path is None:
            self._open_new()
        assert self._fh is not None and self._path is not None
        return self._fh, self._path

    def _open_new(self) -> None:
        now = datetime.now(UTC)
        self._serial += 1
        folder = self.root.warcs / now.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        stamp = now.strftime("%Y%m%d%H%M%S%f")
        name = f"{self.prefix}-{stamp}-{self._serial:05d}-{self.hostname}{WARC_SUFFIX}"
        path = folder / (name + OPEN_SUFFIX)
        fh = open(path, "xb", buffering=0)  # noqa: SIM115 - kept open across captures
        fsync_dir(folder)
        self._fh, self._path = fh, path
        info = self._warcinfo(name, now)
        self._warcinfo_id = info.record_id
        try:
            self._write_one(fh, path, info)
            fsync_file(fh)
        except OSError as exc:
            self._rollback(fh, path, 0)
            raise WarcError(path, f"cannot write: {exc.strerror or exc}") from exc

    def _warcinfo(self, name: str, now: datetime) -> OpenRecord:
        block = fields_block(
            [
                ("software", f"{SOFTWARE} (warcio, requests)"),
                ("format", "WARC File Format 1.1"),
                ("conformsTo", CONFORMS_TO),
                ("hostname", self.hostname),
                ("operator", self.operator or ""),
                ("http-header-user-agent", self.user_agent),
                ("robots", "ignore (explicit seed URLs; no crawling)"),
            ]
        )
        return build_record(
            "",
            "warcinfo",
            date=warc_date(now),
            block_digest=hashlib.sha256(block).digest(),
            payload=BytesIO(block),
            length=len(block),
            content_type="application/warc-fields",
            headers=[("WARC-Filename", name)],
        )

    def _close_current(self) -> None:
        if self._fh is None or self._path is None:
            return
        fh, path = self._fh, self._path
        self._fh = self._path = None
        fsync_file(fh)
        fh.close()
        self.closed.append(_close_open_file(path))


def _close_open_file(path: Path) -> Path:
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    os.replace(path, final)
    fsync_dir(path.parent)
    return final


def _safe_host(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", name)[:63] or "host"


def _complete_members_end(path: Path) -> int:
    """Offset just past the last complete gzip member of ``path``.

    Streams the file through zlib with bounded output per call, so a damaged
    or hostile file cannot make us hold more than a few blocks in memory.
    """
    end = 0
    pos = 0  # absolute offset of the start of ``data``
    decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
    with open(path, "rb") as fh:
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
    for path in sorted(root.warcs.rglob("*" + WARC_SUFFIX + OPEN_SUFFIX)):
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
        closed.append(_close_open_file(path))
    return closed


@dataclass
class WarcEntry:
    """One record met while iterating a WARC: its offset and the warcio record."""

    path: Path
    offset: int
    record: ArcWarcRecord
    _it: Any

    def length(self) -> int:
        """The record's length in the file (reads the rest of the record)."""
        self._it.read_to_end()
        return int(self._it.get_record_length())


def iter_records(path: Path) -> Iterator[WarcEntry]:
    """Yield each record of a WARC with its offset, streaming.

    Read what you need of ``entry.record`` before taking the next one.
    Raises :class:`WarcError` naming the file and offset on damage.
    """
    offset = 0
    try:
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh, no_record_parse=False)
            try:
                for record in it:
                    # it.offset is the current record's start until it is read to
                    # the end (get_record_offset() would read it to the end first).
                    offset = int(it.offset)
                    yield WarcEntry(path, offset, record, it)
            except WarcError:
                raise
            except Exception as exc:  # warcio raises many types on damage
                raise WarcError(path, f"unreadable record: {exc}", offset=offset) from exc
    except OSError as exc:
        raise WarcError(path, f"cannot read: {exc.strerror or exc}", offset=offset) from exc
