"""Levers on one scale, checked against hand-computed effects and costs.

Set-up: one material, 12 months, two equally likely scenarios: s0 without a gap, s1 with a
gap of 30 t/month in months 2-7 (180 t). Price 1,000 EUR/t, shortage cost 10,000 EUR/t,
demand 1,200 t/yr (100 t/month), default holding 5 %/yr = 50 EUR/t/yr.
"""

from __future__ import annotations

import numpy as np
import pytest

from critmat.optimize import (
    OptimizeError,
    ReshoringProject,
    ScenarioSet,
    apply_levers,
    evaluate_levers,
    evaluate_reshoring,
    evaluate_stock,
    resolve_parameters,
)
from critmat.optimize.levers import ramp_window

PAR = [
    {
        "material": "x",
        "price_eur_t": 1_000.0,
        "shortage_cost_eur_t": 10_000.0,
        "annual_demand_t": 1_200.0,
    }
]


def scen() -> ScenarioSet:
    g = np.zeros((2, 1, 12))
    g[1, 0, 2:8] = 30.0
    return ScenarioSet.from_arrays(g, materials=["x"])


LEVERS = [
    {"kind": "stock", "name": "stock 60 t", "material": "x", "stock_t": 60.0},
    {
        "kind": "partner",
        "name": "offtake",
        "material": "x",
        "capacity_t_yr": 120.0,
        "opex_premium_eur_t": 100.0,
    },
    {
        "kind": "substitution",
        "name": "substitute",
        "material": "x",
        "capacity_t_yr": 60.0,
        "lead_time_months": 1.0,
        "opex_premium_eur_t": 200.0,
    },
    {"kind": "restraint", "name": "restraint 10%", "material": "x", "share": 0.1},
    {
        "kind": "reshoring",
        "name": "refinery",
        "material": "x",
        "capacity_t_yr": 240.0,
        "lead_time_months": 3.0,
        "capex_eur": 1e6,
    },
]


def test_levers_ranked_by_shortfall_removed_per_million_euros() -> None:
    f = evaluate_levers(scen(), PAR, LEVERS, alpha=0.9).set_index("name")
    # substitution: 5 t/month from month 3 (first gap 2 + lead 1) to 7 -> 25 t in s1, E 12.5 t;
    # premium on the 25 t used: E 0.5 x 25 x 200 = 2,500 EUR -> 5,000 t per MEUR
    assert f.loc["substitute", "removed_t"] == pytest.approx(12.5)
    assert f.loc["substitute", "cost_eur"] == pytest.approx(2_500.0)
    assert f.loc["substitute", "shortfall_removed_t_per_meur"] == pytest.approx(5_000.0)
    # partner: 10 t/month all year, 60 t used in s1 (E 30 t); premium on 120 t = 12,000 EUR
    assert f.loc["offtake", "removed_t"] == pytest.approx(30.0)
    assert f.loc["offtake", "cost_eur"] == pytest.approx(12_000.0)
    # restraint: 10 % of 100 t/month during the 6 gap months = 60 t in s1; cost at the price
    assert f.loc["restraint 10%", "removed_t"] == pytest.approx(30.0)
    assert f.loc["restraint 10%", "cost_eur"] == pytest.approx(30_000.0)
    # stock: releases its 60 t in s1; purchase 60,000 + holding 3,000
    assert f.loc["stock 60 t", "removed_t"] == pytest.approx(30.0)
    assert f.loc["stock 60 t", "cost_eur"] == pytest.approx(63_000.0)
    assert f.loc["stock 60 t", "economic_cost_eur"] == pytest.approx(3_000.0)
    # reshoring: 20 t/month from month 3, 5 gap months -> 100 t in s1; capex 1 M EUR
    assert f.loc["refinery", "removed_t"] == pytest.approx(50.0)
    assert f.loc["refinery", "shortfall_removed_t_per_meur"] == pytest.approx(50.0)
    # CVaR90 is s1 itself (tail 0.1 inside p = 0.5): stock removes 60 t of it
    assert f.loc["stock 60 t", "cvar_removed_t"] == pytest.approx(60.0)
    order = list(f.sort_values("rank").index)
    assert order == ["substitute", "offtake", "restraint 10%", "stock 60 t", "refinery"]
    assert f["rank_in_material"].tolist() == f["rank"].tolist()
    assert f.loc["stock 60 t", "net_benefit_eur"] == pytest.approx(30 * 10_000 - 3_000)


def test_stock_lever_matches_the_exact_stock_score() -> None:
    sc = scen()
    f = evaluate_levers(sc, PAR, [LEVERS[0]]).iloc[0]
    out = evaluate_stock(sc, resolve_parameters(PAR, ["x"]), [60.0])
    assert f["expected_shortfall_t_after"] == pytest.approx(
        out.table["expected_shortfall_t_after"].iloc[0]
    )


def test_reshoring_uses_the_crma_permit_cap_by_default() -> None:
    projects = [
        ReshoringProject(
            name="mine", material="x", stage="extraction", capacity_t_yr=240.0, capex_eur=5e6
        ),
        ReshoringProject(
            name="plant",
            material="x",
            stage="processing",
            capacity_t_yr=600.0,
            capex_eur=5e6,
            permitting_months=0.0,
            construction_months=2.0,
            environmental_flag=True,
        ),
    ]
    f = evaluate_reshoring(scen(), PAR, projects).set_index("name")
    assert f.loc["mine", "permitting_months"] == 27.0  # CRMA cap for extraction
    assert "CRMA" in f.loc["mine", "permitting_basis"]
    assert f.loc["mine", "removed_t"] == 0.0  # comes after the 12-month horizon
    assert f.loc["mine", "benchmark_share"] == 0.10
    assert f.loc["plant", "benchmark_contribution"] == pytest.approx(0.5)  # 600 / 1,200 t
    assert f.loc["plant", "removed_t"] == pytest.approx(0.5 * 6 * 30.0)  # closes every gap
    assert f.loc["plant", "environmental_flag"]
    ex = evaluate_reshoring(scen(), PAR, projects, exclude_environmental=True).set_index("name")
    assert ex.loc["plant", "status"] == "excluded: environmental constraint"
    assert np.isnan(ex.loc["plant", "cost_eur"])


def test_apply_levers_then_optimise_what_is_left() -> None:
    sc = apply_levers(scen(), [LEVERS[1]], PAR)
    assert sc.gap_t[1, 0, 2:8].tolist() == [20.0] * 6
    assert "levers applied: offtake" in sc.notes[-1]


def test_lever_errors() -> None:
    with pytest.raises(OptimizeError, match="two levers are called 'a'"):
        evaluate_levers(
            scen(),
            PAR,
            [
                {"kind": "stock", "name": "a", "material": "x", "stock_t": 1},
                {"kind": "stock", "name": "a", "material": "x", "stock_t": 2},
            ],
        )
    no_demand = [{k: v for k, v in PAR[0].items() if k != "annual_demand_t"}]
    with pytest.raises(OptimizeError, match="needs the monthly demand"):
        evaluate_levers(scen(), no_demand, [LEVERS[3]])
    with pytest.raises(OptimizeError, match=r"invalid levers: levers\[0\].*kinds: stock"):
        evaluate_levers(scen(), PAR, [{"kind": "magic", "name": "m", "material": "x"}])
    with pytest.raises(OptimizeError, match=r"levers\[0.partner.capacity_t_yr\]"):
        evaluate_levers(scen(), PAR, [{"kind": "partner", "name": "p", "material": "x"}])


def test_ramp_window() -> None:
    assert ramp_window(4, 1.0, 2.0).tolist() == pytest.approx([0.0, 0.25, 0.75, 1.0])
    assert ramp_window(3, 0.5, 0.0).tolist() == pytest.approx([0.5, 1.0, 1.0])
    assert ramp_window(3, np.inf, 0.0).tolist() == [0.0, 0.0, 0.0]
