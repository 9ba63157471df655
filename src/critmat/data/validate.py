"""Validate a frame against a table spec and collect every problem at once.

Used by the dataset build and by user imports: columns are matched case-insensitively,
names of materials and countries are resolved to canonical ids (with "did you mean"
suggestions for unknown ones), types, ranges, enums, patterns and the primary key are
checked by a pandera schema generated from ``datapackage.json``, and derived fields are
computed. Either a clean frame comes back or a :class:`~critmat.errors.DataValidationError`
listing every problem (file, row, column, value, expectation) is raised.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from critmat.data.catalog import FieldSpec, TableSpec
from critmat.data.derive import apply_derivations
from critmat.data.names import CountryResolver, MaterialResolver, closest
from critmat.data.schemas import PANDAS_DTYPES, pandera_schema
from critmat.errors import DataValidationError, Problem

__all__ = ["MAX_PROBLEMS", "ValidationContext", "normalise_column", "validate_frame"]

#: At most this many problems are listed; the rest are summarised in one line.
MAX_PROBLEMS = 5000

_CHECK_WORDS = {
    "coerce_dtype": "not a valid value of the column's type",
    "not_nullable": "missing value in a required column",
    "greater_than_or_equal_to": "value below the allowed minimum",
    "less_than_or_equal_to": "value above the allowed maximum",
    "isin": "value not in the allowed list",
    "str_matches": "value does not have the required form",
    "field_uniqueness": "duplicate primary key",
    "multiple_fields_uniqueness": "duplicate primary key",
    "duplicates": "duplicate primary key",
}


@dataclass(frozen=True)
class ValidationContext:
    """What validation needs from the knowledge base: name resolvers and the unit table."""

    materials: MaterialResolver
    countries: CountryResolver
    units: pd.DataFrame


def normalise_column(name: object) -> str:
    """Return the canonical form of a column header: lower case, '_' for spaces and dashes.

    Examples
    --------
    >>> normalise_column(" Value KUSD ")
    'value_kusd'
    """
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


class _Collector:
    def __init__(self, file: str | None, row_base: int) -> None:
        self.file = file
        self.row_base = row_base
        self.items: list[Problem] = []
        self.overflow = 0
        self.cells: set[tuple[int | None, str | None]] = set()

    def add(self, message: str, *, row: int | None = None, **kw: object) -> None:
        if len(self.items) >= MAX_PROBLEMS:
            self.overflow += 1
            return
        r = None if row is None else int(row) + self.row_base
        column = kw.get("column")
        if r is not None:
            if (r, column) in self.cells:  # one problem per cell is enough
                return
            self.cells.add((r, column if isinstance(column, str) else None))
        self.items.append(Problem(message, file=self.file, row=r, **kw))  # type: ignore[arg-type]

    def result(self) -> list[Problem]:
        out = sorted(self.items, key=lambda p: (p.row or 0, p.column or ""))
        if self.overflow:
            out.append(Problem(f"{self.overflow} further problems not listed", file=self.file))
        return out


def _structure(
    frame: pd.DataFrame, spec: TableSpec, col: _Collector
) -> tuple[pd.DataFrame, set[str]]:
    """Match columns to fields; report unknown, duplicate, missing and derived columns."""
    fields = {f.name: f for f in spec.fields}
    rename: dict[str, str] = {}
    seen: dict[str, str] = {}
    for c in frame.columns:
        key = normalise_column(c)
        if key in seen:
            col.add(
                "two columns map to the same field",
                column=str(c),
                expected=f"one column named '{key}' (other: '{seen[key]}')",
            )
            continue
        seen[key] = str(c)
        if key not in fields:
            valid = [f.name for f in spec.fields if not f.derived]
            col.add(
                "unknown column",
                column=str(c),
                expected="one of " + ", ".join(valid),
                suggestions=tuple(closest(key, valid)),
            )
            continue
        if fields[key].derived:
            col.add(
                "derived column supplied; critmat computes it on import, remove it",
                column=str(c),
                expected=f"no '{key}' column",
            )
            continue
        rename[str(c)] = key
    out = frame.loc[:, list(rename)].rename(columns=rename)
    missing_required: set[str] = set()
    for f in spec.fields:
        if f.name in out.columns or f.derived:
            continue
        if f.default is not None:
            out[f.name] = f.default
        elif f.required:
            col.add("missing required column", column=f.name, expected=f.expected())
            missing_required.add(f.name)
            out[f.name] = pd.NA
        else:
            out[f.name] = pd.NA
    return out, missing_required


def _list_item(f: FieldSpec, item: str, ctx: ValidationContext) -> tuple[str | None, list[str]]:
    """Canonical form of one item of a list field and suggestions when it is invalid."""
    if f.ref == "material":
        return ctx.materials.lookup(item), ctx.materials.suggest(item)
    if f.ref == "country":
        return ctx.countries.lookup(item), ctx.countries.suggest_labelled(item)
    if f.enum is not None:
        by_key = {v.lower(): v for v in f.enum}
        return by_key.get(item.lower()), closest(item, list(f.enum))
    return item, []


def _resolve_lists(
    frame: pd.DataFrame, spec: TableSpec, ctx: ValidationContext, col: _Collector, skip: set[str]
) -> pd.DataFrame:
    """Check every item of the list fields (``critmat:list``) and join canonical items.

    Each item is resolved like a single value of the field (material or country name, or an
    enum value matched case-insensitively); duplicates are dropped, order is kept.
    """
    out = frame
    for f in spec.fields:
        if f.list_sep is None or f.name in skip or f.name not in out.columns:
            continue
        sep = f.list_sep
        text = out[f.name].astype("string").str.strip()
        values: list[object] = []
        for idx, cell in text.items():
            if pd.isna(cell) or cell == "":
                values.append(pd.NA)
                continue
            good: list[str] = []
            for item in (i.strip() for i in str(cell).split(sep)):
                if not item:
                    continue
                canon, suggestions = _list_item(f, item, ctx)
                if canon is None:
                    col.add(
                        f"unknown {f.ref or 'value'} in a list",
                        row=int(idx),
                        column=f.name,
                        value=item,
                        expected=f.expected(),
                        suggestions=tuple(suggestions),
                    )
                else:
                    good.append(canon)
            values.append(sep.join(dict.fromkeys(good)) if good else pd.NA)
        out[f.name] = pd.Series(values, index=text.index, dtype="string")
    return out


def _resolve_refs(
    frame: pd.DataFrame, spec: TableSpec, ctx: ValidationContext, col: _Collector, skip: set[str]
) -> pd.DataFrame:
    """Replace material/country/unit names by canonical ids; report unknown names."""
    out = frame
    for f in spec.fields:
        if f.ref is None or f.list_sep is not None or f.name in skip or f.name not in out.columns:
            continue
        raw = out[f.name]
        text = raw.astype("string").str.strip()
        present = text.notna() & (text != "")
        suggest: Callable[[str], list[str]]
        if f.ref == "unit":
            valid_units = list(ctx.units["unit"])
            resolved = text.where(text.isin(valid_units))
            suggest = partial(closest, choices=valid_units)
        elif f.ref == "country":
            resolved = ctx.countries.map_series(text)
            suggest = ctx.countries.suggest_labelled
        else:
            resolved = ctx.materials.map_series(text)
            suggest = ctx.materials.suggest
        bad = present & resolved.isna()
        if bad.any():
            cache: dict[str, tuple[str, ...]] = {}
            for idx, value in text[bad].items():
                if value not in cache:
                    cache[value] = tuple(suggest(value))
                col.add(
                    f"unknown {f.ref}",
                    row=int(idx),
                    column=f.name,
                    value=str(value),
                    expected=f.expected(),
                    suggestions=cache[value],
                )
        out[f.name] = resolved.where(~bad, text)
        out.loc[~present, f.name] = pd.NA
    return out


_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def _precoerce(
    frame: pd.DataFrame, spec: TableSpec, col: _Collector, skip: set[str]
) -> pd.DataFrame:
    """Convert text cells to numbers, booleans and dates; report cells that do not convert."""
    out = frame
    for f in spec.fields:
        if f.name in skip or f.derived or f.type == "string" or f.name not in out.columns:
            continue
        raw = out[f.name]
        if f.type in ("integer", "number", "boolean") and pd.api.types.is_bool_dtype(raw):
            converted = raw.astype("boolean") if f.type == "boolean" else raw.astype("Float64")
        elif f.type in ("integer", "number"):
            text = raw.astype("string").str.strip().replace("", pd.NA)
            converted = pd.to_numeric(text, errors="coerce").astype("Float64")
            bad = text.notna() & converted.isna()
            if f.type == "integer":
                frac = converted.notna() & ((converted % 1) != 0).fillna(False)
                bad = bad | frac
            for idx, value in text[bad].items():
                col.add(
                    f"not a valid {'whole number' if f.type == 'integer' else 'number'}",
                    row=int(idx),
                    column=f.name,
                    value=str(value),
                    expected=f.expected(),
                )
            converted = converted.where(~bad)
        elif f.type == "boolean":
            text = raw.astype("string").str.strip().str.lower().replace("", pd.NA)
            converted = text.map(
                lambda v: True if v in _TRUE else False if v in _FALSE else None, na_action="ignore"
            ).astype("boolean")
            bad = text.notna() & converted.isna()
            for idx, value in raw[bad].items():
                col.add(
                    "not a valid true/false value",
                    row=int(idx),
                    column=f.name,
                    value=str(value),
                    expected="true or false (also yes/no, 1/0)",
                )
        elif f.type == "date":
            text = raw.astype("string").str.strip().replace("", pd.NA)
            converted = pd.to_datetime(text, errors="coerce", format="ISO8601")
            bad = text.notna() & converted.isna()
            for idx, value in text[bad].items():
                col.add(
                    "not a valid date",
                    row=int(idx),
                    column=f.name,
                    value=str(value),
                    expected="a date YYYY-MM-DD",
                )
        else:
            continue
        out[f.name] = converted
    return out


def _key_text(frame: pd.DataFrame, spec: TableSpec, row: int | None) -> str | None:
    if row is None or row not in frame.index:
        return None

    def fmt(v: object) -> str:
        return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)

    return ", ".join(fmt(frame.at[row, k]) for k in spec.primary_key)


def _schema_problems(
    frame: pd.DataFrame, spec: TableSpec, col: _Collector, skip: set[str]
) -> pd.DataFrame | None:
    """Run the pandera schema lazily; turn failure cases into problems."""
    import pandera.errors as pe

    schema = pandera_schema(spec)
    try:
        return schema.validate(frame, lazy=True)
    except pe.SchemaErrors as exc:
        fc = exc.failure_cases
    fields = {f.name: f for f in spec.fields}
    for rec in fc.itertuples(index=False):
        column = rec.column if isinstance(rec.column, str) else None
        if column in skip:
            continue
        check = str(rec.check)
        base = check.split("(", maxsplit=1)[0]
        message = _CHECK_WORDS.get(base, f"failed check {check}")
        if "unique" in check or "duplicate" in check:
            message = "duplicate primary key (" + ", ".join(spec.primary_key) + ")"
            expected = "each combination of " + ", ".join(spec.primary_key) + " once"
            column = None
        elif column in fields:
            expected = fields[column].expected()
        else:
            expected = None
        idx = rec.index
        row = None if idx is None or (isinstance(idx, float) and np.isnan(idx)) else int(idx)
        value = None if pd.isna(rec.failure_case) else str(rec.failure_case)
        if message.startswith("duplicate"):
            value = _key_text(frame, spec, row)
        sugg: tuple[str, ...] = ()
        if base == "isin" and column in fields and fields[column].enum and value:
            sugg = tuple(closest(value, list(fields[column].enum or ())))
        col.add(message, row=row, column=column, value=value, expected=expected, suggestions=sugg)
    return None


def validate_frame(
    frame: pd.DataFrame,
    spec: TableSpec,
    ctx: ValidationContext,
    *,
    file: str | None = None,
    row_base: int = 1,
) -> pd.DataFrame:
    """Validate ``frame`` against ``spec`` and return it cleaned, or raise with every problem.

    Parameters
    ----------
    frame
        Input rows (any column order and header case).
    spec
        Target table spec.
    ctx
        Name resolvers and unit table.
    file
        File name for problem locations.
    row_base
        Row number of the first data row as the user sees it (2 for CSV/XLSX with a header
        row, 1 for Parquet and in-memory frames). The frame's integer index is the 0-based
        position of each row in the file (blank rows dropped keep the numbering right).

    Returns
    -------
    pandas.DataFrame
        Columns in spec order with nullable pandas dtypes, canonical material ids and ISO-3
        codes, defaults and derived fields filled.

    Raises
    ------
    critmat.errors.DataValidationError
        Listing every problem; nothing is returned partially.
    """
    col = _Collector(file, row_base)
    work = frame.copy()
    if not pd.api.types.is_integer_dtype(work.index.dtype):
        work = work.reset_index(drop=True)
    work, missing = _structure(work, spec, col)
    work = _resolve_lists(work, spec, ctx, col, missing)
    work = _resolve_refs(work, spec, ctx, col, missing)
    work = _precoerce(work, spec, col, missing)
    derived = {f.name: f.derived for f in spec.fields if f.derived}
    for name in derived:
        work[name] = pd.Series(pd.NA, index=work.index, dtype=PANDAS_DTYPES["number"])
    checked = _schema_problems(work, spec, col, missing)
    problems = col.result()
    if problems or checked is None:
        raise DataValidationError(problems, table=spec.name, source=file)
    out = apply_derivations(checked, derived, ctx.units)
    for name in derived:
        out[name] = out[name].astype(PANDAS_DTYPES[spec.field(name).type])
    return out.loc[:, spec.field_names]
