"""The command line: a thin layer over the library.

Each command parses its options, builds settings, calls one library function,
renders the result and picks the exit code. Results go to stdout, logs and
progress to stderr. Exit codes: 0 all good, 1 some item failed or a problem
was found, 2 usage or set-up error.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from .errors import ArchiverError
from .root import ArchiveRoot
from .version import __version__

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class Context:
    """What every command gets: the archive root and the verbosity."""

    def __init__(self, root: Path | None, quiet: bool, verbose: int) -> None:
        self.root_arg = root
        self.quiet = quiet
        self.verbose = verbose

    @property
    def root(self) -> ArchiveRoot:
        return ArchiveRoot.resolve(self.root_arg)


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="archiver")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ARCHIVER_ROOT",
    help="Archive root holding warcs/ and manifests/ (default: $ARCHIVER_ROOT, else the cwd).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, root: Path | None, quiet: bool, verbose: int) -> None:
    """Capture web pages into WARC/1.1, extract articles, and verify fixity."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    ctx.obj = Context(root, quiet, verbose)


def fail(exc: ArchiverError) -> None:
    """Print one clear line for a set-up error and exit 2."""
    click.echo(f"archiver: error: {exc}", err=True)
    sys.exit(EXIT_USAGE)


def main() -> None:
    """Console-script entry point."""
    cli()
