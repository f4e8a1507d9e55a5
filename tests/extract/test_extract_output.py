"""Extract output: Markdown keeps structure; untyped responses are sniffed like a browser."""

from __future__ import annotations

from pathlib import Path

from archiver import Article, extract_article
from archiver.demo import load_site
from archiver.extract.render import markdown_body


def _article(path_end: str) -> Article:
    page = next(p for p in load_site() if p.path.endswith(path_end))
    return extract_article(page.body(), encoding="utf-8")


def test_blocks_are_the_text_paragraph_by_paragraph() -> None:
    article = _article("kazakhs-11132017.html")
    assert "\n\n".join(text for _, text in article.blocks) == article.text
    assert "blocks" not in article.to_dict()  # JSON keeps the documented fields


def test_rfa_subheadings_become_markdown_headings() -> None:
    md = markdown_body(_article("kazakhs-11132017.html").blocks)
    assert "\n\n## Hard-line ethnic minority policies\n\n" in md
    assert "\n\n## SIM card, money transfer\n\n" in md


def test_chinaaid_stories_become_one_markdown_list() -> None:
    md = markdown_body(_article("mass-arrests-in-xinjiang-continue.html").blocks)
    items = [line for line in md.split("\n") if line.startswith("- ")]
    assert len(items) == 4 and items[0].startswith("- Duran Duliwa")
    start = md.index(items[0])
    assert md[start:].startswith("\n".join(items))  # consecutive: one list, not four


def test_text_that_looks_like_markdown_is_escaped() -> None:
    md = markdown_body([("p", "# 500 detained *not* emphasis [link](x)"), ("p", "1. not a list"),
                        ("quote", "They took her away"), ("pre", "a\n  b")])
    assert md == ("\\# 500 detained \\*not\\* emphasis \\[link\\](x)\n\n1\\. not a list\n\n"
                  "> They took her away\n\n```\na\n  b\n```")


def test_responses_without_content_type_are_sniffed(tmp_path: Path) -> None:
    import http_scripts as hs
    from servers import RawServer

    from archiver import ArchiveRoot, capture_urls
    from archiver.capture.settings import CaptureSettings
    from archiver.extract.reader import Extracted, extract_warcs
    from archiver.warc.files import find_warc_files

    page = (b"<!DOCTYPE html><html><head><title>Detentions</title></head><body><article>"
            + b"<p>Police detained hundreds of ethnic Kazakh traders in the county.</p>" * 5
            + b"</article></body></html>")
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    with RawServer() as server:
        server.script("/page", hs.ok(page, content_type=None))
        server.script("/image", hs.ok(png, content_type=None))
        root = ArchiveRoot(tmp_path)
        page_url = server.url("/page")
        capture_urls(root, [page_url, server.url("/image")], CaptureSettings(delay=0, retries=0))
    items = list(extract_warcs(find_warc_files(root.warcs), root=root))
    assert [i.provenance.target_uri for i in items if isinstance(i, Extracted)] == [page_url]
    assert all(isinstance(i, Extracted) for i in items)  # the image is skipped, not a problem


def test_chunked_page_with_extensions_and_trailers_extracts_cleanly(tmp_path: Path) -> None:
    # The payload digest check in extract must de-chunk exactly as capture digested.
    import http_scripts as hs
    from servers import RawServer

    from archiver import ArchiveRoot, capture_urls
    from archiver.capture.settings import CaptureSettings
    from archiver.extract.reader import Extracted, extract_warcs
    from archiver.warc.files import find_warc_files

    para = b"<p>Police detained hundreds of ethnic Kazakh traders in the county.</p>"
    pieces = [b"<html><head><title>Raids</title></head><body><article>", para * 3,
              para * 3, b"</article></body></html>"]
    with RawServer() as server:
        server.script("/chunked", hs.chunked(pieces, extensions=["a=1", None, "b", None],
                                             trailers=[("X-Trace", "abc")]))
        root = ArchiveRoot(tmp_path)
        url = server.url("/chunked")
        capture_urls(root, [url], CaptureSettings(delay=0, retries=0))
    (item,) = list(extract_warcs(find_warc_files(root.warcs), root=root))
    assert isinstance(item, Extracted), item
    assert item.article.text.count("Police detained hundreds") == 6


def test_rfa_date_line_above_the_story_is_its_date_not_its_text() -> None:
    article = _article("kazakhs-11132017.html")
    assert article.published == "2017-11-13"
    assert article.text.startswith("Ethnic Kazakhs in Xinjiang")
    assert "2017-11-13" not in article.text.split("\n\n")[0]
