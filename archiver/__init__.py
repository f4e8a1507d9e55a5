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
from .events import check_history
from .export import export_bagit
from .manifest import rebuild_manifest, record_ingest
from .problem import Problem, VerifyReport
from .root import ArchiveRoot
from .verify import verify as verify_archive  # the name `verify` stays the module's
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
    "Problem",
    "VerifyError",
    "VerifyReport",
    "WarcError",
    "__version__",
    "check_history",
    "export_bagit",
    "extract_article",
    "rebuild_manifest",
    "record_ingest",
    "verify_archive",
]
