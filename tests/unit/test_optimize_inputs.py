"""Inputs of the decision models: the scenario table, the engine bridge, material parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from critmat.errors import DataValidationError
from critmat.optimize import (
    OptimizeError,
    ScenarioSet,
    optimize_stockpile,
    parse_parameters,
    read_parameters,
    read_scenario_table,
    resolve_parameters,
)
from critmat.scenarios.engine import ShockDraws, StaticInputs, simulate


def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scenario": ["a", "a", "b", "c"],
            "probability": [0.5, 0.5, 0.3, 0.2],
            "material": ["ga", "ge", "ga", "ga"],
            "month": [0, 2, 1, 1],
            "gap_t": [10.0, 4.0, 7.0, 0.0],
        }
    )


def test_table_round_trip() -> None:
    sc = ScenarioSet.from_frame(table())
    assert sc.materials == ("ga", "ge") and sc.horizon == 3 and sc.n_scenarios == 3
    assert sc.probability.tolist() == [0.5, 0.3, 0.2]
    assert sc.gap_t[0, 1, 2] == 4.0 and sc.gap_t[1, 0, 1] == 7.0
    back = ScenarioSet.from_frame(sc.to_frame(), horizon_months=3)
    np.testing.assert_array_equal(back.gap_t, sc.gap_t)
    np.testing.assert_allclose(back.probability, sc.probability)
    assert back.scenario_ids == sc.scenario_ids  # c (no positive gap) keeps a zero row


def test_every_problem_is_reported_with_its_row() -> None:
    bad = table().astype({"month": object, "probability": object})
    bad.loc[0, "gap_t"] = -1.0
    bad.loc[2, "month"] = 1.5
    bad.loc[3, "probability"] = "x"
    with pytest.raises(DataValidationError) as info:
        ScenarioSet.from_frame(bad, file="gaps.csv")
    text = str(info.value)
    assert "gaps.csv:2:gap_t: negative gap" in text
    assert "gaps.csv:4:month: month is not a whole number" in text
    assert "gaps.csv:5:probability: not a finite number" in text
    two = table()
    two.loc[1, "probability"] = 0.4
    with pytest.raises(DataValidationError, match="scenario 'a' has different probabilities"):
        ScenarioSet.from_frame(two)


def test_probabilities_must_sum_to_one_or_be_completed() -> None:
    t = table()
    t["probability"] = t["probability"] / 2
    with pytest.raises(DataValidationError, match=r"sum to 0\.5.*missing_probability='no_gap'"):
        ScenarioSet.from_frame(t)
    sc = ScenarioSet.from_frame(t, missing_probability="no_gap")
    assert sc.scenario_ids[-1] == "no_gap" and sc.probability[-1] == pytest.approx(0.5)
    assert sc.gap_t[-1].sum() == 0 and "no_gap" in sc.notes[0]


def test_duplicates_missing_columns_and_horizon() -> None:
    t = pd.concat([table(), table().iloc[[0]]], ignore_index=True)
    with pytest.raises(DataValidationError, match="repeated scenario, material and month"):
        ScenarioSet.from_frame(t)
    with pytest.raises(DataValidationError, match="missing column 'gap_t'"):
        ScenarioSet.from_frame(table().drop(columns="gap_t"))
    with pytest.raises(DataValidationError, match="month beyond the horizon of 2 months"):
        ScenarioSet.from_frame(table(), horizon_months=2)


def test_read_csv_and_parquet(tmp_path: Path) -> None:
    csv = tmp_path / "gaps.csv"
    table().to_csv(csv, index=False)
    pq = tmp_path / "gaps.parquet"
    table().to_parquet(pq)
    a, b = read_scenario_table(csv), read_scenario_table(pq)
    np.testing.assert_array_equal(a.gap_t, b.gap_t)
    assert a.source == "table:gaps.csv"
    with pytest.raises(DataValidationError, match="file not found"):
        read_scenario_table(tmp_path / "nope.csv")
    (tmp_path / "broken.parquet").write_text("not parquet")
    with pytest.raises(DataValidationError, match="cannot read the file"):
        read_scenario_table(tmp_path / "broken.parquet")


def test_end_to_end_from_files(tmp_path: Path) -> None:
    """The CLI's path: a scenario CSV and a parameter CSV on disk -> optimal stock."""
    gaps = tmp_path / "gaps.csv"
    table().to_csv(gaps, index=False)
    params = tmp_path / "materials.csv"
    pd.DataFrame(
        {
            "material": ["ga", "ge"],
            "price_eur_t": [300_000.0, 1_500_000.0],
            "priority_weight": [20.0, 20.0],
            "annual_demand_t": [60.0, 24.0],
            "price_source": ["usgs_mcs2026", "usgs_mcs2026"],
        }
    ).to_csv(params, index=False)
    res = optimize_stockpile(read_scenario_table(gaps), read_parameters(params), horizon_months=3)
    a = res.allocation.set_index("material")
    # ga: gaps 10 (p 0.5), 7 (p 0.3): worth covering both at weight 20 -> 10 t; ge: 4 t
    assert a["stock_t"].to_dict() == pytest.approx({"ga": 10.0, "ge": 4.0}, abs=1e-6)
    assert a.loc["ga", "months_of_demand"] == pytest.approx(2.0)
    assert res.allocation.attrs["critmat"]["sources"] == ["usgs_mcs2026"]


def test_parameter_table_errors() -> None:
    with pytest.raises(DataValidationError) as info:
        parse_parameters(
            pd.DataFrame(
                {
                    "material": ["a", "b", "a"],
                    "price_eur_t": [-1.0, np.nan, 5.0],
                    "holding_rate_yr": [0.05, 2.0, 0.05],
                }
            ),
            file="m.csv",
        )
    text = str(info.value)
    assert "m.csv:2:price_eur_t" in text  # negative price
    assert "m.csv:3:price_eur_t" in text  # missing price
    assert "m.csv:3:holding_rate_yr" in text  # above 1
    with pytest.raises(DataValidationError, match=r"unknown column 'prize_eur_t'.*price_eur_t"):
        parse_parameters(pd.DataFrame({"material": ["a"], "prize_eur_t": [1.0]}))
    with pytest.raises(DataValidationError, match="given twice"):
        parse_parameters([{"material": "a", "price_eur_t": 1}, {"material": "a", "price_eur_t": 2}])


def test_parameters_accept_a_mapping_and_fill_defaults() -> None:
    par = resolve_parameters({"a": {"price_eur_t": 200.0, "priority_weight": 3}}, ["a"])
    assert par.shortage[0] == 600.0 and par.holding_yr[0] == 10.0
    assert np.isinf(par.max_purchase[0]) and np.isinf(par.release_cap[0])
    assert par.table["shortage_cost_basis"].iloc[0].startswith("default: priority_weight 3")


def _engine_inputs() -> tuple[StaticInputs, ShockDraws]:
    st = StaticInputs.simple(horizon=12, shock_weight=[[0.6, 0.3]])
    rng = np.random.default_rng(0)
    draws = ShockDraws.fixed(
        50,
        onset=rng.integers(0, 4, (50, 1)),
        duration=rng.uniform(1, 10, (50, 1)),
        severity=rng.uniform(0.5, 1.0, (50, 1)),
    )
    return st, draws


def test_from_engine_converts_shares_to_tonnes() -> None:
    st, draws = _engine_inputs()
    demand = np.array([10.0, 2.0])  # t per month
    sc = ScenarioSet.from_engine(st, draws, monthly_demand_t=demand, materials=["ga", "ge"])
    gap = simulate(st, draws, detail=True)["gap"]
    np.testing.assert_allclose(sc.gap_t, gap * demand[None, :, None])
    assert sc.probability.sum() == pytest.approx(1.0) and sc.source == "engine"
    with pytest.raises(OptimizeError, match="no baseline demand in tonnes for ge"):
        ScenarioSet.from_engine(st, draws, monthly_demand_t=[10.0, np.nan], materials=["ga", "ge"])


def test_select_truncate_and_names() -> None:
    sc = ScenarioSet.from_frame(table())
    assert sc.select(["ge"]).gap_t.shape == (3, 1, 3)
    assert sc.truncate(2).horizon == 2
    with pytest.raises(OptimizeError, match="outside the scenario set's 1 to 3 months"):
        sc.truncate(4)
    with pytest.raises(KeyError, match="did you mean 'ga'"):
        sc.index("gaa")


def test_from_plan_on_the_knowledge_base(kb: object) -> None:
    """A scenario spec on the knowledge base -> gaps in tonnes -> a stock decision."""
    from critmat.scenarios.plan import validate

    spec = {
        "scenario": {
            "name": "ga cut",
            "horizon_months": 24,
            "shocks": [
                {
                    "exporter": "CHN",
                    "material": ["gallium", "germanium"],
                    "onset": 2,
                    "duration": {"dist": "uniform", "low": 3, "high": 12},
                    "severity": {"dist": "uniform", "low": 0.5, "high": 1.0},
                }
            ],
            "settings": {"gallium": {"annual_demand_t": 60.0}},
        },
        "samples": 40,
        "seed": 3,
    }
    plan = validate(kb, spec)
    demand = dict(zip(plan.materials, plan.baseline.annual_demand_t, strict=True))
    if not np.isfinite(demand["germanium"]):
        with pytest.raises(OptimizeError, match="not known for germanium"):
            ScenarioSet.from_plan(plan)
    sc = ScenarioSet.from_plan(plan, drop_missing_tonnes=True)
    assert "gallium" in sc.materials and sc.n_scenarios == 40 and sc.horizon == 24
    assert sc.source == "plan:ga cut"
    g = sc.index("gallium")
    assert sc.monthly_demand_t[g] == pytest.approx(5.0)
    assert sc.gap_t[:, g, :2].max() == 0.0  # nothing before the onset
    assert sc.gap_t[:, g, :].sum() > 0
    res = optimize_stockpile(
        sc, [{"material": m, "price_eur_t": 500_000.0, "priority_weight": 5} for m in sc.materials]
    )
    assert res.ok and np.isfinite(res.allocation["months_of_demand"]).all()
