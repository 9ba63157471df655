"""Criticality matrix over the knowledge base (EU SR x EI today; other axes pluggable)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import pandas as pd

from critmat.columns import units as column_units
from critmat.indicators.common import reject
from critmat.indicators.eu_crm import (
    DEFAULT_WGI_VINTAGE,
    DEFAULT_WGI_YEARS,
    eu_supply_risk,
)
from critmat.methods.criticality import criticality_matrix
from critmat.params import GroupBy, ParameterError, Selection
from critmat.provenance import attach

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["AXES", "Axis", "criticality"]

#: Named axes: column of the EU supply-risk result they come from. Any other axis is given
#: as a Series of scores indexed by material (e.g. the defence importance, see below).
AXES: dict[str, str] = {
    "eu_ei": "ei",
    "eu_sr": "sr",
    "published_ei": "published_ei",
    "published_sr": "published_sr",
}

Axis: TypeAlias = "str | pd.Series"


def _check_axis(axis: str, role: str) -> str:
    """The result column of a named axis.

    Raises
    ------
    critmat.errors.ParameterError
        For an unknown name (and for ``defence``, which the defence layer computes).
    """
    if axis == "defence":
        raise ParameterError(
            f"{role}='defence' is computed by the defence layer: use "
            "kb.defence.criticality() (defence importance x supply risk, ranked), or pass the "
            "axis as scores by material, e.g. "
            f"{role}=kb.defence.importance().set_index('material')['defence_importance']"
        )
    if axis not in AXES:
        from critmat.errors import closest

        hint = closest(str(axis), list(AXES))
        raise ParameterError(
            f"unknown axis '{axis}'; expected one of {', '.join(AXES)} or a Series of scores "
            "indexed by material" + (f" (did you mean '{hint[0]}'?)" if hint else "")
        )
    return AXES[axis]


def _axis(frame: pd.DataFrame, axis: Axis, role: str) -> tuple[pd.DataFrame, str, str]:
    """Add a Series axis to ``frame``; return the frame, the axis column and its label."""
    if not isinstance(axis, pd.Series):
        return frame, _check_axis(axis, role), axis
    label = str(axis.name or f"{role}_axis")
    column = f"_{role}_axis"
    values = axis.copy()
    values.index = values.index.astype(str)
    return frame.assign(**{column: frame["material"].astype(str).map(values)}), column, label


def criticality(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    scheme: str = "eu",
    importance: Axis = "eu_ei",
    supply_risk: Axis = "eu_sr",
    year: int = 2023,
    thresholds: Mapping[str, float] | None = None,
    cutoffs: Mapping[str, Any] | None = None,
    governance_vintage: str = DEFAULT_WGI_VINTAGE,
    wgi_years: Any = DEFAULT_WGI_YEARS,
    wgi_measure: str = "auto",
    corrections: bool | str | Iterable[str] | None = False,
    importers: Selection = None,
    exporters: Selection = None,
    years: Any = None,
    stage: str | None = None,
    groupby: GroupBy = None,
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
        (the study's published values), or a Series of scores indexed by material, e.g. the
        defence importance (0-10, the EU threshold 2.8 applies)
        ``kb.defence.importance().set_index("material")["defence_importance"]``. A material
        without a score on an axis is ``not_assessed``.
    year
        EU assessment year.
    thresholds, cutoffs
        Override the EU thresholds or the DOE-style cut-offs.
    governance_vintage, wgi_years, wgi_measure, corrections
        Passed to :func:`critmat.indicators.eu_crm.eu_supply_risk`.
    importers, exporters, years, stage, groupby
        Not applicable (errors if given).

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
    for axis, role in ((importance, "importance"), (supply_risk, "supply_risk")):
        if not isinstance(axis, pd.Series):
            _check_axis(axis, role)  # unknown names fail before any computation
    eu_options: dict[str, Any] = {
        "governance_vintage": governance_vintage,
        "wgi_years": wgi_years,
        "wgi_measure": wgi_measure,
        "corrections": corrections,
    }
    base = eu_supply_risk(kb, materials=materials, year=year, **eu_options)
    mats = kb.materials()[["material", "name", "crma_strategic", "crma_critical", "nato_2024"]]
    # eu_supply_risk may already carry the CRMA flags: merge only the columns it lacks
    frame = base.merge(
        mats[[c for c in mats.columns if c == "material" or c not in base]],
        on="material",
        how="left",
    )
    frame, imp_col, imp_label = _axis(frame, importance, "importance")
    frame, risk_col, risk_label = _axis(frame, supply_risk, "supply_risk")
    out = criticality_matrix(
        frame,
        importance=imp_col,
        supply_risk=risk_col,
        scheme=scheme,
        thresholds=thresholds,
        cutoffs=cutoffs,
    )
    first = ["material", "name", "importance_score", "supply_risk_score"]
    if scheme == "doe":
        first += ["importance_level", "supply_risk_level"]
    first += ["category", "crma_strategic", "crma_critical", "nato_2024"]
    out = out[first + [c for c in out.columns if c not in first and not c.startswith("_")]]
    prov = kb.provenance(
        "criticality",
        base,
        materials=materials,
        scheme=scheme,
        importance=imp_label,
        supply_risk=risk_label,
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
        f"axes: importance = {imp_label}, supply risk = {risk_label}; scheme "
        f"{scheme} (see critmat.methods.criticality)",
    ]
    prov.units = column_units("criticality", out.columns)
    return attach(out, prov)
