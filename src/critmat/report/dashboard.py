"""Figures of the dashboard (``critmat.web``): frames in, plotly figures out.

World maps of supply shares (plotly choropleth on ISO-3 codes: drawn offline from the
topology bundled with plotly.js), the EU's import trend with the policy events of the
material, the EU method's values next to the published ones, capability at risk, the
stockpile frontier and the policy timeline. Names and units are the reader's (material and
country names, percent, tonnes, euros); each figure's sources are printed below it by the
page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from critmat.report.charts import layout

__all__ = [
    "capability_chart",
    "crma_chart",
    "method_chart",
    "policy_timeline",
    "supply_map",
    "trade_trend",
]


def supply_map(
    shares: pd.DataFrame, *, material: str, stage: str, countries: Mapping[str, str]
) -> Any:
    """World map of one material's global supply shares at one stage.

    Parameters
    ----------
    shares
        ``material, stage, country, share`` (ISO-3 countries; the EU 2023 study's shares).
    material
        Name shown in the title.
    stage
        ``extraction`` or ``processing``.
    countries
        ``{ISO-3: name}`` for the hover text.
    """
    import plotly.graph_objects as go

    d = shares[shares["stage"] == stage]
    d = d[d["country"].astype(str).str.fullmatch(r"[A-Z]{3}")]
    d = d.groupby("country", as_index=False)["share"].sum()
    names = [countries.get(str(c), str(c)) for c in d["country"]]
    fig = go.Figure(
        go.Choropleth(
            locations=d["country"],
            locationmode="ISO-3",
            z=d["share"] * 100,
            text=names,
            colorscale="Reds",
            zmin=0,
            zmax=100,
            marker_line_color="#999",
            marker_line_width=0.4,
            colorbar={"title": {"text": "% of world"}, "ticksuffix": " %"},
            hovertemplate="%{text}: %{z:.1f} % of global " + stage + "<extra></extra>",
        )
    )
    fig.update_geos(
        showcountries=True,
        countrycolor="#ccc",
        showframe=False,
        projection_type="natural earth",
        lonaxis_range=[-180, 180],
        lataxis_range=[-58, 84],
        showland=True,
        landcolor="#f4f4f4",
    )
    fig = layout(fig, f"{material}: global {stage} by country (EU 2023 study)", 420)
    fig.update_layout(margin={"l": 0, "r": 0, "t": 50, "b": 0})
    return fig


def trade_trend(
    yearly: pd.DataFrame, events: pd.DataFrame, *, material: str, importer: str = "EU27"
) -> Any:
    """The importer's imports of a material by year, China's share, and policy events.

    Parameters
    ----------
    yearly
        ``year, value_musd, china_share`` (imports from outside the importer).
    events
        ``date, label, detail`` of policy events for the material (vertical markers).
    material, importer
        For the title.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Bar(
            x=yearly["year"],
            y=yearly["value_musd"],
            name="imports (million USD)",
            marker_color="#9ecae1",
            hovertemplate="%{x}: %{y:,.1f} million USD<extra></extra>",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=yearly["year"],
            y=yearly["china_share"] * 100,
            name="from China (%)",
            mode="lines+markers",
            line={"color": "#c0392b"},
            hovertemplate="%{x}: %{y:.1f} % from China<extra></extra>",
        ),
        secondary_y=True,
    )
    if len(events):
        ev = events.copy()
        ev["x"] = pd.to_datetime(ev["date"]).dt.year + (
            pd.to_datetime(ev["date"]).dt.day_of_year / 366
        )
        top = float(yearly["value_musd"].max()) if len(yearly) else 1.0
        fig.add_trace(
            go.Scatter(
                x=ev["x"] - 0.5,
                y=[top * 1.05] * len(ev),
                mode="markers",
                marker={"symbol": "triangle-down", "size": 12, "color": "#333"},
                name="policy event",
                text=ev["label"],
                customdata=ev["detail"],
                hovertemplate="%{text}<br>%{customdata}<extra></extra>",
            ),
            secondary_y=False,
        )
        for x in ev["x"]:
            fig.add_vline(x=float(x) - 0.5, line_dash="dot", line_color="#888")
    fig.update_yaxes(title_text="imports, million USD", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text="share from China, %", secondary_y=True, range=[0, 100])
    fig.update_xaxes(title_text="year")
    return layout(fig, f"{material}: {importer} imports from outside the {importer} (BACI)", 440)


def method_chart(rows: pd.DataFrame, *, material: str) -> Any:
    """The EU method's indicators as computed by critmat next to the published ones.

    Parameters
    ----------
    rows
        ``indicator, computed, published``.
    """
    import plotly.graph_objects as go

    fig = go.Figure(
        [
            go.Bar(
                name="critmat computation",
                x=rows["indicator"],
                y=rows["computed"],
                marker_color="#2c7fb8",
                hovertemplate="%{x}: %{y:.2f} (critmat)<extra></extra>",
            ),
            go.Bar(
                name="published (EU 2023 study)",
                x=rows["indicator"],
                y=rows["published"],
                marker_color="#bdbdbd",
                hovertemplate="%{x}: %{y:.2f} (published)<extra></extra>",
            ),
        ]
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="value (SR: supply risk, EI: economic importance, 0-10)")
    return layout(fig, f"{material}: EU method, computed and published", 380)


def capability_chart(cap: pd.DataFrame) -> Any:
    """Share of each system's planned production that cannot be built in the stress."""
    import plotly.graph_objects as go

    d = cap.sort_values("share_lost_fixed")
    fig = go.Figure(
        [
            go.Bar(
                y=d["system"],
                x=d["share_lost_fixed"] * 100,
                orientation="h",
                name="without mitigation",
                marker_color="#c0392b",
                customdata=d[["not_built_fixed", "planned_units", "limiting"]].to_numpy(),
                hovertemplate="%{y}<br>%{x:.0f} % lost: %{customdata[0]:.1f} of "
                "%{customdata[1]:.1f} units not built<br>limiting: %{customdata[2]}"
                "<extra></extra>",
            ),
            go.Bar(
                y=d["system"],
                x=d["share_lost_mitigated"] * 100,
                orientation="h",
                name="with mitigation",
                marker_color="#fdae6b",
                hovertemplate="%{y}<br>%{x:.0f} % lost with mitigation<extra></extra>",
            ),
        ]
    )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="planned production not built, %", range=[0, 100])
    return layout(fig, "Capability at risk: production lost during the cut", 140 + 46 * len(d))


def crma_chart(sourcing: pd.DataFrame, *, cap: float = 0.65) -> Any:
    """Largest third country's share of EU supply per strategic material, with the cap.

    Parameters
    ----------
    sourcing
        ``material_name, stage, largest_third_country_share, largest_third_country_name``.
    cap
        The CRMA benchmark (no third country above 65 % of EU consumption by 2030).
    """
    import plotly.graph_objects as go

    d = sourcing.sort_values("largest_third_country_share", ascending=True)
    colours = ["#c0392b" if v > cap else "#2c7fb8" for v in d["largest_third_country_share"]]
    fig = go.Figure(
        go.Bar(
            y=d["material_name"] + " (" + d["stage"] + ")",
            x=d["largest_third_country_share"] * 100,
            orientation="h",
            marker_color=colours,
            text=d["largest_third_country_name"],
            hovertemplate="%{y}: %{x:.0f} % from %{text}<extra></extra>",
        )
    )
    fig.add_vline(
        x=cap * 100,
        line_dash="dash",
        line_color="#333",
        annotation_text=f"CRMA benchmark {cap:.0%}",
    )
    fig.update_xaxes(title="largest third country's share of EU supply, %", range=[0, 100])
    return layout(
        fig,
        "CRMA tracker: dependence on one third country (EU 2023 sourcing)",
        160 + 18 * len(d),
    )


def policy_timeline(events: pd.DataFrame) -> Any:
    """Policy events over time, one row per actor, coloured by instrument.

    Parameters
    ----------
    events
        ``date, actor, instrument, summary, materials``.
    """
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    fig = go.Figure()
    palette = qualitative.Safe + qualitative.Pastel
    for i, (kind, g) in enumerate(events.groupby("instrument", sort=True)):
        fig.add_trace(
            go.Scatter(
                x=g["date"],
                y=g["actor"],
                mode="markers",
                name=str(kind).replace("_", " "),
                marker={"size": 10, "color": palette[i % len(palette)], "opacity": 0.85},
                text=g["summary"],
                customdata=g["materials"],
                hovertemplate="%{x|%Y-%m-%d} %{y}<br>%{text}<br>materials: %{customdata}"
                "<extra></extra>",
            )
        )
    fig.update_xaxes(title="date")
    fig.update_yaxes(title="")
    return layout(fig, "Policy timeline: critical raw materials measures", 460)
