"""Encodings: HTTP charset > BOM > <meta> > detection; GB2312/GBK read as GB18030;
invalid bytes replaced, never fatal; no spaces put between CJK characters."""

from __future__ import annotations

import codecs

import pytest

from archiver import extract_article
from archiver.extract.encoding import decode_html, normalize_encoding

ZH = "新疆当局本月拘押了数百名哈萨克族商人，冻结了他们的银行账户和资产，等待“调查”。"
# U+00B7 and U+2014 are GBK-only mappings (not in strict GB2312).
ZH_GBK_ONLY = "库尔班·阿卜杜拉——当地居民说，警方在十一月初开始大规模抓捕。"


def _page(body: str, meta: str = "") -> str:
    paragraphs = "".join(f"<p>{body}{i}{body}</p>\n" for i in range(6))
    return (f"<html><head>{meta}<title>测试</title></head><body><nav><a href='/'>首页</a>"
            f"</nav><article>{paragraphs}</article></body></html>")


@pytest.mark.parametrize("label", ["gb2312", "GBK", "x-gbk", "cp936", "GB18030"])
def test_gb_family_is_read_as_gb18030(label: str) -> None:
    assert normalize_encoding(label) == "gb18030"


def test_labels() -> None:
    assert normalize_encoding("latin1") == "cp1252"
    assert normalize_encoding("UTF8") == "utf-8"
    assert normalize_encoding("no-such-charset") is None
    assert normalize_encoding(None) is None


def test_http_charset_wins_over_meta() -> None:
    data = _page(ZH, '<meta charset="utf-8">').encode("gbk")
    text, codec = decode_html(data, "gbk")
    assert codec == "gb18030" and ZH in text


def test_bom_wins_over_meta() -> None:
    data = codecs.BOM_UTF8 + _page(ZH, '<meta charset="gbk">').encode("utf-8")
    text, codec = decode_html(data)
    assert codec.startswith("utf-8") and ZH in text and not text.startswith("\ufeff")


def test_utf16_bom() -> None:
    data = codecs.BOM_UTF16_LE + _page(ZH).encode("utf-16-le")
    text, _ = decode_html(data)
    assert ZH in text


@pytest.mark.parametrize("meta", [
    '<meta charset="gb2312">',
    '<meta http-equiv="Content-Type" content="text/html; charset=GBK">',
])
def test_declared_gbk_with_gbk_only_characters(meta: str) -> None:
    data = _page(ZH_GBK_ONLY, meta).encode("gbk")
    text, codec = decode_html(data)
    assert codec == "gb18030" and ZH_GBK_ONLY in text
    assert ZH_GBK_ONLY in extract_article(data).text


def test_undeclared_gbk_is_detected() -> None:
    data = _page(ZH + ZH_GBK_ONLY).encode("gbk")
    _, codec = decode_html(data)
    assert codec == "gb18030", codec
    article = extract_article(data)
    assert ZH in article.text and ZH_GBK_ONLY in article.text


def test_utf8_mislabelled_as_gbk_by_http_is_still_decoded_without_error() -> None:
    data = _page(ZH).encode("utf-8")
    text, _ = decode_html(data, "gbk")  # wrong, but the caller said so: no exception
    assert text


def test_invalid_bytes_are_replaced_not_fatal() -> None:
    data = _page(ZH, '<meta charset="gbk">').encode("gbk")
    broken = data.replace(ZH.encode("gbk")[:4], b"\xff\xfe\x81", 1)
    text, _ = decode_html(broken)
    assert "\ufffd" in text
    assert extract_article(broken).text


def test_unknown_http_charset_falls_back_to_meta() -> None:
    data = _page(ZH, '<meta charset="gbk">').encode("gbk")
    text, codec = decode_html(data, "x-unknown-charset")
    assert codec == "gb18030" and ZH in text


def test_no_spaces_between_cjk_across_inline_elements_and_line_breaks() -> None:
    html = ("<html><body><article><p><span>新疆</span><b>当局</b><a href='#'>本月</a>拘押了\n"
            "数百名哈萨克族商人，冻结了他们的银行账户和资产。</p>" * 5 + "</article></body></html>")
    text = extract_article(html).text
    assert "新疆当局本月拘押了数百名哈萨克族商人" in text
    assert " " not in text


def test_latin_words_keep_their_spaces() -> None:
    html = ("<html><body><article><p>Police in <b>Dorbiljin</b>\n county have swooped "
            "on an estimated 500 traders, sources said.</p>" * 5 + "</article></body></html>")
    assert "Police in Dorbiljin county have swooped" in extract_article(html).text


def test_page_resaved_as_utf8_with_an_old_gbk_meta_is_read_as_utf8() -> None:
    data = _page(ZH, '<meta charset="gb2312">').encode("utf-8")
    text, codec = decode_html(data)
    assert codec == "utf-8" and ZH in text


def test_short_undeclared_gbk_page_that_detectors_call_cyrillic() -> None:
    data = ("<html><body><p>" + ZH_GBK_ONLY + "</p></body></html>").encode("gbk")
    _, codec = decode_html(data)
    assert codec == "gb18030"


@pytest.mark.parametrize("text,codec", [
    ("Привет, как дела? Это тест кириллицы в кодировке. " * 20, "cp1251"),
    ("Grüße aus München, schön daß Sie da sind. " * 20, "cp1252"),
])
def test_undeclared_western_pages_are_not_taken_for_gbk(text: str, codec: str) -> None:
    decoded, used = decode_html(f"<html><body><p>{text}</p></body></html>".encode(codec))
    assert used != "gb18030" and text in decoded
