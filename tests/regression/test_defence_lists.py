"""Defence importance against the NATO 2024 and CRMA lists, with the published values.

Published values (source next to each):

* NATO's 12 defence-critical raw materials (11 Dec 2024; Argus, metalswire, militaeraktuell
  reprints): aluminium, beryllium, cobalt, gallium, germanium, graphite, lithium,
  manganese, platinum, rare earth elements, titanium, tungsten.
* EU 2023 CRM study (doi:10.2873/725585), published results: erbium SR 5.6, EI 3.5;
  titanium metal SR 1.6, EI 6.3; nickel SR 0.5 (strategic in the CRMA regardless); copper
  SR 0.1.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from critmat.knowledge_base import KnowledgeBase

NATO_12 = {
    "aluminium",
    "beryllium",
    "cobalt",
    "gallium",
    "germanium",
    "graphite",
    "lithium",
    "manganese",
    "platinum",
    "rare_earths",
    "titanium_metal",
    "tungsten",
}


def test_nato_titanium_is_titanium_metal(kb: KnowledgeBase) -> None:
    nato = kb.table("nato_2024").set_index("listed_name")
    assert set(nato["material"]) == NATO_12
    assert nato.loc["Titanium", "material"] == "titanium_metal"
    assert "not the TiO2 ore" in nato.loc["Titanium", "mapping_note"]
    mats = kb.materials().set_index("material")
    assert bool(mats.loc["titanium_metal", "nato_2024"]) and not bool(
        mats.loc["titanium", "nato_2024"]
    )


@pytest.mark.parametrize("rank_by", ["score", "importance"])
def test_nato_12_in_the_top_20(kb: KnowledgeBase, rank_by: str) -> None:
    crit = kb.defence.criticality(rank_by=rank_by)
    top = set(crit.loc[crit["rank"].notna() & (crit["rank"] <= 20), "material"])
    assert len(NATO_12 & top) >= 11, sorted(NATO_12 - top)


@pytest.mark.parametrize(
    "material",
    [
        "titanium_metal",
        "manganese",
        "platinum",
        "dysprosium",
        "terbium",
        "magnesium",
        "niobium",
        "hafnium",
    ],
)
def test_cited_uses_and_importance(kb: KnowledgeBase, material: str) -> None:
    u = kb.table("defence_uses")
    mine = u[(u["material"] == material) & (u["system_class"] != "all defence uses")]
    assert len(mine) >= 2 and mine["citation"].str.len().gt(20).all()
    assert mine["source_id"].notna().all()
    di = kb.defence.importance().set_index("material")
    assert di.loc[material, "defence_importance"] >= 2.8
    assert di.loc[material, "class_weights"]  # the weights behind the number are shown


def test_published_scores_in_the_reasons(kb: KnowledgeBase) -> None:
    t = kb.defence.compare_lists().set_index("material")
    # EU 2023 study, published: erbium SR 5.6, EI 3.5 (not critmat's recomputed EI 2.4)
    assert t.loc["erbium", "published_ei"] == pytest.approx(3.5)
    assert t.loc["erbium", "published_sr"] == pytest.approx(5.6)
    r = t.loc["erbium", "reason"]
    assert "published SR 5.6, EI 3.5" in r and "recomputation gives EI 2.4" in r
    assert "miss a threshold" not in r  # both published scores pass the EU thresholds
    # titanium metal: published SR 1.6, EI 6.3; NATO, CRMA and critmat agree
    assert t.loc["titanium_metal", "published_sr"] == pytest.approx(1.6)
    assert t.loc["titanium_metal", "published_ei"] == pytest.approx(6.3)
    assert bool(t.loc["titanium_metal", "agree"])
    # nickel SR 0.5 and copper SR 0.1 (published): listed although a threshold is missed
    for m, sr in (("nickel", "0.5"), ("copper", "0.1")):
        assert (
            f"published SR {sr}" in t.loc[m, "reason"] and "miss a threshold" in t.loc[m, "reason"]
        )


def test_every_disagreement_has_a_true_reason(kb: KnowledgeBase) -> None:
    t = kb.defence.compare_lists()
    nato_direct = set(kb.table("nato_2024")["material"])
    off = t[~t["agree"]]
    assert len(off) and not off["reason"].str.startswith("critmat: ").any()
    for row in off.itertuples():
        r = str(row.reason)
        if re.search(r"NATO lists it[ ;,]", r):
            assert row.material in nato_direct, row.material
        if "NATO lists its group" in r:
            assert bool(row.nato_2024) and row.material not in nato_direct, row.material
        if "not on NATO's list" in r:
            assert not bool(row.nato_2024) and bool(row.critmat_critical), row.material
        if "miss a threshold" in r:
            assert row.published_sr < 1 or row.published_ei < 2.8, row.material
        if "below 2.8" in r:
            assert row.defence_importance < 2.8, row.material
        if "no cited defence use" in r:
            assert pd.isna(row.defence_importance), row.material
        if "critical for defence in critmat" in r:
            assert bool(row.critmat_critical), row.material
