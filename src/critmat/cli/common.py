"""Helpers shared by every CLI command: consoles, the knowledge base, output, errors.

The options themselves are built from :mod:`critmat.params` in :mod:`critmat.cli.options`.
Nothing heavy is imported here (pandas, the knowledge base and the writers load inside the
helpers that use them), so that ``critmat --version`` and ``--help`` start at once
(docs/design.md, "CLI modules import heavy libraries inside commands").
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer
from rich.console import Console

from critmat.cli.options import (
    DataDir,
    Exporters,
    Format,
    GroupBy,
    Importers,
    Materials,
    NoUserData,
    Out,
    Stage,
    Years,
)
from critmat.errors import CritmatError, DataValidationError

if TYPE_CHECKING:
    import pandas as pd

    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "DataDirOpt",
    "ExportersOpt",
    "FormatOpt",
    "GroupByOpt",
    "ImportersOpt",
    "MaterialsOpt",
    "NoUserDataOpt",
    "OutOpt",
    "StageOpt",
    "YearsOpt",
    "console",
    "emit",
    "err_console",
    "fail",
    "is_screen",
    "open_kb",
    "report_error",
    "reports_errors",
    "shown",
]


def _console(stderr: bool = False) -> Console:
    # Rich falls back to 80 columns when output is not a terminal (pipes, CI logs); wide
    # tables of indicators then fold every cell. Use 160 columns there unless COLUMNS is set.
    probe = Console(stderr=stderr)
    if probe.is_terminal or "COLUMNS" in os.environ:
        return probe
    return Console(stderr=stderr, width=160)


P = ParamSpec("P")
R = TypeVar("R")

console = _console()
err_console = _console(stderr=True)

# the option aliases of the earlier API, now built from critmat.params (cli/options.py)
DataDirOpt = DataDir
NoUserDataOpt = NoUserData
FormatOpt = Format
OutOpt = Out
MaterialsOpt = Materials
ImportersOpt = Importers
ExportersOpt = Exporters
YearsOpt = Years
StageOpt = Stage
GroupByOpt = GroupBy


def open_kb(data_dir: Path | None, no_user_data: bool = False) -> KnowledgeBase:
    """Open the knowledge base for a command."""
    from critmat.knowledge_base import KnowledgeBase

    return KnowledgeBase(data_dir, user_data=not no_user_data)


def is_screen(fmt: str | None, out: Path | None) -> bool:
    """Whether the result goes to the terminal as a table (not to a file or a format)."""
    return fmt in (None, "table") and out is None


def shown(
    frame: pd.DataFrame, fmt: str | None, out: Path | None, columns: list[str]
) -> pd.DataFrame:
    """All columns for files and machine formats; the readable subset for the terminal."""
    if not is_screen(fmt, out):
        return frame
    out_frame = frame[[c for c in columns if c in frame.columns]]
    out_frame.attrs = dict(frame.attrs)
    return out_frame


def emit(
    frame: pd.DataFrame,
    fmt: str | None,
    out: Path | None,
    *,
    title: str | None = None,
    max_rows: int = 60,
) -> None:
    """Print or write a result frame and say where it went."""
    from critmat.output import write_frame

    written = write_frame(frame, fmt=fmt, out=out, title=title, max_rows=max_rows)
    if written is not None:
        err_console.print(f"wrote {len(frame):,} rows to {written}")


def report_error(exc: CritmatError, report: Path | None = None) -> None:
    """Print a critmat error to stderr; for validation errors a table of every problem."""
    if isinstance(exc, DataValidationError):
        from rich.table import Table

        n = len(exc.problems)
        head = f"[bold red]{n} problem{'s' if n != 1 else ''}[/]"
        if exc.source:
            head += f" in {exc.source}"
        if exc.table:
            head += f" (table '{exc.table}')"
        err_console.print(head + "; nothing was imported.")
        t = Table(show_lines=False, header_style="bold")
        for col in ("row", "column", "value", "problem", "expected", "did you mean"):
            t.add_column(col, overflow="fold")
        for p in exc.problems[:50]:
            t.add_row(
                "" if p.row is None else str(p.row),
                p.column or "",
                p.value or "",
                p.message,
                p.expected or "",
                ", ".join(p.suggestions[:3]),
            )
        err_console.print(t)
        if n > 50:
            err_console.print(f"... and {n - 50} more; use --report FILE to write them all")
        if report is not None:
            report.write_text(json.dumps(exc.to_dict(), indent=2) + "\n", encoding="utf-8")
            err_console.print(f"full report written to {report}")
        return
    err_console.print(f"[bold red]error:[/] {exc.message}")


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command so that a critmat error is reported (not a traceback) and exits 2/1.

    Typer still sees the command's own signature (``functools.wraps`` keeps it).
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CritmatError as exc:
            raise fail(exc) from None

    return wrapper


def fail(exc: CritmatError, report: Path | None = None) -> typer.Exit:
    """Report ``exc`` and return the Exit to raise (code 2 for bad input, 1 otherwise)."""
    report_error(exc, report)
    return typer.Exit(code=2 if isinstance(exc, ValueError | KeyError) else 1)
