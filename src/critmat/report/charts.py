"""Plotly figures of the assessment and critmat's figure style (frames in, figures out)."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FONT",
    "axis",
    "china_share_chart",
    "criticality_chart",
    "figure",
    "geopolrisk_chart",
    "layout",
    "subplot_layout",
    "supply_shares_chart",
    "vline",
    "white_template",
]

#: The font of every critmat figure.
FONT = {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12}


@cache
def _white_template() -> Any:
    """The "plotly_white" template, validated once (as ``template="plotly_white"`` does)."""
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


def _style(title: str, height: int) -> dict[str, Any]:
    """What :func:`layout` sets, apart from the template, as a layout dict.

    :func:`layout` keeps its keyword form: plotly writes the keys of a figure it updates in
    another order for a nested ``title``, and its figures' JSON stays byte for byte.
    """
    return {
        "title": {"text": title},
        "font": dict(FONT),
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
        "legend": {"title": {"text": ""}},
    }


def _merged(base: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``more``, nested dicts merged (as ``update_layout`` merges)."""
    out = dict(base)
    for k, v in more.items():
        old = out.get(k)
        out[k] = _merged(old, v) if isinstance(old, dict) and isinstance(v, dict) else v
    return out


def figure(data: list[dict[str, Any]], lay: dict[str, Any], title: str, height: int = 520) -> Any:
    """A figure built in one go: ``data`` (trace dicts with their ``type``) and ``lay``.

    The same figure as ``go.Figure()`` with the traces added one by one, the layout
    updated and :func:`layout` applied last, but plotly validates the traces and the layout
    once, not at every ``add_trace``/``update_layout``/``update_xaxes`` (most of a small
    figure's cost).

    Parameters
    ----------
    data
        Trace dicts, e.g. ``{"type": "bar", "x": ..., "y": ...}``.
    lay
        Layout dict (axes, shapes, annotations, ...), e.g. from :func:`subplot_layout`.
    title, height
        As :func:`layout`.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.graph_objects as go

    fig = go.Figure(data=data, layout=_merged(lay, _style(title, height)))
    return white_template(fig)


@cache
def _grid(
    cols: int,
    shared_yaxes: bool,
    subplot_titles: tuple[str, ...] | None,
    horizontal_spacing: float | None,
    secondary_y: bool,
) -> dict[str, Any]:
    from plotly.subplots import make_subplots

    kw: dict[str, Any] = {"rows": 1, "cols": cols, "shared_yaxes": shared_yaxes}
    if subplot_titles is not None:
        kw["subplot_titles"] = list(subplot_titles)
    if horizontal_spacing is not None:
        kw["horizontal_spacing"] = horizontal_spacing
    if secondary_y:
        kw["specs"] = [[{"secondary_y": True}] * cols]
    lay: dict[str, Any] = make_subplots(**kw).layout.to_plotly_json()
    lay.pop("template", None)
    return lay


def subplot_layout(
    cols: int = 1,
    *,
    shared_yaxes: bool = False,
    subplot_titles: list[str] | None = None,
    horizontal_spacing: float | None = None,
    secondary_y: bool = False,
) -> dict[str, Any]:
    """The layout ``make_subplots(rows=1, cols=cols, ...)`` makes (axes, domains, titles).

    Computed once per set of arguments and copied, for :func:`figure`: a trace of column
    ``i`` (from 1) goes on axes ``x{i}``/``y{i}`` (no number for 1), as ``add_trace(row=1,
    col=i)`` puts it; with ``secondary_y`` (one column) the secondary axis is ``y2``.
    """
    titles = None if subplot_titles is None else tuple(subplot_titles)
    return copy.deepcopy(_grid(cols, shared_yaxes, titles, horizontal_spacing, secondary_y))


def axis(col: int) -> str:
    """The axis suffix of column ``col`` of a one-row grid: ``""`` for 1, else the number."""
    return "" if col == 1 else str(col)


def vline(x: float, *, dash: str, color: str, col: int = 1) -> dict[str, Any]:
    """The shape of ``fig.add_vline(x, line_dash=dash, line_color=color, row=1, col=col)``."""
    return {
        "type": "line",
        "x0": x,
        "x1": x,
        "xref": f"x{axis(col)}",
        "y0": 0,
        "y1": 1,
        "yref": f"y{axis(col)} domain",
        "line": {"dash": dash, "color": color},
    }


#: The columns of the assessment table :func:`criticality_chart` reads.
_CRITICALITY_COLUMNS = ("material", "name", "sr", "ei", "published_ei", "critical")


def criticality_chart(
    table: pd.DataFrame, *, ei_threshold: float = 2.8, sr_threshold: float = 1.0
) -> Any:
    """Scatter of economic importance (x) against supply risk (y) with the EU thresholds.

    Every material with an SR is plotted, by name: with critmat's EI where it can be
    computed, else with the published EI (open markers, as the assessment classifies it);
    the materials that cannot be placed (no SR, or no EI at all) are named under the chart
    with the reason, never silently left out.
    """
    # only the columns read here: copying and iterating the whole table cost more
    t = table[[c for c in _CRITICALITY_COLUMNS if c in table.columns]].copy()
    label = t["name"] if "name" in t.columns else t["material"]
    t["label"] = label.where(label.notna(), t["material"]).astype(str)
    published = t["published_ei"] if "published_ei" in t.columns else pd.Series(np.nan, t.index)
    t["ei_plot"] = t["ei"].where(t["ei"].notna(), published)
    t["ei_kind"] = np.where(t["ei"].notna(), "computed EI", "published EI")
    data = t.dropna(subset=["sr", "ei_plot"])
    traces: list[dict[str, Any]] = []
    for name, sel, colour in (
        ("critical", data["critical"].fillna(False).astype(bool), "#c0392b"),
        ("not critical", ~data["critical"].fillna(False).astype(bool), "#2c7fb8"),
    ):
        for kind, symbol in (("computed EI", "circle"), ("published EI", "circle-open")):
            d = data[sel & (data["ei_kind"] == kind)]
            if d.empty:
                continue
            traces.append(
                {
                    "type": "scatter",
                    "x": d["ei_plot"],
                    "y": d["sr"],
                    "mode": "markers+text",
                    "name": f"{name} ({kind})",
                    "text": d["label"],
                    "textposition": "top center",
                    "marker": {"size": 9, "color": colour, "symbol": symbol},
                    "hovertemplate": "%{text}<br>EI %{x:.1f} (" + kind + ")<br>SR %{y:.2f}"
                    "<extra></extra>",
                }
            )
    line = {"dash": "dash", "color": "grey"}
    # what add_hline/add_vline(annotation_text=...) draw and write
    shapes = [
        {
            "type": "line",
            "x0": 0,
            "x1": 1,
            "xref": "x domain",
            "y0": sr_threshold,
            "y1": sr_threshold,
            "yref": "y",
            "line": dict(line),
        },
        vline(ei_threshold, dash="dash", color="grey"),
    ]
    notes: list[dict[str, Any]] = [
        {
            "showarrow": False,
            "text": f"SR {sr_threshold}",
            "x": 1,
            "xanchor": "right",
            "xref": "x domain",
            "y": sr_threshold,
            "yanchor": "bottom",
            "yref": "y",
        },
        {
            "showarrow": False,
            "text": f"EI {ei_threshold}",
            "x": ei_threshold,
            "xanchor": "left",
            "xref": "x",
            "y": 1,
            "yanchor": "top",
            "yref": "y domain",
        },
    ]
    left = t[~t.index.isin(data.index)]
    reasons = [
        f"{r.label} ({'no supply risk' if pd.isna(r.sr) else 'no economic importance'})"
        for r in left.itertuples(index=False)
    ]
    if reasons:
        notes.append(
            {
                "text": "not plotted: " + ", ".join(reasons),
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": -0.18,
                "showarrow": False,
                "align": "left",
                "font": {"size": 11},
            }
        )
    lay = {
        "shapes": shapes,
        "annotations": notes,
        "xaxis": {"title": {"text": "economic importance (EI, 0-10)"}},
        "yaxis": {"title": {"text": "supply risk (SR)"}},
    }
    title = (
        f"Criticality matrix (EU method, critmat computation): {len(data)} of {len(t)} "
        "materials plotted"
    )
    return figure(traces, lay, title, 620)


def supply_shares_chart(shares: pd.DataFrame, *, top: int = 8) -> Any:
    """Stacked bars of global supply shares by material, stage and country (top countries)."""
    from plotly.colors import qualitative

    d = shares[["material", "stage", "country", "share"]].copy()
    leaders = list(d.groupby("country")["share"].sum().nlargest(top).index)
    d["country"] = d["country"].where(d["country"].isin(leaders), "other")
    d = d.groupby(["material", "stage", "country"], as_index=False)["share"].sum()
    china = d[d["country"] == "CHN"].groupby("material")["share"].max()
    order = china.reindex(sorted(d["material"].unique())).fillna(0).sort_values().index
    stages = ["extraction", "processing"]
    lay = subplot_layout(2, shared_yaxes=True, subplot_titles=stages, horizontal_spacing=0.03)
    traces: list[dict[str, Any]] = []
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
            traces.append(
                {
                    "type": "bar",
                    "x": wide[country].to_numpy(),
                    "base": base[country].to_numpy(),
                    "y": list(order),
                    "orientation": "h",
                    "name": country,
                    "legendgroup": country,
                    "showlegend": col == 1,
                    "marker": {
                        "color": "#bbbbbb" if country == "other" else palette[i % len(palette)]
                    },
                    "hovertemplate": f"%{{y}}, {stage}, {country}: %{{x:.1%}}<extra></extra>",
                    "xaxis": f"x{axis(col)}",
                    "yaxis": f"y{axis(col)}",
                }
            )
    lay.update(barmode="overlay", bargap=0.25)
    for col in range(1, len(stages) + 1):
        lay[f"xaxis{axis(col)}"].update(tickformat=".0%", range=[0, 1.0])
        lay[f"yaxis{axis(col)}"].update(
            type="category", categoryorder="array", categoryarray=list(order)
        )
    return figure(
        traces,
        lay,
        "Global supply shares by stage and country (EU 2023 study)",
        max(420, 20 * len(order) + 140),
    )


def china_share_chart(table: pd.DataFrame) -> Any:
    """Grouped bars of China's share at extraction and processing."""
    d = table.sort_values("china_processing", ascending=False, na_position="last")
    data = [
        {
            "type": "bar",
            "name": stage,
            "x": d["material"],
            "y": d[f"china_{stage}"],
            "marker": {"color": colour},
        }
        for stage, colour in (("extraction", "#e6550d"), ("processing", "#756bb1"))
    ]
    lay = {
        "barmode": "group",
        "yaxis": {
            "tickformat": ".0%",
            "range": [0, 1.0],
            "title": {"text": "share of global supply"},
        },
    }
    # no 65 % line here: the CRMA cap is on EU consumption, not global supply (issue 12;
    # the CRMA section draws the cap on the right denominator)
    return figure(data, lay, "China's share of global supply (EU 2023 study)")


def geopolrisk_chart(table: pd.DataFrame, importer: str, year: int) -> Any:
    """Bars of the GeoPolRisk score per material for the importer."""
    d = table.dropna(subset=["geopolrisk"]).sort_values("geopolrisk", ascending=False)
    data = [
        {
            "type": "bar",
            "x": d["material"],
            "y": d["geopolrisk"],
            "marker": {"color": "#31a354"},
            "hovertemplate": "%{x}<br>score %{y:.4f}<extra></extra>",
        }
    ]
    lay = {"yaxis": {"title": {"text": "GeoPolRisk score (0-1)"}}}
    return figure(data, lay, f"GeoPolRisk score of {importer}, {year}")
