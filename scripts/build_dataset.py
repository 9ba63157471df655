"""Build critmat's embedded knowledge base from the shared reference data.

Usage (from the repository root, in an environment with ``pip install -e ".[build]"``)::

    python scripts/build_dataset.py --reference ../shared/reference

Reads the reference folders (build time only: the installed package never reads them),
turns them into tidy, validated tables with canonical material ids and ISO-3 country codes,
runs the invariant checks, and writes ``src/critmat/data/embedded/*.parquet`` plus a
Frictionless ``datapackage.json`` (fields, units, descriptions, sources, licences, row
counts, year coverage and file hashes) and ``docs/data-build-report.md``.

Every table goes through the same validation as a user import
(:func:`critmat.data.validate.validate_frame`), so the shipped data obey the published schema.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sqlite3
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from critmat._version import __version__
from critmat.checks import check_non_negative, check_shares_sum, check_units_known, coverage
from critmat.data.catalog import Catalog
from critmat.data.io import write_table_parquet
from critmat.data.names import CountryResolver, MaterialResolver, normalise_name
from critmat.data.validate import ValidationContext, validate_frame
from critmat.dims import GROUP_MATERIALS

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "scripts" / "schema"
CURATION = ROOT / "scripts" / "curation"
OUT = ROOT / "src" / "critmat" / "data" / "embedded"
REPORT = ROOT / "docs" / "data-build-report.md"

#: Version of the embedded dataset (bump when the data change).
DATASET_VERSION = "2026.12.1"

#: CEPII codes whose ISO-3 in the BACI country table is not an ISO 3166 code.
CEPII_OVERRIDES = {490: "TWN", 849: "UMI"}

#: HS92 chapters/headings whose products are extraction-stage (ores, concentrates, crude
#: minerals and fuels); every other mapped product is processing-stage.
EXTRACTION_CHAPTERS = ("25", "26", "27")


@dataclass
class Build:
    """State shared by the build steps."""

    ref: Path
    catalog: Catalog
    notes: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    seen_materials: dict[str, set[str]] = field(default_factory=dict)
    seen_countries: dict[str, set[str]] = field(default_factory=dict)
    ctx: ValidationContext | None = None

    def note(self, text: str) -> None:
        print(f"  note: {text}")
        self.notes.append(text)

    def material(self, name: str, source: str) -> str:
        assert self.ctx is not None
        self.seen_materials.setdefault(normalise_name(name), set()).add(source)
        return self.ctx.materials.resolve(name, where=source)

    def country(self, name: str, source: str) -> str:
        assert self.ctx is not None
        self.seen_countries.setdefault(normalise_name(name), set()).add(source)
        return self.ctx.countries.resolve(name, where=source)

    def add(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        assert self.ctx is not None
        spec = self.catalog.table(name)
        clean = validate_frame(frame, spec, self.ctx, file=f"build:{name}")
        self.tables[name] = clean
        print(f"  {name}: {len(clean):,} rows")
        return clean


# --------------------------------------------------------------------------- descriptor


def _field_descriptor(f: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f["name"], "type": f.get("type", "string")}
    for key in ("description", "unit"):
        if key in f:
            out[key] = f[key]
    if f.get("type") == "date":
        out["format"] = "default"
    if "constraints" in f:
        out["constraints"] = dict(f["constraints"])
    for key in ("ref", "derived", "default", "list"):
        if key in f:
            out[f"critmat:{key}"] = f[key]
    return out


def load_schema() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Table specs and sources: ``tables.yaml`` and ``sources.yaml`` plus the fragments.

    A part of the dataset may keep its specs in ``schema/tables.d/<part>.yaml`` and its sources
    in ``schema/sources.d/<part>.yaml`` (read in name order after the main files). A table or
    source id defined twice is an error.
    """
    tables: dict[str, Any] = dict(
        yaml.safe_load((SCHEMA_DIR / "tables.yaml").read_text(encoding="utf-8"))
    )
    sources: list[dict[str, Any]] = list(
        yaml.safe_load((SCHEMA_DIR / "sources.yaml").read_text(encoding="utf-8"))
    )
    for path in sorted((SCHEMA_DIR / "tables.d").glob("*.yaml")):
        for name, spec in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if name in tables:
                sys.exit(f"{path}: table '{name}' is already defined")
            tables[name] = spec
    seen = {s["name"] for s in sources}
    for path in sorted((SCHEMA_DIR / "sources.d").glob("*.yaml")):
        for src in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if src["name"] in seen:
                sys.exit(f"{path}: source '{src['name']}' is already defined")
            seen.add(src["name"])
            sources.append(src)
    return tables, sources


def part_steps() -> list[Any]:
    """Build steps of the dataset parts in ``scripts/build_parts/`` (name order).

    Each module defines ``build(b: Build) -> None``; the steps run after the core tables and
    before the materials and alias tables (which collect every name seen by any step).
    """
    import importlib

    sys.path.insert(0, str(ROOT / "scripts"))
    names = sorted(p.stem for p in (ROOT / "scripts" / "build_parts").glob("[!_]*.py"))
    return [importlib.import_module(f"build_parts.{n}").build for n in names]


def skeleton_descriptor() -> dict[str, Any]:
    """The datapackage descriptor from tables.yaml and sources.yaml (without stats)."""
    tables, sources = load_schema()
    by_id = {s["name"]: s for s in sources}
    resources = []
    for name, t in tables.items():
        schema: dict[str, Any] = {"fields": [_field_descriptor(f) for f in t["fields"]]}
        if t.get("primary_key"):
            schema["primaryKey"] = list(t["primary_key"])
        res_sources = []
        for sid in t.get("sources", []):
            s = by_id[sid]
            res_sources.append({k: s[k] for k in ("name", "title", "path") if k in s})
        # user-only tables (bom, build_rates) ship a schema and no rows: inline empty data
        storage: dict[str, Any] = (
            {"data": [], "critmat:user_only": True}
            if t.get("user_only")
            else {
                "path": f"{name}.parquet",
                "format": "parquet",
                "mediatype": "application/vnd.apache.parquet",
            }
        )
        resources.append(
            {
                "name": name,
                **storage,
                "title": t["title"],
                "description": " ".join(str(t.get("description", "")).split()),
                "schema": schema,
                "sources": res_sources,
                "licenses": _licences(by_id[s] for s in t.get("sources", [])),
            }
        )
    package_sources = [{k: v for k, v in s.items() if k != "reference_path"} for s in sources]
    return {
        "profile": "data-package",
        "name": "critmat-knowledge-base",
        "title": "critmat knowledge base: critical raw materials for European defence",
        "description": (
            "Validated, cited dataset shipped inside the critmat package: BACI trade, World "
            "Mining Data production, World Bank governance indicators, the EU 2023 CRM "
            "assessment tables, USGS MCS 2026 extracts, China's 2023-2025 export controls, "
            "defence and stockpile facts, cited defence uses and systems, the CRMA 2024 and "
            "NATO 2024 lists; schemas of the user tables for bills of materials and build rates."
        ),
        "version": DATASET_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "licenses": _licences(sources),
        "sources": package_sources,
        "resources": resources,
        "critmat:generator": f"scripts/build_dataset.py (critmat {__version__})",
    }


def _licences(sources: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    seen: dict[str, dict[str, str]] = {}
    for s in sources:
        for lic in s.get("licenses", []):
            seen.setdefault(lic["name"], {k: str(v) for k, v in lic.items()})
    return list(seen.values())


# --------------------------------------------------------------------------- reference tables


def build_units(b: Build) -> None:
    units = pd.read_csv(CURATION / "units.csv")
    units["source_id"] = "critmat_curation"
    b.tables["units"] = units  # validated once the context exists


def build_countries(b: Build) -> None:
    import country_converter as coco

    cc = coco.CountryConverter().data
    nato = pd.read_csv(CURATION / "nato_members.csv")
    con = sqlite3.connect(b.ref / "geopolrisk-data" / "baci.db")
    baci = pd.read_sql("select * from country_codes_V202401b", con)
    con.close()
    baci["country_code"] = baci["country_code"].astype(int)
    baci["iso3"] = [
        CEPII_OVERRIDES.get(c, i)
        for c, i in zip(baci["country_code"], baci["country_iso3"], strict=True)
    ]
    countries = pd.DataFrame(
        {
            "country": cc["ISO3"],
            "name": cc["name_short"],
            "name_official": cc["name_official"],
            "iso2": cc["ISO2"],
            "iso_numeric": pd.to_numeric(cc["ISOnumeric"], errors="coerce").astype("Int64"),
            "kind": "country",
            "continent": cc["continent"],
            "un_region": cc["UNregion"],
            "eu27": cc["EU27"].notna() & (cc["EU27"].astype(str) == "EU27"),
            "nato": cc["ISO3"].isin(set(nato["country"])),
            "oecd": cc["OECD"].notna(),
            "g7": cc["G7"].notna() & (cc["G7"].astype(str) == "G7"),
            "regex": cc["regex"],
            "source_id": "country_converter",
        }
    )
    countries.loc[countries["nato"], "source_id"] = "country_converter;nato_members"
    missing_nato = set(nato["country"]) - set(countries["country"])
    if missing_nato:
        sys.exit(f"NATO members not in country_converter: {missing_nato}")
    # CEPII code of every ISO country (first code wins; overrides included)
    cepii = (
        baci.sort_values("country_code").drop_duplicates("iso3").set_index("iso3")["country_code"]
    )
    countries["cepii_code"] = countries["country"].map(cepii).astype("Int64")
    # BACI entities that are not ISO countries: historic states and statistical aggregates
    extra = baci[~baci["iso3"].isin(set(countries["country"]))]
    historic = {"CSK", "DDR", "ANT", "SUN", "SCG"}
    rows = []
    for r in extra.itertuples(index=False):
        rows.append(
            {
                "country": r.iso3,
                "name": r.country_name.split(" (...")[0],
                "name_official": r.country_name,
                "iso2": r.country_iso2 or pd.NA,
                "iso_numeric": pd.NA,
                "kind": "historic" if r.iso3 in historic else "aggregate",
                "continent": pd.NA,
                "un_region": pd.NA,
                "eu27": False,
                "nato": False,
                "oecd": False,
                "g7": False,
                "regex": pd.NA,
                "cepii_code": r.country_code,
                "source_id": "baci_hs92_v202401b",
            }
        )
        b.note(
            f"BACI entity kept as {rows[-1]['kind']}: {r.iso3} '{r.country_name}' "
            f"(CEPII {r.country_code})"
        )
    countries = pd.concat([countries, pd.DataFrame(rows)], ignore_index=True)
    assert countries["eu27"].sum() == 27, countries["eu27"].sum()
    assert countries["nato"].sum() == 32, countries["nato"].sum()
    b.tables["countries"] = countries
    b.tables["_cepii"] = baci[["country_code", "iso3"]]


def build_materials_curation(b: Build) -> None:
    mats = pd.read_csv(CURATION / "materials.csv", dtype=str, keep_default_na=False)
    b.tables["_materials_curation"] = mats
    aliases = pd.read_csv(CURATION / "material_aliases.csv", dtype=str)
    aliases["alias"] = aliases["alias"].map(normalise_name)
    b.tables["_material_aliases_curation"] = aliases


def make_context(b: Build) -> None:
    mats = b.tables["_materials_curation"].replace("", pd.NA)
    aliases = b.tables["_material_aliases_curation"]
    caliases = pd.read_csv(CURATION / "country_aliases.csv", dtype=str)
    caliases["alias"] = caliases["alias"].map(normalise_name)
    b.tables["_country_aliases_curation"] = caliases
    b.ctx = ValidationContext(
        materials=MaterialResolver(mats, aliases),
        countries=CountryResolver(b.tables["countries"], caliases),
        units=b.tables["units"],
        # production of a material measured by volume (natural gas, Mio m3) keeps its unit
        volume_materials=frozenset(mats.loc[mats["measured_as"] == "volume", "material"]),
    )
    b.add("units", b.tables["units"])
    b.add("countries", b.tables["countries"])


# --------------------------------------------------------------------------- HS codes & trade


def _hs_stage(hs6: str) -> str:
    return "extraction" if hs6[:2] in EXTRACTION_CHAPTERS else "processing"


def build_hs_codes(b: Build) -> None:
    gp = b.ref / "geopolrisk-data"
    con = sqlite3.connect(gp / "baci.db")
    products = pd.read_sql("select * from product_codes_HS92_V202401b", con)
    con.close()
    desc = dict(zip(products["code"], products["description"], strict=True))
    con = sqlite3.connect(gp / "world_mining_data.db")
    hsmap = pd.read_sql('select * from "HS Code Map"', con)
    con.close()
    xlsx = pd.read_excel(
        gp / "raw-material-hs-mapping.xlsx", sheet_name="Raw material data", dtype=str
    )
    rows: list[dict[str, str]] = []

    def codes(text: object) -> list[str]:
        if not isinstance(text, str) or "Not Available" in text:
            return []
        return [c.strip() for c in re.split(r"[;,]", text) if c.strip()]

    hsmap = hsmap.rename(columns={"HS Code": "hs_primary", "HS Code - Complementary": "hs_comp"})
    for r in hsmap.itertuples(index=False):
        mat = b.material(r.Sheet_name, "gprs_hs_mapping")
        for role, text in (("primary", r.hs_primary), ("complementary", r.hs_comp)):
            for c in codes(text):
                rows.append({"hs6": c, "material": mat, "role": role})
    diamonds = {"710210": "diamonds_gem", "710510": "diamonds_industrial"}
    for r in xlsx.itertuples(index=False):
        name = r[0]
        for role, text in (("primary", r[3]), ("complementary", r[4])):
            for c in codes(text):
                mat = diamonds.get(c) or b.material(name, "gprs_hs_mapping")
                rows.append({"hs6": c, "material": mat, "role": role})
    hs = pd.DataFrame(rows).drop_duplicates(["hs6", "material"], keep="first")
    hs["stage"] = hs["hs6"].map(_hs_stage)
    hs["description"] = hs["hs6"].map(desc)
    hs["source_id"] = "gprs_hs_mapping;baci_hs92_v202401b"
    for r in hs[hs["description"].isna()].itertuples():
        b.note(f"HS code {r.hs6} ({r.material}) not in the BACI HS92 product table")
    b.add("hs_codes", hs)


def build_trade(b: Build) -> None:
    con = sqlite3.connect(b.ref / "geopolrisk-data" / "baci.db")
    raw = pd.read_sql("select t, i, j, k, v, q from baci_trade", con)
    con.close()
    cepii = b.tables["_cepii"]
    to_iso = dict(zip(cepii["country_code"], cepii["iso3"], strict=True))
    codes = pd.to_numeric(pd.concat([raw["i"], raw["j"]]).unique())
    unknown = sorted(set(codes.astype(int)) - set(to_iso))
    if unknown:
        sys.exit(f"BACI country codes without ISO-3: {unknown}")
    trade = pd.DataFrame(
        {
            "year": raw["t"].astype(int),
            "exporter": raw["i"].astype(int).map(to_iso),
            "importer": raw["j"].astype(int).map(to_iso),
            "hs6": raw["k"].astype(int).map("{:06d}".format),
            "value_kusd": pd.to_numeric(raw["v"]),
            "quantity_t": pd.to_numeric(raw["q"].replace({"": None, "nan": None})),
            "source_id": "baci_hs92_v202401b",
        }
    )
    unmapped = sorted(set(trade["hs6"]) - set(b.tables["hs_codes"]["hs6"]))
    if unmapped:
        b.note(f"BACI HS codes kept in trade but not mapped to a material: {unmapped}")
    b.note(f"trade: {trade['quantity_t'].isna().sum():,} rows without quantity (kept, NaN)")
    trade = b.add("trade", trade)
    # compact storage: sorted for good compression and fast filters
    b.tables["trade"] = trade.sort_values(
        ["hs6", "year", "exporter", "importer"], ignore_index=True
    )


# --------------------------------------------------------------------------- production


def build_production(b: Build) -> None:
    mats = b.tables["_materials_curation"]
    by_sheet = {r.wmd_commodity: r for r in mats.itertuples() if r.wmd_commodity}
    con = sqlite3.connect(b.ref / "geopolrisk-data" / "world_mining_data.db")
    sheets = [
        t
        for (t,) in con.execute("select name from sqlite_master where type='table'")
        if t not in ("HS Code Map", "Country_ISO", "logging")
    ]
    frames = []
    resolver = b.ctx.countries if b.ctx else None
    assert resolver is not None
    for sheet in sheets:
        if sheet not in by_sheet:
            sys.exit(f"World Mining Data commodity '{sheet}' has no material in curation")
        m = by_sheet[sheet]
        df = pd.read_sql(f'select * from "{sheet}"', con)
        df = df[df["Country_ISO"] != "DELETE"]
        iso = []
        for name, code in zip(df["Country"], df["Country_ISO"], strict=True):
            by_name = b.country(name, "wmd_bmf")
            if code != by_name:
                b.note(
                    f"WMD {sheet}: '{name}' has ISO '{code}' in the source; "
                    f"resolved by name to {by_name}"
                )
            iso.append(by_name)
        df = df.assign(country=iso)
        years = [c for c in df.columns if re.fullmatch(r"\d{4}", c)]
        long = df.melt(
            id_vars=["country", "unit", "data_source"],
            value_vars=years,
            var_name="year",
            value_name="quantity",
        ).dropna(subset=["quantity"])
        long["material"] = m.material
        long["measured_as"] = m.measured_as or pd.NA
        frames.append(long)
        b.seen_materials.setdefault(normalise_name(sheet), set()).add("wmd_bmf")
    con.close()
    prod = pd.concat(frames, ignore_index=True)
    prod["year"] = prod["year"].astype(int)
    prod["stage"] = "extraction"
    prod["data_flag"] = prod["data_source"].where(prod["data_source"].isin(["r", "e", "p"]))
    prod["source_id"] = "wmd_bmf"
    prod = prod.drop(columns=["data_source"])
    check_units_known(prod, b.tables["units"])
    b.add("production", prod)


# --------------------------------------------------------------------------- governance


def _wgi_long(path: Path, vintage: str, source: str, b: Build) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype={"iso3": str, "country": str, "indicator": str})
    raw = raw.dropna(subset=["estimate"])
    wide = raw.pivot_table(
        index=["iso3", "year"], columns="indicator", values="estimate", aggfunc="first"
    ).reset_index()
    wide.columns = [str(c).lower() for c in wide.columns]
    wide = wide.rename(columns={"iso3": "country"})
    names = raw.drop_duplicates("iso3").set_index("iso3")["country"]
    for code in sorted(set(wide["country"])):
        if code not in set(b.tables["countries"]["country"]):
            sys.exit(f"WGI code {code} ('{names.get(code)}') not in the countries table")
    wide["vintage"] = vintage
    wide["source_id"] = source
    return wide


_MISSING_TEXT = {"nan": np.nan, "None": np.nan, "": np.nan}


def build_governance(b: Build) -> None:
    wgi = b.ref / "wgi-six-dimensions"
    frames = [
        _wgi_long(wgi / "wgi_estimates.csv", "wgi_2023", "wgi_2023", b),
        _wgi_long(wgi / "wgi_estimates_2024_update.csv", "wgi_2024", "wgi_2024", b),
    ]
    con = sqlite3.connect(b.ref / "geopolrisk-data" / "wgi.db")
    est = pd.read_sql("select * from Estimate", con)
    norm = pd.read_sql("select * from Normalized", con)
    con.close()
    years = [c for c in est.columns if re.fullmatch(r"\d{4}", c)]
    est = est[~est["Code"].isin(["GUY", "PUS"])]
    b.note("wgi_pv_geopolrisk: GUY row dropped (it holds French Guiana's series)")
    b.note(
        "wgi_pv_geopolrisk: PUS 'US Misc. Pacific Isds' row dropped (its values are the "
        "WGI series of Jersey, JEY; e.g. PV 2015 = 1.53304 = WGI 2023 Update JEY)"
    )
    pv = est.melt(id_vars=["Code"], value_vars=years, var_name="year", value_name="pv")
    pv["pv"] = pd.to_numeric(pv["pv"].replace(_MISSING_TEXT))
    pv = pv.dropna(subset=["pv"]).rename(columns={"Code": "country"})
    pv["year"] = pv["year"].astype(int)
    pv["vintage"] = "wgi_pv_geopolrisk"
    pv["source_id"] = "wgi_pv_geopolrisk"
    frames.append(pv)
    gov = pd.concat(frames, ignore_index=True)
    clean = b.add("governance", gov)
    # cross-check: our pv_normalised equals the geopolrisk bundle's Normalized table
    nlong = norm[~norm["Code"].isin(["GUY", "PUS"])].melt(
        id_vars=["Code"], value_vars=years, var_name="year", value_name="norm"
    )
    nlong["norm"] = pd.to_numeric(nlong["norm"].replace(_MISSING_TEXT))
    nlong["year"] = nlong["year"].astype(int)
    ours = clean[clean["vintage"] == "wgi_pv_geopolrisk"][["country", "year", "pv_normalised"]]
    joined = ours.merge(nlong, left_on=["country", "year"], right_on=["Code", "year"])
    diff = (joined["pv_normalised"].astype(float) - joined["norm"]).abs()
    if (diff > 1e-6).any():
        sys.exit(f"pv_normalised differs from wgi.db Normalized:\n{joined[diff > 1e-6]}")
    b.note(
        f"governance: pv_normalised equals wgi.db 'Normalized' for {len(joined):,} "
        f"country-years (max |diff| {diff.max():.2e})"
    )


# --------------------------------------------------------------------------- EU CRM 2023


_STAGE = {"E": "extraction", "P": "processing"}


def _share(text: str) -> tuple[float, str]:
    s = str(text).strip()
    bound = {"<": "upper", ">": "lower"}.get(s[:1], "exact")
    num = float(s.lstrip("<>").rstrip("%").strip())
    return num / 100.0, bound


def _eu_shares(b: Build, path: Path, mix: str, source: str) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str)
    out = pd.DataFrame(
        {
            "material": [b.material(m, source) for m in raw["Material"]],
            "stage": raw["Stage"].map(_STAGE),
            "mix": mix,
            "country": [b.country(c, source) for c in raw["Country"]],
            "share_text": raw["Share"],
            "t": pd.to_numeric(raw["t"]),
            "source_id": source,
        }
    )
    parsed = [_share(s) for s in raw["Share"]]
    out["share"] = [p[0] for p in parsed]
    out["share_bound"] = [p[1] for p in parsed]
    for s in raw["Share"][~raw["Share"].str.contains("%")]:
        b.note(f"{source}: share '{s}' has no % sign; read as percent like all others")
    dup = out.duplicated(["material", "stage", "mix", "country"], keep=False)
    if dup.any():
        for key, grp in out[dup].groupby(["material", "stage", "mix", "country"]):
            b.note(
                f"{source}: {key} listed {len(grp)} times under different spellings "
                f"({', '.join(raw.loc[grp.index, 'Country'])}); shares summed "
                f"({', '.join(grp['share_text'])})"
            )
        agg = out.groupby(["material", "stage", "mix", "country"], as_index=False).agg(
            share=("share", "sum"),
            share_bound=("share_bound", "first"),
            share_text=("share_text", " + ".join),
            t=("t", "max"),
            source_id=("source_id", "first"),
        )
        out = agg
    return out


def build_eu_crm(b: Build) -> None:
    d = b.ref / "eu-crm-2023-report-tables"
    shares = pd.concat(
        [
            _eu_shares(b, d / "global_supply_shares_and_t_2023.csv", "global", "eu_crm_2023_gs"),
            _eu_shares(
                b, d / "eu_sourcing_shares_and_t_2023.csv", "eu_sourcing", "eu_crm_2023_eus"
            ),
        ],
        ignore_index=True,
    )
    clean = b.add("eu_crm_2023", shares)
    glob = clean[clean["mix"] == "global"]
    bad = check_shares_sum(glob, ["material", "stage"], tolerance=0.05, strict=False)
    for r in bad.itertuples():
        b.note(f"eu_crm_2023 global shares of {r.material}/{r.stage} sum to {r.total:.3f}")
    bad = check_shares_sum(
        clean[clean["mix"] == "eu_sourcing"],
        ["material", "stage"],
        tolerance=0.05,
        mode="at_most",
        strict=False,
    )
    for r in bad.itertuples():
        b.note(f"eu_crm_2023 EU sourcing shares of {r.material}/{r.stage} sum to {r.total:.3f}")

    p = pd.read_csv(d / "eu_crm_2023_inputs_ir_eolrir_si_critmat.csv", dtype=str)
    stages = p["stages_assessed"].map(lambda s: ";".join(_STAGE[x] for x in str(s).split("+")))
    params = pd.DataFrame(
        {
            "material": [b.material(m, "eu_crm_2023_params") for m in p["material_name"]],
            "stages_assessed": stages,
            "si_ei": pd.to_numeric(p["si_ei"]),
            "si_sr": pd.to_numeric(p["si_sr"]),
            "ir_extraction": pd.to_numeric(p["import_reliance_extraction_pct"]) / 100,
            "ir_processing": pd.to_numeric(p["import_reliance_processing_pct"]) / 100,
            "eol_rir": pd.to_numeric(p["eol_rir_pct"]) / 100,
            "source_id": "eu_crm_2023_params",
        }
    )
    b.add("eu_crm_2023_parameters", params)

    u = pd.read_csv(d / "material_use_shares_2023.csv", dtype=str)
    nace = u["NACE sector"].str.extract(r"^\s*([A-U]\d{2})\b")[0]
    use = pd.DataFrame(
        {
            "material": [b.material(m, "eu_crm_2023_use") for m in u["Material"]],
            "application": u["Application"].str.strip(),
            "share": [_share(s)[0] for s in u["Share"]],
            "share_bound": [_share(s)[1] for s in u["Share"]],
            "nace_code": nace,
            "nace_sector": u["NACE sector"].str.strip(),
            "value_added_meur": pd.to_numeric(u["VA in million €"]),
            "source_id": "eu_crm_2023_use",
        }
    )
    exact = use.duplicated(keep="first")
    for r in use[exact].itertuples():
        b.note(
            f"eu_crm_2023_end_use: {r.material} '{r.application}' {r.share:.0%} "
            f"({r.nace_code}) is listed twice, identically, in the transcription; the copy "
            "is dropped (not summed)"
        )
    use = use[~exact]
    split = use.duplicated(["material", "application"], keep=False)
    for (mat, app), grp in use[split].groupby(["material", "application"]):
        parts = ", ".join(
            f"{c} {s:.0%}" for c, s in zip(grp["nace_code"], grp["share"], strict=True)
        )
        b.note(
            f"eu_crm_2023_end_use: {mat} '{app}' is allocated to {len(grp)} NACE sectors "
            f"({parts}); one row each (primary key material, application, nace_code)"
        )
    clean_use = b.add("eu_crm_2023_end_use", use)
    bad = check_shares_sum(clean_use, ["material"], tolerance=0.05, strict=False)
    for r in bad.itertuples():
        b.note(f"eu_crm_2023_end_use: shares of {r.material} sum to {r.total:.3f}")

    t = pd.read_csv(d / "eu_crm_2023_trade_parameters_critmat_verbatim.csv", dtype=str)
    tp = pd.DataFrame(
        {
            "material": [b.material(m, "eu_crm_2023_t") for m in t["material_name"]],
            "country": [b.country(c, "eu_crm_2023_t") for c in t["country_name"]],
            "stage": t["category"].map({"primary": "extraction", "refined": "processing"}),
            "mix": t["scope"].map({"world": "global", "eu": "eu_sourcing"}),
            "t": pd.to_numeric(t["parameter"]),
            "source_id": "eu_crm_2023_t",
        }
    )
    dup = tp.duplicated(["material", "country", "stage", "mix"], keep=False)
    if dup.any():
        b.note(
            f"eu_crm_2023_trade_parameters: {dup.sum()} duplicated rows in the CritMAT "
            "file; identical duplicates dropped"
        )
        tp = tp.drop_duplicates()
    clean_tp = b.add("eu_crm_2023_trade_parameters", tp)
    cmp = clean_tp.merge(
        clean,
        on=["material", "country", "stage", "mix"],
        how="left",
        suffixes=("_critmat", "_report"),
    )
    diff = cmp[(cmp["t_critmat"] - cmp["t_report"]).abs() > 1e-9]
    for r in diff.itertuples():
        b.note(
            f"t differs: {r.material}/{r.country}/{r.stage}/{r.mix}: CritMAT {r.t_critmat} "
            f"vs shares table {r.t_report}"
        )
    missing = cmp[cmp["t_report"].isna()]
    for r in missing.itertuples():
        b.note(
            f"CritMAT t for {r.material}/{r.country}/{r.stage}/{r.mix} = {r.t_critmat} has "
            "no row in the shares table"
        )


# --------------------------------------------------------------------------- EU CRM published

SOURCES_DIR = ROOT / "scripts" / "sources"

#: SHA-256 of the verbatim third-party files under scripts/sources (see their SOURCES.md).
VERBATIM_SHA256 = {
    "eu_crm_2023_published/critmat_eureport_results.csv": (
        "c844be88cca676dd1910e3933cba524992a1722e8b5c1b58338ad646d0e37675"
    ),
    "eu_crm_assessments/emilsson_dimension_CRMsOverTime.csv": (
        "7dbcb284a429647effa3a4a737474f0c655c14b4eaecf79f22326ef0a02d774a"
    ),
}

_MIX_LABELS = {"GS+EU": "GS+EU", "GSonly": "GSonly", "EUonly": "EUonly", "EU": "EUonly"}
_STAGE_NAME = {"Extraction": "extraction", "Processing": "processing"}


#: Published values kept as transcribed but doubtful (research notes, FINDINGS.md of the
#: reproduction study; see docs/eu-crm.md).
_PUBLISHED_DOUBTS = {
    "platinum": "SR transcribed unrounded (2.13; SR_P 2.1)",
    "pgm": "SR_P transcribed unrounded (2.74 = mean of the members)",
    "lree": "SR_P transcribed unrounded (3.58 = mean of the members with Pr 3.2)",
    "praseodymium": "SR_P empty in the transcription (3.2 is implied by the LREE mean 3.58 "
    "and by SR 3.2 at the processing stage; not filled in)",
    "perlite": "extraction mix labelled GSonly, but the published 0.8 equals the EU-sourcing "
    "value (IR 0 %)",
    "yttrium": "processing mix labelled GSonly, but the global mix alone gives 5.1, not 3.5",
    "aluminium": "the Emilsson transcription of the same report gives SR 1.1 and EI 5.5 "
    "(aluminium/bauxite)",
    "silicon_metal": "the Emilsson transcription of the same report gives SR 1.3",
}


def _verbatim(relpath: str) -> Path:
    path = SOURCES_DIR / relpath
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != VERBATIM_SHA256[relpath]:
        sys.exit(
            f"{path}: sha256 {digest} differs from the recorded "
            f"{VERBATIM_SHA256[relpath]}; the verbatim copy was changed"
        )
    return path


def _score(text: object) -> float | None:
    s = str(text).strip() if isinstance(text, str) else ""
    return float(s) if re.fullmatch(r"\d+(\.\d+)?", s) else None


def build_eu_crm_published(b: Build) -> None:
    """Published 2023 SR/EI per material from the verbatim CritMAT results file."""
    raw = pd.read_csv(
        _verbatim("eu_crm_2023_published/critmat_eureport_results.csv"),
        dtype=str,
        keep_default_na=False,
    )
    dup = raw.duplicated(keep="first")
    for name in raw.loc[dup, "material_name"]:
        b.note(
            f"eu_crm_2023_published: the {name} row is listed twice, identically; the copy "
            "is dropped"
        )
    raw = raw[~dup]
    rows = []
    for r in raw.itertuples(index=False):
        notes: list[str] = []
        mix_e, sr_e_text = r.eu_used_supply_primary, r.supply_risk_primary
        mix_p, sr_p_text = r.eu_used_supply_refined, r.supply_risk_refined
        if sr_e_text == "" and _score(mix_p) is not None:
            notes.append(
                f"column shift fixed: SR_E {mix_p} was in the processing-mix column "
                "(processing mix label unknown)"
            )
            b.note(
                f"eu_crm_2023_published: {r.material_name}: SR_E {mix_p} sits in the "
                "processing-mix column (column shift); moved to sr_extraction"
            )
            sr_e_text, mix_p = mix_p, ""
        if sr_e_text.endswith("%"):
            value = float(sr_e_text.rstrip("%")) / 100
            notes.append(
                f"SR_E transcribed as '{sr_e_text}', read as {value:g} (the mean of "
                "the members' published SR_E is 2.84)"
            )
            b.note(f"eu_crm_2023_published: {r.material_name} SR_E '{sr_e_text}' read as {value:g}")
            sr_e_text = f"{value:g}"
        for label in (mix_e, mix_p):
            if label and label not in _MIX_LABELS:
                sys.exit(f"eu_crm_2023_published: unknown mix label '{label}' ({r.material_name})")
        if "EU" in (mix_e, mix_p):
            notes.append("processing mix transcribed as 'EU', read as EUonly")
            b.note(f"eu_crm_2023_published: {r.material_name} mix 'EU' read as EUonly")
        stages = ";".join(_STAGE[x] for x in r.eu_stages.split("+"))
        material = b.material(r.material_name, "eu_crm_2023_results")
        if material in _PUBLISHED_DOUBTS:
            notes.append(_PUBLISHED_DOUBTS[material])
        rows.append(
            {
                "material": material,
                "listed_name": r.material_name,
                "sr": _score(r.supply_risk),
                "ei": _score(r.economic_importance),
                "stage_used": _STAGE_NAME.get(r.eu_used_stage, pd.NA),
                "stages_assessed": stages,
                "sr_extraction": _score(sr_e_text),
                "sr_processing": _score(sr_p_text),
                "mix_extraction": _MIX_LABELS.get(mix_e, pd.NA),
                "mix_processing": _MIX_LABELS.get(mix_p, pd.NA),
                "transcription_note": "; ".join(notes) or pd.NA,
                "source_id": "eu_crm_2023_results",
            }
        )
    pub = b.add("eu_crm_2023_published", pd.DataFrame(rows))
    missing = sorted(set(_PUBLISHED_DOUBTS) - set(pub["material"]))
    if missing:
        sys.exit(f"eu_crm_2023_published: notes for materials not in the file: {missing}")


def build_eu_crm_assessments(b: Build) -> None:
    """Published SR/EI of the 2011-2023 assessments from the verbatim Emilsson file."""
    raw = pd.read_csv(
        _verbatim("eu_crm_assessments/emilsson_dimension_CRMsOverTime.csv"),
        dtype=str,
        keep_default_na=False,
    )
    names = raw["Material"].str.replace(r"\s*[\r\n]+\s*", " ", regex=True).str.strip()
    for before in sorted(set(raw["Material"][names != raw["Material"]])):
        b.note(f"eu_crm_assessments: line break removed in {before!r}")
    missing = raw[["SR", "EI"]].apply(lambda c: c.str.strip().eq("-"))
    b.note(
        f"eu_crm_assessments: {int(missing.any(axis=1).sum())} of {len(raw)} rows have "
        "'-' (not assessed / no value), read as missing"
    )
    out = pd.DataFrame(
        {
            "material": [b.material(m, "eu_crm_assessments_emilsson") for m in names],
            "year": raw["Year"].astype(int),
            "listed_name": names,
            "sr": [_score(x) for x in raw["SR"]],
            "ei": [_score(x) for x in raw["EI"]],
            "note": pd.NA,
            "source_id": "eu_crm_assessments_emilsson",
        }
    )
    notes = {
        ("aluminium", 2023): "assessed as aluminium/bauxite; the CritMAT transcription of "
        "the same report gives SR 1.2 and EI 5.8",
        ("bauxite", 2023): "assessed together with aluminium in 2023",
        ("silicon_metal", 2023): "the CritMAT transcription of the same report gives SR 1.4",
    }
    for (mat, year), text in notes.items():
        out.loc[(out["material"] == mat) & (out["year"] == year), "note"] = text
    b.add("eu_crm_assessments", out)


def build_eu_crm_notes(b: Build) -> None:
    """Curated reasons for the EU 2023 values critmat does not reproduce."""
    n = pd.read_csv(
        CURATION / "eu_crm_2023_reproduction_notes.csv", dtype=str, keep_default_na=False
    ).replace("", pd.NA)
    n["material"] = [b.material(m, "critmat_curation") for m in n["material"]]
    n["source_id"] = "critmat_curation"
    notes = b.add("eu_crm_2023_reproduction_notes", n)
    pub = b.tables["eu_crm_2023_published"]
    unknown = sorted(set(notes["material"]) - set(pub["material"]))
    if unknown:
        sys.exit(f"eu_crm_2023_reproduction_notes: materials without a published value: {unknown}")


# --------------------------------------------------------------------------- USGS


_USGS_SPECIAL = {"world total (rounded)", "other countries", "other"}


def _usgs_country(b: Build, label: str) -> Any:
    return pd.NA if label.strip().lower() in _USGS_SPECIAL else b.country(label, "usgs_mcs2026")


def _usgs_value(text: object) -> tuple[float | None, str]:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None, "missing"
    s = str(text).strip()
    if s == "W":
        return None, "withheld"
    if s.lower() == "included in world total":
        return None, "in_world_total"
    if s.startswith(">"):
        return float(s[1:].replace(",", "")), "lower_bound"
    if s.startswith("<"):
        return float(s[1:].replace(",", "")), "upper_bound"
    if s == "E":
        return None, "net_exporter"
    if s.upper() in ("NA", "--", "—"):
        return None, "not_available"
    return float(s.replace(",", "")), "exact"


def build_usgs(b: Build) -> None:
    d = b.ref / "usgs-mcs2026"
    w = pd.read_csv(d / "mcs2026_world_production_reserves.csv", dtype=str)
    rows = []
    for r in w.itertuples(index=False):
        mat = b.material(r.material, "usgs_mcs2026")
        country = _usgs_country(b, r.country)
        factor = 0.001 if r.unit.startswith("kilograms") else 1.0
        prod_var = "refinery_production" if mat == "gallium" else "mine_production"
        for col, var, year, est in (
            ("production_2024", prod_var, 2024, False),
            ("production_2025e", prod_var, 2025, True),
            ("reserves", "reserves", 2025, False),
            ("capacity", "capacity", 2025, False),
        ):
            value, flag = _usgs_value(getattr(r, col))
            if flag == "missing":
                continue
            rows.append(
                {
                    "material": mat,
                    "country": country,
                    "country_label": r.country,
                    "variable": var,
                    "year": year,
                    "estimated": est,
                    "value": value,
                    "value_flag": flag,
                    "value_text": getattr(r, col),
                    "unit": r.unit,
                    "quantity_t": None if value is None else value * factor,
                    "source_id": "usgs_mcs2026",
                }
            )
    world = b.add("usgs_mcs2026", pd.DataFrame(rows))
    # invariant: countries sum to the rounded world total (USGS rounding; 5 % tolerance)
    prod = world[
        world["variable"].isin(["mine_production", "refinery_production"]) & world["value"].notna()
    ]
    is_total = prod["country_label"].str.lower().str.startswith("world total")
    parts = prod[~is_total].groupby(["material", "year"])["value"].sum()
    totals = prod[is_total].set_index(["material", "year"])["value"]
    ratio = (parts / totals).dropna()
    for key, v in ratio.items():
        if abs(v - 1) > 0.05:
            b.note(f"usgs_mcs2026: {key} country rows sum to {v:.3f} x the world total")

    s = pd.read_csv(d / "mcs2026_us_salient_nir_prices.csv", dtype=str)
    srows = []
    for r in s.itertuples(index=False):
        value, flag = _usgs_value(r.value)
        year_text = str(r.year)
        srows.append(
            {
                "material": b.material(r.material, "usgs_mcs2026"),
                "indicator": r.indicator,
                "year": int(year_text.removeprefix("FY").rstrip("e")),
                "estimated": year_text.endswith("e"),
                "value": value,
                "value_flag": "not_available" if flag == "missing" else flag,
                "value_text": r.value,
                "source_id": "usgs_mcs2026",
            }
        )
    b.add("usgs_mcs2026_salient", pd.DataFrame(srows))

    i = pd.read_csv(d / "mcs2026_us_import_sources.csv", dtype=str)
    imp = pd.DataFrame(
        {
            "material": [b.material(m, "usgs_mcs2026") for m in i["material"]],
            "import_category": i["import_category"],
            "period": i["period"],
            "country": [_usgs_country(b, c) for c in i["country"]],
            "country_label": i["country"],
            "share": pd.to_numeric(i["share_pct"]) / 100,
            "source_id": "usgs_mcs2026",
        }
    )
    clean = b.add("usgs_mcs2026_import_sources", imp)
    check_shares_sum(clean, ["material", "import_category"], tolerance=0.02, strict=True)


# --------------------------------------------------------------------------- events & facts


def _split_top(text: str, sep: str = ";") -> list[str]:
    """Split at ``sep`` outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == sep and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _item_material(b: Build, item: str) -> Any:
    assert b.ctx is not None
    base = re.sub(r"\s*\(.*\)\s*$", "", item).strip()
    hit = b.ctx.materials.lookup(base)
    if hit is None and base.lower().startswith("rare earth"):
        hit = "rare_earths"
    return pd.NA if hit is None else hit


def _published_date(text: str) -> tuple[str, str]:
    """Return (ISO date, precision) for 'YYYY-MM-DD...' or 'YYYY-MM ...' texts."""
    m = re.match(r"(\d{4})-(\d{2})(?:-(\d{2}))?", str(text).strip())
    if m is None:
        raise ValueError(f"unrecognised date '{text}'")
    year, month, day = m.groups()
    return f"{year}-{month}-{day or '01'}", "day" if day else "month"


def build_export_controls(b: Build) -> None:
    e = pd.read_csv(
        b.ref / "export-restrictions" / "china_export_controls_2023_2025.csv", dtype=str
    )
    rows = []
    for r in e.itertuples(index=False):
        items = _split_top(r.materials)
        mats = [_item_material(b, it) for it in items]
        items_text = r.items_and_reference_china_customs_codes
        text = items_text if isinstance(items_text, str) else ""
        # attribute each 10-digit customs code to the item named last before it
        names = {
            it: [n for n in {it.split(" (")[0], str(m)} if n and n != "<NA>"]
            for it, m in zip(items, mats, strict=True)
        }
        code_owner: dict[str, set[str]] = {it: set() for it in items}
        current = items[0]
        for token in re.finditer(r"[A-Za-z][A-Za-z\- ]+|\b\d{10}\b", text):
            tok = token.group(0)
            if tok.isdigit():
                code_owner[current].add(tok)
                continue
            for it, ns in names.items():
                if any(tok.strip().lower().startswith(n.lower()) for n in ns):
                    current = it
        if "9 digits" in text:
            b.note(
                f"export_controls {r.event_id}: one customs code printed with 9 digits in "
                "the source; not used"
            )
        announced, precision = _published_date(r.date_announced)
        eff_text = r.date_effective if isinstance(r.date_effective, str) else ""
        if eff_text.strip().lower() == "immediately":
            effective: Any = announced
        else:
            effective, _ = _published_date(eff_text) if eff_text else (pd.NA, "day")
        published = f"announced: {r.date_announced}; effective: {eff_text or 'not given'}"
        if precision != "day" or (eff_text and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", eff_text)):
            b.note(
                f"export_controls {r.event_id}: dates as published '{published}' -> "
                f"announced {announced} ({precision} precision), effective {effective}"
            )
        for it, mat in zip(items, mats, strict=True):
            cn = sorted(code_owner[it])
            rows.append(
                {
                    "event_id": r.event_id,
                    "item": it,
                    "material": mat,
                    "date_announced": announced,
                    "date_effective": effective,
                    "date_precision": precision,
                    "dates_as_published": published,
                    "issuer": r.issuer,
                    "instrument": r.instrument,
                    "scope": r.scope,
                    "items_text": text or pd.NA,
                    "hs6_codes": ";".join(sorted({c[:6] for c in cn})) or pd.NA,
                    "status": r.status_note if isinstance(r.status_note, str) else pd.NA,
                    "citation": r.source,
                    "source_id": "china_export_controls",
                }
            )
    b.add("export_controls", pd.DataFrame(rows))


def _single_number(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    s = text.strip().replace(",", "")
    return float(s) if re.fullmatch(r"-?\d+(\.\d+)?", s) else None


_SECONDARY = re.compile(
    r"as reported|via https|secondary|news|reported by|bloomberg|"
    r"mining-technology|argusmedia|metalswire|brubarian|wttlonline",
    re.IGNORECASE,
)


def build_facts(b: Build) -> None:
    f = pd.read_csv(
        b.ref / "defence-and-stockpile-facts" / "defence_stockpile_policy_facts.csv", dtype=str
    )
    rows = []
    for n, r in enumerate(f.itertuples(index=False), start=1):
        mats = (
            [pd.NA]
            if r.materials.strip() == "(all)"
            else [b.material(m, "defence_facts") for m in r.materials.split(";")]
        )
        for m in mats:
            rows.append(
                {
                    "fact_id": f"DF-{n:02d}",
                    "material_key": "all" if m is pd.NA else m,
                    "material": m,
                    "fact": r.fact,
                    "value": _single_number(r.value),
                    "value_text": r.value,
                    "unit": r.unit,
                    "notes": r.notes,
                    "secondary_source": bool(_SECONDARY.search(f"{r.source} {r.notes}")),
                    "citation": r.source,
                    "source_id": "defence_facts",
                }
            )
    b.add("defence_facts", pd.DataFrame(rows))


_CRMA_COMPOUND = {
    "bauxite/alumina/aluminium": ["bauxite", "aluminium"],
}


def build_lists(b: Build) -> None:
    d = b.ref / "defence-and-policy-lists"
    c = pd.read_csv(d / "crma_2024_annex_I_II.csv", dtype=str)
    rows = []
    for r in c.itertuples(index=False):
        for annex, flag, listed in (
            ("II", r.crma_annex_II_critical, r.material),
            ("I", r.crma_annex_I_strategic, r.annex_I_wording_as_listed),
        ):
            if str(flag) != "True":
                continue
            name = listed if isinstance(listed, str) else r.material
            base, _, qualifier = name.partition(" — ")
            if base in _CRMA_COMPOUND:
                mats = _CRMA_COMPOUND[base]
            elif "(" in base:  # e.g. rare earth elements for permanent magnets (Nd, Pr, ...)
                symbols = re.search(r"\((.*)\)", base)
                assert symbols is not None
                parts = re.split(r",|\band\b", symbols.group(1))
                mats = [b.material(x.strip(), "crma_2024") for x in parts if x.strip()]
            else:
                mats = [b.material(base, "crma_2024")]
            for m in mats:
                rows.append(
                    {
                        "annex": annex,
                        "listed_name": name,
                        "material": m,
                        "qualifier": qualifier or pd.NA,
                        "source_id": "crma_2024",
                    }
                )
    crma = b.add("crma_2024", pd.DataFrame(rows))
    n1 = crma[crma["annex"] == "I"]["listed_name"].nunique()
    n2 = crma[crma["annex"] == "II"]["listed_name"].nunique()
    if (n1, n2) != (17, 34):
        sys.exit(f"CRMA lists must have 17 strategic and 34 critical entries, got {n1}/{n2}")
    n = pd.read_csv(d / "nato_defence_critical_raw_materials_2024.csv", dtype=str)
    # NATO lists defence-critical materials by their defence use: its "Titanium" is the metal
    # of airframes, engines and armour (titanium sponge and alloys), not the TiO2 ore/pigment
    # that the plain name resolves to; the list entry is kept verbatim in listed_name.
    nato_as = {"Titanium": "titanium_metal"}
    nato = pd.DataFrame(
        {
            "listed_name": n["material"],
            "material": [b.material(nato_as.get(m, m), "nato_2024") for m in n["material"]],
            "example_use": n["example_use_stated_in_source"],
            "mapping_note": [
                "NATO's 'Titanium' is the defence metal (airframes, engines, armour): mapped "
                "to titanium_metal (sponge and alloys), not the TiO2 ore 'titanium'"
                if m in nato_as
                else pd.NA
                for m in n["material"]
            ],
            "source_id": "nato_2024",
        }
    )
    if nato.loc[nato["listed_name"] == "Titanium", "material"].tolist() != ["titanium_metal"]:
        sys.exit("nato_2024: 'Titanium' must map to titanium_metal")
    if len(b.add("nato_2024", nato)) != 12:
        sys.exit("NATO 2024 list must have 12 entries")


# --------------------------------------------------------------------------- defence layer


def _per_unit_mass(unit: object) -> str | None:
    """The mass unit of a '<mass unit> per unit' text (e.g. 'lb per unit' -> 'lb')."""
    m = re.fullmatch(r"\s*(\S+) per unit\s*", str(unit))
    return m.group(1) if m else None


def _codes(b: Build, text: object, where: str) -> str:
    """Check a ';'-separated list of ISO-3 codes ('EU' allowed) and return it unchanged."""
    if not isinstance(text, str) or not text.strip():
        return ""
    codes = [c.strip() for c in text.split(";") if c.strip()]
    for c in codes:
        if c != "EU" and b.country(c, where) != c:
            got = b.country(c, where)
            sys.exit(f"{where}: {c!r} is not an ISO-3 code (it resolves to {got!r})")
    return ";".join(codes)


#: Months per year, for rates published per month.
_PER_YEAR = {"units per year": 1.0, "units per month": 12.0}


def _build_rates(b: Build, systems: pd.DataFrame) -> pd.DataFrame:
    """defence_build_rates: every published rate, plan and capacity; derived rates re-computed."""
    read = {"dtype": str, "keep_default_na": False}
    r = pd.read_csv(CURATION / "defence_build_rates.csv", **read).replace("", pd.NA)
    unknown = set(r["system"]) - set(systems["system"])
    if unknown:
        sys.exit(f"defence_build_rates names systems not in defence_systems.csv: {sorted(unknown)}")
    r["producer"] = [_codes(b, c, "defence_build_rates") for c in r["producer"]]
    for row in r.itertuples(index=False):
        planned = str(row.planned).lower() == "true"
        if planned != str(row.measure).startswith("planned"):
            sys.exit(
                f"defence_build_rates {row.rate_id}: planned={row.planned} but "
                f"measure={row.measure}"
            )
        if row.basis != "derived":
            continue
        factor = _PER_YEAR.get(str(row.value_unit))
        if factor is None:
            sys.exit(
                f"defence_build_rates {row.rate_id}: cannot derive a yearly rate from "
                f"{row.value_unit!r}"
            )
        pairs = ((row.value, row.units_per_year), (row.value_high, row.units_per_year_high))
        for val, out in pairs:
            if isinstance(val, str) and abs(float(val) * factor - float(out)) > 1e-9:
                sys.exit(f"defence_build_rates {row.rate_id}: {out} != {val} x {factor:g}")
    for col in ("planned", "secondary_source"):
        r[col] = r[col].str.lower().eq("true")
    return r


def _intermediate_supply(b: Build) -> pd.DataFrame:
    """Supplier mixes of intermediate stages: curated rows plus USGS MCS 2026 titanium sponge."""
    read = {"dtype": str, "keep_default_na": False}
    cur = pd.read_csv(CURATION / "intermediate_supply.csv", **read).replace("", pd.NA)
    cur["material"] = [b.material(m, "intermediate_supply") for m in cur["material"]]
    cur["country"] = [b.country(c, "intermediate_supply") for c in cur["country"]]
    qty = pd.to_numeric(cur["quantity"])
    tot = pd.to_numeric(cur["total"])
    derived = cur["share_bound"].eq("derived")
    cur["share"] = pd.to_numeric(cur["share"]).where(~derived, qty / tot)
    cur["status"] = np.select(
        [derived, cur["share"].notna()], ["derived", "published"], default="share_unknown"
    )
    cur = cur.drop(columns=["basis"])
    # titanium sponge, all producers: USGS MCS 2026 (reference table, shares derived here)
    usgs = pd.read_csv(
        b.ref / "usgs-mcs2026" / "mcs2026_world_production_reserves_ext.csv", dtype=str
    )
    ti = usgs[usgs["material"] == "Titanium (sponge metal)"]
    rows = []
    for col, year, basis in (
        ("production_2024", 2024, "reference year stated in the source"),
        ("production_2025e", 2025, "USGS estimate for the year"),
    ):
        vals = pd.to_numeric(ti[col], errors="coerce")
        world = float(vals[ti["country"] == "World total (rounded)"].iloc[0])
        for label, q, src in zip(ti["country"], vals, ti["source"], strict=True):
            if label == "World total (rounded)" or not q > 0:
                continue
            rows.append(
                {
                    "product": "titanium sponge",
                    "stage": "sponge production (all producers)",
                    "material": "titanium_metal",
                    "country": (
                        pd.NA if label == "Other countries" else b.country(label, "usgs_mcs2026")
                    ),
                    "country_label": label,
                    "share": q / world,
                    "share_bound": "derived",
                    "status": "derived",
                    "quantity": q,
                    "quantity_unit": "t",
                    "total": world,
                    "year": year,
                    "year_basis": basis,
                    "qualification": "all grades",
                    "secondary_source": "false",
                    "citation": src + "; share = country production / world total (rounded)",
                    "note": "all grades; Chinese sponge is not qualified for critical aerospace "
                    "use (Argus 2025)",
                    "source_id": "usgs_mcs2026",
                }
            )
    out = pd.concat([cur, pd.DataFrame(rows)], ignore_index=True)
    out["secondary_source"] = out["secondary_source"].astype(str).str.lower().eq("true")
    keys = ["product", "stage", "year", "qualification", "source_id"]
    total = out.groupby(keys)["share"].sum(min_count=1)
    if (total > 1.0 + 1e-9).any():
        sys.exit(f"intermediate_supply: shares above 1: {total[total > 1.0 + 1e-9].to_dict()}")
    return out


def build_defence(b: Build) -> None:
    """Defence systems, uses, build rates and intermediate stages: checked, cited, typed."""
    read = {"dtype": str, "keep_default_na": False}
    systems = pd.read_csv(CURATION / "defence_systems.csv", **read).replace("", pd.NA)
    uses = pd.read_csv(CURATION / "defence_uses.csv", **read).replace("", pd.NA)
    uses["material"] = [b.material(m, "defence_uses") for m in uses["material"]]
    systems["country"] = [
        b.country(c, "defence_systems") if isinstance(c, str) else pd.NA for c in systems["country"]
    ]
    for col in ("producer_countries", "operator_countries"):
        systems[col] = [_codes(b, c, f"defence_systems.{col}") or pd.NA for c in systems[col]]
    unknown = set(uses["system"].dropna()) - set(systems["system"])
    if unknown:
        sys.exit(f"defence_uses names systems missing from defence_systems.csv: {sorted(unknown)}")
    # every system has a cited use: named, or through its system class
    covered = set(uses["system"].dropna()) | set(uses["system_class"])
    bare = [
        s
        for s, c in zip(systems["system"], systems["system_class"], strict=True)
        if s not in covered and c not in covered
    ]
    if bare:
        sys.exit(f"defence systems without any cited use (named or by class): {bare}")
    # titanium airframes and armour are titanium metal, not the TiO2 ore
    ore = uses[(uses["material"] == "titanium") & uses["system_class"].ne("all defence uses")]
    if len(ore):
        sys.exit(f"defence_uses attach system uses to titanium ore: {ore['use_id'].tolist()}")
    # content_status must agree with the quantity (a use without a number is content_unknown)
    has_q = uses["quantity"].notna()
    bad = uses[has_q == uses["content_status"].eq("content_unknown")]
    if len(bad):
        sys.exit(f"defence_uses content_status disagrees with quantity: {bad['use_id'].tolist()}")
    # derived numbers are re-computed from their published row through the unit table
    factors = b.tables["units"].set_index("unit")["factor_to_canonical"].astype(float)
    by_id = uses.set_index("use_id")
    for r in uses[uses["kind"] == "derived"].itertuples(index=False):
        src = by_id.loc[r.derived_from]
        u_src, u_out = _per_unit_mass(src["unit"]), _per_unit_mass(r.unit)
        if u_src not in factors.index or u_out not in factors.index:
            sys.exit(
                f"defence_uses {r.use_id}: cannot check the derivation {src['unit']!r} -> "
                f"{r.unit!r} with the units table"
            )
        expect = float(src["quantity"]) * factors[u_src] / factors[u_out]
        if abs(float(r.quantity) - expect) > 1e-6 * max(1.0, abs(expect)):
            sys.exit(
                f"defence_uses {r.use_id}: derived quantity {r.quantity} != {expect:.7f} "
                f"({src['quantity']} {src['unit']} -> {r.unit})"
            )
    for col in ("secondary_source",):
        uses[col] = uses[col].str.lower().eq("true")
    systems["rate_secondary_source"] = (
        systems["rate_secondary_source"].fillna("false").str.lower().eq("true")
    )
    rates = _build_rates(b, systems)
    naming = (
        pd.concat(
            [
                uses.dropna(subset=["system"])[["system", "source_id"]],
                rates[["system", "source_id"]],
            ]
        )
        .assign(sid=lambda f: f["source_id"].str.split(";"))
        .explode("sid")
        .groupby("system")["sid"]
        .agg(set)
    )
    systems["source_id"] = [
        ";".join(sorted(naming.get(sy, set()) | ({rs} if isinstance(rs, str) else set())))
        or "critmat_curation"
        for sy, rs in zip(systems["system"], systems["rate_source_id"], strict=True)
    ]
    b.add("defence_systems", systems)
    clean = b.add("defence_uses", uses)
    clean_rates = b.add("defence_build_rates", rates)
    inter = b.add("intermediate_supply", _intermediate_supply(b))
    quant = clean[clean["quantity"].notna()]
    counts = quant["kind"].value_counts().to_dict()
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    b.note(
        f"defence_uses: {len(clean)} cited uses of {clean['material'].nunique()} "
        f"materials; {len(quant)} carry a number ({kinds}); "
        f"{int(clean['content_status'].eq('content_unknown').sum())} are content_unknown; "
        f"{int(clean['secondary_source'].sum())} rows rest on secondary sources"
    )
    european = int(systems["origin"].eq("european").sum())
    rated = systems["units_per_year"].notna().sum()
    b.note(
        f"defence_systems: {len(systems)} systems ({european} European programmes, "
        f"{len(systems) - european} US); {rated} carry the reference rate used by "
        "reference_build_rates (US programme rates only)"
    )
    b.note(
        f"defence_build_rates: {len(clean_rates)} rates of "
        f"{clean_rates['system'].nunique()} systems "
        f"({int(clean_rates['planned'].sum())} plans, labelled planned); bases: "
        + ", ".join(f"{k} {v}" for k, v in sorted(clean_rates["basis"].value_counts().items()))
    )
    b.note(
        f"intermediate_supply: {len(inter)} supplier shares of {inter['product'].nunique()} "
        f"intermediate products ({int(inter['status'].eq('share_unknown').sum())} named suppliers "
        "without a published share)"
    )


# --------------------------------------------------------------------------- materials


def build_materials(b: Build) -> None:
    assert b.ctx is not None
    mats = b.tables["_materials_curation"].replace("", pd.NA).copy()
    res = b.ctx.materials
    params = b.tables["eu_crm_2023_parameters"].set_index("material")
    hs = b.tables["hs_codes"]
    gp = b.ref / "geopolrisk-data"
    con = sqlite3.connect(gp / "world_mining_data.db")
    hsmap = pd.read_sql('select Sheet_name, "EoL-RIR (2023)" as eol from "HS Code Map"', con)
    con.close()
    map_eol = {
        b.material(s, "gprs_hs_mapping"): e
        for s, e in zip(hsmap["Sheet_name"], hsmap["eol"], strict=True)
    }

    def listed(table: str, cond: pd.Series | None = None) -> set[str]:
        t = b.tables[table]
        return set(t[cond]["material"] if cond is not None else t["material"])

    crma = b.tables["crma_2024"]
    direct = {
        "crma_strategic": listed("crma_2024", crma["annex"] == "I"),
        "crma_critical": listed("crma_2024", crma["annex"] == "II"),
        "nato_2024": listed("nato_2024"),
    }
    groups = set(GROUP_MATERIALS.values())
    for col, members in direct.items():
        flags = []
        for m in mats["material"]:
            up = m in members or any(a in members for a in res.ancestors(m))
            down = m in groups and any(x in members for x in res.members(m))
            flags.append(bool(up or down))
        mats[col] = flags
    mats["eu_crm_2023"] = mats["material"].isin(set(params.index))
    stages_hs = hs.groupby("material")["stage"].agg(lambda s: ";".join(sorted(set(s))))
    mats["stages"] = [
        params.loc[m, "stages_assessed"] if m in params.index else stages_hs.get(m, pd.NA)
        for m in mats["material"]
    ]
    for stage in ("extraction", "processing"):
        codes = (
            hs[hs["stage"] == stage].groupby("material")["hs6"].agg(lambda s: ";".join(sorted(s)))
        )
        mats[f"hs_{stage}"] = mats["material"].map(codes)
    eol = []
    for m in mats["material"]:
        eu = params["eol_rir"].get(m, np.nan) if m in params.index else np.nan
        mp = map_eol.get(m, np.nan)
        if not np.isnan(eu) and not np.isnan(mp) and abs(eu - mp) > 0.005:
            b.note(
                f"EoL-RIR of {m}: EU 2023 parameters {eu:.2f} vs GeoPolRisk mapping "
                f"{mp:.2f}; EU value used"
            )
        eol.append(eu if not np.isnan(eu) else mp)
    mats["eol_rir"] = eol
    mats["source_id"] = "critmat_curation"
    b.add("materials", mats)


def build_aliases(b: Build) -> None:
    assert b.ctx is not None
    cur = b.tables["_material_aliases_curation"]
    mats = b.tables["materials"]
    known = {normalise_name(x) for x in pd.concat([mats["material"], mats["name"]])}
    rows = [
        {
            "alias": a,
            "material": m,
            "seen_in": ";".join(sorted(b.seen_materials.get(a, set())))
            or "critmat_curation (synonym)",
        }
        for a, m in zip(cur["alias"], cur["material"], strict=True)
    ]
    listed = {r["alias"] for r in rows}
    for alias, srcs in sorted(b.seen_materials.items()):
        if alias in listed or alias in known:
            continue
        rows.append(
            {
                "alias": alias,
                "material": b.ctx.materials.resolve(alias),
                "seen_in": ";".join(sorted(srcs)),
            }
        )
    al = pd.DataFrame(rows)
    al["source_id"] = "critmat_curation"
    b.add("material_aliases", al)
    unused = [a for a in cur["alias"] if a not in b.seen_materials]
    b.note(f"material aliases not seen in any source (synonyms for users): {len(unused)}")

    cal = b.tables["_country_aliases_curation"]
    crow = [
        {
            "alias": a,
            "country": c,
            "seen_in": ";".join(sorted(b.seen_countries.get(a, set())))
            or "critmat_curation (synonym)",
            "source_id": "critmat_curation",
        }
        for a, c in zip(cal["alias"], cal["country"], strict=True)
    ]
    b.add("country_aliases", pd.DataFrame(crow))


# --------------------------------------------------------------------------- output


def write_outputs(b: Build, descriptor: dict[str, Any]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.parquet"):
        old.unlink()
    digest = hashlib.sha256()
    for res in descriptor["resources"]:
        name = res["name"]
        if res.get("critmat:user_only"):
            res["critmat:stats"] = {"rows": 0, "user_only": True}
            continue
        frame = b.tables[name]
        spec = b.catalog.table(name)
        path = OUT / res["path"]
        write_table_parquet(frame, spec, path)
        data = path.read_bytes()
        digest.update(name.encode())
        digest.update(data)
        stats: dict[str, Any] = {
            "rows": len(frame),
            "bytes": len(data),
            "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
        }
        if "year" in frame.columns and frame["year"].notna().any():
            stats["years"] = [int(frame["year"].min()), int(frame["year"].max())]
        if "material" in frame.columns:
            stats["materials"] = int(frame["material"].nunique())
        if "source_id" in frame.columns:
            stats["source_ids"] = sorted(
                {s for v in frame["source_id"].dropna() for s in str(v).split(";")}
            )
        res["bytes"] = len(data)
        res["hash"] = hashlib.sha256(data).hexdigest()
        res["critmat:stats"] = stats
    descriptor["critmat:content_hash"] = digest.hexdigest()
    (OUT / "datapackage.json").write_text(
        json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def write_report(b: Build, descriptor: dict[str, Any]) -> None:
    lines = [
        "# Data build report",
        "",
        f"Generated by `scripts/build_dataset.py` for dataset version {DATASET_VERSION} "
        f"(content hash `{descriptor['critmat:content_hash'][:12]}`).",
        "",
        "## Tables",
        "",
        "| table | rows | years | sources |",
        "|---|---:|---|---|",
    ]
    for res in descriptor["resources"]:
        st = res["critmat:stats"]
        years = "-".join(str(y) for y in st.get("years", [])) or ""
        lines.append(
            f"| {res['name']} | {st['rows']:,} | {years} | {', '.join(st.get('source_ids', []))} |"
        )
    lines += [
        "",
        "## Coverage of production (World Mining Data)",
        "",
        "| material | countries | first | last | gaps |",
        "|---|---:|---|---|---|",
    ]
    prod = b.tables["production"]
    cov = coverage(prod, ["material"])
    ncountries = prod.groupby("material")["country"].nunique()
    for r in cov.itertuples():
        lines.append(
            f"| {r.material} | {ncountries[r.material]} | {r.first_year} | "
            f"{r.last_year} | {r.missing_years} |"
        )
    lines += ["", "## Notes and decisions", ""] + [f"- {n}" for n in b.notes] + [""]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--reference",
        type=Path,
        default=ROOT.parent / "shared" / "reference",
        help="folder holding the shared reference data",
    )
    args = ap.parse_args(argv)
    ref = args.reference.resolve()
    if not ref.is_dir():
        print(f"reference folder not found: {ref}", file=sys.stderr)
        return 2
    descriptor = skeleton_descriptor()
    b = Build(ref=ref, catalog=Catalog(descriptor))
    print(f"building critmat dataset {DATASET_VERSION} from {ref.name}/")
    build_units(b)
    build_countries(b)
    build_materials_curation(b)
    make_context(b)
    build_hs_codes(b)
    build_trade(b)
    build_production(b)
    build_governance(b)
    build_eu_crm(b)
    build_eu_crm_published(b)
    build_eu_crm_assessments(b)
    build_eu_crm_notes(b)
    build_usgs(b)
    build_export_controls(b)
    build_facts(b)
    build_lists(b)
    build_defence(b)
    for step in part_steps():
        step(b)
    build_materials(b)
    build_aliases(b)
    for name in ("trade", "production", "usgs_mcs2026"):
        cols = [
            c
            for c in ("value_kusd", "quantity_t", "quantity", "value")
            if c in b.tables[name].columns
        ]
        check_non_negative(b.tables[name], cols, strict=True)
    write_outputs(b, descriptor)
    write_report(b, descriptor)
    total = sum(p.stat().st_size for p in OUT.glob("*"))
    print(
        f"wrote {len(descriptor['resources'])} tables to {OUT.relative_to(ROOT)} "
        f"({total / 1e6:.1f} MB) and {REPORT.relative_to(ROOT)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
