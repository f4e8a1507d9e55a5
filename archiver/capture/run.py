"""Capturing URLs into the archive: the capture run.

:func:`capture_urls` takes the archive's writer lock, closes any ``.open``
WARC a crashed run left (:func:`archiver.warc.record.recover_open_files`), fetches
the URLs (one at a time per host, with the politeness delay, up to
``concurrency`` hosts at once), and for each URL writes into the WARC:

* a ``request`` and a ``response`` record per hop (redirects included), the
  response exactly as received, or a ``revisit`` when the payload is already
  in the archive (identical-payload-digest profile);
* one ``metadata`` record with the outcome (:mod:`archiver.capture.outcome`).

With ``page_requisites`` (``-p``) the worker that fetched a page then
fetches what the page needs to render (:mod:`archiver.capture.requisites`),
each one a capture like a page (same records, retries, politeness, size cap
and host-failure rule), on the page's behalf for the address policy, once
per run, its catalog row linked to the page.

Records are fsynced before the catalog row is inserted. A failing URL is
recorded and the run goes on; the report counts what failed. At the end the
closed WARCs are handed to the fixity manifests.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from ..errors import (
    ArchiverError,
    CaptureError,
    FailureReason,
    FetchError,
    InvalidURLError,
    ManifestError,
    WarcError,
)
from ..fixity.manifest import iter_manifest, record_ingest
from ..hashing import EMPTY_SHA256, sha256_label
from ..root import ArchiveRoot
from ..warc.cdxj import CdxjJournal, add_warcs_to_cdxj
from ..warc.handoff import pending_closed
from ..warc.record import (
    DOM_URN,
    REVISIT_PROFILE,
    SCREENSHOT_URN,
    OpenRecord,
    WrittenRecord,
    build_record,
    new_record_id,
    recover_open_files,
    warc_date,
)
from ..warc.writer import EncodedCapture, WarcWriter
from .catalog import Capture, Catalog, Outcome, PayloadRef
from .fetcher import (
    REDIRECT_STATUSES,
    UNREACHABLE_REASONS,
    Credentials,
    Fetcher,
    FetchResult,
    Hop,
    HostGate,
    split_credentials,
    validate_url,
    wire_url,
    without_userinfo,
)
from .outcome import outcome_record
from .reindex import index_warcs, open_catalog
from .requisites import (
    Kind,
    Requisite,
    hop_text,
    requisites_of_page,
    requisites_of_stylesheet,
)
from .settings import CaptureSettings

if TYPE_CHECKING:
    from .browser import Browser, Rendered

__all__ = ["CaptureReport", "capture_urls"]

log = logging.getLogger(__name__)

DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})



@dataclass
class CaptureReport:
    """What a capture run did: counts, bytes, time, and the files it closed.

    ``captured``, ``revisits`` and ``failed`` count pages (the URLs given);
    ``requisites`` counts the requisites of pages by outcome. A failed
    requisite does not make the run fail.
    """

    captured: int = 0
    revisits: int = 0
    failed: int = 0
    requisites: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    bytes: int = 0
    seconds: float = 0.0
    captures: list[Capture] = field(default_factory=list)
    closed_warcs: list[Path] = field(default_factory=list)
    recovered_warcs: list[Path] = field(default_factory=list)

    @property
    def failures(self) -> list[Capture]:
        """The pages that failed."""
        return [c for c in self.captures if c.outcome == Outcome.FAILED and c.page_id is None]

    @property
    def requisite_failures(self) -> list[Capture]:
        return [c for c in self.captures if c.outcome == Outcome.FAILED and c.page_id]

    def add(self, capture: Capture) -> None:
        self.captures.append(capture)
        self.bytes += capture.payload_size or 0
        if capture.page_id is not None:
            self.requisites[capture.outcome] += 1
        elif capture.outcome == Outcome.FAILED:
            self.failed += 1
        elif capture.outcome == Outcome.REVISIT:
            self.revisits += 1
        else:
            self.captured += 1


OnResult = Callable[[Capture], None]
#: Finds the requisites in a response (head, decoded body, URL).
_Parse = Callable[[bytes, bytes, str], list[Requisite]]


def capture_urls(
    root: ArchiveRoot,
    urls: Iterable[str],
    settings: CaptureSettings | None = None,
    *,
    on_result: OnResult | None = None,
    wait_for_lock: bool = True,
) -> CaptureReport:
    """Capture ``urls`` into ``root``; never raises for a bad URL, only for set-up.

    ``on_result`` is called once per URL (from worker threads) as it finishes.
    Raises :class:`archiver.errors.LockError` if another run holds the archive
    and ``wait_for_lock`` is false.
    """
    settings = settings or CaptureSettings()
    if settings.browser:
        from .browser import require_browser

        require_browser()  # what to install, before the archive is touched
    report = CaptureReport()
    t0 = time.monotonic()
    root.ensure()
    with root.writer_lock(wait=wait_for_lock):
        catalog = open_catalog(root)  # (a missing one is rebuilt: dedup sees every WARC)
        try:
            report.recovered_warcs = _recover(root, catalog)
            journal = CdxjJournal(root)
            if report.recovered_warcs:
                for error in add_warcs_to_cdxj(root, report.recovered_warcs):
                    log.warning("%s", error)
            run = _CaptureRun(root, settings, catalog, report, on_result, journal)
            try:
                run.capture_all(list(urls))
            finally:
                report.closed_warcs = run.close()
                journal.close()  # the run's index lines, merged into the sorted index
                # The hand-over to fixity: closed files and what was hashed
                # while writing them, so they are not read again.
                record_ingest(root, report.closed_warcs, scans=run.writer.scans)
        finally:
            catalog.close()
    report.seconds = time.monotonic() - t0
    return report


def _recover(root: ArchiveRoot, catalog: Catalog) -> list[Path]:
    """Finish what a crashed run left: close its ``.open`` files, and list in the
    manifests every closed WARC it never handed over, before capturing anything.

    The closed ones are found in the pending handoff list (noted before each
    rename) and, for files closed by versions that kept no such list, in the
    catalog. All of them are indexed into the catalog again (idempotent: a
    crash between a sync and the catalog rows loses no row).
    """
    reopened = recover_open_files(root)
    candidates = set(reopened)
    for rel in [*pending_closed(root), *_not_in_manifest(root, catalog.warc_files())]:
        try:
            path = root.absolute(rel)
        except ArchiverError:
            continue  # not a path inside the root: nothing of ours
        if path.is_file() and not path.is_symlink():
            candidates.add(path)
    added = record_ingest(root, sorted(candidates))
    orphans = [root.absolute(rel) for rel in added if root.absolute(rel) not in reopened]
    for path in orphans:
        log.warning("%s: closed by an interrupted run but never listed in the manifest; "
                    "listed now", root.relative(path))
    recovered = sorted({*reopened, *orphans})
    if recovered:
        for error in index_warcs(root, catalog, recovered)[1]:
            log.warning("%s", error)
    return recovered


def _not_in_manifest(root: ArchiveRoot, paths: list[str]) -> Iterator[str]:
    """Those of ``paths`` (sorted bytewise, as SQLite's ORDER BY gives them) the
    manifest does not list: one merge pass, so a run over an archive of many
    files does not stat each of them at its start."""
    try:
        listed = iter_manifest(root.manifest_path)
        current = next(listed, None)
        for path in paths:
            while current is not None and current.path < path:
                current = next(listed, None)
            if current is None or current.path != path:
                yield path
    except (FileNotFoundError, ManifestError):
        yield from paths  # (record_ingest says what is wrong with the manifest)


@dataclass(frozen=True)
class _Page:
    """A captured page whose requisites are being fetched."""

    url: str
    metadata_id: str  # its capture's metadata record: the requisites' link to it
    address: str | None  # the address it was fetched from (for the address policy)
    credentials: Credentials | None
    requisites: tuple[Requisite, ...]


@dataclass(frozen=True)
class _Context:
    """What a capture's metadata record says beyond the fetch itself."""

    metadata_id: str = field(default_factory=new_record_id)
    page: _Page | None = None  # set on a requisite: the page it is for
    requisites: tuple[Requisite, ...] = ()  # the requisites it names (a page, a stylesheet)
    requisites_left_out: int = 0  # and those past ``requisites_max``
    #: ``resource`` records written after the final response, each naming it
    #: (``--browser``: the screenshot and the DOM): (target URI, type, bytes).
    resources: tuple[tuple[str, str, bytes], ...] = ()
    more: tuple[tuple[str, str], ...] = ()  # further fields (the browser's)

    def fields(self) -> list[tuple[str, str]]:
        out = [("page-url", self.page.url)] if self.page else []
        out += [("requisite", f"{r.kind} {r.url}") for r in self.requisites]
        if self.requisites_left_out:
            out.append(("requisites-left-out", str(self.requisites_left_out)))
        return out + list(self.more)


@dataclass
class _Job:
    """A fetched capture, its records encoded, waiting for the committer."""

    result: FetchResult
    context: _Context
    capture: Capture
    records: list[OpenRecord]
    encoded: EncodedCapture | None
    final_at: int | None  # where the final response is in ``records``, if there is one
    payloads: list[tuple[str, PayloadRef]]
    refers_to: frozenset[str]  # the records its revisits point at


class _CaptureRun:
    """One capture run: fetch workers feed a single committer thread.

    Workers fetch and build the records; the committer compresses them
    (workers do it themselves when it falls behind), appends what is ready,
    fsyncs once for the whole batch (group commit), and only then records
    each capture in the catalog and reports it: nothing is reported that is
    not durable, and the fetch of the next page overlaps the fsync.
    """

    def __init__(
        self,
        root: ArchiveRoot,
        settings: CaptureSettings,
        catalog: Catalog,
        report: CaptureReport,
        on_result: OnResult | None,
        journal: CdxjJournal,
    ) -> None:
        self.root = root
        self.journal = journal
        self.settings = settings
        self.catalog = catalog
        self.report = report
        self.on_result = on_result
        self.fetcher = Fetcher(settings)
        self.writer = WarcWriter(
            root,
            warc_size=settings.warc_size,
            gzip_level=settings.gzip_level,
            operator=settings.operator,
            user_agent=settings.user_agent,
        )
        self.queue: queue.Queue[_Job | None] = queue.Queue(maxsize=2 * settings.concurrency + 2)
        self._pending: dict[str, PayloadRef] = {}  # payloads queued but not yet catalogued
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._lost: set[str] = set()  # responses whose write failed (committer thread only)
        # Per host, its last URLs that could not connect, in a row (pages and
        # requisites alike: a requisite may be on any host).
        self._down: dict[str, list[FetchError]] = {}
        self._requisites_claimed: set[str] = set()  # each requisite is fetched once a run

    def close(self) -> list[Path]:
        self.fetcher.close()
        return self.writer.close()

    def capture_all(self, urls: list[str]) -> None:
        by_host: dict[str, list[tuple[str, Credentials | None]]] = {}
        given: list[tuple[str, Credentials | None]] = []
        for raw in urls:
            try:
                url, credentials = split_credentials(validate_url(raw))
            except InvalidURLError as exc:
                self._finish(_failed(without_userinfo(raw.strip()), exc))
                continue
            host = (urlsplit(url).hostname or "").lower()
            by_host.setdefault(host, []).append((url, credentials))
            given.append((url, credentials))
        if not by_host:
            return
        committer = threading.Thread(target=self._commit_loop, name="capture-commit")
        committer.start()
        try:
            if self.settings.browser:
                # One browser, one page at a time, in this thread (Playwright's
                # sync API is bound to the thread that started it).
                self._browser_worker(given)
                return
            workers = min(self.settings.concurrency, len(by_host))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="capture") as pool:
                futures = [pool.submit(self._host_worker, u) for u in by_host.values()]
                try:
                    for done in futures:
                        done.result()
                except BaseException:
                    # Ctrl-C or worse: workers stop after their current page, so
                    # the pool's exit does not wait for every remaining URL.
                    self._stopping.set()
                    raise
        finally:
            self.queue.put(None)
            committer.join()

    # -- workers -------------------------------------------------------------

    def _host_worker(self, urls: list[tuple[str, Credentials | None]]) -> None:
        for url, credentials in urls:
            if self._stopping.is_set():
                return
            try:
                page = self._capture_page(url, credentials)
            except Exception as exc:  # one bad URL must never stop the batch
                self._internal_error(url, exc)
                continue
            if page is not None:
                self._capture_requisites(page)

    def _internal_error(self, url: str, exc: Exception, page: _Page | None = None) -> None:
        log.exception("%s: unexpected error", url)
        err = CaptureError(url, f"internal error: {type(exc).__name__}: {exc}")
        capture = _failed(url, err)
        self._finish(replace(capture, page_id=page.metadata_id) if page else capture)

    def _fetch(self, url: str, credentials: Credentials | None,
               page: _Page | None = None) -> FetchResult:
        """Fetch ``url`` (on ``page``'s behalf, for a requisite), unless its host's
        last ``host_failures`` URLs in a row could not connect: then fail it at once."""
        host = (urlsplit(url).hostname or "").lower()
        limit = self.settings.host_failures
        with self._lock:
            down = list(self._down.get(host, ()))
        if limit and len(down) >= limit:
            return FetchResult(url=url, started=datetime.now(UTC), error=_host_down(url, down))
        result = self.fetcher.fetch(url, credentials,
                                    requisite_of=page.address if page else None)
        error = result.error
        with self._lock:
            if error is not None and error.reason in UNREACHABLE_REASONS:
                self._down.setdefault(host, []).append(error)
            else:
                self._down.pop(host, None)
        return result

    def _capture_page(self, url: str, credentials: Credentials | None) -> _Page | None:
        """Capture one page; returns it if its requisites are to be captured next."""
        result = self._fetch(url, credentials)
        found = self._requisites_in(result, requisites_of_page) \
            if self.settings.page_requisites else []
        limit = self.settings.requisites_max
        context = _Context(requisites=tuple(found[:limit]),
                           requisites_left_out=max(0, len(found) - limit))
        final = result.final
        self._record_result(result, context)
        if not context.requisites or final is None:
            return None
        return _Page(result.url, context.metadata_id, final.exchange.peer_ip, credentials,
                     context.requisites)

    def _requisites_in(self, result: FetchResult, parse: _Parse) -> list[Requisite]:
        """The requisites named by a fetched page (or stylesheet), read before its
        records are queued (the committer closes its body once written)."""
        final = result.final
        if result.error is not None or final is None or not 200 <= final.status < 300:
            return []
        try:
            body = hop_text(final)
            if body is None:
                log.info("%s: not parsed for requisites (unreadable body, or too large)",
                         final.url)
                return []
            return parse(final.exchange.response_head, body, final.url)
        except Exception as exc:  # a parser failure loses requisites, never the capture
            log.warning("%s: not parsed for requisites: %s: %s", final.url,
                        type(exc).__name__, exc)
            return []

    def _capture_requisites(self, page: _Page) -> None:
        """Capture ``page``'s requisites, each once a run, up to ``requisites_max`` with
        those its stylesheets name (one level: what a stylesheet names is fetched,
        not parsed in turn)."""
        todo = deque((r, True) for r in page.requisites)
        named = {r.url for r in page.requisites}
        room = self.settings.requisites_max - len(todo)
        while todo and not self._stopping.is_set():
            requisite, from_page = todo.popleft()
            with self._lock:
                if requisite.url in self._requisites_claimed:
                    continue  # captured for an earlier page of this run
                self._requisites_claimed.add(requisite.url)
            try:
                result = self._fetch(requisite.url, page.credentials, page)
                found = (self._requisites_in(result, requisites_of_stylesheet)
                         if from_page and requisite.kind == Kind.STYLESHEET else [])
                new = [r for r in found if r.url not in named]
                kept = new[:max(room, 0)]
                room -= len(kept)
                named.update(r.url for r in kept)
                todo.extend((r, False) for r in kept)
                self._record_result(result, _Context(page=page, requisites=tuple(kept),
                                                     requisites_left_out=len(new) - len(kept)))
            except Exception as exc:  # one bad requisite must never stop the batch
                self._internal_error(requisite.url, exc, page)

    def _record_result(self, result: FetchResult, context: _Context) -> None:
        """Queue the records of a fetch (a URL not tried still gets a metadata
        record, so a reindex knows it failed)."""
        try:
            job = self._prepare(result, context)
        except BaseException:
            result.close()
            raise
        self.queue.put(job)  # the committer closes the result

    def _prepare(self, result: FetchResult, context: _Context) -> _Job:
        records: list[OpenRecord] = []
        payloads: list[tuple[str, PayloadRef]] = []
        final_kind: str | None = None
        for hop in result.hops:
            # The request is written first, so the response names it (a
            # reference back: validators read a WARC front to back).
            request = _request_record(hop)
            response, kind, ref = self._response_record(hop, request.record_id)
            records += [request, response]
            final_kind = kind
            if ref is not None:
                payloads.append((hop.payload_sha256.hex(), ref))
        capture = _describe(result, final_kind)
        if context.page is not None:
            capture = replace(capture, page_id=context.page.metadata_id)
        final_at = len(records) - 1 if records else None
        final_id = records[-1].record_id if records else None
        if final_id is not None and result.final is not None:
            date = warc_date(result.final.date)
            for uri, content_type, data in context.resources:
                records.append(build_record(
                    uri, "resource", date=date, block_digest=hashlib.sha256(data).digest(),
                    payload=BytesIO(data), length=len(data), content_type=content_type,
                    headers=[("WARC-Concurrent-To", final_id)]))
        records.append(outcome_record(result, capture, final_id,
                                      record_id=context.metadata_id, extra=context.fields()))
        # Compression goes to whichever thread is idle: the committer, unless
        # it is already behind (several hosts at once), then this worker.
        backlog = self.queue.qsize() >= self.queue.maxsize // 2
        encoded = self.writer.encode(records) if backlog else None
        refers = frozenset(r.record.rec_headers.get_header("WARC-Refers-To") for r in records
                           if r.record.rec_type == "revisit")
        return _Job(result, context, capture, records, encoded, final_at, payloads, refers)

    def _original(self, sha: str) -> PayloadRef | None:
        with self._lock:
            ref = self._pending.get(sha)
        return ref or self.catalog.payload(sha)

    def _response_record(self, hop: Hop, request_id: str
                         ) -> tuple[OpenRecord, str, PayloadRef | None]:
        """The response (or revisit) record for a hop, and the payload it newly stores."""
        ex = hop.exchange
        date = warc_date(hop.date)
        base = [("WARC-IP-Address", ex.peer_ip)] if ex.peer_ip else []
        base.append(("WARC-Concurrent-To", request_id))
        digest_label = sha256_label(hop.payload_sha256)
        dedupable = self.settings.dedup and hop.payload_size > 0 and hop.truncated is None
        original = self._original(hop.payload_sha256.hex()) if dedupable else None
        if original is not None:
            rec = build_record(
                hop.url, "revisit", date=date,
                block_digest=hashlib.sha256(ex.response_head).digest(),
                http_head=ex.response_head, payload_digest=digest_label,
                headers=[*base, ("WARC-Profile", REVISIT_PROFILE),
                         ("WARC-Refers-To", original.record_id),
                         ("WARC-Refers-To-Target-URI", original.target_uri),
                         ("WARC-Refers-To-Date", original.date)],
            )
            return rec, "revisit", None
        if hop.truncated:
            base.append(("WARC-Truncated", hop.truncated))
        rec = build_record(  # (the writer rewinds the body spool when it encodes)
            hop.url, "response", date=date, block_digest=hop.block_sha256,
            payload=ex.body, length=ex.body_size, http_head=ex.response_head,
            payload_digest=digest_label, headers=base,
        )
        if not dedupable:
            return rec, "response", None
        ref = PayloadRef(rec.record_id, hop.url, date)
        with self._lock:
            self._pending.setdefault(hop.payload_sha256.hex(), ref)
        return rec, "response", ref

    # -- the browser ---------------------------------------------------------

    def _browser_worker(self, urls: list[tuple[str, Credentials | None]]) -> None:
        from .authority import CertificateAuthority
        from .browser import Browser
        from .proxy import RecordingProxy

        authority = CertificateAuthority(self.root.manifests)
        pages = _BrowserPages(self)
        # The requests a page makes in the browser are not spaced by the
        # politeness delay (a reader's browser does not wait between a page's
        # images); the pages themselves are, through self.fetcher's gate.
        fetcher = Fetcher(self.settings, HostGate(0.0))
        proxy = RecordingProxy(fetcher, pages, authority).start()
        try:
            browser = Browser(proxy.address, authority.spki_hash(), self.settings.page_timeout)
            try:
                for url, _credentials in urls:
                    if self._stopping.is_set():
                        return
                    try:
                        self._capture_in_browser(url, browser, pages)
                    except Exception as exc:  # one bad URL must never stop the batch
                        self._internal_error(url, exc)
            finally:
                browser.close()
        finally:
            proxy.close()
            fetcher.close()

    def _capture_in_browser(self, url: str, browser: Browser, pages: _BrowserPages) -> None:
        """Load one page in the browser; its requests are recorded as they happen
        (the page's own hops held back until the screenshot and DOM are taken)."""
        from .browser import BrowserFailed

        self.fetcher.gate.wait((urlsplit(url).hostname or "").lower())
        page = pages.begin(url)
        rendered: Rendered | None = None
        failure: BrowserFailed | None = None
        try:
            rendered = browser.render(url)
        except BrowserFailed as exc:
            failure = exc
        result = pages.end(page)
        final = result.final
        if failure is not None and (result.error is None or final is None):
            result.error = FetchError(url, FailureReason.BROWSER, str(failure))
        elif final is None and result.error is None:
            result.error = FetchError(url, FailureReason.BROWSER,
                                      "the browser never requested the page")
        more = [("browser", f"chromium {browser.version}"), *_tls_fields(result)]
        resources: tuple[tuple[str, str, bytes], ...] = ()
        if rendered is not None and final is not None:
            shot, dom = SCREENSHOT_URN + final.url, DOM_URN + final.url
            resources = ((shot, "image/png", rendered.screenshot),
                         (dom, "text/html; charset=utf-8", rendered.dom))
            more += [("page-title", " ".join(rendered.title.split())),
                     ("rendered-url", rendered.url),
                     ("network-idle", "yes" if rendered.network_idle else "no"),
                     ("screenshot", shot), ("dom", dom)]
            more += [("outlink", link) for link in rendered.outlinks]
        self._record_result(result, _Context(metadata_id=page.metadata_id,
                                             resources=resources, more=tuple(more)))

    # -- the committer -------------------------------------------------------

    def _commit_loop(self) -> None:
        done = False
        while not done:
            batch: list[_Job] = []
            job = self.queue.get()
            while job is not None:
                batch.append(job)
                try:
                    job = self.queue.get_nowait()
                except queue.Empty:
                    break
            done = job is None
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[_Job]) -> None:
        appended: list[tuple[_Job, list[WrittenRecord]]] = []
        for job in batch:
            if job.refers_to & self._lost:
                job = self._rebuild(job)
            try:
                encoded = job.encoded or self.writer.encode(job.records)
                appended.append((job, self.writer.append(encoded)))
            except WarcError as exc:
                self._not_written(job, exc)
        try:
            self.writer.sync()
        except WarcError as exc:
            for job, _ in appended:
                self._not_written(job, exc)
            return
        for job, written in appended:
            by_id = {rec.record_id: rec.record for rec in job.records}
            for where in written:
                if where.record_id in by_id:
                    self.journal.add(by_id[where.record_id], where.warc, where.offset,
                                     where.length)
            try:
                final = written[job.final_at] if job.final_at is not None else None
                capture = _locate(job.capture, final, written[-1])
                self._finish(capture, job.payloads)
            finally:
                job.result.close()

    def _rebuild(self, job: _Job) -> _Job:
        """Build a job's records again: a revisit in it points at a response that was
        never written (its write failed), so it must carry its payload itself."""
        if job.encoded is not None:
            job.encoded.close()
        return self._prepare(job.result, job.context)

    def _not_written(self, job: _Job, exc: WarcError) -> None:
        self._lost.update(ref.record_id for _, ref in job.payloads)
        with self._lock:
            for sha, ref in job.payloads:
                if self._pending.get(sha) == ref:
                    del self._pending[sha]
        try:
            failed = _write_failed(job.result, exc)
            self._finish(replace(failed, page_id=job.capture.page_id))
        finally:
            job.result.close()

    def _finish(self, capture: Capture, payloads: Sequence[tuple[str, PayloadRef]] = ()) -> None:
        try:
            self.catalog.add(capture, payloads)
        except ArchiverError as exc:
            log.error("%s", exc)
        with self._lock:
            self.report.add(capture)
        if capture.outcome == Outcome.FAILED:
            # INFO, not WARNING: failures are in the report (the CLI prints
            # one line for each); a warning would say each one twice.
            log.info("%s", capture.error)
        else:
            log.info("%s: %s -> %s@%s", capture.url, capture.outcome, capture.warc,
                     capture.offset)
        if self.on_result is not None:
            self.on_result(capture)


class _BrowserPage:
    """The page the browser is loading: its own hops (a redirect chain as the
    browser follows it) gathered into one result, held until it is rendered."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.metadata_id = new_record_id()
        self.result = FetchResult(url=url, started=datetime.now(UTC))
        self.expect = {wire_url(url)}  # the URLs that are still the page itself
        self.address: str | None = None  # where the page came from (address policy)
        self.via: str | None = None  # where the last redirect came from
        self.link = _Page(url, self.metadata_id, None, None, ())


class _BrowserPages:
    """The proxy's client during a browser run: the browser's requests for the page
    are gathered for it, every other request is recorded as its requisite."""

    def __init__(self, run: _CaptureRun) -> None:
        self.run = run
        self.page: _BrowserPage | None = None
        self._lock = threading.Lock()

    def begin(self, url: str) -> _BrowserPage:
        with self._lock:
            self.page = _BrowserPage(url)
            return self.page

    def end(self, page: _BrowserPage) -> FetchResult:
        with self._lock:
            page.expect.clear()  # later requests for its URL are the page's requisites
            page.result.elapsed = (datetime.now(UTC) - page.result.started).total_seconds()
            return page.result

    def _is_page(self, page: _BrowserPage | None, url: str) -> bool:
        return page is not None and wire_url(url) in page.expect

    def referrer_for(self, url: str) -> str | None:
        with self._lock:
            page = self.page
            if page is None:
                return None
            return page.via if self._is_page(page, url) else page.address

    def record(self, result: FetchResult) -> None:
        with self._lock:
            page = self.page
            if page is not None and self._is_page(page, result.url):
                self._absorb(page, result)
                return
            link = replace(page.link, address=page.address) if page else None
        self.run._record_result(result, _Context(page=link, more=tuple(_tls_fields(result))))

    @staticmethod
    def _absorb(page: _BrowserPage, result: FetchResult) -> None:
        final = result.final
        page.result.hops += result.hops
        result.hops = []  # (now the page's: closed with it)
        page.result.error = result.error
        page.expect.discard(wire_url(result.url))
        if final is None:
            return
        page.address = final.exchange.peer_ip
        if final.status in REDIRECT_STATUSES and final.location:
            page.via = final.exchange.peer_ip
            page.expect.add(wire_url(urljoin(final.url, without_userinfo(final.location))))


def _tls_fields(result: FetchResult) -> list[tuple[str, str]]:
    """The origin's verified certificate chain (base64 DER, leaf first) of the final hop."""
    final = result.final
    certs = final.exchange.peer_certs if final is not None else []
    return [("tls-certificate", base64.b64encode(der).decode("ascii")) for der in certs]


def _write_failed(result: FetchResult, exc: WarcError) -> Capture:
    cause = exc.__cause__
    full = isinstance(cause, OSError) and cause.errno in DISK_FULL
    reason = FailureReason.DISK_FULL if full else FailureReason.IO
    hint = "; free space and retry it" if full else ""
    err = FetchError(result.url, reason, f"not archived: {exc}{hint}")
    return _failed(result.url, err, started=result.started)


def _request_record(hop: Hop) -> OpenRecord:
    raw = bytes(hop.exchange.request)
    head, sep, body = raw.partition(b"\r\n\r\n")
    headers = [("WARC-IP-Address", hop.exchange.peer_ip)] if hop.exchange.peer_ip else []
    return build_record(
        hop.url, "request", date=warc_date(hop.date),
        block_digest=hashlib.sha256(raw).digest(),
        payload=BytesIO(body), length=len(body), http_head=head + sep,
        payload_digest=sha256_label(hashlib.sha256(body).digest() if body else EMPTY_SHA256),
        headers=headers,
    )


def _describe(result: FetchResult, final_kind: str | None) -> Capture:
    final = result.final
    err = result.error
    outcome = Outcome.FAILED if err else (
        Outcome.REVISIT if final_kind == "revisit" else Outcome.CAPTURED)
    return Capture(
        url=result.url,
        captured_at=warc_date(result.started),
        outcome=outcome,
        final_url=final.url if final else None,
        status=final.status if final else None,
        reason=err.reason if err else None,
        error=str(err) if err else None,
        truncated=final.truncated if final else None,
        record_type=final_kind,
        payload_sha256=final.payload_sha256.hex() if final else None,
        payload_size=final.payload_size if final else None,
    )


def _locate(capture: Capture, final: WrittenRecord | None, meta: WrittenRecord) -> Capture:
    if final is None:
        return replace(capture, metadata_id=meta.record_id)
    return replace(
        capture, warc=final.warc, offset=final.offset, length=final.length,
        record_id=final.record_id, metadata_id=meta.record_id,
    )


def _host_down(url: str, failures: Sequence[FetchError]) -> FetchError:
    host = urlsplit(url).hostname or url
    n = len(failures)
    before = "the URL" if n == 1 else f"the {n} URLs"
    return FetchError(
        url, FailureReason.HOST_DOWN,
        f"not tried: {before} before it on {host} could not connect "
        f"({failures[-1].message}); try again later",
    )


def _failed(url: str, exc: ArchiverError, started: datetime | None = None) -> Capture:
    reason = exc.reason if isinstance(exc, FetchError) else FailureReason.INVALID
    return Capture(
        url=url,
        captured_at=warc_date(started or datetime.now(UTC)),
        outcome=Outcome.FAILED,
        reason=reason,
        error=str(exc),
    )
