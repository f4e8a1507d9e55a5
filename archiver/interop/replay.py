"""Serving an archive for viewing through pywb, on 127.0.0.1 only (``archiver replay``).

pywb is an optional extra (``archiver[replay]``). It runs as a child process
(its gevent server patches the standard library, which must not happen in
ours), from a temporary folder holding its ``config.yaml``: one collection,
``archive``, whose index is ``manifests/index.cdxj`` and whose archive path
is the archive root (the index names files root-relative). pywb's own
default is to listen on every interface; it is always given ``127.0.0.1``.

The index is used as it is when it is complete; when it is missing, or a
capture run's journal says it may lack lines, it is rebuilt first (into the
temporary folder on a read-only archive, which is then never written).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from ..errors import ReplayError
from ..root import ArchiveRoot
from ..warc.cdxj import JOURNAL_SUFFIX, add_warcs_to_cdxj, cdxj_path, rebuild_cdxj
from ..warc.files import find_warc_files

__all__ = ["COLLECTION", "HOST", "REPLAY_EXTRA", "ReplayServer", "require_pywb"]

#: The only address replay listens on.
HOST = "127.0.0.1"
#: pywb's collection name for the archive: pages are at /archive/TIMESTAMP/URL.
COLLECTION = "archive"
#: What to install when pywb is missing.
REPLAY_EXTRA = "needs the replay extra: pip install 'archiver[replay]'"
#: How long pywb may take to start answering.
START_TIMEOUT = 60.0

_LAUNCH = "import sys; from pywb.apps.cli import wayback; sys.exit(wayback())"


def require_pywb() -> None:
    """Raise :class:`ReplayError` saying what to install when pywb is missing."""
    try:
        import pywb  # noqa: F401  # (the package only: pywb itself runs in a child)
    except ImportError as exc:
        raise ReplayError(f"archiver replay {REPLAY_EXTRA}") from exc


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class ReplayServer:
    """pywb serving ``root`` on ``127.0.0.1:port``; a context manager.

    ``port`` None picks a free one. :meth:`start` returns once pywb answers;
    raises :class:`ReplayError` if pywb is missing, the port is taken, or pywb
    exits or stays silent for :data:`START_TIMEOUT` seconds.
    """

    def __init__(self, root: ArchiveRoot, port: int | None = None) -> None:
        self.root = root
        self.port = port if port is not None else free_port()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The collection's address: ``http://127.0.0.1:PORT/archive/``."""
        return f"http://{HOST}:{self.port}/{COLLECTION}/"

    def url_for(self, url: str, timestamp: str = "", modifier: str = "") -> str:
        """Where pywb replays ``url`` (``modifier`` ``id_`` gives the bytes as captured)."""
        return f"{self.base_url}{timestamp}{modifier}/{url}"

    def start(self) -> ReplayServer:
        require_pywb()
        self.root.require()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex((HOST, self.port)) == 0:
                raise ReplayError(f"{HOST}:{self.port}: the port is in use; choose another "
                                  "with --port")
        self._tmp = tempfile.TemporaryDirectory(prefix="archiver-replay-")
        folder = Path(self._tmp.name)
        config = {
            "collections": {COLLECTION: {
                "index_paths": str(self._index(folder)),
                "archive_paths": str(self.root.path.resolve()) + "/",
            }},
            "enable_memento": True,
        }
        # JSON is YAML: pywb reads it with yaml.safe_load.
        (folder / "config.yaml").write_text(json.dumps(config, indent=1), encoding="utf-8")
        log = (folder / "pywb.log").open("wb")
        with log:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _LAUNCH, "--bind", HOST, "--port", str(self.port)],
                cwd=folder, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready(folder / "pywb.log")
        return self

    def _index(self, folder: Path) -> Path:
        index = cdxj_path(self.root)
        journal = index.with_name(index.name + JOURNAL_SUFFIX)
        if index.is_file() and not journal.exists():
            return index
        if not self.root.read_only:
            rebuild_cdxj(self.root)
            return index
        built = folder / "index.cdxj"
        add_warcs_to_cdxj(self.root, find_warc_files(self.root.warcs), index=built)
        return built

    def _wait_ready(self, log: Path) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
                self.stop()
                raise ReplayError(f"{HOST}:{self.port}: pywb exited at start: "
                                  f"{tail[-1] if tail else 'no output'}")
            try:
                with urllib.request.urlopen(self.base_url, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # pywb answered
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ReplayError(f"{HOST}:{self.port}: pywb did not answer within {START_TIMEOUT:.0f} s")

    def wait(self) -> int:
        """Block until pywb exits (the CLI's Ctrl-C ends it); returns its exit status."""
        assert self._proc is not None
        return self._proc.wait()

    def stop(self) -> None:
        """Stop pywb and remove its folder."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc = None
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> ReplayServer:
        return self.start() if self._proc is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

