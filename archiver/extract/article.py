"""The article of a web page: :class:`Article` and :func:`extract_article`.

Pure: bytes or text in, an immutable :class:`Article` out; no I/O. The page
is decoded (:mod:`archiver.extract.encoding`), parsed with BeautifulSoup on lxml,
turned into a page tree (:mod:`archiver.extract.pagetree`), scored to find the main
content (:mod:`archiver.extract.scoring`), rendered as paragraphs
(:mod:`archiver.extract.blocks`) and described by its metadata
(:mod:`archiver.extract.metadata`).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field, fields

from ..errors import ExtractError
from .blocks import Block, fold, render
from .dates import date_line
from .encoding import decode_html
from .kind import PageKind, page_kind
from .metadata import JsonLd, read_jsonld, read_metadata
from .pagetree import Node, Page, build_page
from .scoring import choose_content, keep_child, score_page, title_heading

__all__ = ["Article", "extract_article"]

# Below this many weighted characters the chosen content is not an article,
# and we look wider.
MIN_TEXT = 100
# Below this much non-link text, a page is read again as scripts would show it.
SCRIPTED_TEXT = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Control bytes that text never has (tab, newlines, form feed and ESC, which
# ISO-2022 encodings use, are allowed).
_CONTROL_BYTES = bytes([*range(0, 9), 11, *range(14, 27), *range(28, 32)])
_MAGIC = (b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"%PDF", b"PK\x03\x04", b"\x1f\x8b", b"RIFF",
          b"\x00\x00\x01\x00", b"wOFF", b"wOF2")


@dataclass(frozen=True, slots=True)
class Article:
    """An article's clean text and metadata. ``text`` has one blank line between
    paragraphs; ``published`` is ISO 8601; ``url`` is the canonical URL if the
    page declares one, else the URL it was fetched from; ``kind`` says whether
    the page is an article at all (the text of any page is extracted)."""

    title: str | None
    text: str
    author: str | None = None
    published: str | None = None
    language: str | None = None
    url: str | None = None
    site_name: str | None = None
    description: str | None = None
    #: An article, a listing (front page, index, search results) or other (a
    #: product, forum or documentation page): see :mod:`archiver.extract.kind`.
    kind: PageKind = PageKind.ARTICLE
    #: ``text`` block by block as ``(kind, text)``; kind is "h" (heading), "li"
    #: (list item), "quote", "pre" or "p": enough to render Markdown.
    blocks: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    def to_dict(self) -> dict[str, str | None]:
        """The fields as a plain dict, ready for JSON (``blocks`` left out: see ``text``)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "blocks"}


def extract_article(
    html: bytes | str, url: str | None = None, *, encoding: str | None = None
) -> Article:
    """Extract the article of an HTML page.

    ``html`` is the page as bytes (decoded by ``encoding``, the HTTP charset,
    else by BOM, ``<meta>`` or detection) or as text. Raises
    :class:`ExtractError` for input that is empty or not HTML at all; a page
    without article text gives an :class:`Article` with empty ``text``.
    """
    text = _as_text(html, url, encoding)
    page = _parse(text, url)
    score_page(page)
    ld = read_jsonld(page)
    heading = title_heading(page)
    container, start, end = choose_content(page, heading)
    blocks = _first_post(_without_title(_content(page, container, (start, end), heading),
                                        page, ld))
    dated, blocks = _without_date_lines(blocks)
    body = "\n\n".join(text for _, text in blocks)
    before = _text_before(page, container, start)
    after = _text_after(page, container, end)
    meta = read_metadata(page, ld, url, before, body, after, container, dated)
    return Article(
        title=meta.title, text=body, author=meta.author, published=meta.published,
        language=meta.language, url=meta.url, site_name=meta.site_name,
        description=meta.description, kind=page_kind(page, container, blocks, meta.url),
        blocks=tuple(blocks),
    )


def _as_text(html: object, url: str | None, encoding: str | None) -> str:
    if isinstance(html, bytes | bytearray | memoryview):
        data = bytes(html)
        if not data.strip():
            raise ExtractError(url, "empty document")
        if _looks_binary(data):
            raise ExtractError(url, "binary data, not an HTML page")
        text, _ = decode_html(data, encoding)
    elif isinstance(html, str):
        text = html
    else:
        raise ExtractError(url, f"expected bytes or str, got {type(html).__name__}")
    if not text.strip():
        raise ExtractError(url, "empty document")
    return _CONTROL.sub("", text)


def _looks_binary(data: bytes) -> bool:
    """Images, archives and other non-text: magic numbers or many control bytes."""
    if data.startswith(_MAGIC):
        return True
    sample = data[:4096]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 text is full of NULs
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return sample.count(0) > 2 or controls > len(sample) // 20


def _parse(text: str, url: str | None) -> Page:
    try:
        with warnings.catch_warnings():
            # bs4 warns about input that looks like a file name or XML; we
            # know what we pass it.
            warnings.simplefilter("ignore", UserWarning)
            page = build_page(text)
            if page.root.prose < SCRIPTED_TEXT:
                # Nothing to read: a page built by scripts may serve its text
                # to readers without them in <noscript> (forum threads do),
                # or hide it all until a script has loaded.
                served = build_page(text, scripted=True)
                if served.root.prose > page.root.prose:
                    return served
            return page
    except Exception as exc:
        # lxml and bs4 raise assorted types on hostile markup; callers get
        # one typed error naming the page.
        raise ExtractError(url, f"cannot parse HTML ({type(exc).__name__}: {exc})") from exc


def _weight(blocks: list[Block]) -> int:
    return sum(len(text) for _, text in blocks)


def _render(container: Node, span: tuple[int, int] | None = None, *,
            links: bool = False) -> list[Block]:
    data_tables = _data_tables(container)

    def keep(child: Node) -> bool:
        if keep_child(child, container) or (links and child.cue >= 0):
            return True
        # A data table is data even when its cells are links (a list of films,
        # of cases, of detainees): the table and its cells are kept.
        if child.cue < 0:
            return False
        if child.tag == "table":
            return id(child) in data_tables
        return child.tag in _CELLS and _table_of(child) in data_tables

    return render(container, keep, span)


_CELLS = frozenset({"td", "th", "tr", "tbody", "thead", "tfoot"})


def _data_tables(container: Node) -> set[int]:
    """ids of the tables under ``container`` with header cells: data, not layout
    (layout tables, common on older Chinese sites, have no <th>)."""
    found: set[int] = set()
    for node in container.iter():
        if node.tag == "th":
            table = _table_of(node)
            if table is not None:
                found.add(table)
    return found


def _table_of(node: Node) -> int | None:
    for ancestor in node.ancestors():
        if ancestor.tag == "table":
            return id(ancestor)
    return None


def _content(page: Page, container: Node, span: tuple[int, int],
             heading: Node | None) -> list[Block]:
    """Our blocks, widened to the whole page when the pick holds next to nothing
    (unless it holds ``heading``, the one repeating the page's title: then it
    is the post, however short, and the page around it is not looked at)."""
    # A JSON-LD articleBody cross-check stood here; on 2,568 pages (dev and
    # every extraction-web fold) it changed no page, so it went (issue 10).
    blocks = _render(container, span)
    if _weight(blocks) >= MIN_TEXT:
        return blocks
    titled = heading is not None and container in heading.ancestors()
    scopes = (container,) if titled else (container, page.root)
    if not titled and container is not page.root:
        wider = _render(page.root)
        blocks = wider if _weight(wider) > _weight(blocks) else blocks
    if _weight(blocks) < MIN_TEXT:
        # Still next to nothing: the content is links (a listing of titles,
        # an index), which the render prunes as link lists; keep them.
        for scope in scopes:
            linked = _render(scope, links=True)
            if _weight(linked) > _weight(blocks):
                blocks = linked
            if _weight(blocks) >= MIN_TEXT:
                break
    return blocks


# A line that is only a date and time, as posts are headed ("2005-03-21 01:20:44").
_DATE_LINE = re.compile(r"(?:19|20)\d\d\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
                        r"(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")
_SENTENCE_END = re.compile(r"[。！？.!?]\s*$")


def _without_title(blocks: list[Block], page: Page, ld: JsonLd) -> list[Block]:
    """The blocks without a leading heading that repeats the title."""
    titles = {fold(t) for t in (ld.headline, page.title, page.meta.get("og:title")) if t}
    if blocks and blocks[0][0] == "h" and (
        fold(blocks[0][1]) in titles or any(fold(blocks[0][1]) in t for t in titles)
    ):
        blocks = blocks[1:]
    return blocks


def _without_date_lines(blocks: list[Block]) -> tuple[str | None, list[Block]]:
    """The blocks without the lines that are only a date standing above the
    article (metadata, not text: "2017-11-13", "Published: March 5, 2024"), and
    the first such date."""
    dated = None
    while len(blocks) > 1 and (found := date_line(blocks[0][1])) is not None:
        dated, blocks = dated or found, blocks[1:]
    return dated, blocks


def _first_post(blocks: list[Block]) -> list[Block]:
    """Only the first post of a page that lists several (a blog's front page, a
    forum thread), each under its own short title and a line that is only its
    date: the article is the first; the rest are other posts."""
    heads = [i for i in range(1, len(blocks))
             if _DATE_LINE.fullmatch(blocks[i][1].strip())
             and len(blocks[i - 1][1]) <= 60 and not _SENTENCE_END.search(blocks[i - 1][1])]
    if len(heads) < 2 or heads[0] > 2:
        return blocks
    body = blocks[heads[0] + 1 : heads[1] - 1]
    if sum(len(text) for _, text in body) < 100:
        return blocks
    return body


def _text_after(page: Page, container: Node, end: int) -> str:
    """Up to 1,500 characters of page text following the article, in document order."""
    done = object()  # stands right after the article's last child: popping it, we left it
    parts: list[str] = []
    size = 0
    collecting = False
    stack: list[Node | str | object] = [page.root]
    while stack and size < 1500:
        item = stack.pop()
        if item is done:
            collecting = True
        elif isinstance(item, str):
            if collecting:
                parts.append(item)
                size += len(item)
        elif isinstance(item, Node):
            kids = item.children
            if item is container:
                # By position, not identity: equal strings may be one object.
                cut = end if 0 < end <= len(kids) else len(kids)
                stack.extend(reversed(kids[cut:]))
                stack.append(done)
                stack.extend(reversed(kids[:cut]))
            else:
                stack.extend(reversed(kids))
    return " ".join(" ".join(parts).split())[:1500]


def _text_before(page: Page, container: Node, start: int) -> str:
    """Up to 3,000 characters of page text preceding the article, in document order."""
    stop = object()  # stands where the article starts
    parts: list[str] = []
    stack: list[Node | str | object] = [page.root]
    while stack:
        item = stack.pop()
        if item is stop:
            break
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, Node):
            if item is container:
                stack.append(stop)
                stack.extend(reversed(item.children[:start]))
            else:
                stack.extend(reversed(item.children))
    return " ".join(" ".join(parts[-400:]).split())[-3000:]
