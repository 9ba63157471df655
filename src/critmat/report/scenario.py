"""Scenario ensembles drawn: fan charts, stock-out tables, run reports, the "what if".

Frames in, figures and report sections out: :func:`fan_chart`, :func:`stockout_table`,
:func:`scenario_section` / :func:`scenario_report` (one stored or fresh run) and
:func:`whatif_section` (the assessment's preset ensembles, computed by
:func:`critmat.scenarios.whatif.whatif`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmat._version import __version__
from critmat.report.builder import Column, Details, Figure, Html, Report, Section, Table, Text
from critmat.report.charts import FONT

if TYPE_CHECKING:
    from critmat.scenarios.result import EnsembleResult
    from critmat.scenarios.whatif import WhatIf

__all__ = [
    "fan_chart",
    "scenario_html",
    "scenario_report",
    "scenario_section",
    "stockout_table",
    "table_html",
    "whatif_section",
]

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
        the mean dashed. Built in one go (all traces and the layout at once, the template
        set as :func:`critmat.report.charts.white_template` sets it).
    """
    import plotly.graph_objects as go

    from critmat.report.charts import white_template

    d = monthly[monthly["variable"] == variable]
    if materials is None:
        order = d.groupby("material")["mean"].mean().sort_values(ascending=False)
        materials = [str(m) for m in order.index]
    pcts = _pct_columns(d)
    bands = [(pcts[i], pcts[-1 - i]) for i in range(len(pcts) // 2)]
    median = next((c for q, c in pcts if q == 50.0), None)
    traces: list[dict[str, Any]] = []
    per_material = 0
    for k, mat in enumerate(materials):
        g = d[d["material"] == mat].sort_values("month")
        x = g["month"].to_numpy()
        vis = k == 0
        count = 0
        for b, ((qlo, lo), (qhi, hi)) in enumerate(bands):
            alpha = 0.18 + 0.22 * b / max(len(bands) - 1, 1)
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": g[hi],
                    "mode": "lines",
                    "line": {"width": 0},
                    "showlegend": False,
                    "hoverinfo": "skip",
                    "visible": vis,
                }
            )
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": g[lo],
                    "mode": "lines",
                    "line": {"width": 0},
                    "fill": "tonexty",
                    "fillcolor": f"rgba(44,127,184,{alpha:.2f})",
                    "name": f"{qlo:g}-{qhi:g}th percentile",
                    "visible": vis,
                    "hoverinfo": "skip",
                }
            )
            count += 2
        if median is not None:
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": g[median],
                    "mode": "lines",
                    "name": "median",
                    "line": {"color": "#08306b", "width": 2},
                    "visible": vis,
                }
            )
            count += 1
        traces.append(
            {
                "type": "scatter",
                "x": x,
                "y": g["mean"],
                "mode": "lines",
                "name": "mean",
                "line": {"color": "#c0392b", "width": 1.5, "dash": "dash"},
                "visible": vis,
            }
        )
        count += 1
        per_material = count
    lay: dict[str, Any] = {}
    if len(materials) > 1:
        n = per_material * len(materials)
        buttons = []
        for k, mat in enumerate(materials):
            visible = [per_material * k <= i < per_material * (k + 1) for i in range(n)]
            buttons.append({"label": str(mat), "method": "update", "args": [{"visible": visible}]})
        lay["updatemenus"] = [
            {
                "buttons": buttons,
                "x": 1.0,
                "xanchor": "right",
                "y": 1.15,
                "yanchor": "top",
                "direction": "down",
            }
        ]
    lay["xaxis"] = {"title": {"text": "month (0 = first simulated month)"}}
    lay["yaxis"] = {"title": {"text": _YLABEL.get(variable, variable)}, "rangemode": "tozero"}
    lay.update(
        title={"text": title or f"{variable}: percentiles over scenarios"},
        font=dict(FONT),
        height=height,
        margin={"l": 60, "r": 20, "t": 70, "b": 50},
        legend={"title": {"text": ""}},
    )
    return white_template(go.Figure(data=traces, layout=lay))


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


def _table(frame: pd.DataFrame, *, first_left: int = 1) -> Table:
    """Probabilities as whole percentages, other numbers with two decimals."""
    cols = {
        str(c): Column(str(c), "percent" if str(c).startswith("P(") else "decimal2")
        for c in frame.columns
    }
    for c in list(cols)[:first_left]:
        cols[c] = Column(c)
    return Table(frame, cols, first_left=first_left)


def table_html(frame: pd.DataFrame, *, first_left: int = 1) -> str:
    """A small frame as an HTML table (probabilities as percent, others 2 decimals)."""
    from critmat.report.html import table_html as render

    return render(_table(frame, first_left=first_left))


def scenario_section(result: EnsembleResult) -> Section:
    """One run: stock-out table, fan charts, defence systems, event and assumptions."""
    sc = result.spec.scenario
    blocks: list[Any] = [
        Text(sc.description or sc.name),
        Text(
            f"{result.samples:,} scenarios x {len(result.summary)} materials x "
            f"{sc.horizon_months} months, seed {result.spec.seed}; shortfalls in months of "
            "EU baseline demand.",
            meta=True,
        ),
        _table(stockout_table(result.summary)),
    ]
    for var in ("shortfall", "stock"):
        blocks.append(Figure(fan_chart(result.monthly, variable=var, title=f"{sc.name}: {var}")))
    if len(result.systems):
        systems = _table(result.systems)
        systems.title = "Defence systems not built"
        blocks.append(systems)
    if sc.event is not None:
        ev = sc.event
        blocks.append(
            Text(f"Event: {', '.join(ev.event_ids) or ev.kind}; {ev.citation}", meta=True)
        )
    if sc.assumptions:
        blocks.append(Details("Assumptions", [Text(a) for a in sc.assumptions]))
    sources = [str(x) for x in result.meta.get("sources", [])]
    return Section(f"Scenario: {sc.name}", blocks, sources=sources, key="scenario")


def scenario_report(result: EnsembleResult) -> Report:
    """A report of one run (a single section)."""
    section = scenario_section(result)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    run = f", run {result.run_id}" if result.run_id else ""
    subtitle = (
        f"critmat {__version__}, dataset {result.meta.get('dataset_version', '')}{run}, "
        f"generated {stamp}."
    )
    return Report(section.title, subtitle, [section])


def scenario_html(result: EnsembleResult) -> str:
    """A standalone HTML page of one run (plotly.js inlined)."""
    out = scenario_report(result).render("html")
    return out if isinstance(out, str) else out.decode("utf-8")


def whatif_section(w: WhatIf) -> Section:
    """The "what if" section of the assessment report.

    Parameters
    ----------
    w
        The presets' ensembles (:func:`critmat.scenarios.whatif.whatif`).
    """
    stock_text = (
        f"every material starts with a stock of {w.stock_months:.2f} months of demand "
        f"({w.stock_citation}), released without a cap as needed - an "
        "illustration, the EU holds no common stockpile"
        if w.stock_months > 0
        else "no stocks"
    )
    intro = Text(
        "Each scenario replays a recorded Chinese export-control instrument as a cut of "
        "China's supply to the EU (EU 2023 study sourcing shares), or a hypothetical cut. "
        "What the record cannot say is assumed and varied over "
        f"{w.samples} Monte Carlo draws (seed {w.seed}): severity 50-100 % of the flows, "
        "duration log-normal with median 18 months, 0-20 % re-routed through third countries; "
        f"{stock_text}. Shortfalls are in months of EU baseline demand of the material "
        "(CVaR95: mean of the worst 5 % of draws); prices from the constant-elasticity "
        "response (METHODS.md §4.2, elasticities -0.3 and 0.2 assumed, capped at 10x). "
        "Run `critmat scenario run --preset NAME` for the full ensemble."
    )
    blocks: list[Any] = [
        intro,
        _table(w.table.drop(columns=["preset"], errors="ignore"), first_left=3),
    ]
    if w.first is not None:
        fig = fan_chart(
            w.first.monthly,
            variable="shortfall",
            title=f"{w.first.name}: monthly shortfall, percentiles over {w.first.samples} "
            "scenarios",
        )
        blocks.append(Figure(fig))
    blocks.append(
        Details(
            "Events and citations",
            [Html("<ul>" + "".join(_citation(t, lab, c) for t, lab, c in w.citations) + "</ul>")],
        )
    )
    sources = ["export_controls", "defence_facts", "eu_crm_2023_eus", "eu_crm_2023_gs"]
    return Section("What if: disruption scenarios", blocks, sources=sources, key="whatif")


def _citation(title: str, label: str, citation: str) -> str:
    return f"<li><b>{html.escape(title)}</b> ({html.escape(label)}): {html.escape(citation)}</li>"
