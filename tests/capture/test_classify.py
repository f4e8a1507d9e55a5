"""archiver.capture.fetcher.classify: every exception a fetch can raise maps to one reason.

The end-to-end tests reach each reason through a misbehaving loopback server;
these pin the mapping itself, with the exceptions wrapped as requests and
urllib3 really wrap them, so a change in the order of the rules shows here.
"""

from __future__ import annotations

import http.client
import socket
import ssl

import pytest
import requests
import urllib3

from archiver.capture.fetcher import classify
from archiver.capture.wire import DeadlineExceeded
from archiver.errors import FailureReason

URL = "http://127.0.0.1:9/page"


def _wrapped(inner: BaseException) -> requests.exceptions.ConnectionError:
    """``inner`` inside urllib3's ProtocolError inside requests' ConnectionError."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise urllib3.exceptions.ProtocolError("Connection aborted.", exc) from exc
    except urllib3.exceptions.ProtocolError as outer:
        return requests.exceptions.ConnectionError(outer)


@pytest.mark.parametrize("exc,reason", [
    (DeadlineExceeded("deadline"), FailureReason.DEADLINE),
    (socket.gaierror(-2, "Name or service not known"), FailureReason.DNS),
    (ssl.SSLError(1, "CERTIFICATE_VERIFY_FAILED"), FailureReason.TLS),
    (ConnectionRefusedError(111, "Connection refused"), FailureReason.REFUSED),
    (requests.exceptions.ConnectTimeout("connect timeout"), FailureReason.CONNECT_TIMEOUT),
    (requests.exceptions.ReadTimeout("read timeout"), FailureReason.TIMEOUT),
    (_wrapped(TimeoutError("timed out")), FailureReason.TIMEOUT),
    (_wrapped(http.client.RemoteDisconnected("no answer")), FailureReason.RESET),
    (_wrapped(http.client.BadStatusLine("HTTP/9 what")), FailureReason.MALFORMED),
    (_wrapped(http.client.LineTooLong("header line")), FailureReason.MALFORMED),
    (_wrapped(http.client.HTTPException("got more than 100 headers")), FailureReason.MALFORMED),
    (_wrapped(ConnectionResetError(104, "Connection reset by peer")), FailureReason.RESET),
    (_wrapped(http.client.IncompleteRead(b"abc", 10)), FailureReason.RESET),
    (requests.exceptions.InvalidURL("bad"), FailureReason.INVALID),
    (requests.exceptions.InvalidSchema("ftp"), FailureReason.INVALID),
    (ValueError("something else"), FailureReason.IO),
])
def test_each_exception_gets_its_reason(exc: BaseException, reason: FailureReason) -> None:
    err = classify(URL, exc)
    assert err.reason is reason
    assert err.url == URL
    assert str(err).startswith(URL + ": ")
    assert "\n" not in str(err)


def test_malformed_names_the_parser_error_not_the_wrapper() -> None:
    err = classify(URL, _wrapped(http.client.BadStatusLine("HTTP/9 what")))
    assert "HTTP/9 what" in err.message and "Connection aborted" not in err.message


def test_messages_name_no_command_line_option() -> None:
    for exc in (DeadlineExceeded("d"), requests.exceptions.ReadTimeout("r"),
                requests.exceptions.ConnectTimeout("c")):
        assert "--" not in classify(URL, exc).message
