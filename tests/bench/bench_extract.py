"""Extraction benchmark on the shared datasets ``extraction-dev`` and
``extraction-web`` (run by hand; ``$ARCHIVER_DATASETS`` or ``../shared/datasets``).

    python tests/bench/bench_extract.py                      # ours + trafilatura, everything
    python tests/bench/bench_extract.py --only ours --tuning --save /tmp/a.json
    python tests/bench/bench_extract.py --only ours --tuning --compare /tmp/a.json
    python tests/bench/bench_extract.py --only ours --tuning --worst 20 --folds fold0 fold1
    python tests/bench/bench_extract.py --only ours --tuning --behind 30 --groups dragnet
    python tests/bench/bench_extract.py --write-baseline

Scores every extractor on the same decoded pages in the same run: shingle
P/R/F1 (CJK tokenizer: one token per CJK character) per group (``rdb``,
``zhce`` of extraction-dev; ``wcxbart``, ``dragnet``, ``l3s``, ``cpe``,
``wcxbmix`` of extraction-web), extraction-web split by site into the fixed
validation sites (20%, by a hash of ``site``: never looked at page by page)
and five site-folds of tuning sites; catastrophes (trafilatura >= 0.8, ours <
0.2); title/author/date accuracy; pages per CPU second (``time.process_time``
around each call, so other processes on the machine do not count) and the
ratio of ours to trafilatura from the same run.

``--tuning`` leaves the validation sites out of the run entirely; per-page
listings (``--worst``, ``--behind``, ``--catastrophes``, ``--compare``) never
show them. ``--behind N`` lists the N pages of ``--folds`` where trafilatura's
F1 (from the ``--ref`` cache) beats ours by the most, with both P/R: where
ours loses text that trafilatura keeps.
``--compare`` reports, fold by fold, how many pages a change moved by more
than 0.01 F1, better and worse: a rule is kept when it helps the folds it was
not tuned on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from extract_metric import (  # noqa: E402
    DevPage,
    Score,
    datasets_folder,
    fold_of,
    gate_sample,
    group_of,
    load_dev,
    load_web,
    precision_recall,
    regression_subset,
    same_author,
    same_date,
    same_title,
    site_of,
)

DATASETS = datasets_folder(REPO)
BASELINE = HERE / "extract_baseline.json"
DEV_GROUPS = ("rdb", "zhce")
NEWS_GROUPS = ("wcxbart", "dragnet", "l3s", "cpe")
WEB_GROUPS = (*NEWS_GROUPS, "wcxbmix")
CHANGED = 0.01  # an F1 move smaller than this is noise, not a change


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
    cpu: dict[str, float] = field(default_factory=dict)  # page id -> CPU seconds
    outputs: dict[str, Output] = field(default_factory=dict)
    pr: dict[str, tuple[float, float]] = field(default_factory=dict)  # page id -> (P, R)
    errors: dict[str, str] = field(default_factory=dict)


def run_one(name: str, make: Callable[[], Extractor], pages: list[DevPage]) -> Result | None:
    try:
        extract = make()
    except ImportError as exc:
        print(f"# {name}: not installed ({exc}); skipped", file=sys.stderr)
        return None
    result = Result(name)
    for page in pages:
        start = time.process_time()
        try:
            out = extract(page)
        except Exception as exc:  # a reference tool crashing is a data point, not a stop
            result.errors[page.id] = f"{type(exc).__name__}: {exc}"
            out = Output("")
        result.cpu[page.id] = time.process_time() - start
        result.outputs[page.id] = out
        result.pr[page.id] = precision_recall(out.text, page.body, cjk=True)
    return result


def f1(pr: tuple[float, float]) -> float:
    p, r = pr
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


@dataclass(frozen=True)
class Slice:
    """A named set of pages to report on."""

    name: str
    ids: list[str]


def slices(pages: list[DevPage]) -> list[Slice]:
    """Per group: all pages; for extraction-web also tuning and validation sites."""
    by: dict[str, list[str]] = {}
    for p in pages:
        g = group_of(p.id)
        web = g in WEB_GROUPS
        by.setdefault(g, []).append(p.id)
        if web:
            val = fold_of(site_of(p.id, p.meta)) < 0
            by.setdefault(f"{g}/{'val' if val else 'tune'}", []).append(p.id)
            if g in NEWS_GROUPS:
                by.setdefault(f"news/{'val' if val else 'tune'}", []).append(p.id)
                by.setdefault("news", []).append(p.id)
            by.setdefault("web", []).append(p.id)
        else:
            by.setdefault("dev", []).append(p.id)
    order = [*DEV_GROUPS, "dev"]
    for g in (*WEB_GROUPS, "news"):
        order += [g, f"{g}/tune", f"{g}/val"]
    order.append("web")
    return [Slice(n, by[n]) for n in order if n in by]


def score_slice(result: Result, ids: list[str]) -> Score:
    ps = [result.pr[i][0] for i in ids]
    rs = [result.pr[i][1] for i in ids]
    return Score(sum(ps) / len(ps), sum(rs) / len(rs), len(ps)) if ids else Score(0, 0, 0)


def catastrophes(ours_r: Result, ref: dict[str, tuple[float, float]],
                 ids: Iterable[str]) -> list[str]:
    return [i for i in ids if i in ref and f1(ref[i]) >= 0.8 and f1(ours_r.pr[i]) < 0.2]


def accuracy(result: Result, pages: list[DevPage], key: str) -> tuple[float, int]:
    same: Callable[[str | None, str], bool] = {
        "title": same_title, "author": same_author, "date": same_date}[key]
    truth = [(p, p.meta.get(key)) for p in pages if p.meta.get(key)]
    hits = sum(1 for p, t in truth if same(getattr(result.outputs[p.id], key), str(t)))
    return (hits / len(truth) if truth else 0.0), len(truth)


def report(results: dict[str, Result], pages: list[DevPage],
           ref: dict[str, tuple[float, float]]) -> dict[str, dict[str, object]]:
    """Print the tables; return them as data (for the baseline)."""
    names = list(results)
    table: dict[str, dict[str, object]] = {n: {} for n in names}
    head = f"{'slice':<14}{'pages':>6}" + "".join(f"{n + ' F1':>17}{'P':>7}{'R':>7}"
                                                   for n in names)
    has_ours = "ours" in results
    print(head + (f"{'catastr.':>9}{'speed':>7}" if has_ours and len(names) > 1 else ""))
    for s in slices(pages):
        row = f"{s.name:<14}{len(s.ids):>6}"
        for n in names:
            sc = score_slice(results[n], s.ids)
            table[n][s.name] = {"f1": round(sc.f1, 4), "p": round(sc.precision, 4),
                                "r": round(sc.recall, 4), "pages": sc.pages}
            row += f"{sc.f1:>17.4f}{sc.precision:>7.3f}{sc.recall:>7.3f}"
        if has_ours and ref:
            row += f"{len(catastrophes(results['ours'], ref, s.ids)):>9}"
        if has_ours and "trafilatura" in results:
            a = sum(results["ours"].cpu[i] for i in s.ids)
            b = sum(results["trafilatura"].cpu[i] for i in s.ids)
            row += f"{b / a if a else 0:>6.2f}x"
        print(row)
    print("\nspeed: ours' pages per CPU second over trafilatura's (bare_extraction with metadata)")
    print("\nmetadata accuracy")
    for part, chosen in (("dev", [p for p in pages if group_of(p.id) in DEV_GROUPS]),
                         ("web", [p for p in pages if group_of(p.id) in WEB_GROUPS])):
        for key in ("title", "author", "date"):
            row = f"  {part + ' ' + key:<12}"
            for n in names:
                acc, total = accuracy(results[n], chosen, key)
                table[n][f"{part}/{key}"] = {"acc": round(acc, 4), "n": total}
                row += f"{n:>14} {acc:.4f} (n={total})"
            print(row)
    print("\nCPU pages/s")
    for n in names:
        r = results[n]
        for part in ("dev", "web"):
            ids = [p.id for p in pages if (group_of(p.id) in DEV_GROUPS) == (part == "dev")]
            secs = sum(r.cpu[i] for i in ids)
            rate = len(ids) / secs if secs else 0.0
            table[n][f"{part}/pages_per_cpu_s"] = round(rate, 2)
            print(f"  {n:<12}{part:<5}{rate:8.1f}")
        table[n]["empty"] = sum(1 for o in r.outputs.values() if not o.text.strip())
        table[n]["errors"] = len(r.errors)
    folds = sorted({fold_of(site_of(p.id, p.meta)) for p in pages
                    if group_of(p.id) in NEWS_GROUPS} - {-1})
    if folds:
        print("\nnews groups by site-fold (tuning sites): F1")
        for k in folds:
            ids = [p.id for p in pages if group_of(p.id) in NEWS_GROUPS
                   and fold_of(site_of(p.id, p.meta)) == k]
            row = f"  fold {k} ({len(ids)} pages)"
            for n in names:
                sc = score_slice(results[n], ids)
                table[n][f"fold{k}"] = round(sc.f1, 4)
                row += f"  {n} {sc.f1:.4f}"
            print(row)
    return table


def fold_name(page: DevPage) -> str:
    g = group_of(page.id)
    if g not in WEB_GROUPS:
        return "dev"
    k = fold_of(site_of(page.id, page.meta))
    return "val" if k < 0 else f"fold{k}"


def compare(result: Result, pages: list[DevPage], saved: dict[str, list[float]],
            show: list[str]) -> None:
    """Pages moved by more than CHANGED since ``saved``, by fold (never validation)."""
    print(f"\nchanged pages (|dF1| > {CHANGED}) against the saved run, tuning sites:")
    rows: dict[str, list[tuple[str, float]]] = {}
    delta: dict[str, float] = {}
    for p in pages:
        fold = fold_name(p)
        if fold == "val" or p.id not in saved:
            continue
        d = f1(result.pr[p.id]) - f1((saved[p.id][0], saved[p.id][1]))
        delta[fold] = delta.get(fold, 0.0) + d
        if abs(d) > CHANGED:
            rows.setdefault(fold, []).append((p.id, d))
    counts = {fold: 0 for fold in delta}
    for p in pages:
        if fold_name(p) in counts and p.id in saved:
            counts[fold_name(p)] += 1
    for fold in sorted(delta):
        moved = [d for _, d in rows.get(fold, [])]
        better = sum(1 for d in moved if d > 0)
        print(f"  {fold:<6} pages {counts[fold]:>4}  better {better:>3}  "
              f"worse {len(moved) - better:>3}  mean dF1 {delta[fold] / counts[fold]:+.4f}")
    if show:
        print(f"\nchanged pages in {' '.join(show)}:")
        for fold in show:
            for pid, d in sorted(rows.get(fold, []), key=lambda row: row[1]):
                print(f"  {pid:<44} {d:+.3f}")


def print_worst(result: Result, pages: list[DevPage], n: int, folds: list[str]) -> None:
    rows = []
    for p in pages:
        if fold_name(p) in folds:
            pr, rc = result.pr[p.id]
            rows.append((f1((pr, rc)), pr, rc, p.id))
    for score, pr, rc, pid in sorted(rows)[:n]:
        print(f"{pid:<44} f1={score:.3f} p={pr:.3f} r={rc:.3f}")


def print_behind(result: Result, ref: dict[str, tuple[float, float]], pages: list[DevPage],
                 n: int, folds: list[str]) -> None:
    """The N pages of ``folds`` where trafilatura's F1 beats ours by the most."""
    rows = []
    for p in pages:
        if fold_name(p) in folds and p.id in ref:
            gap = f1(ref[p.id]) - f1(result.pr[p.id])
            if gap > 0:
                rows.append((-gap, p.id))
    for gap, pid in sorted(rows)[:n]:
        (mp, mr), (tp, tr) = result.pr[pid], ref[pid]
        print(f"{pid:<44} -{-gap:.3f}  ours p={mp:.3f} r={mr:.3f}  "
              f"trafilatura p={tp:.3f} r={tr:.3f}")


def load(args: argparse.Namespace) -> list[DevPage]:
    pages: list[DevPage] = []
    if "dev" in args.data:
        pages += load_dev(args.datasets / "extraction-dev", args.ids)
    if "web" in args.data:
        web = args.datasets / "extraction-web"
        ids = args.ids
        if ids is not None:
            ids = [i for i in ids if (web / f"{i}.json").exists()]
        pages += load_web(web, ids)
    if args.ids is not None and "dev" in args.data:
        pages = [p for p in pages if p.id in set(args.ids)]
    if args.groups:
        pages = [p for p in pages if group_of(p.id) in args.groups]
    if args.tuning:
        pages = [p for p in pages if fold_name(p) != "val"]
    return pages


def gate_scores(datasets: Path) -> dict[str, object]:
    """Ours on the quality gate's fixed samples (what the test compares against)."""
    dev = datasets / "extraction-dev"
    web = datasets / "extraction-web"
    dev_pages = list(load_dev(dev, regression_subset(dev)))
    web_pages = list(load_web(web, gate_sample(web)))
    result = run_one("ours", ours, dev_pages + web_pages)
    assert result is not None
    out: dict[str, object] = {"dev-ids": [p.id for p in dev_pages],
                              "web-ids": [p.id for p in web_pages]}
    for group in (*DEV_GROUPS, *WEB_GROUPS):
        ids = [p.id for p in dev_pages + web_pages if group_of(p.id) == group]
        sc = score_slice(result, ids)
        out[group] = {"f1": round(sc.f1, 4), "p": round(sc.precision, 4),
                      "r": round(sc.recall, 4), "pages": sc.pages}
    for key in ("title", "author", "date"):
        acc, total = accuracy(result, dev_pages, key)
        out[f"dev/{key}"] = {"acc": round(acc, 4), "n": total}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", type=Path, default=DATASETS)
    ap.add_argument("--data", nargs="+", choices=("dev", "web"), default=["dev", "web"])
    ap.add_argument("--groups", nargs="*", help="only these groups (rdb, zhce, wcxbart…)")
    ap.add_argument("--only", action="append", choices=sorted(EXTRACTORS))
    ap.add_argument("--ids", nargs="*", help="page ids (default: all)")
    ap.add_argument("--tuning", action="store_true", help="leave the validation sites out")
    ap.add_argument("--worst", type=int, default=0, help="list ours' N worst tuning pages")
    ap.add_argument("--folds", nargs="*", default=["dev", "fold0", "fold1", "fold2"],
                    help="folds --worst and --catastrophes look at (dev, fold0…fold4)")
    ap.add_argument("--behind", type=int, default=0,
                    help="list the N pages of --folds where trafilatura (--ref) beats ours most")
    ap.add_argument("--catastrophes", action="store_true", help="list them (tuning folds)")
    ap.add_argument("--save", type=Path, help="write ours' per-page P/R (tuning sites only)")
    ap.add_argument("--compare", type=Path, help="changed pages against a --save file")
    ap.add_argument("--changed", action="store_true",
                    help="with --compare: list the changed pages of --folds")
    ap.add_argument("--ref", type=Path, default=Path("/tmp/bench-extract-trafilatura.json"),
                    help="trafilatura's per-page P/R, kept from a run with it for --only ours")
    ap.add_argument("--write-baseline", action="store_true", help=f"write {BASELINE.name}")
    args = ap.parse_args()
    if args.write_baseline:
        BASELINE.write_text(json.dumps({"gate": gate_scores(args.datasets)}, indent=2,
                                       sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {BASELINE}")
        return
    pages = load(args)
    chosen = args.only or ["ours", "trafilatura"]
    results = {n: r for n in chosen if (r := run_one(n, EXTRACTORS[n], pages))}
    ref: dict[str, tuple[float, float]] = {}
    if "trafilatura" in results:
        ref = results["trafilatura"].pr
        keep = {p.id: list(ref[p.id]) for p in pages if fold_name(p) != "val"}
        old = json.loads(args.ref.read_text()) if args.ref.exists() else {}
        args.ref.write_text(json.dumps({**old, **keep}))
    elif args.ref.exists():
        ref = {k: (v[0], v[1]) for k, v in json.loads(args.ref.read_text()).items()}
    print(f"{len(pages)} pages from {args.datasets} ({', '.join(args.data)})\n")
    report(results, pages, ref)
    for name, r in results.items():
        for pid, err in sorted(r.errors.items()):
            print(f"# {name} failed on {pid}: {err}", file=sys.stderr)
    if "ours" not in results:
        return
    mine = results["ours"]
    if args.catastrophes:
        print("\ncatastrophes (trafilatura >= 0.8, ours < 0.2) in", " ".join(args.folds))
        for pid in catastrophes(mine, ref, (p.id for p in pages if fold_name(p) in args.folds)):
            print(f"  {pid:<44} ours {f1(mine.pr[pid]):.3f}  trafilatura {f1(ref[pid]):.3f}")
    if args.worst:
        print(f"\nours, {args.worst} worst pages in", " ".join(args.folds))
        print_worst(mine, pages, args.worst, args.folds)
    if args.behind:
        print(f"\nours, {args.behind} pages furthest behind trafilatura in", " ".join(args.folds))
        print_behind(mine, ref, pages, args.behind, args.folds)
    if args.compare:
        compare(mine, pages, json.loads(args.compare.read_text()),
                args.folds if args.changed else [])
    if args.save:
        args.save.write_text(json.dumps(
            {p.id: list(mine.pr[p.id]) for p in pages if fold_name(p) != "val"}))
        print(f"\nsaved {args.save}")


if __name__ == "__main__":
    main()
