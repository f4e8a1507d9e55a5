"""Shared fixtures: real servers on loopback (see servers.py), started per test, always
stopped; and a real archive made by capture, copied for each test that damages it."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fixity_archive import build_archive, copy_archive, open_to_all
from s3server import DUMMY_ENV, S3_SKIP, S3Server, run_s3_server
from servers import HTTPTestServer, RawServer, iter_loopback_hosts, loopback_host_works

from archiver import ArchiveRoot
from archiver.demo import DemoSite


@pytest.fixture
def web() -> Iterator[HTTPTestServer]:
    """A programmable threaded HTTP server on 127.0.0.1."""
    with HTTPTestServer() as server:
        yield server


@pytest.fixture
def tls_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTPS server with a self-signed certificate: (base URL, cert file).

    Its one route, ``/secure``, answers a short HTML paragraph."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    with HTTPTestServer() as server:
        server.route("/secure", b"<p>Kazakh traders detained in Dorbiljin.</p>")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        httpd = server._server  # wrap the real listening socket in TLS
        assert httpd is not None
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        yield server.base_url.replace("http://", "https://"), cert


@pytest.fixture
def make_http_server() -> Iterator[Callable[..., HTTPTestServer]]:
    """``make_http_server(host="127.0.0.2")``: more HTTP servers, all stopped at teardown."""
    started: list[HTTPTestServer] = []

    def make(host: str = "127.0.0.1") -> HTTPTestServer:
        server = HTTPTestServer(host).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def raw() -> Iterator[RawServer]:
    """A raw-socket server on 127.0.0.1 that plays scripted bytes (see http_scripts.py)."""
    with RawServer() as server:
        yield server


@pytest.fixture
def make_raw_server() -> Iterator[Callable[..., RawServer]]:
    """``make_raw_server(host="127.0.0.3", record_limit=...)``; all stopped at teardown."""
    started: list[RawServer] = []

    def make(host: str = "127.0.0.1", *, record_limit: int = 64 << 20) -> RawServer:
        server = RawServer(host, record_limit=record_limit).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def loopback_hosts() -> tuple[str, ...]:
    """Four extra loopback addresses (127.0.0.2-5); skips where they cannot be bound."""
    hosts = tuple(iter_loopback_hosts(4))
    if not all(loopback_host_works(host) for host in hosts):
        pytest.skip("extra loopback addresses 127.0.0.2-5 are not usable here")
    return hosts


@pytest.fixture(scope="session")
def demo_site() -> Iterator[DemoSite]:
    """The bundled sample site, served once for the whole session (it is read-only)."""
    with DemoSite() as site:
        yield site


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory, demo_site: DemoSite) -> Path:
    """A real archive made by `archiver capture` of the demo site; never modified."""
    return build_archive(tmp_path_factory.mktemp("pristine") / "archive", demo_site)


@pytest.fixture
def root(pristine: Path, tmp_path: Path) -> ArchiveRoot:
    """A private copy of the pristine archive, for a test to damage."""
    return copy_archive(pristine, tmp_path / "archive")


# CI sets ARCHIVER_FAIL_ON_SKIP=1: there every extra and every dataset is
# installed, so a skipped test means something is missing, and the run fails.
# ARCHIVER_EXPECTED_SKIP=TEXT[|TEXT...] exempts the skips whose reason holds
# one of the TEXTs: the run at the dependency floors leaves out the extras
# whose own dependencies need more than archiver's floors (pywb needs a newer
# warcio), and their tests ran in the first run.
_SKIPPED: list[str] = []


def _note_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    expected = [t for t in os.environ.get("ARCHIVER_EXPECTED_SKIP", "").split("|") if t]
    if report.skipped and not any(t in str(report.longrepr) for t in expected):
        _SKIPPED.append(report.nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _note_skip(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    # A module-level importorskip skips the whole module at collection: no
    # test report is made for its tests, so it must be counted here.
    _note_skip(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SKIPPED and os.environ.get("ARCHIVER_FAIL_ON_SKIP") == "1" and exitstatus == 0:
        print(f"\nARCHIVER_FAIL_ON_SKIP: {len(_SKIPPED)} test(s) skipped: "
              + ", ".join(_SKIPPED[:10]), file=sys.stderr)
        session.exitstatus = 1


@pytest.fixture
def shared_copy(pristine: Path) -> Iterator[ArchiveRoot]:
    """A copy of the pristine archive that another user can read (not write)."""
    # pytest's tmp_path sits in a 0700 folder another user cannot enter.
    top = Path(tempfile.mkdtemp(prefix="archiver-perm-"))
    try:
        root = copy_archive(pristine, top / "archive")
        open_to_all(top)
        yield root
    finally:
        shutil.rmtree(top)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3 API (moto's server) on 127.0.0.1, for the whole session; the tests
    that use it skip only when the s3 extra (s3fs) is missing."""
    pytest.importorskip("s3fs", reason=S3_SKIP)
    with run_s3_server() as server:
        yield server


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The session's S3 server, with this process's environment pointed at it only."""
    for key, value in DUMMY_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return s3_server
