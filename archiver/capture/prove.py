"""``archiver prove``: one capture as a self-contained evidence package.

A third party should not need the archive, nor archiver, to check one
capture. :func:`make_package` writes a folder small enough to e-mail:

``capture.warc.gz``
    The capture's request, response (or revisit, with the original's
    response) and metadata records: their gzip members copied byte for byte
    from the archive's WARCs, so each has the SHA-256 its log entry names.
``proof.json``
    Each record's log entry (the leaf), its index and RFC 9162 inclusion
    proof into the checkpoint that first held it, and each such checkpoint's
    consistency proof to the newest timestamped checkpoint.
``statement.json``, ``tsa-N.tsr``, ``tsa-N.chain.pem``, ``tsa-N.ca.pem``
    What the TSAs signed (it names the timestamped checkpoint) and their tokens;
    ``statement.json.sig``, ``checkpoint-SIZE.json`` with ``.sig`` and
    ``allowed_signers`` when the operator signs.
``verify_proof.py``, ``README.txt``, ``SHA256SUMS``
    The standard-library checker, what is proven and the exact commands.

It lives in capture/ because it starts from the catalog (which capture a
URL means) and reads the fixity evidence (log, checkpoints, tokens), as
capture/ may and fixity/ may not.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ArchiveRootError, ProveError
from ..fixity import verify_proof
from ..fixity.evidencelog import canonical, iter_checkpoints
from ..fixity.merkle import TreeStore, leaf_hash
from ..fixity.signing import ALLOWED_SIGNERS, CHECKPOINTS_DIR
from ..fixity.timestamp import TIMESTAMPS_DIR
from ..root import ArchiveRoot
from .catalog import Capture, Outcome
from .reindex import catalog_for_reading

__all__ = ["ProveError", "ProvenPackage", "make_package"]


@dataclass(frozen=True)
class ProvenPackage:
    """What :func:`make_package` wrote."""

    dest: Path
    records: int
    bytes: int
    timestamped: bool
    tree_size: int


def _find_capture(root: ArchiveRoot, target: str, at: str | None) -> Capture:
    catalog, _ = catalog_for_reading(root)
    with catalog:
        done = [c for c in catalog.captures() if c.outcome != Outcome.FAILED and c.warc]
    if target.startswith(("<urn:", "urn:")):
        rid = target if target.startswith("<") else f"<{target}>"
        found = [c for c in done if rid in (c.record_id, c.metadata_id)]
        if not found:
            raise ProveError(target, "no capture has this record ID (see `archiver list --json`)")
        return found[-1]
    found = [c for c in done if target in (c.url, c.final_url)]
    if at is not None:
        found = [c for c in found if c.captured_at <= at or c.captured_at.startswith(at)]
    if not found:
        raise ProveError(target, "no successful capture of this URL"
                         + (f" at or before {at}" if at else "") + " (see `archiver list`)")
    return found[-1]


def _log_lines(root: ArchiveRoot) -> Iterator[tuple[int, bytes]]:
    """``(leaf index, line without LF)`` of every complete line of the evidence log."""
    try:
        fh = open(root.log_path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError as exc:
        raise ArchiveRootError(root.log_path, "no evidence log yet: run `archiver manifest` "
                               "to start one") from exc
    with fh:
        for index, raw in enumerate(fh):
            if raw.endswith(b"\n"):
                yield index, raw[:-1]


def _member(root: ArchiveRoot, entry: dict[str, Any]) -> bytes:
    with open(root.path / entry["file"], "rb") as fh:
        fh.seek(entry["offset"])
        return fh.read(entry["length"])


def _refers_to(member: bytes) -> str | None:
    head = gzip.GzipFile(fileobj=io.BytesIO(member)).read(65536).split(b"\r\n\r\n", 1)[0]
    for line in head.decode("utf-8", "replace").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "warc-refers-to":
            return value.strip()
    return None


def _timestamp_runs(root: ArchiveRoot) -> list[dict[str, Any]]:
    """Timestamp runs with at least one token over a log checkpoint, newest last."""
    runs = []
    for path in sorted((root.manifests / TIMESTAMPS_DIR).glob("*.tokens.json")):
        run = json.loads(path.read_bytes())
        statement = json.loads((root.manifests / run["statement"]).read_bytes())
        if run.get("tokens") and statement["checkpoint"].get("kind") == "log checkpoint":
            run["checkpoint"] = statement["checkpoint"]
            runs.append(run)
    return runs


def make_package(root: ArchiveRoot, target: str, dest: Path, *, at: str | None = None,
                 untimestamped: bool = False) -> ProvenPackage:
    """Write the evidence package for ``target`` (a URL or a record ID) to ``dest``.

    Raises :class:`ProveError` when no timestamp covers the capture yet,
    unless ``untimestamped`` (the package then says so).
    """
    root.require()
    if dest.exists():
        raise ProveError(str(dest), "already exists: give a new folder for the package")
    capture = _find_capture(root, target, at)
    wanted = {capture.record_id, capture.metadata_id} - {None}
    picked: dict[int, tuple[bytes, dict[str, Any]]] = {}
    # Only lines naming a wanted record are parsed (and the one before each,
    # its request): a million-leaf log is hashed, not parsed.
    marks = [json.dumps(w).encode() for w in wanted]
    with TreeStore() as store:
        previous: tuple[int, bytes] | None = None
        for index, line in _log_lines(root):
            store.append(leaf_hash(line))
            if any(m in line for m in marks):
                entry = json.loads(line)
                if entry.get("kind") == "record" and entry.get("record_id") in wanted:
                    picked[index] = (line, entry)
                    before = json.loads(previous[1]) if previous is not None else {}
                    if entry["type"] in ("response", "revisit") and previous is not None \
                            and before.get("type") == "request":
                        picked[previous[0]] = (previous[1], before)
            previous = (index, line)
        # A revisit's original response, by its record ID.
        originals = {_refers_to(_member(root, e)) for _, e in picked.values()
                     if e["type"] == "revisit"} - {None}
        marks = [json.dumps(o).encode() for o in originals]
        for index, line in _log_lines(root) if marks else ():
            if any(m in line for m in marks):
                entry = json.loads(line)
                if entry.get("record_id") in originals and entry.get("type") == "response":
                    picked[index] = (line, entry)
        if not picked:
            raise ProveError(target, "its records are not in the evidence log")
        checkpoints = [cp for _, cp in iter_checkpoints(root)]
        last = max(picked)
        runs = [r for r in _timestamp_runs(root) if r["checkpoint"]["tree_size"] > last]
        if not runs and not untimestamped:
            raise ProveError(target, "no timestamp covers this capture yet: run `archiver "
                             "timestamp`, or ask for an untimestamped package, marked so")
        run = runs[-1] if runs else None
        return _write(root, dest, store, picked, checkpoints, run)


def _write(root: ArchiveRoot, dest: Path, store: TreeStore,
           picked: dict[int, tuple[bytes, dict[str, Any]]], checkpoints: list[Any],
           run: dict[str, Any] | None) -> ProvenPackage:
    dest.mkdir(parents=True, exist_ok=False)
    records, used, offset = [], {}, 0
    with open(dest / "capture.warc.gz", "wb") as out:
        for index in sorted(picked):
            line, entry = picked[index]
            member = _member(root, entry)
            if hashlib.sha256(member).hexdigest() != entry["member_sha256"]:
                raise ProveError(entry["file"], f"the record at {entry['offset']} differs from "
                                 "its log entry: run `archiver verify --records`")
            cp = next((c for c in checkpoints if c.tree_size > index), None)
            if cp is None:
                raise ProveError(entry["record_id"], "no checkpoint holds this record yet")
            if store.root(cp.tree_size).hex() != cp.root_hash:
                raise ProveError(str(root.log_path), f"the log does not hash to the "
                                 f"{cp.describe()}: run `archiver verify --history`")
            assert canonical(entry) == line  # the leaf is the entry's canonical JSON
            out.write(member)
            records.append({"entry": entry, "package_offset": offset, "leaf_index": index,
                            "tree_size": cp.tree_size,
                            "inclusion_proof": [h.hex() for h in
                                                store.inclusion_proof(index, cp.tree_size)]})
            used[cp.tree_size] = cp
            offset += len(member)
    top = run["checkpoint"] if run else None
    proof: dict[str, Any] = {
        "format": "archiver evidence package 1", "warc": "capture.warc.gz", "records": records,
        "checkpoints": [
            {**cp.as_dict(), "consistency_proof": [] if top is None else [
                h.hex() for h in store.consistency_proof(cp.tree_size, top["tree_size"])]}
            for _, cp in sorted(used.items())],
        "timestamped": None if top is None else {
            "checkpoint": {"tree_size": top["tree_size"], "root_hash": top["root_hash"]},
            "statement": "statement.json"},
    }
    (dest / "proof.json").write_text(json.dumps(proof, indent=1, ensure_ascii=False) + "\n")
    files = ["capture.warc.gz", "proof.json"]
    tokens = []
    if run is not None:
        shutil.copyfile(root.manifests / run["statement"], dest / "statement.json")
        files.append("statement.json")
        for n, token in enumerate(run["tokens"], 1):
            for key in ("tsr", "chain", "ca"):
                name = f"tsa-{n}." + {"tsr": "tsr", "chain": "chain.pem", "ca": "ca.pem"}[key]
                shutil.copyfile(root.manifests / token[key], dest / name)
                files.append(name)
            tokens.append((n, token))
        if run.get("signature"):
            shutil.copyfile(root.manifests / run["signature"], dest / "statement.json.sig")
            shutil.copyfile(root.manifests / TIMESTAMPS_DIR / "allowed_signers",
                            dest / "allowed_signers")
            files += ["statement.json.sig", "allowed_signers"]
    signed = []  # the operator's signatures of the checkpoints the records prove into
    for cp_obj in proof["checkpoints"]:
        name = f"checkpoint-{cp_obj['tree_size']:012d}.json"
        source = root.manifests / CHECKPOINTS_DIR / name
        if source.is_file() and source.with_name(name + ".sig").is_file():
            shutil.copyfile(source, dest / name)
            shutil.copyfile(source.with_name(name + ".sig"), dest / (name + ".sig"))
            files += [name, name + ".sig"]
            signed.append((name, json.loads(source.read_bytes())["signer"]))
            cp_obj["signed"] = name
    if signed:
        (dest / "proof.json").write_text(json.dumps(proof, indent=1, ensure_ascii=False) + "\n")
        if "allowed_signers" not in files:
            shutil.copyfile(root.manifests / ALLOWED_SIGNERS, dest / "allowed_signers")
            files.append("allowed_signers")
    shutil.copyfile(verify_proof.__file__, dest / "verify_proof.py")
    files.append("verify_proof.py")
    (dest / "README.txt").write_text(_readme(proof, tokens, run, signed), encoding="utf-8")
    files.append("README.txt")
    with open(dest / "SHA256SUMS", "w", encoding="utf-8") as sums:
        for name in files:
            sums.write(f"{hashlib.sha256((dest / name).read_bytes()).hexdigest()}  {name}\n")
    size = sum(p.stat().st_size for p in dest.iterdir())
    return ProvenPackage(dest, len(records), size, run is not None,
                         top["tree_size"] if top else max(used))


def _readme(proof: dict[str, Any], tokens: list[tuple[int, dict[str, Any]]],
            run: dict[str, Any] | None, signed: list[tuple[str, str]]) -> str:
    entries = [r["entry"] for r in proof["records"]]
    response = next((e for e in entries if e["type"] in ("response", "revisit")), entries[0])
    lines = [
        "EVIDENCE PACKAGE: one web capture and the proofs that it is unchanged",
        "",
        f"Captured:   {response.get('target_uri')}",
        f"WARC date:  {response.get('date')}",
        f"Records:    {len(proof['records'])} (capture.warc.gz, copied byte for byte)",
        "",
    ]
    if run is None:
        lines += ["UNTIMESTAMPED: no trusted timestamp covered this capture when the package",
                  "was made. The proofs below show the records belong to the operator's log,",
                  "but nothing independent shows when. Ask for a package made after",
                  "`archiver timestamp`.", ""]
    lines += [
        "What is proven, and how to check it (run each command in this folder):",
        "",
        "1. No file of this package was damaged in transit:",
        "     sha256sum -c SHA256SUMS",
        "2. Each record in capture.warc.gz is exactly the one in the archive's log, and",
        "   the log's checkpoint that holds it is a prefix of the timestamped one",
        "   (RFC 9162 Merkle proofs; standard library only, no installed packages):",
        "     python3 -I -S verify_proof.py",
    ]
    for n, token in tokens:
        lines += [
            f"{2 + n}. Time-Stamp Authority {token['tsa']} signed statement.json,",
            f"   which names the timestamped checkpoint, at {token['gen_time']}:",
            f"     openssl ts -verify -data statement.json -in tsa-{n}.tsr "
            f"-CAfile tsa-{n}.ca.pem -untrusted tsa-{n}.chain.pem",
            f"   (check that tsa-{n}.ca.pem is the TSA's published root certificate).",
        ]
    step = 3 + len(tokens)
    if run is not None and run.get("signature"):
        lines += [
            f"{step}. The operator {run['principal']} signed the same statement:",
            f"     ssh-keygen -Y verify -f allowed_signers -I {run['principal']} "
            "-n archiver-checkpoint -s statement.json.sig < statement.json",
        ]
        step += 1
    for name, signer in signed:
        lines += [
            f"{step}. The operator {signer} signed the checkpoint that held these records",
            "   when they were written (verify_proof.py checks it is the one in proof.json):",
            f"     ssh-keygen -Y verify -f allowed_signers -I {signer} "
            f"-n archiver-checkpoint -s {name}.sig < {name}",
        ]
        step += 1
    lines += [
        "",
        "What this does NOT prove: a timestamp proves these bytes existed by its time;",
        "it does not prove the server sent them. The evidence for that is in the records",
        "themselves: the request and response, the server's IP address (WARC-IP-Address)",
        "and, for https, the TLS details in the metadata record.",
        "",
    ]
    return "\n".join(lines)
