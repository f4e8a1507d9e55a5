"""Publication dates: reading the many ways pages write them, as ISO 8601.

Accepts ISO 8601 (with or without time and zone), RFC 2822, numeric
``YYYY-M-D [H:MM[:SS]]`` and ``YYYY/MM/DD``, Chinese/Japanese ``YYYY年M月D日``,
and English ``Month D, YYYY`` / ``D Month YYYY``. Anything it cannot place on
a real calendar day is rejected rather than guessed.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from email.utils import parsedate_to_datetime

__all__ = ["date_line", "find_date_in_text", "to_iso"]

_MONTHS = {
    m: i + 1
    for i, names in enumerate([
        "jan january", "feb february", "mar march", "apr april", "may", "jun june",
        "jul july", "aug august", "sep sept september", "oct october", "nov november",
        "dec december",
    ])
    for m in names.split()
}
_NUMERIC = re.compile(
    r"(?<!\d)((?:19|20)\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[T\s]*(\d{1,2})[:时](\d{2})(?:[:分](\d{2}))?)?(?!\d)"
)
_ENGLISH = re.compile(
    r"\b(?:(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+((?:19|20)\d\d)"
    r"|([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d))\b"
)


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _build(y: int, mo: int, d: int, h: str | None, mi: str | None, s: str | None) -> str | None:
    try:
        day = date(y, mo, d)
        if h is None or mi is None:
            return day.isoformat()
        return datetime(y, mo, d, int(h), int(mi), int(s or 0)).isoformat()
    except ValueError:
        return None


def to_iso(value: str) -> str | None:
    """``value`` as an ISO 8601 date or date-time, or None if it is not a date."""
    value = value.strip()
    if not value:
        return None
    if _DATE_ONLY.fullmatch(value):
        # Keep the source's precision: a bare date is not midnight.
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.isoformat().replace("+00:00", "Z")
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).isoformat().replace("+00:00", "Z")
    except (TypeError, ValueError, IndexError):
        pass
    return find_date_in_text(value[:100])


def find_date_in_text(text: str, *, last: bool = False) -> str | None:
    """The first (or last) calendar date written in ``text``, as ISO 8601."""
    found: list[str] = []
    for m in _NUMERIC.finditer(text):
        iso = _build(int(m[1]), int(m[2]), int(m[3]), m[4], m[5], m[6])
        if iso:
            found.append(iso)
            if not last:
                return iso
    if not found:
        for m in _ENGLISH.finditer(text):
            day, month, year = (m[1], m[2], m[3]) if m[1] else (m[5], m[4], m[6])
            mo = _MONTHS.get(month.lower())
            iso = _build(int(year), mo, int(day), None, None, None) if mo else None
            if iso:
                found.append(iso)
                if not last:
                    return iso
    return found[-1] if found else None


# What may stand beside the date on a line that is only a date: a label, a
# weekday, a time of day and its zone.
_LINE_EXTRAS = re.compile(
    r"(?:published|posted|updated|last\s+updated|date|on|at|发布时间|发表时间|发布日期|更新时间"
    r"|发表于|发布于|日期|时间|(?:mon|tues|wednes|thurs|fri|satur|sun)day|(?:mon|tue|wed|thu"
    r"|fri|sat|sun)\.?|星期[一二三四五六日天]|周[一二三四五六日]|\d{1,2}:\d{2}(?::\d{2})?"
    r"|[ap]\.?m\.?|utc|gmt|[ecmp][sd]?t|bst|cet|cest|hkt|北京时间)(?![a-z])",
    re.IGNORECASE)


def date_line(text: str) -> str | None:
    """The date (ISO 8601) of a line that is only a date, as pages print one
    above an article ("2017-11-13", "Published: March 5, 2024 10:20 EST",
    "发布时间：2024年3月5日"); None for any other line."""
    line = " ".join(text.split())
    if not line or len(line) > 60:
        return None
    found = find_date_in_text(line)
    if found is None:
        return None
    rest = _NUMERIC.sub(" ", line, count=1)
    if rest == line:
        rest = _ENGLISH.sub(" ", line, count=1)
    rest = _LINE_EXTRAS.sub(" ", rest)
    return found if not re.search(r"[^\W_]", rest) else None
