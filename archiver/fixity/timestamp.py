"""Trusted time: RFC 3161 timestamps over the archive's checkpoint, and their renewal.

A checkpoint only the operator holds proves nothing to anyone else. This
module asks independent Time-Stamp Authorities (TSAs) to sign the time at
which the archive's checkpoint existed, and keeps what a third party needs to
check that with ``openssl ts -verify`` alone:

``manifests/tsa.json``
    The configured TSAs (``archiver config tsa add URL [--ca PEM]``): URL and,
    where given, the CA certificate that anchors the TSA's chain (copied to
    ``manifests/timestamps/ca/``); without one, the TSA must chain to a root
    of certifi's bundle. No TSA is ever contacted unless configured here.
``manifests/timestamps/STEM.statement.json``
    The exact bytes timestamped: canonical JSON of the evidence log's newest
    checkpoint (:func:`current_checkpoint`) and, for a renewal, the SHA-256
    of every earlier token file.
``STEM-N.tsr``, ``STEM-N.chain.pem``, ``STEM-N.ca.pem``
    One TSA's reply as received, the TSA certificate with its
    intermediates, and the root that anchors them.
``STEM.tokens.json``
    Which TSA gave which token, when, and which TSAs failed.

Each run ends with a ``timestamp`` event in ``events.jsonl``. Tokens are
verified on receipt (status, nonce, message digest, CMS signature, chain to
the configured root at the token's time, critical extended key usage
``timeStamping``) with rfc3161-client, and again by :func:`verify_evidence`.

rfc3161-client parses DER strictly and rejects OpenSSL's replies that carry
the chain, because OpenSSL does not sort the CMS ``certificates`` SET as DER
requires (``InvalidSetOrdering``). :func:`der_sort_certificates` sorts that
SET before parsing. The certificates are outside what the TSA signs (the
signature covers the signed attributes, which hold the TSTInfo's digest), so
sorting them changes nothing that is verified; the file kept is the reply as
received, which ``openssl ts -verify`` checks as it is.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..atomic import atomic_write
from ..errors import TimestampError
from ..hashing import sha256_file
from ..root import ArchiveRoot
from .events import EventType, append_event, utc_now
from .evidencelog import iter_checkpoints, last_checkpoint
from .signing import (
    ALLOWED_SIGNERS,
    CHECKPOINTS_DIR,
    load_signer,
    sign_file,
    verify_signature,
)

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

__all__ = [
    "TIMESTAMPS_DIR",
    "TSA",
    "TSA_CONFIG_NAME",
    "EvidenceReport",
    "TimestampRun",
    "TokenCheck",
    "add_tsa",
    "current_checkpoint",
    "der_sort_certificates",
    "load_tsas",
    "request_token",
    "timestamp_archive",
    "verify_evidence",
    "verify_token",
]

TSA_CONFIG_NAME = "tsa.json"
TIMESTAMPS_DIR = "timestamps"
#: A TSA certificate that expires sooner than this is reported by verify --evidence.
EXPIRY_WARNING = timedelta(days=365)
_MAX_REPLY = 1 << 20  # a time-stamp reply is a few KB; more is not a TSA
_STATEMENT_VERSION = 1


# --- configuration -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TSA:
    """A configured Time-Stamp Authority: its URL and, optionally, its root CA file."""

    url: str
    #: The root CA certificate, relative to ``manifests/``; ``None``: certifi's roots.
    ca: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "ca": self.ca}


def _config_path(root: ArchiveRoot) -> Path:
    return root.manifests / TSA_CONFIG_NAME


def load_tsas(root: ArchiveRoot) -> list[TSA]:
    """The configured TSAs, in the order they were added; none if nothing is configured."""
    path = _config_path(root)
    try:
        obj = json.loads(path.read_bytes())
        return [TSA(str(t["url"]), t.get("ca")) for t in obj["tsas"]]
    except FileNotFoundError:
        return []
    except (ValueError, KeyError, TypeError) as exc:
        raise TimestampError(path, f"not a TSA configuration ({exc}); fix or remove it, "
                             "then `archiver config tsa add URL`") from exc


def _load_pem_certificates(path: Path) -> list[Certificate]:
    from cryptography.x509 import load_pem_x509_certificates

    try:
        return load_pem_x509_certificates(path.read_bytes())
    except OSError as exc:
        raise TimestampError(path, f"cannot read: {exc.strerror}") from exc
    except ValueError as exc:
        raise TimestampError(path, "not a PEM certificate file") from exc


def add_tsa(root: ArchiveRoot, url: str, ca_pem: Path | None = None) -> TSA:
    """Configure ``url`` as a TSA (replacing an entry with the same URL).

    ``ca_pem``: the TSA's root certificate(s), copied into the archive so the
    archive stays checkable when the original file is gone.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TimestampError(url, "a TSA URL must be an absolute http(s) URL")
    _require_library()
    with root.writer_lock():
        ca: str | None = None
        if ca_pem is not None:
            certs = _load_pem_certificates(ca_pem)
            data = b"".join(_pem(c) for c in certs)
            rel = f"{TIMESTAMPS_DIR}/ca/{hashlib.sha256(data).hexdigest()[:16]}.pem"
            with atomic_write(root.manifests / rel) as fh:
                fh.write(data)
            ca = rel
        tsas = [t for t in load_tsas(root) if t.url != url] + [TSA(url, ca)]
        _write_json(_config_path(root), {"tsas": [t.as_dict() for t in tsas]})
    return TSA(url, ca)


def _write_json(path: Path, obj: Any) -> None:
    with atomic_write(path) as fh:
        fh.write(json.dumps(obj, indent=2, ensure_ascii=False).encode("utf-8") + b"\n")


def _require_library() -> None:
    try:
        import rfc3161_client  # noqa: F401
    except ImportError as exc:
        raise TimestampError("rfc3161-client", "not installed: pip install 'archiver[timestamp]'"
                             ) from exc


# --- what is timestamped -----------------------------------------------------


def canonical_json(obj: dict[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same object always gives the same bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                      ).encode("utf-8")


def current_checkpoint(root: ArchiveRoot) -> dict[str, Any]:
    """The archive's newest evidence-log checkpoint, as the object a timestamp covers.

    A checkpoint (tree size and root hash of the RFC 9162 log of every record,
    chained to the previous one) is made at the end of every run that grew
    the log; raises :class:`TimestampError` when there is none yet.
    """
    cp = last_checkpoint(root)
    if cp is None:
        raise TimestampError(root.log_path, "no evidence-log checkpoint yet: capture, import "
                             "or run `archiver manifest` first")
    return {"kind": "log checkpoint", **cp.as_dict(), "sha256": cp.sha256}


# --- tokens ------------------------------------------------------------------


def _der_header(data: bytes, pos: int) -> tuple[int, int, int]:
    """``(tag, header length, content length)`` of the DER element at ``pos``."""
    if pos + 2 > len(data) or data[pos] & 0x1F == 0x1F:
        raise ValueError(f"bad DER element at {pos}")
    first = data[pos + 1]
    if first < 0x80:
        return data[pos], 2, first
    n = first & 0x7F
    if n == 0 or n > 4 or pos + 2 + n > len(data):
        raise ValueError(f"bad DER length at {pos}")
    return data[pos], 2 + n, int.from_bytes(data[pos + 2 : pos + 2 + n], "big")


def _children(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """``(tag, start, end)`` of each element in ``data[start:end]``."""
    pos = start
    while pos < end:
        tag, head, length = _der_header(data, pos)
        if pos + head + length > end:
            raise ValueError(f"DER element at {pos} runs past its parent")
        yield tag, pos, pos + head + length
        pos += head + length


def _enter(data: bytes, span: tuple[int, int, int]) -> tuple[int, int]:
    _, head, _ = _der_header(data, span[1])
    return span[1] + head, span[2]


def der_sort_certificates(reply: bytes) -> bytes:
    """``reply`` (a TimeStampResp) with its token's CMS ``certificates`` SET in DER order.

    Only the order of the certificates changes; every byte the TSA signed is
    untouched, and a reply already in order comes back as it was.
    """
    try:
        resp = next(_children(reply, 0, len(reply)))
        parts = list(_children(reply, *_enter(reply, resp)))
        if len(parts) < 2:
            return reply  # no token: a rejection, reported by the parser
        content_info = list(_children(reply, *_enter(reply, parts[1])))
        explicit = _enter(reply, content_info[1])  # [0] EXPLICIT SignedData
        signed_data = next(_children(reply, *explicit))
        for tag, start, end in _children(reply, *_enter(reply, signed_data)):
            if tag == 0xA0:  # certificates [0] IMPLICIT SET OF CertificateChoices
                inner = _enter(reply, (tag, start, end))
                certs = [reply[s:e] for _, s, e in _children(reply, *inner)]
                ordered = b"".join(sorted(certs))
                return reply[: inner[0]] + ordered + reply[inner[1] :]
    except (StopIteration, IndexError, ValueError):
        return reply  # not the shape we expect: let the parser report it
    return reply


def _pem(cert: Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.PEM)


def _roots(root: ArchiveRoot, tsa: TSA) -> list[Certificate]:
    if tsa.ca is not None:
        return _load_pem_certificates(root.manifests / tsa.ca)
    import certifi

    return _load_pem_certificates(Path(certifi.where()))


@dataclass(frozen=True)
class TokenInfo:
    """A verified token: when the TSA says the message existed, and who says so."""

    gen_time: datetime
    serial: int
    tsa_certificate: Certificate
    #: The TSA certificate, then each issuer up to (not including) the anchor.
    chain: tuple[Certificate, ...]
    anchor: Certificate


def _build_chain(leaf: Certificate, pool: Sequence[Certificate],
                 roots: Sequence[Certificate]) -> tuple[tuple[Certificate, ...], Certificate]:
    chain = [leaf]
    cert = leaf
    for _ in range(8):
        anchor = next((r for r in roots if r.subject == cert.issuer), None)
        if anchor is not None:
            if anchor == cert:  # the TSA certificate is itself a configured root
                chain.pop()
            return tuple(chain), anchor
        cert = next((c for c in pool if c.subject == cert.issuer and c not in chain), cert)
        if cert is chain[-1]:
            break
        chain.append(cert)
    raise ValueError("no chain to a trusted root")


def verify_token(reply: bytes, message: bytes, roots: Sequence[Certificate],
                 *, nonce: int | None = None) -> TokenInfo:
    """Check a time-stamp reply over ``message`` against ``roots``; raise ``ValueError``.

    Checks the status, the nonce (when given), the message digest, the CMS
    signature and the chain to one of ``roots`` at the token's time, and that
    the signing certificate has the critical extended key usage timeStamping.
    """
    from cryptography.x509 import load_der_x509_certificate
    from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

    try:
        response = decode_timestamp_response(der_sort_certificates(reply))
    except ValueError as exc:
        raise ValueError(f"not a time-stamp reply ({exc})") from exc
    embedded = [load_der_x509_certificate(c) for c in response.signed_data.certificates]
    builder = VerifierBuilder()
    for r in roots:
        builder = builder.add_root_certificate(r)
    if nonce is not None:
        builder = builder.nonce(nonce)
    try:
        builder.build().verify_message(response, message)
    except VerificationError as exc:
        raise ValueError(str(exc)) from exc
    signer = next(iter(response.signed_data.signer_infos))
    leaf = next(c for c in embedded
                if c.issuer == signer.issuer and c.serial_number == signer.serial_number)
    chain, anchor = _build_chain(leaf, embedded, roots)
    info = response.tst_info
    return TokenInfo(info.gen_time.astimezone(UTC) if info.gen_time.tzinfo
                     else info.gen_time.replace(tzinfo=UTC), info.serial_number, leaf, chain,
                     anchor)


def request_token(url: str, message: bytes, *, timeout: float = 30.0) -> tuple[bytes, int]:
    """POST an RFC 3161 request for SHA-256(``message``) to ``url``: ``(reply, nonce)``."""
    import requests
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

    request = (TimestampRequestBuilder().data(message).hash_algorithm(HashAlgorithm.SHA256)
               .nonce(nonce=True).cert_request(cert_request=True).build())
    try:
        with requests.post(url, data=request.as_bytes(), timeout=timeout, stream=True,
                           headers={"Content-Type": "application/timestamp-query"}) as resp:
            if resp.status_code != 200:
                raise TimestampError(url, f"the TSA answered HTTP {resp.status_code}")
            body = b""
            for chunk in resp.iter_content(65536):
                body += chunk
                if len(body) > _MAX_REPLY:
                    raise TimestampError(url, "the reply is over 1 MiB: not a time-stamp reply")
    except requests.RequestException as exc:
        raise TimestampError(url, f"cannot reach the TSA ({type(exc).__name__}: {exc})") from exc
    if request.nonce is None:  # asked for above: the library always sets one
        raise TimestampError(url, "no nonce in the request")
    return body, int(request.nonce)


# --- a timestamp run ---------------------------------------------------------


@dataclass
class TimestampRun:
    """What :func:`timestamp_archive` did: the tokens stored and the TSAs that failed."""

    statement: str  # relative to manifests/
    statement_sha256: str
    tokens: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (TSA URL, why)
    #: The operator's SSH signature of the statement (relative to manifests/), if configured.
    signature: str | None = None
    principal: str | None = None


def _new_stem(folder: Path) -> str:
    """A new run's file name stem: its UTC time to the millisecond, so names sort by time."""
    while True:
        now = datetime.now(UTC)
        stem = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"
        if not (folder / f"{stem}.statement.json").exists():
            return stem
        time.sleep(0.001)


def _token_files(folder: Path) -> list[Path]:
    """Every file an earlier timestamp run stored, in name order (CA copies excluded)."""
    # allowed_signers grows when a key is added: it is configuration, not evidence.
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.name != Path(ALLOWED_SIGNERS).name)


def timestamp_archive(root: ArchiveRoot, *, renew: bool = False,
                      timeout: float = 30.0) -> TimestampRun:
    """Timestamp the newest checkpoint with every configured TSA; log a ``timestamp`` event.

    ``renew``: the statement also holds the SHA-256 of every token, chain and
    statement stored before, so their proof outlives their TSA certificates
    and hash functions (RFC 4998's archive timestamps). A TSA that fails is
    reported in the result and the others still count; raises
    :class:`TimestampError` only when no TSA is configured.
    """
    root.require()
    tsas = load_tsas(root)
    if not tsas:
        raise TimestampError(_config_path(root), "no TSA configured: add one with "
                             "`archiver config tsa add URL [--ca PEM]`")
    _require_library()
    signer = load_signer(root)
    folder = root.manifests / TIMESTAMPS_DIR
    with root.writer_lock():
        folder.mkdir(parents=True, exist_ok=True)
        stem = _new_stem(folder)
        statement_obj: dict[str, Any] = {
            "archiver_statement": _STATEMENT_VERSION,
            "checkpoint": current_checkpoint(root),
            "requested": utc_now(),
        }
        if renew:
            statement_obj["renews"] = {f"{TIMESTAMPS_DIR}/{p.name}": sha256_file(p)[0]
                                       for p in _token_files(folder)}
        statement = canonical_json(statement_obj)
        rel = f"{TIMESTAMPS_DIR}/{stem}.statement.json"
        with atomic_write(root.manifests / rel) as fh:
            fh.write(statement)
        run = TimestampRun(rel, hashlib.sha256(statement).hexdigest())
        if signer is not None:
            try:
                sign_file(signer, root.manifests / rel)
            except TimestampError:
                (root.manifests / rel).unlink()
                raise
            run.signature, run.principal = rel + ".sig", signer.principal
        for n, tsa in enumerate(tsas, 1):
            try:
                run.tokens.append(_one_token(root, tsa, statement, f"{stem}-{n}", timeout))
            except TimestampError as exc:
                run.failures.append((tsa.url, str(exc)))
        _write_json(folder / f"{stem}.tokens.json", {
            "statement": rel, "statement_sha256": run.statement_sha256, "renewal": renew,
            "signature": run.signature, "principal": run.principal,
            "tokens": run.tokens,
            "failures": [{"tsa": url, "error": why} for url, why in run.failures]})
        outcome = "success" if not run.failures else "partial" if run.tokens else "failure"
        append_event(
            root, EventType.TIMESTAMP, outcome=outcome,
            obj=[rel] + ([run.signature] if run.signature else []) + [t["tsr"] for t in run.tokens],
            detail=(f"{'renewal: ' if renew else ''}statement sha256 {run.statement_sha256}; "
                    f"{len(run.tokens)} of {len(tsas)} TSAs gave a verified token"
                    + "".join(f"; {why}" for _, why in run.failures)),
            counts={"tokens": len(run.tokens), "failed": len(run.failures)})
    return run


def _one_token(root: ArchiveRoot, tsa: TSA, statement: bytes, name: str,
               timeout: float) -> dict[str, Any]:
    roots = _roots(root, tsa)
    reply, nonce = request_token(tsa.url, statement, timeout=timeout)
    try:
        info = verify_token(reply, statement, roots, nonce=nonce)
    except ValueError as exc:
        raise TimestampError(tsa.url, f"token refused: {exc}") from exc
    folder = root.manifests / TIMESTAMPS_DIR
    files = {"tsr": reply, "chain.pem": b"".join(_pem(c) for c in info.chain),
             "ca.pem": _pem(info.anchor)}
    for ext, data in files.items():
        with atomic_write(folder / f"{name}.{ext}") as fh:
            fh.write(data)
    return {"tsa": tsa.url, "tsr": f"{TIMESTAMPS_DIR}/{name}.tsr",
            "chain": f"{TIMESTAMPS_DIR}/{name}.chain.pem",
            "ca": f"{TIMESTAMPS_DIR}/{name}.ca.pem",
            "gen_time": info.gen_time.isoformat().replace("+00:00", "Z"),
            "serial": info.serial,
            "tsa_certificate_expires": _not_after(info.tsa_certificate).isoformat()
            .replace("+00:00", "Z")}


def _not_after(cert: Certificate) -> datetime:
    return cert.not_valid_after_utc


# --- verify --evidence -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """One stored token as :func:`verify_evidence` found it."""

    tsr: str
    tsa: str
    ok: bool
    detail: str
    gen_time: str | None = None
    expires: str | None = None
    #: The TSA certificate expires within a year (or has): renew before then.
    expiring: bool = False


@dataclass
class EvidenceReport:
    """Every stored token checked, the renewals' coverage, and what is not covered."""

    tokens: list[TokenCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The newest statement's checkpoint equals the archive's current one.
    current_covered: bool = False
    #: Operator signatures that ssh-keygen -Y verify accepted.
    signatures: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and any(t.ok for t in self.tokens)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "current_covered": self.current_covered,
                "signatures": self.signatures,
                "tokens": [asdict(t) for t in self.tokens],
                "problems": self.problems, "warnings": self.warnings}


def _runs(folder: Path) -> Iterable[tuple[Path, dict[str, Any]]]:
    for path in sorted(folder.glob("*.tokens.json")):
        try:
            obj = json.loads(path.read_bytes())
        except ValueError as exc:
            raise TimestampError(path, f"not valid JSON ({exc})") from exc
        yield path, obj


def verify_evidence(root: ArchiveRoot, *, now: datetime | None = None) -> EvidenceReport:
    """Check every stored token against its statement and stored root; report expiry.

    Writes nothing. A token whose TSA certificate expires within a year is a
    warning (renew with ``archiver timestamp --renew``); one that no longer
    verifies, or a file a renewal covers that has changed, is a problem.
    """
    root.require()
    _require_library()
    now = now or datetime.now(UTC)
    folder = root.manifests / TIMESTAMPS_DIR
    report = EvidenceReport()
    if not folder.is_dir():
        report.problems.append(f"{folder}: no timestamps yet (run `archiver timestamp`)")
        return report
    newest: dict[str, Any] | None = None
    for path, run in _runs(folder):
        statement_path = root.manifests / run["statement"]
        try:
            statement = statement_path.read_bytes()
        except OSError as exc:
            report.problems.append(f"{statement_path}: cannot read ({exc.strerror})")
            continue
        for token in run.get("tokens", []):
            report.tokens.append(_check_stored(root, token, statement, now))
        if run.get("signature"):
            why = verify_signature(root, statement_path, str(run.get("principal")))
            if why is not None:
                report.problems.append(f"{root.manifests / run['signature']}: {why}")
            else:
                report.signatures += 1
        try:
            obj = json.loads(statement)
        except ValueError:
            report.problems.append(f"{statement_path}: not valid JSON")
            continue
        if any(t.ok and t.tsr in {x["tsr"] for x in run.get("tokens", [])}
               for t in report.tokens):
            newest = obj
        for rel, digest in sorted(obj.get("renews", {}).items()):
            target = root.manifests / rel
            try:
                actual = sha256_file(target)[0]
            except OSError:
                actual = None
            if actual != digest:
                report.problems.append(
                    f"{target}: covered by the renewal {path.name} with sha256 {digest}, "
                    f"but it is {'missing' if actual is None else 'now ' + actual}")
    _check_signed_checkpoints(root, report)
    for t in report.tokens:
        if not t.ok:
            report.problems.append(f"{root.manifests / t.tsr} ({t.tsa}): {t.detail}")
        elif t.expiring:
            report.warnings.append(
                f"{root.manifests / t.tsr} ({t.tsa}): the TSA certificate expires {t.expires}; "
                "run `archiver timestamp --renew` before then")
    if newest is not None:
        try:
            current = current_checkpoint(root)
        except TimestampError:
            current = {}
        report.current_covered = _same_checkpoint(newest.get("checkpoint"), current)
        if not report.current_covered:
            report.warnings.append("the archive changed since its newest timestamp: "
                                   "run `archiver timestamp` to cover the current checkpoint")
    if not report.tokens:
        report.problems.append(f"{folder}: no token stored")
    return report


def _check_signed_checkpoints(root: ArchiveRoot, report: EvidenceReport) -> None:
    """Each signed checkpoint: the signature holds and the checkpoint is the log's."""
    folder = root.manifests / CHECKPOINTS_DIR
    if not folder.is_dir():
        return
    logged = {cp.tree_size: cp.as_dict() for _, cp in iter_checkpoints(root)}
    for path in sorted(folder.glob("checkpoint-*.json")):
        try:
            body = json.loads(path.read_bytes())
            signer, cp = str(body["signer"]), body["checkpoint"]
        except (OSError, ValueError, KeyError, TypeError):
            report.problems.append(f"{path}: not a signed checkpoint")
            continue
        why = verify_signature(root, path, signer)
        if why is not None:
            report.problems.append(f"{path}.sig: {why}")
        elif logged.get(cp.get("tree_size")) != cp:
            report.problems.append(f"{path}: signed by {signer}, but events.jsonl holds no "
                                   "such checkpoint")
        else:
            report.signatures += 1


def _same_checkpoint(stamped: Any, current: dict[str, Any]) -> bool:
    """Whether ``stamped`` is the archive's current checkpoint (same tree, same root)."""
    if not isinstance(stamped, dict):
        return False
    return all(stamped.get(k) == current.get(k) for k in ("kind", "tree_size", "root_hash"))


def _check_stored(root: ArchiveRoot, token: dict[str, Any], statement: bytes,
                  now: datetime) -> TokenCheck:
    tsr, tsa = str(token["tsr"]), str(token.get("tsa", "?"))
    try:
        reply = (root.manifests / tsr).read_bytes()
        roots = _load_pem_certificates(root.manifests / token["ca"])
        info = verify_token(reply, statement, roots)
    except (OSError, ValueError, TimestampError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return TokenCheck(tsr, tsa, False, why)
    expires = _not_after(info.tsa_certificate)
    return TokenCheck(tsr, tsa, True, "verified", info.gen_time.isoformat(),
                      expires.isoformat(), expires - now < EXPIRY_WARNING)
