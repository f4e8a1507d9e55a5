"""How archiver hashes bytes: one block size, one file hasher, one digest-label codec.

Every streaming read in the package uses :data:`BLOCK_SIZE`. Files are hashed
by :func:`sha256_file` into lowercase hex, the form everything archiver writes
uses (manifests, ``records.jsonl``, reports, events). WARC headers carry
digests as labels, ``sha256:<RFC 4648 base32>``: :func:`sha256_label` writes
one, :func:`parse_digest` reads any algorithm in base32 or hex (foreign WARCs
use ``sha1:`` and hex too), and :func:`sha256_hex` is the sha256 case of it.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import mmap
import os
import threading
from pathlib import Path
from typing import IO, Any

__all__ = [
    "BLOCK_SIZE",
    "EMPTY_SHA256",
    "HashingReader",
    "HashingWriter",
    "parse_digest",
    "sha256_file",
    "sha256_hex",
    "sha256_label",
]

#: One block size for every read: large enough that Python's per-call cost
#: vanishes next to SHA-256, small enough to keep memory flat.
BLOCK_SIZE = 1 << 20

#: The sha256 of no bytes (an empty payload).
EMPTY_SHA256 = hashlib.sha256(b"").digest()

_LOCAL = threading.local()


def _buffer() -> bytearray:
    # One reusable buffer per thread: hashing 20,000 small files must not
    # allocate 20,000 megabytes of buffers, and threads hash files at once.
    buf: bytearray | None = getattr(_LOCAL, "buffer", None)
    if buf is None:
        buf = _LOCAL.buffer = bytearray(BLOCK_SIZE)
    return buf


#: Files at least this large are hashed through a memory map (see below).
MAP_THRESHOLD = 4 * BLOCK_SIZE
#: The size of one mapped window: the process never maps more of a file at once
#: (mapped pages count in its resident size: 8 MiB a thread keeps ``verify`` of
#: a 2 GB WARC under 35 MB, where 64 MiB windows took it to 90 MB).
MAP_WINDOW = 8 * BLOCK_SIZE


def sha256_file(path: Path | str) -> tuple[str, int]:
    """The lowercase hex SHA-256 and size of the file at ``path``, streamed.

    A regular file of :data:`MAP_THRESHOLD` bytes or more is hashed from the
    page cache through a read-only memory map, one :data:`MAP_WINDOW` at a
    time: ``read()`` would copy every byte into a buffer first, a sixth of the
    CPU of hashing it (the kernel's copy is what ``verify --jobs 2`` pays on
    top of ``openssl dgst``). Smaller files, and anything that cannot be mapped
    (pipes, some network file systems), are read in :data:`BLOCK_SIZE` blocks.
    A file that changes size while it is hashed raises :class:`OSError` naming
    it, so a digest of a file still being written is never reported as the
    file's. (As with every memory-mapped reader, ``b3sum`` among them, a file
    another program truncates while it is mapped ends the process with
    SIGBUS; archiver never truncates a sealed file, and a read-only check
    loses nothing by stopping.)

    Raises :class:`OSError` (missing, unreadable, a directory, a dangling link…).
    """
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size >= MAP_THRESHOLD and _hash_mapped(fh, size, digest):
            if os.fstat(fh.fileno()).st_size != size:
                raise OSError(errno.EAGAIN, "changed size while being hashed; verify it again",
                              str(path))
            return digest.hexdigest(), size
        size = 0
        buf = _buffer()
        view = memoryview(buf)
        while n := fh.readinto(buf):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


def _hash_mapped(fh: IO[bytes], size: int, digest: Any) -> bool:
    """Feed ``size`` bytes of ``fh`` to ``digest`` through mapped windows.

    Returns False, having fed nothing, when the file cannot be mapped.
    """
    offset = 0
    while offset < size:
        length = min(MAP_WINDOW, size - offset)
        try:
            window = mmap.mmap(fh.fileno(), length, offset=offset, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            if offset == 0:
                return False
            raise
        with window, memoryview(window) as view:
            # Sequential read-ahead; each update releases the GIL (over 2 KiB),
            # so threads hash files at once.
            if hasattr(window, "madvise"):  # not on Windows
                window.madvise(mmap.MADV_SEQUENTIAL)
            for start in range(0, length, BLOCK_SIZE):
                digest.update(view[start:start + BLOCK_SIZE])
        offset += length
    return True


def sha256_label(digest: bytes) -> str:
    """The WARC labelled form of a sha256 digest: ``sha256:`` + RFC 4648 base32."""
    return "sha256:" + base64.b32encode(digest).decode("ascii")


def parse_digest(value: str | None) -> tuple[str, str] | None:
    """``(algorithm, hex)`` from a WARC digest label (``sha256:BASE32``, ``sha1:HEX``…).

    The digest may be base32 (upper or lower case), hex, or base64 (standard
    or URL-safe alphabet).

    Returns ``None`` for an absent or unparseable value.
    """
    if not value or ":" not in value:
        return None
    alg, _, text = value.strip().partition(":")
    alg = alg.lower().replace("-", "")
    try:
        size = hashlib.new(alg).digest_size
    except ValueError:
        return None
    if len(text) == size * 2:
        try:
            return alg, bytes.fromhex(text).hex()
        except ValueError:
            pass  # (a padded base32 md5 is as long as its hex)
    for decode in (_b32, _b64, _b64url):
        raw = decode(text)
        if raw is not None and len(raw) == size:
            return alg, raw.hex()
    return None


# Foreign WARCs write digests in base32 (the custom), hex, and base64 in
# both alphabets (warcio's own test files have each).
def _b32(text: str) -> bytes | None:
    try:
        return base64.b32decode(text.upper() + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        return None


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _b64url(text: str) -> bytes | None:
    return _b64(text.replace("-", "+").replace("_", "/"))


def sha256_hex(label: str | None) -> str | None:
    """Lowercase hex of a sha256 digest label (base32 or hex form), else ``None``."""
    parsed = parse_digest(label)
    return parsed[1] if parsed is not None and parsed[0] == "sha256" else None


class HashingReader:
    """A read-only file wrapper that hashes every byte read through it (hash while copying)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.pos = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        self.pos += len(data)
        return data

    def tell(self) -> int:
        return self.pos

    def drain(self) -> None:
        """Read (and hash) the rest of the file."""
        while self.read(BLOCK_SIZE):
            pass


class HashingWriter:
    """A write-only file wrapper that counts and hashes every byte written through it."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        written: int = self.out.write(data)
        return written

    def flush(self) -> None:
        self.out.flush()
