"""RFC 3161 timestamps against a real TSA (``openssl ts -reply`` on loopback): configure,
request, verify on receipt and later, store, renew; each token also checked by
``openssl ts -verify``. Needs the ``timestamp`` extra (rfc3161-client) and openssl."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from servers import HTTPTestServer, Response
from tsa import PKI, TimeStampAuthority, openssl_ts_verify, require_openssl

from archiver import ArchiveRoot

rfc3161_client = pytest.importorskip(
    "rfc3161_client", reason="rfc3161-client (the `timestamp` extra) is not installed")

from archiver.fixity.timestamp import (  # noqa: E402
    der_sort_certificates,
    verify_evidence,
    verify_token,
)


def archiver(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archiver", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    require_openssl()
    return PKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def with_chain(web: HTTPTestServer, pki: PKI) -> TimeStampAuthority:
    return TimeStampAuthority(web, pki, chain=True, path="/tsa-chain")


@pytest.fixture
def bare(web: HTTPTestServer, pki: PKI) -> TimeStampAuthority:
    return TimeStampAuthority(web, pki, chain=False, path="/tsa-bare")


def events(root: ArchiveRoot) -> list[dict[str, object]]:
    return [json.loads(line) for line in root.events_path.read_bytes().splitlines()]


def tokens_of(root: ArchiveRoot) -> list[dict[str, object]]:
    runs = sorted((root.manifests / "timestamps").glob("*.tokens.json"))
    return [json.loads(p.read_bytes()) for p in runs]


def test_openssl_chain_replies_are_out_of_der_order_and_still_verify(
        root: ArchiveRoot, with_chain: TimeStampAuthority, bare: TimeStampAuthority,
        pki: PKI) -> None:
    for tsa in (with_chain, bare):
        done = archiver(root.path, "config", "tsa", "add", tsa.url, "--ca", str(pki.ca))
        assert done.returncode == 0, done.stderr
    done = archiver(root.path, "timestamp")
    assert done.returncode == 0, done.stderr
    assert "2 token(s), 0 TSA(s) failed" in done.stderr

    # The reply with the chain is one rfc3161-client alone refuses: the reason to sort.
    chained = with_chain.replies[-1]
    with pytest.raises(ValueError, match="InvalidSetOrdering"):
        rfc3161_client.decode_timestamp_response(chained)
    assert der_sort_certificates(chained) != chained
    assert len(chained) == len(der_sort_certificates(chained))
    plain = bare.replies[-1]
    assert der_sort_certificates(plain) == plain  # nothing to sort: untouched

    (run,) = tokens_of(root)
    statement = root.manifests / str(run["statement"])
    tokens = run["tokens"]
    assert isinstance(tokens, list) and [t["tsa"] for t in tokens] == [with_chain.url, bare.url]
    for token, reply in zip(tokens, (chained, plain), strict=True):
        tsr = root.manifests / token["tsr"]
        assert tsr.read_bytes() == reply  # kept as received
        # A third party's check, with the files stored beside the token.
        checked = openssl_ts_verify(statement, tsr, root.manifests / token["ca"],
                                    root.manifests / token["chain"])
        assert checked.returncode == 0 and "Verification: OK" in checked.stdout, checked.stderr
        assert (root.manifests / token["ca"]).read_bytes() == pki.ca.read_bytes()
    last = events(root)[-1]
    assert last["type"] == "timestamp" and last["outcome"] == "success"
    assert last["object"] == [run["statement"]] + [t["tsr"] for t in tokens]
    assert last["counts"] == {"tokens": 2, "failed": 0}

    done = archiver(root.path, "verify", "--evidence")
    assert done.returncode == 0, done.stdout
    assert ("2 of 2 timestamp tokens verified, 0 operator signature(s) verified; "
            "current checkpoint covered") in done.stdout


def test_the_statement_is_the_evidence_logs_newest_checkpoint(
        root: ArchiveRoot, bare: TimeStampAuthority, pki: PKI) -> None:
    assert archiver(root.path, "config", "tsa", "add", bare.url, "--ca", str(pki.ca)
                    ).returncode == 0
    assert archiver(root.path, "timestamp").returncode == 0
    (run,) = tokens_of(root)
    stamped = json.loads((root.manifests / str(run["statement"])).read_bytes())["checkpoint"]
    checkpoints = [e for e in events(root) if e["type"] == "log checkpoint"]
    newest = checkpoints[-1]["checkpoint"]
    assert isinstance(newest, dict)
    assert stamped == {"kind": "log checkpoint", **newest,
                       "sha256": checkpoints[-1]["checkpoint_sha256"]}
    # The root hash is the log's: every line of log.jsonl is a leaf (computed here).
    leaves = [hashlib.sha256(b"\x00" + line).digest()
              for line in root.log_path.read_bytes().splitlines()]
    assert stamped["tree_size"] == len(leaves)

    def mth(hashes: list[bytes]) -> bytes:
        if len(hashes) == 1:
            return hashes[0]
        k = 1 << ((len(hashes) - 1).bit_length() - 1)
        return hashlib.sha256(b"\x01" + mth(hashes[:k]) + mth(hashes[k:])).digest()

    assert stamped["root_hash"] == mth(leaves).hex()


def test_a_failing_tsa_is_reported_and_the_others_still_count(
        root: ArchiveRoot, web: HTTPTestServer, bare: TimeStampAuthority, pki: PKI,
        tmp_path: Path) -> None:
    other = PKI(tmp_path / "other", "Other")  # a TSA that chains to a root we do not trust
    untrusted = TimeStampAuthority(web, other, chain=True, path="/tsa-other")
    web.route("/tsa-down", Response(503, b"down\n", content_type="text/plain"))
    for url in (web.url("/tsa-down"), untrusted.url, bare.url):
        assert archiver(root.path, "config", "tsa", "add", url, "--ca", str(pki.ca)
                        ).returncode == 0
    done = archiver(root.path, "timestamp")
    assert done.returncode == 1
    failed = [line for line in done.stderr.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 2
    assert failed[0].startswith(f"FAILED timestamp from {web.url('/tsa-down')}: ")
    assert "HTTP 503" in failed[0]
    assert failed[1].startswith(f"FAILED timestamp from {untrusted.url}: ")
    assert "token refused" in failed[1]
    (run,) = tokens_of(root)
    assert [t["tsa"] for t in run["tokens"]] == [bare.url]  # type: ignore[union-attr]
    last = events(root)[-1]
    assert last["outcome"] == "partial" and last["counts"] == {"tokens": 1, "failed": 2}
    # Nothing of the refused token was kept.
    assert sorted(p.name for p in (root.manifests / "timestamps").glob("*.tsr")) == [
        Path(str(run["tokens"][0]["tsr"])).name]  # type: ignore[index]
    assert archiver(root.path, "verify", "--evidence").returncode == 0


def test_a_replayed_reply_fails_the_nonce_and_the_digest(
        root: ArchiveRoot, bare: TimeStampAuthority, pki: PKI) -> None:
    assert archiver(root.path, "config", "tsa", "add", bare.url, "--ca", str(pki.ca)
                    ).returncode == 0
    assert archiver(root.path, "timestamp").returncode == 0
    bare.replay = bare.replies[-1]  # an old, genuinely signed token for another statement
    done = archiver(root.path, "timestamp")
    assert done.returncode == 1
    assert "token refused: Nonce mismatch" in done.stderr
    (first, _) = tokens_of(root)
    statement = (root.manifests / str(first["statement"])).read_bytes()
    from cryptography.x509 import load_pem_x509_certificates

    roots = load_pem_x509_certificates(pki.ca.read_bytes())
    verify_token(bare.replay, statement, roots)  # genuine for its own statement
    with pytest.raises(ValueError, match="Mismatch between messages"):
        verify_token(bare.replay, statement + b" ", roots)


def test_verify_evidence_finds_a_flipped_byte_and_near_expiry(
        root: ArchiveRoot, web: HTTPTestServer, with_chain: TimeStampAuthority, pki: PKI,
        tmp_path: Path) -> None:
    short = PKI(tmp_path / "short", "Short", tsa_days=200)
    soon = TimeStampAuthority(web, short, chain=False, path="/tsa-soon")
    assert archiver(root.path, "config", "tsa", "add", with_chain.url, "--ca", str(pki.ca)
                    ).returncode == 0
    assert archiver(root.path, "config", "tsa", "add", soon.url, "--ca", str(short.ca)
                    ).returncode == 0
    assert archiver(root.path, "timestamp").returncode == 0
    report = verify_evidence(root)
    assert report.ok and [t.expiring for t in report.tokens] == [False, True]
    (warning,) = [w for w in report.warnings if "expires" in w]
    assert soon.url in warning and "archiver timestamp --renew" in warning

    (run,) = tokens_of(root)
    tsr = root.manifests / str(run["tokens"][0]["tsr"])  # type: ignore[index]
    good = tsr.read_bytes()
    imprint = good.index(hashlib.sha256((root.manifests / str(run["statement"])).read_bytes()
                                        ).digest())
    for at in (imprint + 5, len(good) - 20):  # the signed message imprint, the signature
        bad = bytearray(good)
        bad[at] ^= 0x01
        tsr.write_bytes(bytes(bad))
        done = archiver(root.path, "verify", "--evidence")
        assert done.returncode == 1, done.stdout
        assert f"PROBLEM {tsr} ({with_chain.url})" in done.stdout
        assert openssl_ts_verify(root.manifests / str(run["statement"]), tsr,
                                 pki.ca).returncode != 0
    tsr.write_bytes(good)
    statement = root.manifests / str(run["statement"])
    statement.write_bytes(statement.read_bytes().replace(b'"tree_size":', b'"tree_size": '))
    done = archiver(root.path, "verify", "--evidence")
    assert done.returncode == 1 and "Mismatch between messages" in done.stdout


def test_renewal_covers_the_old_tokens(root: ArchiveRoot, bare: TimeStampAuthority,
                                       pki: PKI) -> None:
    assert archiver(root.path, "config", "tsa", "add", bare.url, "--ca", str(pki.ca)
                    ).returncode == 0
    assert archiver(root.path, "timestamp").returncode == 0
    (old,) = tokens_of(root)
    done = archiver(root.path, "timestamp", "--renew")
    assert done.returncode == 0, done.stderr
    _, new = tokens_of(root)
    assert new["renewal"] is True
    renewal = json.loads((root.manifests / str(new["statement"])).read_bytes())
    old_tsr = str(old["tokens"][0]["tsr"])  # type: ignore[index]
    assert renewal["renews"][old_tsr] == hashlib.sha256(
        (root.manifests / old_tsr).read_bytes()).hexdigest()
    assert renewal["renews"][str(old["statement"])]
    assert events(root)[-1]["detail"].startswith("renewal: ")  # type: ignore[union-attr]
    assert archiver(root.path, "verify", "--evidence").returncode == 0
    # The old token replaced by another genuine token: the renewal tells.
    (root.manifests / old_tsr).write_bytes(bare.replies[-1])
    done = archiver(root.path, "verify", "--evidence")
    assert done.returncode == 1
    assert f"covered by the renewal {Path(str(new['statement'])).name.split('.')[0]}" \
        in done.stdout


def test_capture_timestamp_at_the_end_and_refused_without_a_tsa(
        tmp_path: Path, web: HTTPTestServer, bare: TimeStampAuthority, pki: PKI) -> None:
    web.route("/page", b"<p>evidence</p>")
    archive = tmp_path / "a"
    done = archiver(archive, "capture", "--timestamp", web.url("/page"), "--delay", "0")
    assert done.returncode == 2 and "no TSA configured" in done.stderr
    assert web.hits("/page") == 0  # refused before anything was fetched
    archive.mkdir()
    (archive / "manifests").mkdir()
    assert archiver(archive, "config", "tsa", "add", bare.url, "--ca", str(pki.ca)
                    ).returncode == 0
    done = archiver(archive, "capture", "--timestamp", web.url("/page"), "--delay", "0")
    assert done.returncode == 0, done.stderr
    root = ArchiveRoot(archive)
    types = [e["type"] for e in events(root)]
    assert types[-1] == "timestamp" and "ingestion" in types
    (run,) = tokens_of(root)
    stamped = json.loads((root.manifests / str(run["statement"])).read_bytes())
    # The checkpoint the capture run made at its end, which holds the new records.
    newest = [e for e in events(root) if e["type"] == "log checkpoint"][-1]["checkpoint"]
    assert isinstance(newest, dict)
    assert stamped["checkpoint"]["root_hash"] == newest["root_hash"]
    assert stamped["checkpoint"]["tree_size"] == len(root.log_path.read_bytes().splitlines())
    assert archiver(archive, "verify", "--evidence").returncode == 0


def test_config_errors_name_the_url_or_path(root: ArchiveRoot, tmp_path: Path) -> None:
    done = archiver(root.path, "config", "tsa", "add", "ftp://tsa.example/")
    assert done.returncode == 2
    assert "ftp://tsa.example/: a TSA URL must be an absolute http(s) URL" in done.stderr
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    done = archiver(root.path, "config", "tsa", "add", "http://127.0.0.1:9/", "--ca", str(junk))
    assert done.returncode == 2 and f"{junk}: not a PEM certificate file" in done.stderr
    done = archiver(root.path, "timestamp")
    assert done.returncode == 2 and "no TSA configured" in done.stderr
    assert not (root.manifests / "tsa.json").exists()


def ssh_verify(allowed: Path, principal: str, statement: Path) -> subprocess.CompletedProcess[str]:
    """``ssh-keygen -Y verify``, as a third party runs it."""
    with open(statement, "rb") as data:
        return subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", principal,
                               "-n", "archiver-checkpoint", "-s", f"{statement}.sig"],
                              stdin=data, capture_output=True, text=True, timeout=60)


def test_checkpoints_signed_with_the_operators_ssh_key(
        root: ArchiveRoot, web: HTTPTestServer, bare: TimeStampAuthority, pki: PKI,
        tmp_path: Path) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen (Debian package openssh-client) is not installed")
    keys = []
    for name in ("alice", "bob"):
        key = tmp_path / f"{name}_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                       check=True, timeout=60)
        keys.append(key)
    assert archiver(root.path, "config", "tsa", "add", bare.url, "--ca", str(pki.ca)
                    ).returncode == 0
    done = archiver(root.path, "config", "sign", "--ssh-key", str(keys[0]),
                    "--principal", "alice@example.org")
    assert done.returncode == 0, done.stderr
    done = archiver(root.path, "timestamp")
    assert done.returncode == 0 and "signed by alice@example.org" in done.stderr
    # A new key later: the old signature still verifies, the new one too.
    assert archiver(root.path, "config", "sign", "--ssh-key", str(keys[1]),
                    "--principal", "bob@example.org").returncode == 0
    assert archiver(root.path, "timestamp").returncode == 0
    allowed = root.manifests / "timestamps" / "allowed_signers"
    runs = tokens_of(root)
    for run, who in zip(runs, ("alice@example.org", "bob@example.org"), strict=True):
        statement = root.manifests / str(run["statement"])
        assert run["principal"] == who and run["signature"] == f"{run['statement']}.sig"
        checked = ssh_verify(allowed, who, statement)
        assert checked.returncode == 0, checked.stderr
        assert f'Good "archiver-checkpoint" signature for {who}' in checked.stdout
        other = "bob@example.org" if who.startswith("alice") else "alice@example.org"
        assert ssh_verify(allowed, other, statement).returncode != 0  # who, not just any key
    assert events(root)[-1]["object"][1] == runs[1]["signature"]  # type: ignore[index]

    # Each evidence-log checkpoint a run makes is signed too.
    web.route("/later", b"<p>a later page</p>")
    done = archiver(root.path, "capture", web.url("/later"), "--delay", "0")
    assert done.returncode == 0, done.stderr
    (signed,) = (root.manifests / "checkpoints").glob("checkpoint-*.json")
    newest = [e for e in events(root) if e["type"] == "log checkpoint"][-1]["checkpoint"]
    assert json.loads(signed.read_bytes()) == {"checkpoint": newest, "signer": "bob@example.org"}
    checked = ssh_verify(allowed, "bob@example.org", signed)
    assert checked.returncode == 0, checked.stderr
    done = archiver(root.path, "verify", "--evidence")
    assert done.returncode == 0 and "3 operator signature(s) verified" in done.stdout
    good_cp = signed.read_bytes()
    signed.write_bytes(good_cp.replace(b'"tree_size":', b'"tree_size":1'))
    done = archiver(root.path, "verify", "--evidence")
    assert done.returncode == 1 and f"PROBLEM {signed}.sig: ssh-keygen -Y verify failed" \
        in done.stdout
    signed.write_bytes(good_cp)

    statement = root.manifests / str(runs[0]["statement"])
    good = statement.read_bytes()
    statement.write_bytes(good.replace(b'"log checkpoint"', b'"log-checkpoint"'))
    assert ssh_verify(allowed, "alice@example.org", statement).returncode != 0
    done = archiver(root.path, "verify", "--evidence")
    assert done.returncode == 1
    assert f"PROBLEM {statement}.sig: ssh-keygen -Y verify failed" in done.stdout


def test_a_missing_or_unusable_key_is_refused_by_path(root: ArchiveRoot, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    done = archiver(root.path, "config", "sign", "--ssh-key", str(missing))
    assert done.returncode == 2 and f"{missing}: no such key file" in done.stderr
    junk = tmp_path / "junk"
    junk.write_text("not a key\n")
    done = archiver(root.path, "config", "sign", "--ssh-key", str(junk))
    assert done.returncode == 2 and f"{junk}: not an SSH private key" in done.stderr
    assert not (root.manifests / "signing.json").exists()
