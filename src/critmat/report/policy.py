"""Figures and report sections of the policy layer (frames in, figures and sections out).

* :func:`timeline_chart`: the event record, one lane per actor, markers by instrument type,
  hover with the summary and the source; :func:`timeline_report` makes it a standalone page;
* :func:`toolkit_heatmap`: events per actor and instrument type;
* :func:`crma_chart` and :func:`crma_section`: the CRMA Article 5 tracker (assess report);
* :func:`imports_chart` and :func:`events_section`: EU imports from China and China's share
  of EU extra-EU imports per year, with the policy events as markers (assess report).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmat._version import __version__
from critmat.report.builder import Column, Figure, Report, Section, Table, Text
from critmat.report.charts import axis, figure, layout, subplot_layout, vline

if TYPE_CHECKING:
    from critmat.assess import Assessment
    from critmat.knowledge_base import KnowledgeBase
    from critmat.policy.compare import Comparison

__all__ = [
    "crma_chart",
    "crma_section",
    "events_section",
    "imports_chart",
    "timeline_chart",
    "timeline_report",
    "toolkit_heatmap",
]

_SYMBOLS = {
    "list": "square",
    "law": "diamond",
    "strategy": "circle",
    "stockpile": "triangle-up",
    "export_control": "x",
    "wto_dispute": "star",
    "partnership": "cross",
    "funding": "pentagon",
    "subsidy": "hexagon",
    "report": "circle-open",
    "dialogue": "square-open",
    "trade_policy": "diamond-open",
    "industry_action": "triangle-down",
}


def _hover(e: pd.DataFrame) -> pd.Series:
    src = (
        e["primary_source_url"]
        .fillna(e["secondary_source_url"])
        .fillna("(" + e["evidence"].fillna("no source").astype(str) + ")")
    )
    wrap = (
        e["summary"]
        .fillna("")
        .map(lambda s: "<br>".join(s[i : i + 80] for i in range(0, len(s), 80)))
    )
    return (
        e["event_id"].astype(str)
        + " ("
        + e["date"].dt.strftime("%Y-%m-%d")
        + ", "
        + e["date_precision"].astype(str)
        + ")<br>"
        + e["instrument_type"].astype(str)
        + "<br>"
        + wrap.map(html.escape)
        + "<br>source: "
        + src.astype(str).map(html.escape)
    )


def timeline_chart(events: pd.DataFrame) -> Any:
    """Scatter of the events: x the date, one lane (y) per acting actor, symbol by type."""
    import plotly.graph_objects as go

    e = events.copy()
    e["date"] = pd.to_datetime(e["date"])
    lanes = list(dict.fromkeys(e["actor"].astype(str)))
    fig = go.Figure()
    for kind, g in e.groupby("instrument_type", sort=True):
        fig.add_trace(
            go.Scatter(
                x=g["date"],
                y=g["actor"].astype(str),
                mode="markers",
                name=str(kind).replace("_", " "),
                marker={"symbol": _SYMBOLS.get(str(kind), "circle"), "size": 11},
                text=_hover(g),
                hovertemplate="%{text}<extra></extra>",
            )
        )
    fig.update_yaxes(categoryorder="array", categoryarray=lanes[::-1], title="")
    fig.update_xaxes(title="date (markers at the 1st of the month/year where only that is known)")
    return layout(fig, "Policy events by actor and instrument type", height=120 + 60 * len(lanes))


def toolkit_heatmap(comparison: Comparison) -> Any:
    """Heat map of events per actor (rows) and instrument type (columns)."""
    import plotly.graph_objects as go

    m = comparison.matrix
    fig = go.Figure(
        go.Heatmap(
            z=m.to_numpy(),
            x=[c.replace("_", " ") for c in m.columns],
            y=list(m.index),
            colorscale="Blues",
            text=m.to_numpy(),
            texttemplate="%{text}",
            hovertemplate="%{y}, %{x}: %{z} events<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return layout(fig, "Instruments used (events in the record)", height=360)


def timeline_report(kb: KnowledgeBase, events: pd.DataFrame, comparison: Comparison) -> Report:
    """A standalone page: the timeline, the heat map and the pair texts."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sec = Section(
        "Policy events 2008-2025",
        [
            Text(
                f"{len(events)} events of the record (policy_events); hover a marker for the "
                "summary and the source. Dates known only to the month or year are drawn at "
                "its first day (date_precision in the hover)."
            ),
            Figure(timeline_chart(events)),
            Figure(toolkit_heatmap(comparison)),
            *[Text(t) for t in comparison.texts.values()],
        ],
        sources=["policy_record_2008_2025", "seed_002_timeline"],
        key="policy_timeline",
    )
    sub = f"critmat {__version__}, dataset {kb.version}, generated {stamp}."
    return Report("critmat policy timeline", sub, [sec])


def crma_chart(tracker: pd.DataFrame) -> Any:
    """Bars of each strategic material's value per benchmark with the thresholds.

    One column per benchmark (``make_subplots``' grid, shared y axis), built in one go
    (:func:`~critmat.report.charts.figure`).
    """
    benches = list(dict.fromkeys(tracker["benchmark"]))
    lay = subplot_layout(
        len(benches), shared_yaxes=True, subplot_titles=[b.replace("_", " ") for b in benches]
    )
    colours = {"met": "#31a354", "not_met": "#c0392b", "unknown": "#bdbdbd"}
    data: list[dict[str, Any]] = []
    shapes = []
    for i, b in enumerate(benches, start=1):
        d = tracker[tracker["benchmark"] == b]
        data.append(
            {
                "type": "bar",
                "y": d["material"],
                "x": d["value"].fillna(0.0),
                "orientation": "h",
                "marker": {"color": d["status"].map(colours).fillna("#bdbdbd")},
                "text": d["basis"],
                "hovertemplate": "%{y}: %{x:.0%} (%{text})<extra></extra>",
                "showlegend": False,
                "xaxis": f"x{axis(i)}",
                "yaxis": f"y{axis(i)}",
            }
        )
        shapes.append(vline(float(d["threshold"].iloc[0]), dash="dot", color="grey", col=i))
        lay[f"xaxis{axis(i)}"].update(tickformat=".0%", range=[0, 1])
    lay["shapes"] = shapes
    return figure(
        data,
        lay,
        "CRMA Art. 5 benchmarks: green met, red not met, grey unknown (dotted: threshold)",
        height=140 + 22 * tracker["material"].nunique(),
    )


def crma_section(kb: KnowledgeBase, a: Assessment) -> Section | None:
    """The CRMA tracker section of the assessment report."""
    t = kb.policy.crma_benchmarks()
    if t.empty:
        return None
    counts = t.groupby(["benchmark", "status"]).size().unstack(fill_value=0)
    lines = []
    for b, r in counts.iterrows():
        lines.append(
            f"{str(b).replace('_', ' ')}: {int(r.get('met', 0))} met, "
            f"{int(r.get('not_met', 0))} not met, {int(r.get('unknown', 0))} unknown"
        )
    cols = {
        "material": Column("Material"),
        "benchmark": Column("Benchmark"),
        "value": Column("Value", "percent"),
        "threshold": Column("Threshold", "percent"),
        "status": Column("Status"),
        "basis": Column("Basis"),
        "third_country": Column("Country"),
        "reference_years": Column("Years"),
        "n_projects": Column("Projects"),
    }
    shown = t[[c for c in cols if c in t.columns]]
    return Section(
        "CRMA Article 5 benchmarks (2030)",
        [
            Text(
                f"{t['material'].nunique()} strategic raw materials against the four "
                "benchmarks of Regulation (EU) 2024/1252 Art. 5(1). " + "; ".join(lines) + "."
            ),
            Figure(crma_chart(t)),
            Table(
                shown,
                cols,
                title="Benchmark values",
                first_left=2,
                caption="share_proxy: shares of EU sourcing from the EU 2023 study "
                "(2016-2020), not the Act's tonnes over EU consumption; give your EU "
                "consumption figures with `critmat crma benchmarks --consumption FILE`",
            ),
        ],
        sources=[
            "crma_2024",
            "crma_benchmark_versions",
            "crma_eu_sourcing_2023_derived",
            "crma_strategic_projects_eu_2025",
        ],
        key="crma",
    )


def imports_chart(series: pd.DataFrame, events: pd.DataFrame, material: str) -> Any:
    """EU27 imports from China (t) and China's share of EU extra-EU imports, with events.

    Bars on the primary y axis, the share on the secondary one (``make_subplots``'
    ``secondary_y`` grid), built in one go (:func:`~critmat.report.charts.figure`).
    """
    data = [
        {
            "type": "bar",
            "x": series["year"],
            "y": series["eu_from_china"],
            "name": "EU27 imports from China (t)",
            "marker": {"color": "#9ecae1"},
            "xaxis": "x",
            "yaxis": "y",
        },
        {
            "type": "scatter",
            "x": series["year"],
            "y": series["china_share"],
            "name": "China's share of EU extra-EU imports",
            "mode": "lines+markers",
            "line": {"color": "#c0392b"},
            "xaxis": "x",
            "yaxis": "y2",
        },
    ]
    shapes, notes = [], []
    for day, event_id, summary in zip(
        pd.to_datetime(events["date"]), events["event_id"], events["summary"], strict=True
    ):
        x = day.year + (day.day_of_year - 1) / 365.25 - 0.5
        shapes.append(vline(x, dash="dot", color="grey"))
        notes.append(
            {
                "x": x,
                "y": 1.0,
                "yref": "paper",
                "text": str(event_id),
                "showarrow": False,
                "textangle": -90,
                "font": {"size": 9},
                "xanchor": "right",
                "yanchor": "top",
                "hovertext": html.escape(str(summary)[:200]),
            }
        )
    lay = subplot_layout(secondary_y=True)
    lay["yaxis"]["title"] = {"text": "t"}
    lay["yaxis2"].update(title={"text": "share"}, tickformat=".0%", range=[0, 1])
    lay["shapes"] = shapes
    lay["annotations"] = notes
    return figure(data, lay, f"{material}: EU imports from China and policy events", height=380)


def events_section(kb: KnowledgeBase, a: Assessment) -> Section | None:
    """Import time series of the export-controlled materials with the events as markers.

    The trade of every material comes from one :func:`~critmat.policy.backtest.flows` call
    and the events naming each from one pass over the record
    (:func:`~critmat.policy.events.naming`; a material the knowledge base resolves to more
    than itself is asked of :func:`~critmat.policy.events.events`).
    """
    from critmat.policy.backtest import flows
    from critmat.policy.events import naming

    ec = kb.table("export_controls")
    assessed = set(a.table["material"])
    hs = set(kb.table("hs_codes")["material"])
    mats = [m for m in dict.fromkeys(ec["material"].dropna()) if m in assessed and m in hs]
    if not mats:
        return None
    f = flows(kb, mats)
    f = f[f["year"] >= 2008]
    by_material = dict(list(f.groupby("material", sort=False)))
    named = naming(kb, mats)
    record = kb.policy.events() if named else None
    blocks: list[Any] = [
        Text(
            "EU27 imports from China (bars, tonnes, BACI, the material's HS codes summed) and "
            "China's share of EU imports from outside the EU (line), with the policy events "
            "naming the material (dotted lines; `critmat policy events --materials NAME`). "
            "Back-test of each export control: `critmat policy backtest`."
        )
    ]
    drawn = 0
    for m in mats:
        fm = by_material.get(m, f.iloc[:0])
        s = fm.groupby(["flow", "year"])["quantity_t"].sum(min_count=1)
        if s.empty or not (s > 0).any():
            continue  # e.g. germanium: its HS 1992 code has no trade after 2016
        w = s.unstack(0).reindex(columns=["eu_from_china", "eu_from_extra_eu"])
        w["china_share"] = w["eu_from_china"] / w["eu_from_extra_eu"]
        w = w.reset_index()
        if record is not None and m in named:
            ev = record[record["event_id"].isin(named[m]) & (record["year"] >= 2008)]
        else:
            ev = kb.policy.events(materials=m)
            ev = ev[(ev["year"] >= 2008) & ev["matched_by"].eq(m)]
        blocks.append(Figure(imports_chart(w, ev, m)))
        drawn += 1
    if not drawn:
        return None
    return Section(
        "Policy events on the import series",
        blocks,
        sources=["baci_hs92_v202401b", "policy_record_2008_2025"],
        key="policy_events",
    )
