"""The capture command line: inputs, exit codes, one line per failure, summary, catalog."""

from __future__ import annotations

import json
import os
import pty
import resource
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from servers import HTTPTestServer, Response
from warcassert import read_warc, warcs_in


def archiver(root: Path, *args: str, env: dict[str, str] | None = None,
             preexec: object = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archiver", "--root", str(root), *args],
        capture_output=True, text=True, timeout=120, env=env,
        preexec_fn=preexec,  # type: ignore[arg-type]
    )


def test_url_file_with_comments_summary_and_exit_status(tmp_path: Path,
                                                        web: HTTPTestServer) -> None:
    web.route("/a", b"<p>a</p>")
    web.route("/b", b"<p>b</p>")
    urls = tmp_path / "urls.txt"
    urls.write_text(f"# sources for the Xinjiang report\n{web.url('/a')}\n\n"
                    f"   {web.url('/b')}  \n# {web.url('/commented-out')}\n")
    done = archiver(tmp_path, "capture", "-i", str(urls), "--delay", "0")
    assert done.returncode == 0, done.stderr
    assert "captured 2, revisits 0, failed 0" in done.stderr
    assert web.hits("/commented-out") == 0
    assert "\r" not in done.stderr and "url/s" not in done.stderr  # no bar without a TTY


def test_failures_get_one_line_each_and_exit_1(tmp_path: Path, web: HTTPTestServer) -> None:
    web.route("/ok", b"<p>ok</p>")
    done = archiver(tmp_path, "capture", "mailto:someone@example.org", web.url("/missing"),
                    web.url("/ok"), "--delay", "0", "--retries", "0")
    assert done.returncode == 1
    failed = [line for line in done.stderr.splitlines() if line.startswith("FAILED")]
    assert failed == [
        "FAILED mailto:someone@example.org: unsupported URL (scheme 'mailto'); "
        "only http:// and https:// URLs",
        f"FAILED {web.url('/missing')}: HTTP 404 Not Found",
    ]
    # One line each: not echoed again by a log warning.
    assert done.stderr.count("/missing") == 1 and done.stderr.count("mailto:") == 1
    assert "captured 1, revisits 0, failed 2" in done.stderr


def test_quiet_prints_nothing_but_failures(tmp_path: Path, web: HTTPTestServer) -> None:
    web.route("/ok", b"<p>ok</p>")
    done = archiver(tmp_path, "-q", "capture", web.url("/ok"), "--delay", "0")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_progress_bar_on_a_terminal(tmp_path: Path, web: HTTPTestServer) -> None:
    web.route("/ok", b"<p>ok</p>")
    pid, fd = pty.fork()
    if pid == 0:  # the child: archiver with a terminal for stderr
        os.execv(sys.executable, [sys.executable, "-m", "archiver", "--root", str(tmp_path),
                                  "capture", web.url("/ok"), "--delay", "0"])
    out = b""
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    text = out.decode()
    assert "1/1" in text and "url" in text  # tqdm's bar
    assert "captured 1, revisits 0, failed 0" in text


def test_list_and_retry_failed(tmp_path: Path, web: HTTPTestServer) -> None:
    web.route("/flaky", Response(500, b"broken"), b"<p>fixed now</p>")
    web.route("/fine", b"<p>fine</p>")
    first = archiver(tmp_path, "capture", web.url("/flaky"), web.url("/fine"),
                     "--delay", "0", "--retries", "0")
    assert first.returncode == 1

    failed = archiver(tmp_path, "list", "--failed", "--json")
    rows = [json.loads(line) for line in failed.stdout.splitlines()]
    assert [(r["url"], r["outcome"], r["status"], r["reason"]) for r in rows] == [
        (web.url("/flaky"), "failed", 500, "http-error")]
    assert rows[0]["warc"].startswith("warcs/") and rows[0]["offset"] > 0

    retry = archiver(tmp_path, "capture", "--retry-failed", "--delay", "0", "--retries", "0")
    assert retry.returncode == 0, retry.stderr
    assert web.hits("/flaky") == 2 and web.hits("/fine") == 1
    assert archiver(tmp_path, "list", "--failed").stdout == ""
    everything = archiver(tmp_path, "list").stdout.splitlines()
    assert len(everything) == 3
    assert all(str(tmp_path) not in line for line in everything)  # root-relative paths


def test_list_without_an_archive_says_what_to_do(tmp_path: Path) -> None:
    done = archiver(tmp_path, "list")
    assert done.returncode == 2
    assert "no archive here" in done.stderr and "archiver capture" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_root_from_environment_and_python_m(tmp_path: Path, web: HTTPTestServer) -> None:
    web.route("/env", b"<p>env</p>")
    env = {**os.environ, "ARCHIVER_ROOT": str(tmp_path / "from-env")}
    done = subprocess.run([sys.executable, "-m", "archiver", "capture", web.url("/env"),
                           "--delay", "0"], capture_output=True, text=True, env=env,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(warcs_in(tmp_path / "from-env")) == 1
    assert not (tmp_path / "warcs").exists()


def test_dns_failure_is_reported(tmp_path: Path) -> None:
    # A network namespace of our own with no interface up: the lookup fails
    # at once on this machine and no packet leaves it.
    done = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "archiver", "--root", str(tmp_path),
         "capture", "http://news.example.invalid/report", "--retries", "0"],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert ("FAILED http://news.example.invalid/report: host name not found (DNS); "
            "check the URL") in done.stderr


def test_tls_certificate_error_is_reported(tmp_path: Path, tls_site: tuple[str, Path]) -> None:
    url = tls_site[0] + "/secure"
    done = archiver(tmp_path / "a", "capture", url, "--retries", "0", "--timeout", "5")
    assert done.returncode == 1
    line = next(x for x in done.stderr.splitlines() if x.startswith("FAILED"))
    assert line.startswith(f"FAILED {url}: TLS error") and "CERTIFICATE_VERIFY_FAILED" in line


def test_https_capture_with_a_ca_bundle(tmp_path: Path, tls_site: tuple[str, Path]) -> None:
    url = tls_site[0] + "/secure"
    done = archiver(tmp_path / "a", "capture", url, "--ca-bundle", str(tls_site[1]),
                    "--delay", "0")
    assert done.returncode == 0, done.stderr
    recs = [r for p in warcs_in(tmp_path / "a") for r in read_warc(p)]  # digests proven
    (response,) = [r for r in recs if r.type == "response"]
    (request,) = [r for r in recs if r.type == "request"]
    assert response.uri == url and response.headers["WARC-IP-Address"] == "127.0.0.1"
    assert response.http_head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert response.http_body == b"<p>Kazakh traders detained in Dorbiljin.</p>"
    assert request.block.startswith(b"GET /secure HTTP/1.1\r\n")  # plaintext, after TLS


def _limit_file_size() -> None:
    # A "full disk" for this process only: writes past 400 kB fail with EFBIG.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))


def test_full_disk_fails_that_capture_only_and_keeps_the_rest(
    tmp_path: Path, web: HTTPTestServer
) -> None:
    web.route("/small1", b"<p>small one</p>")
    web.route("/huge", os.urandom(900_000))  # incompressible: cannot fit
    web.route("/small2", b"<p>small two</p>")
    done = archiver(tmp_path, "capture", web.url("/small1"), web.url("/huge"),
                    web.url("/small2"), "--delay", "0", "--concurrency", "1",
                    preexec=_limit_file_size)
    assert done.returncode == 1, done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("FAILED"))
    assert line.startswith(f"FAILED {web.url('/huge')}: not archived:")
    assert "free space" in line
    (warc,) = warcs_in(tmp_path)
    recs = read_warc(warc)  # nothing written before the failure was damaged
    assert sorted(r.uri for r in recs if r.type == "response") == [
        web.url("/small1"), web.url("/small2")]
    listing = archiver(tmp_path, "list", "--failed", "--json").stdout
    assert json.loads(listing)["reason"] == "disk-full"


def test_demo_captures_the_sample_site(tmp_path: Path) -> None:
    done = archiver(tmp_path, "demo")
    assert done.returncode == 0, done.stderr
    assert "failed 0" in done.stderr
    recs = [r for path in warcs_in(tmp_path) for r in read_warc(path)]
    responses = [r for r in recs if r.type == "response"]
    heads = b"".join(r.http_head for r in responses)
    assert b"Transfer-Encoding: chunked" in heads and b"Content-Encoding: gzip" in heads
    assert b"charset=GBK" in heads or b"charset=gbk" in heads
    assert any(r.status in (301, 302) for r in responses)
    assert (tmp_path / "manifests" / "manifest-sha256.txt").exists()


def _stop_thread(thread: threading.Thread) -> None:
    thread.join(5)


@pytest.mark.parametrize(("level", "xfl"), [(1, 4), (9, 2)])
def test_gzip_level_reaches_every_member(tmp_path: Path, web: HTTPTestServer,
                                         level: int, xfl: int) -> None:
    import zlib

    web.route("/p", b"<p>" + b"Kazakh traders detained. " * 400 + b"</p>")
    done = archiver(tmp_path, "capture", web.url("/p"), "--delay", "0",
                    "--gzip-level", str(level))
    assert done.returncode == 0, done.stderr
    (warc,) = warcs_in(tmp_path)
    data, members = warc.read_bytes(), 0
    while data:  # walk the members; the gzip header's XFL byte says 4 = fastest, 2 = best
        assert data[:2] == b"\x1f\x8b" and data[8] == xfl
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        d.decompress(data)
        data, members = d.unused_data, members + 1
    assert members >= 4  # warcinfo, request, response, metadata


def test_url_file_with_bom_and_crlf_and_fragments(tmp_path: Path, web: HTTPTestServer) -> None:
    web.route("/a", b"<p>a</p>")
    web.route("/b", b"<p>b</p>")
    urls = tmp_path / "urls.txt"
    urls.write_bytes(b"\xef\xbb\xbf" + f"{web.url('/a')}#comments\r\n{web.url('/b')}\r\n".encode())
    done = archiver(tmp_path, "capture", "-i", str(urls), "--delay", "0")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(x) for x in archiver(tmp_path, "list", "--json").stdout.splitlines()]
    assert sorted(r["url"] for r in rows) == [web.url("/a"), web.url("/b")]
    targets = {r.uri for p in warcs_in(tmp_path) for r in read_warc(p) if r.type == "response"}
    assert targets == {web.url("/a"), web.url("/b")}


def test_no_revisit_points_at_a_response_that_could_not_be_written(
    tmp_path: Path, web: HTTPTestServer
) -> None:
    # /huge fails on the "full disk"; /mirror has the same payload and may already be
    # queued as its revisit: it must not end up as a revisit of a record that is not there.
    blob = os.urandom(900_000)
    web.route("/huge", blob)
    web.route("/mirror", blob)
    web.route("/small", b"<p>small</p>")
    done = archiver(tmp_path, "capture", web.url("/huge"), web.url("/mirror"),
                    web.url("/small"), "--delay", "0", preexec=_limit_file_size)
    assert done.returncode == 1
    failed = sorted(x.split(":", 2)[1] for x in done.stderr.splitlines()
                    if x.startswith("FAILED"))
    assert len(failed) == 2
    recs = [r for p in warcs_in(tmp_path) for r in read_warc(p)]
    ids = {r.id for r in recs}
    assert all(r.headers["WARC-Refers-To"] in ids for r in recs if r.type == "revisit")
    assert [r.uri for r in recs if r.type == "response"] == [web.url("/small")]


def test_a_large_body_streams_with_bounded_memory(tmp_path: Path) -> None:
    import http_scripts as hs
    from servers import RawServer

    size = 150 << 20
    with RawServer(record_limit=0) as server:
        server.script("/big", hs.huge_body(size))
        url = server.url("/big")
        # A fresh parent process, so RUSAGE_CHILDREN is archiver's peak alone.
        probe = ("import resource, subprocess, sys; "
                 "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
                 "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        out = subprocess.run(
            [sys.executable, "-c", probe, sys.executable, "-m", "archiver", "--root",
             str(tmp_path), "capture", url, "--delay", "0", "--max-bytes", str(200 << 20)],
            capture_output=True, text=True, timeout=300, check=True)
    peak_mb = int(out.stdout) / 1024
    assert peak_mb < 100, f"peak RSS {peak_mb:.0f} MB for a {size >> 20} MB body"
    (response,) = [r for p in warcs_in(tmp_path) for r in read_warc(p) if r.type == "response"]
    assert len(response.http_body) == size and "WARC-Truncated" not in response.headers
