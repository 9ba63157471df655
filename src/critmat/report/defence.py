"""The defence section of the assessment report: heatmaps and tables of the defence layer.

:func:`defence_section` returns a :class:`~critmat.report.builder.Section`: a system x
material exposure heatmap (annual demand exposed to China at the processing stage), the
cited-use matrix (system class x material), and tables of exposure and defence criticality,
each number with its kind. The numbers come from :mod:`critmat.defence`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.report.builder import Column, Figure, Section, Table, Text
from critmat.report.charts import FONT, white_template
from critmat.report.format import format_value

if TYPE_CHECKING:
    from critmat.assess import Assessment
    from critmat.defence.bom import DemandSource
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["capability_of", "defence_section", "exposure_heatmap", "uses_heatmap"]

#: Provenance parameters of ``capability_at_risk`` at its defaults (besides the cut).
_CAPABILITY_DEFAULTS = {
    "mix": "by_producer",
    "allocation": "defence_first",
    "substitution_lead_months": 0,
    "recycling": True,
}


def capability_of(
    kb: KnowledgeBase, a: Assessment, *, exporters: str, cut: float, months: int
) -> pd.DataFrame:
    """Capability at risk of a cut of ``exporters`` (the defaults otherwise).

    The assessment's own table (``a.capability``) when it is that cut (``critmat assess``
    computes China 100 % for 12 months with the same demand), else computed: the report
    does not compute the same table three times.
    """
    have = getattr(a, "capability", None)
    if have is not None:
        params = dict(have.attrs.get("critmat", {}).get("parameters", {}))
        want = {
            **_CAPABILITY_DEFAULTS,
            "exporters": [exporters],
            "cut": float(cut),
            "months": int(months),
            "which": params.get("which"),
        }
        if params == want:
            return have
    frame: pd.DataFrame = kb.defence.capability_at_risk(
        exporters=exporters, cut=cut, months=months, demand=a.demand
    )
    return frame


def _heatmap_figure(
    trace: dict[str, Any], *, title: str, height: int, margin: dict[str, int]
) -> Any:
    """One heat map with its layout, validated once, and the white template."""
    import plotly.graph_objects as go

    lay = {"title": {"text": title}, "font": dict(FONT), "height": height, "margin": margin}
    return white_template(go.Figure(data=[trace], layout=lay))


def exposure_heatmap(summary: pd.DataFrame) -> Any:
    """Heatmap of annual demand exposed to China (t/yr), systems x materials.

    Parameters
    ----------
    summary
        :func:`critmat.defence.exposure.exposure` at ``by="system"``, one stage.
    """
    s = summary.assign(label=summary["system"].astype(str))
    z = s.pivot_table(index="label", columns="material", values="china_t", aggfunc="sum")
    dem = s.pivot_table(
        index="label", columns="material", values="demand_t_per_year", aggfunc="sum"
    ).reindex(index=z.index, columns=z.columns)
    share = s.pivot_table(
        index="label", columns="material", values="china_share", aggfunc="mean"
    ).reindex(index=z.index, columns=z.columns)
    text = np.where(
        np.isfinite(z.to_numpy()),
        np.vectorize(lambda v: format_value(float(v), "sig3"))(np.nan_to_num(z.to_numpy())),
        "",
    )
    trace = {
        "type": "heatmap",
        "z": z.to_numpy(),
        "x": list(z.columns),
        "y": list(z.index),
        "colorscale": "Reds",
        "text": text,
        "texttemplate": "%{text}",
        "customdata": np.dstack([dem.to_numpy(), share.to_numpy()]),
        "hovertemplate": (
            "%{y}<br>%{x}<br>exposed to China %{z:,.3g} t/yr<br>demand "
            "%{customdata[0]:,.3g} t/yr<br>China share %{customdata[1]:.0%}"
            "<extra></extra>"
        ),
        "colorbar": {"title": {"text": "t/yr"}},
    }
    return _heatmap_figure(
        trace,
        title="Defence demand exposed to China at the processing stage "
        "(t per year; system x material)",
        height=max(320, 60 * len(z.index) + 160),
        margin={"l": 220, "r": 20, "t": 60, "b": 60},
    )


def uses_heatmap(uses: pd.DataFrame) -> Any:
    """Number of cited uses per system class and material (what the sources say)."""
    u = uses[uses["system_class"] != "all defence uses"]
    z = u.pivot_table(
        index="system_class", columns="material", values="use_id", aggfunc="count"
    ).fillna(0)
    trace = {
        "type": "heatmap",
        "z": z.to_numpy(),
        "x": list(z.columns),
        "y": list(z.index),
        "colorscale": "Blues",
        "texttemplate": "%{z:.0f}",
        "hovertemplate": "%{y}<br>%{x}<br>%{z:.0f} cited uses<extra></extra>",
        "colorbar": {"title": {"text": "uses"}},
    }
    return _heatmap_figure(
        trace,
        title="Cited defence uses: system class x material (defence_uses)",
        height=max(360, 30 * len(z.index) + 200),
        margin={"l": 220, "r": 20, "t": 60, "b": 100},
    )


_EXPOSURE = {
    "system": Column("System"),
    "material": Column("Material"),
    "demand_t_per_year": Column("Demand t/yr", "sig3"),
    "china_share": Column("China share P", "percent"),
    "adversary_share": Column("Adversary share P", "percent"),
    "top_supplier": Column("Top supplier"),
    "proxy": Column("Proxy"),
    "kind": Column("Kind"),
}

_CRITICALITY = {
    "material": Column("Material"),
    "defence_importance": Column("DI (0-10)", "sig3"),
    "eu_sr": Column("EU SR", "sig3"),
    "china_processing": Column("China P", "percent"),
    "hhi": Column("HHI", "sig3"),
    "category": Column("Category"),
    "nato_2024": Column("NATO 2024"),
    "crma_strategic": Column("CRMA strategic"),
}


_CAPABILITY = {
    "system": Column("System"),
    "producer_country": Column("Producer"),
    "planned_units": Column("Planned units", "sig3"),
    "not_built_pro_rata": Column("Not built, pro rata", "sig3"),
    "not_built_defence_first": Column("Not built, defence first", "sig3"),
    "rests_on_assumption": Column("Rests on assumption"),
    "assumptions": Column("Assumptions"),
}


def defence_section(
    kb: KnowledgeBase,
    materials: list[str] | None = None,
    *,
    demand: DemandSource | None = None,
    top: int = 12,
    capability: pd.DataFrame | None = None,
) -> Section:
    """The defence section of the assessment report.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Assessed materials: the criticality table is restricted to them and to the
        materials of the BOMs (the exposure covers every material in the BOMs).
    demand
        Where the BOMs and build rates come from
        (:class:`~critmat.defence.bom.DemandSource`).
    top
        Rows of the criticality table.
    capability
        Capability at risk of a 100 % Chinese cut for 12 months, if already computed with
        ``demand`` (:func:`capability_of`); computed otherwise.
    """
    exp = kb.defence.exposure(stage="processing", by="system", demand=demand)
    used = kb.defence.uses()
    crit = kb.defence.criticality(demand=demand)
    if materials is not None:
        crit = crit[crit["material"].isin(materials) | crit["material"].isin(exp["material"])]
    blocks: list[Any] = []
    n_ass = int(exp["rests_on_assumption"].sum()) if len(exp) else 0
    given = demand is not None and demand.bom is not None
    user_rows = len(kb.table("bom")) if not given else None
    origin = (
        "your imported bills of materials and build rates"
        if user_rows
        else "the BOMs and rates you passed"
        if given
        else "the cited reference data (CRS 2013 rare earths per F-35, DDG-51 and "
        "SSN-774, published US build rates), because no BOM is imported"
    )
    blocks.append(
        Text(
            f"Exposure uses {origin}. {len(exp)} system x material rows; "
            f"{n_ass} rest on assumptions (kind = assumption). The demand is that of the "
            "named programmes (not EU27 demand). Shares are the EU 2023 study's at the "
            "processing stage, net of end-of-life recycling: EU sourcing shares for systems "
            "built in the EU, global shares for systems built elsewhere (e.g. the US-built "
            "F-35; mix_used says which); a proxy column names a material whose shares stand "
            "in. Defence importance is critmat's own indicator (docs/defence.md: component "
            "weight x non-substitutability per system class), not a published method."
        )
    )
    if len(exp):
        blocks.append(Figure(exposure_heatmap(exp)))
    blocks.append(Figure(uses_heatmap(used)))
    blocks.append(Table(exp, _EXPOSURE, title="Exposure by system and material (processing stage)"))
    blocks.append(Table(crit.head(top), _CRITICALITY, title=f"Defence criticality (top {top})"))
    cap = (
        capability
        if capability is not None
        else kb.defence.capability_at_risk(exporters="CHN", cut=1.0, months=12, demand=demand)
    )
    if len(cap):
        blocks.append(
            Table(
                cap,
                _CAPABILITY,
                title="Capability at risk: China cuts 100 % for 12 months, pro rata vs "
                "defence first",
            )
        )
    blocks.append(
        Text(
            "Sources: defence_uses, defence_systems (CRS 2013, DOD News 2024, USGS, NATO "
            "2024 ...), eu_crm_2023; see docs/defence.md.",
            meta=True,
        )
    )
    sources = sorted(
        set(exp.attrs.get("critmat", {}).get("sources", []))
        | set(crit.attrs.get("critmat", {}).get("sources", []))
        | set(used.attrs.get("critmat", {}).get("sources", []))
    )
    return Section("Defence exposure", blocks, sources=sources, key="defence")
