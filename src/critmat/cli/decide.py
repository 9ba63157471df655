"""`critmat stockpile ...`, `critmat sourcing ...`, `critmat reshoring`, `critmat levers`.

The faces of :mod:`critmat.optimize` (``kb.optimize``): what to stockpile, where to source,
what to reshore, which lever first. Formulations: docs/decisions.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from critmat.cli.common import (
    emit,
    emit_report,
    err_console,
    is_screen,
    open_kb,
    reports_errors,
    shown,
)
from critmat.cli.options import App, DataDir, Force, Format, NoUserData, Out, opt

if TYPE_CHECKING:
    import pandas as pd

    from critmat.knowledge_base import KnowledgeBase

__all__ = ["register", "sourcing_app", "stockpile_app"]

stockpile_app = App(
    help="What to stockpile: stock LP over a disruption scenario set (tonnes, euros), "
    "efficient frontier, reference policies (JOGMEC 60 days, EU reserve, RAMF greedy).",
    no_args_is_help=True,
)
sourcing_app = App(
    help="Where to source: least-cost supplier mix under the CRMA 65 % cap, what-if mixes, "
    "partners.",
    no_args_is_help=True,
)

ScenariosOpt = Annotated[Path | None, opt("scenarios")]
RunOpt = Annotated[str | None, opt("run")]
PresetOpt = Annotated[str | None, opt("preset")]
SpecOpt = Annotated[Path | None, opt("spec")]
ParametersOpt = Annotated[Path | None, opt("parameters")]
ObjectiveOpt = Annotated[str, opt("objective")]
AlphaOpt = Annotated[float, opt("alpha")]
BudgetOpt = Annotated[float | None, opt("budget_eur")]
HorizonOpt = Annotated[int | None, opt("decision_horizon_months")]
MinMonthsOpt = Annotated[float | None, opt("min_cover_months")]
SamplesOpt = Annotated[int | None, opt("decision_samples")]
SeedOpt = Annotated[int | None, opt("seed")]
PriceYearOpt = Annotated[int | None, opt("price_year")]
UsdPerEurOpt = Annotated[float | None, opt("usd_per_eur")]
MissingProbOpt = Annotated[str, opt("missing_probability")]
HtmlOpt = Annotated[
    Path | None, opt("html", help="Also write an HTML page with the frontier chart.")
]

_ALLOCATION = [
    "material",
    "stock_t",
    "purchase_cost_eur",
    "holding_cost_eur_yr",
    "months_of_demand",
    "expected_shortfall_t_before",
    "expected_shortfall_t_after",
    "cvar_shortfall_t_before",
    "cvar_shortfall_t_after",
    "rank",
    "shadow_price_budget",
    "shadow_price_purchase_cap_eur_t",
    "status",
]


def _check(name: str, value: Any) -> Any:
    from critmat.params import param

    return param(name).check(value)


def _source(
    scenarios: Path | None,
    run: str | None,
    preset: str | None,
    spec: Path | None,
    parameters: Path | None,
    horizon_months: int | None,
    samples: int | None,
    seed: int | None,
    missing_probability: str,
) -> dict[str, Any]:
    """The keywords of ``kb.optimize`` that choose the scenario set and its parameters."""
    return {
        "scenarios": scenarios,
        "run": run,
        "preset": preset,
        "spec": spec,
        "parameters": parameters,
        "horizon_months": horizon_months,
        "samples": samples,
        "seed": seed,
        "missing_probability": _check("missing_probability", missing_probability),
    }


def _inputs(
    scenarios: Path | None,
    run: str | None,
    preset: str | None,
    spec: Path | None,
    parameters: Path | None,
    horizon_months: int | None,
    samples: int | None,
    seed: int | None,
    price_year: int | None,
    usd_per_eur: float | None,
    missing_probability: str,
) -> dict[str, Any]:
    """:func:`_source` plus the price year and exchange rate of the physical baseline."""
    src = _source(
        scenarios, run, preset, spec, parameters, horizon_months, samples, seed, missing_probability
    )
    return {**src, "price_year": price_year, "usd_per_eur": _check("usd_per_eur", usd_per_eur)}


def _notes(notes: list[str]) -> None:
    for n in notes:
        err_console.print(f"[yellow]note:[/] {n}", highlight=False)


def allocation_table(res: Any) -> pd.DataFrame:
    """The allocation with the shadow prices as columns (budget; purchase cap per material)."""
    alloc = res.allocation.copy()
    sp = res.shadow_prices
    budget = sp[sp["constraint"] == "budget"]["value"]
    alloc["shadow_price_budget"] = float(budget.iloc[0]) if len(budget) else float("nan")
    caps = sp[sp["constraint"] == "purchase_cap"].set_index("material")["value"]
    alloc["shadow_price_purchase_cap_eur_t"] = (
        alloc["material"].map(caps.to_dict()).astype("float64")
    )
    alloc.attrs = dict(res.allocation.attrs)
    return alloc


@stockpile_app.command("optimize")
@reports_errors
def optimize_cmd(
    scenarios: ScenariosOpt = None,
    run: RunOpt = None,
    preset: PresetOpt = None,
    spec: SpecOpt = None,
    parameters: ParametersOpt = None,
    objective: ObjectiveOpt = "expected",
    alpha: AlphaOpt = 0.95,
    budget_eur: BudgetOpt = None,
    horizon_months: HorizonOpt = None,
    min_cover_months: MinMonthsOpt = None,
    samples: SamplesOpt = None,
    seed: SeedOpt = None,
    price_year: PriceYearOpt = None,
    usd_per_eur: UsdPerEurOpt = None,
    missing_probability: MissingProbOpt = "error",
    dask: Annotated[str | None, opt("dask")] = None,
    workers: Annotated[int | None, opt("workers")] = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Optimal stock per material (t, EUR), shortfall before/after, purchase order, duals."""
    kb = open_kb(data_dir, no_user_data)
    res = kb.optimize.stockpile(
        objective=_check("objective", objective),
        alpha=_check("alpha", alpha),
        budget_eur=_check("budget_eur", budget_eur),
        min_cover_months=_check("min_cover_months", min_cover_months),
        dask=dask,
        workers=workers,
        **_inputs(
            scenarios,
            run,
            preset,
            spec,
            parameters,
            horizon_months,
            samples,
            seed,
            price_year,
            usd_per_eur,
            missing_probability,
        ),
    )
    if is_screen(fmt, out):
        _notes([n for n in res.notes if not n.startswith(("holding_cost", "shortage_cost"))])
    t = res.totals
    title = (
        f"optimal stock ({objective}"
        + (f", alpha {alpha:g}" if objective == "cvar" else "")
        + f"): {res.status}; spend {t.get('purchase_cost_eur', float('nan')):,.0f} EUR"
        + (f" of {budget_eur:,.0f}" if budget_eur is not None else "")
        + f"; objective {res.objective_eur:,.0f} EUR"
    )
    emit(shown(allocation_table(res), fmt, out, _ALLOCATION), fmt, out, title=title)


@stockpile_app.command("frontier")
@reports_errors
def frontier_cmd(
    scenarios: ScenariosOpt = None,
    run: RunOpt = None,
    preset: PresetOpt = None,
    spec: SpecOpt = None,
    parameters: ParametersOpt = None,
    objective: ObjectiveOpt = "expected",
    alpha: AlphaOpt = 0.95,
    points: Annotated[int, opt("points")] = 11,
    horizon_months: HorizonOpt = None,
    samples: SamplesOpt = None,
    seed: SeedOpt = None,
    price_year: PriceYearOpt = None,
    usd_per_eur: UsdPerEurOpt = None,
    missing_probability: MissingProbOpt = "error",
    html: HtmlOpt = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Efficient frontier: budget -> expected and CVaR shortfall; when each material enters."""
    kb = open_kb(data_dir, no_user_data)
    fr = kb.optimize.frontier(
        objective=_check("objective", objective),
        alpha=_check("alpha", alpha),
        points=int(_check("points", points)),
        **_inputs(
            scenarios,
            run,
            preset,
            spec,
            parameters,
            horizon_months,
            samples,
            seed,
            price_year,
            usd_per_eur,
            missing_probability,
        ),
    )
    emit(
        shown(
            fr.points,
            fmt,
            out,
            [
                "budget_eur",
                "spent_eur",
                "expected_shortfall_t",
                "cvar_shortfall_t",
                "objective_eur",
                "budget_shadow_price",
                "status",
            ],
        ),
        fmt,
        out,
        title=f"efficient frontier ({objective}, {len(fr.points)} budgets)",
    )
    if is_screen(fmt, out):
        emit(fr.entry, None, None, title="order in which materials enter the stock")
    if html is not None:
        from critmat.report.builder import Report
        from critmat.report.decisions import frontier_section

        emit_report(
            Report("critmat: stockpile frontier").add(frontier_section(fr)), html, what="--html"
        )


@stockpile_app.command("compare")
@reports_errors
def compare_cmd(
    scenarios: ScenariosOpt = None,
    run: RunOpt = None,
    preset: PresetOpt = None,
    spec: SpecOpt = None,
    parameters: ParametersOpt = None,
    objective: ObjectiveOpt = "expected",
    alpha: AlphaOpt = 0.95,
    budget_eur: BudgetOpt = None,
    eu_reserve_months: Annotated[str, opt("eu_reserve_months")] = "3,6",
    horizon_months: HorizonOpt = None,
    samples: SamplesOpt = None,
    seed: SeedOpt = None,
    price_year: PriceYearOpt = None,
    usd_per_eur: UsdPerEurOpt = None,
    missing_probability: MissingProbOpt = "error",
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Reference policies side by side with the optimum (no stock, JOGMEC, EU reserve, RAMF).

    JOGMEC's 60 days of consumption, EU reserves of N months, a RAMF-style greedy allocation
    of the budget and the LP optimum, scored on the same scenario set.
    """
    from critmat.params import ParameterError

    try:
        months = [float(x) for x in eu_reserve_months.split(",") if x.strip()]
    except ValueError:
        raise ParameterError(
            f"--eu-reserve-months '{eu_reserve_months}' is not a list of numbers (e.g. 3,6)"
        ) from None
    kb = open_kb(data_dir, no_user_data)
    cmp_ = kb.optimize.compare(
        objective=_check("objective", objective),
        alpha=_check("alpha", alpha),
        budget_eur=_check("budget_eur", budget_eur),
        eu_reserve_months=months,
        **_inputs(
            scenarios,
            run,
            preset,
            spec,
            parameters,
            horizon_months,
            samples,
            seed,
            price_year,
            usd_per_eur,
            missing_probability,
        ),
    )
    emit(
        shown(
            cmp_.summary,
            fmt,
            out,
            [
                "policy",
                "purchase_cost_eur",
                "holding_cost_horizon_eur",
                "expected_shortfall_t",
                "cvar_shortfall_t",
                "objective_expected_eur",
                "status",
            ],
        ),
        fmt,
        out,
        title="reference policies on the same scenario set",
    )


@stockpile_app.command("baseline")
@reports_errors
def baseline_cmd(
    materials: Annotated[str | None, opt("materials")] = None,
    stage: Annotated[str | None, opt("stage")] = None,
    price_year: PriceYearOpt = None,
    usd_per_eur: UsdPerEurOpt = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Physical baseline: EU demand in tonnes per stage and price per tonne (EUR), sources."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.optimize.baseline(
        materials=materials, stage=stage, price_year=price_year, usd_per_eur=usd_per_eur
    )
    emit(
        shown(
            frame,
            fmt,
            out,
            [
                "material",
                "stage",
                "annual_demand_t",
                "demand_status",
                "price_eur_t",
                "eur_year",
                "usd_per_eur",
                "price_status",
                "status",
            ],
        ),
        fmt,
        out,
        title="physical baseline (EUR of the price year; sources: --format csv|json)",
    )


# ----------------------------------------------------------------------------- sourcing


def _sourcing_kb(data_dir: Path | None, no_user_data: bool) -> KnowledgeBase:
    return open_kb(data_dir, no_user_data)


def _groups(items: list[str] | None) -> dict[str, list[str]]:
    from critmat.params import parse_groupby

    return parse_groupby(items) if items else {}


@sourcing_app.command("optimize")
@reports_errors
def sourcing_optimize_cmd(
    material: Annotated[str | None, opt("one_material")] = None,
    candidates: Annotated[Path | None, opt("candidates")] = None,
    stage: Annotated[str | None, opt("stage")] = None,
    demand_t: Annotated[float | None, opt("demand_t")] = None,
    max_single_country: Annotated[float, opt("max_single_country")] = 0.65,
    max_group: Annotated[list[str] | None, opt("max_group")] = None,
    groups: Annotated[list[str] | None, opt("groups")] = None,
    objective: Annotated[str, opt("sourcing_objective")] = "least_cost",
    loss_eur_t: Annotated[float | None, opt("loss_eur_t")] = None,
    horizon_months: HorizonOpt = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Least-cost (or risk-adjusted) supplier mix under the CRMA single-country cap."""
    from critmat.params import ParameterError

    if material is None:
        raise ParameterError("give --material NAME (and --candidates FILE, else the data's)")
    kb = _sourcing_kb(data_dir, no_user_data)
    res = kb.optimize.sourcing(
        material=material,
        candidates=candidates,
        stage=stage or "processing",
        demand_t=_check("demand_t", demand_t),
        max_single_country=(
            None if _check("max_single_country", max_single_country) >= 1 else max_single_country
        ),
        max_group=list(max_group or []),
        groups=_groups(groups),
        objective=_check("sourcing_objective", objective),
        loss_eur_t=_check("loss_eur_t", loss_eur_t),
        horizon_months=horizon_months,
    )
    t = res.totals
    if is_screen(fmt, out):
        _notes(list(getattr(res, "notes", [])))

        def g(k: str) -> float:
            return float(t.get(k, float("nan")))

        err_console.print(
            f"cost {g('cost_eur'):,.0f} EUR vs current mix {g('current_cost_eur'):,.0f} "
            f"({g('cost_vs_current_pct'):+.1f} %); "
            f"China {g('china_share_before'):.0%} -> {g('china_share_after'):.0%}; "
            f"HHI {g('hhi_before'):.3f} -> {g('hhi_after'):.3f}; import risk "
            f"{g('import_risk_before'):.3f} -> {g('import_risk_after'):.3f}; EU SR "
            f"{g('eu_sr_before'):.2f} -> {g('eu_sr_after'):.2f}",
            highlight=False,
        )
    frame = res.allocation
    for k in ("cost_eur", "current_cost_eur", "cost_vs_current_pct"):
        if k in t:
            frame[f"mix_{k}"] = float(t[k])
    for k in ("china_share", "hhi", "import_risk", "eu_sr"):
        for w in ("before", "after"):
            if f"{k}_{w}" in t:
                frame[f"{k}_{w}"] = float(t[f"{k}_{w}"])
    emit(
        shown(
            frame,
            fmt,
            out,
            [
                "country",
                "allocation_t",
                "share",
                "unit_cost_eur_t",
                "current_t",
                "change_t",
                "binding",
            ],
        ),
        fmt,
        out,
        title=f"supplier mix of {res.options.material} at {res.options.stage}: {res.status}",
    )


@sourcing_app.command("whatif")
@reports_errors
def sourcing_whatif_cmd(
    material: Annotated[str | None, opt("one_material")] = None,
    proposed_mix: Annotated[list[str] | None, opt("proposed_mix")] = None,
    stage: Annotated[str | None, opt("stage")] = None,
    demand_t: Annotated[float | None, opt("demand_t")] = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Score a mix you propose (--share CHN=0.5 --share AUS=0.3 ...) against today's."""
    from critmat.params import ParameterError, parse_pairs

    if material is None or not proposed_mix:
        raise ParameterError("give --material NAME and at least one --share COUNTRY=SHARE")
    mix = parse_pairs(proposed_mix, option="--share") or {}
    kb = _sourcing_kb(data_dir, no_user_data)
    frame = kb.optimize.sourcing_whatif(
        material=material, mix=mix, stage=stage or "processing", demand_t=demand_t
    )
    emit(frame, fmt, out, title=f"proposed mix of {material} against today's EU mix")


@sourcing_app.command("partners")
@reports_errors
def partners_cmd(
    materials: Annotated[str | None, opt("materials")] = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """EU raw-materials partnerships and CRMA strategic projects outside the EU (cited)."""
    kb = _sourcing_kb(data_dir, no_user_data)
    emit(
        shown(
            kb.optimize.partners(materials=materials),
            fmt,
            out,
            ["kind", "country", "name", "date", "materials", "capacity_t_yr"],
        ),
        fmt,
        out,
        title="partners (sources: --format csv|json)",
    )


# ----------------------------------------------------------------------------- reshoring, levers


def reshoring_cmd(
    scenarios: ScenariosOpt = None,
    run: RunOpt = None,
    preset: PresetOpt = None,
    spec: SpecOpt = None,
    parameters: ParametersOpt = None,
    projects: Annotated[Path | None, opt("projects")] = None,
    include_crma: Annotated[bool, opt("include_crma")] = True,
    exclude_environmental: Annotated[bool, opt("exclude_environmental")] = False,
    alpha: AlphaOpt = 0.95,
    horizon_months: HorizonOpt = None,
    samples: SamplesOpt = None,
    seed: SeedOpt = None,
    missing_probability: MissingProbOpt = "error",
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Reshoring projects (CRMA strategic projects + yours): shortfall removed, cost per t.

    The effect on the CRMA Article 5 ratios is the CRMA tracker's: critmat crma benchmarks.
    """
    kb = open_kb(data_dir, no_user_data)
    frame = kb.optimize.reshoring(
        projects=projects,
        include_crma=include_crma,
        exclude_environmental=exclude_environmental,
        alpha=_check("alpha", alpha),
        **_source(
            scenarios,
            run,
            preset,
            spec,
            parameters,
            horizon_months,
            samples,
            seed,
            missing_probability,
        ),
    )
    emit(
        shown(
            frame,
            fmt,
            out,
            [
                "name",
                "material",
                "stage",
                "lead_time_months",
                "cost_eur",
                "removed_t",
                "cvar_removed_t",
                "cost_per_t_removed_eur",
                "benchmark_contribution",
                "status",
            ],
        ),
        fmt,
        out,
        title="reshoring projects on the scenario set",
    )


def levers_cmd(
    scenarios: ScenariosOpt = None,
    run: RunOpt = None,
    preset: PresetOpt = None,
    spec: SpecOpt = None,
    parameters: ParametersOpt = None,
    levers: Annotated[Path | None, opt("levers")] = None,
    alpha: AlphaOpt = 0.95,
    horizon_months: HorizonOpt = None,
    samples: SamplesOpt = None,
    seed: SeedOpt = None,
    missing_probability: MissingProbOpt = "error",
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Levers on one scale, ranked: shortfall removed per million euros (what to do first)."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.optimize.levers(
        levers=levers,
        alpha=_check("alpha", alpha),
        **_source(
            scenarios,
            run,
            preset,
            spec,
            parameters,
            horizon_months,
            samples,
            seed,
            missing_probability,
        ),
    )
    emit(
        shown(
            frame,
            fmt,
            out,
            [
                "rank",
                "name",
                "kind",
                "material",
                "cost_eur",
                "removed_t",
                "shortfall_removed_t_per_meur",
                "cvar_removed_t_per_meur",
                "rank_in_material",
                "status",
            ],
        ),
        fmt,
        out,
        title="levers ranked by shortfall removed per million euros (assumptions: --format csv)",
    )


def register(main: Any) -> None:
    """Add ``stockpile``, ``sourcing``, ``reshoring`` and ``levers`` to the main app."""
    main.add_typer(stockpile_app, name="stockpile")
    main.add_typer(sourcing_app, name="sourcing")
    main.command("reshoring")(reports_errors(reshoring_cmd))
    main.command("levers")(reports_errors(levers_cmd))
