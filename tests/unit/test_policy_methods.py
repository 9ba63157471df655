"""Pure formulas of the policy layer: CRMA benchmark tests and the event back-test arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmat.methods.policy import (
    benchmark_status,
    gap_tonnes,
    largest_third_country,
    window_change,
)


def _series(q: list[float], v: list[float] | None = None, start: int = 2015) -> pd.DataFrame:
    years = list(range(start, start + len(q)))
    return pd.DataFrame(
        {"m": "x", "year": years, "quantity_t": q, "value_kusd": v or [10.0 * x for x in q]}
    )


def test_window_change_by_hand() -> None:
    # 2015..2024; event in 2023: before 2021-2022, year of 2023, after 2024 (table ends 2024)
    q = [100.0, 120.0, 90.0, 110.0, 100.0, 80.0, 100.0, 120.0, 70.0, 55.0]
    v = [1000.0, 1200.0, 900.0, 1100.0, 1000.0, 800.0, 1000.0, 1200.0, 1400.0, 1650.0]
    r = window_change(_series(q, v), 2023, keys=["m"], last_year=2024).iloc[0]
    assert r["before_years"] == "2021-2022" and r["after_years"] == "2024"
    assert r["q_before_t"] == pytest.approx(110.0)  # (100 + 120) / 2
    assert r["q_year_of_t"] == pytest.approx(70.0)
    assert r["q_after_t"] == pytest.approx(55.0)
    assert r["change"] == pytest.approx(55 / 110 - 1)  # -0.5
    assert r["change_year_of"] == pytest.approx(70 / 110 - 1)
    # year-to-year changes 2016..2022 (baseline 2010 start; data from 2015)
    g = np.array([120 / 100, 90 / 120, 110 / 90, 100 / 110, 80 / 100, 100 / 80, 120 / 100]) - 1
    assert r["n_baseline"] == 7
    assert r["baseline_mean"] == pytest.approx(g.mean())
    assert r["baseline_sd"] == pytest.approx(g.std(ddof=1))
    assert r["z"] == pytest.approx((-0.5 - g.mean()) / g.std(ddof=1))
    # unit value: before (1000 + 1200) / 220 = 10, after 1650 / 55 = 30 kUSD/t
    assert r["uv_before_kusd_t"] == pytest.approx(10.0)
    assert r["uv_after_kusd_t"] == pytest.approx(30.0)
    assert r["uv_change"] == pytest.approx(2.0)
    assert r["status"] == "ok"


def test_two_after_years_are_averaged() -> None:
    q = [10.0] * 6 + [20.0, 30.0]  # 2015..2022; event 2019: before 2017-2018, after 2020-2021
    r = window_change(_series(q), 2019, keys=["m"], last_year=2022).iloc[0]
    assert r["after_years"] == "2020-2021"
    assert r["q_after_t"] == pytest.approx(15.0)  # 2020 = 10, 2021 = 20; 2022 is not used
    assert r["change"] == pytest.approx(0.5)


def test_missing_windows_have_a_status_never_a_zero() -> None:
    r = window_change(_series([5.0, 6.0, 7.0]), 2024, keys=["m"], last_year=2024).iloc[0]
    assert r["status"] == "no_after_data" and np.isnan(r["change"])
    s = _series([5.0, 6.0, 7.0], start=2010)  # nothing in 2021-2022
    r = window_change(s, 2023, keys=["m"], last_year=2024).iloc[0]
    assert r["status"] == "no_before_data" and np.isnan(r["change"])


def test_several_series_at_once() -> None:
    a = _series([100.0] * 10).assign(m="a")
    b = _series([50.0] * 9 + [25.0]).assign(m="b")
    r = window_change(pd.concat([a, b]), 2023, keys=["m"], last_year=2024).set_index("m")
    assert r.loc["a", "change"] == pytest.approx(0.0)
    assert r.loc["b", "change"] == pytest.approx(-0.5)
    assert np.isnan(r.loc["b", "z"])  # a flat baseline has sd 0: no z


def test_benchmark_status_and_gap() -> None:
    v = np.array([0.05, 0.10, 0.5, np.nan])
    assert benchmark_status(v, 0.10, "at_least").tolist() == ["not_met", "met", "met", "unknown"]
    assert benchmark_status(v, 0.10, "at_most").tolist() == ["met", "met", "not_met", "unknown"]
    assert gap_tonnes(np.array([1000.0]), np.array([60.0]), 0.10, "at_least").tolist() == [40.0]
    assert gap_tonnes(np.array([1000.0]), np.array([700.0]), 0.65, "at_most").tolist() == [50.0]
    assert np.isnan(gap_tonnes(np.array([np.nan]), np.array([1.0]), 0.1, "at_least")[0])
    with pytest.raises(ValueError, match="at_least or at_most"):
        benchmark_status(v, 0.1, "above")


def test_largest_third_country_takes_the_maximum_over_stages() -> None:
    s = pd.DataFrame(
        {
            "material": ["m", "m", "m"],
            "stage": ["extraction", "processing", "processing"],
            "country": ["AUS", "CHN", "USA"],
            "share": [0.4, 0.7, 0.2],
        }
    )
    r = largest_third_country(s).iloc[0]
    assert (r["country"], r["stage"], r["share"]) == ("CHN", "processing", 0.7)


@given(
    st.floats(0, 1, allow_nan=False),
    st.floats(0, 1, allow_nan=False),
    st.sampled_from([0.25, 1.0, 8.0, 1024.0]),  # powers of two: scaling is exact
)
def test_status_and_gap_agree(value: float, threshold: float, consumption: float) -> None:
    """A floor is met exactly when its gap in tonnes is 0 (and a cap likewise)."""
    for cmp in ("at_least", "at_most"):
        status = benchmark_status(np.array([value]), threshold, cmp)[0]
        gap = gap_tonnes(np.array([consumption]), np.array([value * consumption]), threshold, cmp)
        assert (status == "met") == (gap[0] == 0.0)


@given(
    st.lists(st.floats(1.0, 1e6, allow_nan=False), min_size=10, max_size=10),
    st.floats(1e-3, 1e3, allow_nan=False),
)
def test_change_and_z_do_not_depend_on_the_unit(q: list[float], scale: float) -> None:
    """Tonnes or kilograms: the relative change and its z-score are the same."""
    a = window_change(_series(q), 2023, keys=["m"], last_year=2024).iloc[0]
    b = window_change(_series([x * scale for x in q]), 2023, keys=["m"], last_year=2024).iloc[0]
    assert b["change"] == pytest.approx(a["change"], rel=1e-9, abs=1e-12)
    if np.isfinite(a["z"]):
        assert b["z"] == pytest.approx(a["z"], rel=1e-6, abs=1e-9)
    assert b["q_before_t"] == pytest.approx(a["q_before_t"] * scale)
