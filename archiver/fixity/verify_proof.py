#!/usr/bin/env python3
"""Check an archiver evidence package with nothing but Python's standard library.

Run it in the package folder:  python3 -I -S verify_proof.py
(-I -S: no environment, no installed packages; this file is all the code there is.)

It checks, from proof.json:
  1. every record of capture.warc.gz: its bytes (one gzip member each, copied byte
     for byte from the archive) have the SHA-256 its log entry names, and its WARC
     header names the same record ID, type and URI;
  2. every log entry is a leaf of the archive's Merkle tree (RFC 9162): its
     inclusion proof leads to the root hash of the checkpoint it names;
  3. that checkpoint is a prefix of the timestamped one (an RFC 9162 consistency
     proof), and the timestamped checkpoint is the one in statement.json.
That the TSA signed statement.json, and when, is checked by `openssl ts -verify`
(see README.txt): this script does not repeat it. Exit status 0: all holds.
"""

import gzip
import hashlib
import io
import json
import sys
from typing import Any


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(entry: dict[str, Any]) -> bytes:
    """RFC 9162 leaf hash of a log entry: SHA-256(0x00 || canonical JSON)."""
    line = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256(b"\x00" + line.encode("utf-8"))


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: list[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2."""
    if first == second:
        return not proof and first_root == second_root
    if first == 0 or first > second or not proof:
        return False
    if first & (first - 1) == 0:  # a power of two: the old root is the first node
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root


def warc_header(member: bytes) -> dict[str, str]:
    """The WARC header fields of one gzip member (the record's start only)."""
    head = gzip.GzipFile(fileobj=io.BytesIO(member)).read(65536).split(b"\r\n\r\n", 1)[0]
    fields = {}
    for line in head.decode("utf-8", "replace").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return fields


def main() -> int:
    failures: list[str] = []

    def check(ok: bool, what: str) -> None:
        print(("ok      " if ok else "FAILED  ") + what)
        if not ok:
            failures.append(what)

    with open("proof.json", encoding="utf-8") as fh:
        proof = json.load(fh)
    with open(proof["warc"], "rb") as raw:
        warc = raw.read()
    checkpoints = {cp["tree_size"]: cp for cp in proof["checkpoints"]}
    end = 0
    for rec in proof["records"]:
        entry, at = rec["entry"], rec["package_offset"]
        member = warc[at:at + entry["length"]]
        what = f"{entry['type']} {entry['record_id']} {entry.get('target_uri') or ''}"
        check(at == end and hashlib.sha256(member).hexdigest() == entry["member_sha256"],
              f"bytes of {what}: sha256 {entry['member_sha256']}")
        end = at + entry["length"]
        try:
            fields = warc_header(member)
        except (OSError, EOFError, ValueError):
            fields = {}
        check(fields.get("warc-record-id") == entry["record_id"]
              and fields.get("warc-type") == entry["type"]
              and (fields.get("warc-target-uri") or None) == entry.get("target_uri"),
              f"WARC header of {what} names it")
        cp = checkpoints.get(rec["tree_size"], {"tree_size": rec["tree_size"], "root_hash": ""})
        check(verify_inclusion(rec["leaf_index"], cp["tree_size"], leaf_hash(entry),
                               [bytes.fromhex(h) for h in rec["inclusion_proof"]],
                               bytes.fromhex(cp["root_hash"])),
              f"leaf {rec['leaf_index']} is in the checkpoint of {cp['tree_size']} leaves "
              f"(root {cp['root_hash']})")
    check(end == len(warc), f"{proof['warc']} holds these records and nothing else")
    stamped = proof.get("timestamped")
    if stamped is None:
        print("NOTE    no timestamp covers this capture yet: the package is untimestamped")
    else:
        top = stamped["checkpoint"]
        with open(stamped["statement"], encoding="utf-8") as text:
            statement = json.load(text)["checkpoint"]
        check(statement.get("tree_size") == top["tree_size"]
              and statement.get("root_hash") == top["root_hash"],
              f"{stamped['statement']} names the checkpoint of {top['tree_size']} leaves")
    for size, cp in sorted(checkpoints.items()):
        if cp.get("signed"):  # the operator's signed copy (ssh-keygen checks the signature)
            with open(cp["signed"], encoding="utf-8") as text:
                copy = json.load(text)["checkpoint"]
            check(copy.get("tree_size") == size and copy.get("root_hash") == cp["root_hash"],
                  f"{cp['signed']} is the checkpoint of {size} leaves")
    if stamped is not None:
        for size, cp in sorted(checkpoints.items()):
            check(verify_consistency(size, top["tree_size"], bytes.fromhex(cp["root_hash"]),
                                     bytes.fromhex(top["root_hash"]),
                                     [bytes.fromhex(h) for h in cp["consistency_proof"]]),
                  f"the checkpoint of {size} leaves is a prefix of the timestamped one")
    print(f"{'ALL CHECKS PASSED' if not failures else f'{len(failures)} CHECK(S) FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
