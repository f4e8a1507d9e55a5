"""An archive written before this version still verifies, lists and extracts.

The repository's own sample archive (``warcs/`` and ``manifests/``, made by
``archiver demo`` before the package was split into subpackages) is the
witness: copied aside, it must pass every check and give its captures and
articles, with the string codes (outcomes, reasons, event types) it was
written with.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixity_archive import FAST

from archiver import ArchiveRoot
from archiver.capture.run import capture_urls
from archiver.demo import DemoSite

REPO = Path(__file__).resolve().parents[1]
WRITTEN_BEFORE = "warcs/2026/11/21/archiver-20261121100730361534-00001-vm.warc.gz"


@pytest.fixture
def old_archive(tmp_path: Path) -> Path:
    if not (REPO / WRITTEN_BEFORE).is_file():
        pytest.fail(f"{WRITTEN_BEFORE} is missing from the repository's sample archive")
    dest = tmp_path / "archive"
    shutil.copytree(REPO / "warcs", dest / "warcs")
    shutil.copytree(REPO / "manifests", dest / "manifests",
                    ignore=shutil.ignore_patterns("catalog.sqlite*", ".lock", "*.tmp"))
    return dest


def _archiver(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archiver", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_old_archive_verifies_with_our_tools_and_sha256sum(old_archive: Path) -> None:
    for mode in ("--records", "--quick"):
        done = _archiver(old_archive, "verify", mode)
        assert done.returncode == 0, done.stdout + done.stderr
    done = _archiver(old_archive, "verify", "--history")
    assert done.returncode == 0, done.stdout + done.stderr
    check = subprocess.run(["sha256sum", "-c", "--quiet", "manifests/manifest-sha256.txt"],
                           cwd=old_archive, capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_old_archive_lists_and_extracts(old_archive: Path) -> None:
    assert _archiver(old_archive, "reindex").returncode == 0
    listed = _archiver(old_archive, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert rows and {r["outcome"] for r in rows} <= {"captured", "revisit", "failed"}
    assert any(r["outcome"] == "captured" for r in rows)
    extracted = _archiver(old_archive, "extract")
    assert extracted.returncode == 0, extracted.stderr
    articles = [json.loads(line) for line in extracted.stdout.splitlines()]
    texts = " ".join(a["text"] for a in articles)
    assert "Xinjiang" in texts or "新疆" in texts


def test_a_fresh_clone_lists_its_archive_at_once_rebuilding_the_catalog_once(
        old_archive: Path) -> None:
    # A clone holds the WARCs and manifests, never catalog.sqlite (.gitignore).
    assert not (old_archive / "manifests" / "catalog.sqlite").exists()
    first = _archiver(old_archive, "list", "--json")
    assert first.returncode == 0, first.stderr
    rows = [json.loads(line) for line in first.stdout.splitlines()]
    assert any(r["outcome"] == "captured" for r in rows)
    assert first.stderr.count("there was no catalog: rebuilt from the") == 1
    assert (old_archive / "manifests" / "catalog.sqlite").is_file()  # saved
    again = _archiver(old_archive, "list", "--json")
    assert again.stdout == first.stdout and "no catalog" not in again.stderr


def test_a_fresh_clone_dedups_against_its_archive(old_archive: Path,
                                                  demo_site: DemoSite) -> None:
    # The sample archive holds the demo site's pages: capturing one again must
    # find its payload there, without a reindex first.
    root = ArchiveRoot(old_archive)
    url = demo_site.url("/english/news/uyghur/kazakhs-11132017.html")
    report = capture_urls(root, [url], FAST)
    assert (report.captured, report.revisits, report.failed) == (0, 1, 0)
