"""Defence methods on constructed inputs (arithmetic checks, not data) and on the kb."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmat.defence.bom import annual_demand, read_bom
from critmat.defence.capability import served_share, simulate_builds
from critmat.defence.common import worst_kind
from critmat.defence.energy import allocate_shortfall, end_use_groups
from critmat.defence.exposure import supplier_exposure, supply_mix
from critmat.errors import DataValidationError
from critmat.knowledge_base import KnowledgeBase
from critmat.params import ParameterError


def _bom(rows: list[tuple[str, str, str, float]], kind: str = "user") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "system": [r[0] for r in rows],
            "component": [r[1] for r in rows],
            "material": [r[2] for r in rows],
            "kg_per_unit": [r[3] for r in rows],
            "kind": kind,
            "substitutable_share": 0.0,
            "source_id": "t",
        }
    )


def _rates(rows: list[tuple[str, str, float]], kind: str = "user") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "programme": [r[0] for r in rows],
            "system": [r[1] for r in rows],
            "units_per_year": [r[2] for r in rows],
            "priority": 1.0,
            "kind": kind,
            "source_id": "r",
        }
    )


def test_annual_demand_sums_components_and_flags_gaps() -> None:
    bom = _bom(
        [
            ("M", "fin", "samarium", 0.5),
            ("M", "seeker", "samarium", 0.25),
            ("M", "seeker", "gallium", 0.01),
            ("X", "c", "tungsten", 3.0),
        ]
    )
    d = annual_demand(bom, _rates([("P", "M", 400.0), ("P", "Y", 10.0)], kind="assumption"))
    d = d.set_index(["system", "material"])
    assert d.loc[("M", "samarium"), "demand_t"] == pytest.approx(0.3)  # 400 x 0.75 kg
    assert d.loc[("M", "gallium"), "kind"] == "assumption"
    assert bool(d.loc[("M", "gallium"), "rests_on_assumption"])
    assert d.loc[("X", "tungsten"), "status"] == "no_build_rate"
    assert np.isnan(d.loc[("X", "tungsten"), "demand_t"])
    assert d.xs("Y", level="system")["status"].tolist() == ["no_bom"]


def test_worst_kind() -> None:
    a = pd.Series(["published", "derived", None])
    b = pd.Series(["assumption", "published", "user"])
    assert worst_kind(a, b).tolist() == ["assumption", "derived", "user"]


def test_supply_mix_fallback_and_proxy() -> None:
    shares = pd.DataFrame(
        {
            "material": ["neodymium", "neodymium", "gallium"],
            "stage": ["processing"] * 3,
            "mix": ["eu_sourcing", "global", "global"],
            "country": ["CHN", "CHN", "CHN"],
            "share": [0.9, 0.85, 0.98],
        }
    )
    m = supply_mix(shares, ["rare_earths", "gallium"], stages=("processing",))
    m = m.set_index("material")
    assert m.loc["rare_earths", "proxy"] == "neodymium"
    assert m.loc["rare_earths", "mix_used"] == "eu_sourcing"
    assert m.loc["gallium", "mix_used"] == "global"  # no EU sourcing shares: fallback
    with pytest.raises(ParameterError, match="mix must be one of"):
        supply_mix(shares, ["gallium"], mix="eu")


def test_supplier_exposure_arithmetic() -> None:
    demand = pd.DataFrame(
        {
            "programme": ["P"],
            "system": ["S"],
            "material": ["m"],
            "demand_t_per_year": [10.0],
            "kind": ["user"],
            "rests_on_assumption": [False],
        }
    )
    mix = pd.DataFrame(
        {
            "material": ["m", "m"],
            "stage": ["processing"] * 2,
            "country": ["CHN", "MYS"],
            "share": [0.8, 0.2],
            "mix_used": "eu_sourcing",
            "proxy": None,
        }
    )
    e = supplier_exposure(demand, mix, pd.Series({"m": 0.1}))
    assert e["exposed_t"].tolist() == pytest.approx([7.2, 1.8])  # 10 x 0.9 x share


def test_served_share_and_builds() -> None:
    assert served_share(np.array([0.0, 0.4, 1.0])).tolist() == pytest.approx([1, 0.6, 0])
    # defence first: 40 % lost, defence is 10 % of demand -> fully served
    assert served_share(np.array([0.4]), np.array([0.1])).tolist() == [1.0]
    assert served_share(np.array([0.95]), np.array([0.1])).tolist() == pytest.approx([0.5])
    uses = np.array([[True, True], [False, True]])
    lost, lim = simulate_builds(uses, np.array([10.0, 4.0]), np.array([0.5, 0.8]), 3)
    assert lost[:, 0].tolist() == pytest.approx([5.0, 0.8])  # scarcest material binds
    assert lim[:, 0].tolist() == [0, 1]
    # a stock of 1 month covers the first month's gap of the first material
    lost_s, _ = simulate_builds(
        uses, np.array([10.0, 4.0]), np.array([0.5, 0.8]), 3, stock_months=np.array([1.0, 0.0])
    )
    assert lost_s[0].tolist() == pytest.approx([2.0, 2.0, 5.0])
    sub = np.array([[1.0, 1.0], [0.0, 0.5]])
    lost_m, _ = simulate_builds(
        uses, np.array([10.0, 4.0]), np.array([0.5, 0.8]), 3, substitutable=sub, substitution_lead=1
    )
    assert lost_m[0].tolist() == pytest.approx([5.0, 0.0, 0.0])
    assert lost_m[1].tolist() == pytest.approx([0.8, 0.4, 0.4])


def test_allocate_shortfall_rules() -> None:
    dem = pd.DataFrame(
        {
            "material": ["x"] * 3,
            "sector": ["defence", "energy_transition", "other"],
            "demand": [0.2, 0.3, 0.5],
        }
    )
    avail = pd.Series({"x": 0.4})
    first = allocate_shortfall(dem, avail, rule="defence_first").set_index("sector")
    assert first["served"].tolist() == pytest.approx([0.2, 0.2, 0.0])
    energy = allocate_shortfall(dem, avail, rule="energy_first").set_index("sector")
    assert energy.loc["defence", "served"] == pytest.approx(0.1)
    assert energy.loc["energy_transition", "served"] == pytest.approx(0.3)
    pro = allocate_shortfall(dem, avail, rule="pro_rata")
    assert pro["served_share"].tolist() == pytest.approx([0.4] * 3)
    with pytest.raises(ParameterError, match="rule must be one of"):
        allocate_shortfall(dem, avail, rule="first_come")


def test_end_use_groups_on_eu_2023(kb: KnowledgeBase) -> None:
    g = end_use_groups(kb.table("eu_crm_2023_end_use")).set_index("material")
    # EU 2023 study, Appendix 6: gallium CIGS solar cells 5 %; cobalt batteries 3 % and
    # superalloys 36 %; neodymium magnets 80 %; beryllium aerospace and defence 17 %
    assert g.loc["gallium", "energy_transition_share"] == pytest.approx(0.05)
    assert g.loc["cobalt", "energy_transition_share"] == pytest.approx(0.03)
    assert g.loc["cobalt", "aerospace_defence_share"] == pytest.approx(0.36)
    assert g.loc["neodymium", "magnets_share"] == pytest.approx(0.80)
    assert g.loc["beryllium", "aerospace_defence_share"] == pytest.approx(0.17)
    assert g.loc["antimony", "energy_transition_share"] == 0  # lead-acid is not transition


def test_read_bom_validates_frames_without_writing(kb: KnowledgeBase) -> None:
    good = pd.DataFrame({"system": ["S"], "material": ["Ga"], "kg_per_unit": [0.2]})
    b = read_bom(kb, good)
    assert b["material"].tolist() == ["gallium"] and b["kind"].tolist() == ["user"]
    assert b["component"].tolist() == ["all components"]
    bad = pd.DataFrame(
        {"system": ["S", "S"], "material": ["galium", "tungsten"], "kg_per_unit": [0.2, -1.0]}
    )
    with pytest.raises(DataValidationError) as exc:
        read_bom(kb, bad)
    text = str(exc.value)
    assert "galium" in text and "gallium" in text and len(exc.value.problems) == 2


def test_importance_and_criticality(kb: KnowledgeBase) -> None:
    di = kb.defence.importance().set_index("material")
    # beryllium, by hand: weapon systems (essential 1.0 x no substitute 1.0, USGS FS
    # 2016-3081) + nuclear weapons (essential 1.0 x EU SI_EI 0.99, DOE IG-0583) +
    # electro-optics (important 0.6 x possible 0.7, USGS MCS 1996): B = 2.41
    assert di.loc["beryllium", "breadth"] == pytest.approx(1.0 + 0.99 + 0.42)
    assert di.loc["beryllium", "defence_importance"] == pytest.approx(10 * 2.41 / 4.41)
    # a second citation of the same class adds nothing: platinum has two aircraft rows
    assert di.loc["platinum", "class_weights"].count("military aircraft") == 1
    assert di.loc["gallium", "substitutability"] == "none"
    assert di.loc["tungsten", "substitutability"] == "possible"
    assert di.loc["rare_earths", "n_system_classes"] >= 10
    assert bool(di.loc["lree", "is_aggregate"]) and not bool(di.loc["rare_earths", "is_aggregate"])
    crit = kb.defence.criticality()
    ranked = crit["rank"].dropna().astype(int).tolist()
    assert ranked == list(range(1, len(ranked) + 1))
    assert set(crit.loc[crit["rank"].isna(), "material"]) == {"lree", "hree", "pgm"}
    top = crit.set_index("material")
    assert top.loc["rare_earths", "category"] == "critical"
    assert top.loc["rare_earths", "proxy"] == "neodymium"
    # a defence planner expects NATO's 12 near the top of the ranking
    nato = crit[crit["nato_2024"].astype(bool)]
    assert nato["rank"].median() <= len(crit) / 2
    with pytest.raises(ParameterError, match="no published threshold"):
        kb.defence.criticality(supply_risk="geopolrisk")
    doe = kb.defence.criticality(
        scheme="doe", cutoffs={"importance": (1.4, 2.8, 5.6), "supply_risk": (0.5, 1.0, 2.0)}
    )
    assert {"importance_level", "supply_risk_level"} <= set(doe.columns)


def test_defence_axis_in_the_criticality_indicator(kb: KnowledgeBase) -> None:
    # indicators sit below the defence layer: the defence axis is passed in as scores
    di = kb.defence.importance().set_index("material")["defence_importance"]
    c = kb.indicators.criticality(importance=di).set_index("material")
    assert c.loc["gallium", "category"] == "critical"
    assert c.loc["feldspar", "category"] == "not_assessed"  # no cited defence use
    assert c.attrs["critmat"]["parameters"]["importance"] == "defence_importance"
    with pytest.raises(ParameterError, match=r"kb\.defence\.criticality\(\)"):
        kb.indicators.criticality(importance="defence")


def test_compare_lists_explains_disagreements(kb: KnowledgeBase) -> None:
    t = kb.defence.compare_lists().set_index("material")
    assert {"manganese", "platinum", "titanium_metal", "rare_earths"} <= set(t.index)
    # manganese and platinum have cited defence uses (armour steel; turbine-blade coatings)
    for m in ("manganese", "platinum"):
        assert "no cited defence use" not in t.loc[m, "reason"]
    # NATO's "Titanium" is the metal: the TiO2 ore is on no list and has no system use
    assert "titanium" not in set(t.index)
    assert t.loc["titanium_metal", "nato_listed_as"] == "Titanium"
    assert bool(t.loc["titanium_metal", "agree"])
    assert "titanium_metal" in t.loc["titanium_metal", "reason"]
    assert bool(t.loc["rare_earths", "agree"])
    assert (t.loc[~t["agree"], "reason"].str.len() > 0).all()


def test_scenario_systems_fit_the_scenario_spec(kb: KnowledgeBase) -> None:
    from critmat.scenarios.spec import DefenceSystem

    systems = kb.defence.scenario_systems()
    assert len(systems) == 3
    parsed = [DefenceSystem(**s) for s in systems]
    f35 = next(p for p in parsed if "F-35" in p.name)
    assert f35.build_rate == pytest.approx(13.0)  # 156 per year
    # rare earths enter the engine under their proxy, named in the system's name
    assert f35.kg_per_unit == {"neodymium": pytest.approx(417.3049804)}
    assert f35.name.endswith("(assumption: rare_earths as neodymium)")


def test_energy_competition_shares(kb: KnowledgeBase) -> None:
    e = kb.defence.energy(materials="rare_earths,gallium").set_index("material")
    ree = e.loc["rare_earths"]
    assert ree["defence_share_world"] == pytest.approx(
        ree["defence_demand_t"] / ree["world_demand_t"]
    )
    assert ree["end_use_proxy"] == "neodymium" and ree["published_defence_share_upper"] == 0.05
    s = kb.defence.shortfall(shortfall=0.5, defence_share={"gallium": 0.05}, materials="gallium")
    assert s.loc[s["sector"] == "defence", "served_share"].tolist() == [1.0]


def test_report_section_and_assessment_summary(kb: KnowledgeBase) -> None:
    from critmat.defence.summary import SUMMARY_COLUMNS
    from critmat.report.builder import Figure, Report
    from critmat.report.defence import defence_section

    section = defence_section(kb, ["gallium", "tungsten", "neodymium"])
    assert section.title == "Defence exposure"
    assert sum(isinstance(b, Figure) for b in section.blocks) == 2
    body = str(Report("t", sections=[section]).render("html"))
    assert body.count("plotly-graph-div") == 2
    assert "F-35 Lightning II" in body and "cited reference data" in body
    frame = kb.defence.summary("gallium,tungsten,neodymium")
    assert list(frame.columns) == SUMMARY_COLUMNS
    assert set(frame["material"]) == {"gallium", "tungsten", "neodymium"}
    assert frame.set_index("material").loc["gallium", "defence_category"] == "critical"


def test_exposure_mixes(kb: KnowledgeBase) -> None:
    eu = kb.defence.exposure(by="material", stage="processing", mix="eu_sourcing").iloc[0]
    # neodymium's EU-sourcing rows at processing copy the global ones (issue 12 item 5):
    # the global mix split by EU import reliance stands in, flagged
    assert eu["mix_used"] == "global_ir_split" and eu["proxy"] == "neodymium"
    assert eu["mix_status"] == "eu_sourcing_inconsistent"
    assert eu["supply_vintage"] == "eu_crm_2023" and eu["reference_years"] == "2016-2020"
    # default by_producer: the reference systems are US-built, EU sourcing does not apply
    us = kb.defence.exposure(by="material", stage="processing").iloc[0]
    assert us["mix_used"] == "global (non-EU producer)" and us["proxy"] == "neodymium"
    imp = kb.defence.exposure(by="material", mix="imports", years=2022).iloc[0]
    # BACI has rare-earth codes of its own: no proxy needed, shares of extra-EU imports
    assert imp["mix_used"] == "imports" and imp["proxy"] is None
    assert imp["shares_covered"] == pytest.approx(1.0)
    with pytest.raises(ParameterError, match="by must be one of"):
        kb.defence.exposure(by="country")
