"""The report's figures are the same with the template set once validated (issue 11).

:func:`critmat.report.charts.white_template` sets plotly's "plotly_white" template without
plotly validating its tree again for every figure; the oracles below are the previous
constructions, kept verbatim (apart from their names): ``update_layout(template=...)``.
Every figure of the assessment report is built both ways and compared as
``to_plotly_json()`` (layout), as parsed JSON and as the JSON text written into the HTML
(key order included).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from critmat.knowledge_base import KnowledgeBase
from critmat.report import charts, defence
from critmat.report.builder import Details, Figure, Report

FONT = charts.FONT

# ------------------------------------------------------------ previous constructions


def layout_validated(fig: Any, title: str, height: int = 520) -> Any:
    """Apply critmat's figure layout (font, margins, white template) and a title."""
    fig.update_layout(
        title=title,
        font=FONT,
        height=height,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        template="plotly_white",
        legend_title_text="",
    )
    return fig


def white_template_validated(fig: Any) -> Any:
    """The template as ``defence.exposure_heatmap``/``uses_heatmap`` set it (validated)."""
    fig.update_layout(template="plotly_white")
    return fig


# ------------------------------------------------------------ helpers


def _figures(blocks: list[Any]) -> Iterator[Any]:
    for b in blocks:
        if isinstance(b, Figure):
            yield b.figure
        elif isinstance(b, Details):
            yield from _figures(list(b.blocks))


def _report_figures(report: Report) -> list[tuple[str, Any]]:
    return [(s.key, f) for s in report.sections for f in _figures(list(s.blocks))]


@pytest.fixture(scope="module")
def both(kb: KnowledgeBase) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """The report's figures, new path and previous path (same assessment)."""
    import copy

    from critmat.assess import assess
    from critmat.report.assessment import assessment_report

    # a copy has no origin in the knowledge base's cache: its sections are built each time,
    # never read back from the kept results (critmat.data.results)
    a = copy.copy(assess(kb))
    new = _report_figures(assessment_report(kb, a))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(charts, "white_template", white_template_validated)
        mp.setattr(defence, "white_template", white_template_validated)
        old = _report_figures(assessment_report(kb, a))
    return new, old


# ------------------------------------------------------------ tests


def test_every_report_figure_as_with_the_validated_template(
    both: tuple[list[tuple[str, Any]], list[tuple[str, Any]]],
) -> None:
    new, old = both
    assert [k for k, _ in new] == [k for k, _ in old]
    assert len(new) >= 10
    for (key, f_new), (_, f_old) in zip(new, old, strict=True):
        assert f_new.layout.to_plotly_json() == f_old.layout.to_plotly_json(), key
        assert json.loads(f_new.to_json()) == json.loads(f_old.to_json()), key
        assert f_new.to_json() == f_old.to_json(), key  # the HTML's JSON, key order too
        assert f_new.layout.template.layout.paper_bgcolor == "white", key


def test_layout_as_the_previous_update_layout() -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    def build(apply: Any, make: Any) -> Any:
        fig = make()
        fig.add_trace(go.Bar(x=[1, 2], y=[3.5, 4.0], name="a"))
        return apply(fig, "A title", 400)

    for make in (go.Figure, lambda: make_subplots(specs=[[{"secondary_y": True}]])):
        new = build(charts.layout, make)
        old = build(layout_validated, make)
        assert new.to_json() == old.to_json()
        assert new.layout.to_plotly_json() == old.layout.to_plotly_json()


def test_the_shared_template_is_not_shared_state() -> None:
    import plotly.graph_objects as go

    first = charts.layout(go.Figure(), "first")
    first.layout.template.layout.paper_bgcolor = "black"
    second = charts.layout(go.Figure(), "second")
    assert second.layout.template.layout.paper_bgcolor == "white"
    assert layout_validated(go.Figure(), "x").layout.template.layout.paper_bgcolor == "white"
    # later updates of a figure are validated as before
    with pytest.raises(ValueError, match="height"):
        second.update_layout(height=3)
