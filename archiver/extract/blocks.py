"""Rendering a chosen part of the page tree as plain-text paragraphs.

Block elements (paragraphs, headings, list items, quotes, cells…) each become
their own paragraph; ``<br>`` becomes a line break, two in a row a paragraph
break; ``<pre>`` keeps its whitespace. Whitespace is collapsed as a browser
would, except that a line break in the source between two CJK characters is
dropped rather than turned into a space, and nothing is ever inserted between
adjacent inline elements, so Chinese, Japanese and Korean text stays unbroken.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from .pagetree import CJK, Node

__all__ = ["HEADINGS", "Block", "fold", "render"]

Block = tuple[str, str]  # (kind, text): kind is "h", "li", "quote", "pre" or "p"

_BR = "\u2028"  # stands for <br> until lines are split
_CJK_BREAK = re.compile(f"(?<=[{CJK}])[ \\t\\r\\f\\v]*\\n\\s*(?=[{CJK}])")
_SPACES = re.compile(r"[^\S\u2028]+")
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def _kind(tag: str) -> str:
    if tag in HEADINGS:
        return "h"
    if tag in {"li", "dt", "dd"}:
        return "li"
    if tag == "blockquote":
        return "quote"
    return "pre" if tag == "pre" else "p"


class _Writer:
    """Collects inline text and cuts it into blocks at block boundaries."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.parts: list[str] = []
        self.kind = "p"

    def flush(self, kind: str) -> None:
        raw = "".join(self.parts)
        self.parts = []
        if raw.strip():
            for text in _paragraphs(raw, pre=self.kind == "pre"):
                self.blocks.append((self.kind, text))
        self.kind = kind


def render(
    container: Node, keep: Callable[[Node], bool], span: tuple[int, int] | None = None
) -> list[Block]:
    """The text blocks of ``container`` (only children ``span`` if given),
    skipping descendants ``keep`` rejects."""
    out = _Writer()
    out.kind = _kind(container.tag)
    children = container.children if span is None else container.children[span[0]:span[1]]
    # (item, closing): closing entries flush the paragraph a block element ends.
    stack: list[tuple[Node | str, bool]] = [(c, False) for c in reversed(children)]
    while stack:
        item, closing = stack.pop()
        if isinstance(item, str):
            out.parts.append(item)
        elif closing:
            out.flush("p")
        elif item.tag == "br":
            out.parts.append(_BR)
        elif keep(item):
            if not item.inline:
                out.flush(_kind(item.tag))
                stack.append((item, True))
            stack.extend((c, False) for c in reversed(item.children))
    out.flush("p")
    return out.blocks


def _paragraphs(raw: str, *, pre: bool) -> list[str]:
    """Normalise one block's raw text; a blank line (<br><br>) splits it."""
    if pre:
        text = raw.replace(_BR, "\n").strip("\n")
        return [text] if text.strip() else []
    text = _SPACES.sub(" ", _CJK_BREAK.sub("", raw.replace("\u2028", _BR)))
    paragraphs: list[str] = []
    lines: list[str] = []
    for line in text.split(_BR):
        line = line.strip()
        if line:
            lines.append(line)
        elif lines:
            paragraphs.append("\n".join(lines))
            lines = []
    if lines:
        paragraphs.append("\n".join(lines))
    return paragraphs


def fold(text: str) -> str:
    """``text`` for comparing, not showing: NFKC, case-folded, whitespace collapsed
    (a title matches its heading whatever the width, case or spacing)."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
