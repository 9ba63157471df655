"""The main job: the EU defence raw-materials assessment on the knowledge base.

For an importer (EU27 by default) and the CRMA strategic and critical raw materials, one
table brings together the China share at extraction and processing, concentration (HHI),
import reliance, the GeoPolRisk score, the EU supply risk and economic importance and the
critical flag. Every column names its source and method in :attr:`Assessment.columns`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.params import Selection

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["COLUMNS", "Assessment", "assess", "crma_materials"]

#: Column -> (label, unit, method, source ids) of the assessment table.
COLUMNS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "material": ("Material", "", "canonical id", ("critmat_curation",)),
    "crma": (
        "CRMA",
        "",
        "Annex I strategic (S) / Annex II critical (C); empty: NATO list only",
        ("crma_2024",),
    ),
    "nato": ("NATO", "", "on NATO's 2024 defence-critical list", ("nato_2024",)),
    "china_extraction": (
        "China E",
        "fraction",
        "China's share of global supply at extraction (EU 2023 study)",
        ("eu_crm_2023_gs",),
    ),
    "china_processing": (
        "China P",
        "fraction",
        "China's share of global supply at processing (EU 2023 study)",
        ("eu_crm_2023_gs",),
    ),
    "hhi": (
        "HHI",
        "0-1",
        "HHI of global supply at the EU bottleneck stage (EU 2023 shares)",
        ("eu_crm_2023_gs",),
    ),
    "import_reliance": (
        "IR",
        "fraction",
        "EU import reliance at the bottleneck stage (EU 2023 study)",
        ("eu_crm_2023_params",),
    ),
    "geopolrisk": (
        "GeoPolRisk",
        "0-1",
        "GeoPolRisk score of the importer (Koyamparambath et al. 2024), latest year",
        ("baci_hs92_v202401b", "wmd_bmf", "wgi_pv_geopolrisk"),
    ),
    "sr": (
        "EU SR",
        "",
        "EU supply risk computed by critmat (2017 Guidelines, 2023 inputs)",
        ("eu_crm_2023_gs", "eu_crm_2023_eus", "eu_crm_2023_params", "wgi_2023"),
    ),
    "ei": (
        "EU EI",
        "0-10",
        "EU economic importance computed by critmat",
        ("eu_crm_2023_use", "eu_crm_2023_params"),
    ),
    "critical": (
        "Critical",
        "",
        "SR >= 1 and EI >= 2.8 (EU thresholds); where EI cannot be "
        "computed (no end-use shares) the published EI is used (critical_basis)",
        ("eu_crm_2023_gs", "eu_crm_2023_use", "eu_crm_2023_results"),
    ),
}


@dataclass
class Assessment:
    """Result of :func:`assess`: the summary table and the frames behind it."""

    table: pd.DataFrame
    importer: str
    year: int
    shares: pd.DataFrame
    geopolrisk: pd.DataFrame
    eu: pd.DataFrame
    concentration: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)
    defence: pd.DataFrame | None = None

    @property
    def columns(self) -> dict[str, tuple[str, str, str, tuple[str, ...]]]:
        """Label, unit, method and sources of every table column."""
        return COLUMNS


def crma_materials(kb: KnowledgeBase) -> list[str]:
    """The CRMA strategic and critical raw materials plus NATO's 2024 defence-critical list.

    Group entries (HREE, LREE, PGM) are kept as groups; the Annex I magnet rare earths are
    the individual elements; ``bauxite/alumina/aluminium`` is ``aluminium``; NATO's "rare
    earth elements" is ``rare_earths`` (the aggregate that trade and production data cover).
    """
    crma = kb.table("crma_2024")
    nato = kb.table("nato_2024")
    mats = list(dict.fromkeys([*crma["material"], *nato["material"]]))
    return [m for m in mats if m != "bauxite"]


def _at_stage(values: pd.DataFrame, stage_used: pd.Series, column: str) -> pd.Series:
    """Value of ``column`` at each material's bottleneck stage (NaN where unknown)."""
    keys = pd.DataFrame({"material": stage_used.index, "stage": stage_used.to_numpy()})
    picked = keys.merge(values[["material", "stage", column]], on=["material", "stage"], how="left")
    return pd.Series(picked[column].to_numpy(dtype="float64"), index=stage_used.index)


def assess(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    importer: str = "EU27",
    year: int | None = None,
    defence: bool = True,
) -> Assessment:
    """Run the assessment.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Materials to assess (default: CRMA Annex I and II materials and NATO's 2024 list,
        see :func:`crma_materials`).
    importer
        Importer unit for GeoPolRisk (ISO-3 or a group such as EU27).
    year
        Year of the GeoPolRisk score (default: the latest year with trade data).
    defence
        Add the defence summary (:attr:`Assessment.defence`: defence importance, demand of
        your bills of materials or the cited reference systems, China's share of it).

    Returns
    -------
    Assessment
    """
    mats = kb.resolve_materials(materials) or crma_materials(kb)
    if year is None:
        year = int(kb.sql("select max(year) as y from trade")["y"].iloc[0])
    eu = kb.indicators.eu_supply_risk(materials=mats)
    # a handful of tonnes from an exporter without a governance value (e.g. Guyana in the
    # geopolrisk-bundle vintage) should not blank a whole row: leave out at most 1 % of the
    # import tonnage, with status governance_partial (recorded in the provenance)
    gpr = kb.indicators.geopolrisk(
        materials=mats,
        importers=importer,
        years=year,
        missing_governance="exclude",
        min_coverage=0.99,
    )
    conc = kb.indicators.concentration(materials=mats, source="eu_crm_2023")
    shares = kb.eu_crm_2023(materials=mats, mix="global")
    params = kb.table("eu_crm_2023_parameters", materials=mats).set_index("material")
    meta = kb.materials(mats).set_index("material")
    crma = kb.table("crma_2024", materials=mats)
    strategic = set(crma.loc[crma["annex"] == "I", "material"])
    critical = set(crma.loc[crma["annex"] == "II", "material"])

    t = pd.DataFrame(index=pd.Index(mats, name="material"))
    t["name"] = meta["name"].reindex(t.index)
    t["crma"] = [
        "+".join(x for x, on in (("S", m in strategic), ("C", m in critical)) if on)
        for m in t.index
    ]
    t["nato"] = meta["nato_2024"].reindex(t.index).fillna(False).astype(bool)
    for st, col in (("extraction", "china_extraction"), ("processing", "china_processing")):
        t[col] = _at_stage(conc, pd.Series(st, index=t.index), "china_share")
    eu_i = eu.set_index("material")
    stage_used = eu_i["stage_used"].reindex(t.index)
    t["hhi"] = _at_stage(conc, stage_used, "hhi")
    ir = params[["ir_extraction", "ir_processing"]].rename(
        columns={"ir_extraction": "extraction", "ir_processing": "processing"}
    )
    ir_long = ir.reset_index().melt(id_vars="material", var_name="stage", value_name="ir")
    t["import_reliance"] = _at_stage(ir_long, stage_used, "ir")
    g = gpr.set_index("material")
    t["geopolrisk"] = g["score"].reindex(t.index)
    t["geopolrisk_status"] = g["status"].reindex(t.index)
    for col in ("stage_used", "sr", "ei", "critical", "published_sr", "published_ei"):
        t[col] = eu_i[col].reindex(t.index) if col in eu_i.columns else np.nan
    # where EI cannot be computed from the public tables (no end-use shares), classify with
    # the computed SR and the published EI, and say so in critical_basis
    computed = t["critical"].notna()
    fallback = ~computed & t["sr"].notna() & t["published_ei"].notna()
    t["critical_basis"] = np.select(
        [computed.to_numpy(), fallback.to_numpy()],
        ["computed SR and EI", "computed SR, published EI"],
        default="not assessed",
    )
    t["critical"] = t["critical"].astype("boolean")
    t.loc[fallback, "critical"] = (t.loc[fallback, "sr"] >= 1.0) & (
        t.loc[fallback, "published_ei"] >= 2.8
    )
    t = t.reset_index().sort_values(
        ["sr", "ei"], ascending=False, na_position="last", ignore_index=True
    )
    prov = kb.provenance("assess", None, materials=mats, importer=importer, year=year).to_dict()
    prov["sources"] = sorted({s for *_, srcs in COLUMNS.values() for s in srcs})
    prov["columns"] = {
        k: {"label": v[0], "unit": v[1], "method": v[2], "sources": list(v[3])}
        for k, v in COLUMNS.items()
    }
    prov["inputs"] = {
        name: f.attrs.get("critmat")
        for name, f in (("eu_supply_risk", eu), ("geopolrisk", gpr), ("concentration", conc))
    }
    t.attrs["critmat"] = prov
    result = Assessment(
        table=t,
        importer=importer,
        year=year,
        shares=shares,
        geopolrisk=gpr,
        eu=eu,
        concentration=conc,
        provenance=prov,
    )
    if defence:
        from critmat.defence.report import assess_frame

        result.defence = assess_frame(kb, result)
    return result
