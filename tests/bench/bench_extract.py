"""Extraction benchmark on ``../shared/datasets/extraction-dev`` (run by hand).

    python tests/bench/bench_extract.py                 # ours + references
    python tests/bench/bench_extract.py --only ours --worst 15
    python tests/bench/bench_extract.py --write-baseline

Scores every extractor on the same decoded pages in the same run: shingle
P/R/F1 (``\\w+`` and CJK tokenizers) overall and per part, title/author/date
accuracy, pages per second (single process, metadata included) and the number
of empty outputs; then the ratios of ours to each reference. trafilatura and
readability-lxml are the ``bench`` extra; a missing one is skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from extract_metric import (  # noqa: E402
    DevPage,
    Score,
    corpus_score,
    load_dev,
    precision_recall,
    regression_subset,
    same_author,
    same_date,
    same_title,
)

DEV = REPO.parent / "shared" / "datasets" / "extraction-dev"
BASELINE = HERE / "extract_baseline.json"
PARTS = ("all", "rdb-", "zhce-")


@dataclass
class Output:
    text: str
    title: str | None = None
    author: str | None = None
    date: str | None = None


Extractor = Callable[[DevPage], Output]


def ours() -> Extractor:
    from archiver import extract_article

    def run(page: DevPage) -> Output:
        a = extract_article(page.html)
        return Output(a.text, a.title, a.author, a.published)

    return run


def ours_bytes() -> Extractor:
    """Ours on the raw bytes: exercises charset sniffing too."""
    from archiver import extract_article

    def run(page: DevPage) -> Output:
        a = extract_article(page.raw)
        return Output(a.text, a.title, a.author, a.published)

    return run


def trafilatura() -> Extractor:
    import trafilatura as t

    def run(page: DevPage) -> Output:
        doc = t.bare_extraction(page.html, with_metadata=True)
        if doc is None:
            return Output("")
        return Output(doc.text or "", doc.title, doc.author, doc.date)

    return run


def readability() -> Extractor:
    import lxml.html
    from readability import Document

    blocks = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote",
              "tr", "br", "table", "ul", "ol", "section", "article", "dd", "dt", "figcaption"}

    def text_of(html: str) -> str:
        return _with_tails(lxml.html.fromstring(html), blocks)

    def run(page: DevPage) -> Output:
        doc = Document(page.html)
        return Output(text_of(doc.summary(html_partial=True)), doc.short_title())

    return run


def _with_tails(root: object, blocks: set[str]) -> str:
    out: list[str] = []

    def walk(el: object) -> None:
        tag = getattr(el, "tag", None)
        if not isinstance(tag, str):
            return
        if tag in blocks:
            out.append("\n")
        out.append(getattr(el, "text", None) or "")
        for child in el:  # type: ignore[attr-defined]
            walk(child)
            out.append(child.tail or "")
        if tag in blocks:
            out.append("\n")

    walk(root)
    lines = (" ".join(line.split()) for line in "".join(out).split("\n"))
    return "\n".join(line for line in lines if line)


EXTRACTORS: dict[str, Callable[[], Extractor]] = {
    "ours": ours,
    "ours-bytes": ours_bytes,
    "trafilatura": trafilatura,
    "readability": readability,
}


@dataclass
class Result:
    name: str
    seconds: float = 0.0
    outputs: dict[str, Output] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def run_one(name: str, make: Callable[[], Extractor], pages: list[DevPage]) -> Result | None:
    try:
        extract = make()
    except ImportError as exc:
        print(f"# {name}: not installed ({exc}); skipped", file=sys.stderr)
        return None
    result = Result(name)
    for page in pages:
        start = time.perf_counter()
        try:
            result.outputs[page.id] = extract(page)
        except Exception as exc:  # a reference tool crashing is a data point, not a stop
            result.errors[page.id] = f"{type(exc).__name__}: {exc}"
            result.outputs[page.id] = Output("")
        result.seconds += time.perf_counter() - start
    return result


def scores(result: Result, pages: list[DevPage]) -> dict[str, object]:
    out: dict[str, object] = {}
    for part in PARTS:
        chosen = [p for p in pages if part == "all" or p.id.startswith(part)]
        for cjk in (False, True):
            s: Score = corpus_score(
                ((result.outputs[p.id].text, p.body) for p in chosen), cjk=cjk)
            key = f"{part.rstrip('-')}/{'cjk' if cjk else 'word'}"
            out[key] = {"p": round(s.precision, 4), "r": round(s.recall, 4),
                        "f1": round(s.f1, 4), "pages": s.pages}
    out["title"] = _accuracy(result, pages, "title", same_title)
    out["author"] = _accuracy(result, pages, "author", same_author)
    out["date"] = _accuracy(result, pages, "date", same_date)
    out["pages_per_s"] = round(len(pages) / result.seconds, 2) if result.seconds else 0.0
    out["empty"] = sum(1 for p in pages if not result.outputs[p.id].text.strip())
    out["errors"] = len(result.errors)
    return out


def _accuracy(result: Result, pages: list[DevPage], key: str,
              same: Callable[[str | None, str], bool]) -> dict[str, float | int]:
    truth = [(p, p.meta.get(key)) for p in pages if p.meta.get(key)]
    hits = sum(1 for p, t in truth if same(getattr(result.outputs[p.id], key), str(t)))
    return {"acc": round(hits / len(truth), 4) if truth else 0.0, "n": len(truth)}


def print_table(table: dict[str, dict[str, object]]) -> None:
    names = list(table)
    keys = [f"{part.rstrip('-')}/{tok}" for part in PARTS for tok in ("word", "cjk")]
    print(f"{'metric':<18}" + "".join(f"{n:>14}" for n in names))
    for key in keys:
        row = "".join(f"{table[n][key]['f1']:>14.4f}" for n in names)  # type: ignore[index]
        print(f"{'F1 ' + key:<18}{row}")
    for key in ("title", "author", "date"):
        row = "".join(f"{table[n][key]['acc']:>14.4f}" for n in names)  # type: ignore[index]
        print(f"{key + ' acc':<18}{row}")
    for key in ("pages_per_s", "empty", "errors"):
        print(f"{key:<18}" + "".join(f"{table[n][key]!s:>14}" for n in names))
    if "ours" in table:
        for other in names:
            if other.startswith("ours"):
                continue
            print(f"\nours / {other}:")
            for key in ("all/cjk", "zhce/cjk", "all/word", "rdb/word"):
                a = table["ours"][key]["f1"]  # type: ignore[index]
                b = table[other][key]["f1"]  # type: ignore[index]
                print(f"  F1 {key:<10} {a / b if b else float('inf'):.3f}")
            a, b = table["ours"]["pages_per_s"], table[other]["pages_per_s"]
            print(f"  speed         {a / b if b else float('inf'):.2f}x")  # type: ignore[operator]


def print_worst(result: Result, pages: list[DevPage], n: int) -> None:
    rows = []
    for p in pages:
        pr, rc = precision_recall(result.outputs[p.id].text, p.body, cjk=True)
        f1 = 0.0 if pr + rc == 0 else 2 * pr * rc / (pr + rc)
        rows.append((f1, pr, rc, p.id))
    for f1, pr, rc, pid in sorted(rows)[:n]:
        print(f"{pid:<40} f1={f1:.3f} p={pr:.3f} r={rc:.3f}")


def subset_scores(dev: Path) -> dict[str, object]:
    """Ours on the regression test's fixed subset (what the test compares against)."""
    pages = list(load_dev(dev, regression_subset(dev)))
    result = run_one("ours", ours, pages)
    assert result is not None
    return {"ids": [p.id for p in pages], **scores(result, pages)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dev", type=Path, default=DEV)
    ap.add_argument("--only", action="append", choices=sorted(EXTRACTORS))
    ap.add_argument("--ids", nargs="*", help="page ids (default: all)")
    ap.add_argument("--worst", type=int, default=0, help="list ours' N worst pages")
    ap.add_argument("--write-baseline", action="store_true", help=f"write {BASELINE.name}")
    args = ap.parse_args()
    pages = list(load_dev(args.dev, args.ids))
    chosen = args.only or ["ours", "ours-bytes", "trafilatura", "readability"]
    results = {n: r for n in chosen if (r := run_one(n, EXTRACTORS[n], pages))}
    table = {name: scores(r, pages) for name, r in results.items()}
    print(f"{len(pages)} pages from {args.dev}\n")
    print_table(table)
    for name, r in results.items():
        for pid, err in sorted(r.errors.items()):
            print(f"# {name} failed on {pid}: {err}", file=sys.stderr)
    if args.worst and "ours" in results:
        print(f"\nours, {args.worst} worst pages (CJK tokenizer):")
        print_worst(results["ours"], pages, args.worst)
    if args.write_baseline:
        table["ours-subset"] = subset_scores(args.dev)
        BASELINE.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"\nwrote {BASELINE}")


if __name__ == "__main__":
    main()
