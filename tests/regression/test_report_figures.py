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

import pandas as pd
import pytest

from critmat.knowledge_base import KnowledgeBase
from critmat.report import charts, decisions, defence, policy, scenario
from critmat.report.builder import Details, Figure, Report, Table
from tests.regression import previous_paths as before

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


# ------------------------------------------------------------ figures built in one go
# critmat.report.charts.figure builds a figure from all its traces and its whole layout at
# once; the oracles are the previous constructions (tests/regression/previous_paths.py:
# make_subplots, add_trace, add_vline/add_hline, update_layout/update_xaxes/update_yaxes).

_BY_UPDATES = {
    (charts, "criticality_chart"): before.criticality_chart_by_updates,
    (charts, "supply_shares_chart"): before.supply_shares_chart_by_updates,
    (charts, "china_share_chart"): before.china_share_chart_by_updates,
    (charts, "geopolrisk_chart"): before.geopolrisk_chart_by_updates,
    (policy, "crma_chart"): before.crma_chart_by_updates,
    (policy, "imports_chart"): before.imports_chart_by_updates,
    (decisions, "frontier_chart"): before.frontier_chart_by_updates,
    (scenario, "fan_chart"): before.fan_chart_by_updates,
    (defence, "exposure_heatmap"): before.exposure_heatmap_by_updates,
    (defence, "uses_heatmap"): before.uses_heatmap_by_updates,
}


def _blocks(blocks: list[Any]) -> Iterator[Any]:
    for b in blocks:
        if isinstance(b, Details):
            yield b.summary
            yield from _blocks(list(b.blocks))
        else:
            yield b


def _same_block(new: Any, old: Any, key: str) -> None:
    assert type(new) is type(old), key
    if isinstance(new, Figure):
        assert json.loads(new.figure.to_json()) == json.loads(old.figure.to_json()), key
        assert (new.title, new.sources) == (old.title, old.sources), key
    elif isinstance(new, Table):
        pd.testing.assert_frame_equal(new.frame, old.frame, check_exact=True, obj=key)
        assert (new.columns, new.title, new.caption, new.first_left, new.missing) == (
            old.columns,
            old.title,
            old.caption,
            old.first_left,
            old.missing,
        ), key
    else:
        assert new == old, key


@pytest.fixture(scope="module")
def one_go(kb: KnowledgeBase) -> tuple[Report, Report]:
    """The report built now and with the previous figure constructions (same assessment)."""
    import copy

    from critmat.assess import assess
    from critmat.report.assessment import assessment_report

    a = copy.copy(assess(kb))
    new = assessment_report(kb, a)
    with pytest.MonkeyPatch.context() as mp:
        for (module, name), old in _BY_UPDATES.items():
            mp.setattr(module, name, old)
        old_report = assessment_report(kb, a)
    return new, old_report


def test_report_as_with_the_figures_built_by_updates(one_go: tuple[Report, Report]) -> None:
    new, old = one_go
    assert [s.key for s in new.sections] == [s.key for s in old.sections]
    keys = {s.key for s in new.sections}
    assert {
        "matrix",
        "china",
        "shares",
        "gpr",
        "defence",
        "whatif",
        "what_to_do",
        "crma",
        "policy_events",
    } <= keys
    n_figures = 0
    for s_new, s_old in zip(new.sections, old.sections, strict=True):
        assert (s_new.title, s_new.sources) == (s_old.title, s_old.sources), s_new.key
        b_new, b_old = list(_blocks(s_new.blocks)), list(_blocks(s_old.blocks))
        assert len(b_new) == len(b_old), s_new.key
        for x, y in zip(b_new, b_old, strict=True):
            _same_block(x, y, s_new.key)
            n_figures += isinstance(x, Figure)
    assert n_figures >= 10
    assert len(_report_figures(new)) == len(_report_figures(old))


def _same_figure(new: Any, old: Any) -> None:
    assert json.loads(new.to_json()) == json.loads(old.to_json())
    assert new.layout.template.layout.paper_bgcolor == "white"


def test_imports_chart_edge_cases() -> None:
    series = pd.DataFrame(
        {
            "year": [2008, 2009, 2010],
            "eu_from_china": [1.5, float("nan"), 3.0],
            "eu_from_extra_eu": [3.0, 2.0, 4.0],
            "china_share": [0.5, float("nan"), 0.75],
        }
    )
    events = pd.DataFrame(
        {
            "date": pd.to_datetime(["2009-03-01", "2010-12-31"]),
            "event_id": ["E-1", "E-2"],
            "summary": ["a <b> & c" * 30, None],
        }
    )
    for ev in (events, events.iloc[:0]):
        _same_figure(
            policy.imports_chart(series, ev, "gallium"),
            before.imports_chart_by_updates(series, ev, "gallium"),
        )


def test_crma_chart_edge_cases() -> None:
    tracker = pd.DataFrame(
        {
            "material": ["a", "b", "a", "b", "c"],
            "benchmark": ["extraction", "extraction", "processing", "processing", "cap"],
            "value": [0.1, None, 0.5, 0.2, 0.9],
            "threshold": [0.1, 0.1, 0.4, 0.4, 0.65],
            "status": ["met", "unknown", "met", "not_met", "other"],
            "basis": ["share_proxy", "none", "share_proxy", "tonnes", "x"],
        }
    )
    for t in (tracker, tracker[tracker["benchmark"] == "extraction"]):
        _same_figure(policy.crma_chart(t), before.crma_chart_by_updates(t))


def test_criticality_chart_edge_cases() -> None:
    table = pd.DataFrame(
        {
            "material": ["a", "b", "c", "d"],
            "name": ["A", None, "C", "D"],
            "sr": [1.2, 0.5, None, 2.0],
            "ei": [3.0, None, 4.0, None],
            "published_ei": [3.1, 2.0, None, None],
            "critical": pd.array([True, False, None, True], dtype="boolean"),
        }
    )
    for t, kw in (
        (table, {}),
        (table.dropna(subset=["sr"]), {"ei_threshold": 3, "sr_threshold": 1}),
        (table.drop(columns=["published_ei", "name"]), {}),
    ):
        _same_figure(
            charts.criticality_chart(t, **kw), before.criticality_chart_by_updates(t, **kw)
        )


def test_simple_charts_edge_cases() -> None:
    table = pd.DataFrame(
        {
            "material": ["A", "B", "C"],
            "china_extraction": [0.2, None, 0.9],
            "china_processing": [0.8, 0.1, None],
            "geopolrisk": [0.01, None, 0.2],
        }
    )
    _same_figure(charts.china_share_chart(table), before.china_share_chart_by_updates(table))
    _same_figure(
        charts.geopolrisk_chart(table, "EU27", 2022),
        before.geopolrisk_chart_by_updates(table, "EU27", 2022),
    )
    shares = pd.DataFrame(
        {
            "material": ["A", "A", "A", "B", "B", "C"],
            "stage": ["extraction", "extraction", "processing", "processing", "extraction", "x"],
            "country": ["CHN", "USA", "CHN", "AUS", "BRA", "CHN"],
            "share": [0.6, 0.3, 0.9, 0.5, 0.4, 1.0],
        }
    )
    for top in (8, 1):
        _same_figure(
            charts.supply_shares_chart(shares, top=top),
            before.supply_shares_chart_by_updates(shares, top=top),
        )


def test_subplot_layout_is_a_copy() -> None:
    first = charts.subplot_layout(2, shared_yaxes=True, subplot_titles=["a", "b"])
    first["xaxis"]["domain"] = [0, 0.1]
    first["annotations"][0]["text"] = "changed"
    again = charts.subplot_layout(2, shared_yaxes=True, subplot_titles=["a", "b"])
    assert again["xaxis"]["domain"] != [0, 0.1]
    assert again["annotations"][0]["text"] == "a"


# ------------------------------------------------------------ events section in one pass


def test_events_section_as_per_material(kb: KnowledgeBase) -> None:
    import copy

    from critmat.assess import assess

    a = copy.copy(assess(kb))
    new = policy.events_section(kb, a)
    old = before.events_section_per_material(kb, a)
    assert new is not None and old is not None
    assert (new.title, new.sources, new.key) == (old.title, old.sources, old.key)
    assert len(new.blocks) == len(old.blocks) >= 3
    for x, y in zip(new.blocks, old.blocks, strict=True):
        _same_block(x, y, "policy_events")


def test_naming_as_events_matched_by(kb: KnowledgeBase) -> None:
    from critmat.policy.events import naming

    ec = kb.table("export_controls")
    mats = list(dict.fromkeys(ec["material"].dropna()))
    mats += ["gallium", "neodymium", "lree", "rare_earths", "not-a-material"]
    named = naming(kb, mats)
    assert {"germanium", "gallium", "rare_earths"} <= set(named)
    assert "not-a-material" not in named
    for m, ids in named.items():
        ev = kb.policy.events(materials=m)
        assert ids == set(ev.loc[ev["matched_by"].eq(m), "event_id"]), m
    for m in set(mats) - set(named) - {"not-a-material"}:
        assert kb.select.materials(m) != [m], m


def test_frontier_chart_edge_cases() -> None:
    from types import SimpleNamespace

    points = pd.DataFrame(
        {
            "budget_eur": [0, 5e6, 1.2e7],
            "expected_shortfall_t": [10.0, 4.5, 0.0],
            "cvar_shortfall_t": [20.0, 9.0, float("nan")],
        }
    )
    entry = pd.DataFrame(
        {"material": ["gallium", "tungsten", "cobalt"], "enters_at_budget_eur": [5e6, None, 1.2e7]}
    )
    for e in (entry, entry.iloc[:0], entry.iloc[1:2]):
        fr = SimpleNamespace(points=points, entry=e)
        _same_figure(decisions.frontier_chart(fr), before.frontier_chart_by_updates(fr))


def test_fan_chart_edge_cases() -> None:
    import numpy as np

    rows = []
    for mat, scale in (("gallium", 1.0), ("tungsten", 3.0)):
        for var in ("shortfall", "stock"):
            for month in range(4):
                rows.append(
                    {
                        "material": mat,
                        "month": month,
                        "variable": var,
                        "mean": scale * month,
                        "p5": 0.0,
                        "p25": scale * month / 2,
                        "p50": scale * month * 0.9,
                        "p75": scale * month * 1.5,
                        "p95": scale * month * 2 if month else np.nan,
                    }
                )
    monthly = pd.DataFrame(rows).sample(frac=1.0, random_state=1)
    no_median = monthly.drop(columns=["p50"])
    for frame, kw in (
        (monthly, {}),
        (monthly, {"materials": ["gallium"], "variable": "stock", "title": "t", "height": 300}),
        (no_median, {"variable": "price"}),
        (no_median, {"materials": ["tungsten", "gallium"]}),
    ):
        _same_figure(scenario.fan_chart(frame, **kw), before.fan_chart_by_updates(frame, **kw))


def test_heatmaps_edge_cases() -> None:
    summary = pd.DataFrame(
        {
            "system": ["F-35", "F-35", "Leopard 2", "Meteor"],
            "material": ["gallium", "tungsten", "tungsten", "gallium"],
            "china_t": [1.25, float("nan"), 30.0, 0.0],
            "demand_t_per_year": [2.0, 5.0, 40.0, 1.0],
            "china_share": [0.6, float("nan"), 0.75, 0.0],
        }
    )
    for s in (summary, summary.iloc[:1]):
        _same_figure(defence.exposure_heatmap(s), before.exposure_heatmap_by_updates(s))
    uses = pd.DataFrame(
        {
            "system_class": ["aircraft", "aircraft", "missiles", "all defence uses"],
            "material": ["gallium", "tungsten", "gallium", "gallium"],
            "use_id": ["u1", "u2", "u3", "u4"],
        }
    )
    _same_figure(defence.uses_heatmap(uses), before.uses_heatmap_by_updates(uses))
