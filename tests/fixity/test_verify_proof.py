"""verify_proof.py, the standard-library-only checker handed out in evidence packages:
its RFC 9162 verification against the RFC's own recursive definitions (computed here,
independently), and the script run as a third party runs it, ``python3 -I -S`` in a bare
folder, on a package of real WARC members from a captured archive."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from archiver import ArchiveRoot
from archiver.fixity import verify_proof as vp

SCRIPT = Path(vp.__file__)


# --- RFC 9162 section 2.1, as the RFC defines it (recursively) ------------------------


def mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*subproof(m, leaves[:k], complete), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def leaves_of(n: int) -> list[bytes]:
    return [hashlib.sha256(b"\x00" + str(i).encode()).digest() for i in range(n)]


def test_inclusion_and_consistency_match_the_rfc_definitions() -> None:
    for n in range(1, 34):
        tree = leaves_of(n)
        root = mth(tree)
        for i in range(n):
            proof = path(i, tree)
            assert vp.verify_inclusion(i, n, tree[i], proof, root), (i, n)
            assert not vp.verify_inclusion(i, n, tree[(i + 1) % n], proof, root) or n == 1
            if proof:
                bad = [*proof[:-1], bytes(32)]
                assert not vp.verify_inclusion(i, n, tree[i], bad, root), (i, n)
                assert not vp.verify_inclusion(i, n, tree[i], proof, mth(leaves_of(n + 1)))
        for m in range(1, n + 1):
            proof = subproof(m, tree, True)
            old = mth(tree[:m])
            assert vp.verify_consistency(m, n, old, root, proof), (m, n)
            if m < n:
                assert not vp.verify_consistency(m, n, mth(leaves_of(m + 1)[1:]), root, proof)
                bad = [*proof[:-1], bytes(32)]
                assert not vp.verify_consistency(m, n, old, root, bad), (m, n)


# --- a package, checked in a bare folder ----------------------------------------------


def entry_of(row: dict[str, Any], member: bytes) -> dict[str, Any]:
    """A record's log entry (the evidence log's leaf format)."""
    keys = ("file", "offset", "length", "record_id", "type", "target_uri", "date")
    return {"kind": "record", **{k: row[k] for k in keys},
            "member_sha256": hashlib.sha256(member).hexdigest()}


def make_package(root: ArchiveRoot, dest: Path) -> None:
    rows = [json.loads(line) for line in root.records_path.read_bytes().splitlines()]
    rows = [r for r in rows if r.get("kind") == "record"]
    members = []
    for row in rows:
        with open(root.path / row["file"], "rb") as fh:
            fh.seek(row["offset"])
            members.append(fh.read(row["length"]))
    entries = [entry_of(r, m) for r, m in zip(rows, members, strict=True)]
    tree = [vp.leaf_hash(e) for e in entries]
    first = next(i for i, r in enumerate(rows) if r["type"] == "request")
    picked = range(first, first + 3)  # request, response, metadata of one capture
    assert [rows[i]["type"] for i in picked] == ["request", "response", "metadata"]
    size = first + 3  # the checkpoint of the run that wrote them
    top = len(tree)  # the newest, timestamped checkpoint
    dest.mkdir()
    records, offset = [], 0
    for i in picked:
        records.append({
            "entry": entries[i], "package_offset": offset, "leaf_index": i,
            "tree_size": size, "inclusion_proof": [h.hex() for h in path(i, tree[:size])],
        })
        offset += len(members[i])
    (dest / "capture.warc.gz").write_bytes(b"".join(members[i] for i in picked))
    checkpoint = {"tree_size": top, "root_hash": mth(tree).hex()}
    (dest / "statement.json").write_text(json.dumps({"checkpoint": {"kind": "log checkpoint",
                                                                    **checkpoint}}))
    (dest / "proof.json").write_text(json.dumps({
        "warc": "capture.warc.gz", "records": records,
        "checkpoints": [{"tree_size": size, "root_hash": mth(tree[:size]).hex(),
                         "consistency_proof": [h.hex() for h in subproof(size, tree, True)]}],
        "timestamped": {"checkpoint": checkpoint, "statement": "statement.json"}}, indent=1))
    shutil.copy(SCRIPT, dest / "verify_proof.py")


def run_bare(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-I", "-S", "verify_proof.py"], cwd=folder,
                          capture_output=True, text=True, timeout=60, env={})


@pytest.fixture
def package(root: ArchiveRoot, tmp_path: Path) -> Path:
    make_package(root, tmp_path / "pkg")
    return tmp_path / "pkg"


def test_a_package_verifies_in_a_bare_folder(package: Path) -> None:
    assert sorted(p.name for p in package.iterdir()) == [
        "capture.warc.gz", "proof.json", "statement.json", "verify_proof.py"]
    done = run_bare(package)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "ALL CHECKS PASSED"
    assert done.stdout.count("ok      ") == 3 * 3 + 1 + 1 + 1  # records, WARC, statement, cp
    # The members are real: each inflates to a WARC record (checked without the script).
    assert gzip.decompress((package / "capture.warc.gz").read_bytes()).count(b"WARC/1.1\r\n") == 3


def test_one_flipped_byte_anywhere_fails(package: Path) -> None:
    warc = package / "capture.warc.gz"
    good = warc.read_bytes()
    for at in (10, len(good) // 2, len(good) - 1):
        bad = bytearray(good)
        bad[at] ^= 0x01
        warc.write_bytes(bytes(bad))
        done = run_bare(package)
        assert done.returncode == 1 and "FAILED  bytes of" in done.stdout, at
    warc.write_bytes(good + b"\x00")
    assert "FAILED  capture.warc.gz holds these records" in run_bare(package).stdout
    warc.write_bytes(good)

    proof_file = package / "proof.json"
    proof = json.loads(proof_file.read_text())
    for part, field, expect in ((proof["records"][1], "inclusion_proof", "FAILED  leaf"),
                                (proof["checkpoints"][0], "consistency_proof",
                                 "FAILED  the checkpoint of")):
        saved = part[field][0]
        part[field][0] = format(int(saved[0], 16) ^ 1, "x") + saved[1:]
        proof_file.write_text(json.dumps(proof))
        done = run_bare(package)
        assert done.returncode == 1 and expect in done.stdout, field
        part[field][0] = saved
    proof_file.write_text(json.dumps(proof))
    assert run_bare(package).returncode == 0

    statement = package / "statement.json"
    stated = json.loads(statement.read_text())
    stated["checkpoint"]["tree_size"] += 1
    statement.write_text(json.dumps(stated))
    done = run_bare(package)
    assert done.returncode == 1 and "FAILED  statement.json names the checkpoint" in done.stdout


def test_the_script_needs_only_the_standard_library() -> None:
    import ast

    tree = ast.parse(SCRIPT.read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)
