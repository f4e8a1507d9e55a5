"""The one exception tree of archiver.

Every error the library raises on purpose derives from :class:`ArchiverError`.
Each carries the URL or path it is about as a structured field, and its
message is one line naming that URL or path and, where there is one, the fix::

    ArchiverError
    ├── ConfigError            bad option or setting (names the option)
    ├── ArchiveRootError       the archive root is unusable (names the path)
    │   └── LockError          another run holds the archive's writer lock
    ├── CaptureError           one URL could not be captured (names the URL)
    │   ├── InvalidURLError    not a URL, or a scheme we do not fetch
    │   └── FetchError         network or HTTP failure; ``reason`` is a short code
    ├── WarcError              a WARC file is unreadable or damaged (path, offset)
    │   └── LocationError      a WARC location (path or s3:// URL) cannot be listed or opened
    ├── WarcImportError        a file given to import was refused (path, why, remedy)
    ├── CatalogError           the capture catalog is unreadable (path)
    ├── ExtractError           a page cannot be turned into an article
    ├── ManifestError          a manifest or event log is malformed (path, line)
    ├── VerifyError            fixity verification could not run (path)
    ├── ExportError            an export stopped: a file differs from its manifest (path)
    ├── TimestampError         a TSA or signing key could not be used (names the URL or path)
    ├── ProveError             no evidence package for this capture (names the URL, ID or path)
    └── ReplayError            replay could not start (the missing extra, a busy port)
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

__all__ = [
    "ArchiveRootError",
    "ArchiverError",
    "CaptureError",
    "CatalogError",
    "ConfigError",
    "ExportError",
    "ExtractError",
    "FailureReason",
    "FetchError",
    "InvalidURLError",
    "LocationError",
    "LockError",
    "ManifestError",
    "ProveError",
    "ReplayError",
    "TimestampError",
    "VerifyError",
    "WarcError",
    "WarcImportError",
]


class ArchiverError(Exception):
    """Base of every error archiver raises on purpose."""


class ConfigError(ArchiverError):
    """An option or setting has a value we cannot use."""


class ArchiveRootError(ArchiverError):
    """The archive root (``--root``, ``$ARCHIVER_ROOT`` or the cwd) is unusable."""

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path}: {message}")


class LockError(ArchiveRootError):
    """Another process holds the archive root's writer lock."""


class CaptureError(ArchiverError):
    """A URL could not be captured."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.message = message  # without the URL, for messages that wrap this one
        super().__init__(f"{url}: {message}")


class InvalidURLError(CaptureError):
    """The input is not an absolute http(s) URL."""


class FailureReason(StrEnum):
    """Why a capture failed: the stable codes the catalog, the WARC metadata
    record, ``archiver list --json`` and the README's table use."""

    INVALID = "invalid"
    DNS = "dns"
    REFUSED = "refused"
    CONNECT_TIMEOUT = "connect-timeout"
    TLS = "tls"
    TIMEOUT = "timeout"
    DEADLINE = "deadline"
    RESET = "reset"
    MALFORMED = "malformed"
    HTTP_ERROR = "http-error"
    REDIRECT_LOOP = "redirect-loop"
    TOO_MANY_REDIRECTS = "too-many-redirects"
    PRIVATE_REDIRECT = "private-redirect"
    PRIVATE_REQUISITE = "private-requisite"
    HOST_DOWN = "host-down"
    BROWSER = "browser"
    DISK_FULL = "disk-full"
    IO = "io"


class FetchError(CaptureError):
    """A network or HTTP failure while fetching ``url``; ``reason`` says which kind."""

    def __init__(self, url: str, reason: FailureReason, message: str) -> None:
        self.reason = reason
        super().__init__(url, message)


def _named(path: Path | str) -> str:
    """A path as given, or a URL (``s3://…``) as given (a Path would fold its ``//``)."""
    return path if isinstance(path, str) and "://" in path else str(Path(path))


class WarcError(ArchiverError):
    """A WARC file is unreadable or damaged."""

    def __init__(self, path: Path | str, message: str, *, offset: int | None = None) -> None:
        self.path = Path(path)
        #: The file or URL as named in the message.
        self.name = _named(path)
        self.offset = offset
        where = self.name if offset is None else f"{self.name} at offset {offset}"
        super().__init__(f"{where}: {message}")


class LocationError(WarcError, OSError):
    """A WARC location (local path or ``s3://`` URL) cannot be listed or opened:
    a missing extra, credentials, bucket or object, or an unreachable endpoint.
    An ``OSError`` too, so readers report it as they report an unreadable file."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(path, message)
        self.reason = message

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


class WarcImportError(ArchiverError):
    """A file given to ``import`` was refused; nothing of it entered the archive."""

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = Path(path)
        super().__init__(f"{_named(path)}: {message}")


class CatalogError(ArchiverError):
    """The capture catalog database cannot be used."""

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path}: {message}")


class ExtractError(ArchiverError):
    """A page cannot be turned into an article (names the URL or file if known)."""

    def __init__(self, source: str | None, message: str) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class ManifestError(ArchiverError):
    """A manifest, record index or event log is malformed."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        where = f"{self.path}" if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {message}")


class VerifyError(ArchiverError):
    """Fixity verification could not run at all (not: found problems)."""

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path}: {message}")


class ExportError(ArchiverError):
    """An export was stopped: a file to export does not match the manifest.

    Nothing is left at the destination; the archive needs checking first.
    """

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path}: {message}")


class TimestampError(ArchiverError):
    """A Time-Stamp Authority, its token or the operator's signing key could not be used."""

    def __init__(self, source: Path | str, message: str) -> None:
        self.source = str(source)  # the TSA URL, or the path of a key, certificate or token
        super().__init__(f"{source}: {message}")


class ProveError(ArchiverError):
    """An evidence package cannot be made: no such capture, or no timestamp covers it yet."""

    def __init__(self, target: str, message: str) -> None:
        self.target = target  # the URL, record ID or path it is about
        super().__init__(f"{target}: {message}")


class ReplayError(ArchiverError):
    """``archiver replay`` could not serve the archive; the message says what to do."""
