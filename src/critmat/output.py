"""Write result frames as a readable table or as CSV, JSON, Parquet or XLSX files.

This is the one writer of every file critmat writes for a user (``--out``, ``--report``,
``--html``, a preset's YAML): :func:`check_target` refuses to overwrite an existing file
unless ``force`` is given and refuses any path inside a critmat data directory; missing
parent folders are created (and said so); every file is written to a temporary file in the
same folder and renamed into place (:func:`atomic_write`), so a failure never leaves half a
file; text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab,
carriage return at the start; OWASP "CSV injection") are prefixed with ``'`` in CSV and XLSX
(:func:`neutralise_formulas`; critmat's reader removes the ``'`` again, so files round-trip),
and XLSX sheet titles are made valid (:func:`sheet_title`).

Files get a provenance sidecar ``<file>.provenance.json`` when the frame carries provenance
(pandas ``attrs`` do not travel inside CSV), with the description, unit and allowed values
of every column of known results (:func:`critmat.columns.describe`). Printed tables use the
one number formatter of :mod:`critmat.report.format`. Used by the CLI; usable from Python.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd

from critmat.columns import describe, family_of
from critmat.data.io import FORMULA_START
from critmat.errors import OutputError, StorageError, closest
from critmat.params import OUTPUT_FORMATS
from critmat.provenance import provenance_of
from critmat.report.format import format_number
from critmat.report.terminal import frame_table

if TYPE_CHECKING:
    from critmat.report.builder import Report

__all__ = [
    "FORMATS",
    "OutputError",
    "atomic_write",
    "check_target",
    "format_number",
    "infer_format",
    "neutralise_formulas",
    "render_table",
    "report_format",
    "report_formats",
    "sheet_title",
    "sidecar",
    "write_bytes",
    "write_frame",
    "write_report",
    "write_text",
]

#: ``say(text)``: where the writer tells what it did besides writing (a folder created).
Say = Callable[[str], None]

#: Output formats every frame-printing command accepts.
FORMATS = OUTPUT_FORMATS

_BY_SUFFIX = {
    ".csv": "csv",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".txt": "table",
}


def infer_format(fmt: str | None, out: Path | None) -> str:
    """Return the output format: the one given, else from ``out``'s suffix, else ``table``."""
    if fmt:
        if fmt not in FORMATS:
            hint = closest(fmt, list(FORMATS))
            raise OutputError(
                f"unknown format '{fmt}'; expected one of {', '.join(FORMATS)}"
                + (f" (did you mean '{hint[0]}'?)" if hint else "")
            )
        return fmt
    if out is not None:
        return _BY_SUFFIX.get(out.suffix.lower(), "table")
    return "table"


def _json_default(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if pd.isna(value):
        return None
    return str(value)


def _records_json(frame: pd.DataFrame) -> str:
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return json.dumps(records, default=_json_default, ensure_ascii=False, indent=1)


# ----------------------------------------------------------------------------- the writer


def _protected_dirs(data_dir: str | os.PathLike[str] | None) -> list[Path]:
    from critmat.data.userdata import default_data_dir

    dirs = [Path(data_dir)] if data_dir is not None else []
    with contextlib.suppress(Exception):  # no platform folder: nothing more to protect
        dirs.append(default_data_dir())
    out = []
    for d in dirs:
        with contextlib.suppress(OSError):
            out.append(d.expanduser().resolve())
    return out


def check_target(
    path: str | os.PathLike[str],
    *,
    force: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    what: str = "--out",
    also: Iterable[Path] = (),
) -> Path:
    """Check that ``path`` may be written; return it.

    Parameters
    ----------
    path
        The file to write.
    force
        Replace an existing file (``--force``).
    data_dir
        The data directory in use: nothing is written inside it (nor inside the default
        one), since critmat's own files live there.
    what
        The option that named the file, for messages.
    also
        Files written together with ``path`` (the provenance sidecar), checked the same way.

    Raises
    ------
    critmat.errors.OutputError
        For a folder, an existing file without ``force``, or a path inside a data directory.
    """
    p = Path(path).expanduser()
    if str(p) in ("", "."):
        raise OutputError(f"{what}: give a file name")
    resolved = p.resolve()
    for root in _protected_dirs(data_dir):
        if resolved == root or root in resolved.parents:
            raise OutputError(
                f"{what} {p} is inside the critmat data directory {root}, which holds "
                "critmat's own files (manifest, tables, runs); write it somewhere else"
            )
    if p.is_dir():
        raise OutputError(f"{what} {p} is a folder; give a file name")
    if not force:
        for target in (p, *also):
            if target.exists():
                raise OutputError(
                    f"{what} {target} exists; give --force to replace it, or choose another name"
                )
    return p


def _make_parent(p: Path, say: Say | None, what: str) -> None:
    parent = p.parent
    if parent.exists():
        if not parent.is_dir():
            raise OutputError(f"{what} {p}: {parent} is a file, not a folder")
        return
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError.from_os_error(exc, parent, what=f"the folder of {what}") from None
    if say is not None:
        say(f"created folder {parent}")


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[Path], object],
    *,
    say: Say | None = None,
    what: str = "--out",
) -> Path:
    """Write a file through ``write(temporary_path)`` and rename it to ``path``.

    The temporary file sits in the same folder (``.<name>.tmp-<random><suffix>``, the suffix
    kept so writers that choose by suffix work) and is removed if anything fails; a reader
    sees either the old file or the complete new one. Missing parent folders are created.
    Call :func:`check_target` first (overwrite and data-directory rules).

    Raises
    ------
    critmat.errors.StorageError
        When the operating system refuses (disk full, read-only, permission); the target
        is unchanged and no temporary file is left.
    """
    p = Path(path).expanduser()
    _make_parent(p, say, what)
    tmp = p.with_name(f".{p.stem}.tmp-{secrets.token_hex(4)}{p.suffix}")
    try:
        write(tmp)
        tmp.replace(p)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StorageError.from_os_error(exc, p, what=f"the folder of {what}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return p


def write_text(
    path: str | os.PathLike[str],
    text: str,
    *,
    force: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    what: str = "--out",
    say: Say | None = None,
) -> Path:
    """Check ``path`` (:func:`check_target`) and write ``text`` (UTF-8) atomically."""
    p = check_target(path, force=force, data_dir=data_dir, what=what)
    return atomic_write(p, lambda t: t.write_text(text, encoding="utf-8"), say=say, what=what)


def write_bytes(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    force: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    what: str = "--out",
    say: Say | None = None,
) -> Path:
    """Check ``path`` (:func:`check_target`) and write ``data`` atomically."""
    p = check_target(path, force=force, data_dir=data_dir, what=what)
    return atomic_write(p, lambda t: t.write_bytes(data), say=say, what=what)


def report_formats() -> dict[str, str]:
    """File suffixes of reports and their renderer (from the report ``RENDERERS`` registry)."""
    from critmat.report.builder import load_renderers

    out = {f".{name}": name for name in sorted(load_renderers())}
    if "html" in out.values():
        out[".htm"] = "html"
    return out


def report_format(path: str | os.PathLike[str], *, what: str = "--report") -> str:
    """The renderer of a report file from its suffix (``.html`` -> ``html``).

    Raises
    ------
    critmat.errors.OutputError
        For a suffix no renderer is registered for, listing the ones that are.
    """
    p = Path(path)
    formats = report_formats()
    kind = formats.get(p.suffix.lower())
    if kind is None:
        valid = ", ".join(formats)
        suffix = p.suffix or "(no suffix)"
        raise OutputError(
            f"{what} {p}: unknown suffix '{suffix}' (no report renderer for '{suffix}'); "
            f"valid suffixes: {valid}"
        )
    return kind


def write_report(
    report: Report,
    path: str | os.PathLike[str],
    *,
    force: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    what: str = "--report",
    say: Say | None = None,
) -> list[Path]:
    """Render ``report`` in the format of ``path``'s suffix and write its files atomically.

    The files are those of :func:`critmat.report.writer.render_files` (a PDF with its HTML
    twin, the report's data as JSON); every one is checked (:func:`check_target`) before
    anything is written. Returns the paths written.
    """
    from critmat.report.writer import render_files

    report_format(path, what=what)
    files = render_files(report, Path(path).expanduser())
    for target, _ in files:
        check_target(target, force=force, data_dir=data_dir, what=what)
    return [atomic_write(t, _body_writer(body), say=say, what=what) for t, body in files]


def _body_writer(body: str | bytes) -> Callable[[Path], object]:
    if isinstance(body, bytes):
        return lambda t: t.write_bytes(body)
    return lambda t: t.write_text(body, encoding="utf-8")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells a spreadsheet would run as a formula with ``'`` (OWASP).

    Cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    (:data:`critmat.data.io.FORMULA_START`) become ``'=...``; numbers are left alone
    (``-5`` as a number is not text). critmat's reader removes the ``'`` again.
    """
    out = frame.copy()
    out.attrs = dict(frame.attrs)
    for col in out.columns:
        values = out[col]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        text = values.astype(object)
        hit = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START)).astype(bool)
        if hit.any():
            text = text.copy()
            text[hit] = text[hit].map(lambda v: "'" + v)
            out[col] = text
    return out


_SHEET_BAD = re.compile(r"[\\/*?:\[\]]")


def sheet_title(text: str | None) -> str:
    """A valid XLSX sheet title: no backslash, / * ? : [ ], not quoted, at most 31 characters."""
    title = _SHEET_BAD.sub(" ", text or "")
    title = " ".join(title.split()).strip("'")[:31].strip()
    return title or "data"


def _write_xlsx(frame: pd.DataFrame, path: Path, title: str | None) -> None:
    safe = neutralise_formulas(frame)
    for col in safe.columns:
        if isinstance(safe[col].dtype, pd.DatetimeTZDtype):
            safe[col] = safe[col].dt.tz_localize(None)
    name = sheet_title(title)
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        safe.to_excel(book, index=False, sheet_name=name)
        sheet = book.sheets[name]
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "e":  # text such as '#N/A' stays text, not an error cell
                    cell.data_type = "s"


def render_table(
    frame: pd.DataFrame,
    *,
    title: str | None = None,
    max_rows: int = 60,
    width: int | None = None,
) -> Any:
    """Return a Rich ``Table`` of ``frame`` (first ``max_rows`` rows; columns fit ``width``)."""
    return frame_table(frame, title=title, max_rows=max_rows, width=width)


def sidecar(frame: pd.DataFrame) -> dict[str, Any] | None:
    """The provenance sidecar of ``frame``: its provenance and its columns' metadata.

    ``columns`` maps each column of a known result family to its description, unit and
    allowed values (the metadata of :mod:`critmat.columns`); ``None`` without provenance.
    """
    prov = provenance_of(frame)
    if prov is None:
        return None
    out = dict(prov)
    fam = family_of(str(prov.get("method", "")))
    if fam is not None:
        described = describe(fam.name, [str(c) for c in frame.columns])
        given = dict(prov.get("columns") or {})  # e.g. the assessment's method and sources
        for name, entry in given.items():
            described[name] = {**described.get(name, {}), **dict(entry)}
        if described:
            out["columns"] = described
            out["result"] = fam.name
    return out


def write_frame(
    frame: pd.DataFrame,
    *,
    fmt: str | None = None,
    out: Path | None = None,
    title: str | None = None,
    stream: IO[str] | None = None,
    max_rows: int = 60,
    force: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    say: Say | None = None,
    width: int | None = None,
) -> Path | None:
    """Print or write ``frame``.

    Parameters
    ----------
    frame
        The result.
    fmt
        One of :data:`FORMATS`; inferred from ``out`` when ``None``.
    out
        File to write; ``None`` prints to ``stream`` (stdout). Parquet and XLSX need a file.
    title
        Title of the printed table.
    stream
        Text stream for printed output (default ``sys.stdout``).
    max_rows
        Rows shown in ``table`` format.
    force
        Replace an existing ``out`` (and its sidecar).
    data_dir
        The data directory in use (never written into, see :func:`check_target`).
    say
        Told about folders created for ``out``.
    width
        Width of a printed table (default: the terminal's, else ``COLUMNS``, else 100).

    Returns
    -------
    pathlib.Path or None
        The file written, if any.
    """
    kind = infer_format(fmt, out)
    stream = stream or sys.stdout
    if out is None:
        if kind in ("parquet", "xlsx"):
            raise OutputError(f"--format {kind} writes a binary file; give --out FILE")
        if kind == "csv":
            safe = neutralise_formulas(frame)
            safe.to_csv(stream, index=False, lineterminator=_line_end(safe))
        elif kind == "json":
            stream.write(_records_json(frame) + "\n")
        else:
            from rich.console import Console

            console = Console(file=stream, width=width or _stream_width(stream))
            console.print(render_table(frame, title=title, max_rows=max_rows, width=console.width))
        return None
    meta = sidecar(frame)
    side = Path(out).with_name(Path(out).name + ".provenance.json")
    target = check_target(
        out, force=force, data_dir=data_dir, also=[side] if meta is not None else []
    )
    if kind == "csv":
        safe = neutralise_formulas(frame)
        end = _line_end(safe)
        atomic_write(target, lambda t: safe.to_csv(t, index=False, lineterminator=end), say=say)
    elif kind == "json":
        text = _records_json(frame) + "\n"
        atomic_write(target, lambda t: t.write_text(text, encoding="utf-8"), say=say)
    elif kind == "parquet":
        atomic_write(target, lambda t: frame.to_parquet(t, index=False), say=say)
    elif kind == "xlsx":
        atomic_write(target, lambda t: _write_xlsx(frame, t, title), say=say)
    else:
        from rich.console import Console

        def _table(t: Path) -> None:
            with t.open("w", encoding="utf-8") as fh:
                Console(file=fh, width=width or 200).print(
                    render_table(frame, title=title, max_rows=len(frame))
                )

        atomic_write(target, _table, say=say)
    if meta is not None:
        text = json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n"
        atomic_write(side, lambda t: t.write_text(text, encoding="utf-8"), say=say)
    return target


def _line_end(frame: pd.DataFrame) -> str:
    """The CSV line end: LF, or CRLF when a text cell holds a carriage return.

    With CRLF the CSV writer quotes such a cell, so it does not break its row when read back.
    """
    for col in frame.columns:
        values = frame[col]
        if (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)) and any(
            isinstance(v, str) and "\r" in v for v in values
        ):
            return "\r\n"
    return "\n"


def _stream_width(stream: IO[str]) -> int | None:
    """A terminal keeps its own width (``None``); pipes and files follow ``COLUMNS`` (or 160)."""
    if hasattr(stream, "isatty") and stream.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else 160
