"""Fan charts, stock-out tables and the "what if" section of the assessment report."""

from __future__ import annotations

from critmat.knowledge_base import KnowledgeBase
from critmat.report.scenario_charts import fan_chart, stockout_table, table_html
from critmat.scenarios.report import illustrative_stock_months, scenario_html, whatif_section
from critmat.scenarios.runner import run


def test_fan_chart_and_stockout_table(kb: KnowledgeBase) -> None:
    res = run(
        {
            "shocks": [
                {
                    "exporter": "CHN",
                    "material": ["gallium", "germanium"],
                    "duration": {"dist": "uniform", "low": 3, "high": 24},
                }
            ],
            "mitigations": {"stocks": [{"initial_months": 2}]},
        },
        kb,
        samples=50,
    )
    fig = fan_chart(res.monthly, variable="shortfall")
    assert len(fig.layout.updatemenus[0].buttons) == 2  # one per material
    visible = [t.visible for t in fig.data]
    assert visible.count(True) == len(visible) // 2
    table = stockout_table(res.summary)
    assert next(iter(table["material"])) == "germanium"  # most short first
    assert (table["P(stock-out)"] > 0).all()
    html = table_html(table)
    assert "<table>" in html and "%" in html
    page = scenario_html(res)
    assert page.startswith("<!DOCTYPE html>") and "plotly" in page


def test_whatif_section(kb: KnowledgeBase) -> None:
    months, cite = illustrative_stock_months(kb)
    assert months == 60 / (365.25 / 12) and "DF-26" in cite
    title, html = whatif_section(kb, samples=40, seed=1)
    assert title.startswith("What if")
    for event in ("CN-2023-23", "CN-2023-39", "CN-2024-33", "CN-2025-18", "CN-2025-OCT"):
        assert event in html
    assert "hypothetical" in html and "JOGMEC" in html and "gallium" in html
    assert "<script" not in html.split("plotly")[0]  # no plotly.js: the report has it
    title, html = whatif_section(kb, presets=["china-antimony-2024"], samples=20, stock_months=0)
    assert "no stocks" in html and "antimony" in html
