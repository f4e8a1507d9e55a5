"""warcio's own test WARCs as a peer test suite: import, extract and verify.

``tests/fixtures/warcio/`` holds the files of warcio's ``test/data/``
(Apache-2.0, its LICENSE beside them). Each row of :data:`TABLE` gives a
file the verdict warcio's own tests give it (``test_archiveiterator.py``,
``test_check_digest_examples.py``, ``test_cli.py``) and what archiver does
with it: whether ``import`` takes it, what ``extract`` gives from it and the
offset at which the shared reader calls it damaged (verify ``--records``,
reindex and extract agree on that offset).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from archiver import ArchiveRoot
from archiver.capture.importer import ImportStatus, import_warcs
from archiver.capture.reindex import rebuild
from archiver.extract.reader import ExtractFailure, extract_warcs
from archiver.fixity.problem import ProblemKind
from archiver.fixity.verification import VerifyMode, verify_archive

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "warcio"


@dataclass(frozen=True)
class Peer:
    warcio: str  # the verdict warcio's tests give the file
    imported: bool  # import takes it as it is (without allow_damaged)
    articles: int  # articles extract gives (the default: one per payload per URL)
    damaged_at: int | None  # where the reader finds damage (None: reads to the end)
    note: str = ""


TABLE: dict[str, Peer] = {
    "example.warc": Peer("good (warcio check: digests pass)", True, 1, None,
                         "a WARC/1.0 revisit with a sha1 digest and no WARC-Refers-To"),
    "example.warc.gz": Peer("good (warcio check: digests pass)", True, 1, None),
    "example-iana.org-chunked.warc": Peer(
        "good, chunked (warcio check passes: its payload digest is over the chunk "
        "framing)", True, 1, None),
    "example-resource.warc.gz": Peer("good (resource records)", True, 0, None),
    "example-space-in-target-uri.warc.gz": Peer(
        "good (warcio percent-encodes the space in the URI)", True, 0, None),
    "example-wget-bad-target-uri.warc.gz": Peer(
        "good (warcio corrects wget 1.19's <URI>)", True, 1, None),
    "post-test.warc.gz": Peer("good (POST requests)", True, 0, None),
    "example.arc": Peer("good ARC", True, 1, None),
    "example.arc.gz": Peer("good ARC", True, 1, None),
    "example-digest.warc": Peer(
        "bad digest (warcio check: 1 payload digest failed)", False, 0, None,
        "read to the end, but a digest does not match: refused"),
    "example-trunc.warc": Peer(
        "truncated (Content-Length cut on a response; warcio prints an error)", False, 0,
        1197),
    "example-bad-non-chunked.warc.gz": Peer(
        "not per-record gzip (ArchiveLoadFailed; warcio recompress fixes it)", False, 0, 0),
    "example-wrong-chunks.warc.gz": Peer(
        "bad gzip chunking (ArchiveLoadFailed; warcio recompress fixes it)", False, 0, 0),
    "bad.arc": Peer("invalid lengths (warcio reads on past them)", False, 0, 0,
                    "a length of -1 is damage here"),
    "example-space-in-url.arc": Peer(
        "read by warcio (its test lists the record types only)", False, 0, 151,
        "the last record's block is 12 bytes shorter than its ARC length: truncated"),
}


def test_every_file_of_warcio_test_data_is_in_the_table() -> None:
    files = {p.name for p in FIXTURES.iterdir()} - {"LICENSE", "example-bad.warc.gz.bad"}
    assert files == set(TABLE)
    assert "http://www.apache.org/licenses/" in (FIXTURES / "LICENSE").read_text()


def test_bad_warc_named_dot_bad_is_refused_by_name(tmp_path: Path) -> None:
    # warcio: example-bad.warc.gz.bad is bad (ArchiveLoadFailed). Its name is
    # no WARC's, so import refuses it before reading, and says how to proceed.
    root = ArchiveRoot(tmp_path / "archive")
    (result,) = import_warcs(root, [FIXTURES / "example-bad.warc.gz.bad"],
                             allow_damaged=True).results
    assert result.status == ImportStatus.REFUSED and "rename it" in (result.error or "")
    assert not (root.warcs / "imported").exists()


@pytest.mark.parametrize("name", sorted(TABLE))
def test_import_extract_verify_as_warcio_judges(name: str, tmp_path: Path) -> None:
    peer = TABLE[name]
    root = ArchiveRoot(tmp_path / "archive")
    report = import_warcs(root, [FIXTURES / name])
    (result,) = report.results
    assert (result.status == ImportStatus.IMPORTED) == peer.imported, result
    if not peer.imported:
        assert result.status == ImportStatus.REFUSED and result.damaged
        assert not (root.warcs / "imported").exists() or \
            not list((root.warcs / "imported").iterdir())  # nothing of it entered
        if peer.damaged_at is not None:
            assert f"unreadable at offset {peer.damaged_at}:" in (result.error or "")
        (result,) = import_warcs(root, [FIXTURES / name], allow_damaged=True).results
        assert result.status == ImportStatus.DAMAGED

    (warc,) = (root.warcs / "imported").iterdir()
    items = list(extract_warcs([warc], root=root))
    articles = [i for i in items if not isinstance(i, ExtractFailure)]
    failures = [i for i in items if isinstance(i, ExtractFailure)]
    assert len(articles) == peer.articles
    if peer.damaged_at is None:
        assert failures == []
    else:
        assert [f.offset for f in failures] == [peer.damaged_at]

    found = verify_archive(root, VerifyMode.RECORDS, record_event=False)
    damaged = [p for p in found.problems if p.kind == ProblemKind.INVALID_RECORD]
    assert len(found.problems) == len(damaged)
    if peer.imported:
        assert found.passed
    elif peer.damaged_at is not None:
        assert [r.offset for p in damaged for r in p.records] == [peer.damaged_at]
    else:
        assert damaged  # the digest that does not match

    _, errors = rebuild(root)
    if peer.damaged_at is None:
        assert errors == []
    else:
        assert [e.offset for e in errors] == [peer.damaged_at]


def test_a_revisit_without_refers_to_resolves_by_uri_and_digest(tmp_path: Path) -> None:
    # warcio's example.warc: a WARC/1.0 revisit, sha1 digest, no WARC-Refers-To.
    path = tmp_path / "example.warc"
    shutil.copy(FIXTURES / "example.warc", path)
    items = list(extract_warcs([path], all_captures=True))
    assert not [i for i in items if isinstance(i, ExtractFailure)], items
    original, revisit = items
    assert revisit.provenance.refers_to == original.provenance.record_id  # type: ignore[union-attr]
    assert revisit.article.text == original.article.text  # type: ignore[union-attr]


def test_warcio_warnings_go_to_the_log_not_the_terminal(tmp_path: Path) -> None:
    # warcio logs each URI it corrects ("Replacing spaces in invalid
    # WARC-Target-URI"): a log line with -v, nothing on a plain run.
    path = FIXTURES / "example-space-in-target-uri.warc.gz"
    plain = subprocess.run([sys.executable, "-m", "archiver", "extract", str(path)],
                           capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0, plain.stderr
    assert "Replacing spaces" not in plain.stderr + plain.stdout
    verbose = subprocess.run([sys.executable, "-m", "archiver", "-v", "extract", str(path)],
                             capture_output=True, text=True, timeout=60)
    assert "WARNING warcio.recordloader: Replacing spaces" in verbose.stderr
