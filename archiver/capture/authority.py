"""The archive's own certificate authority, for the browser's HTTPS through the proxy.

``capture --browser`` loads pages in Chromium, whose every request goes
through archiver's recording proxy (:mod:`archiver.capture.proxy`). For an
``https://`` URL the browser opens a tunnel (CONNECT) and expects the origin's
certificate; the proxy answers the TLS handshake itself, with a certificate
for the host issued by this authority, and fetches the URL from the origin
with archiver's fetcher, which verifies the origin's real certificate as any
capture does. Chromium is told to accept this authority's key and no other
(``--ignore-certificate-errors-spki-list``: :meth:`CertificateAuthority.spki_hash`).

One authority per archive root, made on first use and kept under
``manifests/browser-ca/`` (the private key mode 0600). Nothing of it is ever
written into a WARC: what the WARC records is the exchange with the origin.
Needs the ``browser`` extra (``cryptography``).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..atomic import atomic_write
from ..errors import ConfigError

__all__ = ["CA_DIR", "CertificateAuthority"]

#: Where the authority lives, under the archive's ``manifests/``.
CA_DIR = "browser-ca"
_KEY = "ca-key.pem"
_CERT = "ca-cert.pem"
_NAME = "archiver recording proxy CA"


def _x509() -> Any:
    try:
        from cryptography import x509
    except ImportError as exc:  # pragma: no cover - guarded by the CLI's check
        raise ConfigError("capture --browser needs the browser extra: "
                          "pip install 'archiver[browser]'") from exc
    return x509


class CertificateAuthority:
    """The per-root CA: loads (or creates) its key and certificate, and issues
    host certificates (one shared leaf key, held only in memory) on demand."""

    def __init__(self, manifests: Path) -> None:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self._x509 = _x509()
        self._hashes = hashes
        self._serialization = serialization
        self.folder = manifests / CA_DIR
        key_path, cert_path = self.folder / _KEY, self.folder / _CERT
        if not (key_path.is_file() and cert_path.is_file()):
            self._create(key_path, cert_path)
        self.key: Any = serialization.load_pem_private_key(key_path.read_bytes(), None)
        self.cert: Any = self._x509.load_pem_x509_certificate(cert_path.read_bytes())
        self.cert_pem = cert_path.read_bytes()
        self.cert_path = cert_path
        self._leaf_key: Any = ec.generate_private_key(ec.SECP256R1())
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def _create(self, key_path: Path, cert_path: Path) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        x509 = self._x509
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, _NAME)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, self._hashes.SHA256())
        )
        pem = key.private_bytes(self._serialization.Encoding.PEM,
                                self._serialization.PrivateFormat.PKCS8,
                                self._serialization.NoEncryption())
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(key_path) as fh:
            os.fchmod(fh.fileno(), 0o600)  # before a byte of the key is written
            fh.write(pem)
        with atomic_write(cert_path) as fh:
            fh.write(cert.public_bytes(self._serialization.Encoding.PEM))

    def spki_hash(self) -> str:
        """base64 sha256 of the leaf key's SubjectPublicKeyInfo: the one key Chromium
        is told to accept certificate errors for (every host certificate has it)."""
        der = self._leaf_key.public_key().public_bytes(
            self._serialization.Encoding.DER,
            self._serialization.PublicFormat.SubjectPublicKeyInfo)
        digest = self._hashes.Hash(self._hashes.SHA256())
        digest.update(der)
        return base64.b64encode(digest.finalize()).decode("ascii")

    def issue(self, host: str) -> tuple[bytes, bytes]:
        """A certificate for ``host`` (PEM, with the CA's after it) and the leaf key (PEM)."""
        x509 = self._x509
        try:
            san: Any = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            san = x509.DNSName(host)
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME,
                                                        host[:64])]))
            .issuer_name(self.cert.subject)
            .public_key(self._leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([san]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(self.key, self._hashes.SHA256())
        )
        key_pem = self._leaf_key.private_bytes(self._serialization.Encoding.PEM,
                                               self._serialization.PrivateFormat.PKCS8,
                                               self._serialization.NoEncryption())
        return cert.public_bytes(self._serialization.Encoding.PEM) + self.cert_pem, key_pem

    def server_context(self, host: str) -> ssl.SSLContext:
        """A TLS server context presenting a certificate for ``host`` (cached)."""
        host = host.lower()
        with self._lock:
            ctx = self._contexts.get(host)
            if ctx is not None:
                return ctx
            chain, key = self.issue(host)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.set_alpn_protocols(["http/1.1"])
            # load_cert_chain reads files only: a private temporary folder,
            # removed at once (the leaf key never outlives the run anyway).
            with tempfile.TemporaryDirectory(prefix="archiver-ca-") as tmp:
                cert_file, key_file = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
                cert_file.write_bytes(chain)
                key_file.touch(mode=0o600)
                key_file.write_bytes(key)
                ctx.load_cert_chain(cert_file, key_file)
            self._contexts[host] = ctx
            return ctx
