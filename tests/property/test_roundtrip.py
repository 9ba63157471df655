"""Round trips: every table critmat exports imports back unchanged, in every format.

Issue 10, class "good input rejected": ``critmat data export production --out p.csv`` and
then ``critmat data import p.csv --table production`` failed ("derived column supplied"),
and ``NA`` (Namibia) in an xlsx cell was read as missing.

Rows are generated from each table's spec (types, ranges, enums, patterns, references to
materials, countries and units; text includes "NA"-like tokens), imported, exported with the
writer ``critmat data export`` uses (CSV, XLSX, Parquet, JSON), imported again into a fresh
data directory, and the table the knowledge base then shows is compared with the first one.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import critmat
from critmat.data.catalog import FieldSpec, TableSpec
from critmat.data.importer import import_file
from critmat.data.userdata import UserData
from critmat.output import write_frame

FORMATS = ("csv", "xlsx", "parquet", "json")

#: Examples per table (each costs five imports); raise it for a deeper local run.
EXAMPLES = int(os.environ.get("CRITMAT_ROUNDTRIP_EXAMPLES", "2"))

#: Text a spreadsheet or CSV reader could take for "missing"; it must stay text.
NA_LIKE = ["NA", "N/A", "n/a", "null", "NULL", "None", "nan", "NaN", "-", "<NA>", "TRUE", "0012"]

#: Excel error literals: the XLSX writer keeps such text as text (not an error cell).
EXCEL_ERRORS = ["#N/A", "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!"]

# Printable text without leading '=' (a spreadsheet formula: issue 10 "security", the output
# writer's job) and without control characters (not storable in XLSX).
_ALPHABET = st.characters(
    codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="\x00"
)
_TEXT = st.one_of(
    st.sampled_from(NA_LIKE),
    st.text(_ALPHABET, min_size=1, max_size=12).filter(
        lambda s: (
            s.strip() != ""
            and not s.startswith(("=", "+", "-", "@"))
            and s == s.strip()
            and s not in EXCEL_ERRORS
        )
    ),
)


@cache
def _kb() -> Any:
    return critmat.load(user_data=False)


@cache
def _refs() -> dict[str, list[str]]:
    kb = _kb()
    units = kb.sql("select unit, dimension from units")
    return {
        "material": sorted(kb.sql("select material from materials")["material"]),
        "country": sorted(kb.sql("select country from countries")["country"]),
        "unit": sorted(units["unit"]),
        "mass_unit": sorted(units.loc[units["dimension"] == "mass", "unit"]),
    }


def _value(spec: TableSpec, f: FieldSpec) -> st.SearchStrategy[Any]:
    refs = _refs()
    if f.enum:
        return st.sampled_from(list(f.enum))
    if f.ref == "unit":
        needs_mass = any(g.derived == "unit_to_tonnes" for g in spec.fields)
        return st.sampled_from(refs["mass_unit" if needs_mass else "unit"])
    if f.ref in ("material", "country"):
        return st.sampled_from(refs[f.ref])
    if f.type == "string":
        if f.pattern:
            return st.from_regex(re.compile(f.pattern), fullmatch=True).filter(
                lambda s: "\n" not in s
            )
        return _TEXT
    if f.type == "integer":
        lo = int(f.minimum) if f.minimum is not None else -(10**9)
        hi = int(f.maximum) if f.maximum is not None else 10**9
        return st.integers(lo, hi)
    if f.type == "number":
        lo = f.minimum if f.minimum is not None else -1e12
        hi = f.maximum if f.maximum is not None else 1e12
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if f.type == "boolean":
        return st.booleans()
    if f.type == "date":
        return st.dates(dt.date(1950, 1, 1), dt.date(2100, 12, 31)).map(lambda d: d.isoformat())
    raise AssertionError(f"no strategy for {f.type}")


@st.composite
def _rows(draw: st.DrawFn, spec: TableSpec) -> pd.DataFrame:
    fields = [f for f in spec.fields if not f.derived]
    row = st.fixed_dictionaries(
        {
            f.name: _value(spec, f) if f.required else st.one_of(st.none(), _value(spec, f))
            for f in fields
        }
    )
    records = draw(st.lists(row, min_size=1, max_size=5))
    frame = pd.DataFrame(records, columns=[f.name for f in fields], dtype=object)
    if spec.primary_key:
        frame = frame.drop_duplicates(list(spec.primary_key))
    return frame.reset_index(drop=True)


def _shown(root: Path, table: str) -> pd.DataFrame:
    """The table as ``critmat data export`` gets it (``kb.table``), in primary-key order."""
    kb = critmat.load(root)
    spec = kb.catalog.table(table)
    frame = kb.table(table)
    kb.close()
    keys = list(spec.primary_key) or list(spec.field_names)
    out = frame.sort_values(keys, ignore_index=True)
    out.attrs = {}
    return out


def _import(path: Path, root: Path, table: str) -> None:
    # the importer behind kb.import_file, with the embedded knowledge base's resolvers built
    # once (building them per import would triple the test's time, not its reach)
    import_file(
        path,
        table,
        catalog=_kb().catalog,
        context=_context(),
        user=UserData(root),
        mode="replace",
        combine="replace",
        checks="off",
    )


@cache
def _context() -> Any:
    return _kb().validation_context()


TABLES = sorted(critmat.load(user_data=False).catalog.tables)


@pytest.mark.parametrize("table", TABLES)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_export_import_round_trip(table: str, data: st.DataObject) -> None:
    spec = _kb().catalog.table(table)
    rows = data.draw(_rows(spec), label="rows")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = work / "rows.json"
        write_frame(rows, fmt="json", out=src)
        _import(src, work / "first", table)
        first = _shown(work / "first", table)
        assert len(first) == len(rows)
        for fmt in FORMATS:
            out = work / f"{table}.{fmt}"
            write_frame(first, fmt=fmt, out=out, title=table)
            _import(out, work / fmt, table)
            again = _shown(work / fmt, table)
            pd.testing.assert_frame_equal(again, first, obj=f"{table} via {fmt}")


@pytest.mark.parametrize("literal", ["#N/A", "#DIV/0!"])
def test_excel_error_literals_round_trip_through_xlsx(literal: str, tmp_path: Path) -> None:
    first = _kb().table("nato_2024").head(2).assign(example_use=literal)
    first.attrs = {}
    out = tmp_path / "nato.xlsx"
    write_frame(first, fmt="xlsx", out=out)
    _import(out, tmp_path / "user", "nato_2024")
    again = _shown(tmp_path / "user", "nato_2024")
    assert again["example_use"].tolist() == [literal, literal]
