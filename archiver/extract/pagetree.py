"""The page tree: a light, read-only copy of a parsed page for the extractor.

:func:`build_page` walks the BeautifulSoup tree once, iteratively (pages can
nest 10,000 deep), drops what is never article text (scripts, styles, forms'
controls, hidden elements), keeps the head's metadata aside, and computes for
every element the text statistics the content scorer needs: characters, link
characters and sentence punctuation, both of its own inline content and of
its whole subtree. CJK characters count double, because one carries about as
much text as a short Latin word does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

__all__ = ["CJK", "Node", "Page", "build_page"]

CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
_CJK_RE = re.compile(f"[{CJK}]")
_SPACE_RE = re.compile(r"\s+")
_PUNCT_RE = re.compile(r"[,.;:!?\u060c\uff0c\u3002\uff1b\uff1a\uff01\uff1f\u3001]")
# Worth of a sentence mark in loose text, matching the scorer's bonus.
STRING_PUNCT_BONUS = 6.0
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)

# Never article text; dropped with everything inside them.
DROP = frozenset({
    "script", "style", "noscript", "template", "iframe", "svg", "canvas", "object",
    "embed", "applet", "audio", "video", "source", "track", "map", "area", "input",
    "select", "textarea", "button", "option", "optgroup", "datalist", "link", "meta",
    "base", "param", "dialog", "head", "title",
})
# Inline content: its text belongs to the nearest block ancestor's paragraph.
INLINE = frozenset({
    "a", "abbr", "acronym", "b", "bdi", "bdo", "big", "cite", "code", "data", "del",
    "dfn", "em", "font", "i", "ins", "kbd", "mark", "nobr", "q", "rp", "rt", "ruby",
    "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u",
    "var", "wbr", "img", "label", "picture", "br", "output", "meter", "math",
})


class Node:
    """One element of the page tree, with its text statistics."""

    __slots__ = (
        "attrs",
        "chars",
        "children",
        "cue",
        "inline",
        "link_chars",
        "own_chars",
        "own_link",
        "own_punct",
        "parent",
        "punct",
        "score",
        "tag",
        "values",
        "window",
    )

    def __init__(self, tag: str, attrs: Mapping[str, object], parent: Node | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Node | str] = []
        self.inline = tag in INLINE
        self.cue = 0
        # Own inline content (for an inline element: its contribution upwards).
        self.own_chars = 0
        self.own_link = 0
        self.own_punct = 0
        # Whole subtree.
        self.chars = 0
        self.link_chars = 0
        self.punct = 0
        self.score = 0.0
        # Per child: what it is worth as article text (strings filled in here,
        # elements by the scorer), and the best run of children to keep.
        self.values: list[float] = []
        self.window = (0, 0, 0.0)

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attr('class')!r} chars={self.chars} score={self.score:.0f}>"

    def attr(self, name: str) -> str:
        """An attribute as one string ('' if absent; lists joined by spaces)."""
        value = self.attrs.get(name)
        if value is None:
            return ""
        return " ".join(value) if isinstance(value, list) else str(value)

    def iter(self) -> list[Node]:
        """This node and its element descendants, in document order."""
        out: list[Node] = []
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(c for c in reversed(node.children) if isinstance(c, Node))
        return out

    def ancestors(self) -> list[Node]:
        """Parent, grandparent, … up to the root."""
        out: list[Node] = []
        node = self.parent
        while node is not None:
            out.append(node)
            node = node.parent
        return out

    @property
    def link_density(self) -> float:
        return self.link_chars / self.chars if self.chars else 0.0


@dataclass
class Page:
    """A parsed page: its body tree and what its head (and microdata) declare."""

    root: Node
    title: str | None = None
    lang: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    jsonld: list[str] = field(default_factory=list)
    itemprops: list[tuple[str, Node | str]] = field(default_factory=list)
    times: list[str] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)


def text_weight(text: str) -> tuple[int, int]:
    """(weighted non-space characters, sentence punctuation) of a string."""
    bare = _SPACE_RE.sub("", text)
    return len(bare) + len(_CJK_RE.findall(bare)), len(_PUNCT_RE.findall(bare))


def build_page(soup: BeautifulSoup) -> Page:
    """Build the page tree from a parsed document (iteratively, in one pass)."""
    root = Node("#root", {}, None)
    page = Page(root)
    stack: list[tuple[object, Node]] = [(c, root) for c in reversed(soup.contents)]
    while stack:
        item, parent = stack.pop()
        if type(item) is NavigableString:
            parent.children.append(str(item))
        elif isinstance(item, Tag):
            node = _admit(item, parent, page)
            if node is not None:
                parent.children.append(node)
                stack.extend((c, node) for c in reversed(item.contents))
    page.nodes = root.iter()
    _count(page.nodes)
    return page


def _admit(tag: Tag, parent: Node, page: Page) -> Node | None:
    """A Node for ``tag``, or None when it is dropped (after noting its metadata)."""
    name = tag.name.lower() if isinstance(tag.name, str) else ""
    attrs = tag.attrs
    if name in DROP:
        _note_head(name, tag, page)
        return None
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return None
    style = attrs.get("style")
    if isinstance(style, str) and _HIDDEN_STYLE.search(style):
        return None
    if name == "html" and page.lang is None and attrs.get("lang"):
        page.lang = str(attrs["lang"]).strip() or None
    node = Node(name, attrs, parent)
    prop = attrs.get("itemprop")
    if prop:
        value = attrs.get("content") or attrs.get("datetime")
        page.itemprops.append((str(prop), str(value) if value else node))
    if name == "time" and attrs.get("datetime"):
        page.times.append(str(attrs["datetime"]))
    return node


def _note_head(name: str, tag: Tag, page: Page) -> None:
    """Keep the metadata a dropped element carries (title, meta, links, JSON-LD)."""
    attrs = tag.attrs
    if name == "meta":
        key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop")
        content = attrs.get("content")
        if isinstance(key, str) and isinstance(content, str):
            page.meta.setdefault(key.strip().lower(), content.strip())
        if str(attrs.get("http-equiv", "")).lower() == "content-language" and content:
            page.meta.setdefault("content-language", str(content).strip())
    elif name == "title" and page.title is None:
        page.title = tag.get_text()
    elif name == "link":
        rels: object = attrs.get("rel") or []
        href = attrs.get("href")
        for rel in rels if isinstance(rels, list) else [rels]:
            if isinstance(href, str):
                page.links.setdefault(str(rel).lower(), href.strip())
    elif name == "script" and str(attrs.get("type", "")).lower() == "application/ld+json":
        page.jsonld.append(tag.get_text())
    elif name == "head":
        for child in tag.find_all(["title", "meta", "link", "script"]):
            _note_head(child.name, child, page)


def _count(nodes: list[Node]) -> None:
    """Fill in text statistics bottom-up (children come after parents in ``nodes``)."""
    for node in reversed(nodes):
        node.values = [0.0] * len(node.children)
        for i, child in enumerate(node.children):
            if isinstance(child, str):
                chars, punct = text_weight(child)
                node.values[i] = chars + STRING_PUNCT_BONUS * min(punct, chars / 15)
                node.own_chars += chars
                node.own_punct += punct
                node.chars += chars
                node.punct += punct
                continue
            node.chars += child.chars
            node.link_chars += child.link_chars
            node.punct += child.punct
            if child.inline:
                node.own_chars += child.own_chars
                node.own_link += child.own_link
                node.own_punct += child.own_punct
        if node.tag == "a":
            node.own_link = node.own_chars
            node.link_chars = node.chars
