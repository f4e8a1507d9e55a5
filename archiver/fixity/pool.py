"""Parallel hashing across files, with threads or processes.

SHA-256 is CPU-bound and holds the GIL for small updates, so work that
parses records means N worker processes; plain file hashing, which feeds
hashlib 1 MiB blocks (it releases the GIL for those, as ``readinto`` does),
runs in N threads instead: no process start-up, no pickling, and the first
file is being hashed before a worker process could have been forked.

Work goes out in batches (many small files, or one big one, per batch) so
per-task overhead stays small next to hashing, and at most a few batches per
worker are in flight so memory stays flat however long the manifest is.
Results come back in submission order, which keeps everything that is
written from them deterministic.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TypeVar

from ..workers import process_context, usable_cpus

__all__ = ["batched", "default_jobs", "imap_ordered"]

T = TypeVar("T")
R = TypeVar("R")

#: A batch closes when it holds this many bytes or this many files.
BATCH_BYTES = 32 << 20
BATCH_FILES = 256
#: Batches in flight per worker: enough to keep every worker busy.
WINDOW_PER_JOB = 3


def default_jobs() -> int:
    """The default ``--jobs``: the CPUs this process may use, at most 8."""
    return min(8, usable_cpus())


def batched(items: Iterable[T], size: Callable[[T], int]) -> Iterator[list[T]]:
    """Group ``items`` into batches of about :data:`BATCH_BYTES` (by ``size``)."""
    batch: list[T] = []
    total = 0
    for item in items:
        batch.append(item)
        total += size(item)
        if total >= BATCH_BYTES or len(batch) >= BATCH_FILES:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch


def imap_ordered(fn: Callable[[T], R], tasks: Iterable[T], jobs: int, *,
                 threads: bool = False) -> Iterator[R]:
    """``map(fn, tasks)`` over ``jobs`` processes (or ``threads``), in order, with
    a bounded window.

    With ``jobs <= 1`` everything runs in this process (no start-up cost).
    ``fn`` must be a module-level function; ``tasks`` are consumed lazily.
    """
    if jobs <= 1:
        yield from map(fn, tasks)
        return
    pool: Executor
    if threads:
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="hash")
    else:
        from concurrent.futures import ProcessPoolExecutor  # (see process_context)

        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=process_context())
    with pool:
        pending: deque[Future[R]] = deque()
        try:
            for task in tasks:
                pending.append(pool.submit(fn, task))
                if len(pending) >= jobs * WINDOW_PER_JOB:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
