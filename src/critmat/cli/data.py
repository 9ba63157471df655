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
    check_out,
    console,
    emit,
    err_console,
    fail,
    open_kb,
    reports_errors,
)
from critmat.cli.options import App, Force, Materials, Out, Years, opt
from critmat.errors import DataValidationError, ParameterError

app = App(help="The knowledge base: list, describe, import, export tables.", no_args_is_help=True)

TableArg = Annotated[str, typer.Argument(help="Table name (see `critmat data list`).")]


@app.command("list")
@reports_errors
def list_tables(
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
    fmt: FormatOpt = None,
    out: OutOpt = None,
    force: Force = False,
) -> None:
    """List the tables with row counts, years, user rows and sources."""
    kb = open_kb(data_dir, no_user_data)
    emit(kb.tables(), fmt, out, title=f"critmat knowledge base {kb.version}", empty_ok=True)


@app.command()
@reports_errors
def describe(
    table: TableArg,
    data_dir: DataDirOpt = None,
    fmt: FormatOpt = None,
    out: OutOpt = None,
    force: Force = False,
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
    emit(frame, fmt, out, title=f"fields of {table}", max_rows=200, empty_ok=True)
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
    force: Force = False,
) -> None:
    """All sources (publisher, year, URL, licence, transcription) and user imports."""
    emit(open_kb(data_dir, no_user_data).sources(), fmt, out, title="sources", empty_ok=True)


@app.command("import")
@reports_errors
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
    force: Force = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Validate a file and add it to your data directory (all or nothing)."""
    import warnings

    from critmat.checks import CheckWarning

    check_out(report, what="--report")
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
    except DataValidationError as exc:  # the table of problems, and the --report file
        raise fail(exc, report) from None


@app.command()
@reports_errors
def export(
    table: TableArg,
    out: Out = None,
    force: Force = False,
    fmt: FormatOpt = None,
    materials: Materials = None,
    countries: Annotated[str | None, opt("countries")] = None,
    years: Years = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
) -> None:
    """Export a table (embedded plus your rows) as csv, parquet, xlsx or json."""
    if out is None:
        raise ParameterError("critmat data export writes a file: give --out FILE")
    check_out(out)
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
    try:
        frame = kb.table(table, **filters)
    except TypeError as exc:  # a filter the table does not have
        raise ParameterError(f"table '{table}' cannot be filtered that way: {exc}") from None
    emit(frame, fmt, out, title=table)


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
@reports_errors
def cache(
    clear: Annotated[bool, opt("clear")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Results kept between runs (a second assess or report on unchanged data reads them).

    They live in the user data directory's cache/ folder, keyed by the data, the code and
    the arguments; CRITMAT_CACHE=off turns them off, CRITMAT_CACHE_MAX_MB sets the size
    limit (default 256).
    """
    from critmat.data.results import ResultStore, cache_enabled, limit_problem, results_folder
    from critmat.knowledge_base import _home_relative

    kb = open_kb(data_dir)
    assert kb.user is not None  # open_kb with user data
    store = ResultStore(results_folder(kb.user.root))
    where = _home_relative(store.root)
    if clear:
        n = store.clear()
        console.print(f"removed {n} kept result{'s' if n != 1 else ''} from {where}")
        return
    info = store.info()
    problem = limit_problem()
    if problem:
        err_console.print(f"warning: {problem}", highlight=False)
    state = "on" if cache_enabled() else "off (CRITMAT_CACHE)"
    if cache_enabled() and not info["trusted"]:
        state = (
            "off: the folder belongs to another user or others can write it "
            "(nothing is read back; chmod 700 it, or remove it)"
        )
    console.print(
        f"kept results: {info['files']} files, {info['bytes'] / 1e6:.1f} MB of "
        f"{info['limit_bytes'] / 1e6:.0f} MB, in {where}; {state}",
        highlight=False,
    )


@app.command()
@reports_errors
def query(
    sql: Annotated[str, typer.Argument(help="SQL over the table views (DuckDB).")],
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
    fmt: FormatOpt = None,
    out: OutOpt = None,
    force: Force = False,
) -> None:
    """Run a SQL query over the knowledge base (tables are views of the same names)."""
    kb = open_kb(data_dir, no_user_data)
    try:
        frame = kb.sql(sql)
    except Exception as exc:  # DuckDB parser/binder errors name the problem in the SQL
        if type(exc).__module__.startswith(("duckdb", "_duckdb")) and type(exc).__name__ in (
            "ParserException",
            "BinderException",
            "CatalogException",
            "ConversionException",
            "InvalidInputException",
        ):
            raise ParameterError(f"SQL error: {exc}") from None
        raise
    emit(frame, fmt, out, title="query", empty_ok=True)
