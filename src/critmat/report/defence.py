"""The defence section of the ``critmat assess`` report and its terminal summary.

:func:`defence_section` returns ``(title, html)`` for
:func:`critmat.report.html.assessment_html`'s ``extra_sections``: a system x material
exposure heatmap (annual demand exposed to China at the processing stage), the cited-use
matrix (system class x material), and short tables of exposure and defence criticality, each
number with its kind. :func:`assess_frame` gives one row per assessed material for the
terminal table.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from critmat.assess import Assessment
    from critmat.defence.bom import BomInput
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["ASSESS_COLUMNS", "assess_frame", "defence_section", "exposure_heatmap", "uses_heatmap"]

#: Column -> (label, unit) of :func:`assess_frame`.
ASSESS_COLUMNS: dict[str, tuple[str, str]] = {
    "material": ("Material", ""),
    "defence_importance": ("Defence imp.", "0-10"),
    "n_system_classes": ("System classes", "count"),
    "defence_demand_t": ("Defence t/yr", "t"),
    "china_share_processing": ("China P (def.)", "fraction"),
    "defence_category": ("Defence matrix", ""),
    "rests_on_assumption": ("Assumption", ""),
}

_FONT = {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12}


def exposure_heatmap(summary: pd.DataFrame) -> Any:
    """Heatmap of annual demand exposed to China (t/yr), systems x materials.

    Parameters
    ----------
    summary
        :func:`critmat.defence.exposure.exposure` at ``by="system"``, one stage.
    """
    import plotly.graph_objects as go

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
        np.vectorize(lambda v: f"{v:,.3g}")(np.nan_to_num(z.to_numpy())),
        "",
    )
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy(),
            x=list(z.columns),
            y=list(z.index),
            colorscale="Reds",
            text=text,
            texttemplate="%{text}",
            customdata=np.dstack([dem.to_numpy(), share.to_numpy()]),
            hovertemplate=(
                "%{y}<br>%{x}<br>exposed to China %{z:,.3g} t/yr<br>demand "
                "%{customdata[0]:,.3g} t/yr<br>China share %{customdata[1]:.0%}"
                "<extra></extra>"
            ),
            colorbar={"title": "t/yr"},
        )
    )
    fig.update_layout(
        title="Defence demand exposed to China at the processing stage "
        "(t per year; system x material)",
        font=_FONT,
        template="plotly_white",
        height=max(320, 60 * len(z.index) + 160),
        margin={"l": 220, "r": 20, "t": 60, "b": 60},
    )
    return fig


def uses_heatmap(uses: pd.DataFrame) -> Any:
    """Number of cited uses per system class and material (what the sources say)."""
    import plotly.graph_objects as go

    u = uses[uses["system_class"] != "all defence uses"]
    z = u.pivot_table(
        index="system_class", columns="material", values="use_id", aggfunc="count"
    ).fillna(0)
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy(),
            x=list(z.columns),
            y=list(z.index),
            colorscale="Blues",
            texttemplate="%{z:.0f}",
            hovertemplate="%{y}<br>%{x}<br>%{z:.0f} cited uses<extra></extra>",
            colorbar={"title": "uses"},
        )
    )
    fig.update_layout(
        title="Cited defence uses: system class x material (defence_uses)",
        font=_FONT,
        template="plotly_white",
        height=max(360, 30 * len(z.index) + 200),
        margin={"l": 220, "r": 20, "t": 60, "b": 100},
    )
    return fig


def _fmt(v: Any, unit: str = "") -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, float | np.floating):
        return f"{v:.0%}" if unit == "fraction" else f"{v:,.3g}"
    return html.escape(str(v))


def _table(frame: pd.DataFrame, columns: dict[str, tuple[str, str]]) -> str:
    head = "".join(
        f"<th class='{'l' if i == 0 else ''}'>{html.escape(lbl)}</th>"
        for i, (lbl, _) in enumerate(columns.values())
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td class='{'l' if i == 0 else ''}'>{_fmt(rec[c], unit)}</td>"
            for i, (c, (_, unit)) in enumerate(columns.items())
        )
        + "</tr>"
        for rec in frame.to_dict("records")
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def defence_section(
    kb: KnowledgeBase,
    assessment: Assessment | None = None,
    *,
    bom: BomInput = None,
    build_rates: BomInput = None,
    top: int = 12,
) -> tuple[str, str]:
    """The defence section of the assessment report.

    Parameters
    ----------
    kb
        Knowledge base.
    assessment
        Result of :func:`critmat.assess.assess`; the criticality table is restricted to its
        materials when given (the exposure covers every material in the BOMs).
    bom, build_rates
        Frames or files; default your tables, else the cited reference data.
    top
        Rows of the criticality table.

    Returns
    -------
    (str, str)
        Title and self-contained HTML (plotly.js is expected on the page already, as in the
        assessment report; pass the section after the report's first chart).
    """
    from critmat.defence.criticality import defence_criticality
    from critmat.defence.exposure import exposure

    exp = exposure(kb, bom=bom, build_rates=build_rates, stage="processing", by="system")
    used = kb.table("defence_uses")
    mats = None if assessment is None else list(assessment.table["material"])
    crit = defence_criticality(kb, bom=bom, build_rates=build_rates)
    if mats is not None:
        crit = crit[crit["material"].isin(mats) | crit["material"].isin(exp["material"])]
    figs = [exposure_heatmap(exp)] if len(exp) else []
    figs.append(uses_heatmap(used))
    plots = "".join(
        f.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
        for f in figs
    )
    n_ass = int(exp["rests_on_assumption"].sum()) if len(exp) else 0
    user_rows = len(kb.table("bom")) if bom is None else None
    origin = (
        "your imported bills of materials and build rates"
        if user_rows
        else "the BOMs and rates you passed"
        if bom is not None
        else "the cited reference data (CRS 2013 rare earths per F-35, DDG-51 and "
        "SSN-774, published US build rates), because no BOM is imported"
    )
    intro = (
        f"<p>Exposure uses {origin}. {len(exp)} system x material rows; "
        f"{n_ass} rest on assumptions (kind = assumption). Shares are EU sourcing "
        "shares of the EU 2023 study at the processing stage, net of end-of-life "
        "recycling; a proxy column names a material whose shares stand in. Defence "
        "importance is critmat's own indicator (docs/defence.md), not a published "
        "method.</p>"
    )
    exp_cols = {
        "system": ("System", ""),
        "material": ("Material", ""),
        "demand_t_per_year": ("Demand t/yr", "t"),
        "china_share": ("China share P", "fraction"),
        "adversary_share": ("Adversary share P", "fraction"),
        "top_supplier": ("Top supplier", ""),
        "proxy": ("Proxy", ""),
        "kind": ("Kind", ""),
    }
    crit_cols = {
        "material": ("Material", ""),
        "defence_importance": ("DI (0-10)", ""),
        "eu_sr": ("EU SR", ""),
        "china_processing": ("China P", "fraction"),
        "hhi": ("HHI", ""),
        "category": ("Category", ""),
        "nato_2024": ("NATO 2024", ""),
        "crma_strategic": ("CRMA strategic", ""),
    }
    body = (
        intro
        + plots
        + "<h3>Exposure by system and material (processing stage)</h3>"
        + _table(exp, exp_cols)
        + f"<h3>Defence criticality (top {top})</h3>"
        + _table(crit.head(top), crit_cols)
        + "<p class='meta'>Sources: defence_uses, defence_systems (CRS 2013, DOD News "
        "2024, USGS, NATO 2024 ...), eu_crm_2023; see docs/defence.md.</p>"
    )
    return "Defence exposure", body


def assess_frame(
    kb: KnowledgeBase, assessment: Assessment, *, bom: BomInput = None, build_rates: BomInput = None
) -> pd.DataFrame:
    """One row per assessed material for the ``critmat assess`` terminal table.

    Returns
    -------
    pandas.DataFrame
        :data:`ASSESS_COLUMNS`: defence importance, system classes with cited uses, annual
        defence demand, China's share of it at processing, defence matrix category,
        whether a number rests on an assumption.
    """
    from critmat.defence.criticality import defence_criticality
    from critmat.defence.exposure import exposure

    mats = list(assessment.table["material"])
    crit = defence_criticality(kb, bom=bom, build_rates=build_rates).set_index("material")
    exp = exposure(
        kb, bom=bom, build_rates=build_rates, stage="processing", by="material"
    ).set_index("material")
    out = pd.DataFrame({"material": mats})
    out["defence_importance"] = out["material"].map(crit["defence_importance"])
    # defence_criticality already carries the importance inputs: no second pass over them
    out["n_system_classes"] = out["material"].map(crit["n_system_classes"]).astype("Int64")
    out["defence_demand_t"] = out["material"].map(exp["demand_t_per_year"])
    out["china_share_processing"] = out["material"].map(exp["china_share"])
    out["defence_category"] = out["material"].map(crit["category"]).fillna("no cited defence use")
    out["rests_on_assumption"] = (
        out["material"].map(exp["rests_on_assumption"]).astype("boolean").fillna(False).astype(bool)
    )
    return out[list(ASSESS_COLUMNS)]
