"""Worker processes: how many CPUs this process may use, and how to start workers.

Shared by the two pipelines that hand work to other processes: fixity's
hashing pool (:mod:`archiver.fixity.pool`) and extract's article workers
(:mod:`archiver.extract.reader`).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

__all__ = ["process_context", "usable_cpus"]


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity; all of them off Linux)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def process_context() -> BaseContext:
    """The multiprocessing context to start workers with.

    fork starts workers at once with everything imported (the CLI's own
    imports take longer than hashing a gigabyte); but forking a process that
    has other threads (a test's HTTP server) can copy a held lock, so then
    workers come from a clean forkserver instead.
    """
    # Imported here: a plain fixity check never starts a process, and
    # multiprocessing's imports are a good part of its start-up.
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
