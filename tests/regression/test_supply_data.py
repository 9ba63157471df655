"""Supply data of the knowledge base against the published values (source next to each).

USGS MCS 2026 = U.S. Geological Survey, Mineral Commodity Summaries 2026 (doi:10.3133/mcs2026),
per-commodity sheets, as transcribed in ../shared/reference/usgs-mcs2026. EU 2023 = Study on
the critical raw materials for the EU 2023 (doi:10.2873/725585), Appendix 7 and the import
reliance table. ECB = euro foreign exchange reference rates (USD), annual averages.
"""

from __future__ import annotations

import pandas as pd
import pytest

from critmat.knowledge_base import KnowledgeBase


def shares(kb: KnowledgeBase, material: str, stage: str) -> pd.DataFrame:
    s = kb.table("supply_shares", materials=material)
    return s[s["stage"] == stage]


def china(kb: KnowledgeBase, material: str, stage: str, vintage: str, mix: str = "global") -> float:
    s = shares(kb, material, stage)
    row = s[(s["vintage"] == vintage) & (s["mix"] == mix) & (s["country"] == "CHN")]
    assert len(row) == 1, (material, stage, vintage, mix)
    return float(row["share"].iloc[0])


def vintages(kb: KnowledgeBase) -> pd.DataFrame:
    v = kb.table("supply_vintages")
    return v.set_index(["material", "stage", "mix", "vintage"]).sort_index()


# ------------------------------------------------------------------ corrected shares (issue 12)


def test_gallium_processing_china_usgs_vintage(kb: KnowledgeBase) -> None:
    # USGS MCS 2026, gallium, world primary low-purity production 2025e: China 900,000 kg of
    # 909,000 kg listed (Japan 3,000, Russia 6,000, US 0, other 0; world total rounded 900,000)
    # = 99.0 % (2024: 839,000 of 848,000 = 98.9 %); the EU 2023 study: 93.8 % (2016-2020)
    assert china(kb, "gallium", "processing", "usgs_mcs2026") == pytest.approx(900 / 909, abs=1e-6)
    assert china(kb, "gallium", "processing", "eu_crm_2023") == pytest.approx(0.938)
    v = vintages(kb).loc[("gallium", "processing", "global")]
    assert v.loc["usgs_mcs2026", "newest"] and not v.loc["eu_crm_2023", "newest"]
    assert v.loc["usgs_mcs2026", "reference_years"] == "2025"


def test_antimony_mining_china_usgs_vintage(kb: KnowledgeBase) -> None:
    # USGS MCS 2026, antimony, world mine production 2025e: China 40,000 t of 110,720 t listed
    # (US withheld, W; the world total of 110,000 t excludes US production) = 36.1 %;
    # the EU 2023 study gives 56.4 % (2016-2020)
    assert china(kb, "antimony", "extraction", "usgs_mcs2026") == pytest.approx(
        40_000 / 110_720, abs=1e-6
    )
    assert china(kb, "antimony", "extraction", "eu_crm_2023") == pytest.approx(0.564)
    s = shares(kb, "antimony", "extraction")
    usgs = s[s["vintage"] == "usgs_mcs2026"]
    assert "USA" not in set(usgs["country"].dropna())  # withheld: not a number, not a share
    assert "United States (withheld)" in usgs["note"].iloc[0]
    assert "excludes US production" in usgs["note"].iloc[0]
    assert vintages(kb).loc[("antimony", "extraction", "global", "usgs_mcs2026"), "newest"]


def test_graphite_processing_from_the_iea(kb: KnowledgeBase) -> None:
    # IEA Global Critical Minerals Outlook 2025 (as summarised; low quality): China's share of
    # battery-grade graphite refining in 2024 '>90%'; no other country is given
    s = shares(kb, "graphite", "processing")
    assert list(s["vintage"]) == ["iea_gcmo_2025"] and list(s["country"]) == ["CHN"]
    row = s.iloc[0]
    assert row["share"] == pytest.approx(0.9) and row["share_bound"] == "lower"
    assert row["check_flag"] == "share_sum_deviates" and "low quality" in row["basis"]
    assert vintages(kb).loc[("graphite", "processing", "global", "iea_gcmo_2025"), "newest"]


def test_germanium_eu_sourcing_copies_the_global_rows(kb: KnowledgeBase) -> None:
    # EU 2023, germanium processing: global CHN 83.1 %, RUS 5.0 %, BEL 4.5 %, DEU 2.7 %, USA 2.0 %,
    # JPN 1.8 %, UKR 0.9 %; EU sourcing CHN 83 %, RUS 5 %, BEL 4 %, DEU 3 %, JPN 2 %, USA 2 %
    # (the global mix rounded); non-EU 92 % against an EU import reliance of 42 %
    s = shares(kb, "germanium", "processing")
    eu = s[(s["vintage"] == "eu_crm_2023") & (s["mix"] == "eu_sourcing")]
    assert len(eu) == 6
    assert (eu["check_flag"] == "eu_sourcing_inconsistent;eu_sourcing_copies_global").all()
    assert s.loc[s["mix"] == "global", "check_flag"].isna().all()  # the global rows are fine
    checks = kb.table("supply_checks", materials="germanium").set_index("flag")
    assert checks.loc["eu_sourcing_inconsistent", "observed"] == pytest.approx(0.92)
    assert checks.loc["eu_sourcing_inconsistent", "reference"] == pytest.approx(0.42)
    assert checks.loc["eu_sourcing_copies_global", "observed"] == pytest.approx(0.009)


def test_arsenic_eu_sourcing_is_inconsistent_but_no_copy(kb: KnowledgeBase) -> None:
    # EU 2023, arsenic processing: EU sourcing GBR 44 %, BEL 24 %, CHN 16 %, MAR 14 %, HKG 1 %
    # (non-EU 75 %) against an import reliance of 39 %; the global mix is CHN 44.3 %,
    # PER 40.0 %, MAR 11.4 %: different countries, so the rows are not a copy of it
    checks = kb.table("supply_checks", materials="arsenic").set_index("flag")
    assert list(checks.index) == ["eu_sourcing_inconsistent"]
    assert checks.loc["eu_sourcing_inconsistent", "observed"] == pytest.approx(0.75)
    assert checks.loc["eu_sourcing_inconsistent", "reference"] == pytest.approx(0.39)
    s = shares(kb, "arsenic", "processing")
    assert (s.loc[s["mix"] == "eu_sourcing", "check_flag"] == "eu_sourcing_inconsistent").all()


def test_copies_found_in_the_eu_tables(kb: KnowledgeBase) -> None:
    # the EU-sourcing mixes of the 2023 tables that equal the global mix up to rounding
    c = kb.table("supply_checks")
    copies = c[c["flag"] == "eu_sourcing_copies_global"]
    assert set(zip(copies["material"], copies["stage"], strict=True)) == {
        ("germanium", "processing"),
        ("tantalum", "extraction"),
        *{(m, "processing") for m in ("cerium", "lanthanum", "neodymium", "praseodymium",
                                      "samarium")},
    }  # fmt: skip


# ------------------------------------------------------------------ vintages and shares


def test_every_usgs_mix_sums_to_one_and_names_its_basis(kb: KnowledgeBase) -> None:
    s = kb.table("supply_shares")
    usgs = s[s["vintage"] == "usgs_mcs2026"]
    totals = usgs.groupby(["material", "stage"])["share"].sum()
    assert ((totals - 1).abs() < 1e-9).all()
    # 31 tables of the extension (boron left out: no common basis; PGM: reserves only) and
    # the 6 of the first files
    assert len(totals) == 37
    assert usgs["basis"].str.match(r"(mine|refinery|smelter|metal|primary low-purity)").all()
    assert set(usgs["reference_years"]) == {"2025"}  # 2025e everywhere the sheets give it
    assert usgs["estimated"].all()
    mapping = usgs.drop_duplicates(["material", "stage"]).set_index("material")["stage"]
    assert mapping["titanium_metal"] == "processing" and mapping["copper"] == "processing"
    assert mapping["lithium"] == "extraction" and mapping["rare_earths"] == "extraction"
    # the residual 'Other countries' rows stay, without a country
    other = usgs[usgs["country_label"] == "Other countries"]
    assert len(other) > 10 and other["country"].isna().all()


def test_newest_vintage_per_material_stage_and_mix(kb: KnowledgeBase) -> None:
    v = kb.table("supply_vintages")
    assert (v.groupby(["material", "stage", "mix"])["newest"].sum() == 1).all()
    idx = v.set_index(["material", "stage", "mix", "vintage"]).sort_index()
    # silicon: USGS counts ferrosilicon and silicon metal together, so the EU study's silicon
    # metal mix stays the default although it is older
    assert idx.loc[("silicon_metal", "processing", "global", "eu_crm_2023"), "newest"]
    usgs_si = idx.loc[("silicon_metal", "processing", "global", "usgs_mcs2026")]
    assert not usgs_si["newest"] and "basis_differs" in usgs_si["check_flags"]
    # EU sourcing exists in the EU study only
    eu = v[v["mix"] == "eu_sourcing"]
    assert (eu["vintage"] == "eu_crm_2023").all() and eu["newest"].all()


def test_silicon_world_total_deviation_is_flagged(kb: KnowledgeBase) -> None:
    # USGS MCS 2026, silicon 2025e: the countries sum to 4,868 kt against a world total of
    # 5,000 kt (-2.6 %), not explained by rounding (reference validation file)
    c = kb.table("supply_checks", materials="silicon_metal")
    row = c[(c["vintage"] == "usgs_mcs2026") & (c["flag"] == "share_sum_deviates")].iloc[0]
    assert row["observed"] == pytest.approx(4868 / 5000)
    assert "4,868" in row["detail"] and "5,000" in row["detail"]


# ------------------------------------------------------------------ extension tables


def test_extension_world_table_keeps_flags_as_flags(kb: KnowledgeBase) -> None:
    u = kb.table("usgs_mcs2026_ext")
    # USGS MCS 2026, chromium: world reserves '>1,200,000' thousand t (a lower bound)
    cr = u[(u["material"] == "chromium") & (u["variable"] == "reserves")]
    world = cr[cr["country_label"].str.startswith("World")].iloc[0]
    assert pd.isna(world["value"]) and world["value_flag"] == "lower_bound"
    assert world["value_low"] == 1_200_000 and world["value_text"] == ">1200000"
    # USGS MCS 2026, lithium: US production withheld (W) in 2024 and 2025
    li = u[(u["material"] == "lithium") & (u["country"] == "USA") & (u["variable"] == "production")]
    assert set(li["value_flag"]) == {"withheld"} and li["value"].isna().all()
    # USGS MCS 2026, molybdenum: China mine production 2024 100,000 t; reserves 7,800 thousand t
    mo = u[(u["material"] == "molybdenum") & (u["country"] == "CHN")].set_index(
        ["variable", "year"]
    )
    assert mo.loc[("production", 2024), "quantity_t"] == 100_000
    assert mo.loc[("reserves", 2025), "quantity_t"] == 7_800_000
    assert mo.loc[("reserves", 2025), "unit"].startswith("thousand metric tons")
    # USGS MCS 2026, aluminum: world smelter production 2024 72,800 thousand t
    al = u[(u["material"] == "aluminium") & u["country_label"].str.startswith("World")]
    al = al.set_index(["variable", "year"])
    assert al.loc[("production", 2024), "quantity_t"] == 72_800_000
    assert len(u) == 1039 and u["material"].nunique() == 33


def test_extension_salient_keeps_nir_flags(kb: KnowledgeBase) -> None:
    s = kb.table("usgs_mcs2026_salient_ext")
    # USGS MCS 2026, molybdenum: NIR 'E' (net exporter) in every year 2021-2025e
    mo = s[(s["material"] == "molybdenum") & s["indicator"].str.startswith("net_import")]
    assert set(mo["value_flag"]) == {"net_exporter"} and mo["value"].isna().all()
    # USGS MCS 2026, magnesium metal: NIR '>50' in 2024
    mg = s[(s["material"] == "magnesium") & s["indicator"].str.startswith("net_import")]
    row = mg[mg["year"] == 2024].iloc[0]
    assert (row["value_flag"], row["value_low"]) == ("lower_bound", 50)
    nir = s[s["indicator"].str.contains("net_import_reliance")]
    assert nir["material_label"].nunique() == 34


# ------------------------------------------------------------------ prices and FX


def price(kb: KnowledgeBase, indicator: str, year: int) -> pd.Series:
    p = kb.table("prices")
    return p[(p["indicator"] == indicator) & (p["year"] == year)].iloc[0]


@pytest.mark.parametrize(
    ("indicator", "year", "published", "usd_t"),
    [
        # USGS MCS 2026 gallium: average unit value of imports 2025e $580/kg
        ("price_usd_per_kg_avg_unit_value_of_imports", 2025, 580, 580_000),
        # USGS MCS 2026 tin: LME cash 2023 1,177 US cents per pound
        ("price_usc_per_lb_average_london_metal_exchange_lme_cash", 2023, 1177, 1177 * 22.0462262),
        # USGS MCS 2026 manganese: ore 44 % Mn, CIF China 2023 $4.80 per mtu (10 kg Mn)
        (
            "price_usd_per_mtu_average_manganese_content_cost_insurance_and_freight_china",
            2023,
            4.80,
            480,
        ),
        # USGS MCS 2026 PGM: platinum 2024 $960.70 per troy ounce
        ("price_usd_per_troy_oz_platinum", 2024, 960.70, 960.70 / 31.1034768e-6),
        # USGS MCS 2026 tungsten: WO3 concentrate, Rotterdam, 2025e $380 per mtu
        ("price_usd_per_mtu_WO3_concentrate_rotterdam", 2025, 380, 38_000),
    ],
)
def test_published_prices_and_their_conversion(
    kb: KnowledgeBase, indicator: str, year: int, published: float, usd_t: float
) -> None:
    row = price(kb, indicator, year)
    assert row["price"] == pytest.approx(published)
    assert row["price_usd_t"] == pytest.approx(usd_t, rel=1e-9)


def test_price_units_agree_across_series(kb: KnowledgeBase) -> None:
    # USGS MCS 2026 nickel publishes the LME cash price in $/t and in $/lb: through the unit
    # table they agree to rounding (2021-2024 within 0.1 %, the 2025 estimates within 2 %)
    p = kb.table("prices", materials="nickel").pivot_table(
        index="year", columns="indicator", values="price_usd_t"
    )
    ratio = p["price_usd_per_lb_lme_cash"] / p["price_usd_per_t_lme_cash"]
    assert ((ratio.loc[2021:2024] - 1).abs() < 1e-3).all()
    assert abs(ratio.loc[2025] - 1) < 0.02


def test_prices_cover_the_sheets_and_say_what_a_tonne_counts(kb: KnowledgeBase) -> None:
    p = kb.table("prices")
    assert p["material"].nunique() == 48 and set(p["year"]) == set(range(2021, 2026))
    units = kb.table("price_units").set_index("price_unit")
    assert set(p["price_unit"]) <= set(units.index)
    assert p.loc[p["price_flag"] == "exact", "price_usd_t"].notna().all()
    # scandium oxide 2021: published as the range $890-1,000 per kg, kept as a range
    sc = p[(p["material"] == "scandium") & (p["year"] == 2021) & (p["price_flag"] == "range")]
    row = sc.iloc[0]
    assert pd.isna(row["price"]) and (row["price_low"], row["price_high"]) == (890, 1000)
    assert (row["price_usd_t_low"], row["price_usd_t_high"]) == (890_000, 1_000_000)
    per = p.drop_duplicates("indicator").set_index("indicator")["per_t_of"]
    assert per["price_usd_per_t_chromite_ore_gross_weight"] == "gross weight"
    assert per["price_usd_per_kg_ta2o5_tantalite_annual_average"] == "Ta2O5 content"
    assert per["price_usd_per_mtu_WO3_concentrate_rotterdam"] == "WO3 content"
    assert (
        "lithium carbonate"
        in per["price_usd_per_t_annual_average_real_battery_grade_lithium_carbonate"]
    )


@pytest.mark.parametrize(
    ("year", "usd_per_eur"),
    [
        # ECB annual averages of the daily USD reference rate (EXR.A.USD.EUR.SP00.A)
        (2021, 1.1827),
        (2022, 1.0530),
        (2023, 1.0813),
        (2024, 1.0824),  # also quoted as Eurostat ert_bil_eur_a 2024 = 1.0824
        (2025, 1.1300),
    ],
)
def test_fx_rates_are_the_ecb_annual_averages(
    kb: KnowledgeBase, year: int, usd_per_eur: float
) -> None:
    fx = kb.table("fx_rates").set_index("year")
    assert fx.loc[year, "rate"] == pytest.approx(usd_per_eur, abs=5e-5)
    assert fx.loc[year, "inverse_rate"] == pytest.approx(1 / usd_per_eur, rel=1e-4)
    assert fx.loc[year, "observations"] >= 250
    assert set(kb.table("prices")["year"]) <= set(fx.index)
