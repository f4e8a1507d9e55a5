"""Content-finding rules that must hold on sites the extractor was never tuned on:
each test is one mechanism, on a small page built like the real ones."""

from __future__ import annotations

from archiver import extract_article

PROSE = ("Police in the county detained hundreds of traders this month, sources said, "
         "freezing their bank accounts and assets pending investigation. ")
COOKIES = ("We use cookies to improve your experience, to show you personalised offers "
           "and to measure our audience. By continuing you agree to our use of cookies.")


def test_a_layout_wrapper_named_sidebar_does_not_sink_the_article_it_holds() -> None:
    teasers = "".join(f"<li><a href='/t{i}'>Another story number {i}</a></li>" for i in range(8))
    page = (f"<html><body><div class='consent'><p>{COOKIES}</p><p>{COOKIES}</p></div>"
            f"<ul class='menu'>{teasers}</ul>"
            f"<div class='layout-with-sidebar share-wrapper'><div class='article'>"
            f"{f'<p>{PROSE}</p>' * 6}</div></div></body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text
    assert "cookies" not in text


def test_a_real_sidebar_beside_a_short_article_stays_out() -> None:
    bio = ("Jane writes about courts and prisons. She has reported from twelve countries, "
           "won three awards, and teaches journalism at the city university. ") * 2
    page = (f"<html><body><div id='main'><div class='post'><p>{PROSE}</p></div></div>"
            f"<div id='sidebar'><p>{bio}</p></div></body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text
    assert "teaches journalism" not in text
