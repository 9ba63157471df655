"""`critmat scenario ...`: disruption scenarios, Monte Carlo ensembles and stored runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from critmat.cli.common import (
    check_out,
    console,
    emit,
    emit_report,
    emit_text,
    err_console,
    is_screen,
    open_kb,
    reports_errors,
)
from critmat.cli.options import App, DataDir, Force, Format, NoUserData, Out, opt
from critmat.params import param

if TYPE_CHECKING:
    import pandas as pd

    from critmat.scenarios.result import EnsembleResult
    from critmat.scenarios.store import RunStore

__all__ = ["app", "register"]

app = App(
    help="Disruption scenarios: shocks, mitigations, monthly stock-flow simulation and "
    "Monte Carlo ensembles (locally or on Dask); stored runs.",
    no_args_is_help=True,
)

TableOpt = Annotated[str, opt("result_table")]
HtmlOpt = Annotated[Path | None, opt("html")]

_SHOWN = [
    "material",
    "stage",
    "stock_months",
    "p_shortfall",
    "shortfall_mean",
    "shortfall_p5",
    "shortfall_p50",
    "shortfall_p95",
    "shortfall_cvar95",
    "defence_shortfall_mean",
    "p_stockout",
    "months_to_stockout_p50",
    "peak_price_p50",
    "shortfall_t_mean",
]


def _store(data_dir: Path | None) -> RunStore:
    from critmat.data.userdata import default_data_dir
    from critmat.scenarios.store import RunStore

    return RunStore((data_dir or default_data_dir()) / "scenarios")


def _frame(result: EnsembleResult, table: str, fmt: str | None, out: Path | None) -> pd.DataFrame:
    frame = result.frame(table)
    if table == "summary" and is_screen(fmt, out):
        cols = [c for c in _SHOWN if c in frame.columns]
        if frame["defence_share"].eq(0).all():
            cols.remove("defence_shortfall_mean")
        if frame["shortfall_t_mean"].isna().all():
            cols.remove("shortfall_t_mean")
        shown = frame[cols].sort_values("shortfall_mean", ascending=False)
        shown.attrs = frame.attrs
        return shown
    return frame


def _write_html(result: EnsembleResult, path: Path | None) -> None:
    if path is None:
        return
    from critmat.report.scenario import scenario_report

    emit_report(scenario_report(result), path, what="--html")


@app.command("presets")
@reports_errors
def presets_cmd(
    name: Annotated[
        str | None,
        typer.Argument(
            help="Print this preset's specification (YAML; JSON with --format json) to edit "
            "and run with --spec."
        ),
    ] = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Preset scenarios from the event record (China 2023-2025 controls) and hypotheticals."""
    kb = open_kb(data_dir, no_user_data)
    from critmat.scenarios.presets import preset, preset_table

    if name is None:
        table = preset_table(kb)
        if is_screen(fmt, out):  # citations are long: in csv/json/xlsx output
            table = table.drop(columns=["citation"])
        emit(table, fmt, out, title="scenario presets (citations: --format csv|json)")
        return
    from critmat.scenarios.spec import dump_spec

    text = dump_spec(preset(kb, name).spec, "json" if fmt == "json" else "yaml")
    if out is not None:
        emit_text(text, out)
    else:
        typer.echo(text, nl=False)


@app.command("validate")
@reports_errors
def validate_cmd(
    spec: Annotated[
        Path, typer.Argument(help="Scenario or ensemble file (.yaml, .json).", dir_okay=False)
    ],
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Check a specification (names, numbers, contradictions) without running it."""
    from critmat.scenarios.plan import plan_frame

    kb = open_kb(data_dir, no_user_data)
    plan = kb.scenarios.validate(kb.scenarios.load(spec), source=str(spec))
    for w in plan.warnings:
        err_console.print(f"[yellow]warning:[/] {w}")
    emit(
        plan_frame(plan)[
            [
                "material",
                "stage",
                "mix",
                "china_share",
                "top_suppliers",
                "stock_months",
                "defence_share",
                "demand_basis",
            ]
        ],
        None,
        None,
        title=f"{plan.scenario.name}: valid, {len(plan.shocks)} shocks",
    )


@app.command("run")
@reports_errors
def run_cmd(
    preset: Annotated[str | None, opt("preset")] = None,
    spec: Annotated[Path | None, opt("spec")] = None,
    samples: Annotated[int | None, opt("samples")] = None,
    seed: Annotated[int | None, opt("seed")] = None,
    cvar_level: Annotated[float | None, opt("cvar_level")] = None,
    horizon_months: Annotated[int | None, opt("horizon_months")] = None,
    stock_months: Annotated[
        float | None,
        opt(
            "stock_months",
            annotation=float | None,
            default=None,
            help="Give every material a stock of this many months of demand "
            "(released as needed, no cap).",
            default_text="the spec's",
        ),
    ] = None,
    dask: Annotated[str | None, opt("dask")] = None,
    workers: Annotated[int | None, opt("workers")] = None,
    table: TableOpt = "summary",
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    html: HtmlOpt = None,
    save: Annotated[bool, opt("save")] = True,
    quiet: Annotated[bool, opt("quiet")] = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
    supply_vintage: Annotated[
        str | None,
        opt("supply_vintage", annotation=str | None, default=None, default_text="the spec's"),
    ] = None,
) -> None:
    """Run an ensemble from a preset or a file; print (or write) the results and store the run."""
    from critmat.params import ParameterError
    from critmat.scenarios.spec import StockPolicy

    if (preset is None) == (spec is None):
        raise ParameterError(
            "give one of --preset NAME or --spec FILE (see critmat scenario presets)"
        )
    check_out(out)
    check_out(html, what="--html", report=True)
    kb = open_kb(data_dir, no_user_data)
    if preset is not None:
        ens = kb.scenarios.preset(preset, where="--preset").spec.model_copy(deep=True)
        source = f"preset {preset}"
    else:
        assert spec is not None
        ens = kb.scenarios.load(spec)
        source = str(spec)
    if horizon_months is not None:
        ens.scenario.horizon_months = horizon_months
    if supply_vintage is not None:
        ens.scenario.supply_vintage = supply_vintage
    if cvar_level is not None:
        ens.cvar_level = float(param("cvar_level").check(cvar_level))
    if stock_months is not None:
        ens.scenario.mitigations.stocks = [
            StockPolicy.model_validate({"initial_months": stock_months})
        ]
    result = kb.scenarios.run(
        ens,
        dask=dask,
        workers=workers,
        samples=samples,
        seed=seed,
        progress=not quiet,
        source=source,
    )
    for w in result.meta.get("warnings", []) + result.meta.get("notes", []):
        err_console.print(f"[yellow]note:[/] {w}")
    if save:
        run_id = _store(data_dir).save(result)
        err_console.print(
            f"stored run {run_id} ({result.samples:,} scenarios, "
            f"{result.meta['wall_s']:.2f} s, {result.meta['engine']}); "
            f"critmat scenario show {run_id}"
        )
    emit(
        _frame(result, table, fmt, out),
        fmt,
        out,
        title=f"{result.name}: {table} ({result.samples:,} scenarios)",
    )
    _write_html(result, html)


@app.command("list")
@reports_errors
def list_cmd(
    fmt: Format = None, out: Out = None, force: Force = False, data_dir: DataDir = None
) -> None:
    """Stored runs, newest first."""
    runs = _store(data_dir).list()
    if runs.empty and is_screen(fmt, out):
        console.print("no stored runs yet; critmat scenario run --preset NAME")
        return
    emit(runs, fmt, out, title="stored scenario runs", empty_ok=True)


@app.command("show")
@reports_errors
def show_cmd(
    run_ref: Annotated[
        str, typer.Argument(metavar="RUN", help="Run id, unique prefix, run name or 'latest'.")
    ],
    table: TableOpt = "summary",
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    html: HtmlOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Show a stored run: its specification summary and a result table."""
    check_out(out)
    check_out(html, what="--html", report=True)
    result = _store(data_dir).load(run_ref)
    if is_screen(fmt, out):
        m = result.meta
        sc = result.spec.scenario
        console.print(
            f"[bold]{result.run_id}[/] '{sc.name}': {result.samples:,} scenarios, "
            f"seed {result.spec.seed}, {sc.horizon_months} months, "
            f"{len(sc.shocks)} shocks; critmat {m.get('critmat_version')}, "
            f"dataset {m.get('dataset_version')}, {m.get('engine')}, "
            f"{m.get('wall_s')} s"
        )
        if sc.event is not None:
            console.print(
                f"event: {', '.join(sc.event.event_ids) or sc.event.kind}", highlight=False
            )
    emit(_frame(result, table, fmt, out), fmt, out, title=f"{result.name}: {table}")
    _write_html(result, html)


@app.command("compare")
@reports_errors
def compare_cmd(
    run_a: Annotated[str, typer.Argument(metavar="RUN_A")],
    run_b: Annotated[str, typer.Argument(metavar="RUN_B")],
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
) -> None:
    """Compare two stored runs material by material (delta = B - A)."""
    from critmat.scenarios.store import compare_runs

    store = _store(data_dir)
    a, b = store.load(run_a), store.load(run_b)
    frame = compare_runs(a, b)
    emit(frame, fmt, out, title=f"{a.run_id} ({a.name}) vs {b.run_id} ({b.name})")


def register(main: Any) -> None:
    """Add the ``scenario`` command group to the main app."""
    main.add_typer(app, name="scenario")
