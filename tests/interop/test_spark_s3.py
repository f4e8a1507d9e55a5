"""The Spark job over WARCs in S3: a real S3 API (moto's server) on 127.0.0.1,
objects written with boto3, read by Spark tasks in ``local[2]`` through
archiver's location layer; the rows must be those of the same WARCs read
locally, named by their ``s3://`` URLs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from s3server import DUMMY_ENV, S3Server

from archiver.cli import cli

SKIP = "needs the spark extra: pip install 'archiver[spark]'"
pytest.importorskip("pyspark", reason=SKIP)
pq = pytest.importorskip("pyarrow.parquet", reason=SKIP)

from archiver import spark as job  # noqa: E402  (after the skip: it is the spark extra's)


@pytest.fixture(scope="module")
def spark_s3(s3_server: S3Server) -> Iterator[tuple[Any, S3Server]]:
    """A local[2] session whose Python workers get the loopback S3 endpoint and
    the dummy credentials (as an executor's environment would hold real ones)."""
    env = {**DUMMY_ENV, "AWS_ENDPOINT_URL": s3_server.endpoint}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("AWS_PROFILE", raising=False)
        session = job.session("local[2]", conf={
            "spark.sql.shuffle.partitions": "2",
            **{f"spark.executorEnv.{k}": v for k, v in env.items()}})
        yield session, s3_server
        session.stop()


def _rows(frame: Any, out: Path) -> list[dict[str, Any]]:
    frame.write.parquet(str(out))
    return list(pq.read_table(out).to_pylist())


def test_extract_and_verify_read_warcs_from_an_s3_prefix(
        spark_s3: tuple[Any, S3Server], pristine: Path, tmp_path: Path) -> None:
    spark, server = spark_s3
    local = tmp_path / "local"
    local.mkdir()
    bucket = server.bucket("crawl")
    for src in sorted((pristine / "warcs").rglob("*.warc.gz")):
        shutil.copyfile(src, local / src.name)
        server.put(bucket, f"2024/{src.name}", src)
    server.put(bucket, "2024/zz-broken.warc.gz", b"this is no WARC record\r\n\r\n")
    (local / "zz-broken.warc.gz").write_bytes(b"this is no WARC record\r\n\r\n")

    def as_local(value: Any) -> Any:  # an S3 row named as its local twin
        text = json.dumps(value).replace("s3://crawl/2024/", local.as_posix() + "/")
        return json.loads(text)

    remote = _rows(job.extract(spark, ["s3://crawl/2024/"]), tmp_path / "remote")
    here = _rows(job.extract(spark, [local.as_posix()]), tmp_path / "here")
    assert as_local(remote) == here
    assert sum(r["error"] is None for r in remote) >= 6
    assert [r["warc"] for r in remote if r["error"]] == ["s3://crawl/2024/zz-broken.warc.gz"]
    assert any(r["provenance"] and r["provenance"]["refers_to"] for r in remote)

    checked = _rows(job.verify(spark, ["s3://crawl/2024/"]), tmp_path / "verify")
    result = CliRunner().invoke(cli, ["--root", str(tmp_path / "none"), "verify", "--records",
                                      "--json", "s3://crawl/2024/"])
    assert json.loads(result.stdout)["warcs"] == checked
    assert [r["ok"] for r in checked] == [True] * (len(checked) - 1) + [False]
