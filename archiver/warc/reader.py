"""The one WARC record reader: bounded header blocks and one verdict on damage.

Every command that reads WARC records (``verify --records`` and ``manifest``
through :func:`archiver.warc.scan.scan_warc`, ``reindex`` and ``extract``
through :func:`archiver.warc.record.iter_records`) reads them with
:class:`RecordReader`, warcio's iterator with three things added:

* **Bounds.** warcio's header parser reads lines until a blank one, with no
  limit, and inflates a gzip member as far as one read of compressed input
  goes (a deflate stream inflates ~1000-fold). A crafted member of a few MB
  holding gigabytes of header lines made ``manifest``, ``reindex`` and
  ``extract`` grow without end. Here a WARC or HTTP header block ends within
  :data:`MAX_HEADER_BYTES` and :data:`MAX_HEADER_LINES` (as HTTP servers bound
  theirs), a run of blank lines between records within :data:`MAX_HEADER_LINES`,
  and each inflate call yields at most one block.
* **One verdict.** A record is damaged (:class:`RecordDamage`) when its header
  block has no ``WARC-Type`` or ``WARC-Record-ID``, its ``Content-Length`` is
  not a number, the file ends before the declared length, its gzip member is
  cut short or corrupt, or the record is not followed by its blank lines. So
  verify calls it ``invalid-record``, reindex ``damaged`` and extract skips it
  with a message, for the same files and at the same offset.
* **Silence.** warcio writes some warnings to stderr; a library must not
  print. Each of them is a finding here, raised as :class:`RecordDamage`.

The reader stops at the first damaged record: :attr:`RecordReader.offset`
is then the offset of that record, which callers report.
"""

from __future__ import annotations

import uuid
import zlib
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.recordloader import ARC2WARCHeadersParser, ArcWarcRecord
from warcio.statusandheaders import StatusAndHeadersParser

from ..hashing import BLOCK_SIZE

__all__ = ["MAX_HEADER_BYTES", "MAX_HEADER_LINES", "RecordDamage", "RecordReader"]

#: The most bytes a WARC or HTTP header block may hold (status line included).
MAX_HEADER_BYTES = 256 * 1024
#: The most lines a header block (or a run of blank lines between records) may hold.
MAX_HEADER_LINES = 1000


class RecordDamage(ValueError):
    """A record that cannot be read as a WARC record; the message says why."""


class _BoundedLines:
    """``readline`` over a stream, refusing a header block past the bounds."""

    def __init__(self, stream: Any, what: str, used: int) -> None:
        self.stream = stream
        self.what = what
        self.used = used
        self.lines = 1 if used else 0
        self.unterminated = False  # the stream ended before the blank line

    def readline(self, length: int | None = None) -> bytes:
        line: bytes = self.stream.readline(MAX_HEADER_BYTES - self.used + 1)
        self.used += len(line)
        self.lines += 1
        if not line.endswith(b"\n") and self.used:
            self.unterminated = True
        if self.used > MAX_HEADER_BYTES or self.lines > MAX_HEADER_LINES:
            raise RecordDamage(
                f"{self.what} header block is not ended by a blank line within "
                f"{MAX_HEADER_LINES} lines or {MAX_HEADER_BYTES // 1024} KiB (malformed record)")
        return line


class _BoundedParser(StatusAndHeadersParser):  # type: ignore[misc]
    """warcio's status-and-headers parser, reading through :class:`_BoundedLines`."""

    def __init__(self, statuslist: list[str], verify: bool, what: str, *,
                 tolerant: bool = False) -> None:
        super().__init__(statuslist, verify)
        self.what = what
        self.tolerant = tolerant
        self.unterminated = False
        #: Why the last block was left unparsed (``tolerant`` parsers only).
        self.skipped: str | None = None

    def parse(self, stream: Any, full_statusline: Any = None) -> Any:
        used = len(full_statusline) if full_statusline else 0
        lines = _BoundedLines(stream, self.what, used)
        try:
            return super().parse(lines, full_statusline)
        except RecordDamage as exc:
            if not self.tolerant:
                raise
            # An HTTP head past the bounds inside a whole record: the WARC record
            # is sound (verify finds it so), only its HTTP message is unusable.
            self.skipped = str(exc)
            return None
        finally:
            self.unterminated = lines.unterminated


class _BoundedInflate(DecompressingBufferedReader):  # type: ignore[misc]
    """warcio's buffered reader, inflating at most one block per call.

    Input zlib has not yet inflated is kept as ``starting_data``, which the
    next fill reads before the file. A member that fails to inflate part-way
    is remembered in :attr:`damage` (warcio prints it and reads on as if the
    member had ended).
    """

    damage: str | None = None
    decompressor: Any  # (set by warcio)
    fed = False  # whether the current member has had any input

    def _init_decomp(self, decomp_type: Any) -> None:
        super()._init_decomp(decomp_type)
        self.fed = False

    def _decompress(self, data: bytes) -> bytes:
        dec: Any = self.decompressor
        if dec is None or not data or not hasattr(dec, "unconsumed_tail"):
            return bytes(super()._decompress(data))
        self.fed = True
        try:
            out = dec.decompress(data, self.block_size)
            while not out and dec.unconsumed_tail:
                out = dec.decompress(dec.unconsumed_tail, self.block_size)
        except zlib.error as exc:
            if self.num_block_read == 0 and not data.startswith(b"\x1f\x8b"):
                self.decompressor = None  # not gzip at all: read as it is (warcio's rule)
                return data
            self.damage = f"the gzip data is corrupt ({exc})"
            return b""
        if dec.unconsumed_tail:
            self.starting_data = dec.unconsumed_tail
        return bytes(out)

    def member_cut_short(self) -> bool:
        """Whether the input ended inside the current gzip member."""
        dec = self.decompressor
        return self.fed and dec is not None and not getattr(dec, "eof", True)

    def check_end(self) -> None:
        """Raise :class:`RecordDamage` if the input ended in a damaged or cut member."""
        if self.damage:
            raise RecordDamage(self.damage)
        if self.member_cut_short():
            raise RecordDamage("the file ends inside this record's gzip member (it was cut short)")


class _StableArc2Warc(ARC2WARCHeadersParser):  # type: ignore[misc]
    """warcio's ARC-to-WARC header reading, with a record ID derived from the
    ARC header line instead of a random one: reading a file twice gives the
    same IDs (verify and the records index compare them)."""

    def _get_protocol_and_headers(self, headerline: str, parts: list[str]) -> Any:
        protocol, headers = super()._get_protocol_and_headers(headerline, parts)
        stable = f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, headerline)}>"
        return protocol, [(n, stable if n == "WARC-Record-ID" else v) for n, v in headers]


class RecordReader(ArchiveIterator):  # type: ignore[misc]
    """Iterate a WARC's records, bounded, raising :class:`RecordDamage` on damage.

    Use like warcio's ``ArchiveIterator``: ``offset`` is the current record's
    start; after an exception it is the damaged record's. With ``arc``, the
    file is read as ARC, as warcio reads it (each record given WARC headers,
    ``arc2warc``); otherwise as WARC only.
    """

    def __init__(self, fileobj: Any, *, no_record_parse: bool = False,
                 block_size: int = BLOCK_SIZE, arc: bool = False) -> None:
        super().__init__(fileobj, no_record_parse=no_record_parse, block_size=block_size,
                         arc2warc=arc)
        self.arc = arc
        self.known_format = "arc" if arc else "warc"
        self.reader = _BoundedInflate(self.fh, block_size=block_size)
        loader = self.loader
        if arc:
            loader.arc_parser = _StableArc2Warc()
        loader.warc_parser = _BoundedParser(loader.WARC_TYPES, True, "WARC")
        loader.http_parser = _BoundedParser(loader.HTTP_TYPES, False, "HTTP", tolerant=True)
        loader.http_req_parser = _BoundedParser(loader.HTTP_VERBS, False, "HTTP request",
                                                tolerant=True)

    @property
    def offset(self) -> int:
        return self._offset

    @offset.setter
    def offset(self, value: int) -> None:
        # warcio computes offsets as the file position less what its buffer
        # holds; in a gzip member holding several records (a file compressed
        # as a whole) that goes negative. The damage is then at the start.
        self._offset = max(0, int(value))

    def _next_record(self, next_line: Any) -> ArcWarcRecord:
        http = (self.loader.http_parser, self.loader.http_req_parser)
        for parser in http:
            parser.skipped = None
        try:
            record = super()._next_record(next_line)
        except EOFError:  # no more records: unless the file ends inside a gzip member
            self._check_header_ended()
            self.reader.check_end()  # (cut inside the next member's own gzip header)
            raise
        self._check_header_ended()
        # Never fall back from one format to the other: a file is read as
        # the one its name says (archiver.warc.files.is_arc_name).
        self.known_format = "arc" if self.arc else "warc"
        headers = record.rec_headers
        missing = [name for name in ("WARC-Type", "WARC-Record-ID")
                   if not headers.get_header(name)]
        if missing:
            raise RecordDamage(f"the record has no {' or '.join(missing)} header")
        length = headers.get_header("Content-Length")
        if length is None or not length.strip().isdigit():
            raise RecordDamage(f"the record's Content-Length {length!r} is not a number")
        #: Why the record's HTTP message could not be read (it is then None), if so.
        record.http_problem = next((p.skipped for p in http if p.skipped), None)
        return record

    def _check_header_ended(self) -> None:
        if self.loader.warc_parser.unterminated:
            self.reader.check_end()
            raise RecordDamage("the file ends inside the record's header block")

    def read_to_end(self, record: Any = None) -> None:
        if not self.record or self.member_info:
            return
        stream = self.record.raw_stream
        while stream.read(BLOCK_SIZE):
            pass
        self.reader.check_end()
        left = getattr(stream, "limit", 0)
        if left:
            raise RecordDamage(f"the record is cut short: its Content-Length declares {left} "
                               "more bytes than its block holds")
        super().read_to_end()

    def _consume_blanklines(self) -> tuple[bytes | None, int]:
        # warcio's, bounded, and raising where warcio prints a warning.
        empty_size = 0
        for _ in range(MAX_HEADER_LINES):
            line: bytes = self.reader.readline(MAX_HEADER_BYTES)
            if not line:
                self.reader.check_end()
                return None, empty_size
            if line.rstrip():
                if empty_size == 0:
                    raise RecordDamage("the record does not end where its Content-Length says "
                                       "(no blank line after its block)")
                return line, empty_size
            empty_size += len(line)
        raise RecordDamage(f"more than {MAX_HEADER_LINES} blank lines after the record")

    def _raise_invalid_gzip_err(self) -> None:
        raise RecordDamage("several records in one gzip member (a WARC must compress each "
                           "record as its own member; `warcio recompress` can fix the file)")
