"""Invariants of the decision models (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from critmat.optimize import ScenarioSet, evaluate_stock, optimize_stockpile, resolve_parameters
from critmat.optimize.evaluate import cvar_weighted, greedy_release
from critmat.scenarios.stats import cvar as cvar_equal

finite = st.floats(0, 1000, allow_nan=False, allow_infinity=False)


@given(arrays(np.float64, st.integers(1, 60), elements=finite), st.floats(0.5, 0.99))
def test_weighted_cvar_equals_the_ensemble_cvar_for_equal_weights(x: np.ndarray, a: float) -> None:
    p = np.full(len(x), 1.0 / len(x))
    got = float(cvar_weighted(x, p, a))
    assert got == pytest.approx(float(cvar_equal(x, a)), rel=1e-9, abs=1e-9)
    assert got >= float(x.mean()) - 1e-9
    assert got <= float(x.max()) + 1e-9


@given(
    arrays(np.float64, st.integers(1, 30), elements=finite),
    st.floats(0.5, 0.9),
    st.floats(0.0, 0.09),
)
def test_cvar_rises_with_alpha(x: np.ndarray, a: float, da: float) -> None:
    p = np.full(len(x), 1.0 / len(x))
    assert float(cvar_weighted(x, p, a + da)) >= float(cvar_weighted(x, p, a)) - 1e-9


@given(
    arrays(np.float64, (4, 2, 8), elements=st.floats(0, 50, allow_nan=False)),
    arrays(np.float64, 2, elements=st.floats(0, 200, allow_nan=False)),
    arrays(np.float64, 2, elements=st.floats(0.5, 60, allow_nan=False)),
    st.integers(1, 8),
)
def test_greedy_release_totals_min_of_stock_and_releasable(
    gap: np.ndarray, stock: np.ndarray, cap: np.ndarray, life: int
) -> None:
    usable = np.array([life, 8])
    rel = greedy_release(gap, stock, cap, usable)
    sc = ScenarioSet.from_arrays(gap)
    a = sc.releasable(cap, usable)
    np.testing.assert_allclose(rel.sum(axis=2), np.minimum(stock[None, :], a), atol=1e-9)
    assert (rel <= gap + 1e-12).all() and (rel <= cap[None, :, None] + 1e-12).all()


def _instance(seed: int, s: int, m: int, t: int) -> tuple[ScenarioSet, list[dict]]:
    rng = np.random.default_rng(seed)
    gap = rng.uniform(0, 40, (s, m, t)) * (rng.random((s, m, t)) < 0.4)
    sc = ScenarioSet.from_arrays(gap, probability=rng.dirichlet(np.ones(s)))
    par = [
        {
            "material": f"m{i}",
            "price_eur_t": float(rng.uniform(500, 5000)),
            "shortage_cost_eur_t": float(rng.uniform(1e3, 2e4)),
            "release_cap_t_month": float(rng.uniform(5, 40)),
            "shelf_life_months": float(rng.integers(2, t + 3)),
            "holding_rate_yr": float(rng.uniform(0.01, 0.3)),
        }
        for i in range(m)
    ]
    return sc, par


@settings(max_examples=15, deadline=None)
@given(
    st.integers(0, 10_000),
    st.integers(2, 12),
    st.integers(1, 3),
    st.integers(2, 8),
    st.sampled_from(["expected", "cvar"]),
)
def test_aggregate_and_monthly_forms_agree(
    seed: int, s: int, m: int, t: int, objective: str
) -> None:
    sc, par = _instance(seed, s, m, t)
    kw = {"objective": objective, "alpha": 0.8, "budget_eur": 5e4}
    agg = optimize_stockpile(sc, par, formulation="aggregate", **kw)
    mon = optimize_stockpile(sc, par, formulation="monthly", **kw)
    assert agg.objective_eur == pytest.approx(mon.objective_eur, rel=1e-7, abs=1e-6)
    assert not any(n.startswith("check:") for n in agg.notes + mon.notes)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 10), st.integers(1, 3))
def test_lp_beats_any_stock_within_the_budget(seed: int, s: int, m: int) -> None:
    sc, par = _instance(seed, s, m, 6)
    budget = 4e4
    res = optimize_stockpile(sc, par, budget_eur=budget)
    rp = resolve_parameters(par, sc.materials)
    rng = np.random.default_rng(seed + 1)
    for _ in range(20):
        x = rng.uniform(0, 100, m)
        spend = float(rp.price @ x)
        if spend > budget:
            x *= budget / spend
        other = evaluate_stock(sc, rp, x).totals["objective_expected_eur"]
        assert res.objective_eur <= other + 1e-6 * max(1.0, other)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0, 200), st.floats(0, 200))
def test_more_stock_never_raises_shortfall(seed: int, x1: float, dx: float) -> None:
    sc, par = _instance(seed, 6, 2, 5)
    rp = resolve_parameters(par, sc.materials)
    a = evaluate_stock(sc, rp, [x1, x1]).shortfall_t
    b = evaluate_stock(sc, rp, [x1 + dx, x1 + dx]).shortfall_t
    assert (b <= a + 1e-9).all()
    assert (a <= sc.cumulative() + 1e-9).all()


@settings(max_examples=15, deadline=None)
@given(
    st.integers(0, 10_000),
    st.integers(2, 10),
    st.integers(1, 3),
    st.floats(0.0, 1.0),
    st.floats(0.01, 1.0),
)
def test_more_budget_never_raises_expected_shortfall_and_stock_stays_within_caps(
    seed: int, s: int, m: int, b1: float, db: float
) -> None:
    """Issue 13: a larger budget never raises the objective or the expected shortfall (t);
    every stock respects its purchase cap and the spend its budget."""
    sc, par = _instance(seed, s, m, 6)
    rng = np.random.default_rng(seed + 1)
    for p in par:
        p["max_purchase_t"] = float(rng.uniform(5, 150))
    full = optimize_stockpile(sc, par)
    top = float(full.totals["purchase_cost_eur"]) or 1.0
    low = optimize_stockpile(sc, par, budget_eur=b1 * top)
    high = optimize_stockpile(sc, par, budget_eur=min(b1 + db, 1.0) * top)
    assert high.objective_eur <= low.objective_eur * (1 + 1e-9) + 1e-6
    e_low = float(low.allocation["expected_shortfall_t_after"].sum())
    e_high = float(high.allocation["expected_shortfall_t_after"].sum())
    assert e_high <= e_low + 1e-6 * max(1.0, e_low)
    for res, budget in ((low, b1 * top), (high, min(b1 + db, 1.0) * top)):
        caps = np.array([p["max_purchase_t"] for p in par])
        assert (res.allocation["stock_t"].to_numpy() <= caps + 1e-7).all()
        assert (res.allocation["stock_t"].to_numpy() >= -1e-9).all()
        assert float(res.allocation["purchase_cost_eur"].sum()) <= budget * (1 + 1e-9) + 1e-6
