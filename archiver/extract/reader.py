"""Articles from the archive: WARC ``response`` records in, articles with provenance out.

:func:`extract_warcs` streams the given WARC files record by record. Every
``response`` that is an HTML page with HTTP status 200 is read back from the
WARC (never fetched again): its body is de-chunked (that is the payload we
hash and check against ``WARC-Payload-Digest``), its content-encoding undone
with a size cap, and its article extracted. A ``revisit`` record is resolved
to the original response its ``WARC-Refers-To`` names. Each article carries
its provenance: WARC file, record ID and offset, target URI, capture date,
payload sha256 and the sha256 of the extracted text.

A page captured with ``capture --browser`` also has its rendered DOM (a
``resource`` record, target ``urn:dom:<page URL>``, just after the page's
response): when the response's own HTML has no article text (less than
:data:`~archiver.extract.article.MIN_TEXT` characters: the article is
written by JavaScript), the article is taken from the rendered DOM instead,
and its provenance names that record too.

A page captured again unchanged (same URL, same payload digest) is given once
unless every capture is asked for. A record that cannot be read or extracted
is yielded as an :class:`ExtractFailure` naming the file and offset, and the
run goes on.

With ``jobs > 1`` the article extraction itself (the costly part: parsing and
scoring, some 15 ms a page against well under 1 ms to read the record) runs in
worker processes, one page per task, so one big WARC still uses every core.
Everything else stays here, in input order: reading records, checking
payload digests, resolving revisits and choosing which capture of a page is
given, so the items and their order are exactly those of ``jobs=1``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ArchiverError, ExtractError, WarcError
from ..hashing import parse_digest, sha256_hex
from ..root import ArchiveRoot
from ..warc.digester import chunked_coding
from ..warc.files import is_imported
from ..warc.location import Location, location_name, open_read
from ..warc.payload import DEFAULT_MAX_BODY, decode_content, read_payload
from ..warc.reader import RecordReader
from ..warc.record import DOM_URN, iter_records
from ..workers import process_context
from .article import MIN_TEXT, Article, extract_article

__all__ = [
    "ExtractFailure",
    "Extracted",
    "Provenance",
    "WarcExtraction",
    "extract_html_file",
    "extract_warcs",
]

log = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


@dataclass(frozen=True)
class Provenance:
    """Where an article came from; ``None`` fields do not apply to its source."""

    payload_sha256: str
    text_sha256: str
    warc_file: str | None = None
    record_id: str | None = None
    offset: int | None = None
    target_uri: str | None = None
    capture_date: str | None = None
    refers_to: str | None = None
    original_warc_file: str | None = None
    original_offset: int | None = None
    truncated: str | None = None
    html_file: str | None = None
    #: The rendered DOM record the text was taken from (``--browser`` captures).
    dom_record_id: str | None = None
    dom_offset: int | None = None


@dataclass(frozen=True)
class Extracted:
    """One article and its provenance."""

    article: Article
    provenance: Provenance

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = self.article.to_dict()
        out["provenance"] = {k: v for k, v in asdict(self.provenance).items() if v is not None}
        return out


@dataclass(frozen=True)
class ExtractFailure:
    """A record (or file) we could not extract from."""

    warc_file: str
    offset: int | None
    message: str

    def __str__(self) -> str:
        at = "" if self.offset is None else f" at offset {self.offset}"
        return f"{self.warc_file}{at}: {self.message}"


@dataclass(frozen=True)
class _Response:
    """A response record's identity and HTTP body, read back from its WARC."""

    path: Location
    offset: int
    record_id: str
    target_uri: str
    date: str
    status: str
    content_type: str
    headers: Any
    declared_digest: str | None
    truncated: str | None
    refers_to: str
    refers_to_uri: str
    payload_digest: tuple[str, str] | None


#: What a worker sends back: the article and its text's sha256, or (None,
#: whether extract_article refused the page with an ExtractError, the message).
_Outcome = tuple[Article, str] | tuple[None, bool, str]


@dataclass(eq=False)
class _Pending:
    """A page whose article is being extracted (here or in a worker), and how
    to report it: the provenance it will carry and, should extraction fail,
    the record the failure names (a revisit's own, when resolving one)."""

    body: bytes
    url: str
    encoding: str | None
    provenance: Provenance  # text_sha256 filled in when done
    warc_file: str
    offset: int
    original: str | None  # the original's record ID when resolving a revisit
    future: Future[_Outcome] | None = None
    item: Extracted | ExtractFailure | None = None

    def outcome(self, outcome: _Outcome) -> Extracted | ExtractFailure:
        if outcome[0] is not None:
            return Extracted(outcome[0], replace(self.provenance, text_sha256=outcome[1]))
        _, refused, message = outcome
        if self.original is None:
            return ExtractFailure(self.warc_file, self.offset,
                                  message if refused else f"unreadable record: {message}")
        return ExtractFailure(self.warc_file, self.offset,
                              f"revisit of {self.original}: {message}" if refused
                              else f"cannot read original {self.original}: {message}")


def _now(unit: ExtractFailure | _Pending | None) -> Extracted | ExtractFailure | None:
    """``unit`` with its article extracted in this process."""
    if not isinstance(unit, _Pending):
        return unit
    if unit.item is None:
        unit.item = unit.outcome(_extract_page(unit.body, unit.url, unit.encoding))
    return unit.item


def _lacks_text(unit: _Pending) -> bool:
    """Whether a page's own HTML gave no article text (so its rendered DOM may)."""
    item = unit.item
    return isinstance(item, Extracted) and len(item.article.text) < MIN_TEXT and \
        item.provenance.dom_record_id is None


def _extract_page(body: bytes, url: str, encoding: str | None) -> _Outcome:
    """One page's article (the task a worker runs). Errors come back as text:
    they are reported, not raised, and not every exception pickles."""
    try:
        article = extract_article(body, url, encoding=encoding)
    except ExtractError as exc:
        return None, True, str(exc)
    except Exception as exc:  # lxml and friends raise many types on hostile input
        return None, False, str(exc)
    return article, text_sha256(article.text)


#: Pages in flight per worker (enough to keep each busy while this process
#: reads ahead), and a cap on their bodies' bytes: memory stays bounded
#: whatever the size of the WARCs.
WINDOW_PER_JOB = 4
WINDOW_BYTES = 64 << 20



def text_sha256(text: str) -> str:
    """sha256 (hex) of the extracted text, UTF-8 encoded."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def extract_html_file(path: Path, url: str | None = None) -> Extracted:
    """The article of one saved HTML page."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExtractError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    article = extract_article(data, url)
    prov = Provenance(hashlib.sha256(data).hexdigest(), text_sha256(article.text),
                      html_file=path.as_posix(), target_uri=url)
    return Extracted(article, prov)


def extract_warcs(
    paths: Iterable[Location], *, root: ArchiveRoot | None = None, max_body: int = DEFAULT_MAX_BODY,
    all_captures: bool = False, jobs: int = 1,
) -> WarcExtraction:
    """Articles (and failures) from the HTML 200 responses and revisits in ``paths``
    (local WARC files or ``s3://`` URLs of them, see :mod:`archiver.warc.location`).

    By default one item per distinct payload per URL: a page captured again
    unchanged (a revisit, or a repeated capture) is the same article, given
    once (with the provenance of the first capture read that holds it); the
    others are counted in :attr:`WarcExtraction.duplicates`. ``all_captures``
    gives every capture.

    ``jobs`` worker processes extract the articles (1: all in this process);
    the items and their order do not depend on it. A worker that dies is
    logged and its pages extracted again, one at a time, so a page that kills
    its worker every time becomes an :class:`ExtractFailure` for that record.
    """
    return WarcExtraction(list(paths), root, max_body, all_captures, jobs)


class WarcExtraction:
    """One extraction run, iterated once: the response index that revisits are
    resolved against, and the (URL, payload) pairs already given."""

    def __init__(self, paths: list[Location], root: ArchiveRoot | None, max_body: int,
                 all_captures: bool, jobs: int = 1) -> None:
        self.paths = paths
        self.root = root
        self.max_body = max_body
        self.responses: dict[str, tuple[Location, int]] = {}
        # (target URI, payload digest as (algorithm, hex)) -> record ID: how a
        # revisit without WARC-Refers-To finds its original (as pywb does).
        self.by_payload: dict[tuple[str, tuple[str, str]], str] = {}
        self.pending: list[_Response] = []
        # (target URI, payload sha256) of every article given; None: give all.
        self.given: set[tuple[str, str]] | None = None if all_captures else set()
        #: Captures not given because the same payload of the same URL was.
        self.duplicates = 0
        self.jobs = max(1, jobs)
        self.pool: ProcessPoolExecutor | None = None
        # Items in output order, pages being extracted among them; and, by
        # (URL, payload sha256), the pages in flight that would be given.
        self.queue: deque[Extracted | ExtractFailure | _Pending] = deque()
        self.queued_bytes = 0
        self.in_flight: dict[tuple[str, str], _Pending] = {}
        # Every page sent to a worker and not yet answered, in the order sent.
        self.running: dict[int, _Pending] = {}

    def __iter__(self) -> Iterator[Extracted | ExtractFailure]:
        try:
            for path in self.paths:
                for unit in self.file(path):
                    self._enqueue(unit)
                    yield from self._ready()
            for unit in self.deferred_revisits():
                self._enqueue(unit)
                yield from self._ready()
            yield from self._ready(drain=True)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the worker processes (iterating to the end does it too)."""
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def worker_pids(self) -> list[int]:
        """The worker processes' IDs (none before the first page, or with jobs=1)."""
        processes = getattr(self.pool, "_processes", None) or {}
        return sorted(processes)

    def _start(self, unit: _Pending) -> None:
        """Extract ``unit``'s article: here with jobs=1, else in a worker."""
        if unit.item is not None or unit.future is not None:
            return
        if self.jobs == 1:
            unit.item = self._give(unit.outcome(
                _extract_page(unit.body, unit.url, unit.encoding)))
            unit.body = b""
            return
        self._submit(unit)
        self.queued_bytes += len(unit.body)
        if self.given is not None:
            key = (unit.provenance.target_uri or "", unit.provenance.payload_sha256)
            self.in_flight[key] = unit

    def _enqueue(self, unit: Extracted | ExtractFailure | _Pending) -> None:
        if isinstance(unit, _Pending):
            self._start(unit)
        self.queue.append(unit)

    def _ready(self, drain: bool = False) -> Iterator[Extracted | ExtractFailure]:
        """The items at the head of the queue that are done; with ``drain``, or
        while too much is in flight, waiting for them."""
        while self.queue:
            head = self.queue[0]
            if isinstance(head, _Pending):
                full = (len(self.queue) >= self.jobs * WINDOW_PER_JOB
                        or self.queued_bytes > WINDOW_BYTES)
                if head.item is None and not (drain or full or (
                        head.future is not None and head.future.done())):
                    return
                self._wait(head)
            self.queue.popleft()
            item = head.item if isinstance(head, _Pending) else head
            if item is not None:
                yield item

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.jobs, process_context())
        return self.pool

    def _submit(self, unit: _Pending) -> None:
        self.running[id(unit)] = unit
        try:
            unit.future = self._pool().submit(_extract_page, unit.body, unit.url, unit.encoding)
        except BrokenProcessPool:
            self._recover()
            unit.future = self._pool().submit(_extract_page, unit.body, unit.url, unit.encoding)

    def _wait(self, unit: _Pending) -> None:
        """Finish ``unit``: its item made (and noted as given) from the worker's answer."""
        if unit.item is not None:
            return
        assert unit.future is not None
        try:
            outcome = unit.future.result()
        except BrokenProcessPool:
            self._recover()  # (which finishes every page in flight, this one too)
            return
        self._finish(unit, outcome)

    def _finish(self, unit: _Pending, outcome: _Outcome) -> None:
        unit.item = self._give(unit.outcome(outcome))
        self.queued_bytes -= len(unit.body)
        unit.body, unit.future = b"", None
        self.running.pop(id(unit), None)
        if self.given is not None:
            key = (unit.provenance.target_uri or "", unit.provenance.payload_sha256)
            if self.in_flight.get(key) is unit:
                del self.in_flight[key]

    def _recover(self) -> None:
        """A worker died (killed, or crashed in C code): the pool is broken and
        every page in flight lost. Pages already answered keep their answer;
        the others are extracted again one at a time in a fresh pool, so a
        page that kills its worker again is reported as that record's failure
        and the run carries on."""
        lost = [u for u in self.running.values()
                if not (u.future is not None and u.future.done()
                        and u.future.exception() is None)]
        log.warning("an extraction worker process died; extracting its %d page(s) in "
                    "flight again, one at a time", len(lost))
        self.close()
        for unit in list(self.running.values()):
            if unit not in lost:
                assert unit.future is not None
                self._finish(unit, unit.future.result())
        for unit in lost:
            try:
                outcome = self._pool().submit(
                    _extract_page, unit.body, unit.url, unit.encoding).result()
            except BrokenProcessPool:
                self.close()
                # Not an unreadable record: the page was read and given to
                # a worker twice, and each time the worker was killed.
                outcome = (None, True, "the worker process died extracting this page "
                           "(out of memory, or killed), alone as well; try it with --jobs 1")
            self._finish(unit, outcome)

    def _give(self, item: Extracted | ExtractFailure) -> Extracted | ExtractFailure:
        """``item``, its URL and payload noted as given (only once it is whole)."""
        if self.given is not None and isinstance(item, Extracted):
            self.given.add((item.provenance.target_uri or "", item.provenance.payload_sha256))
        return item

    def _seen(self, uri: str, payload_sha256: str | None) -> bool:
        """Whether this URL's payload was already given (then it counts as a duplicate)."""
        if self.given is None or payload_sha256 is None:
            return False
        pending = self.in_flight.get((uri, payload_sha256))
        if pending is not None:
            # Given only if its extraction succeeds, as when run in one process.
            self._wait(pending)
        if (uri, payload_sha256) in self.given:
            self.duplicates += 1
            return True
        return False

    def name(self, path: Location) -> str:
        """The WARC's root-relative POSIX path, or the path (or URL) as given if outside
        the root."""
        if self.root is not None and isinstance(path, Path):
            try:
                return self.root.relative(path)
            except ArchiverError:
                pass
        return location_name(path)

    def foreign(self, path: Location) -> bool:
        """Whether another tool wrote the file (imported, or outside the archive): its
        chunked payload digests may be over the chunk framing (warcio issues #74, #75)."""
        rel = self.name(path)
        return is_imported(rel) or not rel.startswith("warcs/") or self.root is None

    def file(self, path: Location) -> Iterator[Extracted | ExtractFailure | _Pending]:
        # The page of the last response or revisit, by URL, until its rendered
        # DOM is read: if there is one, it follows the response among the
        # capture's resource records, so any other record ends the wait. It
        # is extracting meanwhile; only if its HTML has no article text is it
        # replaced by the DOM's (and it keeps its place in the output).
        held: dict[str, _Pending] = {}
        try:
            for entry in iter_records(path):
                record = entry.record
                if record.rec_type == "resource":
                    item = self.rendered(path, entry.offset, record, held)
                else:
                    yield from held.values()
                    held.clear()
                    item = self.unit(path, entry.offset, record)
                entry.finish()  # a record found damaged at its end gives no article
                if isinstance(item, _Pending) and item.item is None:
                    self._start(item)
                    held[item.provenance.target_uri or ""] = item
                elif item is not None:
                    yield item
        except WarcError as exc:
            # A page waiting for a DOM that will not come goes before the
            # file's failure if it has article text (it was never held), after
            # it if not, as when the article is known at once.
            for unit in held.values():
                self._wait(unit)
            yield from (u for u in held.values() if not _lacks_text(u))
            yield ExtractFailure(self.name(path), exc.offset, str(exc).split(": ", 1)[-1])
            held = {k: u for k, u in held.items() if _lacks_text(u)}
        yield from held.values()

    def rendered(self, path: Location, offset: int, record: Any,
                 held: dict[str, _Pending]) -> _Pending | ExtractFailure | None:
        """A held page with its article from its rendered DOM record (None if the
        record is not the DOM of a held page without article text, or the DOM's
        text is no longer)."""
        uri = record.rec_headers.get_header("WARC-Target-URI") or ""
        unit = held.get(uri[len(DOM_URN):]) if uri.startswith(DOM_URN) else None
        if unit is None or record.rec_headers.get_header("WARC-Concurrent-To") != \
                unit.provenance.record_id:
            return None
        self._wait(unit)
        page = unit.item
        if not _lacks_text(unit) or not isinstance(page, Extracted):
            return None
        data = record.raw_stream.read(self.max_body + 1)
        if len(data) > self.max_body:
            return ExtractFailure(self.name(path), offset,
                                  f"rendered DOM of {page.provenance.target_uri} is larger "
                                  f"than {self.max_body} bytes")
        declared = sha256_hex(record.rec_headers.get_header("WARC-Block-Digest"))
        if declared != hashlib.sha256(data).hexdigest():
            return ExtractFailure(self.name(path), offset,
                                  "rendered DOM does not match WARC-Block-Digest (damaged "
                                  "record); run archiver verify")
        article = extract_article(data, page.provenance.target_uri, encoding="utf-8")
        if len(article.text) <= len(page.article.text):
            return None
        del held[uri[len(DOM_URN):]]
        record_id = record.rec_headers.get_header("WARC-Record-ID") or ""
        unit.item = Extracted(article, replace(page.provenance,
                                               text_sha256=text_sha256(article.text),
                                               dom_record_id=record_id, dom_offset=offset))
        return unit

    def record(self, path: Location, offset: int, record: Any) -> Extracted | ExtractFailure | None:
        """The article (or failure) of one record, extracted here and now."""
        return _now(self.unit(path, offset, record))

    def resolve(self, rev: _Response, original: str) -> Extracted | ExtractFailure | None:
        """A revisit's article from its original's record, extracted here and now."""
        return _now(self.resolve_unit(rev, original))

    def unit(self, path: Location, offset: int, record: Any) -> ExtractFailure | _Pending | None:
        """One record's page to extract (or why not); None if it holds no HTML page."""
        kind = record.rec_type
        if kind not in {"response", "revisit"}:
            return None
        try:
            resp = _identify(path, offset, record)
            if not _is_html_ok(resp):
                return None  # (a revisit carries its original's headers: same test)
            if kind == "response":
                # Only HTML originals are remembered for revisits: memory grows
                # with the pages, not with every image and script archived.
                self.responses[resp.record_id] = (path, offset)
                if resp.payload_digest is not None:
                    self.by_payload.setdefault((resp.target_uri, resp.payload_digest),
                                               resp.record_id)
                return self.response(resp, record)
            return self.revisit(resp)
        except ExtractError as exc:
            return ExtractFailure(self.name(path), offset, str(exc))
        except Exception as exc:  # warcio/zlib raise many types on damaged records
            return ExtractFailure(self.name(path), offset, f"unreadable record: {exc}")

    def response(self, resp: _Response, record: Any, uri: str | None = None) -> _Pending | None:
        """The article of a response record, to extract; ``uri`` is the URL it is
        given for (a revisit's, when resolving one), by default the record's own."""
        chunked = chunked_coding(resp.headers.get_header("Transfer-Encoding"))
        payload = read_payload(record.raw_stream, chunked=chunked, max_bytes=self.max_body,
                               source=resp.target_uri)
        if resp.declared_digest and resp.declared_digest != payload.sha256 and not (
                self.foreign(resp.path) and resp.declared_digest == payload.raw_sha256):
            raise ExtractError(resp.target_uri, "payload does not match WARC-Payload-Digest "
                               "(damaged record); run archiver verify")
        if self._seen(uri or resp.target_uri, payload.sha256):
            return None
        coding = resp.headers.get_header("Content-Encoding")
        body = decode_content(payload.data, coding, max_bytes=self.max_body,
                              source=resp.target_uri)
        if not resp.content_type.strip() and not _sniffs_as_html(body):
            return None
        prov = Provenance(
            payload.sha256, "", warc_file=self.name(resp.path),
            record_id=resp.record_id, offset=resp.offset, target_uri=resp.target_uri,
            capture_date=resp.date, truncated=resp.truncated,
        )
        return _Pending(body, resp.target_uri, _charset(resp.content_type), prov,
                        self.name(resp.path), resp.offset, None)

    def revisit(self, rev: _Response) -> ExtractFailure | _Pending | None:
        if self._seen(rev.target_uri, rev.declared_digest):
            return None  # (not even read: its original's article was given for this URL)
        original = self.original_of(rev)
        if original is None:
            self.pending.append(rev)
            return None
        return self.resolve_unit(rev, original)

    def original_of(self, rev: _Response) -> str | None:
        """The record ID of a revisit's original, if read: the one its
        ``WARC-Refers-To`` names or, without one (WARC/1.0 revisits, other
        tools), the response for its ``WARC-Refers-To-Target-URI`` (else its
        own target) with the same payload digest, whatever the algorithm."""
        if rev.refers_to:
            return rev.refers_to if rev.refers_to in self.responses else None
        if rev.payload_digest is None:
            return None
        return self.by_payload.get((rev.refers_to_uri or rev.target_uri, rev.payload_digest))

    def resolve_unit(self, rev: _Response, original: str) -> ExtractFailure | _Pending | None:
        path, offset = self.responses[original]
        try:
            with open_read(path) as fh:
                fh.seek(offset)
                reader = RecordReader(fh)
                record = next(iter(reader))
                resp = _identify(path, offset, record)
                if not _is_html_ok(resp):
                    return None
                found = self.response(resp, record, rev.target_uri)
                reader.read_to_end()  # the same verdict on damage as when it was first read
                if found is None:
                    return None
        except ExtractError as exc:
            return ExtractFailure(self.name(rev.path), rev.offset, f"revisit of {original}: {exc}")
        except Exception as exc:  # damaged original: report against the revisit
            return ExtractFailure(self.name(rev.path), rev.offset,
                           f"cannot read original {original}: {exc}")
        found.provenance = replace(
            found.provenance, warc_file=self.name(rev.path), record_id=rev.record_id,
            offset=rev.offset, target_uri=rev.target_uri, capture_date=rev.date,
            refers_to=original, original_warc_file=self.name(path), original_offset=offset,
        )
        found.warc_file, found.offset, found.original = self.name(rev.path), rev.offset, original
        return found

    def deferred_revisits(self) -> Iterator[ExtractFailure | _Pending]:
        """Revisits met before their original (it was in a later file)."""
        for rev in self.pending:
            original = self.original_of(rev)
            if self._seen(rev.target_uri, rev.declared_digest):
                continue
            if original is not None:
                item = self.resolve_unit(rev, original)
                if item is not None:
                    yield item
            else:
                yield ExtractFailure(self.name(rev.path), rev.offset,
                                     f"revisit of {rev.refers_to or rev.target_uri}: "
                                     "original record not in these WARCs")


def _identify(path: Location, offset: int, record: Any) -> _Response:
    h = record.rec_headers
    http = record.http_headers
    if http is None:
        why = getattr(record, "http_problem", None) or "record holds no HTTP message"
        raise ExtractError(h.get_header("WARC-Target-URI"), why)
    return _Response(
        path=path, offset=offset,
        record_id=h.get_header("WARC-Record-ID") or "",
        target_uri=h.get_header("WARC-Target-URI") or "",
        date=h.get_header("WARC-Date") or "",
        status=str(http.get_statuscode() or ""),
        content_type=http.get_header("Content-Type") or "",
        headers=http,
        declared_digest=sha256_hex(h.get_header("WARC-Payload-Digest")),
        truncated=h.get_header("WARC-Truncated"),
        refers_to=h.get_header("WARC-Refers-To") or "",
        refers_to_uri=h.get_header("WARC-Refers-To-Target-URI") or "",
        payload_digest=parse_digest(h.get_header("WARC-Payload-Digest")),
    )


def _is_html_ok(resp: _Response) -> bool:
    """Status 200 and HTML, or no Content-Type at all (then the body is sniffed)."""
    media = resp.content_type.split(";", 1)[0].strip().lower()
    return resp.status == "200" and (media in HTML_TYPES or not media)


_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
    re.IGNORECASE | re.DOTALL)


def _sniffs_as_html(body: bytes) -> bool:
    """Whether a body served without a Content-Type starts like an HTML page (as browsers sniff)."""
    return _HTML_START.match(body[:1024]) is not None


def _charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None
