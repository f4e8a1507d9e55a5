"""Article metadata: title, author, dates, language, canonical URL, site, summary.

The page's own declarations win, in this order: JSON-LD (schema.org
``Article`` and its kinds), then ``<meta>`` (Open Graph, Dublin Core, Twitter,
``article:*``), then microdata ``itemprop``, then the visible page (``<title>``,
``<h1>``, bylines, a date printed near the article). Dates are returned as
ISO 8601 (see :mod:`archiver.extract.dates`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

from .blocks import fold
from .dates import find_date_in_text, to_iso
from .pagetree import Node, Page
from .scoring import class_words

__all__ = ["JsonLd", "Metadata", "read_jsonld", "read_metadata"]

_ARTICLE_TYPES = re.compile(
    r"^(?:\w+:)?(?:Article|NewsArticle|BlogPosting|ReportageNewsArticle|AnalysisNewsArticle"
    r"|OpinionNewsArticle|ReviewNewsArticle|BackgroundNewsArticle|ScholarlyArticle"
    r"|TechArticle|Report|SocialMediaPosting|LiveBlogPosting|DiscussionForumPosting"
    r"|Blog|WebPage|Posting)$"
)
_TITLE_SEP = re.compile(r"\s+[|\-–—\\/>»·:]\s+")
# A byline in the text: a keyword then a colon ("作者：", "记者:"), or "记者"/"作者"
# then a space, or "记者NAME/文" / "记者NAME发自"; "文/NAME" is a byline too.
# An editor ("编辑：", "责任编辑：") is taken only when no writer is named; the
# colon is required there because "编辑" also begins words like "编辑部".
_AUTHOR_NAME = (r"([\u4e00-\u9fff·]{2,4}(?:[ 、，,][\u4e00-\u9fff·]{2,4}){0,4}"
                r"|[A-Za-z][\w.\- ]{1,30}(?![\w.\-]|\s*=))")  # (not markup: size="20")
_AUTHOR_TEXT = re.compile(
    r"(?:(?:作者|作\s*者|撰文|执笔人|记者)\s*[:：]\s*|(?:记者|作者)[ \t\u3000]+)"
    + _AUTHOR_NAME + r"|文\s*[/／]\s*([\u4e00-\u9fff·]{2,4})"
    r"|记者([\u4e00-\u9fff·]{2,4})(?:\s*[/／]\s*文|\s*发自|\s*报道)"
)
_EDITOR_TEXT = re.compile(r"(?:责任编辑|编辑)\s*[:：]\s*" + _AUTHOR_NAME)
# A forum post's signature: "NAME 发表于 2005-9-15".
_POSTED_BY = re.compile(r"(?:^|\s)([\w\u4e00-\u9fff·&]{2,20})\s*发表于\s*[:：]?\s*(?:19|20)\d\d")
# A Chinese report's closing credit: "（常书香 马丹阳）", "（姚峰 上海报道）".
_CLOSING_CREDIT = re.compile(
    r"[（(]\s*(?:记者\s*)?([\u4e00-\u9fff]{2,3}(?:\s+[\u4e00-\u9fff]{2,3}){0,3}?)"
    r"(\s*[\u4e00-\u9fff]{0,4}报道)?\s*[)）]\s*$")
# Labels that follow a byline's names on the same line ("芊草凡凡 时间：…").
_AFTER_NAMES = re.compile(r"[ 、，,](?:报道|发自|摄影|时间|日期|出自|来源|发布|发表|编辑|"
                          r"责编|我来|我要|点击|阅读|字号|浏览|打印|评论|分享|收藏|更新).*$")


# Words that label a publication date printed below a post.
_DATE_LABEL = re.compile(r"发表于|发布于|发表时间|发布时间|posted on|published on|posted at",
                         re.IGNORECASE)
# What sites run onto a name in a byline: a date, a time, a @handle.
_BYLINE_TAIL = re.compile(
    r"\s+(?:@\w|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b"
    r"|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{4}-\d{2}-\d{2}|updated\b|published\b)"
    r"|[\s·|｜]*(?:19|20)\d\d\s*年",  # a Chinese date, with or without a space
    re.IGNORECASE)
# An element that holds the byline: rel="author", or a class or id naming it.
_BYLINE_NAME = re.compile(
    r"(?:^|[\s_-])(?:by-?line|author|authors|author-?name|writer|contributor|posted-?by)"
    r"(?:$|[\s_-])", re.IGNORECASE)
# ... unless it is an author's bio, avatar or box, or other people's names.
_NOT_BYLINE = re.compile(r"bio|avatar|image|photo|img|pic|box|about|profile|follow|more|"
                         r"related|comment|social|share", re.IGNORECASE)
_ELSEWHERE = re.compile(r"comment|related|sidebar|footer|recommend|popular|reply",
                        re.IGNORECASE)
# <script> JSON-LD wrapped as XHTML/legacy-browser sites do: <![CDATA[ … ]]>, <!-- … -->.
_JSONLD_WRAPPER = re.compile(
    r"^\s*(?://\s*)?(?:<!\[CDATA\[|<!--)|(?:(?://\s*)?(?:\]\]>|-->))?\s*;?\s*$")
# What CMSs and site templates put in author fields: a vendor (大汉网络 is the
# Hanweb CMS of many Chinese government sites), a role, or a user ID.
_NOT_AN_AUTHOR = re.compile(
    r"^(?:大汉网络|hanweb|dedecms|织梦|phpcms|discuz!?|wordpress|joomla!?|drupal|admin|"
    r"administrator|webmaster|网站管理员|管理员|editor|unknown|anonymous|"
    r"[a-z]{0,3}[_-]?\d{3,})$", re.IGNORECASE)
# Sites put their own name or domain in author fields; no person is a domain.
_DOMAIN = re.compile(r"www\.|https?:|\.(?:com|cn|net|org|gov)\b", re.IGNORECASE)


@dataclass(frozen=True)
class JsonLd:
    """What the page's JSON-LD says about its article (empty fields if nothing)."""

    headline: str | None = None
    name: str | None = None
    author: str | None = None
    published: str | None = None
    url: str | None = None
    site_name: str | None = None
    description: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Metadata:
    title: str | None
    author: str | None
    published: str | None
    language: str | None
    url: str | None
    site_name: str | None
    description: str | None


def _objects(data: Any) -> list[dict[str, Any]]:
    """Every JSON object in a JSON-LD document, flattening lists and @graph."""
    out: list[dict[str, Any]] = []
    stack = [data]
    while stack and len(out) < 200:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            out.append(item)
            stack.extend(v for k, v in item.items() if k in {"@graph", "mainEntity"})
    return out


def _text(value: Any) -> str | None:
    """A name-like value as a string (names, lists of names, {"name": …})."""
    if isinstance(value, str):
        return " ".join(value.split()) or None
    if isinstance(value, dict):
        return _text(value.get("name") or value.get("@id") if "name" in value else None)
    if isinstance(value, list):
        names = [n for n in (_text(v) for v in value[:10]) if n]
        return ", ".join(dict.fromkeys(names)) or None
    return None


def read_jsonld(page: Page) -> JsonLd:
    """The first article-like JSON-LD object's fields."""
    for raw in page.jsonld:
        try:
            data = json.loads(_JSONLD_WRAPPER.sub("", raw), strict=False)
        except (ValueError, RecursionError):
            continue  # broken JSON-LD is common; the page has other evidence
        for obj in _objects(data):
            kinds = obj.get("@type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            if any(isinstance(k, str) and _ARTICLE_TYPES.match(k) for k in kinds):
                return _jsonld_fields(obj)
    return JsonLd()


def _jsonld_fields(obj: dict[str, Any]) -> JsonLd:
    page_url = obj.get("mainEntityOfPage")
    if isinstance(page_url, dict):
        page_url = page_url.get("@id")
    return JsonLd(
        headline=_text(obj.get("headline") or obj.get("name")),
        name=_text(obj.get("name")),
        author=_text(obj.get("author") or obj.get("creator")),
        published=_text(obj.get("datePublished") or obj.get("dateCreated")),
        url=_text(obj.get("url") or page_url),
        site_name=_text(obj.get("publisher")),
        description=_text(obj.get("description")),
        language=_text(obj.get("inLanguage")),
    )


def _meta(page: Page, *keys: str) -> str | None:
    for key in keys:
        value = page.meta.get(key)
        if value and value.strip():
            return " ".join(value.split())
    return None


def _itemprop(page: Page, *names: str) -> str | None:
    for prop, value in page.itemprops:
        if prop.lower() in names:
            text = value if isinstance(value, str) else _node_text(value)
            if text and len(text) < 200:
                return " ".join(text.split())
    return None


def _node_text(node: Node) -> str:
    parts: list[str] = []
    for n in node.iter():
        parts.extend(c for c in n.children if isinstance(c, str))
    return "".join(parts).strip()


def read_title(page: Page, ld: JsonLd) -> str | None:
    """Declared title, else the <title> with a site-name suffix removed."""
    if ld.headline and ld.name and ld.name != ld.headline:
        return _agreed_title(page, [ld.headline, ld.name])
    declared = ld.headline or _meta(
        page, "dc.title", "dcterm:title", "og:title", "twitter:title", "title")
    if declared:
        return declared
    title = " ".join((page.title or "").split())
    parts = _TITLE_SEP.split(title)
    if len(parts) > 1 and len(max(parts, key=len)) >= 10:
        return max(parts, key=len)
    return title or _first_heading(page)


def _agreed_title(page: Page, declared: list[str]) -> str:
    """The first of the JSON-LD headline and name, unless it is in neither the
    <title> nor the <h1> and the other is: some sites put a summary in
    "headline" (Wikipedia puts the Wikidata description there)."""
    seen = [fold(t) for t in (page.title, _first_heading(page)) if t]
    site = fold(_meta(page, "og:site_name") or "")

    def agrees(title: str) -> bool:
        folded = fold(title)
        return folded != site and any(folded in s for s in seen)

    if not seen or agrees(declared[0]):
        return declared[0]
    return next((t for t in declared[1:] if agrees(t)), declared[0])


def _first_heading(page: Page) -> str | None:
    for node in page.nodes:
        if node.tag == "h1":
            text = " ".join(_node_text(node).split())
            if text:
                return text
    return None


def read_author(page: Page, ld: JsonLd, text: str, after: str = "",
                container: Node | None = None) -> str | None:
    """Declared author, else an itemprop or byline, else a Chinese "作者：" line."""
    declared = ld.author or _meta(
        page, "author", "dc.creator", "article:author", "parsely-author", "byl",
        "sailthru.author", "twitter:creator")
    if declared and not declared.startswith("@") and not _DOMAIN.search(declared) \
            and not _NOT_AN_AUTHOR.match(declared.strip()):
        return _clean_byline(declared)
    found = _itemprop(page, "author", "creator") or _byline_element(page, container)
    if found:
        return _clean_byline(found)
    return _author_in_text(text, after)


def _author_in_text(text: str, after: str) -> str | None:
    """A byline printed in the text near the article's start or end (see the
    patterns above), a writer before an editor."""
    head, tail = text[:3000], text[-600:] + "\n" + after[:300]
    for pattern in (_AUTHOR_TEXT, _POSTED_BY, _EDITOR_TEXT):
        match = pattern.search(head) or pattern.search(tail)
        if match is not None:
            return _AFTER_NAMES.sub("", next(g for g in match.groups() if g)).strip()
    credit = _CLOSING_CREDIT.search(text[-80:].rstrip())
    # Only a credit that says it is one (报道), or several names: a lone
    # parenthesised word ends many articles ("（完）", "（图）", "（上）").
    if credit is not None and (credit[2] or " " in credit[1].strip()):
        return credit[1].strip()
    return None


def _byline_element(page: Page, container: Node | None = None) -> str | None:
    """The text of the first byline element outside comments, footers and
    related-story lists (a short one: a name, not a biography): first near the
    article (in ``container``, then in each of its nearest ancestors, where
    the article's header is), then anywhere (teasers of other stories carry
    bylines too)."""
    found = list(_bylines(page.nodes))  # in document order; usually a handful
    near = [container, *container.ancestors()[:3]] if container is not None else []
    for scope in near:  # the article's own element first, then ever wider
        for node, text in found:
            if node is scope or scope in node.ancestors():
                return text
    return found[0][1] if found else None


def _bylines(nodes: list[Node]) -> Iterator[tuple[Node, str]]:
    for node in nodes:
        names = f"{node.attr('class')} {node.attr('id')}"
        if "author" not in node.attr("rel").lower() and (
                not _BYLINE_NAME.search(names) or _NOT_BYLINE.search(names)):
            continue
        text = node.text()
        if not 2 < len(text) <= 80 or len(text.split()) > 10:
            continue
        if any(a.tag in ("footer", "aside", "nav")
               or _ELSEWHERE.search(f"{a.attr('class')} {a.attr('id')}")
               for a in node.ancestors()):
            continue
        yield node, text


def _clean_byline(value: str) -> str | None:
    """A byline without its "By", leading dashes, or a date or @handle run onto
    it; a Chinese one ("记者 王小明 · 2024年3月5日", "本台记者 乔龙") is its names."""
    chinese = _AUTHOR_TEXT.search(value)
    if chinese is not None:
        return _AFTER_NAMES.sub("", next(g for g in chinese.groups() if g)).strip() or None
    value = re.sub(r"^[\s\-–—:|·]*(?:by|von|par|por)?\s+|^[\s\-–—:|·]+", "", value,
                   flags=re.I)
    value = re.sub(r"^(?:作者|记者|撰文|文)\s*[:：/／]\s*", "", value)
    value = _BYLINE_TAIL.split(value, maxsplit=1)[0].strip(" ,;|·-–—")
    return value if re.search(r"[^\W\d_]", value) else None  # a name has letters


def read_published(page: Page, ld: JsonLd, before: str, text: str,
                   after: str = "", dated: str | None = None) -> str | None:
    """Declared publication date, else one printed just above or in the article
    (``dated``: a date line taken off the top of ``text``), else one labelled as
    such ("发表于", "Posted on") just below it, as blogs print it."""
    for value in (
        ld.published,
        _meta(page, "article:published_time", "og:article:published_time",
              "datepublished", "pubdate", "publishdate", "publish-date", "date",
              "dc.date", "dc.date.issued", "dcterms.created", "sailthru.date",
              "parsely-pub-date", "article.published", "published_time", "pdate"),
        _itemprop(page, "datepublished", "datecreated"),
        *page.times[:1],
    ):
        iso = to_iso(value) if value else None
        if iso:
            return iso
    found = (find_date_in_text(before[-800:], last=True) or dated
             or find_date_in_text(text[:1500]))
    # Else a date labelled as the post's: below the article, or inside it
    # further down (a forum thread's first post signs off with its date).
    for where in (after, text):
        if found is not None:
            break
        labelled = _DATE_LABEL.search(where)
        found = find_date_in_text(where[labelled.end():][:80]) if labelled else None
    return found or _date_element(page)


# Class, id or itemprop words of an element that prints a date: "entry-date",
# "c-meta__date", "post-meta", "publishedAt" (split into words as cues are).
_DATE_NAME = re.compile(r"(?:^|\s)(?:date|dateline|datetime|time|timestamp|published|publish"
                        r"|publication|pubdate|posted|postdate|meta)s?(?:$|\s)", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _names_a_date(names: str) -> bool:
    return _DATE_NAME.search(class_words(names)) is not None


def _date_element(page: Page) -> str | None:
    """The first date, in document order, printed by a short element whose
    class, id or itemprop names a date or the post's meta line (or in its
    ``datetime``, ``content`` or ``title``): the last resort when the page
    declares none and none stands next to the article text."""
    for node in page.root.iter():
        if not node.attrs:
            continue
        names = f"{node.attr('class')} {node.attr('id')} {node.attr('itemprop')}"
        if not names.strip() or not _names_a_date(names):
            continue
        for key in ("datetime", "content", "title"):
            value = node.attr(key)[:100]
            iso = (to_iso(value) or find_date_in_text(value)) if value else None
            if iso:
                return iso
        if node.chars <= 100:
            iso = find_date_in_text(_node_text(node)[:200])
            if iso:
                return iso
    return None


def read_language(page: Page, ld: JsonLd, text: str) -> str | None:
    """Declared language, else zh/ja/ko when the text is mostly in that script."""
    declared = page.lang or _meta(page, "content-language", "og:locale", "dc.language")
    declared = declared or ld.language
    if declared:
        return declared.split(",")[0].strip().replace("_", "-") or None
    sample = text[:2000]
    if len(re.findall(r"[\u3040-\u30ff]", sample)) > 20:
        return "ja"
    if len(re.findall(r"[\uac00-\ud7af]", sample)) > 50:
        return "ko"
    if len(re.findall(r"[\u4e00-\u9fff]", sample)) > len(sample) / 4:
        return "zh"
    return None


def read_metadata(page: Page, ld: JsonLd, url: str | None, before: str, text: str,
                  after: str = "", container: Node | None = None,
                  dated: str | None = None) -> Metadata:
    """All metadata; ``before`` and ``after`` are the page text around the article
    ``text``, ``container`` the element it was taken from, and ``dated`` the
    date of a date line above the article that is not in ``text``."""
    canonical = page.links.get("canonical") or _meta(page, "og:url") or ld.url
    return Metadata(
        title=read_title(page, ld),
        author=read_author(page, ld, before[-1500:] + "\n" + text, after, container),
        published=read_published(page, ld, before, text, after, dated),
        language=read_language(page, ld, text),
        url=urljoin(url or "", canonical) if canonical else url,
        site_name=_meta(page, "og:site_name", "application-name") or ld.site_name,
        description=_meta(page, "og:description", "description", "twitter:description")
        or ld.description,
    )
