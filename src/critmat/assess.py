"""The main job: the EU defence raw-materials assessment on the knowledge base.

For an importer (EU27 by default) and the CRMA strategic and critical raw materials, one
table brings together the China share at extraction and processing, concentration (HHI),
import reliance, the GeoPolRisk score, the EU supply risk and economic importance and the
critical flag. Every column names its source and method in :attr:`Assessment.columns`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from critmat.columns import family
from critmat.data.cache import memoised
from critmat.params import GroupBy, Selection
from critmat.vocab import CriticalBasis

if TYPE_CHECKING:
    from critmat.defence.bom import DemandSource
    from critmat.knowledge_base import KnowledgeBase
    from critmat.scenarios.whatif import WhatIf

__all__ = ["COLUMNS", "EU_IMPORTER", "Assessment", "ColumnInfo", "assess", "crma_materials"]


class ColumnInfo(NamedTuple):
    """Label, unit, method and source ids of a column of the assessment table."""

    label: str
    unit: str
    method: str
    sources: tuple[str, ...]


#: Method and source ids of each column of the assessment table (label and unit come from
#: :mod:`critmat.columns`, family ``assess``).
_METHODS: dict[str, tuple[str, tuple[str, ...]]] = {
    "material": ("canonical id", ("critmat_curation",)),
    "crma": (
        "Annex I strategic (S) / Annex II critical (C); empty: NATO list only",
        ("crma_2024",),
    ),
    "nato": ("on NATO's 2024 defence-critical list", ("nato_2024",)),
    "china_extraction": (
        "China's share of global supply at extraction, supply_vintage (default the newest per "
        "material and stage: USGS MCS 2026 where it covers the material, else the EU 2023 "
        "study; see the supply_vintage column)",
        ("eu_crm_2023_gs", "usgs_mcs2026", "usgs_mcs2026_ext", "iea_gcmo_2025_refining"),
    ),
    "china_processing": (
        "China's share of global supply at processing, supply_vintage (as china_extraction)",
        ("eu_crm_2023_gs", "usgs_mcs2026", "usgs_mcs2026_ext", "iea_gcmo_2025_refining"),
    ),
    "hhi": (
        "HHI of global supply at the EU bottleneck stage, supply_vintage (as china_extraction)",
        ("eu_crm_2023_gs", "usgs_mcs2026", "usgs_mcs2026_ext", "iea_gcmo_2025_refining"),
    ),
    "import_reliance": (
        "EU import reliance at the bottleneck stage (EU 2023 study)",
        ("eu_crm_2023_params",),
    ),
    "geopolrisk": (
        "GeoPolRisk score of the importer (Koyamparambath et al. 2024), latest year",
        ("baci_hs92_v202401b", "wmd_bmf", "wgi_pv_geopolrisk"),
    ),
    "crma_single_country": (
        "largest third country's share of EU consumption, any stage (CRMA Art. 5(1)(d) "
        "test, 65 % cap; EU 2023 study EU-sourcing shares as proxy: critmat crma benchmarks)",
        ("crma_eu_sourcing_2023_derived", "eu_crm_2023_eus"),
    ),
    "sr": (
        "EU supply risk computed by critmat (2017 Guidelines, 2023 inputs)",
        ("eu_crm_2023_gs", "eu_crm_2023_eus", "eu_crm_2023_params", "wgi_2023"),
    ),
    "ei": ("EU economic importance computed by critmat", ("eu_crm_2023_use", "eu_crm_2023_params")),
    "critical": (
        "SR >= 1 and EI >= 2.8 (EU thresholds); where EI cannot be "
        "computed (no end-use shares) the published EI is used (critical_basis)",
        ("eu_crm_2023_gs", "eu_crm_2023_use", "eu_crm_2023_results"),
    ),
}


def _columns() -> dict[str, ColumnInfo]:
    fam = family("assess")
    out = {}
    for name, (method, sources) in _METHODS.items():
        col = fam.column(name)
        out[name] = ColumnInfo(col.label or name, col.unit or "", method, sources)
    return out


#: Column -> (label, unit, method, source ids) of the assessment table.
COLUMNS: dict[str, ColumnInfo] = _columns()


@dataclass
class Assessment:
    """Result of :func:`assess`: the summary table and the frames behind it.

    Attributes
    ----------
    table
        One row per material (:data:`COLUMNS` and more; family ``assess`` of
        :mod:`critmat.columns`).
    importer, year
        The importer unit and the year of the GeoPolRisk column.
    shares, geopolrisk, eu, concentration
        The indicator results behind the table.
    provenance
        Provenance of the table (also in ``table.attrs["critmat"]``).
    defence
        The defence summary (:func:`critmat.defence.summary.assessment_summary`), if asked.
    whatif
        The presets' small ensembles (:func:`critmat.scenarios.whatif.whatif`), if asked.
    demand
        Where the defence demand came from (``None``: the default source).
    capability
        Capability at risk of a full Chinese cut for 12 months, pro-rata and defence-first
        side by side (:func:`critmat.defence.capability.capability_at_risk`), if asked.
    """

    table: pd.DataFrame
    importer: str
    year: int
    shares: pd.DataFrame
    geopolrisk: pd.DataFrame
    eu: pd.DataFrame
    concentration: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)
    defence: pd.DataFrame | None = None
    whatif: WhatIf | None = None
    demand: DemandSource | None = None
    capability: pd.DataFrame | None = None

    @property
    def columns(self) -> dict[str, ColumnInfo]:
        """Label, unit, method and sources of every table column.

        For an importer other than EU27 the import reliance is that importer's own net
        import reliance (BACI trade and World Mining Data production), not the EU's.
        """
        if self.importer == EU_IMPORTER:
            return COLUMNS
        out = dict(COLUMNS)
        out["import_reliance"] = _importer_ir_column(self.importer, self.year)
        return out


#: The importer whose import reliance the EU 2023 study publishes.
EU_IMPORTER = "EU27"


def _importer_ir_column(importer: str, year: int) -> ColumnInfo:
    base = COLUMNS["import_reliance"]
    return ColumnInfo(
        base.label,
        base.unit,
        f"net import reliance of {importer} at the EU bottleneck stage, {year}: (imports - "
        "exports) / (production + imports - exports) from BACI trade and World Mining Data "
        "production (critmat dependency indicator; USGS definition)",
        ("baci_hs92_v202401b", "wmd_bmf"),
    )


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


def _vintage_text(conc: pd.DataFrame, materials: pd.Index) -> pd.Series:
    """Per material the vintage and reference years of its shares, by stage, as text."""
    parts: dict[str, list[str]] = {}
    for r in conc.sort_values(["material", "stage"]).itertuples(index=False):
        years = r.reference_years if isinstance(r.reference_years, str) else str(r.year)
        flags = f", {r.check_flags}" if isinstance(r.check_flags, str) else ""
        parts.setdefault(str(r.material), []).append(f"{r.stage} {r.source} ({years}{flags})")
    return pd.Series(
        ["; ".join(parts[m]) if m in parts else None for m in materials],
        index=materials,
        dtype=object,
    )


# kept between runs (critmat.data.results): a second run on unchanged data reads it back
@memoised("assess", persist=True)
def assess(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    importers: Selection = "EU27",
    years: Any = None,
    groupby: GroupBy = None,
    defence: bool = True,
    demand: DemandSource | None = None,
    whatif_samples: int = 300,
    seed: int = 2023,
    supply_vintage: str = "newest",
) -> Assessment:
    """Run the assessment: indicators, the defence summary and the "what if" scenarios.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Materials to assess (default: CRMA Annex I and II materials and NATO's 2024 list,
        see :func:`crma_materials`).
    importers
        The one importer unit of the GeoPolRisk column (ISO-3 or a group such as EU27).
    years
        The one year of the GeoPolRisk score (default: the latest year with trade data).
    groupby
        User-defined country groups, usable in ``importers``.
    defence
        Add the defence summary (:attr:`Assessment.defence`: defence importance, demand of
        your bills of materials or the cited reference systems, China's share of it).
    demand
        Where the defence BOMs and build rates come from
        (:class:`~critmat.defence.bom.DemandSource`).
    whatif_samples
        Monte Carlo draws per preset for :attr:`Assessment.whatif` (0 to skip).
    seed
        Seed of those draws.
    supply_vintage
        Vintage of the supply shares behind the China shares and the HHI: ``newest`` (per
        material and stage the newest available) or a vintage name; the ``supply_vintage``
        column names the vintage and reference years of each row. The EU supply risk keeps
        the EU 2023 study's own inputs.

    Returns
    -------
    Assessment
    """
    mats = kb.select.materials(materials) or crma_materials(kb)
    importer, _members = kb.select.one_importer(importers, groupby)
    year = kb.select.one_year(years, ["trade", "production"], indicator="assess")
    eu = kb.indicators.eu_supply_risk(materials=mats)
    # a handful of tonnes from an exporter without a governance value (e.g. Guyana in the
    # geopolrisk-bundle vintage) should not blank a whole row: leave out at most 1 % of the
    # import tonnage, with status governance_partial (recorded in the provenance)
    gpr = kb.indicators.geopolrisk(
        materials=mats,
        importers=importer,
        years=year,
        groupby=groupby,
        missing_governance="exclude",
        min_coverage=0.99,
    )
    vintage = kb.select.supply_vintage(supply_vintage)
    conc = kb.indicators.concentration(
        materials=mats, source="supply_shares", supply_vintage=vintage
    )
    shares = kb.select.supply_shares(mats, mix="global", vintage=vintage)
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
    t["supply_vintage"] = _vintage_text(conc, t.index)
    ir = params[["ir_extraction", "ir_processing"]].rename(
        columns={"ir_extraction": "extraction", "ir_processing": "processing"}
    )
    ir_long = ir.reset_index().melt(id_vars="material", var_name="stage", value_name="ir")
    if importer == EU_IMPORTER:
        t["import_reliance"] = _at_stage(ir_long, stage_used, "ir")
    else:  # never the EU's import reliance under another importer's name
        dep = kb.indicators.dependency(materials=mats, importers=importer, years=year)
        nir = dep.rename(columns={"nir": "ir"}) if "nir" in dep.columns else dep.assign(ir=np.nan)
        t["import_reliance"] = _at_stage(nir, stage_used, "ir")
    g = gpr.set_index("material")
    t["geopolrisk"] = g["score"].reindex(t.index)
    t["geopolrisk_status"] = g["status"].reindex(t.index)
    # CRMA Art. 5(1)(d): the largest third country's share of EU consumption (policy tracker)
    sc = kb.policy.single_country_test(materials=mats).set_index("material")
    t["crma_single_country"] = sc["crma_single_country"].reindex(t.index).astype("float64")
    t["crma_single_country_country"] = sc["crma_single_country_country"].reindex(t.index)
    t["crma_single_country_basis"] = (
        sc["crma_single_country_basis"].reindex(t.index).fillna("no_data").astype(str)
    )
    for col in ("stage_used", "sr", "ei", "critical", "published_sr", "published_ei"):
        t[col] = eu_i[col].reindex(t.index) if col in eu_i.columns else np.nan
    # where EI cannot be computed from the public tables (no end-use shares), classify with
    # the computed SR and the published EI, and say so in critical_basis
    computed = t["critical"].notna()
    fallback = ~computed & t["sr"].notna() & t["published_ei"].notna()
    t["critical_basis"] = np.select(
        [computed.to_numpy(), fallback.to_numpy()],
        [CriticalBasis.COMPUTED.value, CriticalBasis.PUBLISHED_EI.value],
        default=CriticalBasis.NOT_ASSESSED.value,
    )
    t["critical"] = t["critical"].astype("boolean")
    t.loc[fallback, "critical"] = (t.loc[fallback, "sr"] >= 1.0) & (
        t.loc[fallback, "published_ei"] >= 2.8
    )
    t = t.reset_index().sort_values(
        ["sr", "ei"], ascending=False, na_position="last", ignore_index=True
    )
    prov_record = kb.provenance(
        "assess",
        None,
        materials=mats,
        importers=importer,
        years=year,
        groupby=groupby,
        supply_vintage=vintage,
    )
    prov_record.units = {k: v.unit for k, v in COLUMNS.items() if v.unit}
    prov = prov_record.to_dict()
    prov["sources"] = sorted({s for c in COLUMNS.values() for s in c.sources})
    columns = dict(COLUMNS)
    if importer != EU_IMPORTER:
        columns["import_reliance"] = _importer_ir_column(importer, year)
    prov["columns"] = {
        k: {"label": v.label, "unit": v.unit, "method": v.method, "sources": list(v.sources)}
        for k, v in columns.items()
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
        demand=demand,
    )
    if defence:
        result.defence = kb.defence.summary(
            list(t["material"]), demand=demand, importers=importer, years=year
        )
        result.capability = kb.defence.capability_at_risk(
            exporters="CHN", cut=1.0, months=12, demand=demand
        )
    if whatif_samples > 0:
        result.whatif = kb.scenarios.whatif(
            samples=whatif_samples, seed=seed, supply_vintage=vintage
        )
    return result
