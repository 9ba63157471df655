"""Read user files (CSV, XLSX, Parquet, JSON) and write validated tables as Parquet.

Reading never guesses silently: malformed files raise a
:class:`~critmat.errors.DataValidationError` that names the file and line. Only an empty
cell is missing: text such as ``NA`` (Namibia's ISO-2 code), ``None``, ``null`` or ``N/A``
is read as text in every format, so every file critmat exports reads back unchanged.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from critmat.data.catalog import TableSpec
from critmat.errors import DataValidationError, Problem

__all__ = [
    "FORMULA_START",
    "READABLE_SUFFIXES",
    "read_user_file",
    "restore_formula_text",
    "row_base_for",
    "write_table_parquet",
]

#: First characters that make a spreadsheet cell a formula (OWASP CSV injection). critmat's
#: CSV/XLSX writer (:func:`critmat.output.neutralise_formulas`) prefixes such text with ``'``;
#: the reader removes that one ``'`` again (:func:`restore_formula_text`), so a file critmat
#: wrote imports back unchanged.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: File endings critmat can import.
READABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq", ".json")


def row_base_for(path: Path) -> int:
    """Row number of the first data row as a user sees it (header row counted for text/xlsx).

    Parquet and JSON rows are numbered from 1 (record number).
    """
    return 1 if path.suffix.lower() in (".parquet", ".pq", ".json") else 2


def _fail(
    path: Path, message: str, *, row: int | None = None, expected: str | None = None
) -> DataValidationError:
    return DataValidationError(
        [Problem(message, file=path.name, row=row, expected=expected)], source=path.name
    )


def _read_csv(path: Path, sep: str) -> tuple[pd.DataFrame, str]:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            frame = pd.read_csv(
                path,
                sep=sep,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                encoding=encoding,
                skip_blank_lines=False,
            )
        except UnicodeDecodeError:
            continue
        except pd.errors.ParserError as exc:
            m = re.search(r"line (\d+)", str(exc))
            raise _fail(
                path,
                f"malformed text file: {exc}".strip(),
                row=int(m.group(1)) if m else None,
                expected=f"a header row and the same number of '{sep}'-separated "
                "fields on every line",
            ) from None
        except pd.errors.EmptyDataError:
            raise _fail(path, "the file is empty", expected="a header row and data rows") from None
        return frame, encoding
    raise _fail(path, "the file is not readable text", expected="UTF-8 or Windows-1252 text")


def _read_json(path: Path) -> pd.DataFrame:
    """Read a JSON list of records (what ``critmat data export --format json`` writes)."""
    expected = (
        "a JSON list of records (objects of column: value), as `critmat data export "
        "--format json` writes"
    )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(path, "the file is not UTF-8 text", expected=expected) from None
    if not text.strip():
        raise _fail(path, "the file is empty", expected=expected)
    try:
        # NaN/Infinity literals stay text so that validation reports them by row and column
        data = json.loads(text, parse_constant=lambda name: name)
    except json.JSONDecodeError as exc:
        raise _fail(
            path,
            f"malformed JSON: {exc.msg} (column {exc.colno})",
            row=exc.lineno,
            expected=expected,
        ) from None
    if not isinstance(data, list):
        raise _fail(
            path, f"the file holds a JSON {type(data).__name__}, not a list", expected=expected
        )
    for i, rec in enumerate(data):
        if not isinstance(rec, dict):
            raise _fail(
                path,
                f"record {i + 1} is a JSON {type(rec).__name__}, not an object",
                row=i + 1,
                expected=expected,
            )
        nested = next((k for k, v in rec.items() if isinstance(v, dict | list)), None)
        if nested is not None:
            raise _fail(
                path,
                f"record {i + 1} has a nested value in '{nested}'",
                row=i + 1,
                expected="one number, text, true/false or null per column",
            )
    columns: dict[str, None] = {}
    for rec in data:
        columns.update(dict.fromkeys(rec))
    rows: list[dict[str, Any]] = data
    return pd.DataFrame(
        {c: pd.Series([r.get(c) for r in rows], dtype=object) for c in columns},
        index=pd.RangeIndex(len(rows)),
    )


def read_user_file(
    path: str | os.PathLike[str], *, sheet: str | int | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read a user data file into a frame of raw values.

    Parameters
    ----------
    path
        ``.csv``/``.tsv``/``.txt`` (comma- or tab-separated, UTF-8 or Windows-1252),
        ``.xlsx``/``.xlsm`` (first sheet unless ``sheet`` is given), ``.parquet`` or
        ``.json`` (a list of records).
    sheet
        Worksheet name or 0-based index for spreadsheets.

    Returns
    -------
    tuple
        The frame (text cells kept as text, so codes such as ``010111`` keep their zeros) and
        a dict describing how it was read (``format``, ``encoding``, ``sheet``).

    Raises
    ------
    critmat.errors.DataValidationError
        If the file is missing, of an unknown type, empty or malformed.
    """
    p = Path(path)
    if not p.is_file():
        raise _fail(p, f"file not found: {p}", expected="an existing file")
    suffix = p.suffix.lower()
    info: dict[str, str] = {"format": suffix.lstrip(".")}
    if suffix in (".csv", ".tsv", ".txt"):
        sep = "\t" if suffix == ".tsv" else ","
        frame, encoding = _read_csv(p, sep)
        info["encoding"] = encoding
    elif suffix in (".xlsx", ".xlsm"):
        try:
            book = pd.ExcelFile(p, engine="openpyxl")
        except Exception as exc:  # openpyxl raises many types for corrupt files
            raise _fail(
                p,
                f"not a readable Excel workbook ({type(exc).__name__}: {exc})",
                expected="an .xlsx workbook",
            ) from None
        with book:
            names = book.sheet_names
            target = names[0] if sheet is None else sheet
            if isinstance(target, str) and target not in names:
                raise _fail(
                    p, f"no worksheet named '{target}'", expected="one of " + ", ".join(names)
                )
            frame = pd.read_excel(
                book, sheet_name=target, dtype=object, keep_default_na=False, na_values=[""]
            )
        info["sheet"] = str(target)
    elif suffix in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(p)
        except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for corrupt files
            raise _fail(
                p,
                f"not a readable Parquet file ({type(exc).__name__}: {exc})",
                expected="a Parquet file",
            ) from None
    elif suffix == ".json":
        frame = _read_json(p)
    else:
        raise _fail(
            p,
            f"unsupported file type '{suffix or '(none)'}'",
            expected="one of " + ", ".join(READABLE_SUFFIXES),
        )
    if info["format"] in ("csv", "tsv", "txt", "xlsx", "xlsm"):
        frame = restore_formula_text(frame)
    frame = frame.reset_index(drop=True).dropna(how="all")  # index = position in the file
    if frame.empty:
        raise _fail(p, "the file has no data rows", expected="at least one data row")
    return frame, info


def restore_formula_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Remove the ``'`` that critmat's spreadsheet writer put before formula-like text.

    A text cell ``'=SUM(A1)`` (``'`` followed by one of :data:`FORMULA_START`) becomes
    ``=SUM(A1)``; every other cell is left as it is. The text stays text: it is validated
    like any other value (and a formula is never evaluated).
    """
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        text = values.astype(object)
        hit = text.map(
            lambda v: isinstance(v, str) and len(v) > 1 and v[0] == "'" and v[1] in FORMULA_START
        ).astype(bool)
        if hit.any():
            text = text.copy()
            text[hit] = text[hit].map(lambda v: v[1:])
            out[col] = text
    return out


def write_table_parquet(frame: pd.DataFrame, spec: TableSpec, path: Path) -> None:
    """Write a validated table to Parquet (zstd, dictionary-encoded text, dates as date32).

    The file is written to ``path`` directly; callers that need atomicity write to a temporary
    name in the same folder and rename (see :mod:`critmat.data.userdata`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = frame.loc[:, spec.field_names].copy()
    for f in spec.fields:
        if f.type == "date":
            out[f.name] = pd.to_datetime(out[f.name]).dt.date
    table = pa.Table.from_pandas(out, preserve_index=False)
    table = table.replace_schema_metadata({b"critmat:table": spec.name.encode()})
    pq.write_table(table, path, compression="zstd", use_dictionary=True)
