"""Reference policies and the efficient frontier on one scenario set."""

from __future__ import annotations

import numpy as np
import pytest

from critmat.optimize import (
    ScenarioSet,
    efficient_frontier,
    optimize_stockpile,
    reference_policies,
    resolve_parameters,
)
from critmat.optimize.policies import cover_stock, jogmec_stock, ramf_greedy

HAND = [
    {
        "material": "A",
        "price_eur_t": 10_000.0,
        "holding_cost_eur_t_yr": 1_000.0,
        "shortage_cost_eur_t": 50_000.0,
        "annual_demand_t": 1_200.0,
    },
    {
        "material": "B",
        "price_eur_t": 20_000.0,
        "holding_cost_eur_t_yr": 1_000.0,
        "shortage_cost_eur_t": 100_000.0,
        "annual_demand_t": 600.0,
    },
]


def hand() -> ScenarioSet:
    g = np.array([[0.0, 0.0], [100.0, 50.0], [200.0, 150.0]])
    return ScenarioSet.from_arrays(
        np.repeat(g[:, :, None] / 12.0, 12, axis=2),
        probability=[0.5, 0.3, 0.2],
        materials=["A", "B"],
    )


def test_tv5_jogmec_days_of_cover() -> None:
    # METHODS.md §6.5 TV5: 30,000 t/yr and 60 days -> 4,932 t
    assert float(jogmec_stock(30_000.0)) == pytest.approx(4931.5, abs=0.1)
    assert round(float(jogmec_stock(30_000.0))) == 4932
    assert float(cover_stock(1200.0, 3)) == 300.0


def test_reference_policies_side_by_side() -> None:
    sc = hand()
    opt = optimize_stockpile(sc, HAND, budget_eur=2.5e6)
    cmp = reference_policies(sc, HAND, optimum=opt, budget_eur=2.5e6, eu_reserve_months=[1])
    s = cmp.summary.set_index("policy")
    assert list(s.index) == [
        "no_stock",
        "jogmec_60d",
        "eu_reserve_1m",
        "ramf_greedy",
        "optimal_lp",
    ]
    assert s.loc["no_stock", "purchase_cost_eur"] == 0.0
    assert s.loc["no_stock", "expected_shortfall_t"] == pytest.approx(70.0 + 45.0)
    m = cmp.by_material.set_index(["policy", "material"])
    # JOGMEC: 60/365 of 1,200 t and of 600 t
    assert m.loc[("jogmec_60d", "A"), "stock_t"] == pytest.approx(1200 * 60 / 365)
    assert m.loc[("eu_reserve_1m", "B"), "stock_t"] == pytest.approx(50.0)
    assert m.loc[("eu_reserve_1m", "B"), "months_of_demand"] == pytest.approx(1.0)
    # the optimum is best among the policies within its budget (JOGMEC's 60 days cost
    # 3.9 M EUR here, above the 2.5 M budget); the greedy (expected cost, convex and
    # separable by material) matches it
    within = s[s["purchase_cost_eur"] <= 2.5e6 * (1 + 1e-9)]
    assert set(within.index) == {"no_stock", "eu_reserve_1m", "ramf_greedy", "optimal_lp"}
    best = within["objective_expected_eur"].min()
    assert s.loc["optimal_lp", "objective_expected_eur"] == pytest.approx(best)
    assert s.loc["ramf_greedy", "objective_expected_eur"] == pytest.approx(
        s.loc["optimal_lp", "objective_expected_eur"], rel=1e-9
    )
    assert (s["status"] == "ok").all()
    assert cmp.summary.attrs["critmat"]["method"] == "stockpile_reference_policies"


def test_policies_without_demand_say_so() -> None:
    par = [{k: v for k, v in p.items() if k != "annual_demand_t"} for p in HAND]
    par[1]["annual_demand_t"] = 600.0
    cmp = reference_policies(hand(), par)
    s = cmp.summary.set_index("policy")
    assert s.loc["jogmec_60d", "status"].startswith("partial: no stock for A")
    m = cmp.by_material.set_index(["policy", "material"])
    assert m.loc[("jogmec_60d", "A"), "status"] == "not applicable: annual_demand_t missing"


def test_greedy_converges_to_the_expected_lp() -> None:
    rng = np.random.default_rng(11)
    g = rng.uniform(0, 80, (60, 4, 6)) * (rng.random((60, 1, 1)) < 0.4)
    sc = ScenarioSet.from_arrays(g, materials=list("abcd"))
    par = [
        {
            "material": m,
            "price_eur_t": float(rng.uniform(1e3, 1e4)),
            "shortage_cost_eur_t": float(rng.uniform(2e4, 9e4)),
            "release_cap_t_month": 60.0,
        }
        for m in "abcd"
    ]
    budget = 1.5e6
    lp = optimize_stockpile(sc, par, budget_eur=budget)
    rp = resolve_parameters(par, sc.materials)
    coarse = ramf_greedy(sc, rp, budget_eur=budget, steps=5)
    fine = ramf_greedy(sc, rp, budget_eur=budget, steps=4000)
    from critmat.optimize import evaluate_stock

    def obj(x: np.ndarray) -> float:
        return evaluate_stock(sc, rp, x).totals["objective_expected_eur"]

    assert obj(fine) == pytest.approx(lp.objective_eur, rel=1e-4)
    assert obj(coarse) >= lp.objective_eur - 1e-6
    assert float(rp.price @ fine) <= budget * (1 + 1e-9)


def test_frontier_hand_case() -> None:
    f = efficient_frontier(hand(), HAND, budgets=[0, 1e6, 2e6, 2.5e6, 5e6, 6e6])
    p = f.points.set_index("budget_eur")
    # more money never hurts; 5 M buys everything (A 200 t, B 150 t), 6 M adds nothing
    assert np.all(np.diff(p["objective_eur"].to_numpy()) <= 1e-6)
    assert p.loc[2.5e6, "objective_eur"] == pytest.approx(2.675e6)
    assert p.loc[6e6, "spent_eur"] == pytest.approx(5e6)
    assert p.loc[6e6, "budget_shadow_price"] == pytest.approx(0.0)
    assert p.loc[2.5e6, "budget_shadow_price"] == pytest.approx(0.95)
    # B's first block (2.45 per euro) enters before A's (2.40): at 1 M only B is bought
    e = f.entry.set_index("material")
    assert e.loc["B", "order"] == 1 and e.loc["A", "order"] == 2
    assert e.loc["B", "enters_at_budget_eur"] == 1e6 and e.loc["A", "enters_at_budget_eur"] == 2e6
    per = f.materials.query("budget_eur == 1e6").set_index("material")["stock_t"]
    assert per.to_dict() == pytest.approx({"A": 0.0, "B": 50.0})


def test_frontier_default_grid_and_refined_entry() -> None:
    f = efficient_frontier(hand(), HAND, points=5, refine=True, refine_tol=1e-4)
    p = f.points
    assert p["budget_eur"].iloc[0] == 0.0 and p["budget_eur"].iloc[-1] == pytest.approx(5e6)
    e = f.entry.set_index("material")
    # A enters once B's first block (1.0 M EUR) is bought
    assert e.loc["A", "enters_at_budget_eur"] == pytest.approx(1e6, abs=5e6 * 1e-4 + 1)
    assert e.loc["B", "enters_at_budget_eur"] > 0


def test_frontier_under_cvar_is_monotone_and_matches_single_solves() -> None:
    budgets = [0.0, 1.3e6, 3.3e6, 4.7e6]  # away from breakpoints (duals unique)
    f = efficient_frontier(hand(), HAND, objective="cvar", alpha=0.9, budgets=budgets)
    obj = f.points["objective_eur"].to_numpy()
    assert np.all(np.diff(obj) <= 1e-6)
    one = optimize_stockpile(hand(), HAND, objective="cvar", alpha=0.9, budget_eur=3.3e6)
    assert obj[2] == pytest.approx(one.objective_eur, rel=1e-9)
    assert f.points["budget_shadow_price"].iloc[2] == pytest.approx(
        one.budget_shadow_price(), rel=1e-6
    )


def test_frontier_budget_below_the_required_cover() -> None:
    from critmat.optimize import OptimizeError

    with pytest.raises(OptimizeError, match="at least the cost of the required cover"):
        efficient_frontier(hand(), HAND, min_cover_months=1.0, budgets=[0.0, 5e6])
    f = efficient_frontier(hand(), HAND, min_cover_months=1.0, points=3)
    assert f.points["budget_eur"].iloc[0] == pytest.approx(100 * 10_000 + 50 * 20_000)
