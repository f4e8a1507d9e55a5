"""The seed articles in realistic pages (the bundled sample site): every paragraph
of the article kept, in order, and none of the page's boilerplate."""

from __future__ import annotations

import pytest

from archiver import Article, extract_article
from archiver.demo import DemoPage, load_site

ARTICLES = [p for p in load_site() if p.article is not None]


def _norm(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


def _check(article: Article, page: DemoPage) -> None:
    assert page.article is not None
    text = _norm(article.text)
    position = 0
    for paragraph in page.article["expected_paragraphs"]:
        found = text.find(_norm(paragraph), position)
        assert found >= 0, f"{page.path}: paragraph lost or out of order: {paragraph[:60]!r}"
        position = found + len(_norm(paragraph))
    for line in page.article["boilerplate"]:
        assert line not in article.text, f"{page.path}: boilerplate kept: {line!r}"


def test_the_sample_site_has_article_pages() -> None:
    assert len(ARTICLES) >= 2
    assert any(p.encoding == "gbk" and p.charset is None for p in ARTICLES)


@pytest.mark.parametrize("page", ARTICLES, ids=lambda p: p.path)
def test_every_paragraph_kept_and_boilerplate_gone(page: DemoPage) -> None:
    _check(extract_article(page.body(), encoding=page.charset), page)


@pytest.mark.parametrize("page", ARTICLES, ids=lambda p: p.path)
def test_same_article_without_the_http_charset(page: DemoPage) -> None:
    with_header = extract_article(page.body(), encoding=page.charset)
    sniffed = extract_article(page.body())
    assert sniffed == with_header
    _check(sniffed, page)


@pytest.mark.parametrize("page", ARTICLES, ids=lambda p: p.path)
def test_metadata_matches_the_page(page: DemoPage) -> None:
    assert page.article is not None
    article = extract_article(page.body(), encoding=page.charset)
    assert article.title == page.article["title"]
    assert article.author == page.article["author"]
    assert (article.published or "").startswith(page.article["published"])
    assert article.language is not None
    assert article.language.split("-")[0] == page.article["language"].split("-")[0]
    assert article.site_name == page.article["site_name"]


@pytest.mark.parametrize("page", ARTICLES, ids=lambda p: p.path)
def test_paragraphs_are_separated_by_one_blank_line(page: DemoPage) -> None:
    text = extract_article(page.body(), encoding=page.charset).text
    assert "\n\n\n" not in text
    assert text == text.strip()
    assert all(p.strip() == p and p for p in text.split("\n\n"))
