"""kill -9 at many points of real capture runs, with recovery and full checks after each.

One archive takes 20 capture runs of 40 pages from a loopback server, with
small WARC files so runs close several of them. Each run dies: half by
SIGKILL at a random moment, half by ``os._exit(137)`` (what kill -9 leaves:
no cleanup, no ``finally``) at the Nth ``os.replace`` or ``os.fsync`` of the
run, which lands on the exact windows a timer rarely hits (a WARC renamed but
not yet listed, a manifest renamed before its events). After each, the next
capture run recovers, and everything is checked independently: the fixity
check, the event chain, ``sha256sum -c``, every WARC read back by warcio with
the test's own digests, and the catalog against the WARCs' own records.
The seed is fixed, so a failure is reproducible.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from servers import HTTPTestServer, Response
from warcassert import read_warc

from archiver import ArchiveRoot
from archiver.capture.run import capture_urls
from archiver.capture.settings import CaptureSettings
from archiver.fixity.events import check_history
from archiver.fixity.verification import verify_archive

KILLS = 20
PAGES = 40
SEED = 20261124

# The CLI in a child that exits as kill -9 would at the Nth call of os.<name>.
DIE_AT_CALL = """
import os, sys, threading
name, n = sys.argv[1], int(sys.argv[2])
del sys.argv[1:3]
real, calls, lock = getattr(os, name), [0], threading.Lock()
def counted(*args, **kw):
    with lock:
        calls[0] += 1
        if calls[0] == n:
            os._exit(137)
    return real(*args, **kw)
setattr(os, name, counted)
from archiver.cli import main
sys.argv[0] = "archiver"
main()
"""


def catalog(root: Path) -> dict[str, tuple[str, str | None, int | None, str | None]]:
    """metadata record ID -> (outcome, warc, offset, record ID) for every catalogued attempt."""
    db = root / "manifests" / "catalog.sqlite"
    if not db.exists():
        return {}
    with sqlite3.connect(db) as con:
        try:
            rows = con.execute(
                "SELECT metadata_id, outcome, warc, offset, record_id FROM captures").fetchall()
        except sqlite3.OperationalError:  # killed before it made its tables
            return {}
    return {m: (o, w, off, r) for m, o, w, off, r in rows}


def check_archive(root: ArchiveRoot, committed: dict[str, tuple[str, str | None, int | None,
                                                                 str | None]]) -> int:
    """Every check, from outside archiver where there is one; returns the WARC count."""
    assert not list(root.warcs.rglob("*.open"))
    assert not list(root.manifests.glob(".*.tmp"))
    assert not (root.manifests / "ingest-pending.txt").exists()
    report = verify_archive(root, jobs=1)
    assert report.passed, [p.line() for p in report.problems]
    history = check_history(root)
    assert history.ok, history
    sums = subprocess.run(["sha256sum", "--strict", "-c", "manifests/manifest-sha256.txt"],
                          cwd=root.path, capture_output=True, text=True)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    files = sorted(root.warcs.rglob("*.warc.gz"))
    listed = root.manifest_path.read_text().count("\n")
    assert listed == len(files)
    # The WARCs' own records, each digest proven by the test's sha256.
    at: dict[tuple[str, int], str] = {}
    outcomes: set[str] = set()
    for path in files:
        rel = root.relative(path)
        for rec in read_warc(path):
            at[(rel, rec.offset)] = rec.id
            if rec.type == "metadata":
                outcomes.add(rec.id)
    rows = catalog(root.path)
    assert set(rows) == outcomes  # every attempt in a WARC is catalogued, and no other
    for outcome, warc, offset, record_id in rows.values():
        if outcome != "failed":
            assert warc is not None and offset is not None
            assert at[(warc, offset)] == record_id
    for metadata_id, row in committed.items():  # nothing reported durable was lost
        assert rows[metadata_id] == row
    return len(files)


def test_twenty_kills_at_random_points_of_capture_runs_lose_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    root = ArchiveRoot(tmp_path / "archive")
    urls = tmp_path / "urls.txt"
    settings = CaptureSettings(delay=0, retries=0, connect_timeout=2, read_timeout=2,
                               deadline=10)
    died = 0
    with HTTPTestServer() as web:
        for n in range(PAGES):
            # Every fifth page repeats an earlier body: revisit records too.
            body = f"<h1>Report {n % 5 if n % 5 == 0 else n}</h1>" + "<p>detained</p>" * 120
            web.route(f"/p{n}", Response(body=body.encode(), delay=0.003))
        for kill in range(KILLS):
            pages = [web.url(f"/p{n}") for n in range(PAGES)]
            rng.shuffle(pages)
            urls.write_text("".join(p + "\n" for p in pages))
            args = ["--root", str(root.path), "-q", "capture", "-i", str(urls), "--delay", "0",
                    "--warc-size", "16384", "--concurrency", "2"]
            if kill % 2 == 0:
                proc = subprocess.Popen([sys.executable, "-m", "archiver", *args],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                time.sleep(rng.uniform(0.3, 2.0))
                proc.send_signal(signal.SIGKILL)
                _, err = proc.communicate(timeout=60)
                killed = proc.returncode == -signal.SIGKILL
            else:
                name, calls = rng.choice([("replace", rng.randint(1, 12)),
                                          ("fsync", rng.randint(1, 60))])
                proc = subprocess.Popen([sys.executable, "-c", DIE_AT_CALL, name, str(calls),
                                         *args], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
                _, err = proc.communicate(timeout=60)
                killed = proc.returncode == 137
            assert killed or proc.returncode == 0, err
            died += killed
            committed = catalog(root.path)

            web.route(f"/after{kill}", f"<p>after kill {kill}</p>".encode())
            report = capture_urls(root, [web.url(f"/after{kill}")], settings)
            assert report.failed == 0 and report.captured == 1
            check_archive(root, committed)
    assert died >= KILLS * 3 // 4  # most runs really were killed mid-way
