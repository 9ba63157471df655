"""Decisions on the knowledge base: the functions behind ``kb.optimize`` and the CLI.

Each function takes the knowledge base first and keyword-only arguments (bound as
``kb.optimize.<name>``). The scenario set comes from exactly one of

* ``scenarios=``: the explicit table (path or frame: ``scenario, probability, material,
  month, gap_t``);
* ``run=``: a stored scenario run (id, prefix, name or ``latest``): its specification is
  re-validated against this knowledge base and simulated again (runs store statistics,
  not the monthly paths);
* ``preset=``: a preset scenario (``critmat scenario presets``);
* ``spec=``: a scenario or ensemble file.

Material parameters come from the user's table (``parameters=``, the columns of
:class:`~critmat.optimize.parameters.MaterialParameters`), completed by the physical
baseline (:mod:`critmat.optimize.physical`: price per tonne from USGS or BACI in EUR of the
price year, EU demand in tonnes); a material without a price stops the decision with its
status. Formulations: docs/decisions.md.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from critmat.data.cache import memoised
from critmat.errors import CritmatError, DataValidationError, Problem
from critmat.optimize._solver import OptimizeError
from critmat.optimize.physical import DecisionInputError, decision_parameters, physical_baseline
from critmat.provenance import attach

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase
    from critmat.optimize.frontier import Frontier
    from critmat.optimize.parameters import MaterialParameters
    from critmat.optimize.policies import PolicyComparison
    from critmat.optimize.scenario_set import ScenarioSet
    from critmat.optimize.sourcing import SourcingResult
    from critmat.optimize.stockpile import StockpileResult

__all__ = [
    "DEFAULT_SAMPLES",
    "LEVER_ASSUMPTIONS",
    "DecisionInputs",
    "compare",
    "crma_projects",
    "data_candidates",
    "decision_inputs",
    "decision_parameters_of",
    "default_levers",
    "frontier",
    "governance_disruption_prob",
    "levers",
    "partners",
    "reshoring",
    "sourcing",
    "sourcing_whatif",
    "stockpile",
]

#: Monte Carlo draws of a preset, spec or stored run when the call gives none (a decision
#: needs fewer draws than a fan chart: 200 keep the LP small and the CLI fast).
DEFAULT_SAMPLES = 200

#: Defaults of the levers critmat proposes when the user gives none (all assumptions:
#: replace them with ``levers=`` / ``--levers FILE``).
LEVER_ASSUMPTIONS: dict[str, str] = {
    "stock": "the stock of the expected-cost optimum without a budget (this LP)",
    "partner": "10 % of annual demand from a partner country, 12 months lead time, 12 "
    "months ramp, 15 % premium on the price (assumption; lead times: "
    "lead_times_cost_premia)",
    "reshoring": "the CRMA strategic projects of the material in the EU with a published "
    "capacity (crma_project_capacities), construction 18 months (LT-09: Mkango Pulawy "
    "refinery) + the CRMA permit cap, 30 % premium on the price (LT-10: REE value chain "
    "Europe vs China), capex not published: 0 (assumption)",
    "recycling": "5 % of annual demand more end-of-life recycling, 24 months lead, 24 "
    "months ramp, 30 % premium (assumption)",
    "substitution": "10 % of annual demand substituted after the disruption starts, 6 "
    "months lead, 12 months ramp, 50 % premium on the tonnes used (assumption)",
    "restraint": "10 % of monthly demand restrained in months with a gap, valued at the "
    "price (assumption: the civil use foregone)",
}


@dataclass(frozen=True)
class DecisionInputs:
    """The scenario set and the completed material parameters of a decision.

    Attributes
    ----------
    scenarios
        :class:`~critmat.optimize.scenario_set.ScenarioSet` (gaps in tonnes).
    parameters
        Material parameter table (``price_source`` names each price's origin).
    baseline
        The physical baseline rows behind it (:func:`physical_baseline`).
    stages
        Stage of each material (from the scenario plan; processing for a table).
    notes
        What was assumed or filled in.
    """

    scenarios: ScenarioSet
    parameters: pd.DataFrame
    baseline: pd.DataFrame
    stages: dict[str, str]
    notes: list[str] = field(default_factory=list)


def _read_table(path: str | Path, what: str) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise DataValidationError(
            [Problem("file not found", file=str(p), expected=f"a CSV or Parquet {what}")],
            source=str(p),
        )
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(p)
        return pd.read_csv(p)
    except Exception as exc:
        raise DataValidationError(
            [Problem(f"cannot read the file: {exc}", file=str(p), expected="CSV or Parquet")],
            source=str(p),
        ) from None


def _frame(value: Any, what: str) -> pd.DataFrame | None:
    if value is None:
        return None
    if isinstance(value, pd.DataFrame):
        return value.copy()
    if isinstance(value, str | Path):
        return _read_table(value, what)
    return pd.DataFrame(list(value))


def _ensemble(kb: KnowledgeBase, run: str | None, preset: str | None, spec: Any) -> Any:
    if preset is not None:
        return kb.scenarios.preset(preset, where="--preset").spec.model_copy(deep=True), (
            f"preset {preset}"
        )
    if spec is not None:
        if isinstance(spec, str | Path):
            return kb.scenarios.load(spec), str(spec)
        from critmat.scenarios.spec import parse_spec

        return parse_spec(copy.deepcopy(spec)), "spec"
    from critmat.data.userdata import default_data_dir
    from critmat.scenarios.store import RunStore

    root = kb.user.root if kb.user is not None else default_data_dir()
    result = RunStore(root / "scenarios").load(str(run))
    return result.spec.model_copy(deep=True), f"run {result.run_id}"


def decision_inputs(
    kb: KnowledgeBase,
    *,
    scenarios: str | Path | pd.DataFrame | None = None,
    run: str | None = None,
    preset: str | None = None,
    spec: str | Path | Mapping[str, Any] | None = None,
    parameters: str | Path | pd.DataFrame | None = None,
    samples: int | None = None,
    seed: int | None = None,
    horizon_months: int | None = None,
    price_year: int | None = None,
    usd_per_eur: float | None = None,
    missing_probability: Literal["error", "no_gap"] = "error",
) -> DecisionInputs:
    """The scenario set (from one of four inputs) and the completed material parameters.

    Parameters
    ----------
    kb
        Knowledge base.
    scenarios, run, preset, spec
        Exactly one: the explicit table, a stored run, a preset or a scenario file.
    parameters
        Material parameter table (path or frame); rows may leave ``price_eur_t`` and
        ``annual_demand_t`` empty: the knowledge base fills them. Its ``annual_demand_t``
        also sets the scenario baseline's demand of a plan (processing-stage materials have
        no tonnage otherwise).
    samples, seed
        Monte Carlo draws and seed of a plan (default :data:`DEFAULT_SAMPLES`, the spec's).
    horizon_months
        Months of the decision (a table is cut or padded; a plan is simulated that long).
    price_year, usd_per_eur
        Price year and exchange rate of the knowledge-base prices (see
        :func:`critmat.optimize.physical.physical_baseline`).
    missing_probability
        For a table whose probabilities sum to less than 1: ``error`` or ``no_gap`` (the
        rest is one scenario without gaps).

    Raises
    ------
    critmat.errors.ParameterError
        Not exactly one scenario input.
    DecisionInputError
        A material without a price per tonne.
    """
    from critmat.optimize.scenario_set import ScenarioSet, read_scenario_table
    from critmat.params import ParameterError

    given = [
        n
        for n, v in (("scenarios", scenarios), ("run", run), ("preset", preset), ("spec", spec))
        if v is not None
    ]
    if len(given) != 1:
        raise ParameterError(
            "give exactly one scenario input: --scenarios FILE, --run ID|latest, --preset "
            "NAME or --spec FILE" + (f" (got {', '.join(given)})" if given else "")
        )
    user = _frame(parameters, "parameter table")
    if user is not None:
        _check_columns(user, parameters)
    notes: list[str] = []
    stages: dict[str, str] = {}
    demand_of: dict[str, float] = {}
    if scenarios is not None:
        if isinstance(scenarios, pd.DataFrame):
            sc = ScenarioSet.from_frame(
                scenarios, horizon_months=horizon_months, missing_probability=missing_probability
            )
        else:
            sc = read_scenario_table(
                scenarios, horizon_months=horizon_months, missing_probability=missing_probability
            )
        stages = dict.fromkeys(sc.materials, "processing")
    else:
        ens, source = _ensemble(kb, run, preset, spec)
        if horizon_months is not None:
            ens.scenario.horizon_months = int(horizon_months)
        if user is not None and "annual_demand_t" in user.columns:
            from critmat.scenarios.spec import MaterialSetting

            for rec in user.to_dict(orient="records"):
                value = rec.get("annual_demand_t")
                if value is None or pd.isna(value):
                    continue
                mid = (kb.resolve_materials(str(rec["material"])) or [str(rec["material"])])[0]
                current = ens.scenario.settings.get(mid) or MaterialSetting()
                ens.scenario.settings[mid] = current.model_copy(
                    update={"annual_demand_t": float(value)}
                )
        plan = kb.scenarios.validate(ens, source=source)
        try:
            sc = ScenarioSet.from_plan(
                plan, samples=samples if samples is not None else DEFAULT_SAMPLES, seed=seed
            )
        except OptimizeError as exc:
            lacking = [
                m
                for m, d in zip(plan.materials, plan.baseline.monthly_demand_t, strict=True)
                if not np.isfinite(d)
            ]
            raise DecisionInputError(
                f"{exc.message}, or give annual_demand_t in the parameter table "
                "(--parameters FILE: material,annual_demand_t)",
                dict.fromkeys(lacking, "no_tonnage_at_stage"),
            ) from None
        stages = dict(zip(plan.materials, plan.baseline.stage, strict=True))
        if sc.monthly_demand_t is not None:
            demand_of = {
                m: float(d) * 12.0 for m, d in zip(sc.materials, sc.monthly_demand_t, strict=True)
            }
        notes.append(f"scenario set: {source}, {sc.n_scenarios:,} draws, {sc.horizon} months")
    if user is not None and "material" in user.columns:
        unknown = [m for m in user["material"].astype(str) if m not in sc.materials]
        if unknown:
            notes.append(
                "parameter rows for materials outside the scenarios (unused): " + ", ".join(unknown)
            )
        user = user[user["material"].astype(str).isin(sc.materials)]
    table, base = decision_parameters(
        kb,
        list(sc.materials),
        parameters=user,
        stage=stages,
        scenario_demand_t=demand_of,
        price_year=price_year,
        usd_per_eur=usd_per_eur,
    )
    notes.extend(sc.notes)
    return DecisionInputs(sc, table, base, stages, notes)


def _check_columns(user: pd.DataFrame, source: Any) -> None:
    import difflib

    from critmat.optimize.parameters import MaterialParameters

    allowed = list(MaterialParameters.model_fields)
    name = Path(source).name if isinstance(source, str | Path) else "parameters"
    problems = [
        Problem(
            f"unknown column '{c}'",
            file=name,
            column=str(c),
            suggestions=tuple(difflib.get_close_matches(str(c), allowed, n=3)),
            expected="columns " + ", ".join(allowed),
        )
        for c in user.columns
        if c not in allowed
    ]
    if "material" not in user.columns:
        problems.append(
            Problem(
                "missing column 'material'",
                file=name,
                column="material",
                expected="one row per material",
            )
        )
    if problems:
        raise DataValidationError(problems, source=name)


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    from critmat.optimize.parameters import MaterialParameters

    cols = set(MaterialParameters.model_fields)
    out = []
    for rec in table.to_dict(orient="records"):
        out.append({k: v for k, v in rec.items() if k in cols and not _missing(v)})
    return out


def _missing(v: Any) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def decision_parameters_of(inputs: DecisionInputs) -> list[MaterialParameters]:
    """The validated :class:`MaterialParameters` of completed decision inputs."""
    from critmat.optimize.parameters import parse_parameters

    return parse_parameters(_records(inputs.parameters), file="parameters")


_params = decision_parameters_of


def _with_inputs(result: Any, inputs: DecisionInputs) -> Any:
    result.notes = list(getattr(result, "notes", []) or []) + inputs.notes
    return result


def stockpile(
    kb: KnowledgeBase,
    *,
    scenarios: str | Path | pd.DataFrame | None = None,
    run: str | None = None,
    preset: str | None = None,
    spec: str | Path | Mapping[str, Any] | None = None,
    parameters: str | Path | pd.DataFrame | None = None,
    objective: Literal["expected", "cvar"] = "expected",
    alpha: float = 0.95,
    budget_eur: float | None = None,
    horizon_months: int | None = None,
    min_cover_months: float | None = None,
    samples: int | None = None,
    seed: int | None = None,
    price_year: int | None = None,
    usd_per_eur: float | None = None,
    missing_probability: Literal["error", "no_gap"] = "error",
    dask: Any = None,
    workers: int | None = None,
) -> StockpileResult:
    """What to stockpile: the stock LP over the scenario set (docs/decisions.md).

    Parameters
    ----------
    kb
        Knowledge base.
    scenarios, run, preset, spec, parameters, samples, seed, horizon_months, price_year,
    usd_per_eur, missing_probability
        The inputs (see :func:`decision_inputs`).
    objective
        ``expected`` (holding + expected shortage cost) or ``cvar`` (holding + CVaR at
        ``alpha`` of the scenario shortage cost).
    alpha
        CVaR level.
    budget_eur
        Purchase budget (EUR); none: unconstrained.
    min_cover_months
        Minimum stock in months of annual demand for every material.
    dask, workers
        Solve by per-material subproblems and a budget price on Dask (``"local"``, a
        scheduler address or a ``Client``; :func:`~critmat.optimize.decompose.solve_decomposed`);
        the CVaR objective then takes each material's CVaR (the portfolio CVaR does not
        decompose). ``None``: one monolithic LP in this process.

    Returns
    -------
    StockpileResult
        ``allocation`` (per material: ``stock_t, purchase_cost_eur, holding_cost_eur_yr,
        months_of_demand``, expected and CVaR shortfall before/after, ``rank``,
        ``status``), ``shadow_prices``, ``totals``; ``result.baseline`` holds the physical
        baseline used and ``result.parameters`` the completed parameter table.
    """
    from critmat.optimize.stockpile import optimize_stockpile

    inputs = decision_inputs(
        kb,
        scenarios=scenarios,
        run=run,
        preset=preset,
        spec=spec,
        parameters=parameters,
        samples=samples,
        seed=seed,
        horizon_months=horizon_months,
        price_year=price_year,
        usd_per_eur=usd_per_eur,
        missing_probability=missing_probability,
    )
    if dask is not None:
        from critmat.optimize.decompose import solve_decomposed

        res = solve_decomposed(
            inputs.scenarios,
            _params(inputs),
            dask=dask,
            workers=workers,
            objective=objective,
            alpha=alpha,
            budget_eur=budget_eur,
            min_cover_months=min_cover_months,
            cvar_scope="material",
        )
        if objective == "cvar":
            inputs.notes.append(
                "decomposed: the CVaR objective is the sum of each material's CVaR "
                "(the portfolio CVaR does not decompose by material)"
            )
    else:
        res = optimize_stockpile(
            inputs.scenarios,
            _params(inputs),
            objective=objective,
            alpha=alpha,
            budget_eur=budget_eur,
            min_cover_months=min_cover_months,
            cvar_scope="portfolio",
        )
    res = _with_inputs(res, inputs)
    res.baseline = inputs.baseline
    res.parameters = inputs.parameters
    res.inputs = inputs
    return res


def frontier(
    kb: KnowledgeBase,
    *,
    scenarios: str | Path | pd.DataFrame | None = None,
    run: str | None = None,
    preset: str | None = None,
    spec: str | Path | Mapping[str, Any] | None = None,
    parameters: str | Path | pd.DataFrame | None = None,
    objective: Literal["expected", "cvar"] = "expected",
    alpha: float = 0.95,
    points: int = 11,
    horizon_months: int | None = None,
    samples: int | None = None,
    seed: int | None = None,
    price_year: int | None = None,
    usd_per_eur: float | None = None,
    missing_probability: Literal["error", "no_gap"] = "error",
) -> Frontier:
    """Efficient frontier: budget -> expected and CVaR shortfall, which material enters when.

    Parameters are those of :func:`stockpile`; ``points`` is the number of budgets from
    0 to what the unconstrained optimum spends.
    """
    from critmat.optimize.frontier import efficient_frontier
    from critmat.optimize.stockpile import StockpileOptions

    inputs = decision_inputs(
        kb,
        scenarios=scenarios,
        run=run,
        preset=preset,
        spec=spec,
        parameters=parameters,
        samples=samples,
        seed=seed,
        horizon_months=horizon_months,
        price_year=price_year,
        usd_per_eur=usd_per_eur,
        missing_probability=missing_probability,
    )
    return efficient_frontier(
        inputs.scenarios,
        _params(inputs),
        StockpileOptions(objective=objective, alpha=alpha),
        points=points,
    )


def compare(
    kb: KnowledgeBase,
    *,
    scenarios: str | Path | pd.DataFrame | None = None,
    run: str | None = None,
    preset: str | None = None,
    spec: str | Path | Mapping[str, Any] | None = None,
    parameters: str | Path | pd.DataFrame | None = None,
    objective: Literal["expected", "cvar"] = "expected",
    alpha: float = 0.95,
    budget_eur: float | None = None,
    eu_reserve_months: Sequence[float] = (3.0, 6.0),
    horizon_months: int | None = None,
    samples: int | None = None,
    seed: int | None = None,
    price_year: int | None = None,
    usd_per_eur: float | None = None,
    missing_probability: Literal["error", "no_gap"] = "error",
) -> PolicyComparison:
    """Reference policies side by side with the optimum on the same scenario set.

    No stock; JOGMEC's 60 days of consumption; EU reserves of ``eu_reserve_months``; a
    RAMF-style greedy allocation of the budget; the LP optimum (``objective``, ``budget_eur``).
    """
    from critmat.optimize.policies import reference_policies
    from critmat.optimize.stockpile import optimize_stockpile

    inputs = decision_inputs(
        kb,
        scenarios=scenarios,
        run=run,
        preset=preset,
        spec=spec,
        parameters=parameters,
        samples=samples,
        seed=seed,
        horizon_months=horizon_months,
        price_year=price_year,
        usd_per_eur=usd_per_eur,
        missing_probability=missing_probability,
    )
    par = _params(inputs)
    opt = optimize_stockpile(
        inputs.scenarios, par, objective=objective, alpha=alpha, budget_eur=budget_eur
    )
    return reference_policies(
        inputs.scenarios,
        par,
        alpha=alpha,
        eu_reserve_months=tuple(eu_reserve_months),
        budget_eur=budget_eur,
        optimum=opt,
    )


# ----------------------------------------------------------------------------- sourcing


def _governance(kb: KnowledgeBase) -> dict[str, float]:
    def build() -> dict[str, float]:
        g = kb.governance()
        g = g[g["wgi_scaled"].notna()]
        if g.empty:
            return {}
        g = g[g["year"] == g["year"].max()]
        return {str(c): float(v) for c, v in zip(g["country"], g["wgi_scaled"], strict=True)}

    result: dict[str, float] = kb.cache.get(("optimize.decide", "governance"), build)
    return result


def _current_mix(kb: KnowledgeBase, material: str, stage: str) -> pd.DataFrame:
    e = kb.eu_crm_2023(materials=material)
    e = e[(e["stage"] == stage) & (e["mix"] == "eu_sourcing")]
    out = pd.DataFrame({"country": e["country"].astype(str), "share": e["share"].astype("float64")})
    return out[out["share"] > 0].reset_index(drop=True)


def _hook(kb: KnowledgeBase, material: str, stage: str) -> Any:
    """Import risk and EU supply risk of a mix (``country, allocation_t, share``)."""
    from critmat.optimize.sourcing import EU27_MEMBERS

    gov = _governance(kb)
    try:
        sr = kb.indicators.eu_supply_risk(materials=material)
    except CritmatError:
        sr = pd.DataFrame()
    row = sr.iloc[0] if len(sr) else None
    cur = _current_mix(kb, material, stage)

    def hhi_wgi(countries: Sequence[str], shares: np.ndarray) -> float:
        w = np.array([gov.get(c, np.nan) for c in countries])
        return float(np.nansum(shares**2 * w))

    base_hhi = hhi_wgi(list(cur["country"]), cur["share"].to_numpy()) if len(cur) else np.nan

    def hook(mix: pd.DataFrame) -> dict[str, float]:
        countries = [str(c) for c in mix["country"]]
        share = mix["share"].to_numpy(dtype=np.float64)
        third = np.array([c not in EU27_MEMBERS for c in countries])
        w = np.array([gov.get(c, np.nan) for c in countries])
        out = {"import_risk": float(np.nansum(share[third] * w[third]) / 10.0)}
        out["hhi_wgi_eu_sourcing"] = hhi_wgi(countries, share)
        if row is not None and np.isfinite(base_hhi):
            sr_stage = row.get(f"sr_{stage}")
            ir = row.get(f"ir_{stage}")
            if sr_stage is not None and pd.notna(sr_stage) and pd.notna(ir):
                eol = float(row["eol_rir"]) if pd.notna(row["eol_rir"]) else 0.0
                si = float(row["si_sr"]) if pd.notna(row["si_sr"]) else 1.0
                delta = (out["hhi_wgi_eu_sourcing"] - base_hhi) * (1 - float(ir) / 2)
                out["eu_sr"] = float(sr_stage) + delta * (1 - eol) * si
        return out

    return hook


#: How :func:`governance_disruption_prob` maps governance to a disruption probability.
GOVERNANCE_DISRUPTION_BASIS = (
    "q = 0.2 x scaled WGI / 10 per year (0 for the best governance, 0.2 for the worst; EU "
    "method's scaled WGI, latest year); 0.1 where the country has no score"
)


def governance_disruption_prob(kb: KnowledgeBase, countries: Any) -> np.ndarray:
    """Disruption probability of suppliers from their governance (an assumption).

    ``q = 0.2 * wgi_scaled / 10`` (the scaled WGI of the EU method, 0 best to 10 worst, of
    the latest year): a supplier with the worst governance fails one year in five, the best
    never; 0.1 where no score exists. Used only where the user gives no ``disruption_prob``.
    """
    gov = _governance(kb)
    out: np.ndarray = np.array(
        [0.2 * gov[str(c)] / 10.0 if str(c) in gov else 0.1 for c in countries],
        dtype=np.float64,
    )
    return out


def data_candidates(
    kb: KnowledgeBase, *, material: str, stage: str, demand_t: float
) -> tuple[pd.DataFrame, list[str]]:
    """Candidate suppliers from the data: today's EU suppliers and the EU's partners.

    * countries: the EU 2023 study's EU sourcing mix at ``stage`` and the partnerships
      (``eu_raw_material_partnerships``) that name the material;
    * capacity: at extraction, the country's latest World Mining Data production (an upper
      bound: what it produces, not what it could ship to the EU), never below today's
      deliveries; at processing (no cited capacity) today's deliveries, and partners without
      a capacity are left out;
    * unit cost: the knowledge-base price for every supplier (no cited country costs: the
      least-cost LP is then indifferent, use ``risk_adjusted``);
    * disruption probability: :func:`governance_disruption_prob`.

    Returns
    -------
    (candidates, notes)
    """
    base = physical_baseline(kb, materials=material, stage=stage).iloc[0]
    price = float(base["price_eur_t"])
    if not np.isfinite(price):
        raise DecisionInputError(
            f"no price per tonne for {material} at {stage} ({base['price_status']}): give "
            "--candidates FILE with unit_cost_eur_t",
            {material: str(base["price_status"])},
        )
    cur = _current_mix(kb, material, stage)
    current = dict(
        zip(cur["country"], cur["share"] / max(cur["share"].sum(), 1e-12) * demand_t, strict=True)
    )
    p = kb.table("eu_raw_material_partnerships")
    named = p["materials"].fillna("").astype(str).str.split(";").apply(lambda xs: material in xs)
    partners = sorted(set(p.loc[named, "country"].astype(str)))
    prod: dict[str, float] = {}
    if stage == "extraction":
        pr = kb.production(materials=material)
        pr = pr[(pr["stage"] == "extraction") & pr["quantity_t"].notna()]
        if len(pr):
            pr = pr[pr["year"] == pr["year"].max()]
            prod = {str(c): float(q) for c, q in zip(pr["country"], pr["quantity_t"], strict=True)}
    rows = []
    notes = [
        f"candidates from the data: today's suppliers ({', '.join(current) or 'none'}) and "
        f"partners naming {material} ({', '.join(partners) or 'none'}); unit cost the price "
        f"for all ({base['price_basis']}; assumption: no cited country costs)"
    ]
    left_out = []
    for c in list(current) + [x for x in partners if x not in current]:
        now = current.get(c, 0.0)
        if c in prod:
            cap, basis = max(prod[c], now), "upper bound: WMD production (wmd_bmf)"
        elif now > 0:
            cap, basis = now, "today's deliveries (no cited capacity)"
        else:
            left_out.append(c)
            continue
        rows.append(
            {
                "material": material,
                "stage": stage,
                "country": c,
                "capacity_t": cap,
                "unit_cost_eur_t": price,
                "current_t": now,
                "source_id": "wmd_bmf" if c in prod else "eu_crm_2023_eus",
            }
        )
        del basis
    if prod:
        notes.append(
            "capacities: upper bound from World Mining Data production (wmd_bmf) where the "
            "country produces, else today's deliveries"
        )
    if left_out:
        notes.append("partners without a cited capacity left out: " + ", ".join(left_out))
    frame = pd.DataFrame(rows)
    return frame, notes


def sourcing(
    kb: KnowledgeBase,
    *,
    material: str,
    candidates: str | Path | pd.DataFrame | None = None,
    stage: str = "processing",
    demand_t: float | None = None,
    max_single_country: float | None = 0.65,
    max_group: Mapping[str, float] | Sequence[str] | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    objective: Literal["least_cost", "risk_adjusted"] = "least_cost",
    loss_eur_t: float | None = None,
    horizon_months: float | None = None,
    keep_current: bool = True,
) -> SourcingResult:
    """Least-cost (or risk-adjusted) supplier mix under the CRMA 65 % cap, from the EU's mix.

    Parameters
    ----------
    kb
        Knowledge base.
    material
        Material (name, id or alias).
    candidates
        Candidate suppliers (path or frame: ``material, stage, country, capacity_t,
        unit_cost_eur_t`` and optionally ``lead_time_months, ramp_months,
        disruption_prob``); countries as ISO-3 codes or names. ``None``: the candidates
        of :func:`data_candidates` (today's suppliers and partners, capacities bounded by
        production where the data have it; every assumption in the result's notes). A
        table without ``disruption_prob`` gets :func:`governance_disruption_prob`.
    stage
        ``processing`` or ``extraction``.
    demand_t
        EU demand to source (t/yr); default the physical baseline's demand at the stage
        (a material without it stops with its status).
    max_single_country
        Largest share of one third country (CRMA Art. 5: 0.65); ``None``: no cap.
    max_group
        Caps on groups or countries: ``{"CHN": 0.5}`` or ``["adversary=0.2"]``.
    groups
        Group definitions (``{"adversary": ["CHN", "RUS"]}``; EU27, NATO, OECD, G7 are
        known).
    objective, loss_eur_t, horizon_months
        See :class:`~critmat.optimize.sourcing.SourcingOptions`.
    keep_current
        Today's suppliers (EU 2023 study, EU sourcing shares x demand) may keep delivering
        what they deliver now, at the knowledge base's price where the candidate table does
        not list them.

    Returns
    -------
    SourcingResult
        ``allocation`` (``country, allocation_t, share, ...``), ``totals`` (cost against the
        current mix; China share, HHI, import risk and EU SR before/after).
    """
    from critmat.optimize.sourcing import optimize_sourcing, parse_group_caps

    mid = (kb.resolve_materials(material) or [material])[0]
    base = physical_baseline(kb, materials=mid, stage=stage)
    brow = base.iloc[0]
    if demand_t is None:
        if not np.isfinite(brow["annual_demand_t"]):
            raise DecisionInputError(
                f"no EU annual demand in tonnes for {mid} at {stage} "
                f"({brow['demand_status']}): give --demand-t",
                {mid: str(brow["demand_status"])},
            )
        demand_t = float(brow["annual_demand_t"])
    notes: list[str] = []
    if candidates is None:
        cand, cnotes = data_candidates(kb, material=mid, stage=stage, demand_t=float(demand_t))
        notes.extend(cnotes)
    else:
        loaded = _frame(candidates, "candidate table")
        assert loaded is not None
        cand = loaded
    if "material" in cand.columns:
        cand["material"] = [
            (kb.resolve_materials(str(m)) or [str(m)])[0] if str(m) else m
            for m in cand["material"].astype(str)
        ]
    if "stage" not in cand.columns:
        cand["stage"] = stage
    cand = cand[(cand["material"] == mid) & (cand["stage"] == stage)].copy()
    if cand.empty:
        raise DataValidationError(
            [
                Problem(
                    f"no candidate rows for {mid} at {stage}",
                    column="material",
                    expected="rows with material and stage of the decision",
                )
            ],
            source="candidates",
        )
    cand["country"] = [
        (kb.resolve_countries(str(c)) or [str(c)])[0] for c in cand["country"].astype(str)
    ]
    if "disruption_prob" not in cand.columns:
        cand["disruption_prob"] = governance_disruption_prob(kb, cand["country"])
        notes.append("disruption_prob from governance (assumption): " + GOVERNANCE_DISRUPTION_BASIS)
    cur = _current_mix(kb, mid, stage)
    if keep_current and len(cur):
        cur = cur.assign(current_t=cur["share"] / cur["share"].sum() * demand_t)
        listed = set(cand["country"])
        cand["current_t"] = (
            cand["country"]
            .map(dict(zip(cur["country"], cur["current_t"], strict=True)))
            .fillna(0.0)
        )
        if "capacity_t" in cand.columns:
            cap_ = pd.to_numeric(cand["capacity_t"], errors="coerce")
            over = cap_.notna() & (cand["current_t"] > cap_)
            if over.any():
                notes.append(
                    "today's deliveries (EU sourcing share x demand) above the capacity you "
                    "give are cut to it: " + ", ".join(cand.loc[over, "country"].astype(str))
                )
                cand.loc[over, "current_t"] = cap_[over]
        extra = cur[~cur["country"].isin(listed)]
        if len(extra):
            price = float(brow["price_eur_t"])
            if not np.isfinite(price):
                raise DecisionInputError(
                    f"today's suppliers of {mid} not in the candidate table need a price: "
                    f"{brow['price_status']}; list them in --candidates",
                    {mid: str(brow["price_status"])},
                )
            add = pd.DataFrame(
                {
                    "material": mid,
                    "stage": stage,
                    "country": extra["country"],
                    "capacity_t": extra["current_t"],
                    "unit_cost_eur_t": price,
                    "current_t": extra["current_t"],
                    "source_id": "eu_crm_2023_eus",
                }
            )
            cand = pd.concat([cand, add], ignore_index=True)
            notes.append(
                "today's suppliers not in the candidate table keep at most their current "
                f"deliveries at the price ({brow['price_basis']}), disruption probability 0 "
                "unless you list them in the candidate table (assumption): "
                + ", ".join(extra["country"])
            )
    caps = (
        parse_group_caps(list(max_group))
        if isinstance(max_group, Sequence) and not isinstance(max_group, str)
        else dict(max_group or {})  # type: ignore[arg-type]
    )
    grp: dict[str, list[str]] = {}
    for name in caps:
        if groups and name in groups:
            grp[name] = [(kb.resolve_countries(c) or [c])[0] for c in groups[name]]
        else:
            try:
                members = kb.resolve_countries(name) or [name]
            except CritmatError:
                members = [name]
            if len(members) > 1 or members[0] != name:
                grp[name] = list(members)
    res = optimize_sourcing(
        cand,
        material=mid,
        stage=stage,
        demand_t=float(demand_t),
        max_single_country=max_single_country,
        max_group=caps,
        groups=grp,
        objective=objective,
        loss_eur_t=loss_eur_t,
        horizon_months=horizon_months,
        indicators_hook=_hook(kb, mid, stage),
        file="candidates",
    )
    res.notes = list(getattr(res, "notes", []) or []) + notes
    return res


def sourcing_whatif(
    kb: KnowledgeBase,
    *,
    material: str,
    mix: Mapping[str, float] | pd.DataFrame,
    stage: str = "processing",
    demand_t: float | None = None,
) -> pd.DataFrame:
    """Score a supplier mix you propose against today's EU mix (no optimisation).

    Parameters
    ----------
    kb
        Knowledge base.
    material, stage
        Material and stage.
    mix
        ``{country: share}`` (shares, rescaled to 1) or a frame ``country, allocation_t``.
    demand_t
        Tonnes the shares are applied to (default the baseline demand; shares alone if
        unknown).

    Returns
    -------
    pandas.DataFrame
        ``metric, current, proposed, change``: China share, HHI, largest third-country
        share, CRMA cap met, import risk, EU SR.
    """
    from critmat.optimize.sourcing import evaluate_mix

    mid = (kb.resolve_materials(material) or [material])[0]
    if isinstance(mix, pd.DataFrame):
        prop = mix[["country", "allocation_t"]].copy()
    else:
        prop = pd.DataFrame({"country": list(mix), "allocation_t": list(mix.values())})
    prop["country"] = [(kb.resolve_countries(str(c)) or [str(c)])[0] for c in prop["country"]]
    total = float(prop["allocation_t"].sum())
    if total <= 0:
        raise OptimizeError("the proposed mix is empty (all allocations 0)")
    cur = _current_mix(kb, mid, stage)
    if cur.empty:
        raise DecisionInputError(
            f"no EU sourcing shares for {mid} at {stage} in the EU 2023 study", {mid: "no_mix"}
        )
    hook = _hook(kb, mid, stage)
    scale = demand_t if demand_t is not None else 1.0
    now = cur.assign(allocation_t=cur["share"] / cur["share"].sum() * scale)
    new = prop.assign(allocation_t=prop["allocation_t"] / total * scale)
    a = evaluate_mix(now, indicators_hook=hook)
    b = evaluate_mix(new, indicators_hook=hook)
    keys = [k for k in a if k in b and k != "total_t"]
    frame = pd.DataFrame(
        {
            "metric": keys,
            "current": [float(a[k]) for k in keys],
            "proposed": [float(b[k]) for k in keys],
        }
    )
    frame["change"] = frame["proposed"] - frame["current"]
    frame["material"] = mid
    frame["stage"] = stage
    prov = kb.provenance("sourcing_whatif", material=mid, stage=stage, demand_t=demand_t)
    prov.sources = ["eu_crm_2023_eus", "eu_crm_2023_params", "wgi_2024"]
    return attach(frame[["material", "stage", "metric", "current", "proposed", "change"]], prov)


def partners(kb: KnowledgeBase, *, materials: Any = None) -> pd.DataFrame:
    """EU strategic raw-materials partnerships and CRMA strategic projects outside the EU.

    Returns
    -------
    pandas.DataFrame
        ``kind, country, name, date, materials, stages, capacity_t_yr, status,
        source_id``: one row per partnership (``eu_raw_material_partnerships``) and per
        strategic project in a third country (``crma_strategic_projects``), optionally
        only those naming one of ``materials``.
    """
    p = kb.table("eu_raw_material_partnerships")
    a = pd.DataFrame(
        {
            "kind": "partnership",
            "country": p["country"].astype(str),
            "name": p["partner"].astype(str) + " (" + p["instrument"].astype(str) + ")",
            "date": p["date_text"].astype(str),
            "materials": p["materials"].astype(str),
            "stages": "",
            "capacity_t_yr": np.nan,
            "status": "signed",
            "source_id": p["source_id"].astype(str),
        }
    )
    projects = crma_projects(kb)
    x = projects[~projects["in_eu"]]
    b = pd.DataFrame(
        {
            "kind": "strategic_project",
            "country": x["country"].astype(str),
            "name": x["project_name"].astype(str),
            "date": x["selection_date"].astype(str),
            "materials": x["material"].astype(str),
            "stages": x["stage"].astype(str),
            "capacity_t_yr": x["capacity_t_yr"],
            "status": x["status"].astype(str),
            "source_id": x["source_id"].astype(str),
        }
    )
    out = pd.concat([a, b], ignore_index=True)
    if materials is not None:
        ids = kb.resolve_materials(materials) or []
        keep = (
            out["materials"]
            .fillna("")
            .apply(lambda s: any(m in str(s).split(";") or m in str(s) for m in ids))
        )
        out = out[keep]
    out = out.reset_index(drop=True)
    for c in out.columns:
        if c != "capacity_t_yr":
            out[c] = out[c].astype("string")
    prov = kb.provenance("partners", materials=materials)
    prov.sources = sorted(set(out["source_id"].dropna()))
    return attach(out, prov)


@memoised("optimize.crma_projects")
def crma_projects(kb: KnowledgeBase) -> pd.DataFrame:
    """CRMA strategic projects with one row per material and stage and their capacity.

    Capacity in tonnes of the material per year where a source publishes it
    (``crma_project_capacities.content_t_yr``, else ``capacity_t_yr`` when published as
    the material itself); NaN otherwise (the status column says so). Computed once per
    knowledge base (:func:`~critmat.data.cache.memoised`; each call gets its own copy).
    """
    s = kb.table("crma_strategic_projects")
    c = kb.table("crma_project_capacities")
    cap = c[c["material"].notna()].copy()
    cap["t"] = cap["content_t_yr"].where(cap["content_t_yr"].notna(), np.nan)
    cap = cap.groupby(["project_id", "material", "stage"], as_index=False).agg(
        capacity_t_yr=("t", "max"), from_year=("from_year", "min")
    )
    rows = []
    for r in s.itertuples(index=False):
        mats = [m for m in str(r.materials).split(";") if m and m not in {"nan", "<NA>"}]
        stgs = [x for x in str(r.stages).split(";") if x and x not in {"nan", "<NA>"}]
        for m in mats or [""]:
            for st in stgs or [""]:
                rows.append(
                    {
                        "project_id": r.project_id,
                        "project_name": r.project_name,
                        "country": r.country,
                        "in_eu": bool(r.in_eu),
                        "selection_date": str(r.selection_date),
                        "material": m,
                        "stage": st,
                        "status": "" if pd.isna(r.status) else str(r.status),
                        "source_id": r.source_id,
                    }
                )
    out = pd.DataFrame(rows).merge(cap, on=["project_id", "material", "stage"], how="left")
    out["capacity_status"] = np.where(
        out["capacity_t_yr"].notna(), "published", "not published: give --projects"
    )
    return out


def _reshoring_projects(
    kb: KnowledgeBase, materials: Sequence[str], price: Mapping[str, float]
) -> list[dict[str, Any]]:
    pr = crma_projects(kb)
    pr = pr[pr["in_eu"] & pr["capacity_t_yr"].notna() & pr["material"].isin(materials)]
    out = []
    for r in pr.itertuples(index=False):
        if r.stage not in ("extraction", "processing", "recycling"):
            continue
        out.append(
            {
                "name": f"{r.project_id} {r.project_name}",
                "material": r.material,
                "stage": r.stage,
                "country": r.country,
                "capacity_t_yr": float(r.capacity_t_yr),
                "capex_eur": 0.0,
                "opex_premium_eur_t": 0.30 * float(price[r.material]),
                "construction_months": 18.0,
                "status": r.status or "CRMA strategic project",
                "source_id": r.source_id,
            }
        )
    return out


def reshoring(
    kb: KnowledgeBase,
    *,
    scenarios: str | Path | pd.DataFrame | None = None,
    run: str | None = None,
    preset: str | None = None,
    spec: str | Path | Mapping[str, Any] | None = None,
    parameters: str | Path | pd.DataFrame | None = None,
    projects: str | Path | pd.DataFrame | None = None,
    include_crma: bool = True,
    exclude_environmental: bool = False,
    alpha: float = 0.95,
    horizon_months: int | None = None,
    samples: int | None = None,
    seed: int | None = None,
    missing_probability: Literal["error", "no_gap"] = "error",
) -> pd.DataFrame:
    """Reshoring projects on the scenario set: shortfall removed and cost per tonne removed.

    The CRMA strategic projects in the EU with a published capacity for a scenario
    material (``include_crma``; defaults in :data:`LEVER_ASSUMPTIONS`), plus your projects
    (``projects=``: ``name, material, capacity_t_yr`` and optionally ``stage, country,
    capex_eur, opex_premium_eur_t, construction_months, permitting_months, ramp_months,
    environmental_flag, status``). The effect on the CRMA Article 5 ratios themselves is
    the CRMA tracker's (``critmat crma benchmarks``); here each project's output is shown as
    a share of EU demand next to its stage's benchmark.
    """
    from critmat.optimize.levers import evaluate_reshoring

    inputs = decision_inputs(
        kb,
        scenarios=scenarios,
        run=run,
        preset=preset,
        spec=spec,
        parameters=parameters,
        samples=samples,
        seed=seed,
        horizon_months=horizon_months,
        missing_probability=missing_probability,
    )
    price = dict(zip(inputs.parameters["material"], inputs.parameters["price_eur_t"], strict=True))
    items: list[dict[str, Any]] = []
    if include_crma:
        items.extend(_reshoring_projects(kb, inputs.scenarios.materials, price))
    user = _frame(projects, "project table")
    if user is not None:
        for rec in user.to_dict(orient="records"):
            clean = {k: v for k, v in rec.items() if not _missing(v)}
            if "material" in clean:
                m = str(clean["material"])
                if m not in inputs.scenarios.materials:
                    with contextlib.suppress(CritmatError):
                        m = (kb.resolve_materials(m) or [m])[0]
                clean["material"] = m
            if "environmental_flag" in clean:
                clean["environmental_flag"] = str(clean["environmental_flag"]).lower() in (
                    "1",
                    "true",
                    "yes",
                    "y",
                )
            clean.setdefault("source_id", "user input (projects)")
            items.append(clean)
    items = [p for p in items if p.get("material") in inputs.scenarios.materials]
    if not items:
        raise DecisionInputError(
            "no reshoring project for the scenario materials ("
            + ", ".join(inputs.scenarios.materials)
            + "): the CRMA strategic projects with a published capacity cover "
            + ", ".join(sorted(set(crma_projects(kb).dropna(subset=["capacity_t_yr"])["material"])))
            + "; give --projects FILE",
            {},
        )
    return evaluate_reshoring(
        inputs.scenarios,
        _params(inputs),
        items,
        alpha=alpha,
        exclude_environmental=exclude_environmental,
    )


# ----------------------------------------------------------------------------- levers


def default_levers(
    kb: KnowledgeBase, inputs: DecisionInputs, stock: Mapping[str, float]
) -> list[dict[str, Any]]:
    """The six levers per material with the defaults of :data:`LEVER_ASSUMPTIONS`."""
    par = inputs.parameters.set_index("material")
    price = par["price_eur_t"].astype(float).to_dict()
    out: list[dict[str, Any]] = []
    for m in inputs.scenarios.materials:
        d = par["annual_demand_t"].get(m) if "annual_demand_t" in par.columns else None
        demand = float(d) if d is not None and pd.notna(d) else np.nan
        p = float(price[m])
        if stock.get(m, 0.0) > 0:
            out.append(
                {
                    "kind": "stock",
                    "name": f"{m}: optimal stock",
                    "material": m,
                    "stock_t": float(stock[m]),
                }
            )
        if np.isfinite(demand):
            out += [
                {
                    "kind": "partner",
                    "name": f"{m}: partner supply 10 %",
                    "material": m,
                    "capacity_t_yr": 0.10 * demand,
                    "lead_time_months": 12.0,
                    "ramp_months": 12.0,
                    "opex_premium_eur_t": 0.15 * p,
                },
                {
                    "kind": "recycling",
                    "name": f"{m}: recycling +5 pp",
                    "material": m,
                    "capacity_t_yr": 0.05 * demand,
                    "lead_time_months": 24.0,
                    "ramp_months": 24.0,
                    "opex_premium_eur_t": 0.30 * p,
                },
                {
                    "kind": "substitution",
                    "name": f"{m}: substitution 10 %",
                    "material": m,
                    "capacity_t_yr": 0.10 * demand,
                    "lead_time_months": 6.0,
                    "ramp_months": 12.0,
                    "opex_premium_eur_t": 0.50 * p,
                },
                {
                    "kind": "restraint",
                    "name": f"{m}: demand restraint 10 %",
                    "material": m,
                    "share": 0.10,
                },
            ]
    for lev in out:
        lev["source_id"] = "critmat default (assumption, see basis)"
    from critmat.optimize.levers import ReshoringProject

    for proj in _reshoring_projects(kb, inputs.scenarios.materials, price):
        out.append(ReshoringProject(**proj).to_lever().model_dump())
    return out


def levers(
    kb: KnowledgeBase,
    *,
    scenarios: str | Path | pd.DataFrame | None = None,
    run: str | None = None,
    preset: str | None = None,
    spec: str | Path | Mapping[str, Any] | None = None,
    parameters: str | Path | pd.DataFrame | None = None,
    levers: str | Path | pd.DataFrame | None = None,
    alpha: float = 0.95,
    horizon_months: int | None = None,
    samples: int | None = None,
    seed: int | None = None,
    missing_probability: Literal["error", "no_gap"] = "error",
) -> pd.DataFrame:
    """Levers on one scale: shortfall removed per million euros, ranked per material.

    Stock, partner supply, reshoring, recycling ramp, substitution ramp and demand
    restraint on the same scenario set. Without ``levers=`` (a table with ``kind, name,
    material`` and the lever's fields, see :mod:`critmat.optimize.levers`) critmat
    proposes the levers of :data:`LEVER_ASSUMPTIONS` (assumptions, stated in the
    ``basis`` column); materials without demand in tonnes get only stock and reshoring.
    """
    from critmat.optimize.levers import evaluate_levers
    from critmat.optimize.stockpile import optimize_stockpile

    inputs = decision_inputs(
        kb,
        scenarios=scenarios,
        run=run,
        preset=preset,
        spec=spec,
        parameters=parameters,
        samples=samples,
        seed=seed,
        horizon_months=horizon_months,
        missing_probability=missing_probability,
    )
    par = _params(inputs)
    user = _frame(levers, "lever table")
    if user is None:
        opt = optimize_stockpile(inputs.scenarios, par)
        items: list[Any] = default_levers(kb, inputs, opt.stock.to_dict())
    else:
        items = [
            {k: v for k, v in r.items() if not _missing(v)} for r in user.to_dict(orient="records")
        ]
    frame = evaluate_levers(inputs.scenarios, par, items, alpha=alpha)
    if user is None:
        frame["basis"] = pd.array(
            [LEVER_ASSUMPTIONS.get(str(k), "") for k in frame["kind"]], dtype="string"
        )
    else:
        frame["basis"] = pd.array(["user input (levers)"] * len(frame), dtype="string")
    return frame
