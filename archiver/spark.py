"""Extraction and record verification as Apache Spark jobs, for corpora past one machine.

:func:`extract` and :func:`verify` take a running ``SparkSession`` and WARC
locations (files, folders or glob patterns) and return DataFrames; ``archiver
spark extract|verify`` runs them and writes Parquet. Each Spark task runs
archiver's own streaming reader and extractor (:class:`~archiver.extract.reader.
WarcExtraction`, :func:`~archiver.warc.scan.scan_warc`) over one WARC, or over
one byte range of a large WARC cut at record boundaries taken from the
archive's records index, so the rows are the ones ``archiver extract
--all-captures --format jsonl`` and ``archiver verify --records`` give.

A revisit whose original is in another task's WARC (or range) is resolved in a
second stage: the first stage hands back every HTML response's place and each
unresolved revisit; the two are joined on the record ID (or, for revisits
without ``WARC-Refers-To``, on URL and payload digest) and each matched
revisit re-reads its original at its offset, as the one-machine run does.

A damaged or unreadable WARC is a row with ``error`` set (its file and the
offset where reading stopped), never a failed job. Rows are sorted by
``(warc, offset)``, so the output is deterministic.

PySpark is the optional ``spark`` extra, imported only here and only when a
job runs; Spark needs Java (Debian: ``openjdk-17-jre-headless``). Executors
must have archiver installed (the same version as the driver).
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import shutil
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ArchiverError, ConfigError, WarcError
from .extract.reader import Extracted, ExtractFailure, Provenance, WarcExtraction
from .fixity.recordindex import iter_groups
from .root import ArchiveRoot
from .warc.check import RECORDS_FIELDS, check_records, records_entry
from .warc.files import find_warc_files, is_arc_name, is_warc_name
from .warc.location import basename, is_remote, list_warcs, location_name, open_read, parse_location
from .warc.payload import DEFAULT_MAX_BODY
from .warc.reader import RecordReader
from .warc.scan import describe_exception

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "ARTICLE_FIELDS",
    "SPARK_EXTRA",
    "extract",
    "plan_ranges",
    "session",
    "verify",
    "warc_locations",
]

SPARK_EXTRA = "the Spark job needs the spark extra: pip install 'archiver[spark]'"
JAVA_NEEDED = ("the Spark job needs Java 17 or later: apt-get install openjdk-17-jre-headless "
               "(or set JAVA_HOME)")

#: The article's fields, in ``archiver extract --format jsonl`` order.
ARTICLE_FIELDS = ("title", "text", "author", "published", "language", "url", "site_name",
                  "description", "kind")
_PROVENANCE_INT = {"offset", "original_offset"}
_PROVENANCE_FIELDS = tuple(f.name for f in dataclasses.fields(Provenance))

#: One task's work: a WARC location and the byte range ``[start, end)`` of the
#: records it reads (``end`` None: to the end of the file).
Range = tuple[str, int, int | None]


def _pyspark() -> Any:
    """The pyspark module, or a one-line error saying what to install."""
    try:
        import pyspark
    except ImportError as exc:
        raise ConfigError(SPARK_EXTRA) from exc
    return pyspark


def session(master: str = "local[*]", *, app_name: str = "archiver",
            conf: dict[str, str] | None = None) -> SparkSession:
    """A SparkSession for ``master``; local masters bind to 127.0.0.1 only and
    run without the web UI (nothing listens beyond loopback)."""
    _pyspark()
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise ConfigError(JAVA_NEEDED)
    from pyspark.sql import SparkSession

    # Executors run the same Python as the driver unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    settings = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                "spark.sql.shuffle.partitions": "8"}
    # Executors read s3:// with the driver's endpoint (credentials stay theirs).
    if os.environ.get("AWS_ENDPOINT_URL"):
        settings["spark.executorEnv.AWS_ENDPOINT_URL"] = os.environ["AWS_ENDPOINT_URL"]
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings.update({"spark.driver.host": "127.0.0.1",
                         "spark.driver.bindAddress": "127.0.0.1"})
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")  # a damaged WARC is a row, not a warning
    return spark


def warc_locations(given: Iterable[str | Path]) -> list[str]:
    """The WARC files named, with folders, ``s3://`` prefixes and (local) glob
    patterns expanded, sorted; each a local path or an ``s3://`` URL."""
    out: list[str] = []
    for item in given:
        text = str(item)
        if is_remote(text):
            out.extend(location_name(found) for found in list_warcs(text))
        elif glob.has_magic(text):
            matched = sorted(p for p in glob.glob(text, recursive=True)
                             if os.path.isfile(p) and is_warc_name(os.path.basename(p)))
            if not matched:
                raise ConfigError(f"{text}: no WARC files match this pattern")
            out.extend(matched)
        elif os.path.isdir(text):
            found = find_warc_files(Path(text))
            if not found:
                raise ConfigError(f"{text}: no WARC files (*.warc.gz, *.warc) in this folder")
            out.extend(p.as_posix() for p in found)
        else:
            out.append(text)
    return out


def plan_ranges(paths: Sequence[str], *, root: ArchiveRoot | None = None,
                split_bytes: int | None = None) -> list[Range]:
    """One task per WARC, or, for a WARC larger than ``split_bytes`` listed in
    ``root``'s records index, one per run of whole records of about that size."""
    if root is None or not split_bytes:
        return [(p, 0, None) for p in paths]
    rel: dict[str, str] = {}
    for p in paths:
        with contextlib.suppress(ArchiverError):  # (a WARC outside the archive: not split)
            rel[root.relative(Path(p))] = p
    cuts: dict[str, list[int]] = {}
    if rel and root.records_path.is_file():
        for entry, records in iter_groups(root.records_path, rel):
            if entry.size is None or entry.size <= split_bytes or not records:
                continue
            starts, last = [0], 0
            for rec in records:
                if rec.offset - last >= split_bytes:
                    starts.append(rec.offset)
                    last = rec.offset
            cuts[rel[entry.path]] = starts
    out: list[Range] = []
    for p in paths:
        starts = cuts.get(p, [0])
        ends: list[int | None] = [*starts[1:], None]
        out.extend((p, s, e) for s, e in zip(starts, ends, strict=True))
    return out


# -- extraction ------------------------------------------------------------------------------

def _article_row(item: Extracted) -> tuple[Any, ...]:
    a, p = item.article, item.provenance
    prov = tuple(getattr(p, name) for name in _PROVENANCE_FIELDS)
    return (p.warc_file, p.offset, None, *(str(getattr(a, f)) if f == "kind"
                                           else getattr(a, f) for f in ARTICLE_FIELDS), prov)


def _failure_row(item: ExtractFailure) -> tuple[Any, ...]:
    return (item.warc_file, item.offset, item.message, *([None] * len(ARTICLE_FIELDS)), None)


def _row(item: Extracted | ExtractFailure) -> tuple[Any, ...]:
    return _failure_row(item) if isinstance(item, ExtractFailure) else _article_row(item)


class _RangeRun(WarcExtraction):
    """A :class:`WarcExtraction` over one task's byte range, which keeps the
    revisits it could not resolve (their original is elsewhere) for stage 2."""

    def __init__(self, path: str) -> None:
        super().__init__([parse_location(path)], None, DEFAULT_MAX_BODY, True)

    def read_range(self, path: str, start: int, end: int | None
                   ) -> Iterator[Extracted | ExtractFailure]:
        local = parse_location(path)
        it: RecordReader | None = None
        try:
            with open_read(local) as fh:
                fh.seek(start)
                it = RecordReader(fh, arc=is_arc_name(basename(local)))
                for record in it:
                    offset = int(it.offset)
                    if end is not None and offset >= end:
                        break
                    item = self.record(local, offset, record)
                    it.read_to_end()  # a record found damaged at its end gives no article
                    if item is not None:
                        yield item
        except OSError as exc:
            yield ExtractFailure(path, int(it.offset) if it else start,
                                 f"cannot read: {exc.strerror or exc}")
        except WarcError as exc:
            yield ExtractFailure(path, exc.offset, str(exc).split(": ", 1)[-1])
        except Exception as exc:  # warcio and zlib raise many types on damage
            yield ExtractFailure(path, int(it.offset) if it else start,
                                 f"unreadable record: {describe_exception(exc)}")
        # Revisits are all resolved in stage 2, against every task's responses.


def _extract_task(task: Range) -> Iterator[tuple[str, Any]]:
    """Stage 1: ``("row", row)`` per article or failure, ``("html", place)`` per
    HTML response read, ``("revisit", _Response)`` per revisit left unresolved."""
    path, start, end = task
    run = _RangeRun(path)
    for item in run.read_range(path, start, end):
        yield "row", _row(item)
    for record_id, (where, offset) in run.responses.items():
        yield "html", (record_id, location_name(where), offset)
    for key, record_id in run.by_payload.items():
        yield "digest", (key, record_id)
    for rev in run.pending:
        yield "revisit", rev


def _resolve_task(pair: tuple[Any, Any]) -> tuple[Any, ...] | None:
    """Stage 2: one revisit, with its original's record ID and place, read back."""
    rev, (original_path, offset, record_id) = pair
    run = _RangeRun(original_path)
    run.responses[record_id] = (parse_location(original_path), offset)
    found = run.resolve(rev, record_id)
    return None if found is None else _row(found)


def _resolve_revisits(stage1: Any, revisits: Any, order: dict[str, int]) -> Any:
    """Stage 2: each revisit joined with the places of its original, and read back."""
    # record ID -> (WARC, offset) of every HTML response read
    places = stage1.filter(lambda t: t[0] == "html").map(lambda t: (t[1][0], (t[1][1], t[1][2])))
    by_id = places.map(lambda kv: (kv[0], (kv[1][0], kv[1][1], kv[0])))
    # A revisit without WARC-Refers-To names its original by URL and payload digest.
    by_digest = (stage1.filter(lambda t: t[0] == "digest").map(lambda t: (t[1][1], t[1][0]))
                 .join(places).map(lambda kv: (kv[1][0], (kv[1][1][0], kv[1][1][1], kv[0]))))
    keyed_id = revisits.filter(lambda r: bool(r.refers_to)).map(lambda r: (r.refers_to, r))
    keyed_digest = revisits.filter(lambda r: not r.refers_to).map(
        lambda r: ((r.refers_to_uri or r.target_uri, r.payload_digest), r))
    matched = keyed_id.leftOuterJoin(by_id).union(keyed_digest.leftOuterJoin(by_digest))
    chosen = (matched.map(lambda kv: ((location_name(kv[1][0].path), kv[1][0].offset), kv[1]))
              .reduceByKey(lambda a, b: _earlier_choice(a, b, order)).values())
    return chosen.map(lambda pair: _resolve_task(pair) if pair[1] is not None
                      else _unresolved_row(pair[0])).filter(lambda r: r is not None)


def _earlier_choice(a: tuple[Any, Any], b: tuple[Any, Any], order: dict[str, int]
                    ) -> tuple[Any, Any]:
    """Of two places of a revisit's original (the same record ID in two WARCs: a
    copied file), the one the one-machine run reads it from: the last read before
    the revisit, else the last read at all; by URL and digest, the first read."""
    rev = a[0]
    if a[1] is None or b[1] is None:
        return b if a[1] is None else a
    here = (order[location_name(rev.path)], rev.offset)
    pa, pb = ((order[p[0]], p[1]) for p in (a[1], b[1]))
    if (pa < here) != (pb < here):
        return a if pa < here else b
    last = a if pa > pb else b
    first = b if last is a else a
    return last if rev.refers_to else first


def _unresolved_row(rev: Any) -> tuple[Any, ...]:
    return _failure_row(ExtractFailure(location_name(rev.path), rev.offset,
                                       f"revisit of {rev.refers_to or rev.target_uri}: "
                                       "original record not in these WARCs"))


def _extract_schema() -> Any:
    from pyspark.sql import types as T

    prov = T.StructType([
        T.StructField(name, T.LongType() if name in _PROVENANCE_INT else T.StringType())
        for name in _PROVENANCE_FIELDS])
    return T.StructType([
        T.StructField("warc", T.StringType()),
        T.StructField("offset", T.LongType()),
        T.StructField("error", T.StringType()),
        *(T.StructField(f, T.StringType()) for f in ARTICLE_FIELDS),
        T.StructField("provenance", prov),
    ])


def extract(spark: SparkSession, paths: Iterable[str | Path], *,
            root: ArchiveRoot | None = None, split_bytes: int | None = None) -> DataFrame:
    """Every capture's article (as ``archiver extract --all-captures``) of the
    WARCs at ``paths``, one row each, sorted by ``(warc, offset)``.

    Columns: ``warc`` and ``offset`` (the record's, or where a damaged file
    stopped being readable), ``error`` (set on a failure row, whose other
    columns are null), the article's fields and its ``provenance`` struct.
    ``root`` with ``split_bytes``: WARCs in that archive larger than
    ``split_bytes`` are read in several tasks, cut at records from its index.
    """
    _pyspark()
    ranges = plan_ranges(warc_locations(paths), root=root, split_bytes=split_bytes)
    schema = _extract_schema()
    if not ranges:
        return spark.createDataFrame([], schema)
    sc = spark.sparkContext
    order = {path: i for i, path in enumerate(dict.fromkeys(p for p, _, _ in ranges))}
    stage1 = sc.parallelize(ranges, len(ranges)).flatMap(_extract_task).cache()
    rows = stage1.filter(lambda t: t[0] == "row").map(lambda t: t[1])
    revisits = stage1.filter(lambda t: t[0] == "revisit").map(lambda t: t[1])
    out = rows if revisits.isEmpty() else rows.union(_resolve_revisits(stage1, revisits, order))
    return spark.createDataFrame(out, schema).orderBy("warc", "offset")


# -- verification ----------------------------------------------------------------------------

def _verify_task(location: str) -> tuple[Any, ...]:
    """One WARC read to its end (:func:`~archiver.warc.check.check_records`): the entry
    ``archiver verify --records WARC...`` reports for it, as a row."""
    entry = records_entry(location, *check_records(location))
    return tuple(entry[name] for name in RECORDS_FIELDS)


def _verify_schema() -> Any:
    from pyspark.sql import types as T

    problem = T.StructType([
        T.StructField("offset", T.LongType()),
        T.StructField("problem", T.StringType()),
    ])
    return T.StructType([
        T.StructField("location", T.StringType()),
        T.StructField("ok", T.BooleanType()),
        T.StructField("sha256", T.StringType()),
        T.StructField("size", T.LongType()),
        T.StructField("records", T.LongType()),
        T.StructField("digests_checked", T.LongType()),
        T.StructField("problems", T.ArrayType(problem)),
    ])


def verify(spark: SparkSession, paths: Iterable[str | Path]) -> DataFrame:
    """Each WARC read to its end and every digest its records carry checked, one
    row per WARC sorted by location: the entries of ``archiver verify --records
    WARC... --json`` (``location``, ``ok``, ``sha256``, ``size``, ``records``,
    ``digests_checked``, and ``problems``: each ``offset`` and ``problem``)."""
    _pyspark()
    files = warc_locations(paths)
    schema = _verify_schema()
    if not files:
        return spark.createDataFrame([], schema)
    rdd = spark.sparkContext.parallelize(files, len(files)).map(_verify_task)
    return spark.createDataFrame(rdd, schema).orderBy("location")
