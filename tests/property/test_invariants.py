"""Hypothesis properties of the invariants and transforms used across critmat."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmat.checks import CheckFailed, check_shares_sum
from critmat.data.names import normalise_name
from critmat.methods.governance import pv_normalised, wgi_mean, wgi_scaled
from critmat.params import parse_years
from critmat.units import to_tonnes

UNITS = pd.DataFrame(
    {
        "unit": ["t", "kg", "lb", "Mio m3"],
        "dimension": ["mass", "mass", "mass", "volume"],
        "canonical": ["t", "t", "t", "m3"],
        "factor_to_canonical": [1.0, 0.001, 0.00045359237, 1e6],
    }
)

weights = st.lists(st.floats(min_value=0.001, max_value=1e6), min_size=1, max_size=30)


@given(weights)
def test_normalised_shares_sum_to_one(w: list[float]) -> None:
    s = np.array(w) / np.sum(w)
    frame = pd.DataFrame({"g": "x", "share": s})
    assert check_shares_sum(frame, ["g"], tolerance=1e-9).empty


@given(weights, st.floats(min_value=0.06, max_value=0.9))
def test_scaled_shares_fail_the_check(w: list[float], cut: float) -> None:
    s = np.array(w) / np.sum(w) * (1 - cut)
    with pytest.raises(CheckFailed):
        check_shares_sum(pd.DataFrame({"g": "x", "share": s}), ["g"], tolerance=0.05)


@given(st.lists(st.floats(min_value=-4, max_value=4), min_size=2, max_size=50))
def test_pv_normalised_in_unit_interval_and_decreasing(pv: list[float]) -> None:
    series = pd.Series(sorted(pv))
    g = pv_normalised(series)
    assert ((g >= 0) & (g <= 1)).all()
    assert (np.diff(g.to_numpy()) <= 1e-12).all()  # more stable -> lower risk


@given(
    st.lists(st.tuples(*[st.floats(min_value=-3.5, max_value=3.5)] * 6), min_size=1, max_size=20)
)
def test_wgi_scaled_in_0_10(rows: list[tuple[float, ...]]) -> None:
    frame = pd.DataFrame(rows, columns=["va", "pv", "ge", "rq", "rl", "cc"])
    scaled = wgi_scaled(wgi_mean(frame))
    assert scaled.between(0, 10).all()


def test_wgi_mean_needs_all_six() -> None:
    frame = pd.DataFrame(
        {
            "va": [1.0, 1.0],
            "pv": [1.0, None],
            "ge": [1.0, 1.0],
            "rq": [1.0, 1.0],
            "rl": [1.0, 1.0],
            "cc": [1.0, 1.0],
        }
    )
    assert wgi_mean(frame).tolist()[0] == 1.0 and np.isnan(wgi_mean(frame).tolist()[1])


@given(
    st.lists(st.floats(min_value=0, max_value=1e9), min_size=1, max_size=20),
    st.sampled_from(["t", "kg", "lb"]),
    st.floats(min_value=0.1, max_value=10),
)
def test_to_tonnes_is_linear(q: list[float], unit: str, k: float) -> None:
    s = pd.Series(q)
    u = pd.Series([unit] * len(q))
    a = to_tonnes(s * k, u, UNITS)
    b = to_tonnes(s, u, UNITS) * k
    assert np.allclose(a, b, rtol=1e-12, atol=1e-9)


def test_to_tonnes_non_mass_is_nan() -> None:
    assert to_tonnes(pd.Series([1.0]), pd.Series(["Mio m3"]), UNITS).isna().all()


@given(st.text(max_size=30))
def test_normalise_name_is_idempotent(text: str) -> None:
    once = normalise_name(text)
    assert normalise_name(once) == once


@given(st.integers(1900, 2100), st.integers(0, 50))
def test_year_ranges(start: int, length: int) -> None:
    assert parse_years(f"{start}-{start + length}") == list(range(start, start + length + 1))
