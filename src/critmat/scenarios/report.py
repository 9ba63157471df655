"""HTML sections for reports: one ensemble run, and the "what if" section of ``critmat assess``.

:func:`whatif_section` runs a small, fast ensemble for each preset (a few hundred samples)
and returns ``(title, html)`` for ``critmat.report.html.assessment_html(...,
extra_sections=[...])``. The report already embeds plotly.js, so the figures here do not
(pass ``include_plotlyjs=True`` for a standalone page).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmat._version import __version__

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase
    from critmat.scenarios.result import EnsembleResult

__all__ = [
    "WhatIf",
    "illustrative_stock_months",
    "scenario_html",
    "scenario_section",
    "whatif",
    "whatif_section",
]

_DAYS_PER_MONTH = 365.25 / 12

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1200px;
color:#222;line-height:1.45;padding:0 1rem}h1{font-size:1.6rem}
table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{border-bottom:1px solid #eee;padding:.25rem .5rem;text-align:right}
th{background:#f6f6f6}td.l,th.l{text-align:left}.meta{color:#666;font-size:.9rem}
"""


def illustrative_stock_months(kb: KnowledgeBase) -> tuple[float, str]:
    """Japan's JOGMEC stockpile target in months of consumption, and its citation.

    From ``defence_facts`` row DF-26 (60 days of domestic consumption); ``(0, "")`` when
    the row is missing.
    """
    facts = kb.table("defence_facts")
    row = facts[facts["fact_id"] == "DF-26"]
    if row.empty or pd.isna(row["value"].iloc[0]):
        return 0.0, ""
    days = float(row["value"].iloc[0])
    return days / _DAYS_PER_MONTH, (
        f"{days:g} {row['unit'].iloc[0]} (JOGMEC target, "
        f"defence_facts DF-26: {row['citation'].iloc[0]})"
    )


def _fig_html(fig: Any, include_plotlyjs: bool) -> str:
    out: str = fig.to_html(
        full_html=False, include_plotlyjs=include_plotlyjs, config={"displaylogo": False}
    )
    return out


def scenario_section(result: EnsembleResult, *, include_plotlyjs: bool = False) -> tuple[str, str]:
    """``(title, html)`` of one run: stock-out table, fan charts, event and assumptions."""
    from critmat.report.scenario_charts import fan_chart, stockout_table, table_html

    sc = result.spec.scenario
    parts = [
        f"<p>{html.escape(sc.description or sc.name)}</p>",
        f"<p class='meta'>{result.samples:,} scenarios x {len(result.summary)} materials x "
        f"{sc.horizon_months} months, seed {result.spec.seed}; shortfalls in months of "
        "EU baseline demand.</p>",
        table_html(stockout_table(result.summary)),
    ]
    for var in ("shortfall", "stock"):
        fig = fan_chart(result.monthly, variable=var, title=f"{sc.name}: {var}")
        parts.append(_fig_html(fig, include_plotlyjs and var == "shortfall"))
    if len(result.systems):
        parts.append("<h3>Defence systems not built</h3>" + table_html(result.systems))
    if sc.event is not None:
        ev = sc.event
        parts.append(
            f"<p class='meta'>Event: {html.escape(', '.join(ev.event_ids) or ev.kind)}"
            f"; {html.escape(ev.citation)}</p>"
        )
    if sc.assumptions:
        parts.append(
            "<details><summary>Assumptions</summary><ul>"
            + "".join(f"<li>{html.escape(a)}</li>" for a in sc.assumptions)
            + "</ul></details>"
        )
    return f"Scenario: {sc.name}", "".join(parts)


def scenario_html(result: EnsembleResult) -> str:
    """A standalone HTML page of one run (plotly.js inlined)."""
    title, body = scenario_section(result, include_plotlyjs=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    run = f", run {result.run_id}" if result.run_id else ""
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>"
        f"{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='meta'>critmat {__version__}, dataset "
        f"{html.escape(str(result.meta.get('dataset_version', '')))}{run}, generated "
        f"{stamp}.</p>{body}</body></html>\n"
    )


@dataclass
class WhatIf:
    """The presets' small ensembles behind the "what if" sections (terminal and HTML)."""

    table: pd.DataFrame
    first: EnsembleResult | None
    citations: list[tuple[str, str, str]]
    stock_months: float
    stock_citation: str
    samples: int
    seed: int


def whatif(
    kb: KnowledgeBase,
    *,
    presets: list[str] | None = None,
    samples: int = 300,
    seed: int = 2023,
    stock_months: float | None = None,
    top: int = 8,
) -> WhatIf:
    """Run a small ensemble for each preset and summarise it per material.

    Parameters
    ----------
    kb
        Knowledge base.
    presets
        Preset names (default: all, see ``critmat scenario presets``).
    samples, seed
        Monte Carlo draws per preset (small and fast) and seed.
    stock_months
        Stock of every material at the start, in months of demand; default Japan's JOGMEC
        target of 60 days (``defence_facts`` DF-26), an illustration: the EU holds no
        common stockpile.
    top
        Materials kept per preset (the full China cut touches many).

    Returns
    -------
    WhatIf
        One row per preset x material with the probability of any shortfall, expected
        shortfall and CVaR95 (months of demand), median months until stocks run out, the
        probability of a stock-out and the median peak price.
    """
    from critmat.scenarios.presets import all_presets
    from critmat.scenarios.runner import run

    cite = ""
    if stock_months is None:
        stock_months, cite = illustrative_stock_months(kb)
    chosen = all_presets(kb)
    names = presets or list(chosen)
    rows = []
    first: EnsembleResult | None = None
    citations = []
    for name in names:  # a handful of presets, each one vectorised ensemble
        p = chosen[name]
        spec = p.spec.model_copy(deep=True)
        if stock_months > 0:
            from critmat.scenarios.spec import StockPolicy

            spec.scenario.mitigations.stocks = [
                StockPolicy.model_validate({"initial_months": stock_months})
            ]
        res = run(spec, kb, samples=samples, seed=seed)
        first = first or res
        ev = spec.scenario.event
        label = (
            f"{', '.join(p.event_ids)} ({ev.date_effective or ev.date_announced})"
            if p.event_ids and ev is not None
            else "hypothetical"
        )
        citations.append((p.title, label, p.citation))
        s = res.summary.sort_values("shortfall_mean", ascending=False).head(top)
        cv = next(c for c in s.columns if c.startswith("shortfall_cvar"))
        for r in s.itertuples(index=False):
            rec = r._asdict()
            rows.append(
                {
                    "preset": name,
                    "scenario": p.title,
                    "event": label,
                    "material": rec["material"],
                    "P(any shortfall)": rec["p_shortfall"],
                    "expected shortfall (months)": rec["shortfall_mean"],
                    "CVaR95 (months)": rec[cv],
                    "stock lasts (median, months)": rec["months_to_stockout_p50"],
                    "P(stock-out)": rec["p_stockout"],
                    "peak price (median, x)": rec["peak_price_p50"],
                }
            )
    return WhatIf(pd.DataFrame(rows), first, citations, float(stock_months), cite, samples, seed)


def whatif_section(
    kb: KnowledgeBase,
    *,
    presets: list[str] | None = None,
    samples: int = 300,
    seed: int = 2023,
    stock_months: float | None = None,
    top: int = 8,
    include_plotlyjs: bool = False,
    computed: WhatIf | None = None,
) -> tuple[str, str]:
    """The "what if" section of the assessment report, from the presets.

    Parameters
    ----------
    kb
        Knowledge base.
    presets, samples, seed, stock_months, top
        See :func:`whatif`.
    include_plotlyjs
        Embed plotly.js (not needed inside the assessment report).
    computed
        A :class:`WhatIf` already computed (e.g. for the terminal summary); the other
        parameters are then ignored.

    Returns
    -------
    tuple of str
        ``(title, html)``.
    """
    from critmat.report.scenario_charts import fan_chart, table_html

    w = computed or whatif(
        kb, presets=presets, samples=samples, seed=seed, stock_months=stock_months, top=top
    )
    rows, first, citations = w.table, w.first, w.citations
    stock_months, cite, samples, seed = w.stock_months, w.stock_citation, w.samples, w.seed
    table = table_html(rows.drop(columns=["preset"], errors="ignore"), first_left=3)
    chart = ""
    if first is not None:
        fig = fan_chart(
            first.monthly,
            variable="shortfall",
            title=f"{first.name}: monthly shortfall, percentiles over {first.samples} scenarios",
        )
        chart = _fig_html(fig, include_plotlyjs)
    stock_text = (
        f"every material starts with a stock of {stock_months:.2f} months of demand "
        f"({html.escape(cite)}), released without a cap as needed - an "
        "illustration, the EU holds no common stockpile"
        if stock_months > 0
        else "no stocks"
    )
    intro = (
        "<p>Each scenario replays a recorded Chinese export-control instrument as a cut of "
        "China's supply to the EU (EU 2023 study sourcing shares), or a hypothetical cut. "
        "What the record cannot say is assumed and varied over "
        f"{samples} Monte Carlo draws (seed {seed}): severity 50-100 % of the flows, duration "
        "log-normal with median 18 months, 0-20 % re-routed through third countries; "
        f"{stock_text}. Shortfalls are in months of EU baseline demand of the material "
        "(CVaR95: mean of the worst 5 % of draws); prices from the constant-elasticity "
        "response (METHODS.md §4.2, elasticities -0.3 and 0.2 assumed, capped at 10x). "
        "Run <code>critmat scenario run --preset NAME</code> for the full ensemble.</p>"
    )
    sources = "".join(
        f"<li><b>{html.escape(t)}</b> ({html.escape(lab)}): {html.escape(c)}</li>"
        for t, lab, c in citations
    )
    body = (
        intro
        + table
        + chart
        + "<details><summary>Events and citations</summary><ul>"
        + sources
        + "</ul></details>"
    )
    return "What if: disruption scenarios", body
