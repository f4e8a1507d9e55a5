"""The Spark job (``archiver.spark``, ``archiver spark extract|verify``) on a real
Spark in ``local[2]``, checked against the one-machine commands on the same WARCs.

The Parquet output is read back with pyarrow, not with Spark, and compared
record for record with what ``archiver extract --all-captures --format jsonl``
and ``archiver verify --records`` print.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from archiver.cli import cli
from archiver.root import ArchiveRoot

SKIP = "needs the spark extra: pip install 'archiver[spark]'"
pyspark = pytest.importorskip("pyspark", reason=SKIP)
pq = pytest.importorskip("pyarrow.parquet", reason=SKIP)

from archiver import spark as job  # noqa: E402  (after the skip: it is the spark extra's)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One local[2] session for the module (starting Spark takes seconds)."""
    session = job.session("local[2]", conf={"spark.sql.shuffle.partitions": "2",
                                            "spark.default.parallelism": "2"})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def corpus(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo archive's WARCs (two capture runs: responses, and revisits whose
    originals are in the other run's WARC) plus a damaged WARC and one cut short."""
    dest = tmp_path_factory.mktemp("corpus")
    warcs = sorted((pristine / "warcs").rglob("*.warc.gz"))
    assert len(warcs) >= 2
    for i, src in enumerate(warcs):
        shutil.copyfile(src, dest / f"{i:02d}-{src.name}")
    (dest / "90-broken.warc.gz").write_bytes(gzip.compress(b"this is no WARC record\r\n\r\n" * 3))
    first = warcs[0].read_bytes()
    (dest / "91-cut.warc.gz").write_bytes(first[: len(first) * 2 // 3])
    return dest


def _parquet_rows(frame: Any, tmp_path: Path) -> list[dict[str, Any]]:
    out = tmp_path / "out.parquet"
    frame.write.parquet(str(out))
    return list(pq.read_table(out).to_pylist())


def _as_jsonl(row: dict[str, Any]) -> dict[str, Any]:
    """A Parquet article row as the JSON line ``archiver extract`` writes for it."""
    article = {f: row[f] for f in job.ARTICLE_FIELDS}
    article["provenance"] = {k: v for k, v in row["provenance"].items() if v is not None}
    return article


def _cli_extract(tmp_path: Path, *paths: str) -> tuple[list[dict[str, Any]], str]:
    empty = tmp_path / "not-an-archive"
    empty.mkdir(exist_ok=True)
    result = CliRunner().invoke(cli, ["--root", str(empty), "extract", "--all-captures",
                                      "--format", "jsonl", *paths])
    return [json.loads(x) for x in result.stdout.splitlines() if x.strip()], result.stderr


def test_extract_equals_the_one_machine_run_record_for_record(
        spark: Any, corpus: Path, tmp_path: Path) -> None:
    files = [p.as_posix() for p in sorted(corpus.iterdir())]
    rows = _parquet_rows(job.extract(spark, [corpus.as_posix()]), tmp_path)
    expected, err = _cli_extract(tmp_path, *files)
    articles = [r for r in rows if r["error"] is None]
    errors = [r for r in rows if r["error"] is not None]
    # Same articles, record for record: sorted by (WARC, offset) on both sides.
    key = lambda a: (a["provenance"]["warc_file"], a["provenance"]["offset"])  # noqa: E731
    assert [_as_jsonl(r) for r in articles] == sorted(expected, key=key)
    assert len(articles) >= 10
    # Revisits whose original is in another WARC were resolved (stage 2).
    cross = [a for a in articles if a["provenance"]["refers_to"]
             and a["provenance"]["original_warc_file"] != a["warc"]]
    assert cross, "the corpus should hold revisits of originals in another WARC"
    # The damaged WARCs are rows, and the CLI names the same files and offsets.
    assert {r["warc"] for r in errors} == {files[-2], files[-1]}
    for r in errors:
        assert r["text"] is None and r["provenance"] is None
        assert f"{r['warc']} at offset {r['offset']}: {r['error']}" in err
    assert rows == sorted(rows, key=lambda r: (r["warc"], r["offset"]))


def test_large_warcs_split_at_records_from_the_index_give_the_same_rows(
        spark: Any, pristine: Path, tmp_path: Path) -> None:
    root = ArchiveRoot(pristine)
    warcs = [p.as_posix() for p in sorted((pristine / "warcs").rglob("*.warc.gz"))]
    ranges = job.plan_ranges(warcs, root=root, split_bytes=4096)
    assert len(ranges) > 2 * len(warcs)
    for path in warcs:  # each file's ranges tile it from 0 to its end
        mine = [(s, e) for p, s, e in ranges if p == path]
        assert mine[0][0] == 0 and mine[-1][1] is None
        assert all(a[1] == b[0] for a, b in itertools.pairwise(mine))
    whole = _parquet_rows(job.extract(spark, warcs), tmp_path / "whole")
    split = _parquet_rows(job.extract(spark, warcs, root=root, split_bytes=4096),
                          tmp_path / "split")
    assert split == whole
    assert all(r["error"] is None for r in whole)


def _members(data: bytes) -> list[tuple[int, int, bytes]]:
    """Each gzip member of a WARC: its start, end and decompressed bytes."""
    out, pos = [], 0
    while pos < len(data):
        d = zlib.decompressobj(31)
        body = d.decompress(data[pos:])
        end = len(data) - len(d.unused_data)
        out.append((pos, end, body))
        pos = end
    return out


def test_verify_gives_the_entries_of_verify_records(
        spark: Any, root: ArchiveRoot, tmp_path: Path) -> None:
    warcs = sorted(root.warcs.rglob("*.warc.gz"))
    # Damage one response's block inside its gzip member (re-compressed, so the
    # file stays readable and only that record's digests fail).
    victim = warcs[0]
    data = victim.read_bytes()
    members = _members(data)
    start, end, body = next(m for m in members if b"WARC-Type: response" in m[2])
    bad = body.replace(b"</p>", b"</P>", 1)
    assert bad != body
    victim.write_bytes(data[:start] + gzip.compress(bad) + data[end:])
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(warcs[-1].read_bytes()[:-40])
    given = [p.as_posix() for p in [*warcs, cut]]

    rows = _parquet_rows(job.verify(spark, given), tmp_path / "out")
    result = CliRunner().invoke(cli, ["--root", str(tmp_path / "none"), "verify", "--records",
                                      "--json", *given])
    assert result.exit_code == 1, result.output
    entries = json.loads(result.stdout)["warcs"]
    assert rows == sorted(entries, key=lambda e: e["location"])  # record for record
    by = {r["location"]: r for r in rows}
    # and what they say is so: the damaged record, the cut end, the clean files
    assert {p["offset"] for p in by[victim.as_posix()]["problems"]} == {start}
    assert by[cut.as_posix()]["problems"][-1]["problem"].startswith("unreadable")
    for path in warcs[1:]:
        row = by[path.as_posix()]
        assert row["ok"] and row["problems"] == []
        assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert row["records"] == len(_members(path.read_bytes()))


def test_cli_writes_parquet_and_exits_1_on_a_damaged_warc(corpus: Path, tmp_path: Path) -> None:
    good = sorted(corpus.glob("0*.warc.gz"))[0]
    out = tmp_path / "articles"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-m", "archiver", "--root", str(tmp_path), "spark", "extract",
         "--master", "local[1]", "-o", str(out), good.as_posix(),
         (corpus / "90-broken.warc.gz").as_posix()],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 1, proc.stderr
    table = pq.read_table(out).to_pylist()
    assert [r["warc"] for r in table if r["error"]] == [(corpus / "90-broken.warc.gz").as_posix()]
    assert any(r["error"] is None for r in table)
    assert "1 problem(s)" in proc.stderr
    again = subprocess.run(
        [sys.executable, "-m", "archiver", "spark", "extract", "-o", str(out), good.as_posix()],
        capture_output=True, text=True, env=env, timeout=60, check=False)
    assert again.returncode == 2 and "already exists" in again.stderr
