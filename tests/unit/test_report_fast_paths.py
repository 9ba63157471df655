"""The report's fast paths give what the slow ones gave (issue 11 item 2).

* the event and frontier lines, drawn in one layout update, are the figure that
  ``add_vline``/``add_annotation`` per line drew;
* the "What to do" numbers are those of ``critmat stockpile optimize`` and
  ``critmat stockpile frontier`` (``kb.optimize.stockpile`` / ``kb.optimize.frontier``) for
  the same inputs, and the frontier's kept optimum is ``optimize_stockpile``'s;
* the physical baseline of several materials is that of each material on its own;
* the capability table is the assessment's own when it is the same cut;
* building and solving a stockpile LP does not import ``dask.array`` (xarray's probe).
"""

from __future__ import annotations

import html
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from critmat.knowledge_base import KnowledgeBase
from critmat.report.builder import Figure, Table


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": ["CN-2023-23", "EU-2024-01", "US-2024-02"],
            "date": pd.to_datetime(["2023-08-01", "2024-03-18", "2024-12-03"]),
            "summary": ["Export licence for gallium & germanium", "CRMA <adopted>", "x" * 300],
        }
    )


def test_imports_chart_is_the_figure_add_vline_drew() -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from critmat.report.charts import layout
    from critmat.report.policy import imports_chart

    series = pd.DataFrame(
        {
            "year": [2022, 2023, 2024],
            "eu_from_china": [5.0, 3.0, 1.0],
            "china_share": [0.9, 0.7, 0.4],
        }
    )
    events = _events()
    fast = imports_chart(series, events, "gallium")
    # the previous construction, one add_vline and one add_annotation per event
    ref = make_subplots(specs=[[{"secondary_y": True}]])
    ref.add_trace(
        go.Bar(
            x=series["year"],
            y=series["eu_from_china"],
            name="EU27 imports from China (t)",
            marker_color="#9ecae1",
        ),
        secondary_y=False,
    )
    ref.add_trace(
        go.Scatter(
            x=series["year"],
            y=series["china_share"],
            name="China's share of EU extra-EU imports",
            mode="lines+markers",
            line={"color": "#c0392b"},
        ),
        secondary_y=True,
    )
    for r in events.itertuples(index=False):
        x = pd.Timestamp(r.date).year + (pd.Timestamp(r.date).day_of_year - 1) / 365.25 - 0.5
        ref.add_vline(x=x, line_dash="dot", line_color="grey")
        ref.add_annotation(
            x=x,
            y=1.0,
            yref="paper",
            text=str(r.event_id),
            showarrow=False,
            textangle=-90,
            font={"size": 9},
            xanchor="right",
            yanchor="top",
            hovertext=html.escape(str(r.summary)[:200]),
        )
    ref.update_yaxes(title="t", secondary_y=False)
    ref.update_yaxes(title="share", tickformat=".0%", range=[0, 1], secondary_y=True)
    layout(ref, "gallium: EU imports from China and policy events", height=380)
    assert fast.to_dict() == ref.to_dict()
    assert len(fast.layout.shapes) == 3 and fast.layout.annotations[1].text == "EU-2024-01"


def test_frontier_chart_is_the_figure_add_vline_drew() -> None:
    import plotly.graph_objects as go

    from critmat.optimize.frontier import Frontier
    from critmat.report.charts import layout
    from critmat.report.decisions import frontier_chart

    points = pd.DataFrame(
        {
            "budget_eur": [0.0, 1e6, 2e6],
            "expected_shortfall_t": [10.0, 5.0, 1.0],
            "cvar_shortfall_t": [50.0, 20.0, 4.0],
        }
    )
    entry = pd.DataFrame(
        {"material": ["tungsten", "graphite", "copper"], "enters_at_budget_eur": [1e6, 2e6, np.nan]}
    )
    fr = Frontier(points, pd.DataFrame(), entry, optimum=None)  # type: ignore[arg-type]
    fast = frontier_chart(fr)
    ref = go.Figure()
    x = points["budget_eur"].to_numpy(dtype=float) / 1e6
    ref.add_trace(
        go.Scatter(x=x, y=points["expected_shortfall_t"], mode="lines+markers", name="expected")
    )
    ref.add_trace(
        go.Scatter(x=x, y=points["cvar_shortfall_t"], mode="lines+markers", name="CVaR", yaxis="y")
    )
    for r in entry.dropna(subset=["enters_at_budget_eur"]).itertuples(index=False):
        ref.add_vline(
            x=float(r.enters_at_budget_eur) / 1e6,
            line_dash="dot",
            line_color="#999",
            annotation_text=str(r.material),
            annotation_position="top",
        )
    ref.update_xaxes(title="purchase budget (M EUR)")
    ref.update_yaxes(title="shortfall over the horizon (t)")
    layout(ref, "Efficient frontier: budget against shortfall", height=440)
    assert fast.to_dict() == ref.to_dict()


def test_frontier_keeps_the_optimum_of_optimize_stockpile() -> None:
    from critmat.optimize.frontier import efficient_frontier
    from critmat.optimize.scenario_set import ScenarioSet
    from critmat.optimize.stockpile import optimize_stockpile

    rng = np.random.default_rng(3)
    gaps = rng.gamma(0.5, 40.0, size=(30, 2, 12)) * (rng.random((30, 2, 1)) < 0.4)
    sc = ScenarioSet.from_arrays(gaps, materials=["a", "b"])
    par = [
        {
            "material": "a",
            "price_eur_t": 1e4,
            "holding_cost_eur_t_yr": 800,
            "shortage_cost_eur_t": 3e4,
        },
        {
            "material": "b",
            "price_eur_t": 5e3,
            "holding_cost_eur_t_yr": 500,
            "shortage_cost_eur_t": 9e3,
        },
    ]
    fr = efficient_frontier(sc, par, points=4)
    res = optimize_stockpile(sc, par)
    pd.testing.assert_frame_equal(fr.optimum.allocation, res.allocation)
    assert fr.optimum.totals == res.totals
    assert fr.points["spent_eur"].iloc[-1] == pytest.approx(res.totals["purchase_cost_eur"])


@pytest.fixture(scope="module")
def small_assessment(kb: KnowledgeBase):  # type: ignore[no-untyped-def]
    from critmat.assess import assess

    return assess(kb, materials="tungsten,graphite,antimony,fluorspar,gallium", whatif_samples=0)


def test_what_to_do_numbers_are_those_of_stockpile_optimize_and_frontier(
    kb: KnowledgeBase, small_assessment
) -> None:  # type: ignore[no-untyped-def]
    from critmat.report.decisions import what_to_do_inputs, what_to_do_section

    a = small_assessment
    section = what_to_do_section(kb, a)
    inputs = what_to_do_inputs(kb, [str(m) for m in a.table["material"]])
    assert section is not None and inputs is not None
    given = {"spec": inputs["spec"], "samples": inputs["samples"], "seed": inputs["seed"]}
    res = kb.optimize.stockpile(**given)  # what `critmat stockpile optimize` computes
    fr = kb.optimize.frontier(points=6, **given)  # `critmat stockpile frontier --points 6`
    stocks = section.blocks[1]
    assert isinstance(stocks, Table)
    alloc = res.allocation.set_index("material")
    shown = stocks.frame.set_index("material")
    assert len(shown) > 0
    for col in shown.columns:
        pd.testing.assert_series_equal(shown[col], alloc.loc[shown.index, col], check_names=False)
    assert f"{res.totals['purchase_cost_eur']:,.0f} EUR of purchases" in section.blocks[0].text
    chart = next(b for b in section.blocks if isinstance(b, Figure)).figure
    expected, cvar = chart.data
    np.testing.assert_array_equal(expected.x, fr.points["budget_eur"].to_numpy() / 1e6)
    np.testing.assert_array_equal(expected.y, fr.points["expected_shortfall_t"].to_numpy())
    np.testing.assert_array_equal(cvar.y, fr.points["cvar_shortfall_t"].to_numpy())
    entered = fr.entry.dropna(subset=["enters_at_budget_eur"])
    assert [s.x0 for s in chart.layout.shapes] == list(entered["enters_at_budget_eur"] / 1e6)


def test_capability_is_the_assessments_own_for_the_same_cut(
    kb: KnowledgeBase, small_assessment
) -> None:  # type: ignore[no-untyped-def]
    from critmat.report.defence import capability_of

    a = small_assessment
    assert capability_of(kb, a, exporters="CHN", cut=1.0, months=12) is a.capability
    half = capability_of(kb, a, exporters="CHN", cut=0.5, months=12)
    assert half is not a.capability and half.attrs["critmat"]["parameters"]["cut"] == 0.5
    pd.testing.assert_frame_equal(
        a.capability,
        kb.defence.capability_at_risk(exporters="CHN", cut=1.0, months=12, demand=a.demand),
    )


def test_physical_baseline_of_many_is_that_of_each(kb: KnowledgeBase) -> None:
    many = kb.optimize.baseline(
        materials="tungsten,graphite,gallium,feldspar,coking_coal,copper,neon,lithium"
    )
    assert {"usgs_mcs", "baci_unit_value", "no_price"} <= set(many["price_status"])
    each = pd.concat(
        [kb.optimize.baseline(materials=m) for m in dict.fromkeys(many["material"])],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(many, each)


def test_stockpile_lp_does_not_import_dask_array() -> None:
    code = (
        "import sys, numpy as np\n"
        "from critmat.optimize.scenario_set import ScenarioSet\n"
        "from critmat.optimize.stockpile import optimize_stockpile\n"
        "sc = ScenarioSet.from_arrays(np.ones((3, 1, 4)), materials=['x'])\n"
        "par = [{'material': 'x', 'price_eur_t': 10.0, 'holding_cost_eur_t_yr': 1.0,\n"
        "        'shortage_cost_eur_t': 50.0}]\n"
        "r = optimize_stockpile(sc, par)\n"
        "from xarray.namedarray import pycompat, utils\n"
        "from critmat.optimize._solver import _EXACT_PROBE\n"
        "print('dask.array' in sys.modules, 'dask' in pycompat._cached_duck_array_modules,\n"
        "      'dask' in sys.modules, utils.is_dask_collection is _EXACT_PROBE['original'],\n"
        "      round(float(r.stock['x']), 6))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    # neither dask probe imported dask; xarray's own probe is back after the block
    assert out == ["False", "False", "False", "True", "4.0"]


def test_the_short_cut_dask_probe_answers_as_dask() -> None:
    import xarray as xr
    from xarray.namedarray import utils

    from critmat.optimize._solver import _exact_probe, without_dask_probe

    class Graph:  # a collection by dask's protocol (a mapping from __dask_graph__)
        def __dask_graph__(self) -> dict[str, int]:
            return {"k": 1}

    class NoGraph:
        def __dask_graph__(self) -> None:
            return None

    class NotCallable:
        __dask_graph__ = "not a method"

    da = pytest.importorskip("dask.array")
    original = utils.is_dask_collection
    fast = _exact_probe(original)
    values = [np.ones(3), 1.0, "x", None, xr.DataArray(np.ones(2)), Graph(), Graph, NoGraph()]
    values += [NotCallable(), da.ones(3), xr.DataArray(da.ones(2))]
    answers = [bool(original(v)) for v in values]
    assert [fast(v) for v in values] == answers
    assert answers.count(True) == 3  # Graph(), the dask array and the DataArray on it
    with without_dask_probe():  # dask is loaded now: nothing is swapped
        assert utils.is_dask_collection is original


@pytest.mark.parametrize(
    "options",
    [{}, {"formulation": "monthly"}, {"objective": "cvar"}, {"min_cover_months": 0.5}],
)
def test_frontier_on_the_optimum_model_is_the_frontier_on_a_new_model(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, object]
) -> None:
    """The sweep adds its budget row to the optimum's model: the same frontier, exactly."""
    import critmat.optimize.frontier as frontier_module
    from critmat.optimize.scenario_set import ScenarioSet

    rng = np.random.default_rng(5)
    gaps = rng.gamma(0.5, 40.0, size=(40, 3, 12)) * (rng.random((40, 3, 1)) < 0.4)
    sc = ScenarioSet.from_arrays(gaps, materials=["a", "b", "c"], monthly_demand_t=[20.0] * 3)
    par = [
        {
            "material": "a",
            "price_eur_t": 1e4,
            "holding_cost_eur_t_yr": 800,
            "shortage_cost_eur_t": 3e4,
        },
        {
            "material": "b",
            "price_eur_t": 5e3,
            "holding_cost_eur_t_yr": 500,
            "shortage_cost_eur_t": 9e3,
            "release_cap_t_month": 5.0,
        },
        {
            "material": "c",
            "price_eur_t": 2e3,
            "holding_cost_eur_t_yr": 100,
            "shortage_cost_eur_t": 9e3,
            "shelf_life_months": 6,
        },
    ]
    reused = frontier_module.efficient_frontier(sc, par, points=5, **options)
    monkeypatch.setattr(frontier_module, "budget_is_last_row", lambda prob: False)
    rebuilt = frontier_module.efficient_frontier(sc, par, points=5, **options)
    for a, b in ((reused.points, rebuilt.points), (reused.materials, rebuilt.materials)):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    pd.testing.assert_frame_equal(reused.entry, rebuilt.entry, check_exact=True)
    assert rebuilt.optimum.model is not None
    if not options or "formulation" in options:
        assert reused.optimum.model is None  # the sweep went on with it


def test_events_on_the_shared_long_form_are_those_of_a_cold_cache() -> None:
    """``policy.events`` builds its material long form and group ancestors once per kb."""
    import critmat

    names = ["gallium", "neodymium", "rare earths", "coke", "tungsten,antimony", None]
    base = critmat.load(user_data=False)
    try:
        cold = []
        for name in names:  # each on an empty cache: the previous, uncached path
            base.cache.clear()
            cold.append(base.policy.events(materials=name))
        base.cache.clear()
        for name, ref in zip([*names, *names], [*cold, *cold], strict=True):
            got = base.policy.events(materials=name)  # the second round reads the cache
            pd.testing.assert_frame_equal(got, ref)
            stamp = {"created": None}  # the time of the call
            assert {**got.attrs["critmat"], **stamp} == {**ref.attrs["critmat"], **stamp}
        assert ("policy.events.long_materials",) in base.cache
        from critmat.policy.events import ancestors

        up = ancestors(base)
        assert up["neodymium"] >= {"lree", "rare_earths"}
        up["neodymium"].clear()  # a caller's change does not reach the next caller
        assert ancestors(base)["neodymium"] >= {"lree", "rare_earths"}
    finally:
        base.close()
