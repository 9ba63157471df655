"""KnowledgeBase accessors, filters, provenance and inventory."""

from __future__ import annotations

import pytest

from critmat.errors import UnknownNameError
from critmat.knowledge_base import KnowledgeBase
from critmat.params import ParameterError


def test_repr_is_an_inventory(kb: KnowledgeBase) -> None:
    text = repr(kb)
    assert "trade" in text and "1,264,888 rows" in text and "1995-2024" in text
    assert kb.version in text


def test_trade_filters_and_material_attribution(kb: KnowledgeBase) -> None:
    eu = kb.resolve_countries("EU27")
    g = kb.trade(materials="Natural graphite", importers="EU27", years="2021-2022")
    assert set(g["material"]) == {"graphite"}
    assert set(g["hs6"]) <= {"250410", "250490"}
    assert set(g["importer"]) <= set(eu or [])
    assert set(g["year"]) == {2021, 2022}
    assert g.attrs["critmat"]["units"]["value_kusd"] == "kUSD"
    p = kb.trade(materials="tungsten", stage="processing", years=2022)
    assert set(p["hs6"]) == {"810110"} and set(p["stage"]) == {"processing"}


def test_full_trade_table(kb: KnowledgeBase) -> None:
    t = kb.trade()
    assert len(t) == 1_264_888
    assert list(t.columns) == [
        "year",
        "exporter",
        "importer",
        "hs6",
        "value_kusd",
        "quantity_t",
        "source_id",
    ]
    assert t["quantity_t"].isna().sum() == 61_682  # absent, not zero


def test_governance_vintages(kb: KnowledgeBase) -> None:
    g = kb.governance(countries=["CHN"], years=2022, vintage="wgi_2023")
    assert len(g) == 1 and g["wgi_scaled"].between(0, 10).all()
    with pytest.raises(UnknownNameError, match="did you mean 'wgi_2023'"):
        kb.governance(vintage="wgi_2032")


def test_selection_errors(kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownNameError):
        kb.production(materials="unobtainium")
    with pytest.raises(ParameterError, match="runs backwards"):
        kb.production(years="2022-2018")
    with pytest.raises(TypeError, match="no 'year' column"):
        kb.table("materials", years=2020)
    with pytest.raises(UnknownNameError, match="stage"):
        kb.trade(stage="smelting")


def test_sql_and_sources(kb: KnowledgeBase) -> None:
    n = kb.sql("select count(*) as n from crma_2024 where annex = 'I'")["n"].iloc[0]
    assert n >= 17
    src = kb.sources()
    assert {"baci_hs92_v202401b", "wmd_bmf", "wgi_2023", "usgs_mcs2026"} <= set(src["id"])
    assert src["licence"].str.len().min() > 0


def test_describe(kb: KnowledgeBase) -> None:
    d = kb.describe("eu_crm_2023")
    assert d.set_index("field").loc["share", "unit"] == "fraction"
    assert d.attrs["table"]["sources"][0]["url"].startswith("https://doi.org/10.2873/725585")
