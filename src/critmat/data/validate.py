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
from critmat.data.derive import DERIVATION_INPUTS, apply_derivations
from critmat.data.names import CountryResolver, MaterialResolver, closest
from critmat.data.schemas import PANDAS_DTYPES, pandera_schema
from critmat.errors import DataValidationError, Problem

__all__ = [
    "DERIVED_RTOL",
    "MAX_PROBLEMS",
    "MAX_VALUE_CHARS",
    "ValidationContext",
    "normalise_column",
    "validate_frame",
]

#: At most this many problems are listed; the rest are summarised in one line.
MAX_PROBLEMS = 5000

#: Offending values longer than this are shortened in problems (a cell may hold megabytes).
MAX_VALUE_CHARS = 120

#: Relative tolerance when a supplied derived column is checked against critmat's value.
DERIVED_RTOL = 1e-9

#: Largest whole number a column of type integer holds (int64).
_INT_MAX = 2**63 - 1

_NAN_WORDS = {"nan", "-nan", "+nan"}

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
    """What validation needs from the knowledge base: name resolvers and the unit table.

    ``volume_materials`` are the materials the knowledge base measures by volume (``materials``
    rows with ``measured_as = volume``, e.g. natural gas in million m3): their production may
    be given in a volume unit; every other material's production needs a mass unit.
    """

    materials: MaterialResolver
    countries: CountryResolver
    units: pd.DataFrame
    volume_materials: frozenset[str] = frozenset()


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
        value = kw.get("value")
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            kw["value"] = f"{value[:MAX_VALUE_CHARS]}... ({len(value):,} characters)"
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
) -> tuple[pd.DataFrame, set[str], dict[str, pd.Series]]:
    """Match columns to fields; report unknown, duplicate and missing columns.

    Returns the frame with the input fields, the required fields that are missing, and the
    derived fields the file supplied (checked against critmat's values after derivation).
    """
    fields = {f.name: f for f in spec.fields}
    rename: dict[str, str] = {}
    seen: dict[str, str] = {}
    supplied: dict[str, pd.Series] = {}
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
            valid = [f.name for f in spec.fields]
            col.add(
                "unknown column",
                column=str(c),
                expected="one of " + ", ".join(valid),
                suggestions=tuple(closest(key, valid)),
            )
            continue
        if fields[key].derived:
            supplied[key] = frame[c]
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
    return out, missing_required, supplied


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
            ambiguous = {v: ctx.countries.candidates(v) for v in pd.unique(text[present].dropna())}
            ambiguous = {v: c for v, c in ambiguous.items() if len(c) > 1}
            if ambiguous:  # "Congo": COG or COD, never guessed
                for idx, value in text[present & text.isin(list(ambiguous))].items():
                    col.add(
                        "ambiguous country",
                        row=int(idx),
                        column=f.name,
                        value=str(value),
                        expected="the ISO-3 code of one of them",
                        suggestions=tuple(ctx.countries.label(c) for c in ambiguous[str(value)]),
                    )
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
            converted = _numbers(raw, f, col)
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


def _number_problem(text: str, value: float, integer: bool) -> str:
    """Why a cell is not an acceptable number (``value`` is what pandas made of it)."""
    word = "whole number" if integer else "number"
    low = text.strip().lower()
    if np.isnan(value):  # pandas < 3 gives NaN for an overflow such as 1e400
        try:
            value = float(low)
        except ValueError:
            return f"not a valid {word}"
    if low in _NAN_WORDS:
        return f"'{text}' is not a {word}; leave the cell empty for a missing value"
    if np.isinf(value):
        if "inf" in low:
            return f"infinite values are not allowed; expected a finite {word}"
        return f"number too large (overflows to infinity); expected a finite {word}"
    if np.isnan(value):
        return f"not a valid {word}"
    if integer and abs(value) > _INT_MAX:
        return "whole number too large (more than 19 digits)"
    return "not a whole number" if integer else f"not a valid {word}"


def _numbers(raw: pd.Series, f: FieldSpec, col: _Collector) -> pd.Series:
    """Convert a column to finite numbers (``Float64``); report cells that are not."""
    text = raw.astype("string").str.strip().replace("", pd.NA)
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    present = text.notna().to_numpy()
    arr = values.to_numpy(dtype="float64", na_value=np.nan)
    bad = present & ~np.isfinite(arr)
    if f.type == "integer":
        with np.errstate(invalid="ignore"):
            bad |= present & np.isfinite(arr) & ((np.abs(arr) > _INT_MAX) | (arr % 1 != 0))
    for idx in np.flatnonzero(bad):
        label = text.index[idx]
        value = str(text.iloc[idx])
        col.add(
            _number_problem(value, float(arr[idx]), f.type == "integer"),
            row=int(label),
            column=f.name,
            value=value,
            expected=f.expected(),
        )
    arr = np.where(bad, np.nan, arr)
    return pd.Series(arr, index=raw.index, dtype="float64").astype("Float64")


def _mass_units(
    frame: pd.DataFrame, spec: TableSpec, ctx: ValidationContext, col: _Collector
) -> None:
    """Report rows whose unit is known but not a mass where a derived field needs tonnes.

    A material the knowledge base measures by volume (``ctx.volume_materials``) may use a
    volume unit instead (its tonnes stay empty: a volume has no mass without a density).
    """
    needs = [f for f in spec.fields if f.derived == "unit_to_tonnes"]
    if not needs or "unit" not in frame.columns:
        return
    dims = dict(zip(ctx.units["unit"], ctx.units["dimension"], strict=True))
    mass = sorted(u for u, d in dims.items() if d == "mass")
    unit = frame["unit"].astype("string")
    dim = unit.map(dims)
    by_volume = (
        frame["material"].astype("string").isin(ctx.volume_materials)
        if "material" in frame.columns
        else pd.Series(False, index=frame.index)
    )
    allowed = (dim == "mass") | (by_volume & (dim == "volume"))
    wrong = unit.notna() & dim.notna() & ~allowed.fillna(False)
    for idx, value in unit[wrong].items():
        col.add(
            f"unit '{value}' is a {dims[str(value)]} unit, not a mass: "
            f"'{needs[0].name}' is computed in tonnes from quantity and unit",
            row=int(idx),
            column="unit",
            value=str(value),
            expected="a mass unit of the units table: " + ", ".join(mass),
        )


def _check_derived(
    out: pd.DataFrame,
    spec: TableSpec,
    supplied: dict[str, pd.Series],
    col: _Collector,
) -> None:
    """Derived values must be finite; supplied derived columns must agree with them.

    Numbers are compared with a relative tolerance of :data:`DERIVED_RTOL`, other types as
    text; an empty supplied cell always agrees.
    """
    for f in spec.fields:
        if not f.derived:
            continue
        inputs = DERIVATION_INPUTS.get(f.derived, "its input columns")
        numeric = f.type in ("number", "integer")
        computed = out[f.name]
        values = (
            pd.to_numeric(computed, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            if numeric
            else None
        )
        if values is not None:
            for idx in np.flatnonzero(np.isinf(values)):
                col.add(
                    f"the derived value is too large (overflows to infinity; {inputs})",
                    row=int(out.index[idx]),
                    column=f.name,
                    expected="inputs whose result is a finite number",
                )
        raw = supplied.get(f.name)
        if raw is None:
            continue
        text = raw.reindex(out.index).astype("string").str.strip().replace("", pd.NA)
        present = text.notna().to_numpy()
        if values is not None:
            given = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            same = np.isclose(given, values, rtol=DERIVED_RTOL, atol=1e-12)
            valid = ~np.isnan(given)
            shown = [repr(float(v)) if np.isfinite(v) else None for v in values]
        else:
            want = computed.astype("string").str.strip()
            same = (text == want).fillna(False).to_numpy(dtype=bool)
            valid = np.ones(len(text), dtype=bool)
            shown = [None if pd.isna(v) else repr(str(v)) for v in want]
        for idx in np.flatnonzero(present & ~same):
            col.add(
                "derived column disagrees with its inputs"
                if valid[idx]
                else "not a valid number in a derived column",
                row=int(out.index[idx]),
                column=f.name,
                value=str(text.iloc[idx]),
                expected=(
                    f"{shown[idx]} (computed from {inputs}), an empty cell, or no such column"
                    if shown[idx] is not None
                    else f"an empty cell (nothing is computed from {inputs} in this row), "
                    "or no such column"
                ),
            )


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
    work, missing, supplied = _structure(work, spec, col)
    work = _resolve_lists(work, spec, ctx, col, missing)
    work = _resolve_refs(work, spec, ctx, col, missing)
    work = _precoerce(work, spec, col, missing)
    _mass_units(work, spec, ctx, col)
    derived = {f.name: f.derived for f in spec.fields if f.derived}
    for name in derived:
        work[name] = pd.Series(pd.NA, index=work.index, dtype=PANDAS_DTYPES["number"])
    checked = _schema_problems(work, spec, col, missing)
    problems = col.result()
    if problems or checked is None:
        raise DataValidationError(problems, table=spec.name, source=file)
    out = apply_derivations(checked, derived, ctx.units)
    _check_derived(out, spec, supplied, col)
    problems = col.result()
    if problems:
        raise DataValidationError(problems, table=spec.name, source=file)
    for name in derived:
        out[name] = out[name].astype(PANDAS_DTYPES[spec.field(name).type])
    return out.loc[:, spec.field_names]
