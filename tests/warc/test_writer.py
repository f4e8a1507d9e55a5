"""The WARC writer on its own: rotation between encoding and appending a capture."""

from __future__ import annotations

import hashlib
import threading
from io import BytesIO
from pathlib import Path

from warcassert import read_warc

from archiver import ArchiveRoot
from archiver.warc.record import OpenRecord, build_record, warc_date
from archiver.warc.writer import WarcWriter


def _metadata(n: int) -> list[OpenRecord]:
    from datetime import UTC, datetime

    block = f"note: capture {n}\r\n".encode() + bytes(range(256)) * 8
    return [build_record(f"http://example.org/{n}", "metadata",
                         date=warc_date(datetime.now(UTC)),
                         block_digest=hashlib.sha256(block).digest(),
                         payload=BytesIO(block), length=len(block),
                         content_type="application/warc-fields")]


def test_a_capture_encoded_before_a_rotation_lands_in_the_new_file(tmp_path: Path) -> None:
    writer = WarcWriter(ArchiveRoot(tmp_path), warc_size=1024, gzip_level=1)
    writer.append(writer.encode(_metadata(1)))
    early = writer.encode(_metadata(2))  # encoded by a worker for the current file…
    writer.sync()  # …which passes warc_size and is closed here
    done = threading.Event()

    def late_append() -> None:
        writer.append(early)
        writer.sync()
        done.set()

    thread = threading.Thread(target=late_append, daemon=True)
    thread.start()
    thread.join(10)
    assert done.is_set(), "append of a capture encoded before rotation deadlocked"
    first, second = writer.close()
    for path in (first, second):
        recs = read_warc(path)
        assert {r.headers["WARC-Warcinfo-ID"] for r in recs[1:]} == {recs[0].id}
    assert [r.uri for r in read_warc(second)[1:]] == ["http://example.org/2"]
