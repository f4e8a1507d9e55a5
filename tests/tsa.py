"""A real RFC 3161 Time-Stamp Authority on loopback: ``openssl ts -reply`` behind
:class:`servers.HTTPTestServer`, with a CA and a TSA certificate made by ``openssl`` in the
test (``extendedKeyUsage = critical,timeStamping``). Never a mock.

:class:`PKI`
    A root CA and a TSA certificate it issued, in a folder of the test's.
:class:`TimeStampAuthority`
    Serves ``POST /tsa``: each query is signed by ``openssl ts -reply``, with
    the CA in the reply (``chain=True``: OpenSSL then puts the certificates
    out of DER order) or only the TSA certificate. ``replies`` keeps each
    reply; ``replay`` makes it answer every query with one old reply.

:func:`openssl_ts_verify` checks a token as a third party would.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from servers import HTTPTestServer, Request, Response

__all__ = ["PKI", "TimeStampAuthority", "openssl_ts_verify", "require_openssl"]

_EXTENSIONS = """\
[tsa_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def require_openssl() -> None:
    """Skip, naming it, where the openssl command is missing (CI installs it)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl (Debian package openssl) is not installed")


def _openssl(*args: str | Path, cwd: Path, data: bytes | None = None) -> bytes:
    done = subprocess.run(["openssl", *map(str, args)], cwd=cwd, input=data,
                          capture_output=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


class PKI:
    """A root CA (``ca.pem``) and a TSA certificate (``tsa.pem``) valid ``tsa_days``."""

    def __init__(self, folder: Path, name: str = "Test", *, tsa_days: int = 3000) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        (folder / "ext.cnf").write_text(_EXTENSIONS)
        ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
        _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
                 "-subj", f"/CN={name} Root CA", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
        _openssl("req", *ec, "-keyout", "tsa.key", "-out", "tsa.csr",
                 "-subj", f"/CN={name} TSA", cwd=folder)
        _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", "tsa.pem", "-days", str(tsa_days),
                 "-extfile", "ext.cnf", "-extensions", "tsa_ext", cwd=folder)
        (folder / "chain.pem").write_bytes((folder / "tsa.pem").read_bytes()
                                           + (folder / "ca.pem").read_bytes())

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"


class TimeStampAuthority:
    """``openssl ts -reply`` answering ``POST path`` on ``server``."""

    def __init__(self, server: HTTPTestServer, pki: PKI, *, chain: bool,
                 path: str = "/tsa") -> None:
        self.pki = pki
        self.chain = chain
        self.path = path
        self.replies: list[bytes] = []
        self.replay: bytes | None = None
        self._lock = threading.Lock()
        self._config = pki.folder / f"ts-{path.strip('/').replace('/', '-')}.cnf"
        self._serial = pki.folder / f"serial-{path.strip('/').replace('/', '-')}"
        self._serial.write_text("01\n")
        certs = f"certs = {pki.folder / 'chain.pem'}\n" if chain else ""
        self._config.write_text(f"""\
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = {self._serial}
crypto_device = builtin
signer_cert = {pki.folder / 'tsa.pem'}
{certs}signer_key = {pki.folder / 'tsa.key'}
signer_digest = sha256
default_policy = 1.3.6.1.4.1.4146.2.3
other_policies = 1.3.6.1.4.1.4146.2.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""")
        self.url = server.url(path)
        server.handle(path, self._answer)

    def _answer(self, request: Request) -> Response:
        with self._lock:
            if self.replay is not None:
                reply = self.replay
            else:
                query = self.pki.folder / "query.tsq"
                query.write_bytes(request.body)
                reply = _openssl("ts", "-reply", "-config", self._config,
                                 "-queryfile", query, cwd=self.pki.folder)
            self.replies.append(reply)
        return Response(200, reply, content_type="application/timestamp-reply")


def openssl_ts_verify(data: Path, tsr: Path, ca: Path,
                      untrusted: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``openssl ts -verify`` of ``tsr`` over the file ``data``, trusting only ``ca``."""
    extra = ["-untrusted", str(untrusted)] if untrusted is not None else []
    return subprocess.run(["openssl", "ts", "-verify", "-data", str(data), "-in", str(tsr),
                           "-CAfile", str(ca), *extra],
                          capture_output=True, text=True, timeout=60)
