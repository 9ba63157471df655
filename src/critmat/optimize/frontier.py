"""Efficient frontier of the stockpile decision: budget -> expected and CVaR shortfall.

The LP is solved for a grid of budgets from the cost of the required cover (0 without one)
up to what the unconstrained optimum spends (more money buys nothing). Per budget: what is
spent, the objective, expected and CVaR loss and shortfall, the budget's shadow price; per
budget and material: the stock; per material: the budget at which it enters the optimal
stock (first grid budget with a positive stock, with the grid point before it as the lower
end of the bracket, optionally refined by bisection).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from critmat._version import __version__
from critmat.optimize._solver import (
    OptimizeError,
    SolverReport,
    SolveStatus,
    raise_for_status,
    run_highs,
    validated,
    without_dask_probe,
)
from critmat.optimize.scenario_set import ScenarioSet
from critmat.optimize.stockpile import (
    StockpileModel,
    StockpileOptions,
    StockpileProblem,
    StockpileResult,
    add_budget,
    budget_is_last_row,
    build_model,
    prepare,
    result_from_stock,
    solve,
)
from critmat.provenance import Provenance, attach

__all__ = ["Frontier", "efficient_frontier"]


@dataclass
class Frontier:
    """Frontier tables.

    Attributes
    ----------
    points
        One row per budget: ``budget_eur, spent_eur, objective_eur,
        holding_cost_horizon_eur, expected_loss_eur, cvar_loss_eur, expected_shortfall_t,
        cvar_shortfall_t, budget_shadow_price, status``.
    materials
        ``budget_eur, material, stock_t, expected_shortfall_t, cvar_shortfall_t``.
    entry
        ``material, order, enters_at_budget_eur, enters_after_budget_eur, stock_at_max_t``
        (order of entry; NA for materials never bought).
    optimum
        The unconstrained optimum the sweep ends at (the result of
        :func:`~critmat.optimize.stockpile.optimize_stockpile` with the same scenarios,
        parameters and options, without a budget): solved once for the frontier and kept,
        so that a caller who needs both does not build and solve the LP again. Its
        ``model`` is ``None`` where the sweep went on with that model (a budget row added).
    """

    points: pd.DataFrame
    materials: pd.DataFrame
    entry: pd.DataFrame
    optimum: StockpileResult


class _BudgetSweep:
    """One LP with a budget row, re-solved warm in HiGHS for each budget (row bound change).

    ``base``: the model of the same problem without a budget, already solved; when the
    budget row is the last row :func:`build_model` adds (:func:`budget_is_last_row`), the
    row is added to it instead of building the model again (the same LP, row for row).
    """

    def __init__(
        self, prob: StockpileProblem, threads: int | None, base: StockpileModel | None = None
    ) -> None:
        floor = float(prob.min_cover_t @ prob.params.price)
        opts = StockpileOptions(**{**prob.options.model_dump(), "budget_eur": floor})
        self.prob = StockpileProblem(
            prob.scenarios, prob.params, opts, prob.formulation, prob.min_cover_t, prob.notes
        )
        self.reused = base is not None and budget_is_last_row(self.prob)
        if base is not None and self.reused:
            base.critmat = self.prob
            add_budget(base, floor)
            self.model = base
        else:
            self.model = build_model(self.prob)
        self.report = run_highs(self.model, threads=threads)
        raise_for_status(self.report.status, "stockpile LP (frontier)")
        solver = self.model.solver
        if solver is None:  # pragma: no cover - linopy keeps the solver after solve()
            raise OptimizeError("linopy did not keep the HiGHS instance after solving")
        self.highs = solver.solver_model
        vlabels = np.asarray(self.model.matrices.vlabels)
        clabels = np.asarray(self.model.matrices.clabels)
        stock = np.ravel(self.model.variables["stock"].labels.values)
        self.cols = np.array([int(np.flatnonzero(vlabels == lab)[0]) for lab in stock])
        lab = int(np.ravel(self.model.constraints["budget"].labels.values)[0])
        self.row = int(np.flatnonzero(clabels == lab)[0])

    def solve(self, budget: float) -> StockpileResult:
        import highspy

        self.highs.changeRowBounds(self.row, -highspy.kHighsInf, float(budget))
        start = time.perf_counter()
        self.highs.run()
        elapsed = time.perf_counter() - start
        status = SolveStatus.OPTIMAL
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            status = SolveStatus.from_linopy(
                self.highs.modelStatusToString(self.highs.getModelStatus()).lower()
            )
            raise_for_status(status, f"stockpile LP at a budget of {budget:,.0f} EUR")
        sol = self.highs.getSolution()
        x = np.maximum(np.asarray(sol.col_value)[self.cols], 0.0)
        dual = max(-float(np.asarray(sol.row_dual)[self.row]), 0.0)
        opts = StockpileOptions(**{**self.prob.options.model_dump(), "budget_eur": float(budget)})
        prob = StockpileProblem(
            self.prob.scenarios,
            self.prob.params,
            opts,
            self.prob.formulation,
            self.prob.min_cover_t,
            self.prob.notes,
        )
        report = SolverReport(
            solver_version=self.report.solver_version,
            status=status,
            termination=str(status),
            solve_s=round(elapsed, 4),
            n_variables=self.report.n_variables,
            n_constraints=self.report.n_constraints,
            n_nonzeros=self.report.n_nonzeros,
            notes=["warm re-solve with a new budget"],
        )
        sp = pd.DataFrame(
            {
                "constraint": pd.array(["budget"], dtype="string"),
                "material": pd.array(["(all)"], dtype="string"),
                "value": np.array([dual]),
                "unit": pd.array(["EUR per EUR of budget"], dtype="string"),
                "meaning": pd.array(
                    ["objective saved by one more euro of purchase budget"], dtype="string"
                ),
            }
        )
        return result_from_stock(prob, x, status=status, report=report, shadow_prices=sp)


@without_dask_probe()
def efficient_frontier(
    scenarios: ScenarioSet,
    parameters: Any,
    options: StockpileOptions | None = None,
    *,
    budgets: Any = None,
    points: int = 11,
    refine: bool = False,
    refine_tol: float = 1e-3,
    threads: int | None = None,
    **overrides: Any,
) -> Frontier:
    """Solve the stockpile LP over a range of budgets.

    Parameters
    ----------
    scenarios, parameters, options, overrides
        As for :func:`~critmat.optimize.stockpile.build_model` (``budget_eur`` is ignored).
    budgets
        Budgets (EUR) to solve at; default ``points`` budgets evenly spaced from the cost of
        the required cover to the unconstrained optimum's spend.
    points
        Number of default budgets (>= 2).
    refine
        Bisect each material's entry bracket down to ``refine_tol`` times the largest
        budget (a few solves per material).
    threads
        HiGHS threads.
    """
    opts = options or StockpileOptions()
    opts = validated(
        StockpileOptions, {**opts.model_dump(), **overrides, "budget_eur": None}, "options"
    )
    prob = prepare(scenarios, parameters, opts)
    free_model = build_model(prob)
    free = solve(free_model, threads=threads)
    sweep = _BudgetSweep(prob, threads, base=free_model)
    if sweep.reused:  # the sweep solves that model from now on: it is not the optimum's
        free.model = None
    top = float(free.totals["purchase_cost_eur"])
    floor = float((prob.min_cover_t * prob.params.price).sum())
    if budgets is None:
        if points < 2:
            raise OptimizeError(f"points must be >= 2 (got {points})")
        grid = np.unique(np.linspace(floor, max(top, floor), points))
    else:
        grid = np.unique(np.asarray(budgets, dtype=np.float64))
        if not np.isfinite(grid).all() or (grid < floor * (1 - 1e-9)).any():
            raise OptimizeError(
                f"budgets must be finite and at least the cost of the required cover "
                f"({floor:,.0f} EUR); got {grid.min():,.0f} EUR"
            )
    results: list[tuple[float, StockpileResult]] = []
    for b in grid:
        res = free if b >= top * (1 + 1e-12) and budgets is None else sweep.solve(b)
        results.append((float(b), res))
    mats = list(prob.scenarios.materials)
    rows = []
    mrows = []
    for b, res in results:
        a = res.allocation
        rows.append(
            {
                "budget_eur": b,
                "spent_eur": res.totals["purchase_cost_eur"],
                "objective_eur": res.objective_eur,
                "holding_cost_horizon_eur": res.totals["holding_cost_horizon_eur"],
                "expected_loss_eur": res.totals["expected_loss_eur_after"],
                "cvar_loss_eur": res.totals["cvar_loss_eur_after"],
                "expected_shortfall_t": float(a["expected_shortfall_t_after"].sum()),
                "cvar_shortfall_t": float(a["cvar_shortfall_t_after"].sum()),
                "budget_shadow_price": res.budget_shadow_price(),
                "status": str(res.status),
            }
        )
        for r in a.itertuples(index=False):
            mrows.append(
                {
                    "budget_eur": b,
                    "material": r.material,
                    "stock_t": float(r.stock_t),
                    "expected_shortfall_t": float(r.expected_shortfall_t_after),
                    "cvar_shortfall_t": float(r.cvar_shortfall_t_after),
                }
            )
    pts = pd.DataFrame(rows)
    pts["status"] = pts["status"].astype("string")
    per = pd.DataFrame(mrows)
    per["material"] = per["material"].astype("string")
    stocks = np.array([res.allocation["stock_t"].to_numpy() for _, res in results])  # [B, M]
    tol = 1e-6 * max(1.0, float(np.nanmax(stocks)) if stocks.size else 1.0)
    erows = []
    for j, name in enumerate(mats):
        pos = np.flatnonzero(stocks[:, j] > tol)
        if len(pos) == 0:
            erows.append((name, np.nan, np.nan))
            continue
        k = int(pos[0])
        hi = float(grid[k])
        lo = float(grid[k - 1]) if k > 0 else np.nan
        if refine and k > 0:
            step = refine_tol * max(float(grid[-1]), 1.0)
            while hi - lo > step:
                mid = 0.5 * (lo + hi)
                if sweep.solve(mid).allocation["stock_t"].iloc[j] > tol:
                    hi = mid
                else:
                    lo = mid
        erows.append((name, hi, lo))
    entry = pd.DataFrame(erows, columns=["material", "enters_at_budget_eur", "enters_after"])
    entry = entry.rename(columns={"enters_after": "enters_after_budget_eur"})
    entry["stock_at_max_t"] = stocks[-1] if len(stocks) else np.nan
    order = entry["enters_at_budget_eur"].rank(method="min")
    entry["order"] = pd.array(order.round().astype("Int64"), dtype="Int64")
    entry = entry.sort_values(["order", "material"], na_position="last").reset_index(drop=True)
    entry["material"] = entry["material"].astype("string")
    entry = entry[
        ["material", "order", "enters_at_budget_eur", "enters_after_budget_eur", "stock_at_max_t"]
    ]
    prov = Provenance(
        method="stockpile_frontier",
        method_version=__version__,
        dataset_version="",
        sources=sorted(set(prob.params.table["price_source"].astype(str))),
        parameters={**opts.model_dump(), "budgets": [float(b) for b in grid], "refine": refine},
        units={
            "budget_eur": "EUR",
            "spent_eur": "EUR",
            "objective_eur": "EUR",
            "expected_shortfall_t": "t over the horizon (sum over materials)",
            "cvar_shortfall_t": "t over the horizon (sum of per-material CVaR)",
            "budget_shadow_price": "EUR per EUR of budget",
        },
        notes=list(free.notes),
    )
    for frame in (pts, per, entry):
        attach(frame, prov)
    return Frontier(pts, per, entry, optimum=free)
