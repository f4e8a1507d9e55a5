"""archiver export bagit: a BagIt 1.0 bag that the Library of Congress's bagit-python accepts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner
from fixity_archive import flip_byte, warcs

from archiver import ArchiveRoot, ExportError
from archiver.cli import cli
from archiver.fixity.bagit import export_bagit
from archiver.fixity.verification import verify_archive


def test_bagit_python_validates_the_exported_bag(root: ArchiveRoot, tmp_path: Path) -> None:
    dest = tmp_path / "bag"
    result = CliRunner().invoke(cli, ["--root", str(root.path), "export", "bagit", str(dest)])
    assert result.exit_code == 0, result.output

    bag = bagit.Bag(str(dest))
    bag.validate(processes=2)  # raises BagValidationError on any problem
    payload = sorted(p.relative_to(dest).as_posix() for p in (dest / "data").rglob("*")
                     if p.is_file())
    assert payload == sorted(["data/manifests/events.jsonl", "data/manifests/manifest-sha256.txt",
                              "data/manifests/records.jsonl", "data/manifests/log.jsonl"]
                             + [f"data/{w}" for w in warcs(root)])
    total = sum((dest / p).stat().st_size for p in payload)
    assert bag.info["Payload-Oxum"] == f"{total}.{len(payload)}"
    assert bag.version_info == (1, 0) and set(bag.algorithms) == {"sha256"}
    for rel in warcs(root):
        assert (dest / "data" / rel).read_bytes() == root.absolute(rel).read_bytes()


def test_the_bagit_command_line_tool_validates_it_too(root: ArchiveRoot, tmp_path: Path) -> None:
    dest = tmp_path / "bag"
    export_bagit(root, dest)
    tool = shutil.which("bagit.py")
    command = [tool] if tool else [sys.executable, "-m", "bagit"]
    result = subprocess.run([*command, "--validate", "--processes", "2", str(dest)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stderr


def test_export_refuses_damaged_evidence_and_leaves_nothing(root: ArchiveRoot,
                                                            tmp_path: Path) -> None:
    first = warcs(root)[0]
    flip_byte(root.absolute(first), 100)
    with pytest.raises(ExportError, match="does not match the manifest"):
        export_bagit(root, tmp_path / "bag")
    assert list(tmp_path.iterdir()) == [root.path]


def test_export_refuses_an_existing_destination(root: ArchiveRoot, tmp_path: Path) -> None:
    (tmp_path / "bag").mkdir()
    result = CliRunner().invoke(cli, ["--root", str(root.path), "export", "bagit",
                                      str(tmp_path / "bag")])
    assert result.exit_code == 2
    assert "already exists" in result.output


def test_export_is_recorded_as_a_replication_event(root: ArchiveRoot, tmp_path: Path) -> None:
    report = export_bagit(root, tmp_path / "bag")
    last = json.loads((root.manifests / "events.jsonl").read_bytes().splitlines()[-1])
    assert (last["type"], last["object"]) == ("replication", str(tmp_path / "bag"))
    assert last["counts"] == {"files": report.files, "bytes": report.bytes}
    assert verify_archive(root, jobs=1).passed


def files_under(path: Path) -> set[Path]:
    return set(path.rglob("*"))


@pytest.mark.parametrize("via", ["dotdot", "symlink"])
def test_export_into_the_archive_is_refused_through_dotdot_or_a_symlink(
        root: ArchiveRoot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, via: str) -> None:
    (tmp_path / "elsewhere").mkdir()
    if via == "symlink":
        (tmp_path / "elsewhere" / "link").symlink_to(root.path / "warcs")
        dest = tmp_path / "elsewhere" / "link" / "bag"
    else:  # relative to a cwd outside the root, climbing back into it
        monkeypatch.chdir(tmp_path / "elsewhere")
        dest = Path("..") / root.path.name / "warcs" / "bag"
    before = files_under(root.path)
    result = CliRunner().invoke(cli, ["--root", str(root.path), "export", "bagit", str(dest)])
    assert result.exit_code == 2, result.output
    assert "is inside the archive root" in result.output
    assert files_under(root.path) == before


def test_the_next_export_removes_the_half_bag_a_killed_export_left(
        root: ArchiveRoot, tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".bag.partial-{dead.pid}"
    (stale / "data").mkdir(parents=True)
    (stale / "data" / "half.warc.gz").write_bytes(b"x" * 1000)
    other = tmp_path / ".other.partial-1"  # another destination's: not ours to touch
    other.mkdir()
    export_bagit(root, tmp_path / "bag")
    assert not stale.exists() and other.exists()
    assert bagit.Bag(str(tmp_path / "bag")).is_valid()
