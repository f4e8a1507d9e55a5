"""manifests/log.jsonl: the append-only Merkle evidence log, its checkpoints, and
what a later rewrite of the archive cannot hide from a checkpoint kept elsewhere.

Every expectation is computed here: member hashes with hashlib over the WARC's
bytes, leaf and node hashes and roots straight from RFC 9162's definitions
(test_merkle.mth), never by the code under test.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

from click.testing import CliRunner, Result
from fixity_archive import FAST, warcs
from servers import HTTPTestServer
from test_merkle import mth

from archiver import ArchiveRoot
from archiver.capture.run import capture_urls
from archiver.cli import cli
from archiver.fixity.manifest import rebuild_manifest

REPO = Path(__file__).resolve().parents[2]


def log_lines(root: ArchiveRoot) -> list[bytes]:
    return root.log_path.read_bytes().split(b"\n")[:-1]


def events(root: ArchiveRoot) -> list[dict]:
    return [json.loads(line) for line in root.events_path.read_text().splitlines()]


def checkpoints(root: ArchiveRoot) -> list[dict]:
    return [e["checkpoint"] for e in events(root) if e["type"] == "log checkpoint"]


def run(root: ArchiveRoot, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--root", str(root.path), *args])


def keep_checkpoint(root: ArchiveRoot, dest: Path) -> Path:
    result = run(root, "checkpoint", "-o", str(dest))
    assert result.exit_code == 0, result.output
    return dest


def records_in_file(path: Path) -> list[tuple[int, int]]:
    """(offset, length) of each gzip member, found with gzip itself, not archiver."""
    data = path.read_bytes()
    out, offset = [], 0
    while offset < len(data):
        d = zlib.decompressobj(31)
        d.decompress(data[offset:])
        length = len(data) - offset - len(d.unused_data)
        out.append((offset, length))
        offset += length
    return out


def test_each_record_has_a_leaf_in_write_order_with_the_sha256_of_its_stored_member(
        root: ArchiveRoot) -> None:
    leaves = [json.loads(line) for line in log_lines(root)]
    index = [json.loads(line) for line in root.records_path.read_text().splitlines()]
    files = warcs(root)
    # Two capture runs, one file each: the first run's file first, records by offset.
    assert [lf["file"] for lf in leaves] == sorted(
        (lf["file"] for lf in leaves), key=files.index)
    expected = []
    for rel in files:
        data = (root.path / rel).read_bytes()
        for offset, length in records_in_file(root.path / rel):
            expected.append((rel, offset, length,
                             hashlib.sha256(data[offset:offset + length]).hexdigest()))
            assert gzip.decompress(data[offset:offset + length]).startswith(b"WARC/1.1\r\n")
    assert [(lf["file"], lf["offset"], lf["length"], lf["member_sha256"]) for lf in leaves] \
        == expected
    # The records index carries the same member_sha256 (the writer hashed it while writing).
    assert [(r["file"], r["offset"], r["member_sha256"]) for r in index if r["kind"] == "record"] \
        == [(f, o, m) for f, o, _, m in expected]
    # Each line is the canonical JSON of its entry.
    for line in log_lines(root):
        obj = json.loads(line)
        assert line == json.dumps(obj, sort_keys=True, separators=(",", ":"),
                                  ensure_ascii=False).encode()
        assert set(obj) == {"kind", "file", "offset", "length", "record_id", "type",
                            "target_uri", "date", "member_sha256"}


def test_each_run_ends_with_a_checkpoint_of_the_rfc9162_root_chained_to_the_last(
        root: ArchiveRoot) -> None:
    lines = log_lines(root)
    cps = checkpoints(root)
    assert len(cps) == 2 and cps[-1]["tree_size"] == len(lines)
    for cp in cps:
        assert cp["root_hash"] == mth(lines[: cp["tree_size"]]).hex()
    assert cps[0]["prev_checkpoint"] is None
    canon = json.dumps(cps[0], sort_keys=True, separators=(",", ":")).encode()
    assert cps[1]["prev_checkpoint"] == hashlib.sha256(canon).hexdigest()
    result = run(root, "verify", "--history")
    assert result.exit_code == 0, result.output
    assert (f"log: {len(lines)} leaves, root {cps[-1]['root_hash']}, 2 checkpoints: intact"
            in result.output)


def test_verify_records_checks_every_leaf_against_the_stored_bytes(root: ArchiveRoot) -> None:
    assert run(root, "verify", "--records").exit_code == 0
    rel = warcs(root)[0]
    leaf = json.loads(log_lines(root)[3])
    path = root.path / rel
    data = bytearray(path.read_bytes())
    data[leaf["offset"] + 20] ^= 0xFF  # inside the 4th record's gzip member
    path.write_bytes(bytes(data))
    result = run(root, "verify", "--records")
    assert result.exit_code == 1
    assert f"log-mismatch   {rel}  1 record(s) differ" in result.output
    found = hashlib.sha256(bytes(data[leaf["offset"]:leaf["offset"] + leaf["length"]]))
    assert (f"record at {leaf['offset']} {leaf['record_id']}" in result.output
            and f"stored bytes have sha256 {found.hexdigest()}, the evidence log's leaf 3 "
                f"recorded {leaf['member_sha256']}" in result.output)


def test_a_deliberate_removal_appends_a_removal_leaf_and_rewrites_nothing(
        root: ArchiveRoot, tmp_path: Path) -> None:
    before = root.log_path.read_bytes()
    kept = keep_checkpoint(root, tmp_path / "cp.json")
    gone = warcs(root)[0]
    gone_sha = hashlib.sha256((root.path / gone).read_bytes()).hexdigest()
    (root.path / gone).unlink()
    result = run(root, "manifest", "--reason", "court order 12/2026: personal data")
    assert result.exit_code == 0, result.output
    after = root.log_path.read_bytes()
    assert after.startswith(before)
    (removal,) = [json.loads(line) for line in after[len(before):].splitlines()]
    assert (removal["kind"], removal["file"], removal["reason"]) == (
        "removal", gone, "court order 12/2026: personal data")
    assert removal["sha256"] == gone_sha  # as the old manifest listed it
    assert len(checkpoints(root)) == 3
    for args in (["verify", "--history", "--checkpoint", str(kept)], ["verify", "--records"]):
        result = run(root, *args)
        assert result.exit_code == 0, result.output


# --- tamper tests: each fails verify --history against an earlier checkpoint -------


def _forge_without_a_record(root: ArchiveRoot) -> str:
    """Cut one response record out of a WARC, then make every manifest agree: a new
    manifest, records index, log and events, as if the record had never been."""
    rel = warcs(root)[0]
    path = root.path / rel
    leaves = [json.loads(line) for line in log_lines(root)]
    victim = next(lf for lf in leaves if lf["file"] == rel and lf["type"] == "response")
    data = path.read_bytes()
    path.write_bytes(data[: victim["offset"]] + data[victim["offset"] + victim["length"]:])
    for name in ("manifest-sha256.txt", "records.jsonl", "log.jsonl", "log-state.json",
                 "events.jsonl"):
        (root.manifests / name).unlink()
    rebuild_manifest(root, jobs=1)
    return victim["target_uri"]


def test_a_careful_forger_passes_alone_but_not_against_a_kept_checkpoint(
        root: ArchiveRoot, tmp_path: Path) -> None:
    kept = keep_checkpoint(root, tmp_path / "cp.json")
    size = json.loads(kept.read_text())["tree_size"]
    _forge_without_a_record(root)
    # Consistent in itself: every check of the archive alone passes.
    for args in (["verify", "--history"], ["verify", "--records"]):
        result = run(root, *args)
        assert result.exit_code == 0, result.output
    sums = subprocess.run(["sha256sum", "-c", "manifests/manifest-sha256.txt"], cwd=root.path,
                          capture_output=True, text=True)
    assert sums.returncode == 0
    # The checkpoint handed over before the forgery exposes it.
    result = run(root, "verify", "--history", "--checkpoint", str(kept))
    assert result.exit_code == 1
    lines = log_lines(root)
    assert len(lines) == size - 1
    assert (f"checkpoint file {kept}: checkpoint of {size} leaves" in result.output
            and f"but the log holds only {size - 1} leaves: leaves it covers were removed"
            in result.output)
    assert "is not in events.jsonl: the history was rewritten" in result.output


def test_a_forger_who_also_pads_the_log_back_to_size_is_caught_by_the_proof(
        root: ArchiveRoot, tmp_path: Path) -> None:
    kept = keep_checkpoint(root, tmp_path / "cp.json")
    size = json.loads(kept.read_text())["tree_size"]
    _forge_without_a_record(root)
    # More leaves after the forgery (another run), so the log is longer than the checkpoint.
    with HTTPTestServer() as web:
        web.route("/more", b"<p>more</p>")
        web.route("/again", b"<p>again</p>")
        capture_urls(root, [web.url("/more"), web.url("/again")], FAST)
    assert len(log_lines(root)) > size
    result = run(root, "verify", "--history", "--checkpoint", str(kept))
    assert result.exit_code == 1
    actual = mth(log_lines(root)[:size]).hex()
    assert (f"but the log's first {size} leaves hash to {actual}; the consistency proof to "
            f"the current {len(log_lines(root))}-leaf tree fails" in result.output)


def test_reordered_leaves_fail(root: ArchiveRoot, tmp_path: Path) -> None:
    kept = keep_checkpoint(root, tmp_path / "cp.json")
    lines = log_lines(root)
    lines[1], lines[2] = lines[2], lines[1]
    root.log_path.write_bytes(b"\n".join(lines) + b"\n")
    result = run(root, "verify", "--history", "--checkpoint", str(kept))
    assert result.exit_code == 1
    first = checkpoints(root)[0]
    assert (f"checkpoint of {first['tree_size']} leaves at {first['time']} (root "
            f"{first['root_hash']}), but the log's first {first['tree_size']} leaves hash to "
            f"{mth(lines[:first['tree_size']]).hex()}: a leaf before" in result.output)
    assert f"checkpoint file {kept}: " in result.output


def test_one_changed_leaf_fails(root: ArchiveRoot, tmp_path: Path) -> None:
    kept = keep_checkpoint(root, tmp_path / "cp.json")
    lines = log_lines(root)
    obj = json.loads(lines[-1])
    obj["target_uri"] = "http://127.0.0.1/never-captured"
    lines[-1] = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    root.log_path.write_bytes(b"\n".join(lines) + b"\n")
    result = run(root, "verify", "--history", "--checkpoint", str(kept))
    assert result.exit_code == 1
    assert result.output.count("was changed, removed, inserted or reordered") == 2  # events, kept


def test_dropping_the_last_checkpoint_fails_against_a_copy_of_it(
        root: ArchiveRoot, tmp_path: Path) -> None:
    kept = keep_checkpoint(root, tmp_path / "cp.json")
    lines = root.events_path.read_bytes().split(b"\n")[:-1]
    assert json.loads(lines[-1])["type"] == "log checkpoint"
    root.events_path.write_bytes(b"\n".join(lines[:-1]) + b"\n")  # the chain stays whole
    alone = run(root, "verify", "--history")
    assert alone.exit_code == 0
    assert "leaves after the last checkpoint" in alone.output
    result = run(root, "verify", "--history", "--checkpoint", str(kept))
    assert result.exit_code == 1
    cp = json.loads(kept.read_text())
    assert (f"checkpoint file {kept}: checkpoint of {cp['tree_size']} leaves at {cp['time']} "
            f"(root {cp['root_hash']}) is not in events.jsonl" in result.output)


def test_an_edited_checkpoint_breaks_the_checkpoint_chain(root: ArchiveRoot) -> None:
    lines = root.events_path.read_bytes().split(b"\n")[:-1]
    at = max(i for i, line in enumerate(lines) if b'"log checkpoint"' in line)
    event = json.loads(lines[at])
    event["checkpoint"]["prev_checkpoint"] = "0" * 64
    lines[at] = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    root.events_path.write_bytes(b"\n".join(lines) + b"\n")
    result = run(root, "verify", "--history")
    assert result.exit_code == 1
    assert (f"events.jsonl line {at + 1}: checkpoint names previous checkpoint {'0' * 64}"
            in result.output)


# --- crashes and upgrades ----------------------------------------------------------


def test_a_torn_last_line_is_cut_and_logged_by_the_next_writing_run(root: ArchiveRoot) -> None:
    whole = root.log_path.read_bytes()
    with open(root.log_path, "ab") as fh:
        fh.write(b'{"date":"2026-')  # a write cut by a crash
    result = run(root, "verify", "--history")
    assert result.exit_code == 0 and "torn (an interrupted write)" in result.output
    with HTTPTestServer() as web:
        web.route("/x", b"<p>x</p>")
        capture_urls(root, [web.url("/x")], FAST)
    assert root.log_path.read_bytes().startswith(whole)
    repair = [e for e in events(root) if e["type"] == "log repair"]
    assert repair[0]["counts"] == {"cut_bytes": 14}
    assert hashlib.sha256(b'{"date":"2026-').hexdigest() in repair[0]["detail"]
    result = run(root, "verify", "--history")
    assert result.exit_code == 0 and "note:" not in result.output, result.output


KILL_MID_APPEND = """
import os, sys
import archiver.fixity.evidencelog as evidencelog
real = evidencelog.EvidenceLog._flush
def torn(self):
    if self._pending:
        data = b"".join(self._pending)
        os.write(self._fd, data[: len(data) // 2])  # half the leaves, the last one cut
        os._exit(137)
    real(self)
evidencelog.EvidenceLog._flush = torn
from archiver.cli import main
sys.argv[0] = "archiver"
main()
"""


def test_a_kill_in_the_middle_of_an_append_is_repaired_by_the_next_run(
        root: ArchiveRoot, tmp_path: Path) -> None:
    kept = keep_checkpoint(root, tmp_path / "cp.json")
    before = log_lines(root)
    with HTTPTestServer() as web:
        web.route("/k", b"<p>k</p>" * 50)
        web.route("/l", b"<p>l</p>" * 50)
        died = subprocess.run([sys.executable, "-c", KILL_MID_APPEND, "--root", str(root.path),
                               "capture", web.url("/k"), "--delay", "0"],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        assert died.returncode == 137, died.stderr
        assert not root.log_path.read_bytes().endswith(b"\n")
        capture_urls(root, [web.url("/l")], FAST)
    lines = log_lines(root)
    assert lines[: len(before)] == before
    # Every record of both new files has exactly one leaf.
    index = [json.loads(x) for x in root.records_path.read_text().splitlines()]
    records = {(r["file"], r["offset"]) for r in index if r["kind"] == "record"}
    leaves = [(json.loads(x)["file"], json.loads(x)["offset"]) for x in lines]
    assert sorted(leaves) == sorted(records) and len(set(leaves)) == len(leaves)
    types = [e["type"] for e in events(root)]
    assert types.count("log repair") >= 1
    for args in (["verify", "--history", "--checkpoint", str(kept)], ["verify", "--records"]):
        result = run(root, *args)
        assert result.exit_code == 0, result.output


def test_an_archive_from_before_the_log_gets_one_built_in_file_order(tmp_path: Path) -> None:
    dest = tmp_path / "archive"
    shutil.copytree(REPO / "warcs", dest / "warcs")
    shutil.copytree(REPO / "manifests", dest / "manifests",
                    ignore=shutil.ignore_patterns("catalog.sqlite*", ".lock", "*.tmp",
                                                  "log.jsonl", "log-state.json"))
    root = ArchiveRoot(dest)
    old_index = [json.loads(x) for x in root.records_path.read_text().splitlines()]
    assert not any("member_sha256" in r for r in old_index)
    with HTTPTestServer() as web:
        web.route("/new", b"<p>new</p>")
        report = capture_urls(root, [web.url("/new")], FAST)
    (new_file,) = [root.relative(p) for p in report.closed_warcs]
    leaves = [json.loads(x) for x in log_lines(root)]
    old = [(r["file"], r["offset"]) for r in old_index if r["kind"] == "record"]
    assert [(lf["file"], lf["offset"]) for lf in leaves[: len(old)]] == old  # file order
    assert {lf["file"] for lf in leaves[len(old):]} == {new_file}
    for lf in leaves:
        data = (dest / lf["file"]).read_bytes()[lf["offset"]: lf["offset"] + lf["length"]]
        assert lf["member_sha256"] == hashlib.sha256(data).hexdigest()
    created = [e for e in events(root) if e["type"] == "log creation"]
    assert len(created) == 1 and created[0]["counts"]["leaves"] == len(old)
    assert "built from records.jsonl in file order" in created[0]["detail"]
    index = [json.loads(x) for x in root.records_path.read_text().splitlines()]
    assert all(r.get("member_sha256") for r in index if r["kind"] == "record")
    for args in (["verify", "--history"], ["verify", "--records"]):
        result = run(root, *args)
        assert result.exit_code == 0, result.output


def test_a_lost_log_is_refused_not_silently_rebuilt(root: ArchiveRoot) -> None:
    root.log_path.unlink()
    result = run(root, "manifest")
    assert result.exit_code == 2
    assert "log.jsonl: missing, but events.jsonl holds a checkpoint of" in result.output
    assert not root.log_path.exists()
    assert run(root, "verify", "--history").exit_code == 1


def test_an_imported_warc_gets_its_leaves_and_a_checkpoint(
        root: ArchiveRoot, tmp_path: Path) -> None:
    other = ArchiveRoot(tmp_path / "other")
    with HTTPTestServer() as web:
        web.route("/i", b"<p>imported</p>")
        (made,) = capture_urls(other, [web.url("/i")], FAST).closed_warcs
    before = log_lines(root)
    result = run(root, "import", str(made))
    assert result.exit_code == 0, result.output
    (dest,) = [w for w in warcs(root) if w.startswith("warcs/imported/")]
    lines = log_lines(root)
    assert lines[: len(before)] == before
    leaves = [json.loads(x) for x in lines[len(before):]]
    data = (root.path / dest).read_bytes()
    assert [(lf["file"], lf["offset"], lf["length"]) for lf in leaves] == [
        (dest, o, n) for o, n in records_in_file(root.path / dest)]
    assert all(lf["member_sha256"] == hashlib.sha256(
        data[lf["offset"]: lf["offset"] + lf["length"]]).hexdigest() for lf in leaves)
    assert checkpoints(root)[-1]["tree_size"] == len(lines)
    assert checkpoints(root)[-1]["root_hash"] == mth(lines).hex()


KILL_BEFORE_CHECKPOINT = """
import os, sys
import archiver.fixity.evidencelog as evidencelog
real = evidencelog.append_event
def die(root, event_type, **kw):
    if event_type == "log checkpoint":
        os._exit(137)  # the leaves are appended and fsynced, the checkpoint never written
    return real(root, event_type, **kw)
evidencelog.append_event = die
from archiver.cli import main
sys.argv[0] = "archiver"
main()
"""


def test_a_kill_before_the_checkpoint_leaves_a_note_and_the_next_run_checkpoints(
        root: ArchiveRoot, tmp_path: Path) -> None:
    kept = keep_checkpoint(root, tmp_path / "cp.json")
    with HTTPTestServer() as web:
        web.route("/m", b"<p>m</p>")
        web.route("/n", b"<p>n</p>")
        died = subprocess.run([sys.executable, "-c", KILL_BEFORE_CHECKPOINT, "--root",
                               str(root.path), "capture", web.url("/m"), "--delay", "0"],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        assert died.returncode == 137, died.stderr
        unchecked = len(log_lines(root)) - checkpoints(root)[-1]["tree_size"]
        assert unchecked > 0
        alone = run(root, "verify", "--history", "--checkpoint", str(kept))
        assert alone.exit_code == 0, alone.output
        assert f"note: {unchecked} leaves after the last checkpoint" in alone.output
        capture_urls(root, [web.url("/n")], FAST)
    lines = log_lines(root)
    assert checkpoints(root)[-1]["tree_size"] == len(lines)
    assert checkpoints(root)[-1]["root_hash"] == mth(lines).hex()
    result = run(root, "verify", "--history", "--checkpoint", str(kept))
    assert result.exit_code == 0 and "note:" not in result.output, result.output


def test_a_changed_file_accepted_by_manifest_is_a_removal_then_its_records_again(
        root: ArchiveRoot, tmp_path: Path) -> None:
    kept = keep_checkpoint(root, tmp_path / "cp.json")
    rel = warcs(root)[0]
    before = log_lines(root)
    victim = [json.loads(x) for x in before if json.loads(x)["file"] == rel][3]
    path = root.path / rel
    data = bytearray(path.read_bytes())
    data[victim["offset"] + 30] ^= 0xFF  # the 4th record no longer inflates
    path.write_bytes(bytes(data))
    old_sha = next(ln.split()[0] for ln in root.manifest_path.read_text().splitlines()
                   if ln.endswith(rel))
    result = run(root, "manifest", "--accept-unreadable", "--reason", "damage accepted")
    assert result.exit_code == 0, result.output
    lines = log_lines(root)
    assert lines[: len(before)] == before
    new = [json.loads(x) for x in lines[len(before):]]
    assert (new[0]["kind"], new[0]["file"], new[0]["sha256"]) == ("removal", rel, old_sha)
    assert new[0]["reason"] == "its records were replaced by different bytes (damage accepted)"
    # The records still readable (those before the damage) again, each member hashed here.
    assert all(n["file"] == rel and n["member_sha256"] == hashlib.sha256(
        bytes(data[n["offset"]:n["offset"] + n["length"]])).hexdigest() for n in new[1:])
    assert [n["offset"] for n in new[1:]] == [
        json.loads(x)["offset"] for x in before if json.loads(x)["file"] == rel][:3]
    result = run(root, "verify", "--records")
    assert "log-mismatch" not in result.output  # the damaged record's leaf is no longer live
    assert "invalid-record" in result.output
    assert run(root, "verify", "--history", "--checkpoint", str(kept)).exit_code == 0
