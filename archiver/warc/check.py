"""Checking a WARC made by another tool, before it is imported: read to the end.

:func:`check_warc` parses every record with the shared bounded reader
(:mod:`archiver.warc.reader`: the same damage verdict as verify, reindex and
extract) and checks every digest a record carries, in the algorithm and
encoding it carries it (sha1, sha256, md5…; base32, hex or base64), while
hashing the whole file.

Payload digests follow WARC 1.1 (the entity body with transfer-encoding
removed), but other tools hash the chunk framing too (warcio's
``capture_http``, warcio issues #74, #75). So for a ``Transfer-Encoding:
chunked`` response a payload digest that matches either the de-chunked or
the raw body is accepted, and which one matched is counted
(:attr:`WarcCheck.payload_raw`). A ``revisit``'s payload digest is its
original's, so it is not checked against the revisit's (empty) body.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..hashing import BLOCK_SIZE, HashingReader, parse_digest
from .digester import MAX_HTTP_HEAD, Dechunker, is_chunked
from .files import is_arc_name
from .location import Location, basename, location_name, open_read
from .scan import describe_exception

__all__ = ["RECORDS_FIELDS", "Finding", "WarcCheck", "check_records", "check_warc", "records_entry"]

#: one problem found in a WARC: the record offset (None: the whole file) and what
Finding = tuple[int | None, str]


@dataclass
class WarcCheck:
    """What reading one file to its end found."""

    sha256: str = ""
    size: int = 0
    records: int = 0
    #: Digests found equal to the record's header (block and payload).
    digests_checked: int = 0
    #: Records that carry no digest at all (nothing to check).
    undigested: int = 0
    #: Chunked payload digests that matched the de-chunked body (WARC 1.1)…
    payload_dechunked: int = 0
    #: …and those that matched only the raw body with its chunk framing.
    payload_raw: int = 0
    #: Digest headers that do not match, or cannot be parsed: ``"offset N: …"``.
    mismatches: list[str] = field(default_factory=list)
    #: The same as (record offset, what is wrong), with the damage last if any.
    findings: list[tuple[int, str]] = field(default_factory=list)
    #: Why the file could not be read to its end, and where.
    damage: str | None = None
    damage_offset: int | None = None
    algorithms: set[str] = field(default_factory=set)

    @property
    def sound(self) -> bool:
        """Every record read, every digest it carries matched."""
        return self.damage is None and not self.mismatches and self.records > 0

    def verdict(self) -> str:
        """One line: why the file is not sound, or what was checked."""
        if self.damage is not None:
            return f"unreadable at offset {self.damage_offset}: {self.damage}"
        if self.records == 0:
            return "no WARC record in it"
        if self.mismatches:
            more = f" (and {len(self.mismatches) - 1} more)" if len(self.mismatches) > 1 else ""
            return f"digest mismatch: {self.mismatches[0]}{more}"
        return self.summary()

    def summary(self) -> str:
        """What was checked, for the ingest event."""
        algs = ",".join(sorted(self.algorithms)) or "none"
        text = (f"{self.records} records read to the end; {self.digests_checked} digests "
                f"checked ({algs})")
        if self.undigested:
            text += f"; {self.undigested} records carry no digest"
        if self.payload_dechunked or self.payload_raw:
            text += (f"; chunked payload digests: {self.payload_dechunked} over the de-chunked "
                     f"body (WARC 1.1), {self.payload_raw} over the raw chunked body")
        return text


class _RecordDigests:
    """The digests one record declares, computed as its block streams past."""

    def __init__(self, record: Any) -> None:
        headers = record.rec_headers
        self.block_label = headers.get_header("WARC-Block-Digest")
        self.payload_label = (None if record.rec_type == "revisit"
                              else headers.get_header("WARC-Payload-Digest"))
        self.block_alg = _alg(self.block_label)
        self.payload_alg = _alg(self.payload_label)
        self.block = hashlib.new(self.block_alg) if self.block_alg else None
        http = (headers.get_header("Content-Type") or "").lower().startswith("application/http")
        self.payload = hashlib.new(self.payload_alg) if self.payload_alg else None
        self.raw: Any = None  # the body hashed with its chunk framing, if chunked
        self.head: bytes | None = b"" if (http and self.payload is not None) else None
        self.sink: Any = self.payload

    def feed(self, data: bytes) -> None:
        if self.block is not None:
            self.block.update(data)
        if self.payload is None:
            return
        if self.head is not None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > MAX_HTTP_HEAD:
                    self.payload = None
                return
            head, data = self.head[: end + 4], self.head[end + 4 :]
            self.head = None
            if is_chunked(head):
                assert self.payload_alg is not None
                self.raw = hashlib.new(self.payload_alg)
                self.sink = Dechunker(self.payload)
        if self.raw is not None:
            self.raw.update(data)
            self.sink.feed(data)
        else:
            self.sink.update(data)


def _alg(label: str | None) -> str | None:
    parsed = parse_digest(label)
    return parsed[0] if parsed else None


def check_warc(path: Location) -> WarcCheck:
    """Read the WARC (or ARC) at ``path`` (a local path or an ``s3://`` URL) to its
    end; see the module docstring.

    Never raises for a damaged file (that is :attr:`WarcCheck.damage`);
    raises :class:`OSError` if it cannot be read (for S3:
    :class:`~archiver.errors.LocationError`, naming the URL).
    """
    from .reader import RecordReader

    check = WarcCheck()
    with open_read(path) as raw:
        reader = HashingReader(raw)
        iterator = RecordReader(reader, no_record_parse=True, arc=is_arc_name(basename(path)))
        try:
            for record in iterator:
                offset = iterator.offset
                digests = _RecordDigests(record)
                while chunk := record.raw_stream.read(BLOCK_SIZE):
                    digests.feed(chunk)
                iterator.read_to_end()
                check.records += 1
                _compare(check, offset, record, digests)
        except OSError:
            raise
        except Exception as exc:  # the reader's verdict, warcio's or zlib's
            check.damage = describe_exception(exc)
            check.damage_offset = max(0, int(iterator.offset))
            if check.records == 0 and "ArchiveLoadFailed" in check.damage:
                check.damage = f"not a WARC or ARC file: no record at its start ({check.damage})"
            check.findings.append((check.damage_offset, f"unreadable: {check.damage}"))
        while reader.read(BLOCK_SIZE):
            pass
        check.sha256, check.size = reader.digest.hexdigest(), reader.pos
    return check


def check_records(location: Location) -> tuple[WarcCheck | None, list[Finding]]:
    """``verify --records WARC...``'s verdict on one WARC (the CLI's and the Spark
    job's): its check (None where it could not be read) and its problems, an
    unreadable file and a file without a record among them; never raises."""
    from ..errors import LocationError

    try:
        check = check_warc(location)
    except LocationError as exc:
        return None, [(exc.offset, exc.reason)]
    except OSError as exc:
        return None, [(None, f"cannot read: {exc.strerror or exc}")]
    problems: list[Finding] = list(check.findings)
    if check.records == 0 and not problems:
        problems = [(0, "no WARC record in it")]
    return check, problems


# The fields of a ``verify --records`` entry, in order: its JSON keys and the
# Spark job's columns.
RECORDS_FIELDS = ("location", "ok", "sha256", "size", "records", "digests_checked", "problems")


def records_entry(location: Location, check: WarcCheck | None,
                  problems: list[Finding]) -> dict[str, Any]:
    """One WARC's entry in ``verify --records --json`` and in the Spark job's
    rows, from :func:`check_records`' verdict: the digest fields are None for a
    file that could not be read."""
    return {
        "location": location_name(location),
        "ok": check is not None and not problems,
        "sha256": None if check is None else check.sha256,
        "size": None if check is None else check.size,
        "records": None if check is None else check.records,
        "digests_checked": None if check is None else check.digests_checked,
        "problems": [{"offset": offset, "problem": problem} for offset, problem in problems],
    }


def _compare(check: WarcCheck, offset: int, record: Any, digests: _RecordDigests) -> None:
    if digests.block_label is None and digests.payload_label is None:
        check.undigested += 1
    for name, label, found in (("block", digests.block_label, digests.block),
                               ("payload", digests.payload_label, digests.payload)):
        if label is None:
            continue
        parsed = parse_digest(label)
        if parsed is None:
            _mismatch(check, offset, f"{name} digest {label!r} cannot be parsed")
            continue
        alg, expected = parsed
        check.algorithms.add(alg)
        if found is None:
            continue  # (an HTTP head too long to be one: no payload to speak of)
        if found.hexdigest() == expected:
            check.digests_checked += 1
            if name == "payload" and digests.raw is not None:
                check.payload_dechunked += 1
        elif name == "payload" and digests.raw is not None and \
                digests.raw.hexdigest() == expected:
            check.digests_checked += 1
            check.payload_raw += 1
        else:
            _mismatch(check, offset, f"{name} digest {alg}:{found.hexdigest()} "
                      f"does not match the header's {alg}:{expected}")


def _mismatch(check: WarcCheck, offset: int, text: str) -> None:
    check.mismatches.append(f"offset {offset}: {text}")
    check.findings.append((offset, text))
