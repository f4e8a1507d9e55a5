"""The public surface: the package's names and the commands a user sees."""

from __future__ import annotations

import importlib
import itertools
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import click

import archiver
from archiver.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_public_name_resolves_and_nothing_else_is_advertised() -> None:
    # Asserted exactly, as httpx does: adding or dropping a public name is a decision.
    assert archiver.__all__ == [
        "ArchiveRoot", "ArchiveRootError", "ArchiverError", "Article", "CaptureError",
        "CaptureReport", "CaptureSettings", "CatalogError", "ConfigError", "ExportError",
        "ExtractError", "FailureReason", "FetchError", "InvalidURLError", "LockError",
        "ManifestError", "PageKind", "Problem", "VerifyError", "VerifyReport", "WarcError",
        "__version__", "capture_urls",
        "check_history", "export_bagit", "extract_article", "rebuild_manifest",
        "record_ingest", "verify_archive",
    ]
    for name in archiver.__all__:
        assert getattr(archiver, name) is not None, name


def test_errors_share_one_base() -> None:
    errors = importlib.import_module("archiver.errors")
    exceptions = [n for n in errors.__all__ if isinstance(getattr(errors, n), type)
                  and issubclass(getattr(errors, n), BaseException)]
    assert len(exceptions) == len(errors.__all__) - 1  # and the FailureReason codes
    for name in exceptions:
        assert issubclass(getattr(errors, name), archiver.ArchiverError), name


def _commands(group: click.Group, prefix: str = "archiver") -> list[str]:
    out = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            out += _commands(command, f"{prefix} {name}")
        else:
            out.append(f"{prefix} {name}")
    return out


def test_every_command_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    missing = [c for c in _commands(cli) if c not in readme]
    assert not missing, f"commands missing from README.md: {missing}"


def test_capture_does_not_load_the_extraction_stack() -> None:
    # Start-up time counts for every capture run: lxml and bs4 load only for extract.
    # (charset_normalizer is loaded by requests itself.)
    code = ("import sys, archiver.cli, archiver.capture.run; "
            "print(any(m in sys.modules for m in ('lxml', 'bs4')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_readme_failure_reason_table_lists_every_code() -> None:
    """The README's table of ``reason`` codes and the enum agree, both ways."""
    text = README.read_text(encoding="utf-8")
    rows = text[text.index("| reason |"):].splitlines()[2:]
    codes = set()
    for row in itertools.takewhile(lambda r: r.lstrip().startswith("|"), rows):
        codes.update(re.findall(r"`([a-z-]+)`", row.split("|")[1]))
    assert codes == {r.value for r in archiver.FailureReason}


def test_ci_dependency_floors_match_pyproject() -> None:
    """CI tests the lowest versions pyproject allows: the two lists must agree."""
    repo = README.parent
    deps = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted = {}
    for dep in deps:
        name, _, version = dep.partition(">=")
        wanted[name.strip().lower()] = version.strip()
    pinned = {}
    for line in (repo / ".ci" / "floors.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[name.strip().lower()] = version.strip()

    def norm(v: str) -> tuple[int, ...]:
        parts = [int(x) for x in v.split(".")]
        while parts and parts[-1] == 0:
            parts.pop()
        return tuple(parts)

    assert {k: norm(v) for k, v in pinned.items()} == {k: norm(v) for k, v in wanted.items()}
