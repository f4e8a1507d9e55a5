"""Page requisites: what a captured page needs to render (``archiver capture -p``).

:func:`page_requisites` parses a page with the extract pipeline's parser
(BeautifulSoup on lxml, decoded by :func:`archiver.extract.encoding.decode_html`)
and lists, in document order and without repeats, the URLs a browser would
fetch to show it: ``img`` (``src``, and the largest candidate of ``srcset``),
``picture``/``video``/``audio`` ``source`` and ``track``, ``video`` posters,
``link rel=stylesheet|icon|preload``, ``script src``, and ``url(...)`` in
``<style>`` elements and ``style`` attributes. :func:`css_requisites` lists
the ``@import`` and ``url(...)`` references of a fetched stylesheet.

Only ``http(s)`` URLs are kept (``data:`` and the like carry their content in
the page). The capture run (:mod:`archiver.capture.run`) fetches them like
pages, applying the address policy on the page's behalf.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, TYPE_CHECKING
from urllib.parse import urljoin

from ..errors import ArchiverError, InvalidURLError
from ..extract.encoding import decode_html
from ..warc.digester import is_chunked
from ..warc.payload import decode_content, read_payload
from .fetcher import Hop, validate_url, without_userinfo

if TYPE_CHECKING:
    from bs4.element import Tag

__all__ = ["PARSE_MAX_BYTES", "Kind", "Requisite", "css_requisites", "hop_text",
           "largest_candidate", "page_requisites", "requisites_of_page",
           "requisites_of_stylesheet"]

#: Pages and stylesheets larger than this (decoded) are not parsed for requisites:
#: they are captured, but a parse of them would hold too much in memory.
PARSE_MAX_BYTES = 16 * 1024 * 1024


class Kind(StrEnum):
    """What a requisite is for; a stylesheet is parsed in turn for its own."""

    STYLESHEET = "stylesheet"
    IMAGE = "image"
    SCRIPT = "script"
    MEDIA = "media"
    ICON = "icon"
    PRELOAD = "preload"
    CSS_URL = "css-url"  # a url(...) of a stylesheet or style: image, font, cursor


@dataclass(frozen=True)
class Requisite:
    url: str
    kind: Kind


def hop_text(hop: Hop, *, max_bytes: int = PARSE_MAX_BYTES) -> bytes | None:
    """The body of ``hop`` with its transfer and content codings undone, or None
    when it cannot be read back (an unknown coding, corrupt, or over ``max_bytes``)."""
    head = hop.exchange.response_head
    body: IO[bytes] = hop.exchange.body
    try:
        body.seek(0)
        payload = read_payload(body, chunked=is_chunked(head), max_bytes=max_bytes)
        return decode_content(payload.data, header_value(head, b"content-encoding"),
                              max_bytes=max_bytes)
    except ArchiverError:
        return None


def header_value(head: bytes, name: bytes) -> str | None:
    """The first ``name`` header (lower-case) of an HTTP head, as text."""
    for line in head.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == name:
            return value.strip().decode("latin-1")
    return None


def content_type(head: bytes) -> tuple[str, str | None]:
    """The media type (lower-case) and charset of an HTTP head's ``Content-Type``."""
    value = header_value(head, b"content-type") or ""
    media, _, params = value.partition(";")
    charset = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.IGNORECASE)
    return media.strip().lower(), charset.group(1) if charset else None


def is_html(head: bytes, body: bytes) -> bool:
    media, _ = content_type(head)
    if media:
        return media in ("text/html", "application/xhtml+xml")
    return body[:512].lstrip().lower().startswith((b"<!doctype html", b"<html"))


def requisites_of_page(head: bytes, body: bytes, url: str) -> list[Requisite]:
    """The requisites of a fetched page: none unless it is HTML."""
    if not is_html(head, body):
        return []
    return page_requisites(body, url, content_type(head)[1])


def requisites_of_stylesheet(head: bytes, body: bytes, url: str) -> list[Requisite]:
    """The requisites of a fetched stylesheet: none if it is served as something else."""
    if content_type(head)[0] not in ("", "text/css"):
        return []
    return css_requisites(body, url)


def page_requisites(body: bytes, url: str, charset: str | None = None) -> list[Requisite]:
    """The requisites of the HTML page ``body`` fetched from ``url`` (see module docstring)."""
    # Imported here: a capture run without -p never loads the parser (start-up time).
    from bs4 import BeautifulSoup
    from bs4.element import Tag

    text, _ = decode_html(body, charset)
    soup = BeautifulSoup(text, "lxml")
    base = url
    base_tag = soup.find("base", href=True)
    if isinstance(base_tag, Tag):
        base = urljoin(url, str(base_tag["href"]).strip())
    found = _Found(base)
    for tag in soup.find_all(True):
        if not isinstance(tag, Tag):
            continue
        name = tag.name
        if name == "img":
            found.add(_attr(tag, "src"), Kind.IMAGE)
            found.add(largest_candidate(_attr(tag, "srcset")), Kind.IMAGE)
        elif name == "source":
            kind = Kind.IMAGE if tag.find_parent("picture") else Kind.MEDIA
            found.add(_attr(tag, "src"), kind)
            found.add(largest_candidate(_attr(tag, "srcset")), kind)
        elif name in ("video", "audio", "track"):
            found.add(_attr(tag, "src"), Kind.MEDIA)
            if name == "video":
                found.add(_attr(tag, "poster"), Kind.IMAGE)
        elif name == "script":
            found.add(_attr(tag, "src"), Kind.SCRIPT)
        elif name == "link":
            rels = _attr(tag, "rel").lower().split()
            if "stylesheet" in rels and "alternate" not in rels:
                found.add(_attr(tag, "href"), Kind.STYLESHEET)
            elif any(r == "icon" or r.endswith("-icon") for r in rels):
                found.add(_attr(tag, "href"), Kind.ICON)
            elif "preload" in rels:
                kind = Kind.STYLESHEET if _attr(tag, "as").lower() == "style" else Kind.PRELOAD
                found.add(_attr(tag, "href"), kind)
        elif name == "style":
            for ref in _css_refs(tag.get_text()):
                found.add(ref.url, ref.kind)
        style = _attr(tag, "style")
        if "url(" in style.lower():
            for ref in _css_refs(style):
                found.add(ref.url, Kind.CSS_URL)
    return found.items


def css_requisites(body: bytes, url: str) -> list[Requisite]:
    """The ``@import`` (stylesheets) and ``url(...)`` references of a stylesheet."""
    text = body.decode("utf-8", "replace")  # URLs are ASCII in practice; never fails
    found = _Found(url)
    for ref in _css_refs(text):
        found.add(ref.url, ref.kind)
    return found.items


_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
# @import "x"; @import 'x'; @import url(x) / url("x")
_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?(["']?)([^"')\s;]+)\1""", re.IGNORECASE)
_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)"'\s]*))\s*\)""", re.IGNORECASE)


def _css_refs(text: str) -> list[Requisite]:
    text = _COMMENT.sub(" ", text)
    refs = [Requisite(m.group(2), Kind.STYLESHEET) for m in _IMPORT.finditer(text)]
    rest = _IMPORT.sub(" ", text)  # (an @import's url() is taken above, as a stylesheet)
    refs += [Requisite(next(g for g in m.groups() if g is not None), Kind.CSS_URL)
             for m in _URL.finditer(rest)]
    return refs


_DESCRIPTOR = re.compile(r"^(\d+(?:\.\d+)?)([wxh])$", re.IGNORECASE)
_DENSITY = 1e-6  # the weight of 1x against widths


def largest_candidate(srcset: str) -> str:
    """The URL of a ``srcset``'s largest candidate (by width, else density); '' if none."""
    best, best_size = "", -1.0
    pos, n = 0, len(srcset)
    while pos < n:
        while pos < n and (srcset[pos].isspace() or srcset[pos] == ","):
            pos += 1
        start = pos
        while pos < n and not srcset[pos].isspace():
            pos += 1
        url = srcset[start:pos]
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            end = srcset.find(",", pos)
            end = n if end < 0 else end
            descriptor, pos = srcset[pos:end].strip(), end + 1
        if not url:
            continue
        # A width outranks any density (1w is a pixel, 1x a whole screen); no
        # descriptor means 1x.
        size = _DENSITY
        for part in descriptor.split():
            m = _DESCRIPTOR.match(part)
            if m and m.group(2).lower() in "wx":
                size = float(m.group(1)) * (1.0 if m.group(2).lower() == "w" else _DENSITY)
        if size > best_size:
            best, best_size = url, size
    return best


class _Found:
    """Requisite URLs in order, absolute, http(s) only, without repeats or fragments."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.items: list[Requisite] = []
        self._seen: set[str] = set()

    def add(self, ref: str, kind: Kind) -> None:
        ref = ref.strip()
        if not ref or ref.startswith("#"):
            return
        try:
            url = validate_url(without_userinfo(urljoin(self.base, ref)))
        except (InvalidURLError, ValueError):
            return  # data:, javascript:, about:, blob:, or not a URL at all
        if url not in self._seen:
            self._seen.add(url)
            self.items.append(Requisite(url, kind))


def _attr(tag: Tag, name: str) -> str:
    value = tag.get(name)
    if isinstance(value, list):
        return " ".join(value)
    return value or ""
