"""archiver: archival ingest and fixity for web evidence.

Three jobs, one pipeline: capture pages into standard WARC/1.1 files
(:mod:`archiver.capture.run`), extract clean article text from them
(:mod:`archiver.extract.article`), and verify the archive's fixity over time with
SHA-256 manifests (:mod:`archiver.fixity.verification`).
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
    ExportError,
    ExtractError,
    FailureReason,
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
    from .capture.run import CaptureReport, capture_urls
    from .capture.settings import CaptureSettings
    from .extract.article import Article, extract_article
    from .extract.kind import PageKind
    from .fixity.bagit import export_bagit
    from .fixity.events import check_history
    from .fixity.manifest import rebuild_manifest, record_ingest
    from .fixity.problem import Problem, VerifyReport
    from .fixity.verification import verify_archive

# Loaded on first use, so `archiver capture` does not pay for lxml and bs4,
# nor `archiver extract` for requests (PEP 562).
_LAZY: dict[str, tuple[str, str]] = {
    "Article": ("extract.article", "Article"),
    "extract_article": ("extract.article", "extract_article"),
    "PageKind": ("extract.kind", "PageKind"),
    "CaptureReport": ("capture.run", "CaptureReport"),
    "capture_urls": ("capture.run", "capture_urls"),
    "CaptureSettings": ("capture.settings", "CaptureSettings"),
    "check_history": ("fixity.events", "check_history"),
    "export_bagit": ("fixity.bagit", "export_bagit"),
    "rebuild_manifest": ("fixity.manifest", "rebuild_manifest"),
    "record_ingest": ("fixity.manifest", "record_ingest"),
    "Problem": ("fixity.problem", "Problem"),
    "VerifyReport": ("fixity.problem", "VerifyReport"),
    "verify_archive": ("fixity.verification", "verify_archive"),
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
    "ExportError",
    "ExtractError",
    "FailureReason",
    "FetchError",
    "InvalidURLError",
    "LockError",
    "ManifestError",
    "PageKind",
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
