"""The command line: a thin layer over the library.

Each command parses its options, builds settings, calls one library function,
renders the result and picks the exit code. Results go to stdout, logs and
progress to stderr. Exit codes: 0 all good, 1 some item failed or a problem
was found, 2 usage or set-up error.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn, TextIO

import click

from .capture.catalog import Capture, Outcome, Source
from .capture.settings import CaptureSettings
from .errors import ArchiverError, ArchiveRootError, FailureReason, LockError
from .root import ArchiveRoot
from .sizes import format_size
from .version import __version__
from .warc.location import Location, parse_location

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class Context:
    """What every command gets: the archive root and the verbosity."""

    def __init__(self, root: Path | None, quiet: bool, verbose: int) -> None:
        self.root_arg = root
        self.quiet = quiet
        self.verbose = verbose

    @property
    def root(self) -> ArchiveRoot:
        return ArchiveRoot.resolve(self.root_arg)


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="archiver")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ARCHIVER_ROOT",
    help="Archive root holding warcs/ and manifests/ (default: $ARCHIVER_ROOT, else the cwd).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, root: Path | None, quiet: bool, verbose: int) -> None:
    """Capture web pages into WARC/1.1, extract articles, and verify fixity."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PrintableFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    # warcio logs what it corrects in other tools' WARCs (a space in a URI)
    # each time a record is read: shown with -v, not on every command.
    logging.getLogger("warcio").setLevel(logging.WARNING if verbose else logging.ERROR)
    ctx.obj = Context(root, quiet, verbose)


# Control characters (but tab and newline), DEL, C1 controls and the bidi
# overrides: a status line, URL, header or WARC field holding them could
# rewrite the terminal (ESC ] 0 ; sets its title, CSI moves the cursor) or
# reorder what the reader sees. Everything the network or a WARC supplies is
# printed through shown(), or for JSON through json_line().
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                     "\u2066-\u2069]")


def shown(text: str) -> str:
    """``text`` safe for a terminal: unsafe characters as ``\\xNN``/``\\uNNNN`` escapes."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100
                       else f"\\u{ord(m[0]):04x}", text)


def json_line(obj: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """``obj`` as JSON whose strings hold no terminal controls (C1 and bidi as ``\\u`` escapes;
    json already escapes C0)."""
    text = json.dumps(obj, ensure_ascii=False, sort_keys=sort_keys, indent=indent)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def echo(text: str, *, err: bool = False) -> None:
    """``click.echo`` of :func:`shown` text."""
    click.echo(shown(text), err=err)


class _PrintableFormatter(logging.Formatter):
    """Log lines through :func:`shown`: messages quote URLs and servers' words."""

    def format(self, record: logging.LogRecord) -> str:
        return shown(super().format(record))


def fail(exc: ArchiverError) -> NoReturn:
    """Print one clear line for a set-up error and exit 2."""
    echo(f"archiver: error: {exc}", err=True)
    sys.exit(EXIT_USAGE)


# --- capture ---------------------------------------------------------------


def _capture_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `capture` and `demo`."""
    d = CaptureSettings()
    opts = [
        click.option("--concurrency", type=click.IntRange(1, 64), default=d.concurrency,
                     show_default=True, help="Hosts fetched at once (one request per host)."),
        click.option("--delay", type=click.FloatRange(0), default=d.delay, show_default=True,
                     help="Seconds between requests to one host."),
        click.option("--retries", type=click.IntRange(0, 20), default=d.retries,
                     show_default=True, help="Retries on connection errors, 429 and 5xx."),
        click.option("--timeout", type=click.FloatRange(0.1), default=d.read_timeout,
                     show_default=True, help="Connect and read timeout, seconds."),
        click.option("--deadline", type=click.FloatRange(0.1), default=d.deadline,
                     show_default=True, help="Total seconds allowed per request."),
        click.option("--max-bytes", type=click.IntRange(1), default=d.max_bytes,
                     show_default=True, help="Cut bodies longer than this (WARC-Truncated)."),
        click.option("--max-redirects", type=click.IntRange(0, 50), default=d.max_redirects,
                     show_default=True, help="Redirects followed per URL."),
        click.option("--host-failures", type=click.IntRange(0), default=d.host_failures,
                     show_default=True,
                     help="After this many URLs in a row on a host fail to connect, fail "
                          "its other URLs without trying (0: never)."),
        click.option("--warc-size", type=click.IntRange(1024), default=d.warc_size,
                     show_default=True, help="Start a new WARC file past this size."),
        click.option("--gzip-level", type=click.IntRange(1, 9), default=d.gzip_level,
                     show_default=True, help="zlib level for the WARC's gzip members."),
        click.option("--user-agent", default=d.user_agent, show_default=True),
        click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False),
                     help="PEM file of CA certificates to trust for https:// URLs."),
        click.option("--operator", default=None, help="Who runs the capture (warcinfo)."),
        click.option("--no-dedup", is_flag=True, help="Store repeated payloads again."),
        click.option("--allow-private-redirects", is_flag=True,
                     help="Follow redirects from public addresses into private networks."),
        click.option("--private-networks", default=",".join(d.private_networks),
                     show_default=True, metavar="CIDR,...",
                     help="The networks counted as private (a public page may not "
                          "redirect into them)."),
        click.option("-p", "--page-requisites", is_flag=True,
                     help="Also capture what each page needs to render: images, "
                          "stylesheets (and what they name), scripts, fonts, media."),
        click.option("--requisites-max", type=click.IntRange(0), default=d.requisites_max,
                     show_default=True, help="Requisites captured per page at most."),
        click.option("--no-wait", is_flag=True,
                     help="Fail at once if another run holds the archive's lock."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _settings(**kw: Any) -> CaptureSettings:
    return CaptureSettings(
        concurrency=kw["concurrency"], delay=kw["delay"], retries=kw["retries"],
        connect_timeout=kw["timeout"],
        read_timeout=kw["timeout"], deadline=kw["deadline"], max_bytes=kw["max_bytes"],
        max_redirects=kw["max_redirects"], host_failures=kw["host_failures"],
        warc_size=kw["warc_size"],
        user_agent=kw["user_agent"], operator=kw["operator"], dedup=not kw["no_dedup"],
        gzip_level=kw["gzip_level"], ca_bundle=kw["ca_bundle"],
        allow_private_redirects=kw["allow_private_redirects"],
        private_networks=tuple(n.strip() for n in kw["private_networks"].split(",") if n.strip()),
        page_requisites=kw["page_requisites"], requisites_max=kw["requisites_max"],
    )


def _read_url_file(path: str) -> list[str]:
    # utf-8-sig: URL lists saved by Windows editors start with a BOM.
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8-sig")  # noqa: SIM115
    with stream:
        lines = (line.strip() for line in stream)
        return [line for line in lines if line and not line.startswith("#")]


#: What to do about a failure, in this CLI's options (the library names none).
_REMEDIES: dict[str, str] = {
    FailureReason.TIMEOUT: "raise --timeout",
    FailureReason.CONNECT_TIMEOUT: "raise --timeout, or check the host",
    FailureReason.DEADLINE: "raise --deadline",
    FailureReason.HOST_DOWN: "archiver capture --retry-failed",
    FailureReason.DISK_FULL: "archiver capture --retry-failed",
    FailureReason.REFUSED: "archiver capture --retry-failed",
    FailureReason.RESET: "archiver capture --retry-failed",
    FailureReason.PRIVATE_REDIRECT: "--allow-private-redirects follows it",
    FailureReason.PRIVATE_REQUISITE: "--allow-private-redirects fetches it",
}


def _failed_line(capture: Capture) -> str:
    remedy = _REMEDIES.get(capture.reason or "")
    what = "FAILED"
    if capture.page_id is not None:
        what = "FAILED requisite"
        if remedy and "--retry-failed" in remedy:
            remedy = None  # it retries pages; a requisite is fetched with its page
    return f"{what} {capture.error}" + (f" ({remedy})" if remedy else "")


def _run_capture(obj: Context, urls: list[str], settings: CaptureSettings,
                 no_wait: bool, *, timestamp: bool = False) -> None:
    if not urls:
        raise click.UsageError("no URLs given: pass URLs, -i FILE or --retry-failed")
    show = not obj.quiet and sys.stderr.isatty()
    from tqdm import tqdm  # only capture shows a bar: keep it off other commands' start-up

    # A terminal that reports its size as 0x0 (a fresh pty) would hide the bar.
    size = shutil.get_terminal_size()
    bar = tqdm(total=len(urls), unit="url", disable=not show, file=sys.stderr,
               ncols=size.columns or 80, nrows=size.lines or 24)

    def on_result(capture: Capture) -> None:
        if show and capture.outcome == Outcome.FAILED:
            bar.write(shown(_failed_line(capture)), file=sys.stderr)
        if capture.page_id is None:  # the bar counts the URLs given
            bar.update(1)

    from .capture.run import capture_urls  # imported per command: start-up time counts

    try:
        try:
            report = capture_urls(obj.root, urls, settings, on_result=on_result,
                                  wait_for_lock=False)
        except LockError as exc:
            if no_wait:
                raise
            # Say why nothing happens yet, then wait for the other run.
            click.echo(f"archiver: {exc}; waiting for it (Ctrl-C to stop)", err=True)
            report = capture_urls(obj.root, urls, settings, on_result=on_result)
    except ArchiverError as exc:
        bar.close()
        fail(exc)
    bar.close()
    if not show:  # without the bar, failures still get their one line each
        for capture in report.captures:
            if capture.outcome == Outcome.FAILED:
                echo(_failed_line(capture), err=True)
    if not obj.quiet:
        click.echo(
            f"captured {report.captured}, revisits {report.revisits}, failed {report.failed}, "
            f"{format_size(report.bytes)} in {report.seconds:.1f}s", err=True)
        if settings.page_requisites:
            req = report.requisites
            note = (" (recorded; they do not fail their pages: `archiver list --failed` "
                    "shows them)" if req[Outcome.FAILED] else "")
            click.echo(f"requisites: captured {req[Outcome.CAPTURED]}, revisits "
                       f"{req[Outcome.REVISIT]}, failed {req[Outcome.FAILED]}{note}", err=True)
    stamped = _timestamp(obj, renew=False) if timestamp else True
    sys.exit(EXIT_FAILED if report.failed or not stamped else EXIT_OK)


@cli.command()
@click.argument("urls", nargs=-1)
@click.option("-i", "--input", "input_file", type=click.Path(dir_okay=False, allow_dash=True),
              help="File of URLs, one per line; # starts a comment.")
@click.option("--retry-failed", is_flag=True, help="Also retry URLs whose last attempt failed.")
@click.option("--browser", is_flag=True,
              help="Load each page in headless Chromium (its every request recorded "
                   "through archiver's proxy) and keep a screenshot and the rendered DOM. "
                   "Needs pip install 'archiver[browser]' and apt-get install chromium.")
@click.option("--page-timeout", type=click.FloatRange(0.1),
              default=CaptureSettings().page_timeout, show_default=True,
              help="With --browser: seconds to wait for a page's network to go idle.")
@click.option("--timestamp", "timestamp", is_flag=True,
              help="At the end, timestamp the checkpoint with every configured TSA.")
@_capture_options
@pass_ctx
def capture(obj: Context, /, urls: tuple[str, ...], input_file: str | None,
            retry_failed: bool, timestamp: bool, browser: bool, page_timeout: float,
            **kw: Any) -> None:
    """Capture URLs into WARC/1.1 files under the archive root's warcs/."""
    todo = list(urls)
    try:
        if input_file:
            todo += _read_url_file(input_file)
    except OSError as exc:
        raise click.BadParameter(f"{input_file}: {exc.strerror}", param_hint="-i") from exc
    try:
        settings = replace(_settings(**kw), browser=browser, page_timeout=page_timeout)
        if browser:
            from .capture.browser import require_browser

            require_browser()
        if retry_failed:
            from .capture.reindex import catalog_for_reading

            catalog, _ = catalog_for_reading(obj.root)
            with catalog:
                todo += [u for u in catalog.failed_urls() if u not in todo]
        if timestamp:
            _require_tsas(obj.root)
    except ArchiverError as exc:
        fail(exc)
    _run_capture(obj, todo, settings, kw["no_wait"], timestamp=timestamp)


@cli.command(name="list")
@click.option("--failed", is_flag=True, help="Only URLs whose latest attempt failed.")
@click.option("--json", "as_json", is_flag=True,
              help="JSON Lines, one attempt per line, page requisites included.")
@pass_ctx
def list_(obj: Context, /, failed: bool, as_json: bool) -> None:
    """Show the capture catalog: every attempt, oldest first.

    A page captured with -p shows how many requisites it has; the requisites
    themselves are listed by --json (and, when they failed, by --failed).
    """
    from .capture.reindex import catalog_for_reading

    root = obj.root
    _require_archive(root)
    try:
        catalog, rebuilt = catalog_for_reading(root)
    except ArchiverError as exc:
        fail(exc)
    if rebuilt is not None:
        saved = ("" if root.read_only else
                 "; `archiver reindex` saves it")
        echo(f"archiver: note: {rebuilt}: the catalog was rebuilt in memory from the "
             f"WARCs{saved}", err=True)
    if root.read_only:
        _note_read_only(root, "nothing was logged")
    try:
        with catalog:
            counts = catalog.requisite_counts()
            for c in catalog.captures(failed_only=failed):
                n, n_failed = counts.get(c.metadata_id or "", (0, 0))
                if as_json:
                    row = c.to_dict()
                    if n:
                        row["requisites"], row["requisites_failed"] = n, n_failed
                    click.echo(json_line(row, sort_keys=True))
                elif c.page_id is None or failed:
                    where = f"{c.warc}@{c.offset}" if c.warc else "-"
                    status = c.status if c.status is not None else "-"
                    note = f"  {c.error}" if c.error else ""
                    if n:
                        note += f"  [{n} requisites, {n_failed} failed]"
                    kind = "  (requisite)" if c.page_id is not None else ""
                    if c.source == Source.IMPORT:
                        kind += "  (imported)"
                    echo(f"{c.captured_at}  {c.outcome:<8} {status!s:>3}  {c.url}  "
                         f"{where}{note}{kind}")
    except ArchiverError as exc:
        fail(exc)


@cli.command()
@pass_ctx
def reindex(obj: Context, /) -> None:
    """Rebuild the capture catalog from the WARC files (the record of truth)."""
    from .capture.reindex import rebuild

    _require_archive(obj.root)
    try:
        count, errors = rebuild(obj.root)
    except ArchiverError as exc:
        fail(exc)
    for error in errors:
        echo(f"DAMAGED {error}", err=True)
    if not obj.quiet:
        click.echo(f"indexed {count} capture attempts, {len(errors)} damaged WARC(s)", err=True)
    sys.exit(EXIT_FAILED if errors else EXIT_OK)


@cli.command()
@pass_ctx
def cdxj(obj: Context, /) -> None:
    """Rebuild manifests/index.cdxj, the CDXJ index pywb reads, from the WARC files."""
    from .warc.cdxj import cdxj_path, rebuild_cdxj

    _require_archive(obj.root)
    try:
        count, errors = rebuild_cdxj(obj.root)
    except ArchiverError as exc:
        fail(exc)
    for error in errors:
        echo(f"DAMAGED {error}", err=True)
    if not obj.quiet:
        echo(f"{cdxj_path(obj.root)}: {count} records indexed, {len(errors)} damaged WARC(s)",
             err=True)
    sys.exit(EXIT_FAILED if errors else EXIT_OK)


@cli.command()
@_capture_options
@pass_ctx
def demo(obj: Context, /, **kw: Any) -> None:
    """Serve the bundled sample site on loopback and capture it (no internet needed)."""
    from .demo import DemoSite

    kw["delay"] = 0.0 if kw["delay"] == CaptureSettings().delay else kw["delay"]
    settings = _settings(**kw)
    with DemoSite() as site:
        if not obj.quiet:
            click.echo(f"serving the sample site at {site.base_url}; "
                       f"archive root {obj.root.path}", err=True)
        _run_capture(obj, site.seed_urls(), settings, kw["no_wait"])


# --- fixity: manifest, verify, export (archiver.fixity.manifest / .verify / .export) ---

_JOBS = click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                     help="Worker processes for hashing (default: CPUs, at most 8).")


class _WarcLocation(click.ParamType):  # type: ignore[type-arg]
    """A local path or an ``s3://bucket/key`` URL (an object or a prefix)."""

    name = "PATH|s3://BUCKET/PREFIX"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Location:
        return value if isinstance(value, Path) else parse_location(str(value))


def _set_s3_endpoint(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    # The environment variable botocore itself reads: worker processes (and a
    # Spark job's executors on this machine) inherit it.
    if value:
        os.environ["AWS_ENDPOINT_URL"] = value


_S3_ENDPOINT = click.option(
    "--s3-endpoint", metavar="URL", expose_value=False, callback=_set_s3_endpoint,
    help="The S3-compatible endpoint for s3:// URLs (default: $AWS_ENDPOINT_URL, else AWS). "
         "Credentials: the standard AWS variables (AWS_ACCESS_KEY_ID...) or AWS_PROFILE.")


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=_WarcLocation())
@_S3_ENDPOINT
@click.option("--link", is_flag=True,
              help="Hard-link the files into the archive instead of copying them.")
@click.option("--allow-damaged", is_flag=True,
              help="Import files that do not read to the end or whose digests do not "
                   "match, as they are, recorded as damaged.")
@pass_ctx
def import_(obj: Context, /, paths: tuple[Location, ...], link: bool,
            allow_damaged: bool) -> None:
    """Import WARC or ARC files made by other tools (files or folders, or s3://
    URLs of objects or prefixes).

    Each file is read to the end and every digest it carries checked, then
    copied into warcs/imported/ and added to the manifest, records index,
    events log and catalog. A file that does not read is refused; exit 1 if
    any was.
    """
    from .capture.importer import ImportStatus, import_warcs

    try:
        report = import_warcs(obj.root, paths, link=link, allow_damaged=allow_damaged)
    except ArchiverError as exc:
        fail(exc)
    for result in report.results:
        if result.status == ImportStatus.REFUSED:
            hint = (" (or --allow-damaged imports it as it is, recorded as damaged)"
                    if result.damaged else "")
            echo(f"archiver: {result.error}{hint}", err=True)
        elif not obj.quiet:
            echo(f"{result.status}: {result.source} -> {result.dest}: {result.checked}")
    if not obj.quiet:
        counts = {s: sum(r.status == s for r in report.results) for s in ImportStatus}
        click.echo(", ".join(f"{n} {s}" for s, n in counts.items() if n)
                   + f"; {report.captures} captures catalogued", err=True)
    sys.exit(EXIT_FAILED if report.refused else EXIT_OK)


@cli.command()
@_JOBS
@click.option("--accept-unreadable", is_flag=True,
              help="Also list files under warcs/ that are not readable WARCs.")
@click.option("--reason", default=None, metavar="TEXT",
              help="Why files no longer listed were removed (recorded in the evidence log).")
@pass_ctx
def manifest(obj: Context, /, jobs: int | None, accept_unreadable: bool,
             reason: str | None) -> None:
    """Rehash every closed WARC and rewrite manifests/manifest-sha256.txt and records.jsonl.

    This blesses the files as they are now: run `archiver verify` first.
    Symbolic links are never listed; files that are not readable WARCs only
    with --accept-unreadable. Exit 1 if anything under warcs/ was left out.
    """
    from .fixity.manifest import REMOVAL_REASON, rebuild_manifest

    _require_archive(obj.root)
    try:
        report = rebuild_manifest(obj.root, jobs=jobs, accept_unreadable=accept_unreadable,
                                  reason=reason or REMOVAL_REASON)
    except ArchiverError as exc:
        fail(exc)
    for path, why in report.unparseable:
        echo(f"archiver: warning: {path}: WARC records unreadable {why}", err=True)
    for path, why in report.skipped:
        fix = ("remove the link (copy the file in instead, if it belongs here)"
               if why.startswith("symlink") else
               "repair or remove it, or pass --accept-unreadable to list it anyway")
        echo(f"archiver: {path}: not listed: {why}; {fix}", err=True)
    if not obj.quiet:
        changes = "" if report.added is None else (
            f"; {report.added} added, {report.removed} removed, {report.changed} changed")
        left_out = f", {len(report.skipped)} left out" if report.skipped else ""
        removals = f", {report.removals} removal(s)" if report.removals else ""
        click.echo(f"manifest: {report.files} files, {report.records} records, "
                   f"{format_size(report.bytes)}{changes}{left_out}; evidence log: "
                   f"{report.leaves} leaves appended{removals}")
    sys.exit(EXIT_FAILED if report.skipped else EXIT_OK)


@cli.command()
@click.argument("warcs", nargs=-1, type=_WarcLocation())
@click.option("--quick", is_flag=True, help="Existence, size and completeness only; no hashing.")
@click.option("--records", is_flag=True,
              help="Also check every WARC record's digests; with WARC files (or folders, or "
                   "s3:// URLs) named, check only their records' own digests, no archive.")
@_S3_ENDPOINT
@click.option("--sample", type=click.FloatRange(0, 100, min_open=True), default=None,
              metavar="PERCENT", help="Hash a seeded share of the bytes; quick-check the rest.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --sample.")
@_JOBS
@click.option("--json", "as_json", is_flag=True, help="The full report as JSON on stdout.")
@click.option("--history", is_flag=True,
              help="Check the hash chain of manifests/events.jsonl and the evidence log's "
                   "checkpoints (RFC 9162 consistency proofs).")
@click.option("--checkpoint", "checkpoints", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --history: a checkpoint kept outside the archive (from `archiver "
                   "checkpoint`); the log must still extend it. Repeatable.")
@click.option("--evidence", is_flag=True,
              help="Check the stored RFC 3161 timestamps and when their TSA certificates expire.")
@click.option("--read-only", is_flag=True,
              help="Take no lock and record no fixity-check event (read-only media).")
@pass_ctx
def verify(obj: Context, /, warcs: tuple[Location, ...], quick: bool, records: bool,
           sample: float | None, seed: int, jobs: int | None, as_json: bool, history: bool,
           checkpoints: tuple[Path, ...], evidence: bool, read_only: bool) -> None:
    """Check the archive against its manifest; exit 1 on any problem.

    Reports files modified, truncated, missing, extra, moved or unreadable.
    `verify --records WARC...` checks the named WARCs' records against their own
    digests instead (local files, folders, s3:// objects or prefixes).
    """
    from .fixity.verification import VerifyMode, verify_archive

    if warcs:
        if not records or quick or sample is not None or history or evidence:
            raise click.UsageError("WARC files to verify go with --records alone "
                                   "(verify --records WARC...)")
        _verify_given_records(obj, warcs, as_json)
        return

    if checkpoints and not history:
        raise click.UsageError("--checkpoint goes with --history")
    if history:
        _verify_history(obj, as_json, checkpoints)
        return
    if evidence:
        _verify_evidence(obj, as_json)
        return
    if sum((quick, records, sample is not None)) > 1:
        raise click.UsageError("--quick, --records and --sample exclude one another")
    mode = (VerifyMode.QUICK if quick else VerifyMode.RECORDS if records
            else VerifyMode.SAMPLE if sample is not None else VerifyMode.FULL)
    root = obj.root
    _require_archive(root)
    try:
        if root.read_only and not read_only:
            _note_read_only(root, "this check is not recorded in manifests/events.jsonl")
        report = verify_archive(root, mode, sample_percent=sample, seed=seed, jobs=jobs,
                                record_event=not (read_only or root.read_only))
    except ArchiverError as exc:
        fail(exc)
    if as_json:
        click.echo(json_line(report.as_dict(), indent=2))
    else:
        if not obj.quiet:
            click.echo(report.summary())
        for problem in report.problems:
            echo(problem.line() + _remedy(problem))
            for rec in problem.records:
                echo(f"    record at {rec.offset} {rec.record_id} {rec.target_uri or ''}: "
                     f"{rec.reason}")
    sys.exit(EXIT_OK if report.passed else EXIT_FAILED)


def _verify_given_records(obj: Context, given: tuple[Location, ...], as_json: bool) -> None:
    """``verify --records WARC...``: each record's digests against its own headers."""
    from .errors import LocationError
    from .warc.check import check_records, records_entry
    from .warc.location import list_warcs, location_name

    files = bad = 0
    reports: list[dict[str, Any]] = []
    for location in given:
        try:
            found = list_warcs(location)
        except LocationError as exc:
            found = []
            bad += 1
            reports.append(records_entry(location, None, [(None, exc.reason)]))
            echo(f"archiver: {exc}", err=True)
        for warc in found:
            files += 1
            name = location_name(warc)
            check, problems = check_records(warc)
            bad += bool(problems)
            reports.append(records_entry(warc, check, problems))
            if as_json:
                continue
            for offset, problem in problems:
                at = "" if offset is None else f" record at offset {offset}"
                echo(f"{name}:{at}: {problem}")
            if not problems and check is not None and not obj.quiet:
                echo(f"{name}: ok: {check.summary()}")
    if as_json:
        click.echo(json_line({"files": files, "failed": bad, "warcs": reports}, indent=2))
    elif not obj.quiet:
        click.echo(f"verify --records: {files} WARC file(s), {bad} with problems", err=True)
    sys.exit(EXIT_FAILED if bad else EXIT_OK)


def _require_archive(root: ArchiveRoot) -> None:
    """Exit 2, creating nothing, where there is no archive (a mistyped --root)."""
    if not root.is_archive():
        fail(ArchiveRootError(root.path, "no archive here (no warcs/ or manifests/ folder); "
                              "check --root or $ARCHIVER_ROOT, or start one with "
                              "`archiver capture URL`"))


def _note_read_only(root: ArchiveRoot, what: str) -> None:
    echo(f"archiver: note: {root.path} is read-only: nothing is written there; {what}",
         err=True)


def _remedy(problem: Any) -> str:
    """What to do about a problem verify found, where the CLI can say."""
    from .fixity.problem import ProblemKind

    if problem.kind == ProblemKind.EXTRA and problem.detail.startswith("listed in no manifest"):
        return (" (move it out of warcs/ and run archiver import on it, or archiver "
                "manifest --accept-unreadable to accept it as is)")
    return ""


def _verify_history(obj: Context, as_json: bool, handed_files: tuple[Path, ...]) -> None:
    from dataclasses import asdict

    from .fixity.events import check_history
    from .fixity.evidencelog import check_log, read_checkpoint

    _require_archive(obj.root)
    try:
        found = check_history(obj.root)
        handed = [(read_checkpoint(f), f"checkpoint file {f}") for f in handed_files]
        merged = check_log(obj.root, handed)
    except FileNotFoundError:
        fail(ArchiveRootError(obj.root.manifests / "events.jsonl", "no event history yet"))
    except ArchiverError as exc:
        fail(exc)
    ok = found.ok and merged.ok
    if as_json:
        log_part = asdict(merged) | {"ok": merged.ok}
        click.echo(json.dumps(asdict(found) | {"ok": ok, "history_ok": found.ok,
                                               "log": log_part}, indent=2))
    else:
        state = "intact" if found.ok else "BROKEN"
        click.echo(f"history: {found.events} events, head sha256 {found.head_sha256}: {state}")
        if found.broken:
            click.echo(f"events.jsonl line {found.broken[0]}: {found.broken[1]}")
        if found.partial_line:
            click.echo(f"events.jsonl line {found.partial_line}: partial (an interrupted write); "
                       "the next archiver run records it")
        if found.manifest_mismatch:
            click.echo(found.manifest_mismatch)
        checked = f", {len(handed)} handed-over checkpoint(s)" if handed else ""
        click.echo(f"log: {merged.leaves} leaves, root {merged.root_hash}, "
                   f"{merged.checkpoints} checkpoints{checked}: "
                   f"{'intact' if merged.ok else 'BROKEN'}")
        for line in merged.problems:
            echo(line)
        for line in merged.notes:
            echo(f"note: {line}")
    sys.exit(EXIT_OK if ok else EXIT_FAILED)


@cli.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the checkpoint to this file instead of stdout.")
@pass_ctx
def checkpoint(obj: Context, /, output: Path | None) -> None:
    """Print the evidence log's latest checkpoint (tree size, root, time) as JSON.

    Keep it outside the archive (send it to a partner, timestamp it): later,
    `archiver verify --history --checkpoint FILE` proves the log still extends it.
    """
    from .fixity.evidencelog import canonical, last_checkpoint

    _require_archive(obj.root)
    found = last_checkpoint(obj.root)
    if found is None:
        fail(ArchiveRootError(obj.root.events_path, "no log checkpoint yet (a capture, import "
                              "or manifest run makes one)"))
    data = canonical(found.as_dict() | {"log": "manifests/log.jsonl"}) + b"\n"
    if output is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        try:
            output.write_bytes(data)
        except OSError as exc:
            fail(ArchiveRootError(output, f"cannot write: {exc.strerror or exc}"))


def _verify_evidence(obj: Context, as_json: bool) -> None:
    from .fixity.timestamp import verify_evidence

    _require_archive(obj.root)
    try:
        report = verify_evidence(obj.root)
    except ArchiverError as exc:
        fail(exc)
    if as_json:
        click.echo(json_line(report.as_dict(), indent=2))
    else:
        good = sum(t.ok for t in report.tokens)
        click.echo(f"evidence: {good} of {len(report.tokens)} timestamp tokens verified, "
                   f"{report.signatures} operator signature(s) verified; current checkpoint "
                   f"{'covered' if report.current_covered else 'NOT covered'}")
        for token in report.tokens:
            if token.ok:
                echo(f"ok {token.tsr} ({token.tsa}): {token.gen_time}, TSA certificate "
                     f"valid until {token.expires}")
        for problem in report.problems:
            echo(f"PROBLEM {problem}")
        for warning in report.warnings:
            echo(f"warning: {warning}")
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


# --- trusted time ------------------------------------------------------------


def _require_tsas(root: ArchiveRoot) -> None:
    from .fixity.timestamp import load_tsas

    if not load_tsas(root):
        from .errors import TimestampError

        raise TimestampError(root.manifests / "tsa.json", "no TSA configured: add one with "
                             "`archiver config tsa add URL [--ca PEM]`")


def _timestamp(obj: Context, *, renew: bool) -> bool:
    """Run a timestamp; print each token and failure; whether every TSA gave a token."""
    from .fixity.timestamp import timestamp_archive

    try:
        run = timestamp_archive(obj.root, renew=renew)
    except ArchiverError as exc:
        fail(exc)
    for token in run.tokens:
        if not obj.quiet:
            echo(f"timestamp {token['tsr']} from {token['tsa']}: {token['gen_time']}", err=True)
    for url, why in run.failures:
        echo(f"FAILED timestamp from {url}: {why}", err=True)
    if not obj.quiet:
        signed = f", signed by {run.principal}" if run.principal else ""
        click.echo(f"{'renewal ' if renew else ''}statement {run.statement} "
                   f"(sha256 {run.statement_sha256}{signed}): {len(run.tokens)} token(s), "
                   f"{len(run.failures)} TSA(s) failed", err=True)
    return not run.failures


@cli.command("timestamp")
@click.option("--renew", is_flag=True,
              help="Also cover every stored token, so it outlives its TSA certificate.")
@pass_ctx
def timestamp_(obj: Context, /, renew: bool) -> None:
    """Timestamp the newest checkpoint with every configured TSA (RFC 3161).

    Tokens and TSA chains go to manifests/timestamps/; exit 1 if any TSA failed.
    """
    _require_archive(obj.root)
    sys.exit(EXIT_OK if _timestamp(obj, renew=renew) else EXIT_FAILED)


@cli.command()
@click.argument("target", metavar="(URL | RECORD-ID)")
@click.option("-o", "--output", "dest", required=True,
              type=click.Path(file_okay=False, path_type=Path), help="The package folder (new).")
@click.option("--at", default=None, metavar="DATE",
              help="The newest capture at or before DATE (ISO 8601), not the newest of all.")
@click.option("--untimestamped", is_flag=True,
              help="Make the package even if no timestamp covers the capture yet (marked so).")
@pass_ctx
def prove(obj: Context, /, target: str, dest: Path, at: str | None,
          untimestamped: bool) -> None:
    """Write one capture's evidence package to DEST: its records, Merkle proofs,
    timestamp tokens, signature, README.txt and a standard-library verify_proof.py."""
    from .capture.prove import make_package
    from .errors import ProveError

    _require_archive(obj.root)
    try:
        made = make_package(obj.root, target, dest, at=at, untimestamped=untimestamped)
    except ProveError as exc:
        hint = " (--untimestamped)" if "untimestamped package" in str(exc) else ""
        echo(f"archiver: {exc}{hint}", err=True)
        sys.exit(EXIT_FAILED)
    except ArchiverError as exc:
        fail(exc)
    if not obj.quiet:
        state = "timestamped" if made.timestamped else "UNTIMESTAMPED"
        echo(f"package {made.dest}: {made.records} records, {format_size(made.bytes)}, "
             f"{state}, proven into a checkpoint of {made.tree_size} leaves", err=True)


@cli.group()
def config() -> None:
    """Configure the archive: Time-Stamp Authorities, the operator's signing key."""


@config.group()
def tsa() -> None:
    """RFC 3161 Time-Stamp Authorities (none is contacted unless added here)."""


@tsa.command("add")
@click.argument("url")
@click.option("--ca", "ca_pem", type=click.Path(dir_okay=False, path_type=Path),
              help="The TSA's root CA certificate (PEM); default: certifi's roots.")
@pass_ctx
def tsa_add(obj: Context, /, url: str, ca_pem: Path | None) -> None:
    """Add (or replace) the TSA at URL, stored in manifests/tsa.json."""
    from .fixity.timestamp import add_tsa

    _require_archive(obj.root)
    try:
        added = add_tsa(obj.root, url, ca_pem)
    except ArchiverError as exc:
        fail(exc)
    if not obj.quiet:
        echo(f"TSA {added.url}" + (f", root CA manifests/{added.ca}" if added.ca else
                                   ", roots from certifi"), err=True)


@config.command("sign")
@click.option("--ssh-key", "ssh_key", required=True, type=click.Path(path_type=Path),
              help="The operator's SSH private key (or its .pub, with the key in ssh-agent).")
@click.option("--principal", default="operator", show_default=True,
              help="Who signs, as named in allowed_signers (e.g. an e-mail address).")
@pass_ctx
def config_sign(obj: Context, /, ssh_key: Path, principal: str) -> None:
    """Sign every checkpoint with an SSH key (ssh-keygen -Y sign, namespace
    archiver-checkpoint); writes manifests/timestamps/allowed_signers."""
    from .fixity.signing import ALLOWED_SIGNERS, configure_signer

    _require_archive(obj.root)
    try:
        signer = configure_signer(obj.root, ssh_key, principal)
    except ArchiverError as exc:
        fail(exc)
    if not obj.quiet:
        echo(f"checkpoints signed by {signer.principal} with {signer.key}; verify with "
             f"manifests/{ALLOWED_SIGNERS}", err=True)


@tsa.command("list")
@pass_ctx
def tsa_list(obj: Context, /) -> None:
    """The configured TSAs, one per line: URL and root CA file."""
    from .fixity.timestamp import load_tsas

    try:
        for entry in load_tsas(obj.root):
            echo(f"{entry.url}\t{entry.ca or 'certifi'}")
    except ArchiverError as exc:
        fail(exc)


@cli.group()
def spark() -> None:
    """Run extraction or record verification as an Apache Spark job (the spark extra)."""


_MASTER = click.option("--master", default="local[*]", show_default=True,
                       help="The Spark master URL (local[N], spark://HOST:PORT, yarn...).")
_SPARK_OUT = click.option("-o", "--output", required=True,
                          type=click.Path(file_okay=False, path_type=Path),
                          help="The Parquet folder to write (must not exist yet).")
_SPARK_WARCS = click.argument("warcs", nargs=-1, required=True)


def _spark_run(obj: Context, what: str, warcs: tuple[str, ...], output: Path, master: str,
               split_bytes: int | None = None) -> None:
    from . import spark as job
    from .errors import ConfigError

    if output.exists():
        fail(ConfigError(f"{output}: already exists; give a new folder for the Parquet output"))
    try:
        session = job.session(master)
    except ArchiverError as exc:
        fail(exc)
    try:
        if what == "extract":
            frame = job.extract(session, warcs, split_bytes=split_bytes,
                                root=obj.root if obj.root.is_archive() else None)
        else:
            frame = job.verify(session, warcs)
        frame.write.parquet(str(output))
        written = session.read.parquet(str(output))
        rows = written.count()
        problems = written.filter(written["error"].isNotNull() if what == "extract"
                                  else ~written["ok"]).count()
    except ArchiverError as exc:
        fail(exc)
    finally:
        session.stop()
    if not obj.quiet:
        noun = "row(s)" if what == "extract" else "WARC(s)"
        click.echo(f"spark {what}: {rows} {noun} written to {output}, {problems} problem(s)",
                   err=True)
    sys.exit(EXIT_FAILED if problems else EXIT_OK)


@spark.command("extract")
@_S3_ENDPOINT
@_SPARK_WARCS
@_SPARK_OUT
@_MASTER
@click.option("--split-bytes", type=click.IntRange(min=1), default=None, metavar="BYTES",
              help="Read a WARC of the archive larger than this in several tasks, cut at "
                   "records from its records index.")
@pass_ctx
def spark_extract(obj: Context, /, warcs: tuple[str, ...], output: Path, master: str,
                  split_bytes: int | None) -> None:
    """Extract every capture's article from WARCS (files, folders, glob patterns)
    into Parquet: the rows of `archiver extract --all-captures --format jsonl`,
    and a row with `error` set for each record or WARC that cannot be read."""
    _spark_run(obj, "extract", warcs, output, master, split_bytes)


@spark.command("verify")
@_S3_ENDPOINT
@_SPARK_WARCS
@_SPARK_OUT
@_MASTER
@pass_ctx
def spark_verify(obj: Context, /, warcs: tuple[str, ...], output: Path, master: str) -> None:
    """Read every WARC of WARCS to its end and check every digest its records carry
    into Parquet: one row per WARC, the entries of `archiver verify --records
    WARC... --json`."""
    _spark_run(obj, "verify", warcs, output, master)


@cli.group()
def export() -> None:
    """Export the archive in a standard packaging format."""


@export.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@pass_ctx
def bagit(obj: Context, /, dest: Path) -> None:
    """Write the archive as a BagIt 1.0 bag at DEST (a new folder)."""
    from .fixity.bagit import export_bagit

    _require_archive(obj.root)
    try:
        report = export_bagit(obj.root, dest)
    except ArchiverError as exc:
        fail(exc)
    if not obj.quiet:
        click.echo(f"bag: {report.dest} ({report.files} files, {format_size(report.bytes)})")


@export.command()
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def wacz(obj: Context, /, dest: Path) -> None:
    """Write the archive as a WACZ 1.1.1 file at DEST (for ReplayWeb.page, pywb)."""
    from .interop.wacz import export_wacz

    _require_archive(obj.root)
    try:
        report = export_wacz(obj.root, dest)
    except ArchiverError as exc:
        fail(exc)
    if not obj.quiet:
        echo(f"wacz: {report.dest} ({report.warcs} WARCs, {report.pages} pages, "
             f"{format_size(report.bytes)})")


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True,
              help="The port on 127.0.0.1 to serve on.")
@pass_ctx
def replay(obj: Context, /, port: int) -> None:
    """Serve the archive for viewing in a browser, through pywb, on 127.0.0.1 only.

    Needs the replay extra (pip install 'archiver[replay]'). Pages are at
    http://127.0.0.1:PORT/archive/URL; Ctrl-C stops it.
    """
    from .interop.replay import ReplayServer

    _require_archive(obj.root)
    server = ReplayServer(obj.root, port)
    try:
        server.start()
    except ArchiverError as exc:
        fail(exc)
    try:
        echo(f"replaying {obj.root.path} at {server.base_url}  (Ctrl-C stops)", err=True)
        status = server.wait()
    except KeyboardInterrupt:
        status = 0
    finally:
        server.stop()
    sys.exit(EXIT_OK if status in (0, -2, -15) else EXIT_FAILED)


@cli.command()
@click.argument("warcs", nargs=-1, type=_WarcLocation())
@_S3_ENDPOINT
@click.option("--html", "html_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Extract one saved HTML page instead of WARC records.")
@click.option("--url", help="The --html page's URL (resolves its canonical link).")
@click.option("--all-captures", is_flag=True,
              help="Every capture of a page, not one per distinct payload per URL.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of stdout.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "text", "markdown"]),
              default="jsonl", show_default=True)
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes extracting articles (default: the usable CPUs); "
                   "the output does not depend on it.")
@pass_ctx
def extract(obj: Context, /, warcs: tuple[Location, ...], html_file: Path | None, url: str | None,
            all_captures: bool, output: Path | None, fmt: str, jobs: int | None) -> None:
    """Extract article text and metadata from the archive's HTML pages (or the
    given WARC files, or the WARCs under the given folders; s3:// URLs of
    objects or prefixes too).

    Reads every HTML response with status 200 (and revisits of one) from the
    WARC files, never from the web; each article carries its provenance. A
    page captured again unchanged is given once unless --all-captures.
    """
    from .errors import ConfigError
    from .extract.kind import PageKind
    from .extract.reader import (
        Extracted,
        ExtractFailure,
        extract_html_file,
        extract_warcs,
    )
    from .extract.render import render_extracted
    from .workers import usable_cpus

    if html_file is not None and warcs:
        fail(ConfigError("give WARC files or --html FILE, not both"))
    if url is not None and html_file is None:
        fail(ConfigError("--url only applies to --html FILE"))
    run = None
    unlisted: list[str] = []
    if html_file is not None:
        try:
            items: Iterable[Extracted | ExtractFailure] = [extract_html_file(html_file, url)]
        except ArchiverError as exc:
            echo(f"archiver: {exc}", err=True)
            sys.exit(EXIT_FAILED)
    else:
        if not warcs:
            _require_archive(obj.root)
        files, unlisted = _warc_files(obj.root, warcs)
        for line in unlisted:
            echo(f"archiver: {line}", err=True)
        items = run = extract_warcs(files, root=obj.root, all_captures=all_captures,
                                    jobs=jobs or usable_cpus())
    kinds = dict.fromkeys(PageKind, 0)
    problems = len(unlisted)
    with output.open("w", encoding="utf-8") if output else _utf8_stdout() as out:
        for item in items:
            if isinstance(item, ExtractFailure):
                echo(f"archiver: {item}", err=True)
                problems += 1
            else:
                out.write(render_extracted(item, fmt))
                kinds[item.article.kind] += 1
    if not obj.quiet:
        # Every page is given; only articles count as extracted articles.
        repeats = (f", {run.duplicates} unchanged recapture(s) left out (--all-captures "
                   "keeps them)") if run is not None and run.duplicates else ""
        click.echo(f"extracted {kinds[PageKind.ARTICLE]} article(s) (and "
                   f"{kinds[PageKind.LISTING]} listing, {kinds[PageKind.OTHER]} other page(s))"
                   f"{repeats}, {problems} problem(s)", err=True)
    sys.exit(EXIT_FAILED if problems else EXIT_OK)


def _warc_files(root: ArchiveRoot, given: tuple[Location, ...]
                ) -> tuple[list[Location], list[str]]:
    """The WARC files named, with each named folder's (or S3 prefix's) WARCs in its
    place; by default the archive's. Exits 2 when a local folder (or the archive)
    holds none; an S3 location that cannot be listed is returned as its error line
    (the batch goes on)."""
    from .errors import ConfigError, LocationError
    from .warc.files import find_warc_files
    from .warc.location import list_warcs

    files: list[Location] = []
    errors: list[str] = []
    for path in given or (root.warcs,):
        if isinstance(path, str):
            try:
                files.extend(list_warcs(path))
            except LocationError as exc:
                errors.append(str(exc))
            continue
        if not path.exists():
            fail(ConfigError(f"{path}: no such file or folder"))
        if not path.is_dir():
            files.append(path)
            continue
        found = find_warc_files(path)
        if not found:
            hint = "capture pages first (archiver capture URL), or " if not given else ""
            fail(ConfigError(f"{path}: no WARC files (*.warc.gz, *.warc) in this folder; "
                             f"{hint}give WARC files or a folder that holds some"))
        files.extend(found)
    return files, errors


@contextlib.contextmanager
def _utf8_stdout() -> Iterator[TextIO]:
    """Standard output as UTF-8 whatever the locale says (the output is data for
    other tools, and Chinese text must not fail on a latin-1 terminal); left open."""
    sys.stdout.flush()
    stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
    try:
        yield stream
    finally:
        stream.flush()
        stream.detach()  # (closing it would close sys.stdout's buffer too)


def _late_root(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.ensure_object(Context).root_arg = value


def _late_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Context).quiet = True


def _late_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        obj = ctx.ensure_object(Context)
        obj.verbose += value
        logging.getLogger().setLevel(logging.INFO if obj.verbose == 1 else logging.DEBUG)


def _accept_global_options_after(group: click.Group) -> None:
    """``archiver capture -q URL`` as ``archiver -q capture URL``: every command also
    takes --root, -q and -v (after its name), with the same meaning."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _accept_global_options_after(command)
            continue
        command.params += [
            click.Option(["--root"], type=click.Path(file_okay=False, path_type=Path),
                         expose_value=False, callback=_late_root, hidden=True),
            click.Option(["-q", "--quiet"], is_flag=True, expose_value=False,
                         callback=_late_quiet, hidden=True),
            click.Option(["-v", "--verbose"], count=True, expose_value=False,
                         callback=_late_verbose, hidden=True),
        ]


_accept_global_options_after(cli)


def main() -> None:
    """Console-script entry point."""
    # SIGTERM (kill, timeout(1), systemd, docker stop) stops a run the way
    # Ctrl-C does: what was fetched is committed and the WARCs are closed and
    # listed, instead of the process dying with a file left .open.
    signal.signal(signal.SIGTERM, _interrupt)
    cli()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
