"""Exact evaluation of a stock on a scenario set (no solver): shortfall, costs, CVaR.

With one purchase S_m before the horizon, a monthly release cap c_m and releases possible in
months t < L_m (shelf life), releasing as much as the gap, the cap and the stock allow in
every month (the scenario engine's rule) is optimal for the total unmet demand, which is

    U[s, m] = G[s, m] - min(S_m, A[s, m]),   A[s, m] = sum_{t < L_m} min(c_m, g[s, m, t])

(greedy: every month releases ``min(c, g_t)`` until the stock is gone, so the total is
``min(S, A)``, and no release plan can exceed ``A`` or ``S``). This is how every policy -
the LP optimum, the reference policies and the stock lever - is scored, so that all of them
are compared on the same numbers.

CVaR is the Rockafellar-Uryasev value for weighted scenarios: the probability-weighted mean
of the worst ``1 - alpha`` of the probability mass (a fractional weight on the scenario at
the quantile). With equal probabilities it equals ``critmat.scenarios.stats.cvar``.

Examples
--------
TV2 of METHODS.md §6.5 (gaps 0, 200, 500, 1000 t with probabilities 0.80, 0.10, 0.07, 0.03):
the CVaR95 of the loss ``2000 S + 50000 (D - S)+`` at S = 500 t is 16.0 M EUR.

>>> import numpy as np
>>> d = np.array([0.0, 200.0, 500.0, 1000.0]); p = np.array([0.80, 0.10, 0.07, 0.03])
>>> loss = 2000 * 500 + 50000 * np.maximum(d - 500, 0)
>>> round(float(cvar_weighted(loss, p, 0.95)) / 1e6, 6)
16.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from critmat.optimize.parameters import ResolvedParameters
from critmat.optimize.scenario_set import ScenarioSet

__all__ = [
    "StockOutcome",
    "cvar_weighted",
    "evaluate_stock",
    "greedy_release",
    "var_weighted",
]


def _sorted_mass(loss: np.ndarray, prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Losses sorted worst first along axis 0, with the matching probabilities."""
    order = np.argsort(-loss, axis=0, kind="stable")
    lo = np.take_along_axis(loss, order, axis=0)
    pr = prob.reshape((-1,) + (1,) * (loss.ndim - 1))
    pr = np.broadcast_to(pr, loss.shape)
    ps = np.take_along_axis(pr, order, axis=0)
    return lo, ps


def cvar_weighted(loss: Any, probability: Any, alpha: float) -> np.ndarray:
    """CVaR_alpha over axis 0 of ``loss`` with scenario probabilities ``probability``.

    Parameters
    ----------
    loss
        ``[S, ...]`` losses (larger is worse).
    probability
        ``[S]`` probabilities summing to 1.
    alpha
        Level in (0, 1): the mean of the worst ``1 - alpha`` of the probability mass.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {alpha}")
    lo = np.asarray(loss, dtype=np.float64)
    pr = np.asarray(probability, dtype=np.float64)
    lo_s, ps = _sorted_mass(lo, pr)
    tail = 1.0 - alpha
    cum = np.cumsum(ps, axis=0)
    take = np.clip(np.minimum(cum, tail) - (cum - ps), 0.0, None)
    out: np.ndarray = (take * lo_s).sum(axis=0) / tail
    return out


def var_weighted(loss: Any, probability: Any, alpha: float) -> np.ndarray:
    """VaR_alpha over axis 0: the smallest loss ``v`` with ``P(L <= v) >= alpha``."""
    lo = np.asarray(loss, dtype=np.float64)
    pr = np.asarray(probability, dtype=np.float64)
    order = np.argsort(lo, axis=0, kind="stable")
    lo_s = np.take_along_axis(lo, order, axis=0)
    ps = np.take_along_axis(
        np.broadcast_to(pr.reshape((-1,) + (1,) * (lo.ndim - 1)), lo.shape), order, axis=0
    )
    cum = np.cumsum(ps, axis=0)
    idx = np.argmax(cum >= alpha - 1e-12, axis=0)
    out: np.ndarray = np.take_along_axis(lo_s, idx[None], axis=0)[0]
    return out


def greedy_release(
    gap_t: np.ndarray, stock_t: np.ndarray, release_cap: np.ndarray, usable_months: np.ndarray
) -> np.ndarray:
    """``[S, M, T]`` monthly releases of the greedy rule (the engine's, without reserve).

    Each month releases ``min(stock left, gap, cap)`` while ``t < usable_months``.
    """
    s, m, big_t = gap_t.shape
    left = np.broadcast_to(np.asarray(stock_t, dtype=np.float64), (s, m)).copy()
    cap = np.asarray(release_cap, dtype=np.float64)
    lim = np.asarray(usable_months)
    out = np.zeros_like(gap_t)
    for t in range(big_t):
        r = np.minimum(np.minimum(gap_t[:, :, t], cap[None, :]), left)
        r = np.where((t < lim)[None, :], r, 0.0)
        out[:, :, t] = r
        left -= r
    return out


@dataclass
class StockOutcome:
    """A stock scored on a scenario set.

    Attributes
    ----------
    stock_t
        ``[M]`` the stock.
    shortfall_t
        ``[S, M]`` unmet demand over the horizon (tonnes).
    shortfall_before_t
        ``[S, M]`` the same without stock (the cumulative gap).
    loss_eur
        ``[S, M]`` shortage cost plus written-off stock (EUR).
    loss_before_eur
        ``[S, M]`` shortage cost without stock.
    table
        Per material: the result columns of the stockpile decision.
    totals
        Portfolio figures (EUR): holding, expected and CVaR losses before and after, and the
        objective values under both objectives.
    """

    stock_t: np.ndarray
    shortfall_t: np.ndarray
    shortfall_before_t: np.ndarray
    loss_eur: np.ndarray
    loss_before_eur: np.ndarray
    table: pd.DataFrame
    totals: dict[str, float]


def evaluate_stock(
    scenarios: ScenarioSet,
    params: ResolvedParameters,
    stock_t: Any,
    *,
    alpha: float = 0.95,
) -> StockOutcome:
    """Score ``stock_t`` (tonnes per material, bought before the horizon) exactly.

    Parameters
    ----------
    scenarios
        The scenario set.
    params
        Resolved parameters on the same materials.
    stock_t
        ``[M]`` stocks (tonnes, >= 0).
    alpha
        CVaR level.
    """
    x = np.maximum(np.asarray(stock_t, dtype=np.float64), 0.0)
    horizon = scenarios.horizon
    prob = scenarios.probability
    g_cum = scenarios.cumulative()
    usable = params.usable_months(horizon)
    a_rel = scenarios.releasable(params.release_cap, usable)
    released = np.minimum(x[None, :], a_rel)
    short = g_cum - released
    short = np.maximum(short, 0.0)
    writeoff_t = np.where(params.expires(horizon)[None, :], x[None, :] - released, 0.0)
    loss = short * params.shortage[None, :] + writeoff_t * params.price[None, :]
    loss_before = g_cum * params.shortage[None, :]
    hold = params.holding_over(horizon) * x

    def e(v: np.ndarray) -> np.ndarray:
        out: np.ndarray = prob @ v
        return out

    demand_month = params.monthly_demand()
    with np.errstate(divide="ignore", invalid="ignore"):
        months = np.where(demand_month > 0, x / demand_month, np.nan)
    table = pd.DataFrame(
        {
            "material": pd.array(list(scenarios.materials), dtype="string"),
            "stock_t": x,
            "purchase_cost_eur": x * params.price,
            "holding_cost_eur_yr": x * params.holding_yr,
            "holding_cost_horizon_eur": hold,
            "months_of_demand": months,
            "expected_shortfall_t_before": e(g_cum),
            "expected_shortfall_t_after": e(short),
            "cvar_shortfall_t_before": cvar_weighted(g_cum, prob, alpha),
            "cvar_shortfall_t_after": cvar_weighted(short, prob, alpha),
            "expected_shortage_cost_eur_before": e(loss_before),
            "expected_shortage_cost_eur_after": e(short * params.shortage[None, :]),
            "expected_writeoff_eur": e(writeoff_t * params.price[None, :]),
            "p_shortfall_before": e((g_cum > 1e-9).astype(np.float64)),
            "p_shortfall_after": e((short > 1e-9).astype(np.float64)),
        }
    )
    port = loss.sum(axis=1)
    port_before = loss_before.sum(axis=1)
    holding_total = float(hold.sum())
    exp_after = float(prob @ port)
    cvar_after = float(cvar_weighted(port, prob, alpha))
    cvar_material = float(cvar_weighted(loss, prob, alpha).sum())
    totals = {
        "purchase_cost_eur": float((x * params.price).sum()),
        "holding_cost_horizon_eur": holding_total,
        "expected_loss_eur_before": float(prob @ port_before),
        "expected_loss_eur_after": exp_after,
        "cvar_loss_eur_before": float(cvar_weighted(port_before, prob, alpha)),
        "cvar_loss_eur_after": cvar_after,
        "objective_expected_eur": holding_total + exp_after,
        "objective_cvar_eur": holding_total + cvar_after,
        "objective_cvar_material_eur": holding_total + cvar_material,
        "expected_shortfall_t_before": float(table["expected_shortfall_t_before"].sum()),
        "expected_shortfall_t_after": float(table["expected_shortfall_t_after"].sum()),
    }
    return StockOutcome(x, short, g_cum, loss, loss_before, table, totals)
