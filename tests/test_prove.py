"""`archiver prove`: one capture's evidence package, checked in a bare folder with only
sha256sum, openssl ts -verify, ssh-keygen -Y verify and python3 -I -S verify_proof.py; one
flipped byte of the WARC, of a proof hash or of the token fails its check."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from servers import HTTPTestServer
from tsa import PKI, TimeStampAuthority, require_openssl

pytest.importorskip("rfc3161_client",
                    reason="rfc3161-client (the `timestamp` extra) is not installed")

PAGE = b"<html><body><h1>Detention centre expanded</h1><p>" + b"Satellite images. " * 40 + \
    b"</p></body></html>"


def archiver(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archiver", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120)


def bare_run(folder: Path, *cmd: str, stdin: Path | None = None
             ) -> subprocess.CompletedProcess[str]:
    with open(stdin, "rb") if stdin else open("/dev/null", "rb") as data:
        return subprocess.run(list(cmd), cwd=folder, stdin=data, capture_output=True,
                              timeout=60, env={"PATH": "/usr/bin:/bin"}, text=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    require_openssl()
    return PKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def archive(tmp_path: Path, web: HTTPTestServer, pki: PKI) -> Path:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen (Debian package openssh-client) is not installed")
    tsa = TimeStampAuthority(web, pki, chain=True)
    root = tmp_path / "archive"
    (root / "manifests").mkdir(parents=True)
    key = tmp_path / "operator"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                   check=True, timeout=60)
    assert archiver(root, "config", "tsa", "add", tsa.url, "--ca", str(pki.ca)).returncode == 0
    assert archiver(root, "config", "sign", "--ssh-key", str(key), "--principal",
                    "researcher@example.org").returncode == 0
    web.route("/other", b"<p>another page</p>")
    web.route("/report", PAGE)
    done = archiver(root, "capture", "--timestamp", web.url("/other"), web.url("/report"),
                    "--delay", "0")
    assert done.returncode == 0, done.stderr
    return root


def check_all(folder: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    return {
        "sha256sum": bare_run(folder, "sha256sum", "-c", "SHA256SUMS"),
        "openssl": bare_run(folder, "openssl", "ts", "-verify", "-data", "statement.json",
                            "-in", "tsa-1.tsr", "-CAfile", "tsa-1.ca.pem",
                            "-untrusted", "tsa-1.chain.pem"),
        "ssh-keygen": bare_run(folder, "ssh-keygen", "-Y", "verify", "-f", "allowed_signers",
                               "-I", "researcher@example.org", "-n", "archiver-checkpoint",
                               "-s", "statement.json.sig", stdin=folder / "statement.json"),
        "verify_proof": bare_run(folder, sys.executable, "-I", "-S", "verify_proof.py"),
    }


def test_a_package_verifies_with_standard_tools_alone(archive: Path, web: HTTPTestServer,
                                                      tmp_path: Path) -> None:
    done = archiver(archive, "prove", web.url("/report"), "-o", str(tmp_path / "pkg"))
    assert done.returncode == 0, done.stderr
    bare = tmp_path / "elsewhere" / "bare"
    shutil.copytree(tmp_path / "pkg", bare)  # no archive, no archiver beside it
    (signed,) = [p.name for p in bare.glob("checkpoint-*.json")]  # the capture run's
    assert sorted(p.name for p in bare.iterdir()) == sorted([
        "README.txt", "SHA256SUMS", "allowed_signers", "capture.warc.gz", "proof.json",
        "statement.json", "statement.json.sig", "tsa-1.ca.pem", "tsa-1.chain.pem",
        "tsa-1.tsr", "verify_proof.py", signed, signed + ".sig"])
    for name, result in check_all(bare).items():
        assert result.returncode == 0, (name, result.stdout, result.stderr)
    checked = bare_run(bare, "ssh-keygen", "-Y", "verify", "-f", "allowed_signers",
                       "-I", "researcher@example.org", "-n", "archiver-checkpoint",
                       "-s", signed + ".sig", stdin=bare / signed)
    assert checked.returncode == 0, checked.stderr
    assert "python3 -I -S verify_proof.py" in (bare / "README.txt").read_text()
    assert f"-s {signed}.sig < {signed}" in (bare / "README.txt").read_text()
    assert f"ok      {signed} is the checkpoint of" in check_all(bare)["verify_proof"].stdout
    warc = gzip.decompress((bare / "capture.warc.gz").read_bytes())
    assert [t for t in (b"WARC-Type: request", b"WARC-Type: response", b"WARC-Type: metadata")
            if t in warc] == [b"WARC-Type: request", b"WARC-Type: response",
                              b"WARC-Type: metadata"]
    assert PAGE in warc and web.url("/other").encode() not in warc
    readme = (bare / "README.txt").read_text()
    assert "python3 -I -S verify_proof.py" in readme and "openssl ts -verify" in readme
    assert "does not prove the server sent them" in readme

    # One flipped byte of the WARC, of a proof hash, of the token: each check fails.
    for path, at, tool in ((bare / "capture.warc.gz", 40, "verify_proof"),
                           (bare / "proof.json", None, "verify_proof"),
                           (bare / "tsa-1.tsr", None, "openssl")):
        good = path.read_bytes()
        if path.name == "proof.json":
            proof = json.loads(good)
            h = proof["records"][1]["inclusion_proof"][0]
            proof["records"][1]["inclusion_proof"][0] = ("0" if h[0] != "0" else "1") + h[1:]
            path.write_text(json.dumps(proof))
        elif path.name == "tsa-1.tsr":
            at = good.index(hashlib.sha256((bare / "statement.json").read_bytes()).digest())
            path.write_bytes(good[:at] + bytes([good[at] ^ 1]) + good[at + 1:])
        else:
            assert at is not None
            path.write_bytes(good[:at] + bytes([good[at] ^ 1]) + good[at + 1:])
        results = check_all(bare)
        assert results[tool].returncode != 0, (path.name, results[tool].stdout)
        assert results["sha256sum"].returncode != 0  # SHA256SUMS tells too
        path.write_bytes(good)
    assert all(r.returncode == 0 for r in check_all(bare).values())


def test_a_revisit_brings_its_original_and_untimestamped_needs_asking(
        archive: Path, web: HTTPTestServer, tmp_path: Path) -> None:
    done = archiver(archive, "capture", web.url("/report"), "--delay", "0")  # no --timestamp
    assert done.returncode == 0, done.stderr
    done = archiver(archive, "prove", web.url("/report"), "-o", str(tmp_path / "p1"))
    assert done.returncode == 1 and "no timestamp covers this capture yet" in done.stderr
    assert not (tmp_path / "p1").exists()
    done = archiver(archive, "prove", web.url("/report"), "-o", str(tmp_path / "p2"),
                    "--untimestamped")
    assert done.returncode == 0, done.stderr
    assert "UNTIMESTAMPED" in (tmp_path / "p2" / "README.txt").read_text()
    result = bare_run(tmp_path / "p2", sys.executable, "-I", "-S", "verify_proof.py")
    assert result.returncode == 0 and "untimestamped" in result.stdout
    warc = gzip.decompress((tmp_path / "p2" / "capture.warc.gz").read_bytes())
    assert b"WARC-Type: revisit" in warc and b"WARC-Type: response" in warc
    assert PAGE in warc  # the original's payload came with the revisit

    # --at: the newest capture at or before a date, here the first one (a response).
    listed = [json.loads(line) for line in archiver(archive, "list", "--json").stdout.splitlines()]
    first = next(c for c in listed if c["url"] == web.url("/report"))
    done = archiver(archive, "prove", web.url("/report"), "-o", str(tmp_path / "p4"),
                    "--at", first["captured_at"])
    assert done.returncode == 0, done.stderr
    warc = gzip.decompress((tmp_path / "p4" / "capture.warc.gz").read_bytes())
    assert b"WARC-Type: revisit" not in warc and PAGE in warc

    assert archiver(archive, "timestamp").returncode == 0
    done = archiver(archive, "prove", web.url("/report"), "-o", str(tmp_path / "p3"))
    assert done.returncode == 0, done.stderr
    for name, result in check_all(tmp_path / "p3").items():
        assert result.returncode == 0, (name, result.stdout, result.stderr)
