"""Symbolic links under warcs/ are never followed: not hashed, listed or exported.

A link could point anywhere (``/etc/passwd``, another disk); the archive's
evidence is the files inside it. And a file that is not a readable WARC is
listed by ``archiver manifest`` only when asked (``--accept-unreadable``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixity_archive import warcs

from archiver import ArchiveRoot
from archiver.cli import cli
from archiver.errors import ExportError
from archiver.fixity.bagit import export_bagit
from archiver.fixity.verification import verify_archive


def run(root: ArchiveRoot, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--root", str(root.path), *args])
    return result.exit_code, result.stdout, result.stderr


def sha256sum_c(root: ArchiveRoot) -> None:
    check = subprocess.run(["sha256sum", "-c", "manifests/manifest-sha256.txt"], cwd=root.path,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.fixture
def linked(root: ArchiveRoot, tmp_path: Path) -> ArchiveRoot:
    """The archive with a link to /etc/passwd named like a WARC, and a linked folder."""
    folder = root.absolute(warcs(root)[0]).parent
    (folder / "passwd.warc.gz").symlink_to("/etc/passwd")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.warc.gz").write_bytes(b"not ours")
    (root.warcs / "other").symlink_to(tmp_path / "other", target_is_directory=True)
    return root


def folder_of_first(root: ArchiveRoot) -> str:
    (first, *_) = sorted(p for p in root.warcs.rglob("*.warc.gz") if not p.is_symlink())
    return root.relative(first.parent)


def test_verify_reports_links_as_extra_and_follows_none(linked: ArchiveRoot) -> None:
    folder = folder_of_first(linked)
    problems = verify_archive(linked, jobs=1).problems
    assert [(p.kind, p.path, p.detail, p.found_sha256) for p in problems] == [
        ("extra", f"{folder}/passwd.warc.gz", "symlink to /etc/passwd; not followed (a link "
         "is never part of the archive)", None),
        ("extra", "warcs/other", f"symlink to {linked.path.parent / 'other'}; not followed "
         "(a link is never part of the archive)", None),
    ]
    code, out, _ = run(linked, "verify")
    assert code == 1 and "extra          warcs/other  symlink to" in out


def test_manifest_lists_no_link_and_export_copies_none(linked: ArchiveRoot,
                                                       tmp_path: Path) -> None:
    folder = folder_of_first(linked)
    code, out, err = run(linked, "manifest")
    assert code == 1
    assert (f"archiver: {folder}/passwd.warc.gz: not listed: symlink to /etc/passwd; not "
            "followed (a link is never part of the archive); remove the link") in err
    assert "archiver: warcs/other: not listed: symlink to" in err
    assert "2 left out" in out
    listed = (linked.manifest_path).read_text()
    assert "passwd" not in listed and "warcs/other" not in listed
    assert listed.count("\n") == 2
    sha256sum_c(linked)
    export_bagit(linked, tmp_path / "bag")
    bagged = {p.name for p in (tmp_path / "bag").rglob("*")}
    assert "passwd.warc.gz" not in bagged and "x.warc.gz" not in bagged
    assert not (tmp_path / "bag" / "data" / "warcs" / "other").exists()


def test_export_refuses_a_listed_file_replaced_by_a_link(root: ArchiveRoot,
                                                         tmp_path: Path) -> None:
    first = root.absolute(warcs(root)[0])
    copy = tmp_path / "copy.warc.gz"
    copy.write_bytes(first.read_bytes())  # identical bytes, outside the archive
    first.unlink()
    first.symlink_to(copy)
    with pytest.raises(ExportError, match="is a symlink, not the file the manifest lists"):
        export_bagit(root, tmp_path / "bag")
    assert not (tmp_path / "bag").exists()


def test_a_file_that_is_not_a_readable_warc_is_listed_only_when_accepted(
        root: ArchiveRoot) -> None:
    notes = root.warcs / "notes.warc.gz"
    notes.write_bytes(b"my notes on the captures\n")
    code, _, err = run(root, "manifest")
    assert code == 1
    assert err.startswith("archiver: warcs/notes.warc.gz: not listed: not a readable WARC (at "
                          "offset 0: ")
    assert "repair or remove it, or pass --accept-unreadable to list it anyway" in err
    assert "warcs/notes.warc.gz" not in root.manifest_path.read_text()
    sha256sum_c(root)

    code, _, err = run(root, "manifest", "--accept-unreadable")
    assert code == 0, err
    assert "archiver: warning: warcs/notes.warc.gz: WARC records unreadable" in err
    assert "warcs/notes.warc.gz" in root.manifest_path.read_text()
    sha256sum_c(root)
