"""The package version, in one place (the User-Agent and warcinfo records quote it)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__: str = version("archiver")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

SOFTWARE = f"archiver/{__version__}"
