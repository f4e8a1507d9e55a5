"""extract_article: the Article type, text structure and metadata sources."""

from __future__ import annotations

import dataclasses
import json

import pytest

import archiver
from archiver import Article, extract_article

PROSE = ("Police in the county detained hundreds of traders this month, sources said, "
         "freezing their bank accounts and assets pending investigation. ")


def _page(body: str, head: str = "") -> str:
    nav = "".join(f"<li><a href='/s{i}'>Section {i}</a></li>" for i in range(12))
    return (f"<html><head>{head}</head><body><header><nav><ul>{nav}</ul></nav></header>"
            f"<main>{body}</main><footer><p>Copyright 2024 Example News. All rights "
            f"reserved.</p></footer></body></html>")


def test_public_api() -> None:
    assert {"Article", "extract_article"} <= set(archiver.__all__)


def test_article_is_frozen_and_serialises() -> None:
    article = extract_article(_page(f"<p>{PROSE}</p>" * 3), "http://e.org/a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        article.text = "changed"  # type: ignore[misc]
    as_dict = article.to_dict()
    assert set(as_dict) == {"title", "text", "author", "published", "language", "url",
                            "site_name", "description", "kind"}
    assert Article(**as_dict) == article
    json.dumps(as_dict)


def test_headings_lists_and_quotes_are_their_own_paragraphs() -> None:
    body = (f"<article><p>{PROSE}</p><h2>What happened next</h2><p>{PROSE}</p>"
            f"<ul><li>First witness statement.</li><li>Second witness statement.</li></ul>"
            f"<blockquote>They took him away at night.</blockquote><p>{PROSE}</p></article>")
    paragraphs = extract_article(_page(body)).text.split("\n\n")
    for expected in ["What happened next", "First witness statement.",
                     "Second witness statement.", "They took him away at night."]:
        assert expected in paragraphs
    assert "Section 3" not in paragraphs and not any("Copyright" in p for p in paragraphs)


def test_line_breaks_and_double_breaks() -> None:
    body = f"<article><p>{PROSE}<br>Second line.<br><br>New paragraph. {PROSE}</p></article>"
    text = extract_article(_page(body)).text
    assert f"{PROSE.strip()}\nSecond line.\n\nNew paragraph." in text


def test_preformatted_text_keeps_its_layout() -> None:
    body = f"<article><p>{PROSE}</p><pre>a  =  1\n    b = 2</pre><p>{PROSE}</p></article>"
    assert "a  =  1\n    b = 2" in extract_article(_page(body)).text


def test_hidden_and_script_content_is_dropped() -> None:
    body = (f"<article><p>{PROSE}</p><p style='display:none'>Hidden teaser</p>"
            f"<script>var tracking = 1;</script><p hidden>Also hidden</p><p>{PROSE}</p></article>")
    text = extract_article(_page(body)).text
    assert "Hidden" not in text and "tracking" not in text and "Also hidden" not in text


def test_share_related_and_comment_blocks_are_dropped() -> None:
    body = (f"<article><p>{PROSE}</p><p>{PROSE}</p>"
            "<div class='share-buttons'><a href='#'>Facebook</a> <a href='#'>Twitter</a></div>"
            "<div class='related-stories'><h3>Related Stories</h3><a href='/x'>Another story "
            "about the region that is long enough to look like text</a></div>"
            "<div id='comments'><p>Add your comment by filling out the form below. Comments are "
            "approved by a moderator, please be respectful of others.</p></div></article>")
    text = extract_article(_page(body)).text
    assert PROSE.strip() in text
    for junk in ["Facebook", "Related Stories", "Add your comment"]:
        assert junk not in text


def test_metadata_from_json_ld() -> None:
    ld = {"@context": "https://schema.org", "@graph": [{"@type": "WebSite", "name": "Site"}, {
        "@type": "NewsArticle", "headline": "Raids in Ili", "datePublished": "2017-11-13T08:00:00Z",
        "author": [{"@type": "Person", "name": "Qiao Long"}], "inLanguage": "en",
        "publisher": {"@type": "Organization", "name": "Radio Free Asia"}}]}
    head = f"<script type='application/ld+json'>{json.dumps(ld)}</script><title>x | y</title>"
    article = extract_article(_page(f"<p>{PROSE}</p>" * 3, head), "http://e.org/a?utm=1")
    assert article.title == "Raids in Ili"
    assert article.author == "Qiao Long"
    assert article.published == "2017-11-13T08:00:00Z"
    assert article.language == "en"
    assert article.site_name == "Radio Free Asia"


def test_metadata_from_meta_tags_and_canonical() -> None:
    head = ("<meta property='og:title' content='OG title'>"
            "<meta property='og:site_name' content='Example News'>"
            "<meta name='author' content='By Jane Doe'>"
            "<meta property='article:published_time' content='2018-09-28T10:00:00+08:00'>"
            "<meta name='description' content='A summary.'>"
            "<link rel='canonical' href='/news/raids'>")
    article = extract_article(_page(f"<p>{PROSE}</p>" * 3, head), "http://e.org/a?utm=1")
    assert (article.title, article.site_name, article.author) == (
        "OG title", "Example News", "Jane Doe")
    assert article.published == "2018-09-28T10:00:00+08:00"
    assert article.description == "A summary."
    assert article.url == "http://e.org/news/raids"


def test_title_without_site_suffix_and_url_without_canonical() -> None:
    head = "<title>Mass arrests continue as group releases statistics | ChinaAid</title>"
    article = extract_article(_page(f"<p>{PROSE}</p>" * 3, head), "http://e.org/a")
    assert article.title == "Mass arrests continue as group releases statistics"
    assert article.url == "http://e.org/a"


@pytest.mark.parametrize("printed,iso", [
    ("发布时间：2005-5-7 21:23:57 来源：新华社", "2005-05-07T21:23:57"),
    ("2018年9月28日", "2018-09-28"),
    ("Published September 28, 2018", "2018-09-28"),
])
def test_date_printed_above_the_article(printed: str, iso: str) -> None:
    body = f"<h1>标题</h1><div class='info'>{printed}</div><div><p>{PROSE}</p><p>{PROSE}</p></div>"
    assert extract_article(_page(body)).published == iso


def test_chinese_byline_and_language() -> None:
    zh = "新疆当局本月拘押了数百名哈萨克族商人，冻结了他们的银行账户和资产，等待调查。"
    body = f"<div class='info'>作者：尹娟</div><div><p>{zh * 3}</p><p>{zh * 3}</p></div>"
    article = extract_article(_page(body))
    assert article.author == "尹娟"
    assert article.language == "zh"


def test_title_heading_is_not_repeated_in_the_text() -> None:
    head = "<meta property='og:title' content='Raids in Ili'>"
    body = f"<article><h1>Raids in Ili</h1><p>{PROSE}</p><p>{PROSE}</p></article>"
    assert not extract_article(_page(body, head)).text.startswith("Raids in Ili")


def _zh_page(byline: str, meta_author: str | None = None) -> str:
    meta = f'<meta name="author" content="{meta_author}">' if meta_author else ""
    sentence = "新疆伊犁哈萨克自治州的警方本月拘押了数百名哈萨克族商人，冻结了他们的银行账户。"
    para = "<p>" + sentence * 3 + "</p>"
    return (f"<html><head><meta charset='utf-8'>{meta}<title>拘押</title></head><body>"
            f"<article><p>{byline}</p>{para}{para}</article></body></html>")


def test_chinese_byline_rules() -> None:
    # "记者" followed by a space is a byline; "编辑" without a colon starts other words.
    assert extract_article(_zh_page("本报记者 王建宏 张文攀")).author == "王建宏 张文攀"
    assert extract_article(_zh_page("作者：乔龙")).author == "乔龙"
    assert extract_article(_zh_page("编辑部经历了近一年的调查")).author is None


def test_a_domain_is_never_an_author() -> None:
    page = _zh_page("本报讯", meta_author="www.yunnan.cn,云南日报报业集团,云南网")
    assert extract_article(page).author is None


def test_bylines_lose_dashes_by_and_run_on_dates() -> None:
    body = f"<article><p>{PROSE}</p><p>{PROSE}</p></article>"
    head = '<meta name="author" content="—Nicolas Perriault">'
    assert extract_article(_page(body, head)).author == "Nicolas Perriault"
    head = '<meta name="author" content="By Steven Musil January 18, 2017 11:00 PM @smusil">'
    assert extract_article(_page(body, head)).author == "Steven Musil"
    head = '<meta name="author" content="Mayer, Jan">'  # a month name alone is a name
    assert extract_article(_page(body, head)).author == "Mayer, Jan"


def test_a_blog_date_labelled_below_the_post_is_used() -> None:
    body = (f"<article><p>{PROSE}</p><p>{PROSE}</p></article>"
            "<div class='postfoot'>发表于:2005-07-31 12:30 | 阅读(12)</div>"
            "<div class='comments'><p>回复于 2006-01-02 08:00</p></div>")
    assert extract_article(_page(body)).published == "2005-07-31T12:30:00"


@pytest.mark.parametrize("element", [
    "<div class='postMeta-hGQ02T'>Sep 15, 2025</div>",
    "<li class='c-meta__date'>September 15, 2025</li>",
    "<span class='entry-date'><time>15 September 2025</time></span>",
    "<span itemprop='published-date' content='Published Sep 15, 2025 at 5:00 PM'>Sep 15</span>",
], ids=["camel-meta", "bem-date", "entry-date", "content-attribute"])
def test_a_date_element_is_the_last_resort(element: str) -> None:
    # Far from the text (a page header's meta line, then a long menu), so
    # neither the text before the article nor the article dates it.
    menu = "".join(f"<li><a href='/s{i}'>Section number {i}</a></li>" for i in range(60))
    story = f"<article><p>{PROSE}</p><p>{PROSE}</p></article>"
    body = f"<header>{element}<ul>{menu}</ul></header>{story}"
    assert extract_article(_page(body)).published == "2025-09-15"
    # A date the page declares comes first; a long element is not a date line.
    head = "<meta property='article:published_time' content='2024-01-02'>"
    assert extract_article(_page(body, head)).published == "2024-01-02"
    long = f"<div class='meta'>Sep 15, 2025 {PROSE}</div>"
    assert extract_article(_page(f"<header>{long}<ul>{menu}</ul></header>{story}")
                           ).published is None


@pytest.mark.parametrize("wrap", [
    "<![CDATA[{}]]>", "//<![CDATA[\n{}\n//]]>", "<!--{}-->", "{};",
], ids=["cdata", "js-cdata", "comment", "semicolon"])
def test_json_ld_wrapped_for_old_browsers_is_still_read(wrap: str) -> None:
    ld = json.dumps({"@type": "BlogPosting", "headline": "Raids in Ili",
                     "author": [{"@type": "Person", "name": "Alexandre Hervaud"},
                                {"@type": "Person", "name": "Jérémy Piette"}],
                     "datePublished": "2017-11-02T10:00:00Z"})
    head = f"<script type='application/ld+json'>{wrap.format(ld)}</script>"
    article = extract_article(_page(f"<article><p>{PROSE}</p><p>{PROSE}</p></article>", head))
    assert (article.title, article.author, article.published) == (
        "Raids in Ili", "Alexandre Hervaud, Jérémy Piette", "2017-11-02T10:00:00Z")


def test_byline_element_gives_the_author() -> None:
    story = f"<p>{PROSE}</p><p>{PROSE}</p>"
    # "By" and the name in separate elements; a date run onto it.
    body = ("<article><h1>Raids</h1><div class='byline'>By<a href='/a/ds'>Dan Smith</a>"
            f"<time>Apr 16, 2015 8:02 pm UTC</time></div>{story}</article>")
    assert extract_article(_page(body)).author == "Dan Smith"
    body = f"<article><p>Posted by <a rel='author' href='/u/1'>Ana Sandoiu</a></p>{story}</article>"
    assert extract_article(_page(body)).author == "Ana Sandoiu"


def test_author_bios_comments_and_related_stories_are_not_bylines() -> None:
    story = f"<p>{PROSE}</p><p>{PROSE}</p>"
    body = (f"<article>{story}<div class='author-bio'>Jane Roe</div></article>"
            "<section class='comments'><span class='comment-author'>troll42</span>"
            "<span class='author'>Commenter Name</span></section>"
            "<ul class='related'><li><span class='byline'>Other Writer</span></li></ul>")
    assert extract_article(_page(body)).author is None


def test_json_ld_name_wins_over_a_headline_that_is_a_summary() -> None:
    ld = json.dumps({"@type": "Article", "name": "Hermitian matrix",
                     "headline": "matrix equal to its conjugate-transpose"})
    head = (f"<title>Hermitian matrix - Wikipedia</title>"
            f"<script type='application/ld+json'>{ld}</script>")
    body = f"<h1>Hermitian matrix</h1><div><p>{PROSE}</p><p>{PROSE}</p></div>"
    assert extract_article(_page(body, head)).title == "Hermitian matrix"
    # A headline that agrees with the page stays, even when the name differs.
    ld = json.dumps({"@type": "Article", "name": "Raids", "headline": "Raids in Ili"})
    head = f"<title>Raids in Ili</title><script type='application/ld+json'>{ld}</script>"
    assert extract_article(_page(body, head)).title == "Raids in Ili"


def test_a_forum_post_dated_at_its_foot_inside_the_thread() -> None:
    zh = "新疆当局本月拘押了数百名哈萨克族商人，冻结了他们的银行账户和资产，等待调查。"
    body = (f"<div><p>{zh * 20}</p><p>{zh * 20}</p>"
            "<p>〓 明星话题 发布时间 2005/03/15 22:36:13 by someone 〓</p>"
            f"<p>{zh * 5}</p><p>〓 明星话题 发布时间 2005/08/30 15:13:48 by other 〓</p></div>")
    assert extract_article(_page(body)).published == "2005-03-15T22:36:13"


@pytest.mark.parametrize(("byline", "author"), [
    ("顶端新闻·河南商报记者马俊峰/文 受访者供图", "马俊峰"),
    ("本报记者罗科苏盈发自北京", "罗科苏盈"),
    ("编辑：金金 来源：21世纪经济报道 作者：宋怡 杨志华 我要说说 打印", "宋怡 杨志华"),
    ("作者：芊草凡凡 时间：2005-08-01", "芊草凡凡"),
    ("ggjjzhzz 发表于 2005-9-15 11:46", "ggjjzhzz"),
], ids=["reporter-wen", "reporter-from", "writer-before-editor", "label-after", "posted"])
def test_chinese_byline_forms(byline: str, author: str) -> None:
    assert extract_article(_zh_page(byline)).author == author


@pytest.mark.parametrize(("ending", "author"), [
    ("（常书香 马丹阳 ）", "常书香 马丹阳"),
    ("（姚峰 上海报道）", "姚峰"),
    ("（完）", None),
    ("（新华社）", None),
], ids=["two-names", "report", "end-mark", "one-word"])
def test_chinese_closing_credit(ending: str, author: str | None) -> None:
    sentence = "新疆伊犁哈萨克自治州的警方本月拘押了数百名哈萨克族商人，冻结了他们的银行账户。"
    body = f"<article><p>{sentence * 3}</p><p>{sentence * 3}{ending}</p></article>"
    assert extract_article(_page(body)).author == author


def test_a_byline_after_an_article_ending_in_bare_text() -> None:
    # The article's last child is a text node, not an element: the text after
    # it (with the byline) must still be found.
    zh = "新疆当局本月拘押了数百名哈萨克族商人，冻结了他们的银行账户和资产，等待调查。"
    page = (f"<html><body><div id='story'>{zh * 4}<br>{zh * 4}<br>{zh * 4}</div>"
            "<div class='info'>作者：宋怡</div></body></html>")
    assert extract_article(page).author == "宋怡"


@pytest.mark.parametrize("value", ["大汉网络", "L_104485", "admin", "WordPress"])
def test_cms_vendors_roles_and_ids_are_not_authors(value: str) -> None:
    assert extract_article(_zh_page("本报讯", meta_author=value)).author is None


def test_markup_left_in_the_text_is_not_an_author() -> None:
    # Broken HTML leaves attribute text where the name should be.
    assert extract_article(_zh_page('作者： size="20" 来源： size="20"')).author is None


def _post(title: str, date: str, body: str) -> str:
    return (f"<table class='post'><tr><td class='post-title'>{title}</td>"
            f"<td class='post-title'><nobr>{date}</nobr></td></tr>"
            f"<tr><td colspan='2'><p>{body}</p><p>{body}</p></td></tr></table>")


def test_a_page_listing_several_posts_gives_the_first() -> None:
    first = "新疆当局本月拘押了数百名哈萨克族商人，冻结了他们的银行账户和资产，等待调查。" * 3
    other = "巴拉臘特發展于1850年開始的淘金潮中，也是當年華人勞工集中的地方，現在是觀光城市。" * 3
    posts = (_post("拘押商人 (图)", "2005-03-21 01:20:44", first)
             + _post("昨天去金矿玩 (图)", "2005-03-02 12:00:00", other)
             + _post("又一篇 (图)", "2005-02-11 08:30:00", other))
    text = extract_article(_page(f"<div class='posts'>{posts}</div>")).text
    assert text.startswith(first[:20]) and other[:20] not in text


def test_one_dated_article_is_left_whole() -> None:
    para = "新疆当局本月拘押了数百名哈萨克族商人，冻结了他们的银行账户和资产，等待调查。" * 3
    body = (f"<article><h2>拘押商人</h2><p>2005-03-21 01:20:44</p><p>{para}</p>"
            f"<p>{para}</p><h3>背景</h3><p>{para}</p></article>")
    text = extract_article(_page(body)).text
    assert text.count(para) == 3 and "2005-03-21" in text


def _toc(n: int = 12) -> str:
    items = "".join(f"<li><a href='#s{i}'>{i} Section heading number {i}</a></li>"
                    for i in range(n))
    return f"<div id='toc' class='toc'><h2>Contents</h2><ul>{items}</ul></div>"


def test_a_table_of_contents_does_not_cut_off_the_lead() -> None:
    lead = ("The Mozilla lead paragraph explains what the subject is, who runs it, "
            "and why it matters to the people who use it every day, in well over a "
            "hundred and fifty characters of prose (not counting the spaces between "
            "its words).")
    assert len(lead.replace(" ", "")) > 150
    body = "".join(f"<h2>Part {i}</h2><p>{PROSE}</p><p>{PROSE}</p>" for i in range(4))
    page = _page(f"<div class='content'><p>{lead}</p>{_toc()}{body}</div>")
    text = extract_article(page).text
    assert text.startswith(lead) and "Section heading number" not in text


def test_prose_beyond_a_marked_menu_stays_out() -> None:
    teaser = ("A teaser for another story sits above the menu, long enough to be a real "
              "paragraph of prose, with well over a hundred and fifty characters in it "
              "(not counting spaces), so only the menu's mark keeps it out.")
    assert len(teaser.replace(" ", "")) > 150
    body = "".join(f"<p>{PROSE}</p>" for _ in range(6))
    page = _page(f"<div class='content'><p>{teaser}</p><nav class='menu'>{_toc()}</nav>"
                 f"{_toc()}{body}</div>")
    assert teaser[:30] not in extract_article(page).text


def test_data_table_cells_are_kept_even_when_they_are_links() -> None:
    rows = "".join(f"<tr><td><a href='/f{i}'>Film title {i}</a></td><td>19{50 + i}</td>"
                   f"<td>A day repeats until the hero learns what the loop wants.</td></tr>"
                   for i in range(12))
    table = (f"<table class='list'><tr><th>Title</th><th>Year</th><th>Plot</th></tr>"
             f"{rows}</table>")
    page = _page(f"<article><p>{PROSE}</p><p>{PROSE}</p>{table}<p>{PROSE}</p></article>")
    text = extract_article(page).text
    assert all(f"Film title {i}" in text for i in range(12))


def test_the_article_byline_beats_a_teaser_byline_above_it() -> None:
    teaser = ("<div class='promo-strip'><h2>Another story</h2>"
              "<span class='byline'><a rel='author' href='/w/x'>Teaser Writer</a></span></div>")
    story = "".join(f"<p>{PROSE}</p>" for _ in range(5))
    article = (f"<div class='story-wrap'><div class='story-head'><h1>Raids</h1>"
               f"<span class='byline'><a rel='author' href='/w/y'>Joanna Rothkopf</a></span>"
               f"</div><div class='story-body'>{story}</div></div>")
    page = f"<html><body><div class='top'>{teaser}</div>{article}</body></html>"
    assert extract_article(page).author == "Joanna Rothkopf"
