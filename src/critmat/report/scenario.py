"""Plotly fan charts and stock-out tables of scenario ensembles (frames in, figures out)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["fan_chart", "stockout_table", "table_html"]

_FONT = {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12}

_YLABEL = {
    "shortfall": "shortfall (share of baseline monthly demand)",
    "stock": "stock (months of baseline demand)",
    "price": "price (ratio to pre-shock price)",
}


def _pct_columns(frame: pd.DataFrame) -> list[tuple[float, str]]:
    found = [(float(c[1:]), c) for c in frame.columns if re.fullmatch(r"p\d+(\.\d+)?", str(c))]
    return sorted(found)


def fan_chart(
    monthly: pd.DataFrame,
    *,
    materials: Sequence[str] | None = None,
    variable: str = "shortfall",
    title: str | None = None,
    height: int = 460,
) -> Any:
    """Fan chart of percentiles over months, one material at a time (dropdown to switch).

    Parameters
    ----------
    monthly
        ``EnsembleResult.monthly``: ``material, month, variable, mean, p5, ..., p95``.
    materials
        Materials to offer (default: all, ordered by their mean value).
    variable
        ``shortfall``, ``stock`` or ``price``.
    title
        Figure title.
    height
        Pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        Bands between symmetric percentiles (outer band lightest), the median as a line and
        the mean dashed.
    """
    import plotly.graph_objects as go

    d = monthly[monthly["variable"] == variable]
    if materials is None:
        order = d.groupby("material")["mean"].mean().sort_values(ascending=False)
        materials = [str(m) for m in order.index]
    pcts = _pct_columns(d)
    bands = [(pcts[i], pcts[-1 - i]) for i in range(len(pcts) // 2)]
    median = next((c for q, c in pcts if q == 50.0), None)
    fig = go.Figure()
    per_material = 0
    for k, mat in enumerate(materials):
        g = d[d["material"] == mat].sort_values("month")
        x = g["month"].to_numpy()
        vis = k == 0
        count = 0
        for b, ((qlo, lo), (qhi, hi)) in enumerate(bands):
            alpha = 0.18 + 0.22 * b / max(len(bands) - 1, 1)
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=g[hi],
                    mode="lines",
                    line={"width": 0},
                    showlegend=False,
                    hoverinfo="skip",
                    visible=vis,
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=g[lo],
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=f"rgba(44,127,184,{alpha:.2f})",
                    name=f"{qlo:g}-{qhi:g}th percentile",
                    visible=vis,
                    hoverinfo="skip",
                )
            )
            count += 2
        if median is not None:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=g[median],
                    mode="lines",
                    name="median",
                    line={"color": "#08306b", "width": 2},
                    visible=vis,
                )
            )
            count += 1
        fig.add_trace(
            go.Scatter(
                x=x,
                y=g["mean"],
                mode="lines",
                name="mean",
                line={"color": "#c0392b", "width": 1.5, "dash": "dash"},
                visible=vis,
            )
        )
        count += 1
        per_material = count
    if len(materials) > 1:
        n = per_material * len(materials)
        buttons = []
        for k, mat in enumerate(materials):
            visible = [per_material * k <= i < per_material * (k + 1) for i in range(n)]
            buttons.append({"label": str(mat), "method": "update", "args": [{"visible": visible}]})
        fig.update_layout(
            updatemenus=[
                {
                    "buttons": buttons,
                    "x": 1.0,
                    "xanchor": "right",
                    "y": 1.15,
                    "yanchor": "top",
                    "direction": "down",
                }
            ]
        )
    fig.update_xaxes(title="month (0 = first simulated month)")
    fig.update_yaxes(title=_YLABEL.get(variable, variable), rangemode="tozero")
    fig.update_layout(
        title=title or f"{variable}: percentiles over scenarios",
        font=_FONT,
        height=height,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 70, "b": 50},
        legend_title_text="",
    )
    return fig


def stockout_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Readable stock-out table from ``EnsembleResult.summary``.

    Returns
    -------
    pandas.DataFrame
        Material, stock (months), probability of any shortfall, expected shortfall and CVaR
        (months of demand), probability of a stock-out, months from onset to stock-out
        (5th, 50th, 95th percentile; blank = never within the horizon), median peak price.
    """
    cv = next((c for c in summary.columns if c.startswith("shortfall_cvar")), None)
    out = pd.DataFrame(
        {
            "material": summary["material"],
            "stock (months)": summary["stock_months"],
            "P(any shortfall)": summary["p_shortfall"],
            "expected shortfall (months)": summary["shortfall_mean"],
            f"CVaR{cv[len('shortfall_cvar') :] if cv else ''} (months)": summary[cv]
            if cv
            else float("nan"),
            "P(stock-out)": summary["p_stockout"],
            "stock-out after (p5, months)": summary["months_to_stockout_p5"],
            "stock-out after (median)": summary["months_to_stockout_p50"],
            "stock-out after (p95)": summary["months_to_stockout_p95"],
            "peak price (median, x)": summary["peak_price_p50"],
        }
    )
    return out.sort_values("expected shortfall (months)", ascending=False, ignore_index=True)


def table_html(frame: pd.DataFrame, *, probability: Sequence[str] = (), first_left: int = 1) -> str:
    """Render a small frame as an HTML table (probabilities as percent, others 2 decimals)."""
    cols = list(frame.columns)
    head = "".join(
        f"<th class='{'l' if i < first_left else ''}'>{html.escape(str(c))}</th>"
        for i, c in enumerate(cols)
    )
    rows = []
    for rec in frame.itertuples(index=False):
        cells = []
        for i, (c, v) in enumerate(zip(cols, rec, strict=True)):
            if v is None or (isinstance(v, float) and pd.isna(v)):
                text = ""
            elif isinstance(v, float):
                text = f"{v:.0%}" if (c in probability or str(c).startswith("P(")) else f"{v:,.2f}"
            else:
                text = html.escape(str(v))
            cells.append(f"<td class='{'l' if i < first_left else ''}'>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
