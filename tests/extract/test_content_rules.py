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


def test_a_list_of_teasers_with_unlinked_excerpts_is_not_the_article() -> None:
    cards = "".join(
        f"<div><h3><a href='/s{i}'>Headline of another story number {i}</a></h3>"
        f"<p>An excerpt of that other story, unlinked: what happened, where and when, "
        f"and who said what about it, all in a sentence or two {i}.</p></div>"
        for i in range(6))
    page = (f"<html><body><div class='x1'>{f'<p>{PROSE}</p>' * 4}"
            f"<div class='x2'>{cards}</div></div></body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text
    assert "another story" not in text and "excerpt" not in text


def test_a_link_heavy_block_inside_the_prose_does_not_end_the_article() -> None:
    names = "".join(f"<li><a href='/people/{i}'>Reporter Number {i}</a></li>" for i in range(12))
    second = ("Later that week the court released some of them on bail, their lawyers said, "
              "while others remain held without charge in the city's detention centre. ")
    page = (f"<html><body><div class='x1'>{f'<p>{PROSE}</p>' * 3}"
            f"<ul class='x2'>{names}</ul>{f'<p>{second}</p>' * 3}</div>"
            f"<div class='x3'><p>{COOKIES}</p></div></body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text and second.strip() in text
    assert "Reporter Number" not in text


def test_sign_up_boxes_named_in_camel_case_are_boilerplate() -> None:
    box = ("Get the stories that matter, every morning, in your inbox: join thousands of "
           "readers, it is free, and you can leave whenever you like, no questions asked.")
    page = (f"<html><body><article><p>{PROSE}</p><p>{PROSE}</p>"
            f"<div class='NewsletterBox2'><p>{box}</p></div><p>{PROSE}</p>"
            f"<p>{PROSE}</p></article></body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text and "inbox" not in text


def test_a_button_left_open_does_not_swallow_the_page() -> None:
    # lxml nests the rest of the page inside an unclosed <button>; a <button>
    # (dropped, like an <svg>) can never hold a block, so the blocks are kept.
    page = (f"<html><body><button class='menu'>Menu <main><article><p>{PROSE}</p>"
            f"<p>{PROSE}</p></article></main></body></html>")
    assert PROSE.strip() in extract_article(page).text


def test_a_page_built_by_script_is_read_from_its_noscript_content() -> None:
    posts = "".join(f"<div class='post'><p>{PROSE} Reply {i}.</p></div>" for i in range(3))
    page = (f"<html><body><section id='splash'><div>Loading…</div></section>"
            f"<noscript><div id='topic'><h1>A thread</h1>{posts}</div></noscript>"
            f"<noscript><img src='/pixel.gif'></noscript></body></html>")
    text = extract_article(page).text
    assert text.count(PROSE.strip()) == 3


def test_noscript_content_stays_out_of_a_page_with_text() -> None:
    page = (f"<html><body><div class='article'>{f'<p>{PROSE}</p>' * 3}</div>"
            f"<noscript><p>Please enable JavaScript to see the comments, the related "
            f"stories and the rest of this page as it was meant to be seen.</p></noscript>"
            f"</body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text
    assert "JavaScript" not in text


def test_a_page_hidden_until_its_scripts_load_is_read() -> None:
    page = (f"<html><body><div id='app' style='visibility:hidden'>"
            f"<div style='display:none'><ul><li>Courses</li><li>Tutorials</li></ul></div>"
            f"<div class='article'>{f'<p>{PROSE}</p>' * 3}</div></div></body></html>")
    assert PROSE.strip() in extract_article(page).text


def test_a_page_of_short_blocks_gives_its_main_element_not_one_block() -> None:
    items = "".join(f"<li><h3>Senior engineer {i}</h3><span>Remote</span></li>" for i in range(12))
    filters = "".join(f"<a href='/f{i}'>Filter {i}</a> " for i in range(6))
    menu = "".join(f"<li><a href='/c{i}'>Category number {i}</a></li>" for i in range(20))
    page = (f"<html><body><nav><ul>{menu}</ul></nav><main><section><div><h1>Jobs</h1>"
            f"<p>{PROSE}</p></div></section><section><div>{filters}</div><ul>{items}</ul>"
            f"</section></main><footer><ul>{menu}</ul></footer></body></html>")
    text = extract_article(page).text
    assert "Senior engineer 11" in text and PROSE.strip() in text
    assert "Category number" not in text


def test_a_blog_posts_topic_classes_do_not_mark_it_as_boilerplate() -> None:
    # A blog engine lists the post's categories and tags as classes; the
    # slug "social-media" is the post's topic, not a share bar.
    comments = "".join(f"<div class='comment'><p>{PROSE} Comment {i}.</p></div>"
                       for i in range(4))
    page = (f"<html><body><div class='post type-post status-publish hentry "
            f"category-social-media tag-share'><div class='entry'><p>{PROSE}</p>"
            f"<p>{PROSE}</p></div></div><div class='comments'>{comments}</div>"
            f"<div class='module-content'><p>Disclaimer: the views expressed on this "
            f"site are my own and not those of my employer.</p></div></body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text
    assert "Disclaimer" not in text


def test_page_builder_widget_blocks_are_the_article() -> None:
    # A page builder names every block "<builder>-widget…", the article's too.
    blocks = "".join(f"<div class='pb-element pb-widget pb-widget-text-editor'>"
                     f"<div class='pb-widget-container'><p>{PROSE} Part {i}.</p></div></div>"
                     for i in range(4))
    page = f"<html><body><div class='pb-widget-wrap'>{blocks}</div></body></html>"
    text = extract_article(page).text
    assert all(f"Part {i}." in text for i in range(4))


def test_body_content_left_in_an_unclosed_head_is_kept() -> None:
    # An unknown tag in <head> before any <body> keeps lxml in the head.
    page = (f"<html><head><title>A story</title><mbox><table><tr><td>"
            f"<div><p>{PROSE}</p><p>{PROSE}</p></div></td></tr></table></mbox></head></html>")
    assert PROSE.strip() in extract_article(page).text


def test_a_page_that_is_only_a_list_of_links_keeps_them() -> None:
    items = "".join(f"<li><a href='/r{i}'>owner{i} / project-{i}</a></li>" for i in range(15))
    page = f"<html><body><main><h2>Trending</h2><ul>{items}</ul></main></body></html>"
    text = extract_article(page).text
    assert "owner14 / project-14" in text


def test_an_article_inside_a_share_wrapper_outweighing_all_else_is_kept() -> None:
    # The wrapper holds under half the page's prose (a long thread of
    # comments follows), but its article element outweighs every other
    # candidate many times over.
    comments = "".join(f"<div class='comment'><p>{PROSE} Comment {i}.</p></div>"
                       for i in range(8))
    page = (f"<html><body><div class='notice'><p>{COOKIES}</p></div>"
            f"<div class='share_wrapper'><div class='article'>{f'<p>{PROSE}</p>' * 6}"
            f"</div></div><div id='comments'>{comments}</div></body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text
    assert "cookies" not in text


def test_a_script_hook_class_does_not_sink_the_content_it_names() -> None:
    # "js-social-images" says what a script does with the element.
    comments = "".join(f"<div class='comment'><p>{PROSE} Comment {i}.</p></div>"
                       for i in range(8))
    page = (f"<html><body><h1>Traders in the county see their bank accounts frozen</h1>"
            f"<div class='module content-module js-social-images'>"
            f"{f'<p>{PROSE}</p>' * 3}</div><div id='comments'>{comments}</div></body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text
    assert "Comment 1." not in text


def test_an_article_wrapped_in_an_inline_element_is_found_whole() -> None:
    # A <span> around the article's paragraphs, with a comment thread inside
    # it after them: the span is a block holding the article, so the best run
    # of its paragraphs is taken, not only the strongest single paragraph.
    firsts = [f"Paragraph {i} of the report: {PROSE}" for i in range(4)]
    comments = "".join(f"<div class='comment'><p>{PROSE} Reader {i} agrees.</p></div>"
                       for i in range(12))
    page = (f"<html><body><div class='article-content'><span class='innerdesc'>"
            f"{''.join(f'<p>{p}</p>' for p in firsts)}{comments}</span></div></body></html>")
    text = extract_article(page).text
    assert all(p.strip() in text for p in firsts)
    assert "Reader" not in text


def test_a_sentence_that_links_most_of_its_words_is_kept() -> None:
    linked = ("<p>Yesterday <a href='/a'>the rights group</a> published "
              "<a href='/b'>its report on the detention camps</a>, citing "
              "<a href='/c'>satellite images and leaked police files</a>.</p>")
    menu = "<p><a href='/x'>Home</a> <a href='/y'>World news and more</a></p>"
    page = (f"<html><body><div class='story'>{f'<p>{PROSE}</p>' * 3}{linked}{menu}"
            f"{f'<p>{PROSE}</p>' * 2}</div></body></html>")
    text = extract_article(page).text
    assert "its report on the detention camps" in text
    assert "World news and more" not in text


def test_an_authors_bio_inside_the_article_is_left_out() -> None:
    # Bios run past the 200 characters under which an author line is pruned
    # anyway; "bio" names them in any builder's class scheme ("card__bio").
    bio = ("Jane Doe is a senior correspondent who has covered courts, prisons and "
           "police for fifteen years. She has reported from twelve countries, won three "
           "national awards, and teaches reporting at the city university. ")
    page = (f"<html><body><article><p>{PROSE}</p><p>{PROSE}</p><p>{PROSE}</p>"
            f"<div class='writer-card'><div class='writer-card__bio'><p>{bio}</p></div>"
            f"</div></article></body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text
    assert "correspondent" not in text


def test_a_disclosure_or_disclaimer_box_inside_the_article_is_left_out() -> None:
    note = ("This post may contain affiliate links: when you buy through them we may earn "
            "a commission, at no cost to you. Read our policy to learn more about it.")
    page = (f"<html><body><article><div class='affiliate-disclosure'><p>{note}</p></div>"
            f"<p>{PROSE}</p><p>{PROSE}</p><p>{PROSE}</p>"
            f"<div class='legal-disclaimer-box'><p>{note}</p></div></article></body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text
    assert "commission" not in text


def test_a_lead_sentence_linking_its_words_starts_the_article() -> None:
    # Links cost double, so the lead scores below zero and the best run of
    # paragraphs starts after it; the render keeps it, and so must the run.
    lead = ("<p>Today <a href='/org'>the rights group in exile</a> released "
            "<a href='/report'>a long report on the detention camps in the north</a> "
            "with the new names of those held.</p>")
    page = (f"<html><body><div class='x1'><p><a href='/home'>Home</a></p></div>"
            f"<div class='story'>{lead}{f'<p>{PROSE}</p>' * 3}</div></body></html>")
    text = extract_article(page).text
    assert text.startswith("Today the rights group in exile released")
    assert "Home" not in text


def test_a_linked_item_of_a_list_of_prose_is_kept() -> None:
    items = ("<li>Draw up a budget for the whole year and keep to it</li>"
             "<li><a href='/venues'>Research the venues near you</a></li>"
             "<li>Ask your family who can help on the day, and when</li>"
             "<li><a href='/party'>Pop the question to your friends</a></li>"
             "<li>Book the photographer once the date is fixed</li>")
    links = "".join(f"<li><a href='/t{i}'>Another story number {i}</a></li>" for i in range(5))
    page = (f"<html><body><div class='story'><p>{PROSE}</p><ul>{items}</ul><p>{PROSE}</p>"
            f"<ul>{links}</ul><p>{PROSE}</p></div></body></html>")
    text = extract_article(page).text
    assert "Research the venues near you" in text and "Pop the question" in text
    assert "Another story" not in text


def test_a_table_of_short_cells_inside_the_prose_does_not_end_the_article() -> None:
    # Each short cell costs a block's fixed cost and the linked names cost
    # double, so the table scores far below zero; it is not marked as
    # boilerplate, and prose follows it.
    rows = "".join(f"<tr><td>{i}</td><td><a href='/p{i}'>Prison {i}</a></td><td>{100 + i}</td>"
                   f"<td>N/A</td></tr>" for i in range(20))
    second = ("Later that week the court released some of them on bail, their lawyers said, "
              "while others remain held without charge in the city's detention centre. ")
    page = (f"<html><body><div class='x1'>{f'<p>{PROSE}</p>' * 2}<table>{rows}</table>"
            f"{f'<p>{second}</p>' * 2}</div><div class='x3'><p>{COOKIES}</p></div>"
            f"</body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text and second.strip() in text
    assert "107" in text
    assert "cookies" not in text


def test_an_author_box_with_a_long_bio_is_left_out() -> None:
    box = ("<div class='author-info'><h4>About the author</h4><p>Sam Roe has reported on "
           "courts and police for twenty years, first in Lagos, then in Nairobi, and now "
           "from the capital, where she covers the justice ministry. She studied law, "
           "worked as a clerk at the high court, and wrote two books on pre-trial "
           "detention. Her work has won the national press award twice. She lives with "
           "her family and two dogs by the river, and she is on leave until the spring; "
           "write to the desk in the meantime.</p></div>")
    page = f"<html><body><div class='story'>{f'<p>{PROSE}</p>' * 6}{box}</div></body></html>"
    text = extract_article(page).text
    assert PROSE.strip() in text
    assert "Sam Roe" not in text and "About the author" not in text


def test_a_paragraph_chosen_as_the_article_is_kept_whole() -> None:
    # A post written as one <p> of lines: its last lines are links to sources;
    # the best run of its inline children ends before them, but a paragraph
    # is one block of text, not a list of parts to choose from.
    sources = "".join(f"<br>\u2022 <a href='/s{i}'>Source article number {i} on lectures</a>"
                      f" (a journal)" for i in range(4))
    page = (f"<html><body><div class='x1'><p><a href='/'>Home</a></p></div>"
            f"<div class='entry'><p>{PROSE}<br>{PROSE}<br>Some reading:{sources}</p></div>"
            f"</body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text
    assert "Source article number 3 on lectures" in text


def test_a_post_of_loose_lines_in_a_div_is_kept_whole() -> None:
    # The post body is a <div> of text and <br>, no paragraphs: its first
    # line links most of its words, and the best run of its inline parts
    # started after it.
    lead = ("Come to <a href='/e'>the book event about the detention camps</a> at "
            "<a href='/s'>The Reading Bookshop downtown</a> on Saturday")
    page = (f"<html><body><div class='x1'><p><a href='/'>Home</a></p></div>"
            f"<div class='post-body'>{lead}<br><br>{PROSE}<br><br>{PROSE}</div>"
            f"</body></html>")
    text = extract_article(page).text
    assert text.startswith("Come to the book event")


def test_a_linked_section_heading_inside_the_article_is_kept() -> None:
    # Listicles and guides link their section headings (to the hotel, the
    # product, the source): each is a heading of the article, not a link list.
    sections = "".join(f"<h3><a href='/h{i}'>{i}. Hotel Number {i}</a></h3><p>{PROSE}</p>"
                       for i in range(1, 5))
    page = (f"<html><body><ul class='x0'><li><a href='/'>Home</a></li></ul>"
            f"<div class='entry'><p>{PROSE}</p>{sections}</div></body></html>")
    text = extract_article(page).text
    assert all(f"{i}. Hotel Number {i}" in text for i in range(1, 5))
    assert "Home" not in text


def test_a_short_post_under_the_title_heading_beats_a_longer_blurb_elsewhere() -> None:
    # A few lines under the post's title weigh less than the blog's "about"
    # blurb; the heading that repeats the page's title says where the post is.
    post = ("Witnesses saw the trucks leave the camp at dawn, and two of them "
            "confirmed it to us by phone; more soon. Photos below, by a reader.")
    about = ("I am a reporter and photographer. I have covered detentions, courts, "
             "borders and the people who cross them for twenty years, in nine "
             "countries. Write to me, any time, about anything you saw.")
    archive = "".join(f"<li><a href='/a{i}'>Archive page {i}</a></li>" for i in range(8))
    page = (f"<html><head><title>Trucks leave the camp at dawn | A reporter's notes</title>"
            f"</head><body><div id='c1'><div class='entry'><h3><a href='/p/1'>Trucks leave "
            f"the camp at dawn</a></h3><div class='body'><p>{post}</p></div></div></div>"
            f"<ul>{archive}</ul><div id='c2'><h2>About me</h2><p>{about}</p></div></body></html>")
    text = extract_article(page).text
    assert post in text
    assert "I am a reporter" not in text


def test_a_post_under_the_title_heading_is_kept_however_short() -> None:
    # Under 100 characters a pick is taken for a fragment and the whole page
    # is looked at instead, which here is a footer; not when it holds the
    # heading that repeats the title.
    post = "A perfect song by a band from the valley. Thanks to a reader for it!"
    footer = ("If you find anything here worth sharing, please link back to this blog. "
              "All rights reserved, 2012, powered by a blogging platform.")
    page = (f"<html><head><title>Broken songs - A blog of songs</title></head><body>"
            f"<div class='post'><h3><a href='/p/2'>Broken songs</a></h3>"
            f"<div class='meta'><a href='/c/5'>sounds</a> - 11:56</div>"
            f"<div class='storycontent'><p>{post}</p></div></div>"
            f"<div class='credit'><p>{footer}</p></div></body></html>")
    text = extract_article(page).text
    assert post in text
    assert "link back" not in text


def test_comments_after_a_heading_with_no_wrapper_end_the_post() -> None:
    # Older blog engines put the comments right after the post, as sibling
    # paragraphs under a "Comments" heading, with nothing marking them.
    comments = "".join(
        f"<p>Thank you for writing this, it says what many of us felt for years, "
        f"and I shared it with my colleagues at the office today, number {i}.</p>"
        f"<p class='posted'>Posted by: Reader {i} | March 2{i}, 2007 2:0{i} PM</p>"
        for i in range(6))
    page = (f"<html><body><div class='content'><h3>A post</h3>"
            f"<p>{PROSE}</p><p>{PROSE}</p><p class='posted'>Posted by Kathy</p>"
            f"<h2><a id='c'></a>12 Comments</h2>{comments}</div></body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text
    assert "Thank you for writing this" not in text


def test_a_section_headed_response_is_part_of_the_article() -> None:
    # "Response" or "Reactions" alone head sections of articles (an API's
    # Response object, the reactions of officials); only a count or "to …"
    # makes them a comment thread.
    page = (f"<html><body><div class='content'><h2>Request</h2><p>{PROSE}</p>"
            f"<h2>Response</h2><p>Officials gave no answer to the families, who asked "
            f"again at the gate the next morning.</p><p>{PROSE}</p></div></body></html>")
    text = extract_article(page).text
    assert "Officials gave no answer" in text


def test_a_line_of_a_post_is_not_cut_at_a_link_in_its_middle() -> None:
    # A post body of text and <br> lines that also holds blocks (a field
    # with the event's address): the best run of its parts began right
    # after the link in the middle of a line, cutting the line in two.
    line = ("I would love to invite you all to <a href='/e'>the book event about the "
            "detention camps of the region</a> at the Reading Bookshop this Saturday.")
    page = (f"<html><body><div class='x1'><p><a href='/'>Home</a></p></div>"
            f"<div class='post-body'>Dear all,<br><br>{line}<br><br>"
            f"<div class='field'>Location: The Reading Bookshop, 785 Laurel Street</div>"
            f"<div class='field'>{PROSE}</div></div></body></html>")
    text = extract_article(page).text
    assert "I would love to invite you all to the book event" in text
    assert "Dear all," in text


def test_a_short_line_with_a_link_just_above_the_post_is_kept() -> None:
    # "Posted by <a>admin</a> in <a>News</a> on …" links a name or two and
    # scores below zero on its own; it is a line of the post, and the run
    # began below it.
    posted = ("Posted by <a href='/u/admin'>admin</a> in <a href='/c/news'>Camp News</a>"
              " on Aug 9th, 2012 | no responses")
    page = (f"<html><body><ul class='x0'><li><a href='/'>Home</a></li></ul>"
            f"<div class='post'><h1>Trucks leave the camp</h1><div class='info'>{posted}</div>"
            f"<div class='entry'><p>{PROSE}</p><p>{PROSE}</p></div></div></body></html>")
    text = extract_article(page).text
    assert "Posted by admin in Camp News on Aug 9th, 2012" in text
    assert PROSE.strip() in text


def test_the_source_line_right_after_the_post_is_kept() -> None:
    # "Source: <a>…</a>" or "via <a>…</a>" closes many posts; mostly a link,
    # it scores below zero and the run ended before it.
    page = (f"<html><body><ul class='x0'><li><a href='/'>Home</a></li></ul>"
            f"<div class='entry'><p>{PROSE}</p><p>{PROSE}</p>"
            f"<p>Source: <a href='https://courier.example/camp'>The Camp Courier</a></p>"
            f"<p><a href='/t/1'>Tagged one</a>, <a href='/t/2'>tagged two</a>, "
            f"<a href='/t/3'>tagged three</a></p></div></body></html>")
    text = extract_article(page).text
    assert text.endswith("Source: The Camp Courier")


def test_headlines_wrapped_in_a_link_count_as_links_not_prose() -> None:
    # A list of "most read" headlines, each a <div> inside an <a>: the text of
    # a block inside a link is link text, not prose, or the list scores as
    # prose and takes the column beside the article into the run with it.
    popular = "".join(f"<div><a href='/p{i}'><div>Most read today: another story of "
                      f"this site, number {i}</div></a></div>" for i in range(4))
    blurb = ("Our newsroom is independent and funded by readers like you, every single "
             "month. Give what you can today and help us keep our reporting free for all. "
             "Every gift, however small, pays for the next story. Thank you for reading.")
    page = (f"<html><body><div class='x0'><div class='x1'>{f'<p>{PROSE}</p>' * 20}</div>"
            f"<div class='x2'><p>{blurb}</p><div class='x3'>{popular}</div></div>"
            f"</div></body></html>")
    text = extract_article(page).text
    assert PROSE.strip() in text
    assert "newsroom" not in text and "Most read" not in text
