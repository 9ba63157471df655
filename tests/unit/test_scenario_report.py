"""Fan charts, stock-out tables and the "what if" section of the assessment report."""

from __future__ import annotations

from critmat.knowledge_base import KnowledgeBase
from critmat.report.builder import Report
from critmat.report.scenario import (
    fan_chart,
    scenario_html,
    stockout_table,
    table_html,
    whatif_section,
)
from critmat.scenarios.whatif import illustrative_stock_months


def test_fan_chart_and_stockout_table(kb: KnowledgeBase) -> None:
    res = kb.scenarios.run(
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
        samples=50,
    )
    fig = fan_chart(res.monthly, variable="shortfall")
    assert len(fig.layout.updatemenus[0].buttons) == 2  # one per material
    visible = [t.visible for t in fig.data]
    assert visible.count(True) == len(visible) // 2
    table = stockout_table(res.summary)
    # most short first: gallium (China 69 % of EU sourcing); germanium's EU-sourcing rows copy
    # the global ones, so the checked fallback (China 37 %) no longer ranks it worst
    assert next(iter(table["material"])) == "gallium"
    assert (table["P(stock-out)"] > 0).all()
    html = table_html(table)
    assert "<table>" in html and "%" in html
    page = scenario_html(res)
    assert page.startswith("<!DOCTYPE html>") and "plotly" in page


def _html(section: object) -> str:
    return str(Report("t", sections=[section]).render("html"))  # type: ignore[list-item]


def test_whatif_section(kb: KnowledgeBase) -> None:
    months, cite = illustrative_stock_months(kb)
    assert months == 60 / (365.25 / 12) and "DF-26" in cite
    section = whatif_section(kb.scenarios.whatif(samples=40, seed=1))
    assert section.title.startswith("What if")
    html = _html(section)
    for event in ("CN-2023-23", "CN-2023-39", "CN-2024-33", "CN-2025-18", "CN-2025-OCT"):
        assert event in html
    assert "hypothetical" in html and "JOGMEC" in html and "gallium" in html
    w = kb.scenarios.whatif(presets=["china-antimony-2024"], samples=20, stock_months=0)
    html = _html(whatif_section(w))
    assert "no stocks" in html and "antimony" in html
