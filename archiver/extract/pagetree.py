"""The page tree: a light, read-only copy of a parsed page for the extractor.

:func:`build_page` has BeautifulSoup parse the page with lxml and builds the
tree as the parser reports each element (no recursion: pages can nest
10,000 deep), drops what is never article text (scripts, styles, forms'
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
from bs4.builder._lxml import LXMLTreeBuilder

__all__ = ["CJK", "Node", "Page", "build_page"]

CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
_CJK_RE = re.compile(f"[{CJK}]")
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

    def holds_blocks(self) -> bool:
        """Whether any child element is a block (not inline)."""
        return any(isinstance(c, Node) and not c.inline for c in self.children)

    def text(self) -> str:
        """The subtree's text with a space at every element boundary
        ("By<a>Name</a>" is "By Name"), whitespace collapsed."""
        parts: list[str] = []
        stack: list[Node | str] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                parts.append(item)
            else:
                parts.append(" ")
                stack.extend(reversed(item.children))
        return " ".join("".join(parts).split())

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
    def prose(self) -> int:
        """Characters of the subtree's text outside links."""
        return self.chars - self.link_chars

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


_NO_PUNCT = str.maketrans("", "", ",.;:!?\u060c\uff0c\u3002\uff1b\uff1a\uff01\uff1f\u3001")


def text_weight(text: str) -> tuple[int, int]:
    """(weighted non-space characters, sentence punctuation) of a string.

    String methods, not regexes, except one pass for CJK characters, and only
    over text that is not plain ASCII (most text nodes are)."""
    bare = "".join(text.split())
    n = len(bare)
    punct = n - len(bare.translate(_NO_PUNCT))
    if bare.isascii():
        return n, punct
    return n + len(_CJK_RE.findall(bare)), punct


# Elements of a dropped <head> whose content is metadata.
_HEAD_NOTES = frozenset({"title", "meta", "link", "script"})
# Text under these is never text of the page (ruby annotations), as bs4 has it.
_NO_TEXT = frozenset({"rt", "rp"})
# Dropped elements that can never hold an HTML block (foreign content, a
# button), and those blocks: a page that leaves one open (lxml then nests the
# rest of the page in it) keeps its text.
_FOREIGN = frozenset({"svg", "button"})
_FLOW = frozenset({
    "div", "p", "article", "main", "section", "header", "footer", "nav", "aside", "h1",
    "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "form", "figure", "blockquote",
})
_ASCII_SPACE = " \n\t\f\r"
_DEAD = None  # stack entry for an element dropped with its subtree
_EMPTY: Mapping[str, object] = {}


class _PageBuilder(LXMLTreeBuilder):
    """bs4's lxml tree builder, building our page tree instead of bs4's.

    BeautifulSoup drives the parse (markup preparation, lxml's HTML parser
    and its recovery) and calls this builder for every start tag, end tag and
    text; the page tree and each element's statistics are made right there,
    in one pass, instead of building bs4's tree and then walking it (which
    took two thirds of the extractor's time on news pages).
    """

    drop = DROP  # the elements dropped with their subtree
    hidden = False  # whether hidden elements are kept

    def reset(self) -> None:
        """Start over (BeautifulSoup retries a rejected markup another way)."""
        super().reset()
        self.root = Node("#root", _EMPTY, None)
        self.page = Page(self.root, nodes=[self.root])
        self.stack: list[Node | None] = [self.root]
        self.text: list[str] = []  # pending text (lxml may split a text node)
        self.head = 0  # depth inside <head>
        self.head_at = 0  # stack size with the (first) <head> on top
        self.no_text = 0  # depth inside <rt>/<rp>
        self.pre = 0  # depth inside <pre>
        self.foreign: list[int] = []  # stack sizes with a dropped <svg>/<button> on top
        self.capture: list[str] | None = None  # the text of a <title>/JSON-LD
        self.capture_at = 0
        self.capture_tag = ""

    def start(self, tag: str | bytes, attrib: Mapping[str | bytes, str | bytes],
              nsmap: dict[str, str] | None = None) -> None:
        if self.text:
            self._flush()
        name = tag.lower() if isinstance(tag, str) else ""
        attrs: Mapping[str, object] = dict(attrib) if attrib else _EMPTY  # type: ignore[arg-type]
        parent = self.stack[-1]
        if name in _NO_TEXT:
            self.no_text += 1
        elif name == "pre":
            self.pre += 1
        if parent is _DEAD:
            if self.head and name in _HEAD_NOTES:
                self._note(name, attrs)
            if self.head and len(self.stack) == self.head_at and name not in self.drop:
                # Body content lxml left in a <head> that a stray unknown tag
                # kept open (old pages without <body>) is the page's body.
                parent = self.stack[self.head_at - 2]
            elif not (self.foreign and name in _FLOW):
                self.stack.append(_DEAD)
                return
            else:
                # An HTML block inside an <svg> or <button> the page never
                # closed belongs to the nearest element still open outside.
                parent = self.stack[self.foreign[0] - 2]
            assert parent is not None
        node = None if name in self.drop else _admit(name, attrs, parent, self.page,
                                                          self.hidden)
        if node is None:
            self._note(name, attrs)
            if name == "head":
                self.head += 1
                if self.head == 1:
                    self.head_at = len(self.stack) + 1
            elif name in _FOREIGN and self.stack[-1] is not _DEAD:
                self.foreign.append(len(self.stack) + 1)
            self.stack.append(_DEAD)
            return
        parent.children.append(node)
        self.page.nodes.append(node)
        self.stack.append(node)

    def _note(self, name: str, attrs: Mapping[str, object]) -> None:
        if (name == "title" and self.page.title is None) or (
                name == "script"
                and str(attrs.get("type", "")).strip().lower() == "application/ld+json"):
            self.capture, self.capture_at, self.capture_tag = [], len(self.stack), name
        else:
            _note_head(name, attrs, self.page)

    def data(self, data: str | bytes) -> None:
        if isinstance(data, str):
            self.text.append(data)

    def _flush(self) -> None:
        text = "".join(self.text)
        self.text = []
        if self.capture is not None:
            self.capture.append(text)
        parent = self.stack[-1]
        if parent is not _DEAD and not self.no_text:
            if not self.pre and not text.strip(_ASCII_SPACE):
                # As bs4 has it: white space between tags is one space or newline.
                text = "\n" if "\n" in text else " "
            parent.children.append(text)

    def end(self, tag: str | bytes) -> None:
        if self.text:
            self._flush()
        node = self.stack.pop()
        if self.foreign and len(self.stack) < self.foreign[-1]:
            self.foreign.pop()
        name = tag.lower() if isinstance(tag, str) else ""
        if name in _NO_TEXT:
            self.no_text -= 1
        elif name == "pre":
            self.pre -= 1
        if node is not None:
            _count(node)
        elif name == "head" and self.head and self.stack[-1] is not _DEAD:
            self.head -= 1
        if self.capture is not None and len(self.stack) == self.capture_at:
            text = "".join(self.capture)
            if self.capture_tag == "title":
                self.page.title = text
            else:
                self.page.jsonld.append(text)
            self.capture = None

    def comment(self, text: str | bytes) -> None:
        if self.text:
            self._flush()

    def pi(self, target: str | bytes, data: str | bytes) -> None:
        if self.text:
            self._flush()

    def doctype(self, name: str | bytes, pubid: str | bytes, system: str | bytes) -> None:
        if self.text:
            self._flush()

    def close(self) -> None:
        if self.text:
            self._flush()
        while len(self.stack) > 1:  # lxml closes every element; this is a safety net
            node = self.stack.pop()
            if node is not None:
                _count(node)
        _count(self.root)
        super().close()


def build_page(markup: str, *, scripted: bool = False) -> Page:
    """Parse ``markup`` with BeautifulSoup on lxml into the page tree (one pass).

    ``scripted``: for a page whose text scripts show, keep what ``<noscript>``
    holds (the text served to readers without scripts) and the elements hidden
    until a script reveals them (a whole page hidden while it loads).
    """
    builder = _PageBuilder()
    if scripted:
        builder.drop, builder.hidden = DROP - {"noscript"}, True
    BeautifulSoup(markup, builder=builder)
    return builder.page


def _admit(name: str, attrs: Mapping[str, object], parent: Node, page: Page,
           hidden: bool) -> Node | None:
    """A Node for an element, or None when it is dropped with its subtree."""
    if attrs:
        if not hidden and _hides(attrs):
            return None
        if name == "html" and page.lang is None and attrs.get("lang"):
            page.lang = str(attrs["lang"]).strip() or None
    node = Node(name, attrs, parent)
    if attrs:
        prop = attrs.get("itemprop")
        if prop:
            value = attrs.get("content") or attrs.get("datetime")
            page.itemprops.append((str(prop), str(value) if value else node))
        if name == "time" and attrs.get("datetime"):
            page.times.append(str(attrs["datetime"]))
    return node


def _hides(attrs: Mapping[str, object]) -> bool:
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    style = attrs.get("style")
    return isinstance(style, str) and _HIDDEN_STYLE.search(style) is not None


def _note_head(name: str, attrs: Mapping[str, object], page: Page) -> None:
    """Keep the metadata a dropped element carries (meta, links)."""
    if name == "meta":
        key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop")
        content = attrs.get("content")
        if isinstance(key, str) and isinstance(content, str):
            page.meta.setdefault(key.strip().lower(), content.strip())
        if str(attrs.get("http-equiv", "")).lower() == "content-language" and content:
            page.meta.setdefault("content-language", str(content).strip())
    elif name == "link":
        href = attrs.get("href")
        if isinstance(href, str):
            for rel in str(attrs.get("rel") or "").split():
                page.links.setdefault(rel.lower(), href.strip())


def _count(node: Node) -> None:
    """Fill in a node's text statistics from its children (all complete by now)."""
    if node.inline and node.tag != "a" and node.holds_blocks():
        # An inline element wrapping blocks (a <span> or <font> around the
        # paragraphs of an article) lays them out as a block would: it is one,
        # so the article it holds can be chosen and its best run found.
        node.inline = False
    node.values = values = [0.0] * len(node.children)
    for i, child in enumerate(node.children):
        if isinstance(child, str):
            chars, punct = text_weight(child)
            if chars:
                values[i] = chars + STRING_PUNCT_BONUS * min(punct, chars / 15)
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
