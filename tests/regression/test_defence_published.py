"""Published defence numbers, each next to its source (regression of the dataset pipeline)."""

from __future__ import annotations

import pytest

from critmat.knowledge_base import KnowledgeBase

# Congressional Research Service, 'Rare Earth Elements in National Defense: Background,
# Oversight Issues, and Options for Congress', 23 Dec 2013, p. 9 (defence_facts DF-01..03).
CRS_2013_LB = {
    "F-35 Lightning II": 920,
    "DDG-51 Arleigh Burke-class destroyer": 5200,
    "SSN-774 Virginia-class submarine": 9200,
}


def test_crs_2013_rare_earths_per_platform(kb: KnowledgeBase) -> None:
    u = kb.table("defence_uses")
    pub = u[(u["kind"] == "published") & (u["unit"] == "lb per unit")]
    got = dict(zip(pub["system"], pub["quantity"], strict=True))
    assert got == CRS_2013_LB
    assert (pub["source_id"] == "crs_2013_ree_defence").all()
    # the shared facts file carries the same numbers (DF-01..03)
    facts = kb.table("defence_facts").set_index("fact_id")["value"]
    assert [facts["DF-01"], facts["DF-02"], facts["DF-03"]] == [920, 5200, 9200]


def test_f35_conversion_is_derived_not_published(kb: KnowledgeBase) -> None:
    u = kb.table("defence_uses")
    kg = u[(u["system"] == "F-35 Lightning II") & (u["unit"] == "kg per unit")]
    assert kg["kind"].tolist() == ["derived"]
    assert float(kg["quantity"].iloc[0]) == pytest.approx(417.3, abs=0.05)  # 920 lb


def test_published_build_rates(kb: KnowledgeBase) -> None:
    s = kb.table("defence_systems").set_index("system")
    # CRS RL32418 (18 Jul 2022): two Virginia-class boats per year since FY2011
    assert s.loc["SSN-774 Virginia-class submarine", "units_per_year"] == 2
    # CRS RL32109 (2024): FY2025-FY2029 plan, DDG-51s at two per year
    assert s.loc["DDG-51 Arleigh Burke-class destroyer", "units_per_year"] == 2
    # American Machinist (2021), rebaseline: 156 F-35 annually from 2023 (secondary source)
    assert s.loc["F-35 Lightning II", "units_per_year"] == 156
    assert bool(s.loc["F-35 Lightning II", "rate_secondary_source"])


def test_reference_defence_demand(kb: KnowledgeBase) -> None:
    # 156 x 920 lb + 2 x 5,200 lb + 2 x 9,200 lb = 172,320 lb = 78.163 t per year
    d = kb.defence.demand(by="material")
    assert float(d["demand_t_per_year"].iloc[0]) == pytest.approx(172_320 * 0.45359237 / 1000)
    assert d["kind"].tolist() == ["derived"]


def test_published_shares_of_consumption(kb: KnowledgeBase) -> None:
    u = kb.table("defence_uses")
    frac = u[u["unit"] == "fraction of US consumption"].set_index("material")["quantity"]
    assert frac["rare_earths"] == 0.05  # CRS 2013: DoD uses less than 5 % of US consumption
    assert frac["antimony"] == 0.40  # USGS MCS 2026: antimonial lead and ammunition 40 %
    nd = kb.table("defence_uses")
    ndfeb = nd[(nd["unit"] == "t per year")]
    assert ndfeb["quantity"].tolist() == [175]  # DoD 2012 via Bloomberg: 175 t NdFeB per year
    assert bool(ndfeb["secondary_source"].iloc[0])
