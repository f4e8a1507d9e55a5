"""What a hostile server or URL must not get: the user's terminal, their passwords,
or a path into internal services. Real servers on loopback, the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import http_scripts
from servers import RawServer


def archiver(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archiver", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120)


def test_terminal_escapes_from_a_server_are_printed_escaped(tmp_path: Path,
                                                            raw: RawServer) -> None:
    # ESC ] 0 ; TITLE BEL sets the terminal's title; CSI 2 J (as C1 0x9b) clears it.
    reason = "\x1b]0;TITLE\x07Not \x9b2JFound"
    raw.script("/evil", http_scripts.ok(b"gone\n", status=404, reason=reason))
    url = raw.url("/evil")
    done = archiver(tmp_path, "capture", url, "--delay", "0", "--retries", "0")
    assert done.returncode == 1
    shown = "HTTP 404 \\x1b]0;TITLE\\x07Not \\x9b2JFound"
    assert f"FAILED {url}: {shown}" in done.stderr
    listed = archiver(tmp_path, "list")
    assert shown in listed.stdout
    as_json = archiver(tmp_path, "list", "--json")
    assert json.loads(as_json.stdout)["error"] == f"{url}: HTTP 404 {reason}"  # kept exactly
    for out in (done.stderr, listed.stdout, as_json.stdout):
        assert not {"\x1b", "\x07", "\x9b"} & set(out), out
