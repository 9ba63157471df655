"""The embedded data reproduce values published in the sources (cited next to each value)."""

from __future__ import annotations

import pytest

from critmat.knowledge_base import KnowledgeBase


def test_baci_extract_shape(kb: KnowledgeBase) -> None:
    # reference/geopolrisk-data/SOURCES.md: 1,264,888 rows, years 1995-2024, 74 HS6 codes
    n = kb.sql("select count(*) n, min(year) a, max(year) b, count(distinct hs6) k from trade")
    assert tuple(n.iloc[0]) == (1_264_888, 1995, 2024, 74)


@pytest.mark.parametrize(
    ("country", "pv", "g"),
    [
        # METHODS.md §3.1 test vectors (WGI PV 2022, 2023 Update; g = clip((2.5-PV)/5, 0, 1))
        ("CHN", -0.44107, 0.58821),
        ("USA", -0.03601, 0.50720),
        ("DEU", 0.61476, 0.37705),
        ("AFG", -2.55080, 1.0),
        ("SYR", -2.79725, 1.0),
    ],
)
def test_wgi_political_stability_2022(kb: KnowledgeBase, country: str, pv: float, g: float) -> None:
    row = kb.governance(countries=country, years=2022, vintage="wgi_2023").iloc[0]
    assert row["pv"] == pytest.approx(pv, abs=5e-6)
    assert row["pv_normalised"] == pytest.approx(g, abs=5e-6)


@pytest.mark.parametrize(("country", "pv"), [("CHN", -0.4513), ("DEU", 0.6285), ("USA", 0.0087)])
def test_wgi_2024_update_is_a_different_vintage(kb: KnowledgeBase, country: str, pv: float) -> None:
    # reference/wgi-six-dimensions/SOURCES.md, caveat "Do not mix vintages" (PV 2022)
    row = kb.governance(countries=country, years=2022, vintage="wgi_2024").iloc[0]
    assert row["pv"] == pytest.approx(pv, abs=5e-5)


@pytest.mark.parametrize(
    ("material", "country", "share"),
    [
        # EU CRM 2023 processing-stage shares quoted in reference/eu-crm-2023-report-tables/
        # SOURCES.md (from the study's Appendix 7, doi:10.2873/725585)
        ("gallium", "CHN", 0.938),
        ("germanium", "CHN", 0.831),
        ("magnesium", "CHN", 0.906),
        ("dysprosium", "CHN", 1.0),
        ("terbium", "CHN", 1.0),
        ("gadolinium", "CHN", 1.0),
        ("neodymium", "CHN", 0.849),
        ("praseodymium", "CHN", 0.849),
        ("samarium", "CHN", 0.849),
        ("lanthanum", "CHN", 0.849),
        ("cerium", "CHN", 0.849),
        ("cobalt", "CHN", 0.596),
        ("lithium", "CHN", 0.562),
        ("bismuth", "CHN", 0.69),
        ("niobium", "BRA", 0.888),
    ],
)
def test_eu_2023_processing_shares(
    kb: KnowledgeBase, material: str, country: str, share: float
) -> None:
    rows = kb.eu_crm_2023(materials=material, stage="processing", mix="global", countries=country)
    assert rows["share"].iloc[0] == pytest.approx(share, abs=1e-9)


@pytest.mark.parametrize(
    ("material", "si_sr", "ir_e", "ir_p", "eol"),
    [
        # METHODS.md §1.6 (EU CRM 2023 study, as transcribed by meyerdata/CritMAT)
        ("gallium", 0.98, None, 0.98, 0.0),
        ("tungsten", 0.96, 0.21, 0.80, 0.42),
        ("dysprosium", 0.99, 0.80, 1.00, 0.01),
        ("neodymium", 0.99, 0.80, 1.00, 0.01),
        ("copper", 0.71, 0.48, 0.17, 0.55),
    ],
)
def test_eu_2023_parameters(
    kb: KnowledgeBase, material: str, si_sr: float, ir_e: float | None, ir_p: float, eol: float
) -> None:
    row = kb.table("eu_crm_2023_parameters", materials=material).iloc[0]
    assert row["si_sr"] == pytest.approx(si_sr)
    assert row["ir_processing"] == pytest.approx(ir_p)
    assert row["eol_rir"] == pytest.approx(eol)
    if ir_e is None:
        assert row["ir_extraction"] != row["ir_extraction"]  # NaN: stage not assessed
    else:
        assert row["ir_extraction"] == pytest.approx(ir_e)


@pytest.mark.parametrize(
    ("material", "country", "share"),
    [
        # METHODS.md §0.1: 2022 producer shares from the shared World Mining Data DB
        ("gallium", "CHN", 0.984),
        ("germanium", "CHN", 0.935),
        ("tungsten", "CHN", 0.764),
        ("rare_earths", "CHN", 0.703),
        ("cobalt", "COD", 0.695),
    ],
)
def test_world_mining_data_2022_leading_producer(
    kb: KnowledgeBase, material: str, country: str, share: float
) -> None:
    p = kb.production(materials=material, years=2022)
    s = p.set_index("country")["quantity_t"] / p["quantity_t"].sum()
    assert s[country] == pytest.approx(share, abs=6e-4)
    assert s.idxmax() == country


def test_usgs_mcs2026_rare_earths(kb: KnowledgeBase) -> None:
    # USGS MCS 2026, rare earths: world mine production 2024 380,000 t REO, China 270,000
    u = kb.table("usgs_mcs2026", materials="rare_earths")
    prod = u[(u["variable"] == "mine_production") & (u["year"] == 2024)].set_index("country_label")[
        "quantity_t"
    ]
    assert prod["World total (rounded)"] == 380_000 and prod["China"] == 270_000
    reserves = u[(u["variable"] == "reserves") & (u["country_label"].str.startswith("World"))]
    assert reserves["value_flag"].iloc[0] == "lower_bound"  # published as '>85,000,000'


def test_crma_and_nato_lists(kb: KnowledgeBase) -> None:
    # Regulation (EU) 2024/1252: 17 strategic (Annex I), 34 critical (Annex II);
    # NATO 11 Dec 2024: 12 defence-critical raw materials
    crma = kb.table("crma_2024")
    assert crma[crma["annex"] == "I"]["listed_name"].nunique() == 17
    assert crma[crma["annex"] == "II"]["listed_name"].nunique() == 34
    nato = set(kb.table("nato_2024")["material"])
    assert nato == {
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
        "titanium_metal",  # NATO's "Titanium": the metal (nato_2024.mapping_note)
        "tungsten",
    }
    m = kb.materials().set_index("material")
    assert m.loc["dysprosium", "crma_critical"] and m.loc["dysprosium", "crma_strategic"]
    assert m.loc["copper", "crma_strategic"] and not m.loc["copper", "nato_2024"]
    assert m.loc["neodymium", "nato_2024"]  # through NATO's "rare earth elements"


def test_crs_2013_rare_earth_content(kb: KnowledgeBase) -> None:
    # CRS (2013) Rare Earth Elements in National Defense, p. 9: F-35 920 lb, DDG-51 5,200 lb,
    # SSN-774 9,200 lb of rare earth materials per unit
    f = kb.table("defence_facts", materials="rare_earths").set_index("fact_id")
    assert (f.loc["DF-01", "value"], f.loc["DF-01", "unit"]) == (920, "lb per aircraft")
    assert f.loc["DF-02", "value"] == 5200 and f.loc["DF-03", "value"] == 9200
    assert not f.loc["DF-01", "secondary_source"]


def test_export_controls(kb: KnowledgeBase) -> None:
    # MOFCOM/GAC Announcement No. 23 [2023]: gallium and germanium, effective 2023-08-01
    e = kb.table("export_controls", materials=["gallium"])
    first = e[e["event_id"] == "CN-2023-23"].iloc[0]
    assert str(first["date_effective"].date()) == "2023-08-01"
    assert "811292" in first["hs6_codes"]
