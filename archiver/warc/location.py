"""Where WARCs are read from: a local path or an ``s3://bucket/key`` URL.

The commands that read WARCs named on the command line (``extract``,
``import``, ``verify --records PATH…``) and the Spark job take either. A
*location* is a :class:`~pathlib.Path` for a local file or folder, or the
URL string itself for S3 (a ``Path`` would fold the ``//``).

* :func:`parse_location` turns a command-line argument into a location.
* :func:`list_warcs` gives the WARC (and ARC) files a location names: a file
  is itself; a folder or an S3 prefix gives the WARCs under it, sorted (the
  same name rule as :mod:`archiver.warc.files`).
* :func:`open_read` opens one for a streaming read: a local file as it is; an
  S3 object through fsspec/s3fs with a bounded read-ahead buffer
  (:data:`S3_BLOCK_SIZE`), never the whole object in memory.
* :func:`open_range` opens the bytes ``[offset, offset + length)`` of one (a
  record range from an index), read with ranged GETs.

S3 is the optional ``s3`` extra (``pip install 'archiver[s3]'``): fsspec is
imported only when an ``s3://`` location is opened. The endpoint is the
``endpoint`` argument, else ``AWS_ENDPOINT_URL`` (``archiver --s3-endpoint``
sets it); credentials are the standard AWS ones (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``…), read by botocore. Every failure
to list or open is a :class:`LocationError`: one line naming the URL and what
to do (install the extra, set credentials, check the bucket, key or endpoint).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import LocationError
from .files import find_warc_files, is_warc_name

__all__ = [
    "S3_BLOCK_SIZE",
    "Location",
    "basename",
    "is_remote",
    "list_warcs",
    "location_name",
    "open_range",
    "open_read",
    "parse_location",
]

#: A local path, or an ``s3://`` URL kept as the string given.
Location = Path | str

#: Bytes fetched per ranged GET when streaming an S3 object (the read-ahead bound).
S3_BLOCK_SIZE = 4 << 20

S3_EXTRA = "reading s3:// URLs needs the s3 extra: pip install 'archiver[s3]'"
_SCHEMES = ("s3://", "s3a://")


def is_remote(location: Location | str) -> bool:
    """Whether ``location`` is an ``s3://`` URL rather than a local path."""
    return isinstance(location, str) and location.lower().startswith(_SCHEMES)


def parse_location(arg: str | Path) -> Location:
    """A command-line argument (or any string) as a location: an ``s3://`` URL
    stays a string (``s3a://``, Hadoop's spelling, is read as ``s3://``);
    anything else is a path. Every function here takes either form."""
    if isinstance(arg, str) and is_remote(arg):
        return "s3://" + arg.split("://", 1)[1]
    return Path(arg)


def location_name(location: Location) -> str:
    """How a location is named in output and errors: the URL, or the POSIX path."""
    return location if isinstance(location, str) else location.as_posix()


def basename(location: Location) -> str:
    """The file name of a location (the last part of the key for S3)."""
    if isinstance(location, str):
        return location.rstrip("/").rsplit("/", 1)[-1]
    return location.name


def list_warcs(location: Location, *, endpoint: str | None = None) -> list[Location]:
    """The WARC and ARC files ``location`` names, sorted: a file (or S3 object) is
    itself, whatever its name; a folder (or S3 prefix) the WARCs under it.

    Raises :class:`LocationError` when the location does not exist, or a
    folder or prefix holds no WARC.
    """
    location = parse_location(location)
    if not isinstance(location, str):
        if not location.exists():
            raise LocationError(location, "no such file or folder")
        if not location.is_dir():
            return [location]
        found: list[Location] = list(find_warc_files(location))
        if not found:
            raise LocationError(location, "no WARC files (*.warc.gz, *.warc, *.arc.gz, *.arc) "
                                "in this folder; give WARC files or a folder that holds some")
        return found
    fs, key = _s3(location, endpoint)
    try:
        if key.count("/") and fs.isfile(key):
            return [location]
        bucket = key.split("/", 1)[0]
        fs.call_s3("head_bucket", Bucket=bucket)  # (a missing bucket, not an empty list)
        names = sorted(name for name in fs.find(key.rstrip("/"))
                       if is_warc_name(name.rsplit("/", 1)[-1]))
    except LocationError:
        raise
    except Exception as exc:
        raise _s3_error(location, exc) from exc
    if not names and is_warc_name(basename(location)):
        raise LocationError(location, "no such object (nor WARCs under it as a prefix); "
                            "check the URL")
    if not names:
        raise LocationError(location, "no WARC files (*.warc.gz, *.warc, *.arc.gz, *.arc) "
                            "under this prefix; check the URL")
    return [f"s3://{name}" for name in names]


def open_read(location: Location, *, endpoint: str | None = None) -> BinaryIO:
    """``location`` opened for reading from its start, streaming and seekable.

    A local file is opened as it is (its :class:`OSError` as it is); an S3
    object reads :data:`S3_BLOCK_SIZE` bytes ahead at most, and any failure
    (also in a later read) is a :class:`LocationError`, itself an ``OSError``.
    """
    location = parse_location(location)
    if not isinstance(location, str):
        return open(location, "rb")
    fs, key = _s3(location, endpoint)
    try:
        handle = fs.open(key, "rb", block_size=S3_BLOCK_SIZE, cache_type="readahead")
    except Exception as exc:
        raise _s3_error(location, exc) from exc
    return io.BufferedReader(_S3Stream(location, handle), buffer_size=64 * 1024)


def open_range(location: Location, offset: int, length: int, *,
               endpoint: str | None = None) -> BinaryIO:
    """The ``length`` bytes of ``location`` from ``offset`` (one record's range, from
    an index), as a stream whose positions start at 0 and that ends after them.

    Only that range is read (for S3, ranged GETs of at most ``length`` bytes
    each). Errors as :func:`open_read`.
    """
    if offset < 0 or length < 0:
        raise ValueError(f"offset and length must be >= 0, not {offset}, {length}")
    location = parse_location(location)
    if isinstance(location, str):
        fs, key = _s3(location, endpoint)
        try:
            handle = fs.open(key, "rb", block_size=max(1, min(length, S3_BLOCK_SIZE)),
                             cache_type="readahead")
        except Exception as exc:
            raise _s3_error(location, exc) from exc
        inner: Any = _S3Stream(location, handle)
    else:
        inner = open(location, "rb")  # noqa: SIM115 (closed with the window)
    try:
        inner.seek(offset)
    except BaseException:
        inner.close()
        raise
    return io.BufferedReader(_Window(inner, length), buffer_size=64 * 1024)


class _S3Stream(io.RawIOBase):
    """An s3fs file whose every failure is a :class:`LocationError` naming the URL."""

    def __init__(self, url: str, handle: Any) -> None:
        self.url = url
        self.handle = handle

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.handle.read(len(buffer))
        except Exception as exc:
            raise _s3_error(self.url, exc) from exc
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return int(self.handle.seek(offset, whence))

    def tell(self) -> int:
        return int(self.handle.tell())

    def close(self) -> None:
        if not self.closed:
            self.handle.close()
        super().close()


class _Window(io.RawIOBase):
    """The next ``length`` bytes of a stream; closes it when closed."""

    def __init__(self, inner: Any, length: int) -> None:
        self.inner = inner
        self.left = length
        self.pos = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self.left)
        if want <= 0:
            return 0
        data = self.inner.read(want)
        buffer[: len(data)] = data
        self.left -= len(data)
        self.pos += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.inner.close()
        super().close()


def _s3(url: str, endpoint: str | None) -> tuple[Any, str]:
    """The S3 file system for ``endpoint`` and the ``bucket/key`` of ``url``."""
    key = url.split("://", 1)[1]
    if not key.strip("/"):
        raise LocationError(url, "no bucket in this URL; give s3://BUCKET/KEY or a prefix")
    try:
        import fsspec
        import s3fs  # noqa: F401 (fsspec finds it; imported here to say what is missing)
    except ImportError as exc:
        raise LocationError(url, S3_EXTRA) from exc
    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL") or None
    # Listings are not cached: a prefix is listed as it is now. Failed
    # connections are retried once, then reported (a wrong endpoint must not
    # hang a batch); fsspec keeps one instance per endpoint and process.
    fs = fsspec.filesystem(
        "s3", endpoint_url=endpoint, use_listings_cache=False,
        config_kwargs={"connect_timeout": 10, "read_timeout": 60,
                       "retries": {"max_attempts": 2, "mode": "standard"}})
    return fs, key


def _s3_error(url: str, exc: BaseException) -> LocationError:
    """One line for a failed S3 call: what failed and what to do."""
    name = type(exc).__name__
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else name
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if isinstance(exc, LocationError):
        return exc
    if "Credentials" in name or "credentials" in detail.lower():
        return LocationError(url, "no S3 credentials found: set AWS_ACCESS_KEY_ID and "
                             "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)")
    if isinstance(exc, FileNotFoundError):
        return LocationError(url, f"no such bucket or object ({detail}); check the URL"
                             + ("" if endpoint else " and --s3-endpoint"))
    if isinstance(exc, PermissionError):
        return LocationError(url, f"access denied ({detail}); check the credentials "
                             "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_PROFILE)")
    if "Endpoint" in name or "Connect" in name or isinstance(exc, ConnectionError):
        where = endpoint or "the default AWS endpoint"
        return LocationError(url, f"cannot connect to the S3 endpoint {where} ({detail}); "
                             "check --s3-endpoint or AWS_ENDPOINT_URL")
    return LocationError(url, f"cannot read: {name}: {detail}")
