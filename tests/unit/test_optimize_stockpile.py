"""Stockpile LP: METHODS.md §6.5 test vectors, a budget-coupled case worked by hand, duals.

TV1 and TV2 are the constructed vectors of METHODS.md §6.5 (answers exact for the stated
model); the two-material case below is worked out by hand in its docstring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmat.errors import InfeasibleError, UnknownNameError
from critmat.optimize import (
    OptimizeError,
    ScenarioSet,
    SolveStatus,
    build_model,
    evaluate_stock,
    optimize_stockpile,
    resolve_parameters,
    solve,
)

# ---------------------------------------------------------------- TV1 newsvendor (§6.5)


def tv1_scenarios(n: int = 2000) -> ScenarioSet:
    """D ~ Uniform(0, 1000) t if a disruption occurs (q = 0.05), discretised at the midpoints
    of n equal-probability cells; the remaining 0.95 is one scenario without a gap."""
    d = (np.arange(n) + 0.5) / n * 1000.0
    frame = pd.DataFrame(
        {
            "scenario": [f"d{i}" for i in range(n)],
            "probability": 0.05 / n,
            "material": "tv1",
            "month": 0,
            "gap_t": d,
        }
    )
    return ScenarioSet.from_frame(frame, horizon_months=12, missing_probability="no_gap")


TV1_PARAMS = [
    {
        "material": "tv1",
        "price_eur_t": 10_000.0,
        "holding_cost_eur_t_yr": 2_000.0,
        "shortage_cost_eur_t": 200_000.0,
    }
]


def test_tv1_newsvendor_critical_fractile() -> None:
    sc = tv1_scenarios()
    assert sc.n_scenarios == 2001 and sc.scenario_ids[-1] == "no_gap"
    res = optimize_stockpile(sc, TV1_PARAMS)
    assert res.status is SolveStatus.OPTIMAL
    row = res.allocation.iloc[0]
    # stated tolerance of the discretisation (2,000 cells of 0.5 t): S* within one cell,
    # E[(D - S*)+ | disruption] within 0.1 t, the cost within 0.1 %
    assert row["stock_t"] == pytest.approx(800.0, abs=0.5)
    assert row["expected_shortfall_t_after"] / 0.05 == pytest.approx(20.0, abs=0.1)
    assert res.objective_eur == pytest.approx(1.8e6, rel=1e-3)
    par = resolve_parameters(TV1_PARAMS, sc.materials)
    assert evaluate_stock(sc, par, [0.0]).totals["objective_expected_eur"] == pytest.approx(
        5.0e6, rel=1e-9
    )
    assert evaluate_stock(sc, par, [1000.0]).totals["objective_expected_eur"] == pytest.approx(
        2.0e6, rel=1e-9
    )


# ---------------------------------------------------------------- TV2 expected vs CVaR


def tv2_scenarios(spread: bool = True) -> ScenarioSet:
    d = np.array([0.0, 200.0, 500.0, 1000.0])
    gaps = np.repeat(d[:, None, None] / 12.0, 12, axis=2) if spread else d[:, None, None]
    return ScenarioSet.from_arrays(gaps, probability=[0.80, 0.10, 0.07, 0.03], materials=["x"])


TV2_PARAMS = [
    {
        "material": "x",
        "price_eur_t": 10_000.0,
        "holding_cost_eur_t_yr": 2_000.0,
        "shortage_cost_eur_t": 50_000.0,
    }
]


@pytest.mark.parametrize("formulation", ["aggregate", "monthly"])
def test_tv2_expected_and_cvar(formulation: str) -> None:
    sc = tv2_scenarios()
    res = optimize_stockpile(sc, TV2_PARAMS, formulation=formulation)
    assert res.stock["x"] == pytest.approx(500.0, abs=1e-6)
    assert res.objective_eur == pytest.approx(1.75e6, rel=1e-9)
    # CVaR95 of the loss at S = 500 is 16.0 M EUR (holding 1.0 M + CVaR of the shortage)
    assert res.totals["holding_cost_horizon_eur"] + res.totals[
        "cvar_loss_eur_after"
    ] == pytest.approx(16.0e6, rel=1e-9)
    cv = optimize_stockpile(sc, TV2_PARAMS, objective="cvar", alpha=0.95, formulation=formulation)
    assert cv.stock["x"] == pytest.approx(1000.0, abs=1e-6)
    assert cv.objective_eur == pytest.approx(2.0e6, rel=1e-9)
    assert cv.allocation["expected_shortfall_t_after"].iloc[0] == pytest.approx(0.0, abs=1e-9)


def test_tv2_one_month_gap_same_answer() -> None:
    res = optimize_stockpile(tv2_scenarios(spread=False), TV2_PARAMS, horizon_months=1)
    # with a one-month horizon the holding cost is 1/12 of the year: h' = 166.67 EUR/t,
    # the fractile h'/p = 0.0033 < 0.03 -> cover the worst case
    assert res.stock["x"] == pytest.approx(1000.0, abs=1e-6)


# ---------------------------------------------------------------- budget-coupled, by hand


HAND = [
    {
        "material": "A",
        "price_eur_t": 10_000.0,
        "holding_cost_eur_t_yr": 1_000.0,
        "shortage_cost_eur_t": 50_000.0,
    },
    {
        "material": "B",
        "price_eur_t": 20_000.0,
        "holding_cost_eur_t_yr": 1_000.0,
        "shortage_cost_eur_t": 100_000.0,
    },
]


def hand_scenarios() -> ScenarioSet:
    g = np.array([[0.0, 0.0], [100.0, 50.0], [200.0, 150.0]])  # t over the year
    return ScenarioSet.from_arrays(
        np.repeat(g[:, :, None] / 12.0, 12, axis=2),
        probability=[0.5, 0.3, 0.2],
        materials=["A", "B"],
        scenario_ids=["s1", "s2", "s3"],
    )


def test_budget_coupled_two_materials_worked_by_hand() -> None:
    """Scenarios s1, s2, s3 (p = 0.5, 0.3, 0.2): gaps A 0/100/200 t, B 0/50/150 t.

    Marginal value of a tonne, net of holding, per euro of price:
      A: 0-100 t  (50,000 x 0.5 - 1,000) / 10,000 = 2.40;  100-200 t (50,000 x 0.2 - 1,000)
         / 10,000 = 0.90
      B: 0-50 t   (100,000 x 0.5 - 1,000) / 20,000 = 2.45;  50-150 t (100,000 x 0.2 -
         1,000) / 20,000 = 0.95
    A budget of 2.5 M EUR buys B's first block (50 t, 1.0 M), A's first (100 t, 1.0 M) and
    25 t of B's second (0.5 M): A = 100 t, B = 75 t; the last euro earns 0.95 EUR.
    Objective: holding 175 x 1,000 = 175,000; expected shortage A 0.2 x 100 x 50,000 =
    1.0 M, B 0.2 x 75 x 100,000 = 1.5 M; total 2.675 M EUR.
    With B's purchase cap at 60 t: B = 60 t (1.2 M), A = 130 t (1.3 M); the budget's price is
    A's second block, 0.90; one more tonne of B's cap earns 19,000 - 0.90 x 20,000 = 1,000
    EUR. Objective 190,000 + 0.2 x 70 x 50,000 + 0.2 x 90 x 100,000 = 2.69 M EUR.
    """
    sc = hand_scenarios()
    res = optimize_stockpile(sc, HAND, budget_eur=2.5e6)
    assert res.stock.to_dict() == pytest.approx({"A": 100.0, "B": 75.0}, abs=1e-6)
    assert res.objective_eur == pytest.approx(2.675e6, rel=1e-9)
    assert res.budget_shadow_price() == pytest.approx(0.95, rel=1e-6)
    assert res.totals["purchase_cost_eur"] == pytest.approx(2.5e6, rel=1e-9)
    # purchase order: A removes 2.5 M of expected shortage cost for 1.0 M, B 3.0 M for 1.5 M
    assert res.allocation.set_index("material")["rank"].to_dict() == {"A": 1, "B": 2}

    capped = [dict(HAND[0]), {**HAND[1], "max_purchase_t": 60.0}]
    res = optimize_stockpile(sc, capped, budget_eur=2.5e6)
    assert res.stock.to_dict() == pytest.approx({"A": 130.0, "B": 60.0}, abs=1e-6)
    assert res.objective_eur == pytest.approx(2.69e6, rel=1e-9)
    sp = res.shadow_prices.set_index(["constraint", "material"])["value"]
    assert sp[("budget", "(all)")] == pytest.approx(0.90, rel=1e-6)
    assert sp[("purchase_cap", "B")] == pytest.approx(1000.0, rel=1e-6)


def test_unconstrained_hand_case_buys_full_gaps() -> None:
    res = optimize_stockpile(hand_scenarios(), HAND)
    assert res.stock.to_dict() == pytest.approx({"A": 200.0, "B": 150.0}, abs=1e-6)
    assert res.budget_shadow_price() == 0.0


def test_min_cover_and_its_dual() -> None:
    sc = hand_scenarios()
    par = [{**p, "annual_demand_t": 1200.0} for p in HAND]  # 100 t a month
    res = optimize_stockpile(sc, par, min_cover_months={"A": 2.5}, budget_eur=2.5e6)
    # A must hold 250 t (2.5 M EUR, the whole budget); B gets nothing
    assert res.stock.to_dict() == pytest.approx({"A": 250.0, "B": 0.0}, abs=1e-6)
    assert res.allocation.set_index("material")["months_of_demand"]["A"] == pytest.approx(2.5)
    cover = res.shadow_prices.query("constraint == 'min_cover'")
    assert list(cover["material"]) == ["A"] and float(cover["value"].iloc[0]) > 0


def test_cover_that_cannot_be_bought_names_the_constraint() -> None:
    sc = hand_scenarios()
    par = [{**p, "annual_demand_t": 1200.0} for p in HAND]
    with pytest.raises(InfeasibleError, match=r"min_cover and budget.*3,000,000 EUR"):
        optimize_stockpile(sc, par, min_cover_months=1.0, budget_eur=1e6)
    capped = [{**par[0], "max_purchase_t": 50.0}, par[1]]
    with pytest.raises(InfeasibleError, match=r"min_cover\[A\].*max_purchase_t is 50"):
        optimize_stockpile(sc, capped, min_cover_months=1.0)
    with pytest.raises(OptimizeError, match="needs annual_demand_t for A, B"):
        optimize_stockpile(sc, HAND, min_cover_months=1.0)


def test_release_cap_limits_what_a_stock_can_do() -> None:
    # one scenario (p = 0.5) with a 3-month gap of 100 t/month, release cap 40 t/month:
    # a stock can release at most 120 t, so buying more than 120 t is useless
    g = np.zeros((2, 1, 6))
    g[1, 0, 1:4] = 100.0
    sc = ScenarioSet.from_arrays(g, materials=["x"])
    par = [
        {
            "material": "x",
            "price_eur_t": 1_000.0,
            "holding_cost_eur_t_yr": 100.0,
            "shortage_cost_eur_t": 10_000.0,
            "release_cap_t_month": 40.0,
        }
    ]
    for form in ("aggregate", "monthly"):
        res = optimize_stockpile(sc, par, formulation=form)
        row = res.allocation.iloc[0]
        assert row["stock_t"] == pytest.approx(120.0, abs=1e-6)
        assert row["expected_shortfall_t_after"] == pytest.approx(0.5 * 180.0, abs=1e-6)


def test_shelf_life_writes_off_unused_stock() -> None:
    # gap of 100 t in month 8 with p = 0.5; shelf life 6 months: the stock is dead before it
    # is needed, and unused stock is written off -> buy nothing
    g = np.zeros((2, 1, 12))
    g[1, 0, 8] = 100.0
    sc = ScenarioSet.from_arrays(g, materials=["x"])
    base = {
        "material": "x",
        "price_eur_t": 1_000.0,
        "holding_cost_eur_t_yr": 100.0,
        "shortage_cost_eur_t": 10_000.0,
    }
    assert optimize_stockpile(sc, [base]).stock["x"] == pytest.approx(100.0)
    for form in ("aggregate", "monthly"):
        res = optimize_stockpile(sc, [{**base, "shelf_life_months": 6}], formulation=form)
        assert res.stock["x"] == pytest.approx(0.0, abs=1e-9)
    # gap in month 2 instead: released in time in the disrupted scenario, written off in the
    # other (p = 0.5): net value 0.5 x 10,000 - 0.5 x 1,000 - holding 50 > 0 -> buy 100 t
    g2 = np.zeros((2, 1, 12))
    g2[1, 0, 2] = 100.0
    sc2 = ScenarioSet.from_arrays(g2, materials=["x"])
    res = optimize_stockpile(sc2, [{**base, "shelf_life_months": 6}])
    assert res.stock["x"] == pytest.approx(100.0)
    assert res.allocation["expected_writeoff_eur"].iloc[0] == pytest.approx(0.5 * 100 * 1_000)
    # objective: holding 100 x 100 x 6/12 + write-off 50,000 = 55,000
    assert res.objective_eur == pytest.approx(55_000.0, rel=1e-9)


def test_user_constraint_on_the_built_model() -> None:
    sc = hand_scenarios()
    model = build_model(sc, HAND)
    stock = model.variables["stock"]
    model.add_constraints(stock.loc[["B"]] <= 10.0, name="user_cap")
    res = solve(model)
    assert res.stock["B"] == pytest.approx(10.0, abs=1e-6)
    assert res.stock["A"] == pytest.approx(200.0, abs=1e-6)
    assert res.model is model and "user_cap" in model.constraints


def test_non_optimal_status_raises_or_is_returned() -> None:
    sc = hand_scenarios()
    model = build_model(sc, HAND)
    stock = model.variables["stock"]
    model.add_constraints(stock.loc[["A"]] >= 10.0, name="low")
    model.add_constraints(stock.loc[["A"]] <= 5.0, name="high")
    with pytest.raises(InfeasibleError, match="constraint added to the model"):
        solve(model)
    res = solve(model, on_failure="return")
    assert res.status in (SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE_OR_UNBOUNDED)
    assert not res.ok
    assert set(res.allocation["status"]) == {str(res.status)}
    # no solution: the figures after purchase are unknown (NaN), never a silent 0
    assert res.allocation["stock_t"].isna().all()
    assert res.allocation["expected_shortfall_t_after"].isna().all()
    assert res.allocation["expected_shortfall_t_before"].notna().all()
    with pytest.raises(InfeasibleError):
        res.raise_for_status()


def test_status_enum_maps_linopy_conditions() -> None:
    assert SolveStatus.from_linopy("optimal") is SolveStatus.OPTIMAL
    assert SolveStatus.from_linopy("time_limit") is SolveStatus.TIME_LIMIT
    assert SolveStatus.from_linopy("infeasible_or_unbounded") is (
        SolveStatus.INFEASIBLE_OR_UNBOUNDED
    )
    assert SolveStatus.from_linopy("something new") is SolveStatus.UNKNOWN
    assert str(SolveStatus.OPTIMAL) == "optimal"


def test_bad_options_are_input_errors() -> None:
    with pytest.raises(OptimizeError, match=r"invalid stockpile options: alpha.*got 1\.5"):
        optimize_stockpile(hand_scenarios(), HAND, objective="cvar", alpha=1.5)
    with pytest.raises(OptimizeError, match="objective"):
        optimize_stockpile(hand_scenarios(), HAND, objective="mean")


def test_missing_parameters_name_the_material() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown material 'B'.*price_eur_t"):
        optimize_stockpile(hand_scenarios(), HAND[:1])


def test_result_columns_and_provenance() -> None:
    res = optimize_stockpile(hand_scenarios(), HAND, objective="cvar", alpha=0.9)
    cols = {
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
        "status",
    }
    assert cols <= set(res.allocation.columns)
    prov = res.allocation.attrs["critmat"]
    assert prov["method"] == "stockpile_lp"
    assert prov["parameters"]["objective"] == "cvar"
    assert prov["parameters"]["alpha"] == 0.9
    assert prov["units"]["stock_t"] == "t"
    assert res.report.solver == "highs" and res.report.n_variables > 0
    # months of demand unknown without annual demand: NaN, never 0
    assert res.allocation["months_of_demand"].isna().all()


def test_default_costs_are_labelled() -> None:
    par = resolve_parameters([{"material": "A", "price_eur_t": 1000.0}], ["A"])
    assert par.holding_yr[0] == pytest.approx(50.0)
    assert par.shortage[0] == pytest.approx(1000.0)
    assert "assumption" in str(par.table["holding_cost_basis"].iloc[0])
    assert "RAMF-SM" in str(par.table["shortage_cost_basis"].iloc[0])
    only_a = hand_scenarios().select(["A"])
    res = optimize_stockpile(only_a, [{"material": "A", "price_eur_t": 1e4}])
    assert any("holding_cost: default" in n for n in res.notes)


def test_each_cvar_scope_is_optimal_for_its_own_objective() -> None:
    rng = np.random.default_rng(5)
    g = rng.uniform(0, 100, (40, 3, 1)) * (rng.random((40, 3, 1)) < 0.3)
    sc = ScenarioSet.from_arrays(g, materials=["a", "b", "c"])
    par = [
        {"material": m, "price_eur_t": 1000.0, "holding_cost_eur_t_yr": 2000.0 * (i + 1),
         "shortage_cost_eur_t": 20_000.0}
        for i, m in enumerate(("a", "b", "c"))
    ]  # fmt: skip
    port = optimize_stockpile(sc, par, objective="cvar", alpha=0.9, horizon_months=1)
    mat = optimize_stockpile(
        sc, par, objective="cvar", alpha=0.9, cvar_scope="material", horizon_months=1
    )
    assert port.totals["objective_cvar_eur"] <= mat.totals["objective_cvar_eur"] + 1e-6
    assert mat.totals["objective_cvar_material_eur"] <= (
        port.totals["objective_cvar_material_eur"] + 1e-6
    )
    # the sum of per-material CVaRs bounds the portfolio CVaR from above (subadditivity)
    assert port.totals["objective_cvar_eur"] <= port.totals["objective_cvar_material_eur"] + 1e-6


def test_solving_prints_nothing(tmp_path: object) -> None:
    """HiGHS prints a banner to stdout once per process; critmat swallows it (JSON faces)."""
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from critmat.optimize import ScenarioSet, optimize_stockpile\n"
        "sc = ScenarioSet.from_arrays(np.array([[[0.0]], [[10.0]]]), materials=['x'])\n"
        "r = optimize_stockpile(sc, [{'material': 'x', 'price_eur_t': 1.0,"
        " 'shortage_cost_eur_t': 5.0}])\n"
        "import json; print(json.dumps({'stock': float(r.stock['x'])}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert proc.stdout.strip() == '{"stock": 10.0}'
