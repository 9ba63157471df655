"""kb.indicators.geopolrisk on the embedded knowledge base: grid, statuses, provenance."""

from __future__ import annotations

import pytest

from critmat.errors import UnknownNameError
from critmat.indicators import geopolrisk as gind
from critmat.knowledge_base import KnowledgeBase
from critmat.methods.geopolrisk import DEFAULT_COLUMNS, DETAIL_COLUMNS, STATUSES
from critmat.params import ParameterError


def test_full_cross_product_of_the_selection(kb: KnowledgeBase) -> None:
    r = kb.indicators.geopolrisk(
        materials="nickel,graphite,gallium", importers="USA,DEU,EU27", years="2020-2022"
    )
    assert list(r.columns) == list(DEFAULT_COLUMNS)
    assert len(r) == 3 * 3 * 3
    assert not r.duplicated(["material", "importer", "year"]).any()
    assert set(r["importer"]) == {"USA", "DEU", "EU27"}
    assert set(r["status"]) <= set(STATUSES)


def test_all_materials_and_importers(kb: KnowledgeBase) -> None:
    r = kb.indicators.geopolrisk(years=2022)
    mats = set(r["material"])
    mapped = set(kb.sql("select material from hs_codes")["material"])
    produced = set(kb.sql("select distinct material from production")["material"])
    assert mats == mapped | produced
    assert {"EU27", "USA", "CHN", "TWN"} <= set(r["importer"])
    assert len(r) == r["material"].nunique() * r["importer"].nunique()


def test_default_years_are_the_years_with_trade_and_production(kb: KnowledgeBase) -> None:
    r = kb.indicators.geopolrisk(materials="nickel", importers="USA")
    assert sorted(r["year"]) == list(range(2018, 2025))


@pytest.mark.parametrize("material", ["germanium", "gallium", "hree", "indium"])
def test_not_assessable(kb: KnowledgeBase, material: str) -> None:
    # germanium: HS92 811230 has no BACI rows after 2016; gallium, indium: no HS mapping;
    # hree: no HS mapping and no production
    r = kb.indicators.geopolrisk(materials=material, importers="USA,EU27", years=2022)
    assert (r["status"] == "not_assessable").all()
    assert r["score"].isna().all() and r["cf"].isna().all()


def test_germanium_hhi_is_still_reported(kb: KnowledgeBase) -> None:
    r = kb.indicators.geopolrisk(materials="germanium", importers="USA", years=2022)
    assert 0.5 < r["hhi"].iloc[0] <= 1.0  # CHN dominates production


def test_missing_governance_default_and_fill(kb: KnowledgeBase) -> None:
    # EU27 imports some manganese ore from an exporter without PV in 2022
    nan = kb.indicators.geopolrisk(
        materials="manganese", importers="EU27", years=2022, detail=True
    ).iloc[0]
    assert nan["status"] == "missing_governance"
    assert nan["score"] != nan["score"]  # NaN
    assert 0.99 < nan["governance_coverage"] < 1.0
    filled = kb.indicators.geopolrisk(
        materials="manganese",
        importers="EU27",
        years=2022,
        missing_governance="fill",
        fill_value=0.5,
    )
    assert filled["status"].iloc[0] == "governance_filled"
    assert 0 < filled["score"].iloc[0] < 1
    prov = filled.attrs["critmat"]
    assert prov["parameters"]["missing_governance"] == "fill"
    assert prov["parameters"]["fill_value"] == 0.5
    assert any("filled with 0.5" in n for n in prov["notes"])


def test_provenance_and_units(kb: KnowledgeBase) -> None:
    r = kb.indicators.geopolrisk(materials="cobalt", importers="FRA", years=2021, detail=True)
    assert list(r.columns) == list(DETAIL_COLUMNS)
    prov = r.attrs["critmat"]
    assert prov["method"] == "geopolrisk"
    assert prov["dataset_version"] == kb.version
    assert {"baci_hs92_v202401b", "wmd_bmf", "wgi_pv_geopolrisk", "gprs_hs_mapping"} <= set(
        prov["sources"]
    )
    assert prov["units"]["price"].startswith("kUSD/t")
    assert prov["units"]["cf"] == prov["units"]["cf_paper"] == "kg Cu-eq/kg"
    assert any("wgi_pv_geopolrisk" in n for n in prov["notes"])
    assert prov["parameters"]["governance_vintage"] == "wgi_pv_geopolrisk"


def test_other_vintage_and_unknown_vintage(kb: KnowledgeBase) -> None:
    r = kb.indicators.geopolrisk(
        materials="graphite", importers="USA", years=2022, governance_vintage="wgi_2023"
    )
    assert r["status"].iloc[0] in ("ok", "missing_governance")
    assert any("wgi_2023" in n for n in r.attrs["critmat"]["notes"])
    with pytest.raises(UnknownNameError, match="wgi_2024"):
        kb.indicators.geopolrisk(materials="graphite", governance_vintage="wgi_2042")


def test_bad_option(kb: KnowledgeBase) -> None:
    with pytest.raises(ParameterError, match="'nan', 'fill'"):
        kb.indicators.geopolrisk(
            materials="graphite", importers="USA", years=2022, missing_governance="zero"
        )


def test_user_groups_are_importers(kb: KnowledgeBase) -> None:
    r = kb.indicators.geopolrisk(
        materials="rare_earths",
        importers="AUKUS,USA",
        years=2022,
        groupby={"AUKUS": ["AUS", "GBR", "USA"]},
        detail=True,
    )
    by = r.set_index("importer")
    assert by.loc["AUKUS", "imports_t"] > by.loc["USA", "imports_t"]
    r_all = kb.indicators.geopolrisk(
        materials="rare_earths", years=2022, groupby="AUKUS=AUS,GBR,USA"
    )
    assert {"AUKUS", "EU27"} <= set(r_all["importer"])


def test_stage_filter_keeps_copper_reference(kb: KnowledgeBase) -> None:
    r = kb.indicators.geopolrisk(
        materials="tungsten,nickel", importers="DEU", years=2022, stage="processing", detail=True
    ).set_index("material")
    assert r.loc["nickel", "status"] == "not_assessable"  # ores only (HS 260400)
    assert r.loc["tungsten", "status"] in ("ok", "missing_governance")
    assert r.loc["tungsten", "cf_paper"] > 0  # copper's full mapping as the reference


def test_exporter_contribution(kb: KnowledgeBase) -> None:
    full = kb.indicators.geopolrisk(materials="graphite", importers="USA", years=2022)
    chn = kb.indicators.geopolrisk(
        materials="graphite", importers="USA", years=2022, exporters="CHN"
    )
    assert 0 < chn["score"].iloc[0] < full["score"].iloc[0]
    assert any("contribution" in n for n in chn.attrs["critmat"]["notes"])


def test_inputs_can_be_inspected(kb: KnowledgeBase) -> None:
    inputs = gind.geopolrisk_inputs(kb, materials="graphite", importers="EU27", years=2022)
    assert set(inputs.trade["material"]) == {"graphite", "copper"}  # copper: the reference
    assert len(inputs.units["EU27"]) == 27
    assert list(inputs.governance.columns) == ["country", "year", "g"]


def test_doctests_of_the_indicator_module() -> None:
    import doctest

    result = doctest.testmod(gind)
    assert result.failed == 0 and result.attempted >= 3


def test_missing_governance_exclude_with_coverage(kb: KnowledgeBase) -> None:
    # EU27 manganese 2022: 96.6 t of 2.1 Mt come from Guyana, which has no row in the
    # geopolrisk-bundle governance vintage (dropped at build: it held French Guiana's series)
    strict = kb.indicators.geopolrisk(
        materials="manganese", importers="EU27", years=2022, detail=True
    ).iloc[0]
    assert strict["status"] == "missing_governance" and strict["score"] != strict["score"]
    part = kb.indicators.geopolrisk(
        materials="manganese",
        importers="EU27",
        years=2022,
        missing_governance="exclude",
        detail=True,
    ).iloc[0]
    assert part["status"] == "governance_partial"
    assert 0.999 < part["governance_coverage"] < 1.0
    assert 0 < part["score"] < 1
    tight = kb.indicators.geopolrisk(
        materials="manganese",
        importers="EU27",
        years=2022,
        missing_governance="exclude",
        min_coverage=1.0,
    ).iloc[0]
    assert tight["status"] == "missing_governance"
    prov = kb.indicators.geopolrisk(
        materials="manganese", importers="EU27", years=2022, missing_governance="exclude"
    ).attrs["critmat"]
    assert prov["parameters"]["min_coverage"] == 0.99
