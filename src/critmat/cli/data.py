"""`critmat data ...`: list, describe, import, export and remove knowledge-base tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from critmat.cli.common import (
    DataDirOpt,
    FormatOpt,
    NoUserDataOpt,
    OutOpt,
    console,
    emit,
    err_console,
    fail,
    open_kb,
    reports_errors,
)
from critmat.cli.options import App, Materials, Out, Years, opt
from critmat.errors import CritmatError, ParameterError

app = App(help="The knowledge base: list, describe, import, export tables.", no_args_is_help=True)

TableArg = Annotated[str, typer.Argument(help="Table name (see `critmat data list`).")]


@app.command("list")
@reports_errors
def list_tables(
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
    fmt: FormatOpt = None,
    out: OutOpt = None,
) -> None:
    """List the tables with row counts, years, user rows and sources."""
    kb = open_kb(data_dir, no_user_data)
    emit(kb.tables(), fmt, out, title=f"critmat knowledge base {kb.version}")


@app.command()
@reports_errors
def describe(
    table: TableArg, data_dir: DataDirOpt = None, fmt: FormatOpt = None, out: OutOpt = None
) -> None:
    """Fields of a table with types, units and descriptions, its sources and licences."""
    kb = open_kb(data_dir)
    frame = kb.describe(table)
    meta = frame.attrs["table"]
    if (fmt or "table") == "table" and out is None:
        console.print(f"[bold]{meta['name']}[/]: {meta['title']}")
        console.print(meta["description"])
        st = meta["stats"]
        years = f", years {st['years'][0]}-{st['years'][1]}" if st.get("years") else ""
        console.print(
            f"rows: {st.get('rows', 0):,}{years}; primary key: {', '.join(meta['primary_key'])}"
        )
    emit(frame, fmt, out, title=f"fields of {table}", max_rows=200)
    if (fmt or "table") == "table" and out is None:
        console.print("[bold]sources[/]")
        for s in meta["sources"]:
            console.print(
                f"- [cyan]{s['id']}[/]: {s['title']} ({s['publisher']}, "
                f"{s['year']}) {s['url'] or ''}\n  licence: {s['licence']}\n"
                f"  via: {s['transcription'] or '-'}"
            )


@app.command()
@reports_errors
def sources(
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
    fmt: FormatOpt = None,
    out: OutOpt = None,
) -> None:
    """All sources (publisher, year, URL, licence, transcription) and user imports."""
    emit(open_kb(data_dir, no_user_data).sources(), fmt, out, title="sources")


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="CSV/TSV, XLSX, Parquet or JSON (list of records) file.")
    ],
    table: Annotated[str | None, opt("table")] = None,
    mode: Annotated[str, opt("mode")] = "merge",
    combine: Annotated[str, opt("combine")] = "upsert",
    sheet: Annotated[str | None, opt("sheet")] = None,
    note: Annotated[str, opt("note")] = "",
    checks: Annotated[str, opt("import_checks")] = "warn",
    report: Annotated[Path | None, opt("problems_report")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Validate a file and add it to your data directory (all or nothing)."""
    import warnings

    from critmat.checks import CheckWarning

    try:
        kb = open_kb(data_dir)
        if table is None:
            raise ParameterError(
                "give the target table with --table; tables: " + ", ".join(kb.catalog.tables)
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CheckWarning)  # printed below, readably
            result = kb.import_file(
                file, table, mode=mode, combine=combine, sheet=sheet, note=note, checks=checks
            )
        console.print(f"[green]{result.summary()}[/]", highlight=False)
        lines = result.violation_lines()
        if lines:
            err_console.print(
                f"[bold yellow]warning:[/] {len(lines)} invariant violation"
                f"{'s' if len(lines) != 1 else ''} after this import (the rows were imported; "
                "use --checks strict to refuse such imports):",
                highlight=False,
            )
            for line in lines:
                err_console.print(f"  - {line}", highlight=False, soft_wrap=True)
    except CritmatError as exc:
        raise fail(exc, report) from None


@app.command()
def export(
    table: TableArg,
    out: Out = None,
    fmt: FormatOpt = None,
    materials: Materials = None,
    countries: Annotated[str | None, opt("countries")] = None,
    years: Years = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
) -> None:
    """Export a table (embedded plus your rows) as csv, parquet, xlsx or json."""
    try:
        if out is None:
            raise ParameterError("critmat data export writes a file: give --out FILE")
        kb = open_kb(data_dir, no_user_data)
        spec = kb.catalog.table(table)
        filters = {}
        cols = set(spec.field_names)
        if materials is not None:
            filters["materials"] = materials
        if countries is not None:
            filters["countries" if "country" in cols else "importers"] = countries
        if years is not None:
            filters["years"] = years
        emit(kb.table(table, **filters), fmt, out, title=table)
    except CritmatError as exc:
        raise fail(exc) from None
    except TypeError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None


@app.command()
@reports_errors
def remove(table: TableArg, data_dir: DataDirOpt = None) -> None:
    """Remove your version of a table (the embedded one shows again)."""
    kb = open_kb(data_dir)
    if kb.remove_user_table(table):
        console.print(f"removed your rows of '{table}' from {kb.user.root if kb.user else ''}")
    else:
        console.print(f"no user rows for '{table}'; nothing to remove")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL over the table views (DuckDB).")],
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
    fmt: FormatOpt = None,
    out: OutOpt = None,
) -> None:
    """Run a SQL query over the knowledge base (tables are views of the same names)."""
    try:
        kb = open_kb(data_dir, no_user_data)
        emit(kb.sql(sql), fmt, out, title="query")
    except CritmatError as exc:
        raise fail(exc) from None
    except Exception as exc:  # DuckDB parser/binder errors: show them, they name the problem
        if type(exc).__module__.startswith("duckdb") or "duckdb" in type(exc).__module__:
            err_console.print(f"[bold red]SQL error:[/] {exc}")
            raise typer.Exit(2) from None
        raise
