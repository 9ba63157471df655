"""Helpers shared by every CLI command: consoles, the knowledge base, output, errors.

The options themselves are built from :mod:`critmat.params` in :mod:`critmat.cli.options`.
Nothing heavy is imported here (pandas, the knowledge base and the writers load inside the
helpers that use them), so that ``critmat --version`` and ``--help`` start at once
(docs/design.md, "CLI modules import heavy libraries inside commands").

The error boundary of the CLI is :func:`reports_errors` (every command is decorated with it,
and :func:`critmat.cli.app.main` applies the same handling to anything that escapes):

* a critmat error is printed as its message (a table of problems for invalid files);
* a failure of the operating system or of DuckDB, Arrow/Parquet, YAML or pandas is
  explained by :func:`critmat.errors.explain` (the file, what went wrong, what to do);
* anything else is an internal error; the traceback of every non-input failure goes to a
  log file (:func:`log_path`: the platform user log folder, else the data directory if
  writable, else the temporary folder) whose path is printed. No traceback reaches stdout
  or stderr.

Exit codes: 0 success; 1 a failure (storage, damaged state, a library, a bug); 2 bad input
(an unknown name, an invalid file or option); 3 no result for the selection (the message
says why); 130 interrupted.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

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
    running_params,
)
from critmat.errors import (
    CritmatError,
    DataValidationError,
    NoResultError,
    explain,
    shorten,
)

if TYPE_CHECKING:
    import pandas as pd

    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_NO_RESULT",
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
    "check_out",
    "console",
    "emit",
    "emit_report",
    "emit_text",
    "err_console",
    "fail",
    "handle_exception",
    "is_screen",
    "log_path",
    "open_kb",
    "output_options",
    "report_error",
    "reports_errors",
    "shown",
]

#: Exit codes of every command (documented in the module docstring and the README).
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_NO_RESULT = 3
EXIT_INTERRUPTED = 130


def _console(stderr: bool = False) -> Console:
    # A terminal keeps its width; piped output follows COLUMNS (Rich reads it), else 160
    # (wide tables of indicators would fold every cell at Rich's fallback of 80).
    probe = Console(stderr=stderr)
    if probe.is_terminal or os.environ.get("COLUMNS", "").isdigit():
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


def output_options() -> dict[str, Any]:
    """``force`` and ``data_dir`` of the running command (from its options), for the writer."""
    from critmat.data.userdata import default_data_dir

    params = running_params()

    data_dir = params.get("data_dir") or default_data_dir()
    return {"force": bool(params.get("force", False)), "data_dir": data_dir}


def _say(text: str) -> None:
    err_console.print(text, highlight=False)


def check_out(path: Path | None, *, what: str = "--out", report: bool = False) -> None:
    """Check an output file before the work starts (exists without --force, data dir, suffix).

    Commands that compute for a while call this first, so a bad ``--out``/``--report`` fails
    in a second, not after the run.
    """
    if path is None:
        return
    from critmat.output import check_target, report_format

    if report:
        report_format(path, what=what)
    opts = output_options()
    check_target(path, force=opts["force"], data_dir=opts["data_dir"], what=what)


def _why_empty(frame: pd.DataFrame) -> str:
    params = running_params()
    shown_params = [
        f"--{k.replace('_', '-')} {v}"
        for k, v in params.items()
        if k in ("materials", "importers", "exporters", "years", "year", "stage", "countries")
        and v not in (None, "", [])
    ]
    selection = f" for {', '.join(shown_params)}" if shown_params else ""
    from critmat.provenance import provenance_of

    prov = provenance_of(frame) or {}
    tables = sorted(
        {str(t) for t in (prov.get("tables") or prov.get("inputs") or []) if isinstance(t, str)}
    )
    used = f" (tables used: {', '.join(tables)})" if tables else ""
    return (
        f"no result{selection}: the knowledge base holds no rows for this selection{used}; "
        "`critmat data describe TABLE` shows the materials, countries and years a table covers"
    )


def emit(
    frame: pd.DataFrame,
    fmt: str | None,
    out: Path | None,
    *,
    title: str | None = None,
    max_rows: int = 60,
    empty_ok: bool = False,
) -> None:
    """Print or write a result frame and say where it went.

    An empty result is not printed as an empty table: it raises
    :class:`~critmat.errors.NoResultError` saying why (exit code 3), unless ``empty_ok``
    (lists that may be empty, such as stored runs).
    """
    if frame.empty and not empty_ok:
        raise NoResultError(_why_empty(frame))
    from critmat.output import write_frame

    opts = output_options()
    written = write_frame(
        frame,
        fmt=fmt,
        out=out,
        title=title,
        max_rows=max_rows,
        force=opts["force"],
        data_dir=opts["data_dir"],
        say=_say,
        width=console.width if console.is_terminal else None,
    )
    if written is not None:
        err_console.print(f"wrote {len(frame):,} rows to {written}", highlight=False)


def emit_report(report: Any, path: Path | None, *, what: str = "--report") -> list[Path]:
    """Write a report (:class:`critmat.report.Report`) through the one writer; say where."""
    if path is None:
        return []
    from critmat.output import write_report

    opts = output_options()
    written = write_report(
        report, path, force=opts["force"], data_dir=opts["data_dir"], what=what, say=_say
    )
    err_console.print("wrote report " + ", ".join(map(str, written)), highlight=False)
    return written


def emit_text(text: str, path: Path, *, what: str = "--out") -> Path:
    """Write a text file (a specification, a problems report) through the one writer."""
    from critmat.output import write_text

    opts = output_options()
    written = write_text(
        path, text, force=opts["force"], data_dir=opts["data_dir"], what=what, say=_say
    )
    err_console.print(f"wrote {written}", highlight=False)
    return written


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
                shorten(p.value or "", 300),
                shorten(p.message, 300),
                p.expected or "",
                ", ".join(p.suggestions[:3]),
            )
        err_console.print(t)
        if n > 50:
            err_console.print(f"... and {n - 50} more; use --report FILE to write them all")
        if report is not None:
            emit_text(json.dumps(exc.to_dict(), indent=2) + "\n", report, what="--report")
        return
    err_console.print(f"[bold red]error:[/] {shorten(exc.message, 2000)}", highlight=False)


def log_path() -> Path:
    """The log file of tracebacks: the user log folder, else the data dir, else the temp dir."""
    candidates: list[Path] = []
    with contextlib.suppress(Exception):  # no platform folder: try the next place
        from platformdirs import user_log_dir

        candidates.append(Path(user_log_dir("critmat", appauthor=False)))
    with contextlib.suppress(Exception):
        candidates.append(Path(output_options()["data_dir"]) / "logs")
    candidates.append(Path(tempfile.gettempdir()) / "critmat-logs")
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / "critmat.log"
            with target.open("a", encoding="utf-8"):
                pass
            return target
        except OSError:
            continue
    return candidates[-1] / "critmat.log"


def _log(exc: BaseException) -> Path | None:
    """Append the traceback of ``exc`` to the log file; its path (``None`` if unwritable)."""
    try:
        target = log_path()
        stamp = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        with target.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {stamp} critmat {' '.join(sys.argv[1:])}\n")
            fh.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        return target
    except OSError:
        return None


def handle_exception(exc: BaseException, report: Path | None = None) -> typer.Exit:
    """The error boundary: report ``exc`` readably and return the Exit to raise.

    Critmat errors are reported as they are; failures of the OS and libraries are explained
    (:func:`critmat.errors.explain`) and their traceback logged; anything else is an internal
    error with the log file's path. Never prints a traceback.
    """
    if isinstance(exc, KeyboardInterrupt):
        err_console.print("interrupted; nothing half-written was kept")
        return typer.Exit(code=EXIT_INTERRUPTED)
    explained = explain(exc)
    if isinstance(explained, CritmatError) and explained is exc:
        return fail(explained, report)
    logged = _log(exc)
    where = f" (details in {logged})" if logged is not None else ""
    if explained is not None:
        report_error(explained)
        if logged is not None:
            err_console.print(f"details: {logged}", highlight=False)
        return typer.Exit(code=EXIT_FAILURE)
    err_console.print(
        f"[bold red]internal error:[/] {type(exc).__name__}: {shorten(exc, 300)}{where}; "
        "this is a bug in critmat: please report it with that file",
        highlight=False,
    )
    return typer.Exit(code=EXIT_FAILURE)


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command with the CLI's error boundary (:func:`handle_exception`).

    Typer still sees the command's own signature (``functools.wraps`` keeps it).
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:  # the boundary: every failure is reported
            if type(exc).__module__.startswith(("click", "typer")):
                raise  # usage errors: click prints them with the usage line
            raise handle_exception(exc) from None
        except KeyboardInterrupt as exc:
            raise handle_exception(exc) from None

    return wrapper


def fail(exc: CritmatError, report: Path | None = None) -> typer.Exit:
    """Report ``exc`` and return the Exit to raise (2 bad input, 3 no result, 1 otherwise)."""
    report_error(exc, report)
    if isinstance(exc, NoResultError):
        return typer.Exit(code=EXIT_NO_RESULT)
    return typer.Exit(code=EXIT_BAD_INPUT if isinstance(exc, ValueError | KeyError) else 1)
