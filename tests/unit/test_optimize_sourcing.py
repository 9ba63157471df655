"""Sourcing LP under the CRMA cap: METHODS.md §6.5 TV3 (both variants, exact), infeasibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmat.errors import DataValidationError, UnknownNameError
from critmat.optimize import (
    OptimizeError,
    SourcingInfeasibleError,
    SourcingOptions,
    evaluate_mix,
    optimize_sourcing,
    parse_group_caps,
)
from critmat.optimize.sourcing import available_share


def tv3(**extra: object) -> pd.DataFrame:
    """TV3: EU demand 100 kt; unit costs China 100, Chile 110, Australia 115, Canada 120;
    capacities Chile 20, Australia 30, Canada 25 kt (China unlimited); today all from China."""
    frame = pd.DataFrame(
        {
            "material": "x",
            "stage": "processing",
            "country": ["China", "Chile", "Australia", "Canada"],
            "capacity_t": [np.nan, 20_000.0, 30_000.0, 25_000.0],
            "unit_cost_eur_t": [100.0, 110.0, 115.0, 120.0],
            "disruption_prob": [0.10, 0.02, 0.01, 0.01],
            "current_t": [100_000.0, 0.0, 0.0, 0.0],
        }
    )
    for k, v in extra.items():
        frame[k] = v
    return frame


def test_tv3_least_cost_under_the_65_percent_cap() -> None:
    r = optimize_sourcing(tv3(), SourcingOptions(material="x", demand_t=100_000))
    a = r.allocation.set_index("country")
    assert a["allocation_t"].to_dict() == pytest.approx(
        {"China": 65_000.0, "Chile": 20_000.0, "Australia": 15_000.0, "Canada": 0.0}, abs=1e-6
    )
    assert a["share"]["China"] == pytest.approx(0.65)
    assert r.totals["cost_eur"] == pytest.approx(10_425_000.0)  # 10,425 per kt units
    assert r.totals["uncapped_cost_eur"] == pytest.approx(10_000_000.0)
    assert r.totals["cost_vs_uncapped_pct"] == pytest.approx(4.25)
    assert r.totals["hhi_after"] == pytest.approx(0.485)
    assert r.totals["hhi_before"] == pytest.approx(1.0)
    assert r.totals["china_share_before"] == 1.0 and r.totals["china_share_after"] == 0.65
    assert r.totals["cost_vs_current_pct"] == pytest.approx(4.25)
    assert "single-country cap 65%" in a.loc["China", "binding"]
    assert a.loc["Chile", "binding"] == "capacity"
    # one percentage point more cap moves 1,000 t from Australia (115) to China (100)
    sp = r.shadow_prices.set_index(["constraint", "name"])["value"]
    assert sp[("country_cap", "China")] == pytest.approx(15_000.0)
    assert sp[("demand", "x")] == pytest.approx(115.0)
    assert r.allocation.attrs["critmat"]["method"] == "sourcing_lp:least_cost"


def test_tv3_risk_adjusted_cap_slack() -> None:
    r = optimize_sourcing(
        tv3(), material="x", demand_t=100_000, objective="risk_adjusted", loss_eur_t=500
    )
    a = r.allocation.set_index("country")
    # effective costs 150, 120, 120, 125: Chile, Australia, Canada full, China the rest
    assert a["allocation_t"].to_dict() == pytest.approx(
        {"China": 25_000.0, "Chile": 20_000.0, "Australia": 30_000.0, "Canada": 25_000.0},
        abs=1e-6,
    )
    assert r.totals["risk_adjusted_cost_eur"] == pytest.approx(12_875_000.0)
    assert r.totals["cost_eur"] == pytest.approx(11_150_000.0)
    assert r.totals["max_third_country_share"] == pytest.approx(0.30)  # the cap is slack
    assert not a["binding"].str.contains("single-country").any()
    with pytest.raises(OptimizeError, match="needs loss_eur_t"):
        optimize_sourcing(tv3(), material="x", demand_t=1, objective="risk_adjusted")


def test_caps_that_cannot_be_met_name_the_binding_constraint() -> None:
    with pytest.raises(SourcingInfeasibleError) as info:
        optimize_sourcing(tv3(), material="x", demand_t=100_000, max_single_country=0.2)
    err = info.value
    assert err.max_supply_t == pytest.approx(80_000.0)
    assert "at most 80,000 t can be sourced" in str(err)
    assert "max single third-country share 20% (China at 20,000 t)" in str(err)
    assert err.code == "sourcing_infeasible" and err.to_dict()["max_supply_t"] == 80_000.0
    with pytest.raises(SourcingInfeasibleError, match=r"group cap adversary 10%.*capacity of"):
        optimize_sourcing(
            tv3(),
            material="x",
            demand_t=100_000,
            max_group={"adversary": 0.1},
            groups={"adversary": ["CHN", "RUS"]},
        )


def test_eu_members_are_not_capped_and_groups_bind() -> None:
    cand = pd.concat(
        [
            tv3(),
            pd.DataFrame(
                {
                    "material": ["x"],
                    "stage": ["processing"],
                    "country": ["DEU"],
                    "capacity_t": [80_000.0],
                    "unit_cost_eur_t": [105.0],
                }
            ),
        ],
        ignore_index=True,
    )
    r = optimize_sourcing(cand, material="x", demand_t=100_000, max_group={"China": 0.1})
    a = r.allocation.set_index("country")
    assert a.loc["DEU", "allocation_t"] == pytest.approx(80_000.0)  # above 65 %: EU member
    assert not a.loc["DEU", "third_country"]
    assert a.loc["China", "allocation_t"] == pytest.approx(10_000.0)
    assert "group cap China 10%" in a.loc["China", "binding"]


def test_lead_time_and_ramp_limit_capacity_within_a_horizon() -> None:
    assert available_share([0, 12, 6], [0, 0, 12], 24).tolist() == pytest.approx([1, 0.5, 0.5])
    cand = tv3(lead_time_months=[0, 12, 24, 24], ramp_months=[0, 0, 0, 0])
    # within 24 months Chile delivers half its 20 kt on average, Australia and Canada nothing
    with pytest.raises(SourcingInfeasibleError, match="capacity within the horizon"):
        optimize_sourcing(cand, material="x", demand_t=100_000, horizon_months=24)
    r = optimize_sourcing(cand, material="x", demand_t=100_000, horizon_months=48)
    a = r.allocation.set_index("country")
    assert a.loc["Chile", "available_t"] == pytest.approx(15_000.0)
    assert a.loc["Australia", "available_t"] == pytest.approx(15_000.0)


def test_input_errors() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'x'"):
        optimize_sourcing(tv3(), material="xx", demand_t=1)
    with pytest.raises(DataValidationError, match="unknown column 'capacity'"):
        renamed = tv3().rename(columns={"capacity_t": "capacity"})
        optimize_sourcing(renamed, material="x", demand_t=1)
    bad = tv3()
    bad.loc[1, "unit_cost_eur_t"] = -5.0
    with pytest.raises(DataValidationError, match=r"3:unit_cost_eur_t"):
        optimize_sourcing(bad, material="x", demand_t=1, file="c.csv")
    with pytest.raises(OptimizeError, match="NAME=SHARE"):
        parse_group_caps(["adversary"])
    assert parse_group_caps(["a=0.2", "CHN=65%", "b=30"]) == {"a": 0.2, "CHN": 0.65, "b": 0.3}


def test_indicator_hook_and_evaluate_mix() -> None:
    seen: list[pd.DataFrame] = []

    def hook(mix: pd.DataFrame) -> dict[str, float]:
        seen.append(mix)
        return {"top_share": float(mix["share"].max())}

    r = optimize_sourcing(tv3(), material="x", demand_t=100_000, indicators_hook=hook)
    assert r.totals["top_share_before"] == 1.0 and r.totals["top_share_after"] == 0.65
    assert list(seen[1].columns) == ["country", "allocation_t", "share"]
    m = evaluate_mix(
        r.allocation[["country", "allocation_t"]],
        unit_cost_eur_t={"China": 100, "Chile": 110, "Australia": 115, "Canada": 120},
    )
    assert m["cost_eur"] == pytest.approx(10_425_000.0)
    assert m["hhi"] == pytest.approx(0.485) and m["crma_cap_met"] == 1.0
    current = pd.DataFrame({"country": ["China"], "allocation_t": [100.0]})
    assert evaluate_mix(current)["crma_cap_met"] == 0.0
