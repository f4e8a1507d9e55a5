"""archiver: archival ingest and fixity for web evidence.

Three jobs, one pipeline: capture pages into standard WARC/1.1 files
(:mod:`archiver.capture`), extract clean article text from them
(:mod:`archiver.article`), and verify the archive's fixity over time with
SHA-256 manifests (:mod:`archiver.verify`).
"""

from __future__ import annotations

from .article import Article, extract_article
from .errors import (
    ArchiverError,
    ArchiveRootError,
    CaptureError,
    CatalogError,
    ConfigError,
    ExtractError,
    FetchError,
    InvalidURLError,
    LockError,
    ManifestError,
    VerifyError,
    WarcError,
)
from .root import ArchiveRoot
from .version import __version__

__all__ = [
    "ArchiveRoot",
    "ArchiveRootError",
    "ArchiverError",
    "Article",
    "CaptureError",
    "CatalogError",
    "ConfigError",
    "ExtractError",
    "FetchError",
    "InvalidURLError",
    "LockError",
    "ManifestError",
    "VerifyError",
    "WarcError",
    "__version__",
    "extract_article",
]
