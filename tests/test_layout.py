"""The package's layout rules: imports run one way between the pipelines, and never in a cycle.

``warc/`` is the shared layer under the three pipelines; ``extract/`` and
``fixity/`` stand on it alone; ``capture/`` may hand files to ``fixity/`` and
parse pages with ``extract/`` (to find a page's requisites); ``interop/``
(WACZ, replay) stands above all three;
nothing but the entry points imports ``cli``. Every import counts, including
ones inside functions (a late import hides a dependency, it does not remove it).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "archiver"

#: subpackage -> the subpackages it must not import
FORBIDDEN = {
    "warc": {"capture", "extract", "fixity", "interop", "cli"},
    "extract": {"capture", "fixity", "interop", "cli"},
    "fixity": {"capture", "extract", "interop", "cli"},
    "capture": {"interop", "cli"},
    # WACZ export and replay stand above the pipelines and may read all three
    "interop": {"cli"},
}


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, root: Path = PACKAGE) -> set[str]:
    """Every ``archiver.*`` module that ``path`` imports, resolved to absolute names."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("archiver"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("archiver"):
                continue
            found.add(target)
            # ``from . import x`` / ``from .warc import files`` name modules too
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                if _exists(candidate):
                    found.add(candidate)
    return found


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


@functools.cache
def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_subpackages_exist() -> None:
    for sub in ("warc", "capture", "extract", "fixity", "interop"):
        assert (PACKAGE / sub / "__init__.py").is_file(), sub
    # no flat module is left beside them but the shared ones, and spark: the
    # Spark job, named archiver.spark by its users (issue 17), which drives
    # extract/ and fixity/ from above as interop/ does and is imported by nothing
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert top == ["__init__", "__main__", "atomic", "cli", "demo", "errors", "hashing",
                   "root", "sizes", "spark", "version", "workers"]


@pytest.mark.parametrize("area", sorted(FORBIDDEN))
def test_imports_run_one_way(area: str) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items() if _area(module) == area
        for target in targets if _area(target) in FORBIDDEN[area]
    )
    assert wrong == []


def test_nothing_imports_cli() -> None:
    users = sorted(m for m, targets in _graph().items()
                   if "archiver.cli" in targets and m != "archiver.__main__")
    assert users == []


def test_shared_modules_import_no_pipeline() -> None:
    shared = {"archiver.errors", "archiver.version", "archiver.atomic", "archiver.root",
              "archiver.hashing", "archiver.sizes", "archiver.workers"}
    wrong = sorted(f"{m} imports {t}" for m, targets in _graph().items() if m in shared
                   for t in targets if _area(t) in {"warc", "capture", "extract", "fixity", "cli"})
    assert wrong == []


def test_no_import_cycle() -> None:
    graph = {m: {t for t in targets if t in _graph_keys()} - {m} for m, targets in _graph().items()}
    # a package's __init__ importing its own modules is how lazy APIs are built, not a cycle
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt == "archiver" or node == "archiver":
                continue
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def _graph_keys() -> set[str]:
    return {_module_name(p) for p in PACKAGE.rglob("*.py")}


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The rules above can fail: relative imports, late ones included, are resolved."""
    probe = tmp_path / "archiver" / "extract" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("def late():\n    from ..fixity.manifest import record_ingest\n"
                     "from . import scoring\n")
    found = _imports(probe, tmp_path / "archiver")
    assert "archiver.fixity.manifest" in found
    assert "archiver.extract" in found


def test_tests_import_their_helpers_by_module_name() -> None:
    """pywb (the replay extra) installs a top-level ``tests`` package into
    site-packages, which shadows this folder: ``from tests.servers import ...``
    fails wherever the extra is installed (CI). Helpers are imported as pytest
    puts them on the path: ``from servers import ...``."""
    tests = Path(__file__).resolve().parent
    wrong = sorted(
        f"{path.relative_to(tests)}:{node.lineno}"
        for path in tests.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "tests")
        or (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "tests"
                                                 for a in node.names)))
    assert wrong == []
