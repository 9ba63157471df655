"""The LP and the simulator agree (issue 13 item 3).

The engine's gaps before release (``ScenarioSet.from_engine``) go into the stockpile LP;
the optimal stock goes back into the engine as its initial stock (months of demand) with the
same release cap (share of monthly demand); the engine's mean cumulative shortfall in
tonnes must equal the LP's expected shortfall.

Stated tolerance: 1e-9 relative when shocks start on month boundaries (the engine then
releases exactly the LP's greedy amounts); with continuous onsets, 1 % of the expected
shortfall without stock: the engine scales the release cap of the onset month by the part
of the month after the onset, while the LP allows the full cap in every month with a gap.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from critmat.knowledge_base import KnowledgeBase
from critmat.optimize import ScenarioSet, optimize_stockpile
from critmat.scenarios.engine import ShockDraws, StaticInputs, simulate

DEMAND_T = np.array([40.0, 8.0, 120.0])  # t per month
MATERIALS = ["gallium", "germanium", "tungsten"]
PARAMS = [
    {
        "material": "gallium",
        "price_eur_t": 400_000.0,
        "priority_weight": 6.0,
        "release_cap_t_month": 20.0,
    },
    {
        "material": "germanium",
        "price_eur_t": 1_800_000.0,
        "priority_weight": 4.0,
        "release_cap_t_month": 4.0,
    },
    {"material": "tungsten", "price_eur_t": 40_000.0, "priority_weight": 3.0},
]


def inputs(integer_onsets: bool, n: int = 400) -> tuple[StaticInputs, ShockDraws]:
    rng = np.random.default_rng(2024)
    static = StaticInputs.simple(
        horizon=24,
        shock_weight=[[0.7, 0.5, 0.0], [0.0, 0.2, 0.8]],
    )
    onset = rng.integers(0, 10, (n, 2)) if integer_onsets else rng.uniform(0, 10, (n, 2))
    draws = ShockDraws(
        onset=onset.astype(np.float64),
        duration=rng.lognormal(np.log(8), 0.5, (n, 2)),
        severity=rng.uniform(0.5, 1.0, (n, 2)),
        leakage=rng.uniform(0.0, 0.2, (n, 2)),
        ramp=np.where(rng.random((n, 2)) < 0.5, 1.0, 0.0),
        occurs=rng.random((n, 2)) < 0.6,
    )
    return static, draws


def resimulate(static: StaticInputs, draws: ShockDraws, stock_t: np.ndarray) -> np.ndarray:
    caps = np.array([p.get("release_cap_t_month", np.inf) for p in PARAMS])
    st = replace(
        static,
        stock0=stock_t / DEMAND_T,
        release_cap=np.where(np.isfinite(caps), caps / DEMAND_T, 1e12),
    )
    out = simulate(st, draws)
    mean: np.ndarray = out["cum_shortfall"].mean(axis=0) * DEMAND_T
    return mean


@pytest.mark.parametrize(
    ("integer_onsets", "rel"), [(True, 1e-9), (False, 1e-2)], ids=["month-onsets", "continuous"]
)
def test_optimal_stock_through_the_engine(integer_onsets: bool, rel: float) -> None:
    static, draws = inputs(integer_onsets)
    sc = ScenarioSet.from_engine(static, draws, monthly_demand_t=DEMAND_T, materials=MATERIALS)
    free = optimize_stockpile(sc, PARAMS)
    budget = 0.6 * free.totals["purchase_cost_eur"]
    for objective in ("expected", "cvar"):
        res = optimize_stockpile(sc, PARAMS, budget_eur=budget, objective=objective)
        stock = res.stock.to_numpy()
        assert (stock > 0).sum() >= 2  # a real allocation, not a corner
        lp = res.allocation["expected_shortfall_t_after"].to_numpy()
        before = res.allocation["expected_shortfall_t_before"].to_numpy()
        sim = resimulate(static, draws, stock)
        assert np.all(np.abs(sim - lp) <= rel * before + 1e-9)
        if integer_onsets:
            np.testing.assert_allclose(sim, lp, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(
            resimulate(static, draws, np.zeros(3)), before, rtol=1e-12, atol=1e-9
        )
    # the demand travels with the scenario set: months of cover are filled in
    assert np.isfinite(res.allocation["months_of_demand"]).all()


def test_kb_decision_and_scenario_run_agree(kb: KnowledgeBase) -> None:
    """Through the faces: ``kb.optimize.stockpile(spec=...)`` then ``kb.scenarios.run`` of the
    same spec, draws and seed with the optimal stock as its stock policy (months of the
    baseline demand): the run's mean shortfall in tonnes is the LP's expected shortfall
    (shocks on month boundaries: tolerance 1e-6 relative)."""
    import copy

    spec = {
        "scenario": {
            "name": "agree",
            "horizon_months": 24,
            "materials": ["antimony", "graphite"],
            "shocks": [
                {
                    "name": "cut",
                    "exporter": ["CHN"],
                    "material": ["antimony", "graphite"],
                    "onset": 0,
                    "duration": {"dist": "uniform", "low": 3, "high": 18},
                    "severity": {"dist": "uniform", "low": 0.5, "high": 1.0},
                    "probability": 0.5,
                }
            ],
            "settings": {"antimony": {"stage": "extraction"}, "graphite": {"stage": "extraction"}},
        },
        "samples": 120,
        "seed": 4,
    }
    res = kb.optimize.stockpile(spec=spec, samples=120, seed=4, budget_eur=5e6)
    alloc = res.allocation.set_index("material")
    sc = res.inputs.scenarios
    assert (alloc["stock_t"] > 0).any()
    again = copy.deepcopy(spec)
    again["scenario"]["mitigations"] = {
        "stocks": [
            {"material": [m], "initial_months": float(alloc.loc[m, "stock_t"] / d)}
            for m, d in zip(sc.materials, sc.monthly_demand_t, strict=True)
        ]
    }
    run = kb.scenarios.run(again, samples=120, seed=4, progress=False)
    sim = run.summary.set_index("material")["shortfall_t_mean"]
    for m in sc.materials:
        lp = float(alloc.loc[m, "expected_shortfall_t_after"])
        assert float(sim[m]) == pytest.approx(lp, rel=1e-6, abs=1e-6), m
