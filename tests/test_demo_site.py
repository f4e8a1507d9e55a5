"""The bundled sample site's files agree with its site.json (no server involved)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import lxml.html
import pytest

SITE = resources.files("archiver") / "demo_site"
PAGES: list[dict[str, Any]] = json.loads((SITE / "site.json").read_text(encoding="utf-8"))["pages"]
ARTICLES = [p for p in PAGES if "article" in p]
GBK_PAGES = [p for p in PAGES if p.get("encoding") == "gbk"]


def norm(text: str) -> str:
    return " ".join(text.split())


def page_text(page: dict[str, Any]) -> tuple[list[str], str]:
    """(normalised text of every p/li/h* element, normalised text of the whole body)."""
    raw = (SITE / page["file"]).read_bytes()
    doc = lxml.html.document_fromstring(raw.decode(page["encoding"]))
    blocks = [norm(el.text_content()) for el in doc.iter("p", "li", "h1", "h2", "h3", "h4")]
    return blocks, norm(doc.body.text_content())


def test_every_file_exists_and_every_path_is_unique() -> None:
    paths = [p["path"] for p in PAGES]
    assert len(paths) == len(set(paths))
    for page in PAGES:
        if page["mode"] == "redirect":
            assert page["file"] is None and page["location"] in paths
        else:
            assert (SITE / page["file"]).is_file(), page["file"]


@pytest.mark.parametrize("page", ARTICLES, ids=lambda p: p["path"])
def test_expected_paragraphs_are_the_pages_own_blocks_in_order(page: dict[str, Any]) -> None:
    blocks, _ = page_text(page)
    positions = [blocks.index(para) for para in page["article"]["expected_paragraphs"]]
    assert positions == sorted(positions)


@pytest.mark.parametrize("page", ARTICLES, ids=lambda p: p["path"])
def test_boilerplate_is_on_the_page_but_not_in_the_article(page: dict[str, Any]) -> None:
    _, body = page_text(page)
    article = "\n".join(page["article"]["expected_paragraphs"])
    for line in page["article"]["boilerplate"]:
        assert line in body, line
        assert line not in article, line


@pytest.mark.parametrize("page", GBK_PAGES, ids=lambda p: p["path"])
def test_gbk_pages_are_really_gbk(page: dict[str, Any]) -> None:
    raw = (SITE / page["file"]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gbk") == raw.decode("gb18030")
    declared = page["meta_charset"]
    assert (declared is None) == (b"charset" not in raw.lower())
