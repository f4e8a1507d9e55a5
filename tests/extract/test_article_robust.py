"""Hostile input: malformed, empty, binary, deeply nested. extract_article returns
an Article or raises ExtractError, nothing else, and never hangs."""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver import Article, ExtractError, extract_article

FAST = settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

TAGS = ["div", "p", "span", "a", "table", "td", "tr", "article", "nav", "br", "li", "ul",
        "script", "style", "h1", "pre", "b", "font", "html", "body", "head", "title", "meta"]
fragment = st.one_of(
    st.sampled_from([f"<{t}>" for t in TAGS] + [f"</{t}>" for t in TAGS]),
    st.sampled_from(["<", ">", "&", "&#x0;", "&amp", "<!--", "-->", "<![CDATA[", "]]>",
                     '<a href="', '"', "<p class='content'>", "<meta charset='gbk'>",
                     "<script type='application/ld+json'>{\"@type\":\"NewsArticle\",",
                     "\x00", "\ufeff", "新疆", "，。", "\n", " "]),
    st.text(max_size=40),
)
html_soup = st.lists(fragment, max_size=60).map("".join)


def _ok(html: bytes | str) -> None:
    try:
        article = extract_article(html)
    except ExtractError:
        return
    assert isinstance(article, Article)
    assert isinstance(article.text, str)


@FAST
@given(html_soup)
def test_markup_soup_never_raises_anything_else(html: str) -> None:
    _ok(html)


@FAST
@given(html_soup, st.sampled_from(["utf-8", "gbk", "utf-16-le", "latin-1"]))
def test_encoded_markup_soup(html: str, codec: str) -> None:
    _ok(html.encode(codec, errors="replace"))


@FAST
@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    _ok(data)


@FAST
@given(st.binary(max_size=500), st.sampled_from([None, "utf-8", "gbk", "bogus", ""]))
def test_random_bytes_with_any_declared_charset(data: bytes, charset: str | None) -> None:
    with contextlib.suppress(ExtractError):
        extract_article(b"<html><body><p>" + data, encoding=charset)


@pytest.mark.parametrize("html", [b"", "", b"   \n\t", "   "])
def test_empty_input_is_a_typed_error(html: bytes | str) -> None:
    with pytest.raises(ExtractError, match="empty"):
        extract_article(html)


def test_binary_input_is_a_typed_error() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    with pytest.raises(ExtractError, match="binary"):
        extract_article(png, "http://example.org/logo.png")


def test_wrong_type_is_a_typed_error() -> None:
    with pytest.raises(ExtractError):
        extract_article(12345)  # type: ignore[arg-type]


def test_page_without_text_gives_an_empty_article() -> None:
    article = extract_article("<html><head><title>Only a title</title></head><body></body></html>")
    assert article.title == "Only a title"
    assert article.text == ""


@pytest.mark.parametrize("tag", ["div", "span", "table", "blockquote"])
def test_10000_levels_of_nesting(tag: str) -> None:
    depth = 10_000
    html = (f"<html><body>{f'<{tag}>' * depth}<p>Deep text, still here.</p>"
            f"{f'</{tag}>' * depth}</body></html>")
    start = time.monotonic()
    article = extract_article(html)
    assert time.monotonic() - start < 10
    assert "Deep text, still here." in article.text


def test_10000_unclosed_inline_elements() -> None:
    html = "<html><body><p>" + "<b><i>" * 5000 + "Unclosed but readable." + "</body></html>"
    assert "Unclosed but readable." in extract_article(html).text


def test_huge_single_line_of_text_is_fast() -> None:
    html = "<html><body><p>" + "word, " * 200_000 + "</p></body></html>"
    start = time.monotonic()
    extract_article(html)
    assert time.monotonic() - start < 10
