"""The European defence dataset: systems, cited uses, build rates and intermediate stages.

Every published value checked here is quoted next to its source (the source ids are in
``scripts/schema/sources.d/defence.yaml``; the citations with the quoted sentences are in the
rows themselves).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from critmat.defence.bom import annual_demand, read_bom, read_build_rates
from critmat.defence.dataset import reference_bom
from critmat.knowledge_base import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

#: Materials the European defence layer must cover with at least one cited use (issue 12).
REQUIRED_MATERIALS = {
    "titanium_metal",
    "manganese",
    "platinum",
    "dysprosium",
    "terbium",
    "magnesium",
    "niobium",
    "hafnium",
    "tungsten",
    "gallium",
    "germanium",
    "rare_earths",
    "cobalt",
    "beryllium",
    "tantalum",
    "antimony",
    "aluminium",
    "nickel",
}


def _ids(series: pd.Series) -> set[str]:
    return {s for v in series.dropna() for s in str(v).split(";")}


# --------------------------------------------------------------------------- systems


def test_at_least_20_systems_and_8_european(kb: KnowledgeBase) -> None:
    s = kb.table("defence_systems")
    assert len(s) >= 20 and s["system"].is_unique
    assert (s["origin"] == "european").sum() >= 8
    assert set(s["origin"]) == {"european", "us"}
    for name in ("Eurofighter Typhoon", "Rafale", "Leopard 2", "CAESAR", "IRIS-T SLM", "A400M"):
        assert s.set_index("system").loc[name, "origin"] == "european", name
    assert s["producer_countries"].notna().all() and s["programme"].notna().all()


def test_f35_is_us_built_and_operated_by_european_states(kb: KnowledgeBase) -> None:
    f35 = kb.table("defence_systems").set_index("system").loc["F-35 Lightning II"]
    assert f35["origin"] == "us" and f35["producer_countries"] == "USA"
    ops = set(str(f35["operator_countries"]).split(";"))
    assert {"GBR", "ITA", "NLD", "NOR", "DNK", "POL", "FIN", "DEU"} <= ops


def test_reference_rates_are_us_rates_only(kb: KnowledgeBase) -> None:
    # US data are never shown as EU data: the rate that reference_build_rates uses is only
    # set for US programmes, and the F-35 figure is labelled as a plan
    s = kb.table("defence_systems")
    rated = s[s["units_per_year"].notna()]
    assert set(rated["origin"]) == {"us"}
    f35 = rated.set_index("system").loc["F-35 Lightning II"]
    assert str(f35["rate_measure"]).startswith("planned")


def test_every_system_has_a_cited_use_named_or_by_class(kb: KnowledgeBase) -> None:
    s = kb.table("defence_systems")
    u = kb.table("defence_uses")
    named = set(u["system"].dropna())
    classes = set(u["system_class"])
    for system, cls in zip(s["system"], s["system_class"], strict=True):
        assert system in named or cls in classes, system


# --------------------------------------------------------------------------- uses


def test_required_materials_have_cited_uses(kb: KnowledgeBase) -> None:
    u = kb.table("defence_uses")
    assert set(u["material"]) >= REQUIRED_MATERIALS


def test_every_use_cites_a_declared_source(kb: KnowledgeBase) -> None:
    u = kb.table("defence_uses")
    declared = set(kb.catalog.sources)
    assert u["source_id"].notna().all() and _ids(u["source_id"]) <= declared
    assert (u["citation"].str.len() > 40).all()
    # every number is published or derived: no assumption is shipped in defence_uses
    q = u[u["quantity"].notna()]
    assert set(q["kind"]) <= {"published", "derived"}


def test_no_titanium_ore_for_airframes(kb: KnowledgeBase) -> None:
    u = kb.table("defence_uses")
    assert u[(u["material"] == "titanium") & (u["system_class"] != "all defence uses")].empty
    ti = u[u["material"] == "titanium_metal"]
    assert {"military aircraft", "armoured vehicle"} <= set(ti["system_class"])
    assert ti["component"].str.contains("airframe").any()


def test_unknown_content_is_nan_never_zero(kb: KnowledgeBase) -> None:
    u = kb.table("defence_uses")
    unknown = u[u["content_status"] == "content_unknown"]
    assert len(unknown) > 50 and unknown["quantity"].isna().all()
    known = u[u["content_status"] != "content_unknown"]
    assert known["quantity"].notna().all() and (known["quantity"] > 0).all()
    per_unit = u[u["content_status"] == "per_unit"]
    assert per_unit["unit"].str.endswith("per unit").all() and per_unit["system"].notna().all()


def test_weight_inputs_of_every_use(kb: KnowledgeBase) -> None:
    u = kb.table("defence_uses")
    assert set(u["component_criticality"]) <= {"essential", "important", "minor", "unknown"}
    assert set(u["criticality_basis"]) == {"source", "curation"}
    quoted = u[u["criticality_basis"] == "source"]
    assert (quoted["criticality_note"].str.contains("'")).all()  # the source's own words
    share = u[u["defence_demand_share"].notna()]
    assert share["defence_demand_share_scope"].notna().all()
    assert share.set_index("material")["defence_demand_share"].to_dict() == {
        "rare_earths": 0.05,  # CRS 2013: DoD uses less than 5 % of US rare-earth consumption
        "antimony": 0.4,  # USGS MCS 2026: antimonial lead and ammunition 40 % of US use
    }


def test_cited_compositions(kb: KnowledgeBase) -> None:
    u = kb.table("defence_uses")
    comp = u[u["content_status"] == "composition"]
    got = {
        (m, c): q
        for m, c, q in zip(comp["material"], comp["component"], comp["quantity"], strict=True)
    }
    # Wikipedia 'U-Boot-Stahl': grade 1.3964 X2CrNiMnMoNNb21-16-5-3, standard for German
    # submarines from class 206 on (nominal Cr 21, Ni 16, Mn 5, Mo 3 %)
    assert got[("manganese", "pressure hull")] == 5
    assert got[("nickel", "pressure hull")] == 16
    # D. Pye, Industrial Heating: 155 mm barrel steel C 0.35, Cr 1.4, Mo 1.2, V 0.3, Ni 0.8 %
    assert got[("vanadium", "155 mm howitzer barrel")] == pytest.approx(0.3)
    assert got[("chromium", "155 mm howitzer barrel")] == pytest.approx(1.4)
    # Lipmann Walton: MAR-M 247 contains 1.5 % hafnium (jet-engine hot section)
    assert got[("hafnium", "turbine shrouds, vanes and blades (hot section)")] == 1.5
    # composition rows never enter the reference BOM (they are not kg per unit)
    assert set(reference_bom(kb)["material"]) == {"rare_earths"}


def test_named_european_uses(kb: KnowledgeBase) -> None:
    u = kb.table("defence_uses")
    pairs = set(zip(u["system"].dropna(), u.dropna(subset=["system"])["material"], strict=True))
    # MTU (PIM International 2007): EJ200 engine materials titanium alloys and Ni superalloys
    assert {("Eurofighter Typhoon", "titanium_metal"), ("Eurofighter Typhoon", "nickel")} <= pairs
    # zonearmee 2025: Rafale RBE2 AESA radars with GaAs T/R modules
    assert {("Rafale", "gallium"), ("RBE2 AESA radar", "gallium")} <= pairs
    # Wikipedia 'Rheinmetall L44': tungsten APFSDS darts (no DU in the Bundeswehr)
    assert ("Leopard 2", "tungsten") in pairs


# --------------------------------------------------------------------------- build rates


def test_every_rate_has_a_basis_a_year_and_a_source(kb: KnowledgeBase) -> None:
    r = kb.table("defence_build_rates")
    assert len(r) >= 15 and r["rate_id"].is_unique
    assert set(r["basis"]) <= {"published", "derived", "assumption"}
    assert r["year"].notna().all() and r["citation"].str.len().min() > 40
    assert _ids(r["source_id"]) <= set(kb.catalog.sources)
    assert set(r["system"]) <= set(kb.table("defence_systems")["system"])
    # plans are labelled as plans
    assert (r["planned"] == r["measure"].str.startswith("planned")).all()
    # derived yearly rates are monthly rates x 12
    d = r[r["basis"] == "derived"]
    assert len(d) > 0 and (d["value_unit"] == "units per month").all()
    assert (d["units_per_year"] == d["value"] * 12).all()


def test_published_rates(kb: KnowledgeBase) -> None:
    r = kb.table("defence_build_rates")

    def one(system: str, measure: str, year: int) -> pd.Series:
        hit = r[(r["system"] == system) & (r["measure"] == measure) & (r["year"] == year)]
        assert len(hit) == 1, (system, measure, year)
        return hit.iloc[0]

    # Actualidad Aeroespacial (Dassault 2024 figures): 21 Rafale delivered, 14 France, 7 export
    assert one("Rafale", "deliveries", 2024)["units_per_year"] == 21
    # European Commission, 15 Mar 2024: 155 mm capacity 1 million per year in January 2024 ...
    ammo = "155 mm artillery ammunition (EU industry)"
    cap = one(ammo, "production_capacity", 2024)
    assert cap["units_per_year"] == 1_000_000 and cap["producer"] == "EU"
    # ... and 2 million per year by the end of 2025: a plan, not output
    plan = one(ammo, "planned_capacity", 2025)
    assert plan["units_per_year"] == 2_000_000 and bool(plan["planned"])
    # KNDS CEO (ARD documentary 2024): 40 to 50 Leopard 2 per year
    leo = one("Leopard 2", "production_rate", 2024)
    assert (leo["units_per_year"], leo["units_per_year_high"]) == (40, 50)
    # French MoD visit, Oct 2023: CAESAR from two to six per month
    caesar = one("CAESAR", "production_rate", 2023)
    assert (caesar["value"], caesar["units_per_year"], caesar["basis"]) == (6, 72, "derived")
    # Aviation Week, Jan 2025: Lockheed Martin delivered 110 F-35 in 2024 ...
    assert one("F-35 Lightning II", "deliveries", 2024)["units_per_year"] == 110
    # ... while 156 per year from 2023 (American Machinist 2021) was a planned peak
    f35_plan = one("F-35 Lightning II", "planned_deliveries", 2023)
    assert f35_plan["units_per_year"] == 156 and bool(f35_plan["planned"])
    # Eurofighter CEO, Paris Air Show June 2025: 14 per year now
    assert one("Eurofighter Typhoon", "production_rate", 2025)["units_per_year"] == 14


def test_us_rates_are_labelled_by_programme(kb: KnowledgeBase) -> None:
    r = kb.table("defence_build_rates")
    origin = kb.table("defence_systems").set_index("system")["origin"]
    us = r[r["system"].map(origin) == "us"]
    assert (us["producer"] == "USA").all() and not us["programme"].str.startswith("EU").any()


# --------------------------------------------------------------------------- intermediate stages


def test_intermediate_supplier_mixes(kb: KnowledgeBase) -> None:
    t = kb.table("intermediate_supply")
    assert {
        "rare earth permanent magnets",
        "titanium sponge",
        "gallium arsenide substrates",
    } <= set(t["product"])
    key = ["product", "stage", "year", "qualification", "source_id"]
    assert (t.groupby(key)["share"].sum(min_count=1).dropna() <= 1 + 1e-9).all()
    assert _ids(t["source_id"]) <= set(kb.catalog.sources)

    def share(product: str, stage: str, country: str, source: str, year: int) -> float:
        hit = t[
            (t["product"] == product)
            & (t["stage"] == stage)
            & (t["country"] == country)
            & (t["source_id"] == source)
            & (t["year"] == year)
        ]
        assert len(hit) == 1
        return float(hit["share"].iloc[0])

    # IEA commentary (23 Oct 2025, via Rare Earth Exchanges): China 94 % of magnet manufacturing
    mag = share(
        "rare earth permanent magnets", "magnet manufacturing", "CHN", "iea_2025_magnets", 2025
    )
    assert mag == 0.94
    # USGS MCS 2026: titanium sponge 2024, China 256,000 t of a world total of 380,000 t
    all_ti = "sponge production (all producers)"
    assert share("titanium sponge", all_ti, "CHN", "usgs_mcs2026", 2024) == pytest.approx(
        256_000 / 380_000
    )
    # Argus 2025: aerospace-approved sponge 2024 Japan 55,000 t of 89,000 t (JPN, KAZ, SAU)
    aero = "sponge production (aerospace-qualified producers)"
    assert share("titanium sponge", aero, "JPN", "argus_2025_ti_sponge", 2024) == pytest.approx(
        55 / 89
    )
    assert "CHN" not in set(t[t["stage"] == aero]["country"])
    # DIGITIMES 2023 names the GaAs substrate suppliers without shares: NaN, never 0
    gaas = t[t["product"] == "gallium arsenide substrates"]
    assert gaas["share"].isna().all() and (gaas["status"] == "share_unknown").all()


# --------------------------------------------------------------------------- examples


def test_european_example_files_validate_and_give_labelled_demand(kb: KnowledgeBase) -> None:
    bom = read_bom(kb, EXAMPLES / "defence_bom_eu.csv")
    rates = read_build_rates(kb, EXAMPLES / "defence_build_rates_eu.csv")
    d = annual_demand(bom, rates).set_index("system")
    rafale = d.loc["Rafale"]
    # 21 Rafale delivered in 2024 (published) x 920 lb (CRS 2013 F-35 proxy, an assumption)
    assert rafale["demand_t"] == pytest.approx(21 * 920 * 0.45359237 / 1000)
    assert rafale["kind"] == "assumption" and bool(rafale["rests_on_assumption"])
    assert d.loc["Leopard 2", "status"] == "no_bom"  # a rate without any published content
    assert d.loc["F-35 Lightning II (European customers)", "status"] == "no_build_rate"
    assert pd.isna(d.loc["F-35 Lightning II (European customers)", "demand_t"])


def test_european_example_files_import_with_the_cli(tmp_path: Path) -> None:
    env = {**os.environ, "CRITMAT_DATA_DIR": str(tmp_path / "data")}
    for name, table in (
        ("defence_bom_eu.csv", "bom"),
        ("defence_build_rates_eu.csv", "build_rates"),
    ):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "critmat",
                "data",
                "import",
                str(EXAMPLES / name),
                "--table",
                table,
            ],
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        assert "imported" in proc.stdout
