"""The extraction-quality metric of ``extraction-dev/README.md``, shared by the
benchmark and the regression test.

Texts are split into tokens (``\\w+``, or one token per CJK character for the
CJK variant), every run of 4 consecutive tokens is a shingle, and precision
and recall are taken over the multiset of shingles for each page; the corpus
scores average P and R over pages and F1 is their harmonic mean.
"""

from __future__ import annotations

import json
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
