"""Read-only archives (a write-blocked disk, a mounted snapshot) and folders that are
not archives: reading commands work and write nothing; nothing creates an archive
but capture and demo.

The archive is made read-only for real: a read-only bind mount in a private
mount namespace (tests/mountns.py), since the tests run as root and root
ignores mode bits.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixity_archive import as_nobody, flip_byte, warcs
from mountns import archiver_read_only

from archiver import ArchiveRoot
from archiver.cli import cli


def archiver(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archiver", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120)


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and mtime: what a run could change."""
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


READING = [
    ("verify",), ("verify", "--quick"), ("verify", "--records"),
    ("verify", "--sample", "50"), ("verify", "--history"), ("list",), ("list", "--json"),
    ("extract",),
]


@pytest.mark.parametrize("args", READING, ids=" ".join)
def test_reading_commands_work_on_a_read_only_archive_as_on_a_writable_one(
        root: ArchiveRoot, args: tuple[str, ...]) -> None:
    before = tree(root.path)
    ro = archiver_read_only(root.path, *args)
    assert ro.returncode == 0, ro.stderr
    assert "Traceback" not in ro.stderr
    assert tree(root.path) == before and not (root.manifests / ".lock").exists()
    if args[0] == "verify" and args[1:] != ("--history",):
        assert ro.stderr.count("is read-only: nothing is written there") == 1
        assert "not recorded in manifests/events.jsonl" in ro.stderr
    # The same answer as on the writable archive (where verify logs its event).
    rw = archiver(root.path, *args)
    assert rw.returncode == 0, rw.stderr
    assert "read-only" not in rw.stderr
    if args[0] in ("list", "extract"):
        assert ro.stdout == rw.stdout and ro.stdout
        assert "rebuilt in memory" not in ro.stderr  # the catalog file, opened read-only
    if args == ("verify",):
        assert ro.stdout == rw.stdout
        assert len(tree(root.path)) == len(before) + 1  # the lock file; and one more event
        assert root.events_path.stat().st_size > before["manifests/events.jsonl"][0]


def test_verify_of_a_damaged_read_only_archive_exits_1_naming_the_file(
        root: ArchiveRoot) -> None:
    first = warcs(root)[0]
    flip_byte(root.absolute(first), 200)
    ro = archiver_read_only(root.path, "verify")
    assert ro.returncode == 1, ro.stderr
    assert f"modified       {first}" in ro.stdout


@pytest.mark.parametrize("catalog", ["missing", "left-by-a-crash"])
def test_list_on_a_read_only_archive_without_a_usable_catalog_rebuilds_it_in_memory(
        root: ArchiveRoot, catalog: str) -> None:
    expected = archiver(root.path, "list", "--json").stdout
    db = root.catalog_path
    if catalog == "missing":
        db.unlink()
    else:  # a WAL file with no -shm beside it: SQLite would have to create one
        con = sqlite3.connect(db)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE pending (x)")  # something in the -wal
        shutil.copyfile(db.with_name(db.name + "-wal"), db.with_name(db.name + "-wal.copy"))
        con.close()  # (removes the -wal; put one back, as a kill -9 leaves it)
        db.with_name(db.name + "-wal.copy").rename(db.with_name(db.name + "-wal"))
    ro = archiver_read_only(root.path, "list", "--json")
    assert ro.returncode == 0, ro.stderr
    assert "the catalog was rebuilt in memory from the WARCs" in ro.stderr
    assert "reindex" not in ro.stderr  # which cannot work there
    assert sorted(ro.stdout.splitlines()) == sorted(expected.splitlines())


WRITING = [("capture", "http://127.0.0.1:9/x"), ("manifest",), ("reindex",),
           ("export", "bagit", "{bag}")]


@pytest.mark.parametrize("args", WRITING, ids=lambda a: a[0])
def test_writing_commands_on_a_read_only_archive_fail_with_one_line(
        root: ArchiveRoot, tmp_path: Path, args: tuple[str, ...]) -> None:
    before = tree(root.path)
    bag = tmp_path / "bag"
    ro = archiver_read_only(root.path, *(a.format(bag=bag) for a in args))
    assert ro.returncode == 2, ro.stderr
    assert ro.stderr == (f"archiver: error: {root.path}: the archive is on a read-only file "
                         "system; nothing was written (reading commands still work: verify, "
                         "list, extract)\n")
    assert tree(root.path) == before and not bag.exists()


ALL = [*READING, *WRITING[1:]]


@pytest.mark.parametrize("where", ["empty-folder", "mistyped-root"])
@pytest.mark.parametrize("args", ALL, ids=" ".join)
def test_no_command_but_capture_creates_an_archive(
        tmp_path: Path, where: str, args: tuple[str, ...]) -> None:
    target = tmp_path / "archive"
    if where == "empty-folder":
        target.mkdir()
    done = archiver(target, *(a.format(bag=tmp_path / "bag") for a in args))
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert ("no archive here" in done.stderr or "no WARC files" in done.stderr), done.stderr
    assert sorted(tmp_path.rglob("*")) == ([target] if where == "empty-folder" else [])


def test_an_archive_this_user_cannot_write_is_read_as_read_only(
        shared_copy: ArchiveRoot) -> None:
    """Not read-only media: files of another user (root ignores mode bits, so the
    commands run as an ordinary user)."""
    root = shared_copy
    before = tree(root.path)

    def run() -> list[tuple[int, str, str]]:
        out = []
        for args in (["verify", "--jobs", "1"], ["list"], ["manifest"]):
            result = CliRunner().invoke(cli, ["--root", str(root.path), *args])
            out.append((result.exit_code, result.stdout, result.stderr))
        return out

    if os.geteuid() == 0:
        verify, listed, manifest = as_nobody(run)
    else:
        pytest.skip("needs root to run the commands as another user")
    assert verify[0] == 0 and "all intact" in verify[1], verify
    assert "not recorded in manifests/events.jsonl" in verify[2]
    assert listed[0] == 0 and listed[1].count("\n") >= 6, listed
    assert manifest == (2, "", f"archiver: error: {root.path}: the archive is not writable by "
                        "this user; nothing was written (reading commands still work: verify, "
                        "list, extract)\n")
    assert tree(root.path) == before
