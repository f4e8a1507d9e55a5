"""Turning the bytes of an HTML page into text: which encoding, and decoding it.

The order of evidence is the HTTP ``Content-Type`` charset (passed in by the
caller), then a byte-order mark, then a ``<meta>`` declaration in the first
bytes of the page, then statistical detection (charset-normalizer). Declared
GB2312 and GBK are decoded as their superset GB18030, since real pages
labelled GB2312 routinely contain GBK-only characters. Invalid bytes become
U+FFFD; decoding never fails.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["decode_html", "normalize_encoding"]

# How much of the page to search for a <meta> charset (HTML says 1024 bytes;
# real pages put it later, after long comments or scripts).
META_SCAN_BYTES = 16384
# How much of the page charset detection looks at: enough to be sure, small
# enough to be fast on large pages.
DETECT_BYTES = 65536

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([a-zA-Z0-9_:.+-]{1,40})""", re.IGNORECASE
)
# Labels that mean "a subset of GB18030": decode with the superset.
_GB = {"gb2312", "gbk", "cp936", "ms936", "x-gbk", "gb_2312-80", "euc-cn", "csgb2312", "chinese"}
# WHATWG: Latin-1 and ASCII labels mean windows-1252 on the web.
_MULTI_BYTE = {
    "gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950", "shift_jis", "cp932", "euc_jp",
    "euc_jis_2004", "iso2022_jp", "euc_kr", "cp949", "johab", "hz", "utf-8", "utf-16",
    "utf-32", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "iso2022_kr",
}
_WIN1252 = {"latin-1", "latin1", "iso-8859-1", "iso8859-1", "ascii", "us-ascii", "l1"}


def normalize_encoding(label: str | None) -> str | None:
    """The Python codec for a charset label, or None if the label is unusable."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if name in _GB:
        return "gb18030"
    if name in _WIN1252:
        return "cp1252"
    try:
        codec = codecs.lookup(name).name
    except (LookupError, ValueError):
        return None
    if codec in {"gb2312", "gbk"}:
        return "gb18030"
    # A <meta> saying UTF-16 in a page we could read as ASCII is a lie (WHATWG).
    return "utf-8" if codec.startswith("utf-16") or codec.startswith("utf-32") else codec


def sniff_bom(data: bytes) -> str | None:
    """The encoding a byte-order mark announces, if any."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    return None


def sniff_meta(data: bytes) -> str | None:
    """The charset a ``<meta>`` declares near the top of the page, if usable."""
    match = _META_CHARSET.search(data, 0, META_SCAN_BYTES)
    return normalize_encoding(match.group(1).decode("ascii")) if match else None


def detect(data: bytes) -> str:
    """Best guess for undeclared bytes: strict UTF-8 if it fits, else detection."""
    sample = data[:DETECT_BYTES]
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sample's end is still UTF-8.
        if exc.start >= len(sample) - 3 and len(data) > len(sample):
            return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    guess = normalize_encoding(best.encoding) if best is not None else None
    if guess is None or _single_byte(guess):
        # Detectors often call short GBK pages a Cyrillic or Latin code page;
        # Western text never survives a GB18030 decode with only a stray
        # bad byte or two.
        text = sample.decode("gb18030", errors="replace")
        if text.count("\ufffd") <= max(2, len(text) // 5000):
            return "gb18030"
    return guess or "utf-8"


def _single_byte(codec: str) -> bool:
    return codecs.lookup(codec).name not in _MULTI_BYTE


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_html(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode a page; returns ``(text, codec used)``. Never raises on bad bytes.

    ``encoding`` is the charset of the HTTP ``Content-Type`` header, if any.
    """
    bom = sniff_bom(data)
    meta = sniff_meta(data)
    codec = normalize_encoding(encoding) or bom or meta or detect(data)
    if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
        codec = "utf-8-sig"
    text = data.decode(codec, errors="replace")
    if codec == meta and "\ufffd" in text and meta != "utf-8" and _valid_utf8(data):
        # A page re-saved as UTF-8 keeps its old <meta>; the bytes say otherwise.
        return data.decode("utf-8"), "utf-8"
    if bom is None and codec.startswith("utf-8") and _mostly_invalid(text):
        # Declared UTF-8 but plainly not: a mislabelled legacy page.
        codec = detect(data)
        text = data.decode(codec, errors="replace")
    return text.lstrip("\ufeff"), codec


def _mostly_invalid(text: str) -> bool:
    bad = text.count("\ufffd")
    return bad > 20 and bad > len(text) // 200
