"""The extraction-quality metric of ``extraction-dev/README.md``, shared by the
benchmark and the regression test.

Texts are split into tokens (``\\w+``, or one token per CJK character for the
CJK variant), every run of 4 consecutive tokens is a shingle, and precision
and recall are taken over the multiset of shingles for each page; the corpus
scores average P and R over pages and F1 is their harmonic mean.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SHINGLE = 4
_WORD = re.compile(r"\w+")
# CJK ideographs, kana and hangul: one token per character in the CJK variant.
_CJK = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\U00020000-\U0002fa1f"
)
_WORD_CJK = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


def tokens(text: str, *, cjk: bool) -> list[str]:
    """``text`` as metric tokens."""
    return (_WORD_CJK if cjk else _WORD).findall(text)


def shingles(text: str, *, cjk: bool) -> Counter[tuple[str, ...]]:
    """The multiset of 4-token shingles (the whole text if it is shorter)."""
    toks = tokens(text, cjk=cjk)
    n = min(SHINGLE, len(toks))
    if n == 0:
        return Counter()
    return Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))


def precision_recall(predicted: str, truth: str, *, cjk: bool) -> tuple[float, float]:
    """Shingle precision and recall of one page (0, 0 for an empty prediction)."""
    pred, true = shingles(predicted, cjk=cjk), shingles(truth, cjk=cjk)
    if not pred or not true:
        return (0.0, 0.0) if true else (1.0, 1.0) if not pred else (0.0, 1.0)
    hit = sum((pred & true).values())
    return hit / sum(pred.values()), hit / sum(true.values())


@dataclass(frozen=True)
class Score:
    """Corpus P/R/F1: P and R averaged over pages, F1 their harmonic mean."""

    precision: float
    recall: float
    pages: int

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def corpus_score(pairs: Iterable[tuple[str, str]], *, cjk: bool) -> Score:
    """Score (predicted, truth) pairs."""
    ps: list[float] = []
    rs: list[float] = []
    for predicted, truth in pairs:
        p, r = precision_recall(predicted, truth, cjk=cjk)
        ps.append(p)
        rs.append(r)
    if not ps:
        return Score(0.0, 0.0, 0)
    return Score(sum(ps) / len(ps), sum(rs) / len(rs), len(ps))


@dataclass(frozen=True)
class DevPage:
    """One page of the dev set."""

    id: str
    html: str
    raw: bytes
    meta: dict[str, object]

    @property
    def body(self) -> str:
        return str(self.meta["body"])


def datasets_folder(repo: Path) -> Path:
    """The shared datasets folder: ``$ARCHIVER_DATASETS``, else the repository's
    sibling ``../shared/datasets`` (it may not exist: callers check)."""
    env = os.environ.get("ARCHIVER_DATASETS")
    return Path(env) if env else repo.parent / "shared" / "datasets"


def group_of(page_id: str) -> str:
    """A page's group: the part of its id before the first ``-`` (rdb, zhce, wcxbart…)."""
    return page_id.split("-", 1)[0]


def site_hash(site: str) -> bytes:
    return hashlib.sha256(site.encode("utf-8")).digest()


def site_of(page_id: str, meta: dict[str, object]) -> str:
    """A page's ``site``; the 27 L3S pages without one are each their own site."""
    return str(meta.get("site") or page_id)


def is_validation(site: str) -> bool:
    """The fixed 20% of extraction-web's sites set aside before any tuning: never
    looked at page by page, only reported as group scores."""
    return site_hash(site)[0] < 51


def fold_of(site: str) -> int:
    """The site-fold (0-4) of a tuning site; -1 for a validation site."""
    return -1 if is_validation(site) else site_hash(site)[1] % 5


def load_web(folder: Path, ids: Iterable[str] | None = None) -> Iterator[DevPage]:
    """The extraction-web pages in ``folder`` (sorted): NAME.html.gz decoded by its
    ``encoding``, NAME.json its ground truth (with ``site``)."""
    names = sorted(ids) if ids is not None else sorted(p.stem for p in folder.glob("*.json"))
    for name in names:
        meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        raw = gzip.decompress((folder / f"{name}.html.gz").read_bytes())
        yield DevPage(name, raw.decode(str(meta["encoding"]), errors="replace"), raw, meta)


def web_sites(folder: Path) -> dict[str, tuple[str, str]]:
    """page id -> (group, site) for every extraction-web page, from the JSON only."""
    out: dict[str, tuple[str, str]] = {}
    for path in sorted(folder.glob("*.json")):
        meta = json.loads(path.read_text(encoding="utf-8"))
        out[path.stem] = (group_of(path.stem), site_of(path.stem, meta))
    return out


def gate_sample(folder: Path, pages: int = 16) -> list[str]:
    """The quality gate's fixed sample of extraction-web: for every group, about
    ``pages`` pages from tuning sites (never validation ones), taken site by site
    in the order of their hash, at most 2 from a site (more only when the group
    has too few sites). Sites, not pages: a site's pages share a template."""
    by_group: dict[str, dict[str, list[str]]] = {}
    for page_id, (group, site) in web_sites(folder).items():
        if not is_validation(site):
            by_group.setdefault(group, {}).setdefault(site, []).append(page_id)
    chosen: list[str] = []
    for group in sorted(by_group):
        sites = by_group[group]
        per_site = max(2, -(-pages // len(sites)))
        taken = 0
        for site in sorted(sites, key=site_hash):
            if taken >= pages:
                break
            ids = sorted(sites[site])[:per_site]
            chosen.extend(ids)
            taken += len(ids)
    return sorted(chosen)


def load_dev(folder: Path, ids: Iterable[str] | None = None) -> Iterator[DevPage]:
    """The dev pages in ``folder`` (sorted), decoded as the README says."""
    names = sorted(ids) if ids is not None else sorted(p.stem for p in folder.glob("*.json"))
    for name in names:
        meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        raw = (folder / f"{name}.html").read_bytes()
        yield DevPage(name, raw.decode(str(meta["encoding"]), errors="replace"), raw, meta)


def _norm(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(text.split())


def same_title(ours: str | None, truth: str) -> bool:
    """Equal after Unicode/case/whitespace normalisation."""
    return _norm(ours) == _norm(truth)


def same_author(ours: str | None, truth: str) -> bool:
    """Equal after normalisation, ignoring a leading "by"."""
    strip = re.compile(r"^(by|von|par|por)\s+")
    return bool(ours) and strip.sub("", _norm(ours)) == strip.sub("", _norm(truth))


def same_date(ours: str | None, truth: str) -> bool:
    """Same calendar day (or month, when the truth only gives a month)."""
    m = re.match(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?", truth.strip())
    if not m or not ours:
        return False
    want = f"{m[1]}-{int(m[2]):02d}" + (f"-{int(m[3]):02d}" if m[3] else "")
    return ours.startswith(want)


def regression_subset(folder: Path) -> list[str]:
    """The fixed small subset the regression test scores: every 8th page by name."""
    return sorted(p.stem for p in folder.glob("*.json"))[::8]
