"""Embedded DuckDB over the Parquet tables, with the user's tables overlaid.

The connection is opened on first use (never at import). Each table is a view:

* embedded only: ``read_parquet(<package>/<table>.parquet)``;
* user table with ``combine = upsert``: the user's rows plus the embedded rows whose primary
  key the user did not supply;
* user table with ``combine = replace``: the user's rows only.
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from critmat.data.catalog import Catalog, TableSpec
from critmat.data.userdata import UserData

__all__ = ["DUCKDB_TYPES", "Store", "arrow_to_pandas"]

#: DuckDB type of each Frictionless field type.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
}


_BATCH_ROWS = 1 << 17


def _lit(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _cast_select(spec: TableSpec, source: str) -> str:
    cols = ", ".join(
        f"CAST({_ident(f.name)} AS {DUCKDB_TYPES.get(f.type, 'VARCHAR')}) AS {_ident(f.name)}"
        for f in spec.fields
    )
    return f"SELECT {cols} FROM {source}"


def _empty_select(spec: TableSpec) -> str:
    """A typed, empty SELECT for a table without an embedded file (e.g. user-only tables)."""
    cols = ", ".join(
        f"CAST(NULL AS {DUCKDB_TYPES.get(f.type, 'VARCHAR')}) AS {_ident(f.name)}"
        for f in spec.fields
    )
    return f"SELECT {cols} WHERE false"


def arrow_to_pandas(table: Any) -> pd.DataFrame:
    """Convert a ``pyarrow.Table`` to pandas with compact, nullable dtypes.

    Text becomes ``string[pyarrow]`` (a fraction of the memory of Python objects), integers
    with gaps become ``Int64``, floats stay ``float64`` (NaN for missing), booleans with gaps
    become ``boolean``.
    """
    import pyarrow as pa

    def mapper(t: Any) -> Any:
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return pd.StringDtype("pyarrow")
        if pa.types.is_dictionary(t):
            return pd.StringDtype("pyarrow")
        return None

    frame = table.to_pandas(types_mapper=mapper)
    for name, col in zip(table.column_names, table.columns, strict=True):
        t = col.type
        if col.null_count and pa.types.is_integer(t):
            frame[name] = frame[name].astype("Int64")
        elif col.null_count and pa.types.is_boolean(t):
            frame[name] = frame[name].astype("boolean")
        elif pa.types.is_date(t):
            frame[name] = pd.to_datetime(frame[name])
    return frame


class Store:
    """Lazy DuckDB views over the embedded and user tables.

    Parameters
    ----------
    catalog
        Parsed datapackage.
    embedded
        Folder holding the embedded Parquet files.
    user
        User data directory to overlay, or ``None``.
    """

    def __init__(self, catalog: Catalog, embedded: Path, user: UserData | None) -> None:
        self.catalog = catalog
        self.embedded = embedded
        self.user = user
        self._lock = threading.Lock()

    @cached_property
    def user_tables(self) -> dict[str, dict[str, Any]]:
        """User table entries from the manifest (read once per store)."""
        return {} if self.user is None else self.user.tables()

    def view_sql(self, spec: TableSpec) -> str:
        """Return the SELECT that defines the view of table ``spec``."""
        emb = self.embedded / spec.path if spec.path else None
        embedded_sql = (
            _cast_select(spec, f"read_parquet({_lit(emb)})")
            if emb is not None and emb.is_file()
            else _empty_select(spec)
        )
        entry = self.user_tables.get(spec.name)
        if entry is None or self.user is None:
            return embedded_sql
        user_sql = _cast_select(spec, f"read_parquet({_lit(self.user.root / entry['file'])})")
        if entry.get("combine") == "replace" or not spec.primary_key:
            return user_sql
        keys = " AND ".join(
            f"u.{_ident(k)} IS NOT DISTINCT FROM e.{_ident(k)}" for k in spec.primary_key
        )
        return (
            f"{user_sql} UNION ALL SELECT e.* FROM ({embedded_sql}) e "
            f"WHERE NOT EXISTS (SELECT 1 FROM ({user_sql}) u WHERE {keys})"
        )

    @cached_property
    def con(self) -> Any:
        """The DuckDB connection (opened on first access, views registered)."""
        import duckdb

        con = duckdb.connect(":memory:")
        for spec in self.catalog.tables.values():
            con.execute(f"CREATE VIEW {_ident(spec.name)} AS {self.view_sql(spec)}")
        return con

    def arrow(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> Any:
        """Run ``sql`` and return a ``pyarrow.Table``."""
        import pyarrow as pa

        with self._lock:
            rel = self.con.sql(sql, params=params) if params else self.con.sql(sql)
            if rel is None:  # a statement without result rows
                return None
            # stream record batches: peak memory is the result plus one batch, not two copies
            for name in ("to_arrow_reader", "fetch_arrow_reader", "record_batch"):
                reader_fn = getattr(rel, name, None)
                if reader_fn is not None:
                    reader = reader_fn(_BATCH_ROWS)
                    return pa.Table.from_batches(list(reader), schema=reader.schema)
            return rel.arrow()

    def query(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run ``sql`` and return a pandas frame (text as Arrow-backed strings)."""
        return arrow_to_pandas(self.arrow(sql, params))

    def close(self) -> None:
        """Close the connection if it was opened."""
        if "con" in self.__dict__:
            self.__dict__.pop("con").close()
