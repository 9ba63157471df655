"""Plotly figures of the assessment and critmat's figure style (frames in, figures out)."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FONT",
    "add_layout_items",
    "china_share_chart",
    "criticality_chart",
    "geopolrisk_chart",
    "layout",
    "supply_shares_chart",
    "vline",
    "white_template",
]

#: The font of every critmat figure.
FONT = {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12}


@cache
def _white_template() -> Any:
    """The "plotly_white" template of plotly, validated once (as ``template="plotly_white"``)."""
    import plotly.graph_objects as go

    return go.Layout(template="plotly_white").template


def white_template(fig: Any) -> Any:
    """Set plotly's "plotly_white" template on ``fig``: ``update_layout(template="plotly_white")``.

    The figure is the same; the template (a registered plotly object, validated once by
    :func:`_white_template`) is set without plotly validating its whole tree again, as
    plotly itself sets its default template (``_initialize_layout_template``): that
    validation was most of a figure's cost (~40 ms a figure).
    """
    lay = fig.layout
    if fig._allow_disable_validation:
        lay._validate = False
    try:
        lay.template = _white_template()
    finally:
        lay._validate = fig._validate
    return fig


def layout(fig: Any, title: str, height: int = 520) -> Any:
    """Apply critmat's figure layout (font, margins, white template) and a title."""
    fig.update_layout(
        title=title,
        font=FONT,
        height=height,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        legend_title_text="",
    )
    return white_template(fig)


def vline(x: float, *, dash: str, color: str) -> dict[str, Any]:
    """The shape of ``fig.add_vline(x, line_dash=dash, line_color=color)`` (one x axis)."""
    return {
        "type": "line",
        "x0": x,
        "x1": x,
        "xref": "x",
        "y0": 0,
        "y1": 1,
        "yref": "y domain",
        "line": {"dash": dash, "color": color},
    }


def add_layout_items(
    fig: Any, shapes: list[dict[str, Any]], annotations: list[dict[str, Any]]
) -> Any:
    """Append shapes and annotations to ``fig`` in one layout update.

    ``add_vline``/``add_annotation`` validate the whole layout on every call, which is
    quadratic in the number of lines; the figure is the same.
    """
    fig.update_layout(
        shapes=[*fig.layout.shapes, *shapes], annotations=[*fig.layout.annotations, *annotations]
    )
    return fig


def criticality_chart(
    table: pd.DataFrame, *, ei_threshold: float = 2.8, sr_threshold: float = 1.0
) -> Any:
    """Scatter of economic importance (x) against supply risk (y) with the EU thresholds.

    Every material with an SR is plotted, by name: with critmat's EI where it can be
    computed, else with the published EI (open markers, as the assessment classifies it);
    the materials that cannot be placed (no SR, or no EI at all) are named under the chart
    with the reason, never silently left out.
    """
    import plotly.graph_objects as go

    t = table.copy()
    label = t["name"] if "name" in t.columns else t["material"]
    t["label"] = label.where(label.notna(), t["material"]).astype(str)
    published = t["published_ei"] if "published_ei" in t.columns else pd.Series(np.nan, t.index)
    t["ei_plot"] = t["ei"].where(t["ei"].notna(), published)
    t["ei_kind"] = np.where(t["ei"].notna(), "computed EI", "published EI")
    data = t.dropna(subset=["sr", "ei_plot"])
    fig = go.Figure()
    for name, sel, colour in (
        ("critical", data["critical"].fillna(False).astype(bool), "#c0392b"),
        ("not critical", ~data["critical"].fillna(False).astype(bool), "#2c7fb8"),
    ):
        for kind, symbol in (("computed EI", "circle"), ("published EI", "circle-open")):
            d = data[sel & (data["ei_kind"] == kind)]
            if d.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=d["ei_plot"],
                    y=d["sr"],
                    mode="markers+text",
                    name=f"{name} ({kind})",
                    text=d["label"],
                    textposition="top center",
                    marker={"size": 9, "color": colour, "symbol": symbol},
                    hovertemplate="%{text}<br>EI %{x:.1f} (" + kind + ")<br>SR %{y:.2f}"
                    "<extra></extra>",
                )
            )
    fig.add_hline(
        y=sr_threshold, line_dash="dash", line_color="grey", annotation_text=f"SR {sr_threshold}"
    )
    fig.add_vline(
        x=ei_threshold, line_dash="dash", line_color="grey", annotation_text=f"EI {ei_threshold}"
    )
    left = t[~t.index.isin(data.index)]
    reasons = [
        f"{r.label} ({'no supply risk' if pd.isna(r.sr) else 'no economic importance'})"
        for r in left.itertuples(index=False)
    ]
    if reasons:
        fig.add_annotation(
            text="not plotted: " + ", ".join(reasons),
            xref="paper",
            yref="paper",
            x=0,
            y=-0.18,
            showarrow=False,
            align="left",
            font={"size": 11},
        )
    fig.update_xaxes(title="economic importance (EI, 0-10)")
    fig.update_yaxes(title="supply risk (SR)")
    title = (
        f"Criticality matrix (EU method, critmat computation): {len(data)} of {len(t)} "
        "materials plotted"
    )
    return layout(fig, title, 620)


def supply_shares_chart(shares: pd.DataFrame, *, top: int = 8) -> Any:
    """Stacked bars of global supply shares by material, stage and country (top countries)."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    d = shares[["material", "stage", "country", "share"]].copy()
    leaders = list(d.groupby("country")["share"].sum().nlargest(top).index)
    d["country"] = d["country"].where(d["country"].isin(leaders), "other")
    d = d.groupby(["material", "stage", "country"], as_index=False)["share"].sum()
    china = d[d["country"] == "CHN"].groupby("material")["share"].max()
    order = china.reindex(sorted(d["material"].unique())).fillna(0).sort_values().index
    stages = ["extraction", "processing"]
    fig = make_subplots(
        rows=1, cols=2, shared_yaxes=True, subplot_titles=stages, horizontal_spacing=0.03
    )
    palette = qualitative.Safe + qualitative.Pastel
    countries = [*leaders, "other"]
    for col, stage in enumerate(stages, start=1):
        wide = (
            d[d["stage"] == stage]
            .pivot_table(index="material", columns="country", values="share", aggfunc="sum")
            .reindex(index=order, columns=countries)
            .fillna(0.0)
        )
        base = wide.cumsum(axis=1) - wide  # explicit offsets: one stack per material
        for i, country in enumerate(countries):
            fig.add_trace(
                go.Bar(
                    x=wide[country].to_numpy(),
                    base=base[country].to_numpy(),
                    y=list(order),
                    orientation="h",
                    name=country,
                    legendgroup=country,
                    showlegend=col == 1,
                    marker_color="#bbbbbb" if country == "other" else palette[i % len(palette)],
                    hovertemplate=f"%{{y}}, {stage}, {country}: %{{x:.1%}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_layout(barmode="overlay", bargap=0.25)
    fig.update_xaxes(tickformat=".0%", range=[0, 1.0])
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=list(order))
    return layout(
        fig,
        "Global supply shares by stage and country (EU 2023 study)",
        max(420, 20 * len(order) + 140),
    )


def china_share_chart(table: pd.DataFrame) -> Any:
    """Grouped bars of China's share at extraction and processing."""
    import plotly.graph_objects as go

    d = table.sort_values("china_processing", ascending=False, na_position="last")
    fig = go.Figure(
        [
            go.Bar(
                name="extraction", x=d["material"], y=d["china_extraction"], marker_color="#e6550d"
            ),
            go.Bar(
                name="processing", x=d["material"], y=d["china_processing"], marker_color="#756bb1"
            ),
        ]
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.0], title="share of global supply")
    # no 65 % line here: the CRMA cap is on EU consumption, not global supply (issue 12;
    # the CRMA section draws the cap on the right denominator)
    return layout(fig, "China's share of global supply (EU 2023 study)")


def geopolrisk_chart(table: pd.DataFrame, importer: str, year: int) -> Any:
    """Bars of the GeoPolRisk score per material for the importer."""
    import plotly.graph_objects as go

    d = table.dropna(subset=["geopolrisk"]).sort_values("geopolrisk", ascending=False)
    fig = go.Figure(
        go.Bar(
            x=d["material"],
            y=d["geopolrisk"],
            marker_color="#31a354",
            hovertemplate="%{x}<br>score %{y:.4f}<extra></extra>",
        )
    )
    fig.update_yaxes(title="GeoPolRisk score (0-1)")
    return layout(fig, f"GeoPolRisk score of {importer}, {year}")
