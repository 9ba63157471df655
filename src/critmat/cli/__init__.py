"""Command-line interface (Typer + Rich): thin commands over the library.

:func:`main` is the ``critmat`` console script. ``critmat --version`` (or ``-V``) alone is
answered here, from the dataset's ``datapackage.json``, before Typer, Rich or any command
module is imported; everything else goes to :func:`critmat.cli.app.main`.
"""

from __future__ import annotations

import sys

__all__ = ["main", "version_text"]


def version_text() -> str:
    """The ``critmat --version`` line: package version, dataset version and content hash.

    Read from the embedded ``datapackage.json`` (JSON only: no pandas, DuckDB or Parquet).
    """
    from critmat._version import __version__
    from critmat.data.catalog import Catalog

    cat = Catalog.load()
    return f"critmat {__version__} (dataset {cat.version}, hash {cat.content_hash})"


def main() -> None:
    """Entry point of the ``critmat`` console script."""
    if sys.argv[1:] in (["--version"], ["-V"]):
        print(version_text())
        return
    from critmat.cli.app import main as run

    run()
