"""Extraction quality gate: our F1 on a fixed subset of the dev set must not drop
below the committed baseline (tests/bench/extract_baseline.json) minus a small
tolerance. Re-baseline with ``python tests/bench/bench_extract.py --write-baseline``."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from archiver import extract_article

REPO = Path(__file__).resolve().parents[2]
# The dev set lives beside the repository (../shared); a clone made elsewhere
# (CI clones into a temporary folder) finds it through $ARCHIVER_DEV_SET or
# the shared workspace's usual place.
DEV = next((p for p in (Path(os.environ.get("ARCHIVER_DEV_SET", "")),
                        REPO.parent / "shared" / "datasets" / "extraction-dev",
                        Path("/work/shared/datasets/extraction-dev"))
            if str(p) != "." and p.is_dir()),
           REPO.parent / "shared" / "datasets" / "extraction-dev")
BASELINE = REPO / "tests" / "bench" / "extract_baseline.json"
TOLERANCE = 0.01


def _metric() -> ModuleType:
    path = REPO / "tests" / "bench" / "extract_metric.py"
    spec = importlib.util.spec_from_file_location("extract_metric", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("extract_metric", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not DEV.is_dir(), reason=f"dev set not found at {DEV}")
@pytest.mark.parametrize("tokenizer", ["cjk", "word"])
def test_f1_on_the_fixed_subset_does_not_drop(tokenizer: str) -> None:
    metric = _metric()
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))["ours-subset"]
    ids = metric.regression_subset(DEV)
    assert ids == baseline["ids"], "the subset changed; re-run the bench with --write-baseline"
    pages = list(metric.load_dev(DEV, ids))
    pairs = [(extract_article(p.html).text, p.body) for p in pages]
    score = metric.corpus_score(pairs, cjk=tokenizer == "cjk")
    floor = baseline[f"all/{tokenizer}"]["f1"] - TOLERANCE
    assert score.f1 >= floor, f"F1 {score.f1:.4f} fell below the baseline floor {floor:.4f}"


@pytest.mark.skipif(not DEV.is_dir(), reason=f"dev set not found at {DEV}")
def test_no_empty_output_on_the_subset() -> None:
    metric = _metric()
    for page in metric.load_dev(DEV, metric.regression_subset(DEV)):
        assert extract_article(page.html).text.strip(), page.id


@pytest.mark.skipif(not DEV.is_dir(), reason=f"dev set not found at {DEV}")
@pytest.mark.parametrize("field", ["title", "author", "date"])
def test_metadata_accuracy_on_the_fixed_subset_does_not_drop(field: str) -> None:
    metric = _metric()
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))["ours-subset"][field]
    same = {"title": metric.same_title, "author": metric.same_author,
            "date": metric.same_date}[field]
    right = total = 0
    for page in metric.load_dev(DEV, metric.regression_subset(DEV)):
        truth = page.meta.get(field)
        if not truth:
            continue
        article = extract_article(page.html)
        ours = article.published if field == "date" else getattr(article, field)
        total += 1
        right += bool(same(ours, str(truth)))
    assert total == baseline["n"]
    # Counted in pages, not a tolerance: on a dozen pages one page is 8%.
    assert right >= round(baseline["acc"] * baseline["n"]), f"{field}: {right}/{total}"
