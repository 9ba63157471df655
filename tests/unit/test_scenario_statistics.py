"""Ensemble statistics accumulated chunk by chunk: the exact regime reproduces the statistics
over the full arrays bit for bit, the sketch regime stays within its stated error, and
neither depends on the chunking.

The scenario is a constructed what-if on the embedded knowledge base (a China cut of
gallium, germanium and tungsten); its numbers are not published values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmat.knowledge_base import KnowledgeBase
from critmat.params import ParameterError
from critmat.scenarios import stats
from critmat.scenarios.engine import OUTPUT_MONTHLY, simulate
from critmat.scenarios.plan import validate
from critmat.scenarios.result import pct_label
from critmat.scenarios.runner import monthly_bounds, run
from critmat.scenarios.sampling import draw

SPEC = {
    "scenario": {
        "name": "ga-ge-w",
        "horizon_months": 36,
        "shocks": [
            {
                "exporter": "CHN",
                "material": ["gallium", "germanium", "tungsten"],
                "onset": {"dist": "uniform", "low": 0, "high": 6},
                "duration": {"dist": "lognormal", "median": 12, "sigma": 0.5, "high": 36},
                "severity": {"dist": "uniform", "low": 0.5, "high": 1},
            }
        ],
        "mitigations": {
            "stocks": [{"initial_months": 2, "release_cap": 0.5}],
            "substitution": [{"material": "all", "max_share": 0.1, "lead_time": 3, "ramp": 6}],
        },
    },
    "samples": 300,
    "seed": 7,
}


def _frames_equal(a: object, b: object, names: tuple[str, ...]) -> None:
    for name in names:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def test_exact_regime_equals_statistics_over_the_full_arrays(kb: KnowledgeBase) -> None:
    res = run(SPEC, kb, chunk_size=37)  # nine chunks, one of them partial
    assert res.meta["statistics"] == {"monthly": "exact", "totals_dtype": "float64"}
    plan = validate(kb, SPEC)
    static = plan.inputs()
    out = simulate(static, draw(plan.scenario, 300, 7))  # one chunk: [S, M, T] float32
    q = res.spec.percentiles
    for var in OUTPUT_MONTHLY:
        a = np.ascontiguousarray(out[var].transpose(1, 2, 0))  # [M, T, S]
        got = res.monthly[res.monthly["variable"] == var]
        np.testing.assert_array_equal(got["mean"], stats.expected(a, axis=-1).reshape(-1))
        pct = stats.percentiles(a, q, axis=-1)
        for qq, v in zip(q, pct, strict=True):
            np.testing.assert_array_equal(got[pct_label(qq)], v.reshape(-1))
        assert (got["percentile_error"] == 0).all()
    cum = out["cum_shortfall"]
    s = res.summary
    np.testing.assert_array_equal(s["shortfall_mean"], stats.expected(cum))
    np.testing.assert_array_equal(s["p_shortfall"], stats.prob_positive(cum))
    np.testing.assert_array_equal(s["shortfall_cvar95"], stats.cvar(cum, 0.95))
    np.testing.assert_array_equal(s["shortfall_p95"], stats.percentiles(cum, [95])[0])
    np.testing.assert_array_equal(s["release_mean"], stats.expected(out["cum_release"]))
    np.testing.assert_array_equal(res.outcomes["cum_shortfall"], cum.reshape(-1))


def test_sketch_regime_within_its_stated_error(kb: KnowledgeBase) -> None:
    exact = run(SPEC, kb, samples=600)
    sketch = run(SPEC, kb, samples=600, exact_monthly_mb=0, monthly_bins=256)
    st = sketch.meta["statistics"]
    assert st["monthly"] == "histogram" and st["totals_dtype"] == "float32"
    assert st["bins"] == 256 and st["percentile_error"]["shortfall"] == pytest.approx(1 / 512)
    assert any("fixed-bin histogram" in n for n in sketch.meta["notes"])
    assert sketch.arrays is None
    # summary from float32 totals: float32 rounding only (relative 6e-8)
    num = exact.summary.select_dtypes("number").columns
    pd.testing.assert_frame_equal(
        sketch.summary[num], exact.summary[num], check_exact=False, rtol=1e-6, atol=1e-9
    )
    me, ms = exact.monthly, sketch.monthly
    keys = ["material", "month", "variable"]
    pd.testing.assert_frame_equal(ms[keys], me[keys])
    np.testing.assert_allclose(ms["mean"], me["mean"], rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(ms["prob_positive"], me["prob_positive"])
    bound = ms["percentile_error"].to_numpy()
    assert (bound > 0).any()
    for qq in exact.spec.percentiles:
        c = pct_label(qq)
        diff = (ms[c] - me[c]).abs().to_numpy()
        assert (diff <= bound + 1e-6 * me[c].abs().to_numpy()).all(), c
    # the outcome frame keeps its float64 columns (values rounded to float32)
    assert sketch.outcomes["cum_shortfall"].dtype == np.float64
    np.testing.assert_allclose(
        sketch.outcomes["cum_shortfall"], exact.outcomes["cum_shortfall"], rtol=1e-6, atol=1e-9
    )


def test_sketch_regime_does_not_depend_on_the_chunks(kb: KnowledgeBase) -> None:
    a = run(SPEC, kb, chunk_size=7, exact_monthly_mb=0)
    b = run(SPEC, kb, chunk_size=64, exact_monthly_mb=0)
    assert a.meta["chunks"] != b.meta["chunks"]
    _frames_equal(a, b, ("summary", "monthly", "outcomes", "draws", "systems"))


def test_per_scenario_frames_are_built_on_first_access(kb: KnowledgeBase) -> None:
    res = run(SPEC, kb, samples=50)
    assert "outcomes" not in res._frames and "draws" not in res._frames
    out = res.outcomes
    assert len(out) == 50 * len(res.summary) and out.attrs["critmat"]
    assert res.outcomes is out  # built once
    assert len(res.draws) == 50 and res.draws.attrs["critmat"]
    assert set(res.frames()) >= {"outcomes", "draws", "systems_outcomes"}
    import pickle

    other = run(SPEC, kb, samples=20)
    back = pickle.loads(pickle.dumps(other))  # builds the frames first
    pd.testing.assert_frame_equal(back.outcomes, other.outcomes)
    pd.testing.assert_frame_equal(back.systems_outcomes, other.systems_outcomes)
    res.outcomes = out.head(3)
    assert len(res.outcomes) == 3


def test_invalid_bins(kb: KnowledgeBase) -> None:
    with pytest.raises(ParameterError, match="power of two"):
        run(SPEC, kb, monthly_bins=1000)


def test_engine_month_major_layout_equals_the_default(kb: KnowledgeBase) -> None:
    plan = validate(kb, SPEC)
    static = plan.inputs()
    d = draw(plan.scenario, 20, 1)
    smt = simulate(static, d)
    tsm = simulate(static, d, layout="tsm")
    for var in (*OUTPUT_MONTHLY, "systems_not_built"):
        assert tsm[var].dtype == np.float64 and tsm[var].shape[0] == static.horizon
        np.testing.assert_array_equal(tsm[var].transpose(1, 2, 0).astype(np.float32), smt[var])
    np.testing.assert_array_equal(tsm["cum_shortfall"], smt["cum_shortfall"])
    with pytest.raises(ValueError, match="layout"):
        simulate(static, d, layout="mts")  # type: ignore[arg-type]
    lo, hi = monthly_bounds(static)
    for var in OUTPUT_MONTHLY:
        assert (tsm[var] >= lo[var] - 1e-12).all() and (tsm[var] <= hi[var] + 1e-12).all()
