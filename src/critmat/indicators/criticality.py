"""Criticality matrix over the knowledge base (EU SR x EI today; other axes pluggable)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmat.indicators.common import GroupBy, reject
from critmat.methods.criticality import criticality_matrix
from critmat.params import ParameterError, Selection
from critmat.provenance import attach

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["AXES", "criticality"]

#: Axes that can be plotted: column of the EU supply-risk result they come from.
AXES: dict[str, str] = {
    "eu_ei": "ei",
    "eu_sr": "sr",
    "published_ei": "published_ei",
    "published_sr": "published_sr",
    "defence": "defence_importance",  # critmat.defence.criticality.importance (0-10)
}


def criticality(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    scheme: str = "eu",
    importance: str = "eu_ei",
    supply_risk: str = "eu_sr",
    year: int = 2023,
    thresholds: Mapping[str, float] | None = None,
    cutoffs: Mapping[str, Any] | None = None,
    importers: Selection = None,
    exporters: Selection = None,
    years: Any = None,
    stage: str | None = None,
    groupby: GroupBy = None,
    **eu_options: Any,
) -> pd.DataFrame:
    """Classify materials on the importance x supply-risk matrix.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Selection (default: every material assessed in the EU 2023 study).
    scheme
        ``eu`` (EI >= 2.8 and SR >= 1) or ``doe`` (levels 1-4, see
        :mod:`critmat.methods.criticality`).
    importance, supply_risk
        Axes: ``eu_ei``/``eu_sr`` (computed by critmat), ``published_ei``/``published_sr``
        (the study's published values) or ``defence`` (defence importance 0-10, see
        :func:`critmat.defence.criticality.importance`; the EU threshold 2.8 applies).
    year
        EU assessment year.
    thresholds, cutoffs
        Override the EU thresholds or the DOE-style cut-offs.
    importers, exporters, years, stage, groupby
        Not applicable (errors if given).
    **eu_options
        Passed to :func:`critmat.indicators.eu_crm.eu_supply_risk` (e.g. ``wgi_years``).

    Returns
    -------
    pandas.DataFrame
        ``material, importance_score, supply_risk_score, [levels,] category, crma_strategic,
        crma_critical, nato_2024`` plus the EU result columns.
    """
    reject(
        "criticality",
        importers=importers,
        exporters=exporters,
        years=years,
        stage=stage,
        groupby=groupby,
    )
    for axis in (importance, supply_risk):
        if axis not in AXES:
            raise ParameterError(f"unknown axis '{axis}'; expected one of {', '.join(AXES)}")
    base = kb.indicators.eu_supply_risk(materials=materials, year=year, **eu_options)
    mats = kb.materials()[["material", "name", "crma_strategic", "crma_critical", "nato_2024"]]
    # eu_supply_risk may already carry the CRMA flags: merge only the columns it lacks
    frame = base.merge(
        mats[[c for c in mats.columns if c == "material" or c not in base]],
        on="material",
        how="left",
    )
    if "defence" in (importance, supply_risk):
        from critmat.defence.criticality import importance as defence_importance

        di = defence_importance(kb)[["material", "defence_importance"]]
        frame = frame.merge(di, on="material", how="left")
    out = criticality_matrix(
        frame,
        importance=AXES[importance],
        supply_risk=AXES[supply_risk],
        scheme=scheme,
        thresholds=thresholds,
        cutoffs=cutoffs,
    )
    first = ["material", "name", "importance_score", "supply_risk_score"]
    if scheme == "doe":
        first += ["importance_level", "supply_risk_level"]
    first += ["category", "crma_strategic", "crma_critical", "nato_2024"]
    out = out[first + [c for c in out.columns if c not in first]]
    prov = kb.provenance(
        "criticality",
        base,
        materials=materials,
        scheme=scheme,
        importance=importance,
        supply_risk=supply_risk,
        year=year,
        thresholds=thresholds,
        cutoffs=cutoffs,
        **eu_options,
    )
    base_prov = base.attrs.get("critmat", {})
    prov.sources = sorted(
        set(prov.sources) | set(base_prov.get("sources", [])) | {"crma_2024", "nato_2024"}
    )
    prov.notes = [
        *base_prov.get("notes", []),
        f"axes: importance = {importance}, supply risk = {supply_risk}; scheme "
        f"{scheme} (see critmat.methods.criticality)",
    ]
    prov.units = {"importance_score": "EI (0-10)", "supply_risk_score": "SR"}
    return attach(out, prov)
