"""Article.kind: an article, a listing (front page, index, search results) or other,
from what the page declares and from its shape; the text is extracted either way."""

from __future__ import annotations

import json

import pytest

from archiver import PageKind, extract_article

PROSE = ("Police in the county detained hundreds of ethnic Kazakh traders this month, "
         "froze their bank accounts and seized their passports, relatives said. ")
STORY = "".join(f"<p>{PROSE * 2}</p>" for _ in range(6))


def _card(i: int) -> str:
    return (f"<li class='card'><h3><a href='/news/2024/story-number-{i}'>Headline of the "
            f"story number {i} about detentions</a></h3><p>A short excerpt of story {i}.</p>"
            f"</li>")


CARDS = "<ul class='stories'>" + "".join(_card(i) for i in range(30)) + "</ul>"


def _ld(kind: str) -> str:
    return f'<script type="application/ld+json">{json.dumps({"@type": kind})}</script>'


def _html(head: str = "", body: str = STORY) -> str:
    return f"<html><head><title>T</title>{head}</head><body><main>{body}</main></body></html>"


@pytest.mark.parametrize("head,kind", [
    (_ld("NewsArticle"), PageKind.ARTICLE),
    (_ld("BlogPosting"), PageKind.ARTICLE),
    ('<meta property="og:type" content="article">', PageKind.ARTICLE),
    (_ld("CollectionPage"), PageKind.LISTING),
    (_ld("SearchResultsPage"), PageKind.LISTING),
    (_ld("Product"), PageKind.OTHER),
    ('<meta property="og:type" content="product">', PageKind.OTHER),
    (_ld("DiscussionForumPosting"), PageKind.OTHER),
])
def test_declared_type_decides(head: str, kind: PageKind) -> None:
    article = extract_article(_html(head), "https://e.org/news/2024/some-story-slug")
    assert article.kind is kind
    assert "froze their bank accounts" in article.text  # labelled, not emptied


def test_an_article_type_wins_over_the_websites_own() -> None:
    graph = json.dumps({"@graph": [{"@type": "WebSite"}, {"@type": ["NewsArticle"]}]})
    head = f'<script type="application/ld+json">{graph}</script>'
    assert extract_article(_html(head), "https://e.org/").kind is PageKind.ARTICLE


def test_a_list_of_cards_is_a_listing() -> None:
    assert extract_article(_html(body=CARDS), "https://e.org/news/2024/a-story-slug").kind \
        is PageKind.LISTING


def test_a_front_page_with_cards_is_a_listing() -> None:
    few = "<ul class='stories'>" + "".join(_card(i) for i in range(6)) + "</ul>"
    page = _html(body=f"<p>{PROSE}</p>{few}")
    assert extract_article(page, "https://e.org/").kind is PageKind.LISTING
    assert extract_article(page, "https://e.org/news/").kind is PageKind.LISTING


def test_prose_at_an_article_url_is_an_article() -> None:
    for url in ("https://e.org/news/2024/03/police-detain-traders",
                "https://e.org/a/123456.html", None):
        assert extract_article(_html(), url).kind is PageKind.ARTICLE


def test_little_prose_at_a_url_without_a_slug_is_other() -> None:
    page = _html(body="<h2>Contact us</h2><p>Write to the desk at the address below.</p>"
                      "<p>Office hours are nine to five on weekdays, except holidays.</p>")
    assert extract_article(page, "https://e.org/contact").kind is PageKind.OTHER


def test_a_page_without_text_is_never_an_article() -> None:
    empty = extract_article(_html(_ld("NewsArticle"), body="<div></div>"), "https://e.org/a-b-c")
    assert empty.text == "" and empty.kind is PageKind.OTHER


def test_kind_is_in_the_json_as_its_name() -> None:
    as_dict = extract_article(_html(_ld("CollectionPage"))).to_dict()
    assert json.loads(json.dumps(as_dict))["kind"] == "listing"
