"""Physical baseline of decisions (issue 13 item 1) and the kb.optimize accessor."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from critmat.knowledge_base import KnowledgeBase
from critmat.optimize.accessor import Optimize
from critmat.optimize.physical import DecisionInputError, decision_parameters, fx_rate
from critmat.vocab import DecisionInputStatus, PhysicalDemandStatus, PriceStatus


def test_tungsten_extraction_has_tonnes_and_a_cited_price(kb: KnowledgeBase) -> None:
    b = kb.optimize.baseline(materials="tungsten", stage="extraction")
    r = b.iloc[0]
    assert r["demand_status"] == PhysicalDemandStatus.APPARENT_CONSUMPTION
    assert r["annual_demand_t"] > 0
    assert r["price_status"] == PriceStatus.USGS
    # MCS 2026: 2024 is the latest actual year; WO3 concentrate, Rotterdam 25,200 USD/t
    assert int(r["price_year"]) == 2024 and int(r["eur_year"]) == 2024
    assert r["price_usd_t"] == pytest.approx(25_200.0)
    # ECB annual average 2024: 1.0824 USD per EUR (fx_rates, ecb_eurofxref)
    assert r["usd_per_eur"] == pytest.approx(1.0824)
    assert r["price_eur_t"] == pytest.approx(25_200.0 / 1.0824)
    assert r["fx_source"] == "ecb_eurofxref"
    assert "Rotterdam" in r["price_basis"] and r["status"] == DecisionInputStatus.OK
    assert "ecb_eurofxref" in b.attrs["critmat"]["sources"]


def test_missing_tonnes_and_prices_have_a_status_never_zero(kb: KnowledgeBase) -> None:
    b = kb.optimize.baseline(materials="gallium,neon", stage="processing").set_index("material")
    assert np.isnan(b.loc["gallium", "annual_demand_t"])
    assert b.loc["gallium", "demand_status"] == PhysicalDemandStatus.NO_TONNAGE_AT_STAGE
    assert b.loc["gallium", "status"] == DecisionInputStatus.NO_DEMAND
    assert np.isnan(b.loc["neon", "price_eur_t"])
    assert b.loc["neon", "price_status"] == PriceStatus.NO_PRICE
    assert b.loc["neon", "status"] == DecisionInputStatus.NO_DEMAND_NO_PRICE


def test_user_values_and_rate_override(kb: KnowledgeBase) -> None:
    b = kb.optimize.baseline(
        materials="gallium",
        stage="processing",
        annual_demand_t={"gallium": 55.0},
        usd_per_eur=1.25,
    ).iloc[0]
    assert b["annual_demand_t"] == 55.0 and b["demand_status"] == PhysicalDemandStatus.USER
    assert b["price_eur_t"] == pytest.approx(b["price_usd_t"] / 1.25)
    assert b["fx_source"].startswith("user")
    u = kb.optimize.baseline(materials="gallium", stage="processing", price_eur_t={"Ga": 1e5})
    assert u.iloc[0]["price_eur_t"] == 1e5 and u.iloc[0]["price_status"] == PriceStatus.USER


def test_price_year_and_fx(kb: KnowledgeBase) -> None:
    b = kb.optimize.baseline(materials="tungsten", stage="extraction", price_year=2022).iloc[0]
    rate, src = fx_rate(kb, 2022)
    assert int(b["price_year"]) == 2022 and b["usd_per_eur"] == rate and src == "ecb_eurofxref"
    with pytest.raises(DecisionInputError, match="no ECB USD/EUR annual rate for 1990"):
        fx_rate(kb, 1990)


def test_decision_stops_without_a_price(kb: KnowledgeBase) -> None:
    with pytest.raises(DecisionInputError, match=r"no price per tonne for neon \(no_price\)"):
        decision_parameters(kb, ["neon", "tungsten"])
    with pytest.raises(DecisionInputError, match="my_alloy"):
        decision_parameters(kb, ["my_alloy"])  # a user's own name: needs price_eur_t
    table, _ = decision_parameters(
        kb, ["my_alloy"], parameters=pd.DataFrame({"material": ["my_alloy"], "price_eur_t": [9.0]})
    )
    assert table.iloc[0]["price_eur_t"] == 9.0


def test_accessor_binds_the_functions(kb: KnowledgeBase) -> None:
    assert isinstance(kb.optimize, Optimize)
    for name in (
        "baseline",
        "stockpile",
        "frontier",
        "compare",
        "sourcing",
        "reshoring",
        "levers",
        "partners",
    ):
        func = vars(Optimize)[name].func
        bound = getattr(kb.optimize, name)
        assert next(iter(inspect.signature(func).parameters)) == "kb"
        assert (
            list(inspect.signature(bound).parameters)
            == list(inspect.signature(func).parameters)[1:]
        )
        assert bound.__doc__ == func.__doc__ and bound.__doc__


def test_stockpile_from_a_table_uses_kb_prices(kb: KnowledgeBase) -> None:
    gaps = pd.DataFrame(
        {
            "scenario": ["calm", "cut", "cut"],
            "probability": [0.8, 0.2, 0.2],
            "material": ["tungsten", "tungsten", "tungsten"],
            "month": [0, 0, 1],
            "gap_t": [0.0, 100.0, 100.0],
        }
    )
    res = kb.optimize.stockpile(
        scenarios=gaps, parameters=pd.DataFrame({"material": ["tungsten"], "priority_weight": [3]})
    )
    row = res.allocation.iloc[0]
    # newsvendor: P(gap > S) * w > h for every tonne up to the 200 t gap -> S = 200 t
    assert row["stock_t"] == pytest.approx(200.0)
    assert "USGS MCS 2026" in str(res.parameters.iloc[0]["price_source"])


def test_parameter_table_problems_are_reported(kb: KnowledgeBase, tmp_path: Path) -> None:
    from critmat.errors import DataValidationError

    gaps = pd.DataFrame(
        {
            "scenario": ["a"],
            "probability": [1.0],
            "material": ["tungsten"],
            "month": [0],
            "gap_t": [10.0],
        }
    )
    bad = tmp_path / "p.csv"
    bad.write_text("material,price_eur_t,holdng_cost_eur_t_yr\ntungsten,1e5,3\n", "utf-8")
    with pytest.raises(DataValidationError) as err:
        kb.optimize.stockpile(scenarios=gaps, parameters=bad)
    (p,) = err.value.problems
    assert p.column == "holdng_cost_eur_t_yr" and "holding_cost_eur_t_yr" in p.suggestions
    neg = pd.DataFrame({"material": ["tungsten"], "price_eur_t": [-5.0]})
    with pytest.raises(DataValidationError, match="greater than 0"):
        kb.optimize.stockpile(scenarios=gaps, parameters=neg)


def test_sourcing_from_the_data_respects_the_caps(kb: KnowledgeBase) -> None:
    from critmat.optimize.decide import data_candidates, governance_disruption_prob

    cand, notes = data_candidates(kb, material="graphite", stage="extraction", demand_t=1e5)
    assert (cand["capacity_t"] >= cand["current_t"] - 1e-9).all()
    assert cand["unit_cost_eur_t"].nunique() == 1  # the price for all: an assumption, said
    assert any("assumption" in n for n in notes)
    q = governance_disruption_prob(kb, ["CHN", "NOR", "XXX"])
    assert 0 < q[1] < q[0] <= 0.2 and q[2] == 0.1
    res = kb.optimize.sourcing(
        material="graphite",
        stage="extraction",
        demand_t=1e5,
        objective="risk_adjusted",
        loss_eur_t=5000,
        max_single_country=0.3,
    )
    alloc = res.allocation.set_index("country")["allocation_t"]
    assert alloc.sum() == pytest.approx(1e5)
    assert alloc["CHN"] <= 0.3e5 + 1e-6
    assert res.totals["china_share_after"] < res.totals["china_share_before"]
    assert np.isfinite(res.totals["eu_sr_after"]) and np.isfinite(res.totals["import_risk_after"])
