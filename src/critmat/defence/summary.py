"""Defence summary of assessed materials: importance, demand and its exposure to China.

One row per material of an assessment (``critmat assess``): defence importance and the
number of system classes with a cited use (:func:`~critmat.defence.criticality.
defence_criticality`), annual defence demand of your bills of materials or the cited
reference systems and China's part of it at the processing stage
(:func:`~critmat.defence.exposure.exposure`), the defence-matrix category, and whether a
number rests on an assumption.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from critmat.columns import units as column_units
from critmat.defence.bom import DemandSource
from critmat.defence.criticality import defence_criticality
from critmat.defence.exposure import exposure
from critmat.params import Selection
from critmat.provenance import attach
from critmat.vocab import CriticalityCategory

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["SUMMARY_COLUMNS", "assessment_summary", "programme_labels"]

#: Columns of :func:`assessment_summary` (metadata: ``critmat.columns`` family
#: ``assess.defence``).
SUMMARY_COLUMNS = [
    "material",
    "defence_importance",
    "n_system_classes",
    "defence_demand_t",
    "demand_programmes",
    "china_share_processing",
    "defence_category",
    "rests_on_assumption",
]


def programme_labels(kb: KnowledgeBase, *, demand: DemandSource | None = None) -> pd.Series:
    """Per material, the programmes behind the defence demand with producer country and kind.

    The demand of ``critmat assess`` is the demand of named programmes (your BOMs x build
    rates, or the cited US reference systems), never EU27 demand: this label says whose.

    Returns
    -------
    pandas.Series
        Index material; values such as ``"France: Rafale (Dassault Aviation) / Rafale
        [FRA]: 8.76 t/yr (assumption)"``, ``"; "``-joined.
    """
    from critmat.defence.dataset import producers
    from critmat.defence.demand import defence_demand
    from critmat.vocab import DefenceDemandStatus

    d = defence_demand(kb, demand=demand)
    d = d[d["status"] == DefenceDemandStatus.OK]
    if d.empty:
        return pd.Series(dtype=object)
    prod = producers(kb, d["system"]).set_index("system")["producer_country"]
    country = d["system"].map(prod).astype(object).fillna("producer unknown")
    label = (
        d["programme"].astype(str)
        + " / "
        + d["system"].astype(str)
        + " ["
        + country.astype(str)
        + "]: "
        + d["demand_t_per_year"].map(lambda v: f"{v:.3g}")
        + " t/yr ("
        + d["kind"].astype(str)
        + ")"
    )
    return label.groupby(d["material"].astype(object)).agg("; ".join)


def assessment_summary(
    kb: KnowledgeBase,
    materials: Selection = None,
    *,
    demand: DemandSource | None = None,
    importers: Selection = "EU27",
    years: object = None,
) -> pd.DataFrame:
    """One defence row per material for the assessment's summary.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Materials, in the order of the rows (default: every material with a cited defence
        use or in your BOMs).
    demand
        Where the BOMs and build rates come from
        (:class:`~critmat.defence.bom.DemandSource`).
    importers, years
        GeoPolRisk importer unit and year of the criticality's supply-risk columns.

    Returns
    -------
    pandas.DataFrame
        :data:`SUMMARY_COLUMNS`; materials without a cited defence use are
        ``no cited defence use``.

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> s = assessment_summary(kb, ["rare_earths", "feldspar"]).set_index("material")
    >>> round(float(s.loc["rare_earths", "defence_demand_t"]), 1)
    78.2
    >>> s.loc["feldspar", "defence_category"]
    'no cited defence use'
    """
    crit = defence_criticality(kb, demand=demand, importers=importers, years=years)
    exp = exposure(kb, stage="processing", by="material", demand=demand).set_index("material")
    crit = crit.set_index("material")
    wanted = kb.select.materials(materials)
    mats = wanted if wanted is not None else list(crit.index)
    out = pd.DataFrame({"material": mats})
    out["defence_importance"] = out["material"].map(crit["defence_importance"])
    # defence_criticality already carries the importance inputs: no second pass over them
    out["n_system_classes"] = out["material"].map(crit["n_system_classes"]).astype("Int64")
    out["defence_demand_t"] = out["material"].map(exp["demand_t_per_year"])
    out["demand_programmes"] = out["material"].map(programme_labels(kb, demand=demand))
    out["china_share_processing"] = out["material"].map(exp["china_share"])
    out["defence_category"] = (
        out["material"].map(crit["category"]).fillna(CriticalityCategory.NO_DEFENCE_USE.value)
    )
    # an assumed input, or a proxy's supply shares behind China's part of the demand
    assumed = exp["rests_on_assumption"].astype(bool) | exp["proxy"].notna()
    out["rests_on_assumption"] = (
        out["material"].map(assumed).astype("boolean").fillna(False).astype(bool)
    )
    out = out[SUMMARY_COLUMNS]
    prov = kb.provenance("assess.defence", None, materials=mats)
    prov.sources = sorted(
        set(crit.attrs.get("critmat", {}).get("sources", []))
        | set(exp.attrs.get("critmat", {}).get("sources", []))
    )
    prov.user_data = sorted(set(exp.attrs.get("critmat", {}).get("user_data", [])))
    prov.units = column_units("assess.defence", out.columns)
    prov.notes = [
        "defence importance: critmat's own indicator (docs/defence.md); demand from your BOMs "
        "and build rates, else the cited CRS 2013 reference systems (US programmes): the "
        "demand of the programmes named in demand_programmes, not EU27 demand; China's part "
        "of the demand at processing: EU 2023 EU sourcing shares for EU-built systems, global "
        "shares for systems built elsewhere, net of recycling"
    ]
    return attach(out, prov)
