"""Rendering extracted articles: JSON Lines, plain text, or Markdown that keeps
headings, lists, quotes and code.

Owns the output formats of ``archiver extract``; what is extracted, and from
where, is :mod:`archiver.extract.reader`'s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from .reader import Extracted

__all__ = ["FORMATS", "markdown_body", "render_extracted"]


FORMATS = ("jsonl", "text", "markdown")


def render_extracted(item: Extracted, fmt: str) -> str:
    """One article as a JSON line, plain text or Markdown (each ends with a newline)."""
    if fmt == "jsonl":
        return json.dumps(item.to_dict(), ensure_ascii=False) + "\n"
    a, p = item.article, item.provenance
    source = p.html_file or f"{p.warc_file} @ {p.offset} ({p.record_id})"
    lines = [f"URL: {p.target_uri or a.url or ''}", f"Source: {source}",
             f"Captured: {p.capture_date or ''}", f"Text sha256: {p.text_sha256}",
             f"Kind: {a.kind}"]
    if fmt == "text":
        head = "\n".join([a.title or "", *lines])
        return f"{head}\n\n{a.text}\n\n{'=' * 72}\n"
    byline = " · ".join(x for x in (a.author, a.published, a.site_name) if x)
    meta = "\n".join(f"> {line}  " for line in lines)
    body = markdown_body(a.blocks) if a.blocks else a.text
    parts = [f"# {_md_escape(a.title or '(untitled)')}",
             *([f"*{_md_escape(byline)}*"] if byline else []), meta, body]
    return "\n\n".join(parts) + "\n\n---\n\n"


def markdown_body(blocks: Sequence[tuple[str, str]]) -> str:
    """Article blocks as Markdown: headings, list items, quotes and code kept as such."""
    out: list[str] = []
    for kind, text in blocks:
        if kind == "pre":
            fence = "~~~" if "```" in text else "```"
            out.append(f"{fence}\n{text}\n{fence}")
            continue
        lines = [_md_escape(line) for line in text.split("\n")]
        if kind == "h":
            out.append("## " + " ".join(lines))
        elif kind == "li":
            out.append("- " + "  \n  ".join(lines))
        elif kind == "quote":
            out.append("\n".join(f"> {line}" for line in lines))
        else:
            out.append("  \n".join(lines))
    # Consecutive list items form one list: no blank line between them.
    joined = out[:1]
    for prev, (kind, _), item in zip(blocks, blocks[1:], out[1:], strict=False):
        sep = "\n" if kind == "li" and prev[0] == "li" else "\n\n"
        joined.append(sep + item)
    return "".join(joined)


_MD_LINE_START = re.compile(r"^(\s*)(?:([#>+\-*])|(\d+)([.)]))(?=\s|$)")
_MD_INLINE = re.compile(r"([\\`*_\[\]<])")


def _md_escape(text: str) -> str:
    """Text that Markdown shows literally: no accidental headings, lists, emphasis or links."""
    text = _MD_INLINE.sub(r"\\\1", text)
    return _MD_LINE_START.sub(
        lambda m: m[1] + ("\\" + m[2] if m[2] else m[3] + "\\" + m[4]), text)
