"""Scanning a WARC file: the SHA-256 of the file and of every record inside it.

It applies the WARC 1.1 digest rules (:mod:`archiver.warc.digester`) to each
record as it streams past. A record's block digest covers the
whole record block; its payload digest covers the HTTP entity body with
``Transfer-Encoding: chunked`` removed and ``Content-Encoding`` kept, which is
why we de-chunk ourselves instead of trusting ``warcio check`` (it hashes the
chunk framing). ``revisit`` records carry only HTTP headers, and their payload
digest names the original capture, so it is never checked as a payload.

Digests in WARC headers look like ``sha256:<RFC 4648 base32>``; everything
archiver writes (records.jsonl, reports) uses lowercase hex.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..hashing import BLOCK_SIZE, HashingReader, parse_digest
from ..root import ArchiveRoot
from .digester import BlockDigester, http_digests
from .files import is_arc_name

__all__ = [
    "MemberHasher",
    "RecordDigest",
    "WarcScan",
    "describe_exception",
    "http_digests",
    "member_sha256",
    "record_at",
    "scan_warc",
]

@dataclass(frozen=True, slots=True)
class RecordDigest:
    """One WARC record as found on disk: where it is and what it hashes to."""

    offset: int
    length: int
    record_id: str
    type: str
    target_uri: str | None
    date: str | None
    block_sha256: str
    payload_sha256: str | None
    #: Problems with the record's own digest headers (empty when it is sound).
    mismatches: tuple[str, ...] = ()
    #: SHA-256 of the record's stored bytes (``length`` bytes at ``offset``: the
    #: gzip member, WARC headers and compression included). ``None`` in an
    #: index written before it was kept.
    member_sha256: str | None = None


@dataclass(slots=True)
class WarcScan:
    """The result of reading one WARC file once, end to end."""

    sha256: str
    size: int
    records: list[RecordDigest] = field(default_factory=list)
    #: Why the file could not be parsed to its end (with the offset), if so.
    error: str | None = None
    error_offset: int | None = None


def _check(name: str, declared: str | None, found: dict[str, str]) -> list[str]:
    parsed = parse_digest(declared)
    if declared is None:
        return []
    if parsed is None:
        return [f"{name} digest header {declared!r} cannot be parsed"]
    alg, expected = parsed
    actual = found.get(alg)
    if actual is None or actual == expected:
        return []
    # Shown as the header writes it (label, hex or base32), so the two compare by eye.
    label, _, text = declared.strip().partition(":")
    hexed = len(text) == len(expected)
    shown = actual if hexed else base64.b32encode(bytes.fromhex(actual)).decode("ascii")
    if "=" not in text:
        shown = shown.rstrip("=")
    if text.isupper():
        shown = shown.upper()
    elif text.islower():
        shown = shown.lower()
    return [f"{name} digest {label}:{shown} does not match the header's {declared.strip()}"]


def _digest_record(record: Any, foreign: bool) -> tuple[BlockDigester, list[str]]:
    headers = record.rec_headers
    block_hdr = headers.get_header("WARC-Block-Digest")
    payload_hdr = headers.get_header("WARC-Payload-Digest")
    algs = {p[0] for p in (parse_digest(block_hdr),) if p} - {"sha256"}
    digester = BlockDigester(record.rec_type, headers.get_header("Content-Type") or "", algs,
                             keep_raw=foreign)
    while chunk := record.raw_stream.read(BLOCK_SIZE):
        digester.feed(chunk)
    block = {"sha256": digester.block.hexdigest()}
    block.update({alg: h.hexdigest() for alg, h in digester.extra.items()})
    problems = _check("block", block_hdr, block)
    payload = digester.payload_hex()
    if payload is not None and record.rec_type != "revisit":
        found = _check("payload", payload_hdr, {"sha256": payload})
        if found and digester.raw is not None and \
                not _check("payload", payload_hdr, {"sha256": digester.raw.hexdigest()}):
            found = []  # another tool's digest over the chunk framing: accepted on import
        problems += found
    return digester, problems


def scan_warc(path: Path | str, *, foreign: bool = False) -> WarcScan:
    """Read the WARC at ``path`` once: file SHA-256 and every record's digests.

    ``foreign``: the file was made by another tool (imported), so a chunked
    payload digest over the raw body, chunk framing included, is accepted
    as well as one over the de-chunked body (:mod:`archiver.warc.check`).

    Never raises for a damaged WARC: parsing stops at the first record that
    cannot be read, which is reported in :attr:`WarcScan.error`, and the rest
    of the file is still hashed. Raises :class:`OSError` if it cannot be read.
    """
    from .reader import RecordReader  # only record scans need warcio

    with open(path, "rb") as raw:
        reader = HashingReader(raw)
        scan = WarcScan(sha256="", size=0)
        iterator = RecordReader(reader, no_record_parse=True, arc=is_arc_name(Path(path).name))
        try:
            for record in iterator:
                digester, problems = _digest_record(record, foreign)
                found = _scanned_digest(iterator, record, digester, problems)
                # The member's bytes were just read, so this re-read is served
                # by the page cache; hashing them in the stream warcio reads
                # ahead of would need the member's end before it is known.
                member = member_sha256(raw, found.offset, found.length)
                scan.records.append(dataclasses.replace(found, member_sha256=member))
        except OSError:
            raise
        except Exception as exc:  # warcio and zlib raise many types for bad bytes
            scan.error, scan.error_offset = describe_exception(exc), iterator.offset
        reader.drain()
        scan.sha256, scan.size = reader.digest.hexdigest(), reader.pos
        return scan


def _scanned_digest(
    iterator: Any, record: Any, digester: BlockDigester, problems: list[str]
) -> RecordDigest:
    headers = record.rec_headers
    return RecordDigest(
        offset=iterator.get_record_offset(),
        length=iterator.get_record_length(),
        record_id=headers.get_header("WARC-Record-ID") or "",
        type=record.rec_type or "",
        target_uri=headers.get_header("WARC-Target-URI"),
        date=headers.get_header("WARC-Date"),
        block_sha256=digester.block.hexdigest(),
        payload_sha256=digester.payload_hex(),
        mismatches=tuple(problems),
    )


class _Window:
    """``length`` bytes of ``raw`` from its current position: one gzip member."""

    def __init__(self, raw: IO[bytes], length: int) -> None:
        self.raw = raw
        self.left = length
        self.pos = 0

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self.raw.read(size)
        self.left -= len(data)
        self.pos += len(data)
        return data

    def tell(self) -> int:
        return self.pos


def record_at(fh: IO[bytes], offset: int, length: int, *, arc: bool = False) -> tuple[str, str]:
    """``(record ID, block sha256)`` of the record stored at ``offset``..``+length``.

    Reads only that gzip member, streaming. Raises :class:`ValueError` (or the
    decompressor's error) if no whole record can be read there.
    """
    from .reader import RecordReader  # only record scans need warcio

    fh.seek(offset)
    iterator = RecordReader(_Window(fh, length), no_record_parse=True, arc=arc)
    record = next(iter(iterator), None)
    if record is None:
        raise ValueError("no WARC record there")
    block = hashlib.sha256()
    while chunk := record.raw_stream.read(BLOCK_SIZE):
        block.update(chunk)
    # Read on to the end of the gzip member, so its CRC-32 is checked too.
    if next(iter(iterator), None) is not None:
        raise ValueError("more than one record in this gzip member")
    return record.rec_headers.get_header("WARC-Record-ID") or "", block.hexdigest()


def member_sha256(fh: IO[bytes], offset: int, length: int) -> str:
    """SHA-256 (hex) of the ``length`` bytes stored at ``offset`` of the open file ``fh``.

    Streamed in :data:`BLOCK_SIZE` blocks with ``pread``, so the file's
    position is left alone. A file shorter than ``offset + length`` hashes
    what is there (and so does not match what was recorded).
    """
    digest = hashlib.sha256()
    fd = fh.fileno()
    end = offset + length
    while offset < end:
        block = os.pread(fd, min(BLOCK_SIZE, end - offset), offset)
        if not block:
            break
        digest.update(block)
        offset += len(block)
    return digest.hexdigest()


class MemberHasher:
    """``member_sha256`` of stored records met in file order, one WARC open at a time.

    For passes over an index or log that name records by root-relative file,
    offset and length: the file is opened when its first record comes and
    closed when another file's does. An unreadable file gives ``None`` for
    each of its records, and ``on_unreadable(path, error)`` is called once.
    """

    def __init__(self, root: ArchiveRoot,
                 on_unreadable: Callable[[str, OSError], None] | None = None) -> None:
        self.root = root
        self.on_unreadable = on_unreadable
        self._path: str | None = None
        self._fh: IO[bytes] | None = None

    def __call__(self, path: str, offset: int, length: int) -> str | None:
        if path != self._path:
            self.close()
            self._path = path
            try:
                self._fh = open(self.root.absolute(path), "rb")  # noqa: SIM115
            except OSError as exc:
                if self.on_unreadable is not None:
                    self.on_unreadable(path, exc)
        return None if self._fh is None else member_sha256(self._fh, offset, length)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self._fh = None

    def __enter__(self) -> MemberHasher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def describe_exception(exc: BaseException) -> str:
    """A short one-line account of a parse failure (warcio quotes raw bytes)."""
    from .reader import RecordDamage

    if isinstance(exc, RecordDamage):
        return str(exc)
    text = str(exc).split(", first line", 1)[0].splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:120]}" if text else type(exc).__name__
