"""The WARC writer: rotating, crash-safe WARC files, written as captures finish.

Writing a capture has three steps, split so a capture run can overlap them:

1. :meth:`WarcWriter.encode` serializes a capture's records and compresses
   each into its own gzip member, into a spool. Any thread may call it, with
   no lock held: compression is most of the CPU cost of writing.
2. :meth:`WarcWriter.append` copies the encoded members to the end of the
   current ``.open`` file (one lock, short).
3. :meth:`WarcWriter.sync` fsyncs the file. A capture counts as written only
   after a sync that follows its append; one sync can cover many appends
   (group commit).

Files are ``warcs/YYYY/MM/DD/<prefix>-<UTC time>-<serial>-<host>.warc.gz``,
named from time, a serial and the machine's host name, never from a URL; each
begins with a ``warcinfo`` record that every later record names in
``WARC-Warcinfo-ID``. A file is renamed from ``.open`` when closed, or once it
passes ``warc_size``. While writing, the writer hashes every byte it appends
and keeps each record's digests, and the SHA-256 of each record's gzip member
(hashed as it is compressed), so the fixity manifests and the evidence log
need not read the file again (:attr:`WarcWriter.scans`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import IO, BinaryIO, cast

from ..atomic import fsync_dir, fsync_file
from ..errors import WarcError
from ..hashing import BLOCK_SIZE, HashingWriter, sha256_hex
from ..root import ArchiveRoot
from ..version import SOFTWARE
from .files import OPEN_SUFFIX, WARC_SUFFIX
from .record import (
    CONFORMS_TO,
    OpenRecord,
    WrittenRecord,
    build_record,
    close_open_file,
    fields_block,
    gzip_member,
    new_record_id,
    warc_date,
)
from .scan import RecordDigest, WarcScan

__all__ = ["EncodedCapture", "WarcWriter"]

log = logging.getLogger(__name__)

# Encoded captures up to this size stay in memory; larger ones spill to disk.
SPOOL_MEMORY = 4 << 20


@dataclass
class EncodedCapture:
    """A capture's records, compressed and ready to append."""

    records: Sequence[OpenRecord]
    warcinfo_id: str
    lengths: list[int]
    spool: tempfile.SpooledTemporaryFile[bytes]
    #: SHA-256 (hex) of each record's gzip member, hashed as it was compressed.
    member_sha256: list[str]

    def close(self) -> None:
        self.spool.close()


class WarcWriter:
    """Writes captures into rotating, crash-safe WARC files under ``root.warcs``.

    Thread-safe. Call :meth:`close` at the end (or use it as a context manager).
    """

    def __init__(
        self,
        root: ArchiveRoot,
        *,
        warc_size: int,
        gzip_level: int = 3,
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
        #: What was hashed while writing each closed file, by path.
        self.scans: dict[Path, WarcScan] = {}
        self._lock = threading.Lock()
        self._fh: BinaryIO | None = None
        self._path: Path | None = None
        self._final_name = ""
        self._scan: WarcScan | None = None
        self._hash = hashlib.sha256()
        self._warcinfo_id = ""
        self._next_warcinfo_id = ""  # the ID the next file's warcinfo will have
        self._serial = 0

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the three steps -----------------------------------------------------

    def encode(self, records: Sequence[OpenRecord]) -> EncodedCapture:
        """Serialize and compress ``records`` (one gzip member each); no lock held."""
        return self._encode(records, self._upcoming_warcinfo_id())

    def _encode(self, records: Sequence[OpenRecord], warcinfo_id: str) -> EncodedCapture:
        # Takes no lock: append() calls it while holding one.
        # The spool belongs to the EncodedCapture, which closes it.
        spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=SPOOL_MEMORY)
        lengths, members = [], []
        for rec in records:
            rec.record.rec_headers.replace_header("WARC-Warcinfo-ID", warcinfo_id)
            # Payloads from build_record start at 0; rewinding lets a capture be
            # encoded again (after a rotation) from the same records.
            rec.record.raw_stream.seek(0)
            out = HashingWriter(spool)
            gzip_member(cast(IO[bytes], out), rec.record, self.gzip_level)
            lengths.append(out.size)
            members.append(out.digest.hexdigest())
        return EncodedCapture(records, warcinfo_id, lengths, spool, members)

    def append(self, enc: EncodedCapture) -> list[WrittenRecord]:
        """Append an encoded capture to the current file; not durable until :meth:`sync`.

        On an I/O error (a full disk) the file is cut back to where this
        capture began, so no partial record is left, and :class:`WarcError`
        is raised naming the file.
        """
        with self._lock:
            fh, path = self._current()
            if enc.warcinfo_id != self._warcinfo_id:
                # The file rotated since this capture was encoded: encode it
                # again so its records name the right warcinfo record.
                enc.close()
                enc = self._encode(enc.records, self._warcinfo_id)
            start, saved = fh.tell(), self._hash.copy()
            try:
                enc.spool.seek(0)
                while chunk := enc.spool.read(BLOCK_SIZE):
                    _write_all(fh, chunk)
                    self._hash.update(chunk)
            except OSError as exc:
                self._rollback(fh, path, start)
                self._hash = saved
                raise WarcError(path, f"cannot write: {exc.strerror or exc}") from exc
            finally:
                enc.close()
            return self._account(path, start, enc)

    def sync(self) -> None:
        """Make everything appended so far durable; close the file if it is full."""
        with self._lock:
            if self._fh is None or self._path is None:
                return
            try:
                fsync_file(self._fh)
            except OSError as exc:
                raise WarcError(self._path, f"cannot fsync: {exc.strerror or exc}") from exc
            if self._fh.tell() >= self.warc_size:
                self._close_current()

    def close(self) -> list[Path]:
        """Close the current file (rename ``.open`` away); return every file closed."""
        with self._lock:
            self._close_current()
            return list(self.closed)

    # -- files ---------------------------------------------------------------

    def _account(self, path: Path, start: int, enc: EncodedCapture) -> list[WrittenRecord]:
        final = self._final_name
        written = []
        offset = start
        for rec, length, member in zip(enc.records, enc.lengths, enc.member_sha256,
                                       strict=True):
            written.append(WrittenRecord(rec.record_id, final, offset, length))
            if self._scan is not None:
                self._scan.records.append(_written_digest(rec, offset, length, member))
            offset += length
        return written

    def _upcoming_warcinfo_id(self) -> str:
        with self._lock:
            if self._fh is not None:
                return self._warcinfo_id
            if not self._next_warcinfo_id:
                self._next_warcinfo_id = new_record_id()
            return self._next_warcinfo_id

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
        info = self._warcinfo(name, now)
        self._fh, self._path = fh, path
        self._final_name = self.root.relative(folder / name)  # root-relative, once per file
        self._warcinfo_id = info.record_id
        self._hash = hashlib.sha256()
        self._scan = WarcScan(sha256="", size=0)
        buf = BytesIO()
        gzip_member(buf, info.record, self.gzip_level)
        try:
            _write_all(fh, buf.getvalue())
            fsync_file(fh)
        except OSError as exc:
            self._rollback(fh, path, 0)
            raise WarcError(path, f"cannot write: {exc.strerror or exc}") from exc
        self._hash.update(buf.getvalue())
        self._scan.records.append(_written_digest(
            info, 0, len(buf.getvalue()), hashlib.sha256(buf.getvalue()).hexdigest()))

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
        info = build_record(
            "",
            "warcinfo",
            date=warc_date(now),
            block_digest=hashlib.sha256(block).digest(),
            payload=BytesIO(block),
            length=len(block),
            content_type="application/warc-fields",
            headers=[("WARC-Filename", name)],
            record_id=self._next_warcinfo_id or None,
        )
        self._next_warcinfo_id = ""
        return info

    def _close_current(self) -> None:
        if self._fh is None or self._path is None:
            return
        fh, path, scan = self._fh, self._path, self._scan
        self._fh = self._path = self._scan = None
        fsync_file(fh)
        size = fh.tell()
        fh.close()
        final = close_open_file(self.root, path)
        self.closed.append(final)
        if scan is not None:
            scan.sha256, scan.size = self._hash.hexdigest(), size
            self.scans[final] = scan


def _written_digest(rec: OpenRecord, offset: int, length: int, member: str) -> RecordDigest:
    headers = rec.record.rec_headers
    rec_type = rec.record.rec_type
    payload = None
    if rec_type in ("response", "request"):
        payload = sha256_hex(headers.get_header("WARC-Payload-Digest"))
    return RecordDigest(
        offset=offset,
        length=length,
        record_id=rec.record_id,
        type=rec_type,
        target_uri=headers.get_header("WARC-Target-URI"),
        date=headers.get_header("WARC-Date"),
        block_sha256=sha256_hex(headers.get_header("WARC-Block-Digest")) or "",
        payload_sha256=payload,
        member_sha256=member,
    )


def _write_all(out: BinaryIO, data: bytes) -> None:
    # The WARC is opened unbuffered (so a failed write leaves no stale buffer
    # to be flushed later at the wrong offset); raw writes may be partial.
    view = memoryview(data)
    while view:
        n = out.write(view)
        view = view[n or 0 :]


def _safe_host(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", name)[:63] or "host"
