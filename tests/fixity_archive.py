"""A real archive for fixity tests, and the tools to damage copies of it.

The archive is made once per session by ``archiver.capture.run`` from the bundled
demo site on loopback (chunked, gzip, redirects, GBK pages) in two capture
runs, so it holds two closed WARCs, their manifest, index and history. Each
test gets its own copy to damage.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archiver import ArchiveRoot
from archiver.capture.run import capture_urls
from archiver.capture.settings import CaptureSettings
from archiver.demo import DemoSite
from archiver.warc.scan import RecordDigest

FAST = CaptureSettings(delay=0, retries=0, connect_timeout=2, read_timeout=2, deadline=10,
                       backoff=0.05)
NOBODY = 65534


def build_archive(dest: Path, site: DemoSite) -> Path:
    """Capture the demo site into ``dest`` in two runs: two closed WARCs."""
    root = ArchiveRoot(dest)
    first = capture_urls(root, site.seed_urls(), FAST)
    second = capture_urls(root, site.seed_urls()[:2], FAST)
    assert first.closed_warcs and second.closed_warcs and not first.failed
    return dest


def copy_archive(src: Path, dest: Path) -> ArchiveRoot:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".lock"), symlinks=True)
    return ArchiveRoot(dest)


def warcs(root: ArchiveRoot) -> list[str]:
    """The archive's WARC files, root-relative, sorted."""
    return sorted(root.relative(p) for p in root.warcs.rglob("*.warc.gz"))


def manifest_sha(root: ArchiveRoot, rel: str) -> str:
    for line in (root.manifests / "manifest-sha256.txt").read_text().splitlines():
        sha, _, path = line.partition("  ")
        if path == rel:
            return sha
    raise KeyError(rel)


def records_of(root: ArchiveRoot, rel: str) -> list[RecordDigest]:
    out = []
    for line in (root.manifests / "records.jsonl").read_text().splitlines():
        obj = json.loads(line)
        if obj["kind"] == "record" and obj["file"] == rel:
            del obj["kind"], obj["file"]
            out.append(RecordDigest(**obj))
    return out


def flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


def as_nobody(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a forked child with root's powers dropped, return its result.

    Root reads a mode-000 file anyway (CAP_DAC_OVERRIDE), so to test a file
    that really cannot be read, the check must run as an ordinary user.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            data = pickle.dumps(("ok", fn()))
        except BaseException as exc:  # report anything back to the parent
            data = pickle.dumps(("error", repr(exc)))
        with os.fdopen(write, "wb") as out:
            out.write(data)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        status, value = pickle.loads(fh.read())
    os.waitpid(pid, 0)
    assert status == "ok", value
    return value


def open_to_all(top: Path) -> None:
    """World-readable tree, so a dropped-privilege child can walk it."""
    os.chmod(top, 0o755)
    for folder, dirs, files in os.walk(top):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
