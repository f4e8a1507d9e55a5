"""archiver: archival ingest and fixity for web evidence.

Three jobs, one pipeline: capture pages into standard WARC/1.1 files
(:mod:`archiver.capture`), extract clean article text from them
(:mod:`archiver.article`), and verify the archive's fixity over time with
SHA-256 manifests (:mod:`archiver.verify`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from .article import Article, extract_article
    from .capture import CaptureReport, capture_urls
    from .events import check_history
    from .export import export_bagit
    from .manifest import rebuild_manifest, record_ingest
    from .problem import Problem, VerifyReport
    from .settings import CaptureSettings
    from .verify import verify as verify_archive

# Loaded on first use, so `archiver capture` does not pay for lxml and bs4,
# nor `archiver extract` for requests (PEP 562).
_LAZY: dict[str, tuple[str, str]] = {
    "Article": ("article", "Article"),
    "extract_article": ("article", "extract_article"),
    "CaptureReport": ("capture", "CaptureReport"),
    "capture_urls": ("capture", "capture_urls"),
    "CaptureSettings": ("settings", "CaptureSettings"),
    "check_history": ("events", "check_history"),
    "export_bagit": ("export", "export_bagit"),
    "rebuild_manifest": ("manifest", "rebuild_manifest"),
    "record_ingest": ("manifest", "record_ingest"),
    "Problem": ("problem", "Problem"),
    "VerifyReport": ("problem", "VerifyReport"),
    "verify_archive": ("verify", "verify"),  # the name `verify` stays the module's
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ArchiveRoot",
    "ArchiveRootError",
    "ArchiverError",
    "Article",
    "CaptureError",
    "CaptureReport",
    "CaptureSettings",
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
    "capture_urls",
    "check_history",
    "export_bagit",
    "extract_article",
    "rebuild_manifest",
    "record_ingest",
    "verify_archive",
]
