"""manifests/events.jsonl: the hash chain catches edits, and survives a crash."""

from __future__ import annotations

import hashlib
import json

from click.testing import CliRunner

from archiver import ArchiveRoot
from archiver.cli import cli
from archiver.fixity.events import EventType, append_event, check_history
from archiver.fixity.verification import verify_archive


def lines(root: ArchiveRoot) -> list[bytes]:
    return (root.manifests / "events.jsonl").read_bytes().split(b"\n")[:-1]


def write_lines(root: ArchiveRoot, new: list[bytes], *, final_lf: bool = True) -> None:
    data = b"\n".join(new) + (b"\n" if final_lf else b"")
    (root.manifests / "events.jsonl").write_bytes(data)


def test_two_capture_runs_leave_an_intact_chain_of_ingest_events(root: ArchiveRoot) -> None:
    found = check_history(root)
    events = [json.loads(line) for line in lines(root)]
    assert [e["type"] for e in events] == ["ingestion", "message digest calculation",
                                           "log checkpoint"] * 2
    assert events[0]["prev"] is None
    assert all(e["prev"] == hashlib.sha256(p).hexdigest()
               for e, p in zip(events[1:], lines(root), strict=False))
    assert all(e["time"].endswith("Z") and e["agent"]["name"] == "archiver" for e in events)
    assert (found.ok, found.events, found.broken, found.partial_line) == (True, 6, None, None)
    assert found.head_sha256 == hashlib.sha256(lines(root)[-1]).hexdigest()


def test_an_edited_line_breaks_the_next_link(root: ArchiveRoot) -> None:
    old = lines(root)
    old[1] = old[1].replace(b'"outcome":"success"', b'"outcome":"failure"')
    write_lines(root, old)
    found = check_history(root)
    assert found.broken == (3, "prev does not match the sha256 of line 2: that line was edited, "
                               "or lines were inserted or removed")
    assert not found.ok

    result = CliRunner().invoke(cli, ["--root", str(root.path), "verify", "--history"])
    assert result.exit_code == 1
    assert result.output.splitlines()[1] == (
        "events.jsonl line 3: prev does not match the sha256 of line 2: that line was edited, "
        "or lines were inserted or removed")


def test_a_line_edited_into_garbage_is_named(root: ArchiveRoot) -> None:
    old = lines(root)
    old[1] = old[1][:40]
    write_lines(root, old)
    assert check_history(root).broken == (2, "not valid JSON (the line was edited)")


def test_a_removed_line_is_caught(root: ArchiveRoot) -> None:
    old = lines(root)
    write_lines(root, old[:1] + old[2:])
    assert check_history(root).broken == (
        2, "prev does not match the sha256 of line 1: that line was edited, "
           "or lines were inserted or removed")


def test_a_partial_last_line_is_detected_then_recorded(root: ArchiveRoot) -> None:
    old = lines(root)
    partial = old[-1][:50]
    write_lines(root, [*old[:-1], partial], final_lf=False)  # a crash mid-write
    found = check_history(root)
    assert (found.ok, found.events, found.partial_line) == (True, 5, 6)

    verify_archive(root, jobs=1)  # the next run that writes records the crash first

    events = [json.loads(line) for line in lines(root)[6:]]
    assert [e["type"] for e in events] == ["event log repair", "fixity check"]
    assert events[0]["partial_sha256"] == hashlib.sha256(partial).hexdigest()
    assert events[0]["prev"] == hashlib.sha256(partial).hexdigest()
    after = check_history(root)
    assert (after.ok, after.events, after.partial_line, after.broken) == (True, 7, None, None)


def test_a_manifest_changed_outside_archiver_is_reported(root: ArchiveRoot) -> None:
    manifest = root.manifests / "manifest-sha256.txt"
    manifest.write_bytes(manifest.read_bytes().split(b"\n", 1)[1])  # drop a line, stay valid
    found = check_history(root)
    assert found.broken is None and not found.ok
    assert found.manifest_mismatch is not None
    assert found.manifest_mismatch.startswith("manifest-sha256.txt has sha256 ")


def test_events_are_single_json_lines_with_premis_fields(root: ArchiveRoot) -> None:
    event = append_event(root, EventType.FIXITY_CHECK, outcome="pass", obj="manifests/x",
                         counts={"files": 1})
    assert list(event) == ["event_id", "type", "time", "agent", "object", "outcome", "detail",
                           "counts", "manifest_sha256", "records_sha256", "prev"]
    assert event["event_id"].startswith("urn:uuid:")
    assert event["manifest_sha256"] == hashlib.sha256(
        (root.manifests / "manifest-sha256.txt").read_bytes()).hexdigest()
    assert check_history(root).ok
