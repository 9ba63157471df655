"""Pandera schemas generated from the table specs of ``datapackage.json``.

The schema of a table is never written by hand: types, required fields, ranges, enums,
patterns and the primary key all come from the descriptor, so validation and documentation
cannot drift apart.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from critmat.data.catalog import FieldSpec, TableSpec

if TYPE_CHECKING:
    import pandera.pandas as pa

__all__ = ["PANDAS_DTYPES", "pandera_schema"]

#: Pandas dtype of each Frictionless field type (nullable extension types).
PANDAS_DTYPES: dict[str, str] = {
    "string": "string",
    "integer": "Int64",
    "number": "Float64",
    "boolean": "boolean",
    "date": "datetime64[ns]",
}


def _checks(f: FieldSpec) -> list[Any]:
    import pandera.pandas as pa

    checks: list[Any] = []
    if f.minimum is not None:
        checks.append(pa.Check.ge(f.minimum))
    if f.maximum is not None:
        checks.append(pa.Check.le(f.maximum))
    if f.enum is not None and f.list_sep is None:  # list items are checked on import
        checks.append(pa.Check.isin(list(f.enum)))
    if f.pattern is not None:
        checks.append(pa.Check.str_matches(f.pattern))
    return checks


@cache
def _schema_for(spec: TableSpec) -> pa.DataFrameSchema:
    import pandera.pandas as pa

    columns = {
        f.name: pa.Column(
            PANDAS_DTYPES.get(f.type, "string"),
            checks=_checks(f),
            nullable=not f.required,
            coerce=True,
            required=True,
            description=f.description or None,
            title=f.unit,
        )
        for f in spec.fields
    }
    return pa.DataFrameSchema(
        columns,
        name=spec.name,
        unique=list(spec.primary_key) or None,
        report_duplicates="all",
        strict=True,
        ordered=False,
        coerce=True,
    )


def pandera_schema(spec: TableSpec) -> pa.DataFrameSchema:
    """Return the pandera ``DataFrameSchema`` of a table.

    Parameters
    ----------
    spec
        Table spec from the catalog.

    Returns
    -------
    pandera.pandas.DataFrameSchema
        Strict schema (no unknown columns), coercing to nullable pandas dtypes, with range,
        enum and pattern checks and a unique primary key.
    """
    return _schema_for(spec)
