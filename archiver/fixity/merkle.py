"""RFC 9162 §2.1 Merkle trees: hashing, inclusion and consistency proofs.

The evidence log (:mod:`archiver.fixity.evidencelog`) is a Merkle tree of
the Certificate Transparency kind, so anyone can check it with any RFC 9162
implementation, not only with archiver. This module is that tree, and
nothing about WARCs or archives:

* leaf hash ``SHA-256(0x00 ‖ entry)``, node hash ``SHA-256(0x01 ‖ left ‖ right)``,
  the empty tree's hash ``SHA-256()``; a tree of ``n > 1`` leaves splits at the
  largest power of two below ``n`` (§2.1.1);
* :class:`Frontier`: the root of a growing tree kept in ``O(log n)`` memory
  (the perfect subtrees along its right edge), which is how a log of millions
  of leaves is hashed in one streaming pass;
* :class:`TreeStore`: every perfect subtree of a tree, level by level, in
  temporary files, from which any subtree hash, inclusion proof (§2.1.3.1) or
  consistency proof (§2.1.4.1) is read in ``O(log n)`` hashes;
* :func:`verify_inclusion` and :func:`verify_consistency`: the verification
  algorithms of §2.1.3.2 and §2.1.4.2, which need only the proof and roots.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "Frontier",
    "TreeStore",
    "leaf_hash",
    "node_hash",
    "verify_consistency",
    "verify_inclusion",
]

#: The root of the empty tree: SHA-256 of no bytes.
EMPTY_ROOT = hashlib.sha256(b"").digest()

_HASH = 32
_sha256 = hashlib.sha256
#: Hashes a level keeps in memory before writing them to its file.
_LEVEL_BUFFER = 1 << 15


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 ‖ entry)``: the hash of one leaf."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 ‖ left ‖ right)``: the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The right edge of a growing tree: its root at any size in ``O(log n)`` memory.

    ``perfect`` holds, largest first, the hashes of the perfect subtrees the
    binary digits of :attr:`size` cut the leaves into; the RFC 9162 root folds
    them right to left.
    """

    def __init__(self, size: int = 0, perfect: Sequence[bytes] = ()) -> None:
        if len(perfect) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} perfect "
                             f"subtrees on its edge, not {len(perfect)}")
        self.size = size
        self.perfect = list(perfect)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash."""
        node, size, perfect = leaf, self.size, self.perfect
        while size & 1:
            node = _sha256(b"\x01" + perfect.pop() + node).digest()
            size >>= 1
        perfect.append(node)
        self.size += 1

    def root(self) -> bytes:
        """The RFC 9162 root of the leaves appended so far."""
        if not self.perfect:
            return EMPTY_ROOT
        node = self.perfect[-1]
        for left in reversed(self.perfect[:-1]):
            node = node_hash(left, node)
        return node


class TreeStore:
    """Every perfect subtree hash of a tree, by level, spooled to temporary files.

    Level ``k`` holds the hashes of the aligned ``2**k``-leaf subtrees, so a
    tree of ``n`` leaves takes ``2n`` hashes (64 bytes a leaf) on disk and
    ``O(log n)`` in memory. Any subtree hash is then at most ``log n`` reads
    and node hashes. Close it (or use it as a context manager) to free the files.
    """

    def __init__(self, folder: str | None = None) -> None:
        self._folder = folder
        self._files: list[int] = []  # one descriptor per level
        self._written: list[int] = []  # hashes of each level in its file
        self._buffers: list[bytearray] = []  # and after them, in memory
        self.frontier = Frontier()

    def __enter__(self) -> TreeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for fd in self._files:
            os.close(fd)
        self._files, self._written, self._buffers = [], [], []

    @property
    def size(self) -> int:
        return self.frontier.size

    def append(self, leaf: bytes) -> None:
        """Add the next leaf hash."""
        frontier = self.frontier
        node, size, level, perfect = leaf, frontier.size, 0, frontier.perfect
        self._keep(0, leaf)
        while size & 1:
            node = _sha256(b"\x01" + perfect.pop() + node).digest()
            size >>= 1
            level += 1
            self._keep(level, node)
        perfect.append(node)
        frontier.size += 1

    def _keep(self, level: int, node: bytes) -> None:
        if level == len(self._files):
            fd, name = tempfile.mkstemp(prefix="archiver-tree-", dir=self._folder)
            os.unlink(name)  # anonymous: gone when closed, even after a crash
            self._files.append(fd)
            self._written.append(0)
            self._buffers.append(bytearray())
        buf = self._buffers[level]
        buf += node
        if len(buf) >= _LEVEL_BUFFER * _HASH:
            os.pwrite(self._files[level], buf, self._written[level] * _HASH)
            self._written[level] += len(buf) // _HASH
            buf.clear()

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def _perfect(self, level: int, index: int) -> bytes:
        written = self._written[level]
        if index >= written:
            start = (index - written) * _HASH
            return bytes(self._buffers[level][start:start + _HASH])
        return os.pread(self._files[level], _HASH, index * _HASH)

    def leaf(self, index: int) -> bytes:
        """The hash of leaf ``index``."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf {index} of a tree of {self.size}")
        return self._perfect(0, index)

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves ``start..end-1``, for ``start`` aligned as RFC 9162 subtrees are."""
        n = end - start
        if n <= 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and start % n == 0:
            return self._perfect(n.bit_length() - 1, start // n)
        k = _split(n)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        """The root of the first ``size`` leaves (default: all of them)."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"no tree of {size} leaves in a store of {self.size}")
        return self.subtree(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 §2.1.3.1."""
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ValueError(f"no leaf {index} in a tree of {size}")
        path: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            k = _split(end - start)
            if index - start < k:
                path.append(self.subtree(start + k, end))
                end = start + k
            else:
                path.append(self.subtree(start, start + k))
                start += k
        path.reverse()  # collected root-down; the proof lists leaf-up
        return path

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        """PROOF(old, D[new]) of RFC 9162 §2.1.4.1."""
        new = self.size if new is None else new
        if not 0 <= old <= new <= self.size:
            raise ValueError(f"no consistency proof from {old} to {new} leaves "
                             f"in a store of {self.size}")
        if old == 0 or old == new:
            return []
        path: list[bytes] = []
        start, end, whole = 0, new, True
        m = old
        while m != end - start:
            k = _split(end - start)
            if m <= k:
                path.append(self.subtree(start + k, end))
                end = start + k
            else:
                path.append(self.subtree(start, start + k))
                start, m, whole = start + k, m - k, False
        if not whole:
            path.append(self.subtree(start, end))
        path.reverse()
        return path


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show leaf ``index`` of a ``size``-leaf tree is ``leaf``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does ``proof`` show the ``old``-leaf tree is a prefix of the ``new``?"""
    if not 0 <= old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof  # the empty tree is a prefix of every tree
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0
