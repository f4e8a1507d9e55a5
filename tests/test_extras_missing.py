"""Without an optional extra, the commands that need it fail with one line
that names the extra and the pip line to install it, and a batch that mixes
paths needing the extra with local ones still does the local ones.

The extra is made missing for real in a child interpreter: its top-level
modules are set to None in ``sys.modules``, which is what makes ``import``
raise ImportError when a package is not installed.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.root import ArchiveRoot

RUN_WITHOUT = """\
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
sys.argv = ["archiver", *sys.argv[2:]]
from archiver.cli import main
main()
"""

PAGE = (b"<html><head><title>Camp report</title></head><body><article><h1>Camp report</h1>"
        + b"<p>Former detainees describe daily political classes and forced labour.</p>" * 8
        + b"</article></body></html>")


def run_without(modules: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", RUN_WITHOUT, modules, *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def warc(tmp_path: Path) -> Path:
    """One gzipped WARC/1.1 response record, written by hand."""
    block = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
             b"Content-Length: %d\r\n\r\n" % len(PAGE)) + PAGE
    head = ("WARC/1.1\r\nWARC-Type: response\r\n"
            "WARC-Record-ID: <urn:uuid:3f1c6f8e-4a8b-4f43-9d0e-2b6f3f2f9a01>\r\n"
            "WARC-Date: 2024-03-05T10:00:00Z\r\nWARC-Target-URI: http://example.org/camp\r\n"
            "Content-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(block)}\r\n\r\n").encode()
    path = tmp_path / "local.warc.gz"
    path.write_bytes(gzip.compress(head + block + b"\r\n\r\n"))
    return path


def _one_error_line(stderr: str, what: str) -> str:
    errors = [line for line in stderr.splitlines() if what in line]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr
    return errors[0]


@pytest.mark.parametrize("command", [["extract", "--format", "jsonl"], ["verify", "--records"]])
def test_s3_urls_without_the_s3_extra_are_one_line_each_and_local_paths_still_run(
        tmp_path: Path, warc: Path, command: list[str]) -> None:
    root = ArchiveRoot(tmp_path / "archive")
    root.ensure()
    done = run_without("s3fs,fsspec", "--root", str(root.path), *command,
                       "s3://evidence/2024/", str(warc))
    assert done.returncode == 1
    line = _one_error_line(done.stderr, "s3://evidence/2024/")
    assert line.endswith("reading s3:// URLs needs the s3 extra: pip install 'archiver[s3]'")
    assert ("Camp report" if command[0] == "extract" else f"{warc}: ok") in done.stdout


def test_import_from_s3_without_the_s3_extra_refuses_that_url_and_imports_the_rest(
        tmp_path: Path, warc: Path) -> None:
    root = tmp_path / "archive"
    done = run_without("s3fs,fsspec", "--root", str(root), "import", "s3://evidence/a.warc.gz",
                       str(warc))
    assert done.returncode == 1
    _one_error_line(done.stderr, "pip install 'archiver[s3]'")
    assert "1 imported, 1 refused" in done.stderr
    assert len(list((root / "warcs").rglob("*.warc.gz"))) == 1


def test_spark_without_the_spark_extra_says_what_to_install(tmp_path: Path, warc: Path) -> None:
    out = tmp_path / "articles.parquet"
    done = run_without("pyspark", "spark", "extract", str(warc), "--output", str(out))
    assert done.returncode == 2
    line = _one_error_line(done.stderr, "archiver[spark]")
    assert line == "archiver: error: the Spark job needs the spark extra: " \
                   "pip install 'archiver[spark]'"
    assert not out.exists()


def test_replay_without_the_replay_extra_says_what_to_install(tmp_path: Path) -> None:
    root = ArchiveRoot(tmp_path / "archive")
    root.ensure()
    done = run_without("pywb", "--root", str(root.path), "replay")
    assert done.returncode == 2
    _one_error_line(done.stderr, "pip install 'archiver[replay]'")
