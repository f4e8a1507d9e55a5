"""archiver.extract.dates: the ways pages write dates, read as ISO 8601, and
what is not a date rejected rather than guessed."""

from __future__ import annotations

import pytest

from archiver.extract.dates import date_line, find_date_in_text, to_iso


@pytest.mark.parametrize("value,iso", [
    ("2024-03-05", "2024-03-05"),  # a bare date keeps its precision: not midnight
    ("2024-03-05T10:20:30", "2024-03-05T10:20:30"),
    ("2024-03-05T10:20:30Z", "2024-03-05T10:20:30Z"),
    ("2024-03-05T10:20:30+08:00", "2024-03-05T10:20:30+08:00"),
    ("2024-03-05T10:20:30.250+00:00", "2024-03-05T10:20:30.250000Z"),
    ("Tue, 05 Mar 2024 10:20:30 GMT", "2024-03-05T10:20:30Z"),
    ("Tue, 05 Mar 2024 10:20:30 +0800", "2024-03-05T10:20:30+08:00"),
    ("2024/3/5", "2024-03-05"),
    ("2024.03.05 9:07", "2024-03-05T09:07:00"),
    ("2005-9-15 01:20:44", "2005-09-15T01:20:44"),
    ("2024年3月5日", "2024-03-05"),
    ("2024年03月05日 10时20分", "2024-03-05T10:20:00"),
    ("March 5, 2024", "2024-03-05"),
    ("Sept. 28, 2018", "2018-09-28"),
    ("5 March 2024", "2024-03-05"),
    ("Posted on Mar 5th, 2024 by staff", "2024-03-05"),
])
def test_dates_are_read_as_iso(value: str, iso: str) -> None:
    assert to_iso(value) == iso


@pytest.mark.parametrize("value", [
    "", "   ", "yesterday", "2024", "March 2024", "2024-02-30", "2023-02-29", "2024-13-01",
    "2024年2月30日", "31 April 2024", "Smarch 5, 2024",
    "2024-03-05T25:00:00",
])
def test_what_is_no_calendar_day_is_rejected(value: str) -> None:
    assert to_iso(value) is None


def test_leap_day_is_a_day() -> None:
    assert to_iso("2024-02-29") == "2024-02-29"
    assert to_iso("29 February 2024") == "2024-02-29"


def test_first_and_last_date_in_text() -> None:
    text = "Filed 2017-11-13, updated 2017-11-14; first reported 12 November 2017."
    assert find_date_in_text(text) == "2017-11-13"
    assert find_date_in_text(text, last=True) == "2017-11-14"
    # English dates are used only where no numeric one is written.
    assert find_date_in_text("Filed 12 November 2017; see also 3 Jan 2018", last=True) \
        == "2018-01-03"
    # An impossible date is passed over, not guessed.
    assert find_date_in_text("2017-02-31 or 2017-03-01") == "2017-03-01"
    assert find_date_in_text("Phone 2017 555 1234, invoice 20170213") is None


@pytest.mark.parametrize("line,iso", [
    ("2017-11-13", "2017-11-13"),
    ("  2017-11-13\n", "2017-11-13"),
    ("Published: March 5, 2024 10:20 EST", "2024-03-05"),
    ("Updated 3:45 p.m. ET Mar. 5, 2024", "2024-03-05"),
    ("Tuesday, 5 March 2024", "2024-03-05"),
    ("发布时间：2024年3月5日 10:20", "2024-03-05T10:20:00"),
    ("2024年3月5日 星期二", "2024-03-05"),
    ("(2024-03-05)", "2024-03-05"),
])
def test_a_line_that_is_only_a_date(line: str, iso: str) -> None:
    assert date_line(line) == iso


@pytest.mark.parametrize("line", [
    "记者 王小明 · 2024年3月5日",  # a byline: the name is text
    "On 2017-11-13 police detained hundreds of traders",
    "2024-02-30",
    "March 2024",
    "Published",
    "2017-11-13 " + "x" * 60,  # too long to be a date line
])
def test_lines_with_more_than_a_date_are_not_date_lines(line: str) -> None:
    assert date_line(line) is None
