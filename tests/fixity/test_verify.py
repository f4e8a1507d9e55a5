"""archiver verify on damaged copies of a real captured archive: the exact report.

Each test copies the archive captured from the demo site on loopback, damages
it the way disks, people and copies do, and asserts every field of every
problem the report lists (only a decompressor's error wording is matched by
pattern, since it depends on which compressed bit was hit).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixity_archive import (
    as_nobody,
    flip_byte,
    manifest_sha,
    records_of,
    warcs,
)
from mountns import in_mount_namespace, require_mount_namespace

from archiver import ArchiveRoot
from archiver.cli import cli
from archiver.fixity.manifest import rebuild_manifest
from archiver.fixity.problem import DamagedRecord, Problem
from archiver.fixity.verification import VerifyMode, verify_archive
from archiver.hashing import sha256_file


def size(root: ArchiveRoot, rel: str) -> int:
    return root.absolute(rel).stat().st_size


def check(root: ArchiveRoot, mode: VerifyMode = VerifyMode.FULL) -> list[Problem]:
    return verify_archive(root, mode, jobs=1).problems


@pytest.mark.parametrize("mode", [{}, {"mode": VerifyMode.QUICK},
                                  {"mode": VerifyMode.SAMPLE, "sample_percent": 30.0, "seed": 7}])
def test_a_pristine_archive_is_intact(root: ArchiveRoot, mode: dict[str, object]) -> None:
    report = verify_archive(root, jobs=2, **mode)  # type: ignore[arg-type]
    assert report.problems == []
    assert report.passed and report.files == 2 and report.ok == 2


def test_full_mode_hashes_every_byte(root: ArchiveRoot) -> None:
    report = verify_archive(root, jobs=2)
    assert report.hashed_files == 2
    assert report.hashed_bytes == sum(size(root, w) for w in warcs(root))
    assert report.summary() == f"verify (full): 2 files, 2 hashed ({_kb(report.hashed_bytes)}):" \
        " all intact"


def _kb(n: int) -> str:
    return f"{n / 1000:.1f} KB"


def test_one_flipped_byte_mid_warc_names_the_file_and_the_capture(root: ArchiveRoot) -> None:
    first = warcs(root)[0]
    hit = [r for r in records_of(root, first)
           if r.offset <= size(root, first) // 2 < r.offset + r.length]
    # The middle of that record's gzip member: compressed data, covered by
    # its CRC (a flip in a member's header MTIME field would change no record).
    flip_byte(root.absolute(first), hit[0].offset + hit[0].length // 2)
    found, _ = sha256_file(root.absolute(first))
    expected = manifest_sha(root, first)

    [problem] = check(root)

    reasons = [r.reason for r in problem.records]
    assert problem == Problem(
        "modified", first, f"sha256 {found}, manifest {expected}", expected, found,
        size(root, first), size(root, first),
        records=tuple(DamagedRecord(r.offset, r.record_id, r.target_uri, reason)
                      for r, reason in zip(hit, reasons, strict=True)),
    )
    assert len(hit) == 1
    assert re.fullmatch(r"unreadable: .+|block sha256 [0-9a-f]{64} differs from the recorded "
                        r"[0-9a-f]{64}", reasons[0])
    assert check(root, VerifyMode.QUICK) == []  # same size: only hashing can see it


def test_truncation_names_every_record_lost_or_cut(root: ArchiveRoot) -> None:
    first = warcs(root)[0]
    full = size(root, first)
    recs = records_of(root, first)
    cut = recs[len(recs) // 2].offset + 10  # inside a record, half way through the file
    os.truncate(root.absolute(first), cut)
    found, _ = sha256_file(root.absolute(first))
    expected = manifest_sha(root, first)
    damaged = tuple(
        DamagedRecord(r.offset, r.record_id, r.target_uri,
                      "lost: the file ends before this record" if r.offset >= cut
                      else "cut off: the file ends inside this record")
        for r in recs if r.offset + r.length > cut
    )

    assert check(root) == [Problem(
        "truncated", first, f"size {cut} bytes, recorded {full}; sha256 {found}, "
        f"manifest {expected}", expected, found, full, cut, records=damaged)]
    assert check(root, VerifyMode.QUICK) == [Problem(
        "truncated", first, f"size {cut} bytes, recorded {full}", expected, None, full, cut)]


def test_deleted_warc_is_missing(root: ArchiveRoot) -> None:
    second = warcs(root)[1]
    full, expected = size(root, second), manifest_sha(root, second)
    root.absolute(second).unlink()
    missing = Problem("missing", second, "not on disk", expected, None, full)
    assert check(root) == [missing]
    assert check(root, VerifyMode.QUICK) == [missing]


def test_added_file_is_extra_but_open_warcs_and_gitkeep_are_not(root: ArchiveRoot) -> None:
    folder = root.absolute(warcs(root)[0]).parent
    (folder / "notes.txt").write_bytes(b"added later\n")
    (folder / "archiver-next.warc.gz.open").write_bytes(b"being written")
    (root.warcs / ".gitkeep").write_bytes(b"")
    rel = root.relative(folder / "notes.txt")
    # Extra files are hashed only to pair them with missing ones: none here.
    assert check(root) == [Problem("extra", rel, "listed in no manifest", None, None, None, 12)]


def test_moved_warc_is_moved_not_missing_plus_extra(root: ArchiveRoot) -> None:
    second = warcs(root)[1]
    full, expected = size(root, second), manifest_sha(root, second)
    target = root.warcs / "2001" / "01" / "01" / Path(second).name
    target.parent.mkdir(parents=True)
    root.absolute(second).rename(target)
    moved = Problem("moved", second, f"now at {root.relative(target)} (same sha256)", expected,
                    expected, full, moved_to=root.relative(target))
    assert check(root) == [moved]
    assert check(root, VerifyMode.QUICK) == [moved]


def test_name_renamed_to_nfd_is_reported_as_moved(root: ArchiveRoot) -> None:
    second = warcs(root)[1]
    nfc = root.absolute(second).with_name("café-récit.warc.gz")
    root.absolute(second).rename(nfc)
    rebuild_manifest(root, jobs=1)
    nfc_rel = root.relative(nfc)
    nfd = nfc.with_name(unicodedata.normalize("NFD", nfc.name))
    nfc.rename(nfd)
    nfd_rel = nfc_rel.replace(nfc.name, nfd.name)
    assert nfd_rel != nfc_rel and unicodedata.normalize("NFC", nfd_rel) == nfc_rel
    expected = manifest_sha(root, nfc_rel)

    assert check(root) == [Problem(
        "moved", nfc_rel, f"now at {nfd_rel!a}: the same name in another Unicode form (NFD)",
        expected, expected, size(root, nfd_rel), moved_to=nfd_rel)]


def _folder(path: Path) -> None:
    path.mkdir()


def _dangling(path: Path) -> None:
    path.symlink_to("/nonexistent/disk/evidence.warc.gz")


def _outside_copy(path: Path) -> None:
    # The same bytes, beside the archive root (path is ROOT/warcs/Y/M/D/NAME):
    # still not the archive's file.
    copy = path.parents[5] / "elsewhere.warc.gz"
    shutil.copyfile(path.with_suffix(".saved"), copy)
    path.symlink_to(copy)


@pytest.mark.parametrize(("replace", "message"), [
    (_folder, "cannot read: the path is a folder"),
    (_dangling, "cannot read: the path is a symlink to /nonexistent/disk/evidence.warc.gz; "
                "not followed (a link is never part of the archive)"),
    (_outside_copy, "cannot read: the path is a symlink to {target}; not followed (a link "
                    "is never part of the archive)"),
], ids=["folder-not-missing", "dangling-symlink", "symlink-to-an-identical-copy"])
def test_a_warc_that_cannot_be_read_is_unreadable(
    root: ArchiveRoot, replace: Callable[[Path], None], message: str
) -> None:
    first = warcs(root)[0]
    full, expected = size(root, first), manifest_sha(root, first)
    path = root.absolute(first)
    path.rename(path.with_suffix(".saved"))
    replace(path)
    path.with_suffix(".saved").unlink()
    target = os.readlink(path) if path.is_symlink() else ""
    assert check(root) == [Problem("unreadable", first, message.format(target=target),
                                   expected, None, full)]


def test_a_warc_that_fails_with_eio_is_unreadable(root: ArchiveRoot) -> None:
    """A disk sector that cannot be read: reading /proc/PID/mem at offset 0 fails
    with EIO for any user, through the same read() call; it is bind-mounted over
    the WARC, in a private mount namespace, for the verify run alone."""
    require_mount_namespace()
    first = warcs(root)[0]
    full, expected = size(root, first), manifest_sha(root, first)
    run = in_mount_namespace(
        f"mount --bind /proc/$$/mem {root.absolute(first)}",
        [sys.executable, "-m", "archiver", "--root", str(root.path), "verify", "--json",
         "--jobs", "1"])
    assert run.returncode == 1, run.stderr
    (problem,) = json.loads(run.stdout)["problems"]
    assert (problem["kind"], problem["path"], problem["detail"], problem["expected_sha256"],
            problem["expected_size"], problem["found_size"]) == (
        "unreadable", first, "cannot read: EIO: Input/output error", expected, full, None)


def test_a_mode_000_file_is_unreadable(shared_copy: ArchiveRoot) -> None:
    root = shared_copy
    first = warcs(root)[0]
    full, expected = size(root, first), manifest_sha(root, first)
    os.chmod(root.absolute(first), 0)

    def run() -> list[Problem]:
        return verify_archive(root, jobs=1, record_event=False).problems

    problems = as_nobody(run) if os.geteuid() == 0 else run()
    assert problems == [Problem("unreadable", first, "cannot read: EACCES: Permission denied",
                                expected, None, full)]


def test_every_problem_is_collected_in_one_sorted_report(root: ArchiveRoot) -> None:
    first, second = warcs(root)
    sizes = {w: size(root, w) for w in (first, second)}
    flip_byte(root.absolute(first), sizes[first] // 2)
    root.absolute(second).unlink()
    (root.warcs / "stray.bin").write_bytes(b"x")
    found, _ = sha256_file(root.absolute(first))

    report = verify_archive(root, jobs=2)

    assert [(p.kind, p.path) for p in report.problems] == [
        ("modified", first), ("missing", second), ("extra", "warcs/stray.bin")]
    assert report.problems[0].found_sha256 == found
    assert report.problems[0].expected_sha256 == manifest_sha(root, first)
    assert report.counts() == {"modified": 1, "missing": 1, "extra": 1}
    assert report.summary() == (
        f"verify (full): 2 files, 1 hashed ({_kb(sizes[first])}): 3 problems "
        "(1 modified, 1 missing, 1 extra)")
    assert verify_archive(root, jobs=1).problems == report.problems  # deterministic


def test_cli_prints_summary_and_list_and_exits_1(root: ArchiveRoot) -> None:
    second = warcs(root)[1]
    root.absolute(second).unlink()
    runner = CliRunner()
    result = runner.invoke(cli, ["--root", str(root.path), "verify", "--quick"])
    assert result.exit_code == 1
    assert result.output == (
        "verify (quick): 2 files: 1 problem (1 missing)\n"
        f"missing        {second}  not on disk\n")
    as_json = runner.invoke(cli, ["--root", str(root.path), "verify", "--json", "-j", "1"])
    assert as_json.exit_code == 1
    data = json.loads(as_json.output)
    assert data["passed"] is False and data["counts"] == {"missing": 1}
    assert data["problems"][0]["path"] == second and data["problems"][0]["kind"] == "missing"
    ok = runner.invoke(cli, ["--root", str(root.path), "verify", "--sample", "200"])
    assert ok.exit_code == 2  # a usage error, not a fixity failure


def test_each_run_records_a_fixity_check_event(root: ArchiveRoot) -> None:
    events = root.manifests / "events.jsonl"
    before = events.read_bytes().count(b"\n")
    verify_archive(root, jobs=1)
    verify_archive(root, jobs=1, record_event=False)
    lines = events.read_bytes().splitlines()
    assert len(lines) == before + 1
    last = json.loads(lines[-1])
    assert (last["type"], last["outcome"]) == ("fixity check", "pass")
    assert last["counts"]["problems"] == 0


def test_sample_is_seeded_and_takes_at_least_its_share_of_bytes(root: ArchiveRoot) -> None:
    a, b = (verify_archive(root, VerifyMode.SAMPLE, jobs=1, sample_percent=40, seed=1,
                           record_event=False) for _ in range(2))
    assert (a.hashed_files, a.hashed_bytes) == (b.hashed_files, b.hashed_bytes)
    assert a.hashed_bytes >= 0.4 * a.total_bytes
    assert a.mode == "sample" and a.seed == 1


def test_every_record_of_a_pristine_capture_passes_its_own_digests(root: ArchiveRoot) -> None:
    assert check(root, VerifyMode.RECORDS) == []


def test_verify_records_json_gives_every_file_the_same_fields(root: ArchiveRoot,
                                                              tmp_path: Path) -> None:
    # One builder for the CLI's entries and the Spark job's rows: a file that
    # cannot be read has the digest fields too, as null, not left out.
    from archiver.warc.check import RECORDS_FIELDS

    good = sorted(root.warcs.rglob("*.warc.gz"))[0]
    unreadable = tmp_path / "dir.warc.gz"
    unreadable.mkdir()
    result = CliRunner().invoke(cli, ["--root", str(tmp_path / "none"), "verify", "--records",
                                      "--json", str(good), str(unreadable)])
    assert result.exit_code == 1, result.output
    entries = {e["location"]: e for e in json.loads(result.stdout)["warcs"]}
    ok, bad = entries[good.as_posix()], entries[unreadable.as_posix()]
    assert tuple(ok) == tuple(bad) == RECORDS_FIELDS
    assert ok["ok"] and ok["problems"] == []
    assert ok["sha256"] == hashlib.sha256(good.read_bytes()).hexdigest()
    assert not bad["ok"] and bad["sha256"] is None and bad["records"] is None
    assert bad["problems"][0]["problem"]
