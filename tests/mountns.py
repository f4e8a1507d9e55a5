"""Commands run in a private mount namespace (``unshare -m``): real read-only file
systems and bind mounts for tests, without touching the machine's own mounts.

The tests run as root here, and root ignores mode bits, so ``chmod -w`` cannot
make an archive read-only; a read-only bind mount can (``EROFS`` for every
user). The namespace, and every mount made in it, ends with the command.
"""

from __future__ import annotations

import functools
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

__all__ = ["archiver_read_only", "in_mount_namespace", "require_mount_namespace"]


def in_mount_namespace(setup: str, argv: Sequence[str], *, timeout: float = 120
                       ) -> subprocess.CompletedProcess[str]:
    """Run ``setup`` (shell) then exec ``argv``, in a new private mount namespace.

    In ``setup``, ``$$`` is the pid ``argv`` will run as.
    """
    return subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-ec",
         f'{setup}\nexec "$@"', "sh", *argv],
        capture_output=True, text=True, timeout=timeout, check=False)


@functools.cache
def _works() -> str | None:
    """None if read-only bind mounts work here, else why not."""
    if shutil.which("unshare") is None:
        return "no unshare(1) here"
    with tempfile.TemporaryDirectory() as top:
        probe = in_mount_namespace(f"mount --bind -o ro {top} {top}",
                                   ["sh", "-c", f"! touch {top}/x 2>/dev/null"])
        if probe.returncode != 0:
            return f"cannot make a read-only bind mount: {probe.stderr.strip()}"
    return None


def require_mount_namespace() -> None:
    """Skip (saying why) where no private read-only mount can be made: an
    unprivileged container. Nothing else can make a folder read-only for root."""
    why = _works()
    if why is not None:
        pytest.skip(why)


def archiver_read_only(root: Path, *args: str, also: Sequence[Path] = ()
                       ) -> subprocess.CompletedProcess[str]:
    """``archiver --root ROOT ARGS`` with ROOT (and ``also``) mounted read-only."""
    require_mount_namespace()
    mounts = "\n".join(f"mount --bind -o ro {shlex.quote(str(p))} {shlex.quote(str(p))}"
                       for p in (root, *also))
    return in_mount_namespace(mounts, [sys.executable, "-m", "archiver", "--root", str(root),
                                       *args])
