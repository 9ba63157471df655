"""Embedded DuckDB over the Parquet tables, with the user's tables overlaid.

The connection is opened on first use (never at import). At that moment the store takes one
consistent snapshot of the user data directory (:meth:`UserData.snapshot`: one manifest and
the files it names, read into memory) and builds every table from it:

* embedded only: a view over ``read_parquet(<package>/<table>.parquet)``;
* user table with ``combine = upsert``: a table *materialised once* in the connection, holding
  the user's rows plus the embedded rows whose primary key the user did not supply (the
  anti-join runs once per knowledge base, not on every query);
* user table with ``combine = replace``: the user's rows only, materialised.

Nothing reads the user data directory after that, so an import committing in another
process can never make a query fail half-way; a knowledge base sees its snapshot until it is
closed (``kb.close()``; imports through the knowledge base reopen it).

The connection is read-only in fact: once the tables exist, DuckDB's file access is limited
to the package's data folder (``allowed_directories`` + ``enable_external_access = false``,
configuration locked), and :meth:`Store.arrow` runs only single ``SELECT`` statements.
"""

from __future__ import annotations

import os
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from critmat.data.catalog import Catalog, TableSpec
from critmat.data.userdata import Snapshot, UserData
from critmat.errors import ReadOnlySQLError

__all__ = ["DUCKDB_TYPES", "Store", "arrow_to_pandas", "check_read_only"]

#: DuckDB type of each Frictionless field type.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
}


_BATCH_ROWS = 1 << 17

#: Statement types ``kb.sql`` runs (DuckDB parses DESCRIBE, SHOW, SUMMARIZE, FROM-first
#: queries, VALUES and set operations as SELECT).
_READ_ONLY_TYPES = ("SELECT",)

_USER_ROWS = "__critmat_user_rows"


def _lit(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _cast_select(spec: TableSpec, source: str, available: set[str] | None = None) -> str:
    """SELECT every field of ``spec`` from ``source`` with its type (NULL where absent)."""
    cols = ", ".join(
        f"CAST({_ident(f.name) if available is None or f.name in available else 'NULL'} "
        f"AS {DUCKDB_TYPES.get(f.type, 'VARCHAR')}) AS {_ident(f.name)}"
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


def check_read_only(con: Any, sql: str) -> None:
    """Raise unless ``sql`` is exactly one read-only (``SELECT``-type) statement.

    Parameters
    ----------
    con
        A DuckDB connection (used to parse ``sql``, nothing is run).
    sql
        The query.

    Raises
    ------
    critmat.errors.ReadOnlySQLError
        For several statements or any statement that is not a query (``CREATE``, ``INSERT``,
        ``COPY``, ``ATTACH``, ``PRAGMA``, ``SET``, ``INSTALL``, ``LOAD``, ``CALL``, ...).
    """
    statements = con.extract_statements(sql)
    if len(statements) != 1:
        raise ReadOnlySQLError(
            f"kb.sql runs exactly one query at a time; got {len(statements)} statements"
        )
    kind = getattr(statements[0].type, "name", str(statements[0].type)).upper()
    if kind not in _READ_ONLY_TYPES:
        raise ReadOnlySQLError(
            "kb.sql is read-only: it runs queries (SELECT, WITH ... SELECT, DESCRIBE, SHOW, "
            f"SUMMARIZE) over the knowledge-base tables; got a statement of type {kind}. "
            "Change data with `critmat data import` / kb.import_file"
        )


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
    """DuckDB tables over the embedded Parquet files with the user's tables overlaid.

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
        self.embedded = Path(embedded).resolve()
        self.user = user
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def _take_snapshot(self) -> Snapshot:
        if self._snapshot is None:
            self._snapshot = (
                Snapshot(manifest={"tables": {}, "imports": []}, tables={})
                if self.user is None
                else self.user.snapshot()
            )
        return self._snapshot

    @property
    def manifest(self) -> dict[str, Any]:
        """The user data manifest this store reads (one snapshot per store)."""
        return self._take_snapshot().manifest

    @property
    def user_tables(self) -> dict[str, dict[str, Any]]:
        """User table entries of the snapshot's manifest (read once per store)."""
        return dict(self.manifest["tables"])

    def _embedded_sql(self, spec: TableSpec) -> str:
        emb = self.embedded / spec.path if spec.path else None
        if emb is not None and emb.is_file():
            return _cast_select(spec, f"read_parquet({_lit(emb)})")
        return _empty_select(spec)

    def _create(self, con: Any, spec: TableSpec, user_rows: Any | None) -> None:
        """Create table ``spec.name``: a view over the embedded file, or the overlay."""
        name = _ident(spec.name)
        embedded_sql = self._embedded_sql(spec)
        if user_rows is None:
            con.execute(f"CREATE VIEW {name} AS {embedded_sql}")
            return
        entry = self.user_tables.get(spec.name, {})
        con.register(_USER_ROWS, user_rows)
        try:
            user_sql = _cast_select(spec, _USER_ROWS, set(user_rows.column_names))
            if entry.get("combine") == "replace" or not spec.primary_key:
                con.execute(f"CREATE TABLE {name} AS {user_sql}")
                return
            con.execute(f"CREATE TEMP TABLE __critmat_u AS {user_sql}")
            keys = " AND ".join(
                f"u.{_ident(k)} IS NOT DISTINCT FROM e.{_ident(k)}" for k in spec.primary_key
            )
            con.execute(
                f"CREATE TABLE {name} AS SELECT * FROM __critmat_u UNION ALL "
                f"SELECT e.* FROM ({embedded_sql}) e "
                f"WHERE NOT EXISTS (SELECT 1 FROM __critmat_u u WHERE {keys})"
            )
            con.execute("DROP TABLE __critmat_u")
        finally:
            con.unregister(_USER_ROWS)

    def _lock_down(self, con: Any) -> None:
        """Allow file reads under the package data folder only; lock the configuration."""
        allowed = str(self.embedded).rstrip("/\\") + os.sep
        for stmt in (
            "SET autoinstall_known_extensions = false",
            "SET autoload_known_extensions = false",
            "SET python_enable_replacements = false",
            f"SET allowed_directories = [{_lit(allowed)}]",
            "SET enable_external_access = false",
            "SET lock_configuration = true",
        ):
            con.execute(stmt)

    @cached_property
    def con(self) -> Any:
        """The DuckDB connection (opened on first access, tables built from one snapshot)."""
        import duckdb

        snap = self._take_snapshot()
        con = duckdb.connect(":memory:")
        try:
            for spec in self.catalog.tables.values():
                self._create(con, spec, snap.tables.get(spec.name))
            self._lock_down(con)
        except BaseException:
            con.close()
            raise
        # the rows now live in DuckDB: keep the manifest, drop the Arrow copies
        self._snapshot = Snapshot(manifest=snap.manifest, tables={})
        return con

    def arrow(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> Any:
        """Run one read-only query and return a ``pyarrow.Table``.

        Raises
        ------
        critmat.errors.ReadOnlySQLError
            If ``sql`` is not a single query, or tries to read files outside the package.
        """
        import duckdb
        import pyarrow as pa

        with self._lock:
            con = self.con
            check_read_only(con, sql)
            try:
                return self._run(con, sql, params, pa)
            except duckdb.PermissionException as exc:
                raise ReadOnlySQLError(
                    "kb.sql reads the knowledge-base tables only, no other files "
                    f"({str(exc).splitlines()[0]})"
                ) from None

    @staticmethod
    def _run(con: Any, sql: str, params: Any, pa: Any) -> Any:
        rel = con.sql(sql, params=params) if params else con.sql(sql)
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
        """Close the connection if it was opened; the next query takes a new snapshot."""
        if "con" in self.__dict__:
            self.__dict__.pop("con").close()
        self._snapshot = None
