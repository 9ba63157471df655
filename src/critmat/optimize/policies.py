"""Reference stock policies, scored on the same scenario set as the optimum.

* ``no_stock``: nothing bought.
* ``jogmec_60d``: Japan's JOGMEC target of 60 days of consumption
  (``S = days / 365 x annual demand``, METHODS.md §6.5 TV5; IEA policy database, Argus
  2020, ``reference/stockpiles-and-decisions/jogmec_stockpile_facts.csv``).
* ``eu_reserve_Nm``: an EU reserve of N months of demand (``S = N / 12 x annual demand``;
  the temporary EU reserve under consideration has no published size, so N is a user
  choice; default 3 and 6 months).
* ``ramf_greedy``: a RAMF-SM style priority allocation (METHODS.md §6.3 c): the budget goes,
  block by block, to the material whose next block removes the most shortfall value per
  euro (expected shortage cost removed minus holding cost, over the purchase cost), until
  the budget is spent or no block pays for itself. Blocks are ``1/steps`` of each
  material's largest releasable gap. As the blocks shrink it converges to the
  expected-cost LP optimum (the expected cost is convex and separable by material); it is
  myopic under CVaR.

Each is scored exactly (:func:`critmat.optimize.evaluate.evaluate_stock`): purchase cost,
holding, expected and CVaR shortfall and loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from critmat._version import __version__
from critmat.optimize.evaluate import evaluate_stock
from critmat.optimize.parameters import ResolvedParameters, resolve_parameters
from critmat.optimize.scenario_set import ScenarioSet
from critmat.optimize.stockpile import StockpileResult
from critmat.provenance import Provenance, attach

__all__ = [
    "PolicyComparison",
    "cover_stock",
    "jogmec_stock",
    "ramf_greedy",
    "reference_policies",
]

#: JOGMEC's target cover (days of consumption): IEA policy database, Argus 2020-07-03.
JOGMEC_DAYS = 60


def jogmec_stock(annual_demand_t: Any, days: float = JOGMEC_DAYS) -> np.ndarray:
    """``days / 365 x annual demand`` (TV5: 30,000 t/yr and 60 days -> 4,932 t).

    Examples
    --------
    >>> round(float(jogmec_stock(30_000)))
    4932
    """
    out: np.ndarray = np.asarray(annual_demand_t, dtype=np.float64) * days / 365.0
    return out


def cover_stock(annual_demand_t: Any, months: float) -> np.ndarray:
    """``months / 12 x annual demand`` (an EU reserve of N months)."""
    out: np.ndarray = np.asarray(annual_demand_t, dtype=np.float64) * months / 12.0
    return out


def ramf_greedy(
    scenarios: ScenarioSet,
    params: ResolvedParameters,
    *,
    budget_eur: float | None = None,
    steps: int = 50,
) -> np.ndarray:
    """Greedy allocation by shortfall value removed per euro, in blocks (see module doc).

    Parameters
    ----------
    scenarios, params
        Scenario set and resolved parameters (same materials).
    budget_eur
        Money to allocate (``None``: until no block pays for itself).
    steps
        Blocks per material (block = largest releasable gap / steps).

    Returns
    -------
    numpy.ndarray
        ``[M]`` stocks (tonnes).
    """
    horizon = scenarios.horizon
    prob = scenarios.probability
    usable = params.usable_months(horizon)
    a_rel = scenarios.releasable(params.release_cap, usable)  # [S, M]
    expires = params.expires(horizon)
    wo = np.where(expires, params.price, 0.0)
    value = params.shortage + wo
    unit_cost = params.holding_over(horizon) + wo
    block = a_rel.max(axis=0) / max(int(steps), 1)
    x = np.zeros(scenarios.n_materials)
    left = np.inf if budget_eur is None else float(budget_eur)
    cap = params.max_purchase.copy()
    for _ in range(int(steps) * scenarios.n_materials + 1):
        b = np.minimum(block, np.maximum(cap - x, 0.0))
        ok = b > 1e-12
        if not ok.any() or left <= 1e-9:
            break
        gain = prob @ (np.minimum(x + b, a_rel) - np.minimum(x, a_rel))  # tonnes released
        net = value * gain - unit_cost * b
        spend = params.price * b
        ratio = np.where(ok & (spend > 0), net / np.where(spend > 0, spend, 1.0), -np.inf)
        j = int(np.argmax(ratio))
        if ratio[j] <= 0:
            break
        if spend[j] > left:
            x[j] += b[j] * left / spend[j]
            break
        x[j] += b[j]
        left -= spend[j]
    return x


@dataclass
class PolicyComparison:
    """Reference policies side by side.

    Attributes
    ----------
    summary
        One row per policy: ``policy, description, basis, purchase_cost_eur,
        holding_cost_horizon_eur, expected_shortfall_t, cvar_shortfall_t,
        expected_loss_eur, cvar_loss_eur, objective_expected_eur, status``.
    by_material
        ``policy, material, stock_t, months_of_demand, purchase_cost_eur,
        expected_shortfall_t, cvar_shortfall_t, status``.
    """

    summary: pd.DataFrame
    by_material: pd.DataFrame


def reference_policies(
    scenarios: ScenarioSet,
    parameters: Any,
    *,
    alpha: float = 0.95,
    jogmec_days: float = JOGMEC_DAYS,
    eu_reserve_months: Sequence[float] = (3.0, 6.0),
    budget_eur: float | None = None,
    greedy_steps: int = 50,
    optimum: StockpileResult | None = None,
    extra: dict[str, Any] | None = None,
) -> PolicyComparison:
    """Score the reference policies (and the optimum, if given) on ``scenarios``.

    Parameters
    ----------
    scenarios, parameters
        Scenario set and material parameters (``annual_demand_t`` for the cover rules;
        taken from the scenario set's baseline where missing).
    alpha
        CVaR level.
    jogmec_days
        Days of consumption of the JOGMEC rule.
    eu_reserve_months
        Sizes of the EU-reserve rule to show (months of demand).
    budget_eur
        Budget of the greedy allocation (``None``: unconstrained).
    greedy_steps
        Blocks per material of the greedy allocation.
    optimum
        An LP result on the same scenario set, shown as ``optimal_lp``.
    extra
        More policies: ``{name: stock per material (array or {material: t})}``.
    """
    params = resolve_parameters(parameters, scenarios.materials).with_demand(
        scenarios.monthly_demand_t, scenarios.source
    )
    demand = params.annual_demand
    no_demand = ~np.isfinite(demand)
    missing = [scenarios.materials[i] for i in np.flatnonzero(no_demand)]
    cover_status = np.where(no_demand, "not applicable: annual_demand_t missing", "ok")
    policies: list[tuple[str, str, str, np.ndarray, np.ndarray]] = [
        (
            "no_stock",
            "no stock",
            "baseline",
            np.zeros(scenarios.n_materials),
            np.full(scenarios.n_materials, "ok"),
        ),
        (
            f"jogmec_{jogmec_days:g}d",
            f"{jogmec_days:g} days of consumption (JOGMEC target)",
            "IEA policy database; Argus 2020-07-03 (jogmec_stockpile_facts.csv); METHODS.md TV5",
            np.nan_to_num(jogmec_stock(demand, jogmec_days)),
            cover_status,
        ),
    ]
    for months in eu_reserve_months:
        policies.append(
            (
                f"eu_reserve_{months:g}m",
                f"EU reserve of {months:g} months of demand",
                "assumption: size chosen by the user (no published EU reserve size)",
                np.nan_to_num(cover_stock(demand, months)),
                cover_status,
            )
        )
    greedy = ramf_greedy(scenarios, params, budget_eur=budget_eur, steps=greedy_steps)
    policies.append(
        (
            "ramf_greedy",
            "greedy by shortfall value removed per euro"
            + (f" (budget {budget_eur:,.0f} EUR)" if budget_eur is not None else ""),
            "RAMF-SM priority ordering (METHODS.md §6.3 c)",
            greedy,
            np.full(scenarios.n_materials, "ok"),
        )
    )
    if optimum is not None:
        stock = optimum.stock.reindex(list(scenarios.materials)).to_numpy(dtype=np.float64)
        policies.append(
            (
                "optimal_lp",
                f"LP optimum ({optimum.options.objective})",
                "critmat.optimize.stockpile",
                np.nan_to_num(stock),
                np.full(scenarios.n_materials, str(optimum.status)),
            )
        )
    for name, value in (extra or {}).items():
        if isinstance(value, dict):
            arr = np.array([float(value.get(m, 0.0)) for m in scenarios.materials])
        else:
            arr = np.asarray(value, dtype=np.float64)
        policies.append((name, name, "user policy", arr, np.full(scenarios.n_materials, "ok")))

    srows, mrows = [], []
    for name, desc, basis, stock, status in policies:
        out = evaluate_stock(scenarios, params, stock, alpha=alpha)
        t = out.table
        partial = (status != "ok") & (status != "optimal")
        srows.append(
            {
                "policy": name,
                "description": desc,
                "basis": basis,
                "purchase_cost_eur": out.totals["purchase_cost_eur"],
                "holding_cost_horizon_eur": out.totals["holding_cost_horizon_eur"],
                "expected_shortfall_t": out.totals["expected_shortfall_t_after"],
                "cvar_shortfall_t": float(t["cvar_shortfall_t_after"].sum()),
                "expected_loss_eur": out.totals["expected_loss_eur_after"],
                "cvar_loss_eur": out.totals["cvar_loss_eur_after"],
                "objective_expected_eur": out.totals["objective_expected_eur"],
                "status": (
                    "partial: no stock for " + ", ".join(missing) + " (annual_demand_t missing)"
                    if partial.any()
                    else "ok"
                ),
            }
        )
        for i, r in enumerate(t.itertuples(index=False)):
            mrows.append(
                {
                    "policy": name,
                    "material": r.material,
                    "stock_t": float(r.stock_t),
                    "months_of_demand": float(r.months_of_demand),
                    "purchase_cost_eur": float(r.purchase_cost_eur),
                    "expected_shortfall_t": float(r.expected_shortfall_t_after),
                    "cvar_shortfall_t": float(r.cvar_shortfall_t_after),
                    "status": str(status[i]),
                }
            )
    summary = pd.DataFrame(srows)
    by_mat = pd.DataFrame(mrows)
    for frame in (summary, by_mat):
        for col in frame.columns:
            if frame[col].dtype == object:
                frame[col] = frame[col].astype("string")
    prov = Provenance(
        method="stockpile_reference_policies",
        method_version=__version__,
        dataset_version="",
        sources=["jogmec_stockpile_facts", *sorted(set(params.table["price_source"].astype(str)))],
        parameters={
            "alpha": alpha,
            "jogmec_days": jogmec_days,
            "eu_reserve_months": list(eu_reserve_months),
            "budget_eur": budget_eur,
            "greedy_steps": greedy_steps,
            "scenario_source": scenarios.source,
        },
        units={
            "stock_t": "t",
            "purchase_cost_eur": "EUR",
            "expected_shortfall_t": "t over the horizon",
            "cvar_shortfall_t": "t over the horizon (CVaR at alpha, per material, summed)",
            "expected_loss_eur": "EUR",
            "cvar_loss_eur": "EUR (CVaR of the portfolio loss)",
        },
    )
    attach(summary, prov)
    attach(by_mat, prov)
    return PolicyComparison(summary, by_mat)
