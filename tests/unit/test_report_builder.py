"""The report package: builder, renderers, the one number formatter, terminal tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from critmat.errors import ParameterError
from critmat.knowledge_base import KnowledgeBase
from critmat.report.builder import RENDERERS, Column, Details, Html, Report, Section, Table, Text
from critmat.report.format import STYLES, format_value


def test_one_formatter_for_every_medium() -> None:
    assert format_value(0.8415, "percent") == "84%"
    assert format_value(0.0913, "share") == "0.091" and format_value(0.85, "share") == "0.85"
    assert format_value(78.163, "tonnes") == "78.2" and format_value(85936.0) == "85,936"
    assert format_value(float("nan"), missing="–") == "–" and format_value(pd.NA) == ""
    assert format_value(True) == "yes" and format_value(2022) == "2022"
    with pytest.raises(ParameterError, match="did you mean 'percent'"):
        format_value(0.5, "percnt")
    assert set(STYLES) >= {"auto", "percent", "share", "decimal1", "tonnes"}


def test_tables_render_the_same_numbers_in_html_and_terminal() -> None:
    from rich.console import Console

    from critmat.report.html import table_html
    from critmat.report.terminal import rich_table

    frame = pd.DataFrame(
        {"material": ["gallium", "copper"], "share": [0.938, None], "critical": [True, False]}
    )
    t = Table(
        frame,
        {
            "material": Column("Material"),
            "share": Column("China P", "percent", "China's share"),
            "critical": Column("Critical"),
        },
        title="T",
        marks={"critical": lambda r: ("*" if r["material"] == "gallium" else "", False)},
    )
    assert t.cells() == [["gallium", "94%", "yes*"], ["copper", "", "no"]]
    html = table_html(t)
    assert "<td class=''>94%</td>" in html and "title='China's share'" not in html
    assert "title='China&#x27;s share'" in html
    console = Console(width=80, record=True)
    console.print(rich_table(t))
    text = console.export_text()
    assert "94%" in text and "–" in text and "yes*" in text


def test_report_sections_renderers_and_write(tmp_path: Path) -> None:
    blocks = [Text("a & b"), Details("more", [Html("<b>x</b>")])]
    r = Report("Title <x>", "sub", [Section("A", blocks, sources=["s1"], key="a")])
    r.add(None).add(Section("B", [], sources=["s2"]))
    assert r.sources() == ["s1", "s2"] and r.section("a").title == "A"
    html = str(r.render("html"))
    assert "<title>Title &lt;x&gt;</title>" in html and "a &amp; b" in html and "<b>x</b>" in html
    assert "html" in RENDERERS and "pdf" in RENDERERS
    with pytest.raises(ParameterError, match="no renderer for 'docx'"):
        r.render("docx")
    RENDERERS["txt"] = lambda rep: "\n".join(s.title for s in rep.sections)
    try:
        assert r.write(tmp_path / "r.txt").read_text() == "A\nB"
    finally:
        RENDERERS.pop("txt")
    assert r.write(tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(ParameterError, match="no section 'z'"):
        r.section("z")
    with pytest.raises(ParameterError, match="unknown number style"):
        Column("x", "pct")


def test_assessment_report_composition(kb: KnowledgeBase) -> None:
    from critmat.assess import assess
    from critmat.report.assessment import SECTIONS, assessment_report, terminal_tables

    a = assess(kb, materials="gallium,tungsten,rare_earths", whatif_samples=20)
    report = assessment_report(kb, a)
    keys = [s.key for s in report.sections]
    assert keys == [
        "executive",
        "summary",
        "matrix",
        "china",
        "shares",
        "gpr",
        "defence",
        "whatif",
        "what_to_do",  # decisions (issue 13)
        "crma",  # policy layer: CRMA Art. 5 tracker
        "policy_events",  # policy layer: events on the import series (tungsten, rare earths)
        "sources",
    ]
    assert len(SECTIONS) == 10
    todo = report.section("what_to_do")
    stocks = todo.blocks[1]
    assert isinstance(stocks, Table) and list(stocks.frame["material"]) == ["tungsten"]
    assert "usgs_mcs2026" in todo.sources
    summary = report.section("summary").blocks[1]
    assert isinstance(summary, Table) and summary.labels()[:3] == ["Material", "CRMA", "NATO"]
    assert "eu_crm_2023_gs" in report.sources() and "export_controls" in report.sources()
    html = str(report.render())
    assert html.count("plotly.js v") <= 2 and '<script src="http' not in html
    tables = terminal_tables(a)
    assert [t.title.split(" ")[0] for t in tables] == ["Defence", "Defence:", "Capability", "What"]
    # a package contributes a section through a builder
    extra = assessment_report(
        kb, a, sections=[*SECTIONS, lambda kb, a: Section("Optimisation", key="optimize")]
    )
    assert [s.key for s in extra.sections][-2:] == ["optimize", "sources"]
