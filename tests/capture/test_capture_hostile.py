"""What a hostile server or URL must not get: the user's terminal, their passwords,
or a path into internal services. Real servers on loopback, the real CLI."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import http_scripts
import pytest
from servers import HTTPTestServer, RawServer, redirect
from warcassert import all_records

from archiver.capture.netpolicy import AddressPolicy, PrivateAddressRefused, parse_networks
from archiver.capture.settings import DEFAULT_PRIVATE_NETWORKS


def archiver(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archiver", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120)


def test_terminal_escapes_from_a_server_are_printed_escaped(tmp_path: Path,
                                                            raw: RawServer) -> None:
    # ESC ] 0 ; TITLE BEL sets the terminal's title; CSI 2 J (as C1 0x9b) clears it.
    reason = "\x1b]0;TITLE\x07Not \x9b2JFound"
    raw.script("/evil", http_scripts.ok(b"gone\n", status=404, reason=reason))
    url = raw.url("/evil")
    done = archiver(tmp_path, "capture", url, "--delay", "0", "--retries", "0")
    assert done.returncode == 1
    shown = "HTTP 404 \\x1b]0;TITLE\\x07Not \\x9b2JFound"
    assert f"FAILED {url}: {shown}" in done.stderr
    listed = archiver(tmp_path, "list")
    assert shown in listed.stdout
    as_json = archiver(tmp_path, "list", "--json")
    assert json.loads(as_json.stdout)["error"] == f"{url}: HTTP 404 {reason}"  # kept exactly
    for out in (done.stderr, listed.stdout, as_json.stdout):
        assert not {"\x1b", "\x07", "\x9b"} & set(out), out


def _every_byte(root: Path) -> bytes:
    """Every file under the archive root, WARCs decompressed."""
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            out.append(gzip.decompress(data) if path.name.endswith(".gz") else data)
    return b"\n".join(out)


def test_credentials_in_a_url_are_sent_but_never_recorded_or_printed(
        tmp_path: Path, web: HTTPTestServer,
        make_http_server: Callable[..., HTTPTestServer]) -> None:
    other = make_http_server()  # another origin (another port)
    web.route("/private", redirect("/private/next"))  # same origin: credentials go along
    web.route("/private/next", redirect(other.url("/elsewhere")))  # another: they do not
    other.route("/elsewhere", b"<p>public copy</p>")
    seed = web.url("/private").replace("http://", "http://alice:s3cret%21@")
    bad_port = "http://alice:s3cret@127.0.0.1:99999/"
    done = archiver(tmp_path, "-v", "capture", seed, bad_port, "--delay", "0", "--retries", "0")
    assert done.returncode == 1, done.stderr

    basic = "Basic " + base64.b64encode(b"alice:s3cret!").decode()
    assert [(r.path, r.headers.get("Authorization")) for r in web.requests] == [
        ("/private", basic), ("/private/next", basic)]
    assert [r.headers.get("Authorization") for r in other.requests] == [None]
    # The request records keep what was really sent, Authorization included ...
    requests = [r for r in all_records(tmp_path) if r.type == "request"]
    assert [f"Authorization: {basic}".encode() in r.block for r in requests] == [
        True, True, False]
    # ... and no URI, catalog row, index, message or output holds the password.
    assert [r.uri for r in requests] == [web.url("/private"), web.url("/private/next"),
                                         other.url("/elsewhere")]
    listed = archiver(tmp_path, "list") .stdout + archiver(tmp_path, "list", "--json").stdout
    assert web.url("/private") in listed
    assert "FAILED http://127.0.0.1:99999/: not a valid URL" in done.stderr
    for text in (done.stdout, done.stderr, listed, _every_byte(tmp_path).decode("latin-1")):
        assert "s3cret" not in text and "alice" not in text


def test_a_userinfo_in_a_redirect_is_neither_sent_nor_recorded(tmp_path: Path,
                                                              web: HTTPTestServer) -> None:
    web.route("/go", redirect(web.url("/there").replace("http://", "http://mallory:pw@")))
    web.route("/there", b"<p>there</p>")
    done = archiver(tmp_path, "capture", web.url("/go"), "--delay", "0")
    assert done.returncode == 0, done.stderr
    assert [r.headers.get("Authorization") for r in web.requests] == [None, None]
    uris = [r.uri for r in all_records(tmp_path) if r.type in ("request", "response")]
    assert uris == [web.url("/go")] * 2 + [web.url("/there")] * 2
    # The metadata record counts the hops as hops (it called them "attempts").
    (meta,) = [r for r in all_records(tmp_path) if r.type == "metadata"]
    assert b"\r\nhops: 2\r\nretries: 0\r\n" in meta.block and b"attempts" not in meta.block


@pytest.mark.usefixtures("loopback_hosts")
def test_a_public_page_cannot_redirect_capture_into_a_private_network(
        tmp_path: Path, make_http_server: Callable[..., HTTPTestServer]) -> None:
    # 127.0.0.2 plays a public site; 127.0.0.1 the internal service beside the archiver.
    public = make_http_server("127.0.0.2")
    internal = make_http_server("127.0.0.1")
    internal.route("/admin", b"<p>internal admin page</p>")
    public.route("/go", redirect(internal.url("/admin")))
    only_one = ("--private-networks", "127.0.0.1/32", "--delay", "0", "--retries", "0")

    done = archiver(tmp_path, "capture", public.url("/go"), *only_one)
    assert done.returncode == 1
    assert internal.requests == []  # not a byte sent to it
    assert (f"FAILED {internal.url('/admin')}: refused to follow a redirect from the public "
            "address 127.0.0.2 to the private address 127.0.0.1 (--allow-private-redirects "
            "follows it)") in done.stderr
    row = json.loads(archiver(tmp_path, "list", "--json").stdout)
    assert row["reason"] == "private-redirect" and row["status"] == 302
    meta = [r for r in all_records(tmp_path) if r.type == "metadata"]
    assert b"reason: private-redirect\r\n" in meta[-1].block

    # Given explicitly, the internal URL is captured as it is ...
    assert archiver(tmp_path, "capture", internal.url("/admin"), *only_one).returncode == 0
    # ... and with --allow-private-redirects, or when 127.0.0.2 counts as private too
    # (the default: all of 127.0.0.0/8), the redirect is followed.
    allowed = archiver(tmp_path, "capture", public.url("/go"), *only_one,
                       "--allow-private-redirects")
    default = archiver(tmp_path, "capture", public.url("/go"), "--delay", "0")
    assert (allowed.returncode, default.returncode) == (0, 0), allowed.stderr + default.stderr
    assert internal.hits("/admin") == 3


def test_the_default_private_networks() -> None:
    policy = AddressPolicy(parse_networks(DEFAULT_PRIVATE_NETWORKS))
    private = ["10.1.2.3", "172.31.0.1", "192.168.1.1", "127.0.0.1", "169.254.169.254",
               "0.0.0.0", "::1", "::", "fe80::1%eth0", "fd12::1", "::ffff:127.0.0.1"]
    public = ["8.8.8.8", "172.32.0.1", "100.64.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"]
    assert [a for a in private if not policy.is_private(a)] == []
    assert [a for a in public if policy.is_private(a)] == []
    assert policy.on_behalf_of("10.0.0.1") is None  # a private page may lead anywhere
    check = policy.on_behalf_of("8.8.8.8")
    assert check is not None
    check("1.1.1.1")
    with pytest.raises(PrivateAddressRefused, match=r"to the private address 10\.9\.9\.9$"):
        check("10.9.9.9")


@pytest.mark.parametrize("size", [b"-5", b"ffffffffffffffffffffffff", b"8000000000000000"])
def test_a_chunk_size_that_is_negative_or_overflows_is_malformed_not_a_reset(
        tmp_path: Path, raw: RawServer, size: bytes) -> None:
    head = http_scripts.head(headers=[("Transfer-Encoding", "chunked")])
    raw.script("/chunks", (http_scripts.Send(head + size + b"\r\nabc\r\n0\r\n\r\n"),))
    done = archiver(tmp_path, "capture", raw.url("/chunks"), "--delay", "0", "--retries", "2")
    assert done.returncode == 1
    assert raw.hits("/chunks") == 1  # not retried: the server will frame it the same way
    row = json.loads(archiver(tmp_path, "list", "--json").stdout)
    assert row["reason"] == "malformed"
    assert row["error"].endswith(f"chunk size {size.decode()!r} is negative or too large)")


def test_global_options_work_after_the_command_too(tmp_path: Path, web: HTTPTestServer) -> None:
    web.route("/a", b"<p>a</p>")
    elsewhere = tmp_path / "elsewhere"
    done = subprocess.run([sys.executable, "-m", "archiver", "capture", "-q", web.url("/a"),
                           "--root", str(elsewhere), "--delay", "0"],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (0, "")  # -q: no summary line
    assert list((elsewhere / "warcs").rglob("*.warc.gz"))
    listed = subprocess.run([sys.executable, "-m", "archiver", "list", "--root", str(elsewhere)],
                            capture_output=True, text=True, timeout=120)
    assert web.url("/a") in listed.stdout


@pytest.mark.usefixtures("loopback_hosts")
def test_not_even_a_tls_hello_reaches_a_refused_private_address(
        tmp_path: Path, raw: RawServer, make_http_server: Callable[..., HTTPTestServer]) -> None:
    public = make_http_server("127.0.0.2")
    public.route("/go", redirect(raw.url("/x").replace("http://", "https://")))
    done = archiver(tmp_path, "capture", public.url("/go"), "--private-networks", "127.0.0.1/32",
                    "--delay", "0", "--retries", "0")
    assert done.returncode == 1 and "private address 127.0.0.1" in done.stderr
    assert [bytes(ex.wait(5).request) for ex in raw.exchanges] == [b""]  # connected, no byte
