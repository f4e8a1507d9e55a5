"""What kind of page an article was extracted from: an article, a listing, or other.

A front page, a section index or search results lists other pages' headlines;
a product, forum or documentation page is no news article either. The kind is
read from what the page declares (schema.org types in JSON-LD, ``og:type``)
and from its shape: many sibling "cards" (a headline link, often with a short
excerpt) where an article has paragraphs of prose. The text is extracted all
the same; the kind only labels it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from .pagetree import CJK, Node, Page

__all__ = ["PageKind", "page_kind"]


class PageKind(StrEnum):
    """The kind of a page; the value is what JSON output carries."""

    ARTICLE = "article"
    LISTING = "listing"
    OTHER = "other"


# schema.org types, without a "schema:" prefix or a schema.org URL.
_ARTICLE_TYPES = frozenset({
    "Article", "NewsArticle", "BlogPosting", "ReportageNewsArticle", "AnalysisNewsArticle",
    "OpinionNewsArticle", "ReviewNewsArticle", "BackgroundNewsArticle", "Report",
    "LiveBlogPosting", "ScholarlyArticle", "SatiricalArticle", "AskPublicNewsArticle",
    "Review", "Posting"})
_LISTING_TYPES = frozenset({"CollectionPage", "ItemList", "SearchResultsPage", "Blog"})
_OTHER_TYPES = frozenset({
    "Product", "ProductGroup", "Offer", "AggregateOffer", "DiscussionForumPosting", "QAPage",
    "FAQPage", "Question", "SoftwareApplication", "Course", "JobPosting", "Event",
    "ProfilePage", "TechArticle", "APIReference", "Service", "LocalBusiness", "Store",
    "ContactPage", "AboutPage", "HowTo"})
_CJK_RE = re.compile(f"[{CJK}]")
_TYPE = re.compile(r'"@type"\s*:\s*(\[[^\]]*\]|"[^"]*")')
_OG_ARTICLE = frozenset({"article", "news", "blog", "newsarticle"})
_OG_OTHER = frozenset({"product", "profile", "book", "video.movie", "music.song", "place"})

# A card's headline link: at least this many weighted characters (menus are
# shorter), at most a long headline.
_HEADLINE = (20, 240)
# A card holds at most this much text (a headline and an excerpt, not a story).
_CARD_MAX = 800
# Siblings alike (same tag and class) that make a list of cards.
_MIN_CARDS = 4
# Content with this many cards (and half its text in them) is a listing.
_LIST_CARDS = 24
# Prose paragraphs (150+ characters, CJK counting double) an article at a
# URL without a slug still has.
_FEW_PARAGRAPHS = 3


# An article URL's last segment: words joined by dashes or underscores, or a
# long number (an id or a date).
_SLUG = re.compile(r"^[^\W_]+(?:[-_][^\W_]+){2,}|\d{5,}|\d{4}[-/]?\d{2}")


@dataclass(frozen=True)
class Shape:
    """What :func:`page_kind` reads from a page (kept for measuring it)."""

    declared: PageKind | None
    cards_in_content: int  # cards (in lists of cards) inside the extracted content
    in_card: bool  # the content is itself (inside) one of the cards
    card_share: float  # share of the content's characters in cards
    page_card_share: float  # share of the whole page's characters in cards
    text_chars: int
    paragraphs: int  # prose blocks ("p"/"quote") of 150+ characters
    url_depth: int  # path segments of the page's URL (0: the site's front page)
    url_slug: bool  # the URL's last segment is a slug or an id (as articles' are)


def page_kind(page: Page, container: Node, blocks: Sequence[tuple[str, str]],
              url: str | None) -> PageKind:
    """The page's kind, from its declarations, its cards, its text's shape and its URL."""
    return classify(page_shape(page, container, blocks, url))


def classify(shape: Shape) -> PageKind:
    """The kind of a page of this shape.

    A declared type is taken as it is. Otherwise a page whose content is
    mostly a long list of cards, or is one of the cards, is a listing; so is a
    page whose URL ends in no slug or id (a front page, ``/news/``, ``/tag/x``)
    with much of its text in cards, and such a page with few prose paragraphs
    is some other page.
    The rest are articles: on a news archive most pages are, and calling one
    "other" costs more than missing a listing. (Thresholds chosen on site
    folds of extraction-web: see the commit that set them.)
    """
    if shape.text_chars == 0:  # no text is never an article
        return PageKind.LISTING if shape.declared is PageKind.LISTING else PageKind.OTHER
    if shape.declared is not None:
        return shape.declared
    if shape.in_card or (shape.cards_in_content >= _LIST_CARDS and shape.card_share >= 0.5):
        return PageKind.LISTING
    if shape.url_depth >= 0 and not shape.url_slug:
        if shape.page_card_share >= 0.3:
            return PageKind.LISTING
        if shape.paragraphs < _FEW_PARAGRAPHS:
            return PageKind.OTHER
    return PageKind.ARTICLE


def page_shape(page: Page, container: Node, blocks: Sequence[tuple[str, str]],
               url: str | None) -> Shape:
    """What :func:`classify` reads: ``container`` is the element the article
    ``blocks`` were taken from, ``url`` the page's (canonical) URL if known."""
    cards = _cards(page)
    path = [p for p in urlsplit(url or "").path.split("/") if p]
    last = re.sub(r"\.[a-z0-9]{2,5}$", "", path[-1].lower()) if path else ""
    known = {id(container): True}  # (an element is inside the content or not)
    in_content = [c for c in cards if _within(c, known)]
    card_ids = {id(c) for c in cards}
    return Shape(
        declared=declared_kind(page),
        cards_in_content=len(in_content),
        in_card=any(id(n) in card_ids for n in (container, *container.ancestors())),
        card_share=sum(c.chars for c in in_content) / container.chars if container.chars else 0,
        page_card_share=sum(c.chars for c in cards) / page.root.chars if page.root.chars else 0,
        text_chars=sum(len(t) for _, t in blocks),
        paragraphs=sum(1 for k, t in blocks if k in ("p", "quote") and _weight(t) >= 150),
        url_depth=len(path) if url else -1,
        url_slug=bool(_SLUG.search(last)),
    )


def declared_kind(page: Page) -> PageKind | None:
    """The kind the page declares: an article type in JSON-LD wins, then a
    listing or other type, then ``og:type``; None when it declares none of them."""
    types: set[str] = set()
    for raw in page.jsonld:
        for found in _TYPE.findall(raw):
            try:
                value = json.loads(found)
            except ValueError:
                continue
            for t in value if isinstance(value, list) else [value]:
                if isinstance(t, str):
                    types.add(t.rsplit("/", 1)[-1].rsplit(":", 1)[-1])
    if types & _ARTICLE_TYPES:
        return PageKind.ARTICLE
    if types & _LISTING_TYPES:
        return PageKind.LISTING
    if types & _OTHER_TYPES:
        return PageKind.OTHER
    og = page.meta.get("og:type", "").strip().lower()
    if og in _OG_ARTICLE:
        return PageKind.ARTICLE
    if og in _OG_OTHER or og.startswith("product"):
        return PageKind.OTHER
    return None


def _weight(text: str) -> int:
    """Characters, CJK ones counting double (one carries about a short word)."""
    return len(text) + len(_CJK_RE.findall(text))


def _within(node: Node, known: dict[int, bool]) -> bool:
    """Whether ``node`` is inside the element ``known`` starts with (mapped to
    True); ``known`` remembers the answer for every element walked through
    (cards share their ancestors)."""
    path: list[Node] = []
    at: Node | None = node
    while at is not None and id(at) not in known:
        path.append(at)
        at = at.parent
    answer = at is not None and known[id(at)]
    for walked in path:
        known[id(walked)] = answer
    return answer


def _cards(page: Page) -> list[Node]:
    """The elements that are cards: alike siblings (same tag and class), at
    least :data:`_MIN_CARDS` of them, each short and holding a headline link."""
    # Mark every element that holds a headline link: from each such link up
    # to the first element already marked (each element is marked once).
    marked: set[int] = set()
    by_parent: dict[int, tuple[Node, list[Node]]] = {}
    for link in page.nodes:
        if link.tag != "a" or not _HEADLINE[0] <= link.chars <= _HEADLINE[1]:
            continue
        node: Node | None = link
        while node is not None and id(node) not in marked:
            marked.add(id(node))
            parent = node.parent
            if parent is not None and node.chars <= _CARD_MAX \
                    and (not node.inline or node.tag == "a"):
                by_parent.setdefault(id(parent), (parent, []))[1].append(node)
            node = parent
    out: list[Node] = []
    for _, children in by_parent.values():
        if len(children) < _MIN_CARDS:
            continue
        groups: dict[tuple[str, str], list[Node]] = {}
        for child in children:
            groups.setdefault((child.tag, child.attr("class")), []).append(child)
        for group in groups.values():
            if len(group) >= _MIN_CARDS:
                out.extend(group)
    return out
