"""Stockpile sizing over a disruption scenario set: a linopy LP solved with HiGHS.

Decision: the stock S_m (tonnes) of each material, bought before the horizon. For scenario s
(probability pi_s), the unmet demand of material m over the horizon is U_{m,s}; with a
release cap and shelf life it is ``G_{m,s} - min(S_m, A_{m,s})`` (see
:mod:`critmat.optimize.evaluate`). The LP (METHODS.md §6.3 b; docs/decisions.md)::

    expected:  min  sum_m (h'_m + o_m) S_m + sum_s pi_s sum_m (w_m + o_m) U_{m,s}
    cvar:      min  sum_m h'_m S_m + eta + 1/(1 - alpha) sum_s pi_s z_s
               z_s >= L_s - eta,  z_s >= 0,  L_s = sum_m [(w_m + o_m) U_{m,s} + o_m (S_m - G_{m,s})]
    s.t.       U_{m,s} >= G_{m,s} - S_m,   U_{m,s} >= G_{m,s} - A_{m,s}      (aggregate form)
       or      U_{m,s} >= G_{m,s} - sum_t r_{m,s,t},  sum_t r_{m,s,t} <= S_m,
               0 <= r_{m,s,t} <= min(c_m, g_{m,s,t}), r = 0 for t >= L_m       (monthly form)
               sum_m p_m S_m <= B (budget),  S_m <= Smax_m,  S_m >= k_m D_m / 12 (cover)

h'_m = holding cost per tonne over the horizon (h_m min(T, L_m) / 12); w_m = shortage cost
per tonne; o_m = p_m where the stock deteriorates within the horizon (the stock left at the
end of its shelf life is written off: ``S - released = S - G + U``), else 0. The purchase
price enters the budget, not the objective: unused stock keeps its value. Shortfall is a
penalised variable, so the LP is always feasible unless the cover requirements cannot be
bought (checked before solving, with the constraint named).

The two forms give the same optimum when costs do not depend on the month (proof in
docs/decisions.md): ``formulation="aggregate"`` (default) has one shortfall variable per
material and scenario; ``"monthly"`` adds the release variables where a cap or a shelf life
applies, for users who add month-specific constraints.

Steps (STYLE S9): :func:`build_model` returns a :class:`StockpileModel` (a
``linopy.Model``: add constraints to it), :func:`solve` solves it with HiGHS and returns a
:class:`StockpileResult`; :func:`optimize_stockpile` does both.

Variables: ``stock[material]``, ``shortfall[material, scenario]``,
``release[material, scenario, month]`` (monthly form), ``cvar_eta``, ``cvar_excess``.
Constraints: ``cover``, ``release_cover``, ``release_stock``, ``budget``,
``purchase_cap[material]``, ``min_cover[material]``, ``cvar_tail``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import linopy
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from critmat._version import __version__
from critmat.errors import InfeasibleError
from critmat.optimize._solver import (
    OptimizeError,
    SolverReport,
    SolveStatus,
    raise_for_status,
    run_highs,
    validated,
    without_dask_probe,
)
from critmat.optimize.evaluate import StockOutcome, evaluate_stock
from critmat.optimize.parameters import ResolvedParameters, resolve_parameters
from critmat.optimize.scenario_set import ScenarioSet
from critmat.provenance import Provenance, attach

__all__ = [
    "ALLOCATION_UNITS",
    "StockpileModel",
    "StockpileOptions",
    "StockpileProblem",
    "StockpileResult",
    "add_budget",
    "budget_is_last_row",
    "build_model",
    "optimize_stockpile",
    "prepare",
    "solve",
]

#: Units of the allocation columns.
ALLOCATION_UNITS: dict[str, str] = {
    "stock_t": "t",
    "purchase_cost_eur": "EUR",
    "holding_cost_eur_yr": "EUR/yr",
    "holding_cost_horizon_eur": "EUR over the horizon",
    "months_of_demand": "months of baseline EU demand",
    "expected_shortfall_t_before": "t over the horizon",
    "expected_shortfall_t_after": "t over the horizon",
    "cvar_shortfall_t_before": "t over the horizon (CVaR at alpha)",
    "cvar_shortfall_t_after": "t over the horizon (CVaR at alpha)",
    "expected_shortage_cost_eur_before": "EUR",
    "expected_shortage_cost_eur_after": "EUR",
    "expected_writeoff_eur": "EUR",
    "value_per_eur": "EUR of expected shortage cost removed per EUR spent",
}


class StockpileOptions(BaseModel):
    """Settings of the stockpile decision (one definition for Python, CLI and API).

    Attributes
    ----------
    objective
        ``"expected"`` (holding + expected shortage cost) or ``"cvar"`` (holding + CVaR at
        ``alpha`` of the scenario shortage cost, Rockafellar-Uryasev).
    alpha
        CVaR level (also used for the CVaR columns of the result).
    cvar_scope
        ``"portfolio"``: CVaR of the summed loss over materials (joint tail);
        ``"material"``: sum of each material's CVaR (separable; decomposable by material).
    budget_eur
        Purchase budget (EUR); ``None`` = no budget.
    min_cover_months
        Minimum stock in months of baseline demand, one number for all materials or per
        material; needs ``annual_demand_t``.
    horizon_months
        Months of the scenario set to use (default: all).
    formulation
        ``"aggregate"`` / ``"auto"``: one shortfall variable per material and scenario
        (exact); ``"monthly"``: monthly release variables where a cap or shelf life applies.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    objective: Literal["expected", "cvar"] = "expected"
    alpha: float = Field(default=0.95, gt=0, lt=1)
    cvar_scope: Literal["portfolio", "material"] = "portfolio"
    budget_eur: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    min_cover_months: float | dict[str, float] | None = None
    horizon_months: int | None = Field(default=None, ge=1)
    formulation: Literal["auto", "aggregate", "monthly"] = "auto"


@dataclass
class StockpileProblem:
    """The data behind a stockpile model (kept on the model for :func:`solve`).

    Attributes
    ----------
    scenarios
        The scenario set (truncated to the horizon).
    params
        Resolved parameters on the scenario set's materials.
    options
        The options.
    formulation
        ``"aggregate"`` or ``"monthly"``.
    min_cover_t
        ``[M]`` minimum stock (tonnes, 0 = none).
    notes
        Remarks made while building.
    """

    scenarios: ScenarioSet
    params: ResolvedParameters
    options: StockpileOptions
    formulation: str
    min_cover_t: np.ndarray
    notes: list[str] = field(default_factory=list)


class StockpileModel(linopy.Model):
    """A ``linopy.Model`` that carries its :class:`StockpileProblem` as ``critmat``."""

    __slots__ = ("critmat",)
    critmat: StockpileProblem


def prepare(
    scenarios: ScenarioSet,
    parameters: Any,
    options: StockpileOptions | None = None,
    **overrides: Any,
) -> StockpileProblem:
    """Validate and align the inputs; check that the cover requirements can be bought.

    Raises
    ------
    critmat.optimize.OptimizeError
        Cover requirements without demand in tonnes; unknown materials in them.
    critmat.errors.InfeasibleError
        Cover requirements above a purchase cap or, together, above the budget.
    """
    opts = options or StockpileOptions()
    if overrides:  # validated like the model itself
        opts = validated(StockpileOptions, {**opts.model_dump(), **overrides}, "stockpile options")
    sc = scenarios.truncate(opts.horizon_months) if opts.horizon_months else scenarios
    params = resolve_parameters(parameters, sc.materials).with_demand(
        sc.monthly_demand_t, sc.source
    )
    notes: list[str] = list(sc.notes)
    cover_months = np.zeros(sc.n_materials)
    if opts.min_cover_months is not None:
        if isinstance(opts.min_cover_months, dict):
            for name, months in opts.min_cover_months.items():
                cover_months[sc.index(name)] = float(months)
        else:
            cover_months[:] = float(opts.min_cover_months)
        if (cover_months < 0).any():
            raise OptimizeError("min_cover_months must be >= 0")
    need = cover_months > 0
    lacking = [sc.materials[i] for i in np.flatnonzero(need & ~np.isfinite(params.annual_demand))]
    if lacking:
        raise OptimizeError(
            "min_cover_months needs annual_demand_t for " + ", ".join(lacking) + " (months of "
            "demand cannot be turned into tonnes without it)"
        )
    min_t = np.where(need, cover_months * np.nan_to_num(params.annual_demand) / 12.0, 0.0)
    over = np.flatnonzero(min_t > params.max_purchase + 1e-9)
    if len(over):
        i = int(over[0])
        raise InfeasibleError(
            f"constraint min_cover[{sc.materials[i]}] cannot be met: {cover_months[i]:g} months "
            f"of demand are {min_t[i]:,.1f} t but max_purchase_t is "
            f"{params.max_purchase[i]:,.1f} t; lower the cover or raise the purchase cap"
        )
    if opts.budget_eur is not None:
        cost = float((min_t * params.price).sum())
        if cost > opts.budget_eur * (1 + 1e-9) + 1e-6:
            raise InfeasibleError(
                f"constraints min_cover and budget cannot both be met: the minimum cover costs "
                f"{cost:,.0f} EUR, above the budget of {opts.budget_eur:,.0f} EUR; raise the "
                "budget or lower min_cover_months"
            )
    form = "monthly" if opts.formulation == "monthly" else "aggregate"
    return StockpileProblem(sc, params, opts, form, min_t, notes)


def _coords(sc: ScenarioSet) -> tuple[pd.Index, pd.Index, pd.Index]:
    mat = pd.Index(list(sc.materials), name="material")
    scen = pd.RangeIndex(sc.n_scenarios, name="scenario")
    month = pd.RangeIndex(sc.horizon, name="month")
    return mat, scen, month


@without_dask_probe()
def build_model(
    scenarios: ScenarioSet | StockpileProblem,
    parameters: Any = None,
    options: StockpileOptions | None = None,
    **overrides: Any,
) -> StockpileModel:
    """Build the stockpile LP (a ``linopy.Model``; add constraints before :func:`solve`).

    Parameters
    ----------
    scenarios
        The scenario set (or a :class:`StockpileProblem` from :func:`prepare`).
    parameters
        Material parameters (table, records or :class:`ResolvedParameters`).
    options
        :class:`StockpileOptions`; keyword ``overrides`` replace single fields
        (``objective="cvar"``, ``budget_eur=1e8``, ...).

    Returns
    -------
    StockpileModel
        The linopy model, with the problem data as ``model.critmat``.
    """
    import xarray as xr

    prob = (
        scenarios
        if isinstance(scenarios, StockpileProblem)
        else prepare(scenarios, parameters, options, **overrides)
    )
    sc, par, opts = prob.scenarios, prob.params, prob.options
    mat, scen, month = _coords(sc)
    horizon = sc.horizon
    usable = par.usable_months(horizon)
    expires = par.expires(horizon)
    g_cum = sc.cumulative().T  # [M, S]
    a_rel = sc.releasable(par.release_cap, usable).T  # [M, S]
    monthly_mat = np.zeros(sc.n_materials, dtype=bool)
    if prob.formulation == "monthly":
        monthly_mat = np.isfinite(par.release_cap) | expires

    da_g = xr.DataArray(g_cum, coords=[mat, scen])
    da_a = xr.DataArray(a_rel, coords=[mat, scen])
    has_gap = da_g > 0
    m = StockpileModel(force_dim_names=True)
    m.critmat = prob

    stock = m.add_variables(lower=0.0, coords=[mat], name="stock")
    agg_mat = xr.DataArray(~monthly_mat, coords=[mat])
    low_u = xr.where(agg_mat, np.maximum(da_g - da_a, 0.0), 0.0)
    short = m.add_variables(lower=low_u, coords=[mat, scen], name="shortfall", mask=has_gap)
    u = short.fillna(0)
    m.add_constraints(u + stock >= da_g, name="cover", mask=has_gap & agg_mat & (da_a > 0))
    if monthly_mat.any():
        gap = sc.gap_t.transpose(1, 0, 2)  # [M, S, T]
        cap = np.where(np.isfinite(par.release_cap), par.release_cap, np.inf)[:, None, None]
        ub = np.minimum(gap, cap)
        allowed = (
            (gap > 0)
            & monthly_mat[:, None, None]
            & (np.arange(horizon)[None, None, :] < usable[:, None, None])
        )
        da_ub = xr.DataArray(np.where(allowed, ub, 0.0), coords=[mat, scen, month])
        rel = m.add_variables(
            lower=0.0,
            upper=da_ub,
            coords=[mat, scen, month],
            name="release",
            mask=xr.DataArray(allowed, coords=[mat, scen, month]),
        )
        total_rel = rel.fillna(0).sum("month")
        mon = xr.DataArray(monthly_mat, coords=[mat])
        any_rel = xr.DataArray(allowed.any(axis=2), coords=[mat, scen])
        m.add_constraints(u + total_rel >= da_g, name="release_cover", mask=has_gap & mon)
        m.add_constraints(total_rel - stock <= 0, name="release_stock", mask=any_rel & mon)

    if opts.budget_eur is not None:
        add_budget(m, opts.budget_eur)
    finite_cap = np.isfinite(par.max_purchase)
    if finite_cap.any():
        m.add_constraints(
            stock <= xr.DataArray(np.where(finite_cap, par.max_purchase, 0.0), coords=[mat]),
            name="purchase_cap",
            mask=xr.DataArray(finite_cap, coords=[mat]),
        )
    if (prob.min_cover_t > 0).any():
        m.add_constraints(
            stock >= xr.DataArray(prob.min_cover_t, coords=[mat]),
            name="min_cover",
            mask=xr.DataArray(prob.min_cover_t > 0, coords=[mat]),
        )

    hold = xr.DataArray(par.holding_over(horizon), coords=[mat])
    writeoff = xr.DataArray(np.where(expires, par.price, 0.0), coords=[mat])
    cost_u = xr.DataArray(par.shortage, coords=[mat]) + writeoff
    pi = xr.DataArray(sc.probability, coords=[scen])
    if opts.objective == "expected":
        m.add_objective(((hold + writeoff) * stock).sum() + (pi * cost_u * u).sum())
    else:
        tail = 1.0 / (1.0 - opts.alpha)
        if opts.cvar_scope == "portfolio":
            eta = m.add_variables(name="cvar_eta")
            z = m.add_variables(lower=0.0, coords=[scen], name="cvar_excess")
            loss = (cost_u * u).sum("material") + (writeoff * stock).sum()
            const = -(writeoff * da_g).sum("material")
            m.add_constraints(z - loss + eta >= const, name="cvar_tail")
            m.add_objective((hold * stock).sum() + eta + tail * (pi * z).sum())
        else:
            eta = m.add_variables(coords=[mat], name="cvar_eta")
            z = m.add_variables(lower=0.0, coords=[mat, scen], name="cvar_excess")
            loss = cost_u * u + writeoff * stock
            m.add_constraints(z - loss + eta >= -(writeoff * da_g), name="cvar_tail")
            m.add_objective((hold * stock).sum() + eta.sum() + tail * (pi * z).sum())
    return m


def add_budget(model: StockpileModel, budget_eur: float) -> None:
    """Add the ``budget`` row ``sum_m p_m S_m <= budget_eur`` to a stockpile model."""
    import xarray as xr

    prob = model.critmat
    mat = _coords(prob.scenarios)[0]
    price = xr.DataArray(prob.params.price, coords=[mat])
    model.add_constraints((price * model.variables["stock"]).sum() <= budget_eur, name="budget")


def budget_is_last_row(prob: StockpileProblem) -> bool:
    """Whether :func:`build_model` adds the budget row after every other constraint.

    Then a model built without a budget, plus :func:`add_budget`, is row for row the model
    built with it (the same LP for the solver): the expected objective (the CVaR rows come
    after the budget), no purchase caps and no required cover.
    """
    return (
        prob.options.objective == "expected"
        and not np.isfinite(prob.params.max_purchase).any()
        and not (prob.min_cover_t > 0).any()
    )


@dataclass
class StockpileResult:
    """The optimal stock and what it buys.

    Attributes
    ----------
    status
        :class:`SolveStatus`; only ``optimal`` results carry decisions.
    allocation
        Per material (tidy): ``material, stock_t, purchase_cost_eur, holding_cost_eur_yr,
        months_of_demand, expected_shortfall_t_before/after, cvar_shortfall_t_before/after,
        ..., value_per_eur, rank, status``; provenance in ``attrs["critmat"]``.
    totals
        Portfolio figures (EUR): purchase, holding, expected and CVaR losses, objective.
    shadow_prices
        ``constraint, material, value, unit, meaning``: the value of one more euro of budget,
        one more tonne of purchase cap, the cost of one tonne of required cover.
    objective_eur
        Objective value (EUR), recomputed exactly from the stock.
    report
        Solver report.
    options
        The options.
    notes
        Remarks (defaults used, checks).
    model
        The solved linopy model (for inspection).
    """

    status: SolveStatus
    allocation: pd.DataFrame
    totals: dict[str, float]
    shadow_prices: pd.DataFrame
    objective_eur: float
    report: SolverReport
    options: StockpileOptions
    notes: list[str] = field(default_factory=list)
    model: Any = None
    outcome: StockOutcome | None = None

    @property
    def ok(self) -> bool:
        """Whether the result is optimal."""
        return self.status.ok

    @property
    def stock(self) -> pd.Series:
        """Stock per material (tonnes)."""
        return pd.Series(
            self.allocation["stock_t"].to_numpy(),
            index=pd.Index(self.allocation["material"].tolist(), name="material"),
            name="stock_t",
        )

    def budget_shadow_price(self) -> float:
        """EUR of objective saved by one more EUR of budget (0 without a binding budget)."""
        sp = self.shadow_prices
        row = sp[sp["constraint"] == "budget"]
        return float(row["value"].iloc[0]) if len(row) else 0.0

    def raise_for_status(self) -> StockpileResult:
        """Raise for a non-optimal status; return ``self`` otherwise."""
        raise_for_status(self.status, "stockpile LP")
        return self


def _dual(model: Any, name: str) -> np.ndarray | None:
    if name not in model.constraints:
        return None
    try:
        out: np.ndarray = np.asarray(model.constraints[name].dual.values, dtype=np.float64)
    except AttributeError:
        return None
    return out


def _shadow_prices(model: Any, prob: StockpileProblem) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    mats = prob.scenarios.materials
    budget = _dual(model, "budget")
    if budget is not None:
        rows.append(
            {
                "constraint": "budget",
                "material": "(all)",
                "value": max(-float(np.ravel(budget)[0]), 0.0),
                "unit": "EUR per EUR of budget",
                "meaning": "objective saved by one more euro of purchase budget",
            }
        )
    cap = _dual(model, "purchase_cap")
    if cap is not None:
        for i, v in enumerate(cap):
            if np.isfinite(v):
                rows.append(
                    {
                        "constraint": "purchase_cap",
                        "material": mats[i],
                        "value": max(-float(v), 0.0),
                        "unit": "EUR per t",
                        "meaning": "objective saved by one more tonne the market can absorb",
                    }
                )
    cover = _dual(model, "min_cover")
    if cover is not None:
        for i, v in enumerate(cover):
            if np.isfinite(v):
                rows.append(
                    {
                        "constraint": "min_cover",
                        "material": mats[i],
                        "value": max(float(v), 0.0),
                        "unit": "EUR per t",
                        "meaning": "objective cost of the last tonne of required cover",
                    }
                )
    frame = pd.DataFrame(rows, columns=["constraint", "material", "value", "unit", "meaning"])
    for col in ("constraint", "material", "unit", "meaning"):
        frame[col] = frame[col].astype("string")
    frame["value"] = frame["value"].astype(np.float64)
    return frame


def _rank(table: pd.DataFrame, tol: float = 1e-9) -> pd.DataFrame:
    """Purchase order: by expected shortage cost removed per euro spent, largest first."""
    spent = table["purchase_cost_eur"].to_numpy(dtype=np.float64)
    removed = (
        table["expected_shortage_cost_eur_before"].to_numpy(dtype=np.float64)
        - table["expected_shortage_cost_eur_after"].to_numpy(dtype=np.float64)
        - table["expected_writeoff_eur"].to_numpy(dtype=np.float64)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(spent > tol, removed / spent, np.nan)
    table["value_per_eur"] = ratio
    bought = table["stock_t"].to_numpy(dtype=np.float64) > tol
    order = np.argsort(-np.where(bought, ratio, -np.inf), kind="stable")
    rank = np.full(len(table), -1)
    rank[order[: int(bought.sum())]] = np.arange(1, int(bought.sum()) + 1)
    table["rank"] = pd.array(np.where(rank > 0, rank, 0), dtype="Int64")
    table.loc[~bought, "rank"] = pd.NA
    return table


def result_from_stock(
    prob: StockpileProblem,
    stock_t: np.ndarray,
    *,
    status: SolveStatus,
    report: SolverReport,
    shadow_prices: pd.DataFrame | None = None,
    model: Any = None,
    method: str = "stockpile_lp",
    extra_notes: list[str] | None = None,
) -> StockpileResult:
    """Assemble a :class:`StockpileResult` from a stock (scored exactly)."""
    sc, par, opts = prob.scenarios, prob.params, prob.options
    outcome = evaluate_stock(sc, par, stock_t, alpha=opts.alpha)
    table = _rank(outcome.table.copy())
    table["status"] = pd.array([str(status)] * len(table), dtype="string")
    if opts.objective == "expected":
        objective = outcome.totals["objective_expected_eur"]
    elif opts.cvar_scope == "portfolio":
        objective = outcome.totals["objective_cvar_eur"]
    else:
        objective = outcome.totals["objective_cvar_material_eur"]
    notes = list(prob.notes) + list(extra_notes or [])
    defaults = par.table[["material", "holding_cost_basis", "shortage_cost_basis"]]
    for col in ("holding_cost_basis", "shortage_cost_basis"):
        used = sorted(set(defaults[col].dropna().astype(str)) - {"given"})
        notes.extend(f"{col.replace('_basis', '')}: {u}" for u in used)
    totals = dict(outcome.totals)
    totals["objective_eur"] = objective
    if opts.budget_eur is not None:
        totals["budget_eur"] = float(opts.budget_eur)
    prov = Provenance(
        method=method,
        method_version=__version__,
        dataset_version="",
        sources=sorted(set(par.table["price_source"].astype(str))),
        parameters={
            **opts.model_dump(),
            "scenario_source": sc.source,
            "scenarios": sc.n_scenarios,
            "horizon_months": sc.horizon,
            "formulation": prob.formulation,
            "solver": report.solver,
            "solver_version": report.solver_version,
            "status": str(status),
        },
        units=dict(ALLOCATION_UNITS),
        notes=notes,
    )
    attach(table, prov)
    sp = shadow_prices if shadow_prices is not None else _shadow_prices(model, prob)
    attach(sp, prov)
    return StockpileResult(
        status=status,
        allocation=table,
        totals=totals,
        shadow_prices=sp,
        objective_eur=float(objective),
        report=report,
        options=opts,
        notes=notes,
        model=model,
        outcome=outcome,
    )


@without_dask_probe()
def solve(
    model: StockpileModel,
    *,
    time_limit: float | None = None,
    threads: int | None = None,
    solver_options: dict[str, Any] | None = None,
    on_failure: Literal["raise", "return"] = "raise",
) -> StockpileResult:
    """Solve a model from :func:`build_model` with HiGHS and read the result back.

    Parameters
    ----------
    model
        From :func:`build_model` (possibly with constraints added).
    time_limit
        Seconds; a stop at the limit is status ``time_limit``.
    threads
        HiGHS threads.
    solver_options
        Further HiGHS options.
    on_failure
        ``"raise"`` (default): a non-optimal status raises
        (:class:`~critmat.errors.InfeasibleError` or
        :class:`~critmat.optimize.OptimizeError`). ``"return"``: the result comes back with
        that status in ``status`` and in every row, the stock as far as the solver got
        (NaN where it has none).
    """
    prob = getattr(model, "critmat", None)
    if not isinstance(prob, StockpileProblem):
        raise OptimizeError("solve() needs a model from critmat.optimize.stockpile.build_model")
    report = run_highs(model, time_limit=time_limit, threads=threads, options=solver_options)
    report.notes.append(f"formulation: {prob.formulation}")
    status = report.status
    if not status.ok:
        if on_failure == "raise":
            detail = ""
            if status in (SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE_OR_UNBOUNDED):
                detail = (
                    "the built-in constraints are always feasible once the cover check has "
                    "passed, so a constraint added to the model conflicts with them"
                )
            raise_for_status(status, "stockpile LP", detail)
        try:
            x = np.asarray(model.variables["stock"].solution.values, dtype=np.float64)
        except Exception:
            x = np.full(prob.scenarios.n_materials, np.nan)
        res = result_from_stock(
            prob,
            np.nan_to_num(x),
            status=status,
            report=report,
            shadow_prices=_shadow_prices_empty(),
            model=model,
            extra_notes=[f"not optimal: solver status '{status}'"],
        )
        if np.isnan(x).any():  # no solution to show: every figure after purchase is unknown
            after = [
                c
                for c in res.allocation.columns
                if c not in ("material", "status", "rank")
                and not c.endswith("_before")
                and res.allocation[c].dtype.kind == "f"
            ]
            res.allocation[after] = np.nan
            res.allocation["rank"] = pd.array([pd.NA] * len(x), dtype="Int64")
            res.objective_eur = float("nan")
        return res
    x = np.asarray(model.variables["stock"].solution.values, dtype=np.float64)
    x = np.maximum(np.nan_to_num(x), 0.0)
    res = result_from_stock(prob, x, status=status, report=report, model=model)
    value = model.objective.value
    lp_obj = float(value) if value is not None else float("nan")
    const = _objective_constant(prob)
    if abs(lp_obj + const - res.objective_eur) > 1e-6 * max(1.0, abs(res.objective_eur)):
        res.notes.append(
            f"check: LP objective {lp_obj + const:,.2f} EUR differs from the exact score "
            f"{res.objective_eur:,.2f} EUR (a constraint added to the model, or solver "
            "tolerance)"
        )
    return res


def _objective_constant(prob: StockpileProblem) -> float:
    """Constant left out of the LP objective (the write-off term ``-o_m E[G]``)."""
    par, sc, opts = prob.params, prob.scenarios, prob.options
    expires = par.expires(sc.horizon)
    if not expires.any() or opts.objective != "expected":
        return 0.0
    wo = np.where(expires, par.price, 0.0)
    return -float((wo * (sc.probability @ sc.cumulative())).sum())


def _shadow_prices_empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "constraint": pd.array([], dtype="string"),
            "material": pd.array([], dtype="string"),
            "value": np.array([], dtype=np.float64),
            "unit": pd.array([], dtype="string"),
            "meaning": pd.array([], dtype="string"),
        }
    )


def optimize_stockpile(
    scenarios: ScenarioSet,
    parameters: Any,
    options: StockpileOptions | None = None,
    *,
    time_limit: float | None = None,
    threads: int | None = None,
    on_failure: Literal["raise", "return"] = "raise",
    **overrides: Any,
) -> StockpileResult:
    """Build and solve the stockpile LP in one call (see :func:`build_model`, :func:`solve`).

    Examples
    --------
    TV2 of METHODS.md §6.5: gaps 0, 200, 500, 1000 t (probabilities 0.80, 0.10, 0.07,
    0.03), holding 2,000 EUR/t/yr, shortage 50,000 EUR/t, one year:

    >>> import numpy as np
    >>> sc = ScenarioSet.from_arrays(
    ...     np.array([0.0, 200, 500, 1000]).reshape(4, 1, 1).repeat(12, axis=2) / 12,
    ...     probability=[0.80, 0.10, 0.07, 0.03], materials=["x"])
    >>> par = [{"material": "x", "price_eur_t": 10_000, "holding_cost_eur_t_yr": 2_000,
    ...         "shortage_cost_eur_t": 50_000}]
    >>> r = optimize_stockpile(sc, par)
    >>> round(float(r.stock["x"]), 3), round(r.objective_eur / 1e6, 6)
    (500.0, 1.75)
    >>> r = optimize_stockpile(sc, par, objective="cvar", alpha=0.95)
    >>> round(float(r.stock["x"]), 3), round(r.objective_eur / 1e6, 6)
    (1000.0, 2.0)
    """
    model = build_model(scenarios, parameters, options, **overrides)
    return solve(model, time_limit=time_limit, threads=threads, on_failure=on_failure)
