"""archiver.extract.metadata: what a page declares about its article (JSON-LD,
<meta>, microdata) and what it prints (title, bylines, dates), in that order."""

from __future__ import annotations

import json

import pytest

from archiver import extract_article
from archiver.extract.metadata import read_jsonld, read_metadata
from archiver.extract.pagetree import Page, build_page

BODY = "<p>" + "Police in the county detained hundreds of traders and froze their accounts. " * 4
BODY_ZH = "<p>" + "警方在该县拘押了数百名商人，并冻结了他们的账户，等待调查。" * 4 + "</p>"


def _page(head: str, body: str = "") -> Page:
    return build_page(f"<html><head>{head}</head><body>{body}</body></html>")


def _ld(obj: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


def test_jsonld_article_fields() -> None:
    page = _page(_ld({
        "@context": "https://schema.org", "@graph": [
            {"@type": "WebSite", "name": "Example News", "url": "https://e.org/"},
            {"@type": "NewsArticle", "headline": "Mass detentions in Ili",
             "author": [{"@type": "Person", "name": "Ana Lima"},
                        {"@type": "Person", "name": "Qiao Long"}],
             "datePublished": "2017-11-13T08:00:00+08:00",
             "publisher": {"@type": "Organization", "name": "RFA"},
             "mainEntityOfPage": {"@id": "https://e.org/a"}, "inLanguage": "en"}]}))
    ld = read_jsonld(page)
    assert (ld.headline, ld.author, ld.published, ld.site_name, ld.url, ld.language) == (
        "Mass detentions in Ili", "Ana Lima, Qiao Long", "2017-11-13T08:00:00+08:00", "RFA",
        "https://e.org/a", "en")
    meta = read_metadata(page, ld, "https://e.org/a?utm=x", "", "text")
    assert (meta.title, meta.author, meta.published) == (
        "Mass detentions in Ili", "Ana Lima, Qiao Long", "2017-11-13T08:00:00+08:00")


def test_jsonld_that_is_broken_or_wrapped() -> None:
    broken = '<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>'
    assert read_jsonld(_page(broken)).headline is None
    wrapped = ('<script type="application/ld+json">//<![CDATA[\n'
               '{"@type": "BlogPosting", "headline": "Wrapped"}\n//]]></script>')
    assert read_jsonld(_page(wrapped)).headline == "Wrapped"
    not_article = _ld({"@type": "Organization", "name": "Example News"})
    assert read_jsonld(_page(not_article)).headline is None


def test_meta_tags_when_no_jsonld() -> None:
    page = _page('<title>Detentions | Example News</title>'
                 '<meta property="og:title" content="Mass detentions in Ili">'
                 '<meta name="author" content="Ana Lima">'
                 '<meta property="article:published_time" content="2024-03-05T10:20:00Z">'
                 '<meta property="og:site_name" content="Example News">'
                 '<meta name="description" content="Hundreds held.">'
                 '<link rel="canonical" href="/news/ili">')
    meta = read_metadata(page, read_jsonld(page), "https://e.org/x", "", "text")
    assert meta.title == "Mass detentions in Ili"
    assert meta.author == "Ana Lima" and meta.published == "2024-03-05T10:20:00Z"
    assert meta.site_name == "Example News" and meta.description == "Hundreds held."
    assert meta.url == "https://e.org/news/ili"


def test_title_without_the_site_name() -> None:
    page = _page("<title>Mass detentions of ethnic Kazakhs | Example News</title>")
    assert read_metadata(page, read_jsonld(page), None, "", "").title == \
        "Mass detentions of ethnic Kazakhs"


@pytest.mark.parametrize("declared", ["admin", "wordpress", "https://e.org", "@newsdesk",
                                      "12345"])
def test_author_fields_that_name_no_person_are_ignored(declared: str) -> None:
    html = (f'<html><head><meta name="author" content="{declared}"></head><body><article>'
            f'<h1>T</h1><div class="byline">By Ana Lima</div>{BODY}</article></body></html>')
    assert extract_article(html).author == "Ana Lima"


@pytest.mark.parametrize("byline,author", [
    ("By Ana Lima · 2024-03-05", "Ana Lima"),
    ("By <a href='/p/ana'>Ana Lima</a> | March 5, 2024", "Ana Lima"),
    ("Ana Lima, Updated 5 March 2024", "Ana Lima"),
    ("记者 王小明 · 2024年3月5日", "王小明"),
    ("记者：王小明 2024-03-05", "王小明"),
    ("本台记者 乔龙", "乔龙"),
    ("文/张三", "张三"),
    ("记者王小明发自北京", "王小明"),
    ("买买提·艾力 · 2024年3月5日", "买买提·艾力"),
])
def test_byline_element_gives_only_the_name(byline: str, author: str) -> None:
    body = BODY_ZH if any("\u4e00" <= c <= "\u9fff" for c in byline) else BODY
    html = (f"<html><head><title>T</title></head><body><article><h1>T</h1>"
            f"<div class='byline'>{byline}</div>{body * 3}</article></body></html>")
    assert extract_article(html).author == author


def test_byline_of_only_a_date_is_no_author() -> None:
    html = (f"<html><body><article><div class='author'>2024-03-05</div>{BODY * 3}"
            f"</article></body></html>")
    article = extract_article(html)
    assert article.author is None and article.published == "2024-03-05"


def test_bylines_in_comments_and_related_lists_are_not_the_author() -> None:
    html = (f"<html><body><article>{BODY * 3}</article>"
            f"<section class='comments'><span class='author'>Troll 99</span></section>"
            f"</body></html>")
    assert extract_article(html).author is None


@pytest.mark.parametrize("line,author", [
    ("作者：李华", "李华"), ("记者 王小明 报道", "王小明"), ("（责任编辑：赵六）", "赵六")])
def test_chinese_byline_in_the_text(line: str, author: str) -> None:
    html = f"<html><body><article><p>{line}</p>{BODY_ZH * 3}</article></body></html>"
    assert extract_article(html).author == author


def test_date_line_above_the_article_is_metadata_not_text() -> None:
    html = (f"<html><head><title>Raids</title></head><body><article><h1>Raids</h1>"
            f"<p>2017-11-13</p>{BODY * 3}</article></body></html>")
    article = extract_article(html)
    assert article.published == "2017-11-13"
    assert article.text.startswith("Police in the county")


def test_date_line_alone_is_kept_as_text() -> None:
    # Nothing else on the page: the line is not dropped into an empty article.
    article = extract_article("<html><body><p>2017-11-13</p></body></html>")
    assert "2017-11-13" in article.text


def test_date_printed_above_the_article_when_none_is_declared() -> None:
    html = (f"<html><body><div class='meta'>发布时间：2024年3月5日 10:20</div>"
            f"<article>{BODY_ZH * 3}</article></body></html>")
    assert extract_article(html).published == "2024-03-05T10:20:00"


def test_declared_date_wins_over_a_printed_one() -> None:
    html = (f"<html><head><meta property='article:published_time' content='2024-03-01'>"
            f"</head><body><article><p>2024-03-05</p>{BODY * 3}</article></body></html>")
    assert extract_article(html).published == "2024-03-01"


def test_language_declared_else_from_the_script() -> None:
    assert extract_article(f"<html lang='en-GB'><body>{BODY * 3}</body></html>").language \
        == "en-GB"
    assert extract_article(f"<html><body>{BODY_ZH * 3}</body></html>").language == "zh"
