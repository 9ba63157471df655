"""Write result frames as a readable table or as CSV, JSON, Parquet or XLSX files.

Files get a provenance sidecar ``<file>.provenance.json`` when the frame carries provenance
(pandas ``attrs`` do not travel inside CSV), with the description, unit and allowed values
of every column of known results (:func:`critmat.columns.describe`). Printed tables use the
one number formatter of :mod:`critmat.report.format`. Used by the CLI; usable from Python.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

import pandas as pd

from critmat.columns import describe, family_of
from critmat.errors import OutputError, closest
from critmat.params import OUTPUT_FORMATS
from critmat.provenance import provenance_of
from critmat.report.format import format_number
from critmat.report.terminal import frame_table

__all__ = [
    "FORMATS",
    "OutputError",
    "format_number",
    "infer_format",
    "render_table",
    "sidecar",
    "write_frame",
]

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


def render_table(frame: pd.DataFrame, *, title: str | None = None, max_rows: int = 60) -> Any:
    """Return a Rich ``Table`` of ``frame`` (first ``max_rows`` rows)."""
    return frame_table(frame, title=title, max_rows=max_rows)


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
            frame.to_csv(stream, index=False)
        elif kind == "json":
            stream.write(_records_json(frame) + "\n")
        else:
            from rich.console import Console

            # a terminal keeps its own width; pipes and files get room for the table
            tty = hasattr(stream, "isatty") and stream.isatty()
            width = None if tty else max(100, min(220, 20 * len(frame.columns)))
            Console(file=stream, width=width).print(
                render_table(frame, title=title, max_rows=max_rows)
            )
        return None
    out = Path(out)
    if out.parent and not out.parent.exists():
        raise OutputError(f"folder of --out does not exist: {out.parent}")
    if kind == "csv":
        frame.to_csv(out, index=False)
    elif kind == "json":
        out.write_text(_records_json(frame) + "\n", encoding="utf-8")
    elif kind == "parquet":
        frame.to_parquet(out, index=False)
    elif kind == "xlsx":
        safe = frame.copy()
        for col in safe.columns:
            if isinstance(safe[col].dtype, pd.DatetimeTZDtype):
                safe[col] = safe[col].dt.tz_localize(None)
        safe.to_excel(out, index=False, sheet_name=(title or "data")[:31])
    else:
        from rich.console import Console

        with out.open("w", encoding="utf-8") as fh:
            Console(file=fh, width=200).print(render_table(frame, title=title, max_rows=len(frame)))
    meta = sidecar(frame)
    if meta is not None:
        side = out.with_name(out.name + ".provenance.json")
        side.write_text(
            json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )
    return out
