"""The WARCs capture writes, checked by the standard validators (warcat, warcio).

Both tools are run for real over a real archive (the demo site captured in
two runs). Each may complain only where it contradicts WARC 1.1, and each
such digest is proven right here with the test's own sha256:

* the payload digest of a ``Transfer-Encoding: chunked`` response: warcio
  and warcat hash the chunk framing (warcio issues #74, #75); WARC 1.1 says
  the payload is the body with transfer-encoding removed
  (:func:`warcassert.read_warc` proves it de-chunked);
* the payload digest of a ``revisit`` (warcat only): by definition it is the
  original's payload digest, and the revisit holds no payload.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from warcassert import Rec, assert_warcio_check_passes, is_chunked, read_warc


def warcat_verify(paths: list[Path]) -> tuple[int, list[tuple[str, str]]]:
    """Run the real ``warcat verify`` over ``paths`` in one call.

    Returns the problem count warcat reports and each ``(record ID, problem)``.
    """
    proc = subprocess.run([sys.executable, "-m", "warcat", "verify", *map(str, paths)],
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    problems: list[tuple[str, str]] = []
    current = ""
    for line in out.splitlines():
        failed = re.match(r"Record (<[^>]+>) failed validation", line)
        if failed:
            current = failed.group(1)
        elif line.startswith("warcat.tool.VerifyProblem:"):
            problems.append((current, line.split(":", 1)[1].strip()))
    # warcat re-parses warc-fields blocks and warns when their length changes.
    assert "Content block length changed" not in out, out[-2000:]
    count = re.search(r"Validation failed\. Problems: (\d+)", out)
    total = int(count.group(1)) if count else 0
    assert (proc.returncode == 0) == (total == 0), out[-2000:]
    return total, problems


def write_order(root: Path) -> list[Path]:
    # The names begin with the UTC time they were opened: sorted is written order.
    return sorted((root / "warcs").rglob("*.warc.gz"), key=lambda p: p.name)


def test_warcat_complains_only_where_it_contradicts_warc_1_1(pristine: Path) -> None:
    paths = write_order(pristine)
    records: list[Rec] = [rec for path in paths for rec in read_warc(path)]  # digests proven
    by_id = {rec.id: rec for rec in records}
    total, problems = warcat_verify(paths)
    assert total == len(problems)
    chunked = {r.id for r in records if r.type == "response" and is_chunked(r.http_head)}
    revisits = {r.id for r in records if r.type == "revisit"}
    assert chunked and revisits, "the archive must exercise both cases"
    for rec_id, problem in problems:
        assert "Bad payload digest" in problem, (rec_id, problem)
        assert rec_id in chunked | revisits, (rec_id, problem)
    # Every revisit's digest is its original's, and the original is in the archive.
    for rec_id in revisits:
        revisit = by_id[rec_id]
        original = by_id[revisit.headers["WARC-Refers-To"]]
        assert original.type == "response"
        assert revisit.headers["WARC-Payload-Digest"] == original.headers["WARC-Payload-Digest"]
    # No forward reference (warcat: "Concurrent Record ID ... not seen yet").
    assert not [p for p in problems if "Concurrent" in p[1]]


def test_warcio_check_complains_only_about_chunked_payloads(pristine: Path) -> None:
    for path in write_order(pristine):
        assert_warcio_check_passes(path)
