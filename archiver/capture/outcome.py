"""The per-capture ``metadata`` record: what happened, written into the WARC itself.

Every capture attempt, successful or not, ends with one ``metadata`` record
(``application/warc-fields``) whose target is the URL asked for: outcome,
failure reason, HTTP status, the redirect chain hop by hop, resolved IPs,
timings and the payload digest; with ``capture -p``, a page's record lists
the requisites it names (``requisite``) and a requisite's names its page
(``page-url``, and ``page-record``: the page's metadata record). It makes
the WARCs the full record of truth:
:mod:`archiver.capture.reindex` rebuilds the catalog from these records alone.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Sequence
from io import BytesIO
from urllib.parse import quote_from_bytes

from warcio.recordloader import ArcWarcRecord

from ..version import SOFTWARE
from ..warc.record import OpenRecord, build_record, fields_block, warc_date
from .catalog import Capture, Outcome, parse_reason
from .fetcher import FetchResult, wire_url

# Printable ASCII but "%" (the escape), so CR, LF and other bytes are %XX.
_PRINTABLE = "".join(c for c in string.printable if c not in "%\t\n\r\x0b\x0c")

__all__ = ["capture_from_fields", "outcome_fields", "outcome_record", "parse_outcome"]


def outcome_fields(result: FetchResult, capture: Capture,
                   extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The warc-fields describing one attempt (see module docstring), then ``extra``."""
    final = result.final
    out: list[tuple[str, str]] = [
        ("software", SOFTWARE),
        ("outcome", capture.outcome),
        ("reason", capture.reason or ""),
        ("error", capture.error or ""),
        ("requested-url", result.url),
        ("final-url", capture.final_url or ""),
        ("http-status", str(capture.status) if capture.status is not None else ""),
        ("truncated", capture.truncated or ""),
        ("payload-sha256", capture.payload_sha256 or ""),
        ("payload-size", str(capture.payload_size) if capture.payload_size is not None else ""),
        ("started", capture.captured_at),
        ("elapsed-ms", f"{result.elapsed * 1000:.0f}"),
        # The HTTP exchanges kept (a redirect chain of n redirects has n + 1
        # hops), and the requests repeated on 429, 5xx or a broken connection.
        ("hops", str(len(result.hops))),
        ("retries", str(sum(h.attempts - 1 for h in result.hops))),
        # A page requisite names the metadata record of its page (the catalog's
        # link back to the page, rebuilt from here by a reindex).
        ("page-record", capture.page_id or ""),
    ]
    if final is not None:
        out += [
            ("ttfb-ms", f"{final.ttfb * 1000:.0f}"),
            ("resolved-ip", final.exchange.peer_ip or ""),
        ]
    out += [("hop", f"{h.status} {h.url} {h.exchange.peer_ip or '-'}") for h in result.hops]
    # Interim 1xx responses are not part of the response record (it holds the
    # one final HTTP message), so their exact bytes are kept here, %-escaped.
    out += [("interim-response", f"{h.url} {quote_from_bytes(head, safe=_PRINTABLE)}")
            for h in result.hops for head in h.exchange.interim]
    out += extra
    return out


def outcome_record(
    result: FetchResult, capture: Capture, concurrent_to: str | None, *,
    record_id: str | None = None, extra: Sequence[tuple[str, str]] = (),
) -> OpenRecord:
    """Build the metadata record for one attempt (with ``extra`` fields at the end)."""
    block = fields_block(outcome_fields(result, capture, extra))
    headers: list[tuple[str, str]] = []
    if concurrent_to:
        headers.append(("WARC-Concurrent-To", concurrent_to))
    return build_record(
        wire_url(result.url),  # (the "requested-url" field keeps it as given)
        "metadata",
        date=warc_date(result.started),
        block_digest=hashlib.sha256(block).digest(),
        payload=BytesIO(block),
        length=len(block),
        content_type="application/warc-fields",
        headers=headers,
        record_id=record_id,
    )


def parse_outcome(record: ArcWarcRecord) -> tuple[dict[str, str], list[str]] | None:
    """The fields of an archiver metadata record, and its hop lines; None if not ours."""
    fields: dict[str, str] = {}
    hops: list[str] = []
    text = record.content_stream().read().decode("utf-8", "replace")
    for line in text.split("\r\n"):
        name, sep, value = line.partition(": ")
        if not sep:
            continue
        if name == "hop":
            hops.append(value)
        else:
            fields.setdefault(name, value)
    if not fields.get("software", "").startswith("archiver/") or "outcome" not in fields:
        return None
    return fields, hops


def capture_from_fields(fields: dict[str, str], metadata_id: str) -> Capture:
    """A catalog row from parsed metadata fields (location filled in by the caller)."""
    def opt_int(name: str) -> int | None:
        value = fields.get(name, "")
        return int(value) if value.isdigit() else None

    return Capture(
        url=fields.get("requested-url", ""),
        captured_at=fields.get("started", ""),
        outcome=Outcome(fields["outcome"]),
        final_url=fields.get("final-url") or None,
        status=opt_int("http-status"),
        reason=parse_reason(fields.get("reason")),
        error=fields.get("error") or None,
        truncated=fields.get("truncated") or None,
        payload_sha256=fields.get("payload-sha256") or None,
        payload_size=opt_int("payload-size"),
        metadata_id=metadata_id,
        page_id=fields.get("page-record") or None,
    )
