"""The monthly sketch (stats.MonthlySketch): exact means, percentiles within half a bin, exact
merges; and the memory-lean statistics helpers.

Every array below is constructed (random or by hand); none is data.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmat.scenarios import stats


def _sketch(
    m: int, t: int, n: int, *, lo: float = 0.0, hi: float = 1.0, bins: int = 64
) -> stats.MonthlySketch:
    return stats.MonthlySketch(
        {"x": np.full(m, lo)},
        {"x": np.full(m, hi)},
        horizon=t,
        samples=n,
        bins=bins,
        positive=["x"],
    )


def _values(seed: int, t: int, n: int, m: int, lo: float, hi: float) -> np.ndarray:
    """[T, S, M] values in [lo, hi] with atoms at both bounds (as shortfall, stock, price)."""
    rng = np.random.default_rng(seed)
    x = lo + (hi - lo) * rng.random((t, n, m))
    u = rng.random((t, n, m))
    x[u < 0.3] = lo
    x[u > 0.85] = hi
    return x


def _exact_percentiles(x: np.ndarray, q: list[float]) -> np.ndarray:
    """[len(q), M, T] by numpy's default (linear) definition, over the scenario axis."""
    return np.percentile(x, q, axis=1).transpose(0, 2, 1)


@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 300),
    lo=st.sampled_from([0.0, 1.0]),
    width=st.sampled_from([1.0, 2.5, 9.0]),
    bins=st.sampled_from([2, 16, 256, 1024]),
    cut=st.integers(0, 300),
)
def test_sketch_within_half_a_bin_and_chunk_independent(
    seed: int, n: int, lo: float, width: float, bins: int, cut: int
) -> None:
    t, m = 3, 2
    hi = lo + width
    x = _values(seed, t, n, m, lo, hi)
    whole = _sketch(m, t, n, lo=lo, hi=hi, bins=bins)
    whole.add({"x": x})
    q = [0.0, 5.0, 25.0, 50.0, 75.0, 95.0, 100.0]
    est = whole.percentiles("x", q)
    err = whole.error("x")
    assert err == pytest.approx(np.full(m, width / (2 * bins)), rel=1e-9)
    exact = _exact_percentiles(x, q)
    assert (np.abs(est - exact) <= err[None, :, None] + 1e-12).all()
    # atoms: a percentile whose order statistics are both at a bound is exact
    both_lo = (x == lo).mean(axis=1).T >= 0.999  # [M, T]
    assert (est[0][both_lo] == lo).all()
    np.testing.assert_allclose(whole.mean("x"), x.mean(axis=1).T, rtol=0, atol=1e-12 * width)
    np.testing.assert_array_equal(whole.prob_positive("x"), (x > 1e-9).mean(axis=1).T)
    # any split into chunks, added or merged in any order, gives identical integers
    k = min(cut, n)
    parts = [_sketch(m, t, n, lo=lo, hi=hi, bins=bins) for _ in range(2)]
    if k < n:
        parts[1].add({"x": x[:, k:]})
    if k:
        parts[0].add({"x": x[:, :k]})
    merged = _sketch(m, t, n, lo=lo, hi=hi, bins=bins)
    merged.merge(parts[1])
    merged.merge(parts[0].part())  # the compact form sent by a Dask task
    for name in ("counts", "sums", "pos"):
        np.testing.assert_array_equal(getattr(merged, name), getattr(whole, name))
    assert merged.n == whole.n == n
    np.testing.assert_array_equal(merged.percentiles("x", q), est)


def test_sketch_hand_case_and_end_bins() -> None:
    # four scenarios, one month: 0, 0, 0.3, 1 with 4 bins of 0.25 over [0, 1]
    sk = _sketch(1, 1, 4, bins=4)
    sk.add({"x": np.array([0.0, 0.0, 0.3, 1.0]).reshape(1, 4, 1)})
    assert sk.mean("x")[0, 0] == pytest.approx(0.325, abs=1e-12)
    # 0.3 lies in (0.25, 0.5]: it stands for 0.375, the midpoint
    got = sk.percentiles("x", [0, 50, 100])[:, 0, 0]
    np.testing.assert_allclose(got, [0.0, 0.0 + (0.375 - 0.0) * 0.5, 1.0])
    assert sk.error("x")[0] == pytest.approx(0.125)
    np.testing.assert_allclose(sk.bin_width("x"), [0.25], rtol=1e-9)


def test_sketch_zero_range_and_sparse_part() -> None:
    # a material without a stock: every value is 0, exactly
    sk = stats.MonthlySketch(
        {"stock": np.zeros(2)}, {"stock": np.array([0.0, 2.0])}, horizon=2, samples=10
    )
    x = np.zeros((2, 5, 2))
    x[:, :, 1] = 2.0
    sk.add({"stock": x})
    np.testing.assert_array_equal(sk.percentiles("stock", [50])[0], [[0.0, 0.0], [2.0, 2.0]])
    assert sk.error("stock") == pytest.approx([0.0, 2.0 / 2048], rel=1e-6)
    part = sk.part()
    assert part.index is not None and len(part.counts) == 4  # four non-zero bins
    other = sk.empty_like()
    other.merge(part)
    np.testing.assert_array_equal(other.counts, sk.counts)


def test_sketch_rejects_values_far_outside_and_bad_layouts() -> None:
    sk = _sketch(1, 1, 10, bins=8)
    sk.add({"x": np.array([-1e-15, 1.0 + 1e-15]).reshape(1, 2, 1)})  # rounding: end bins
    assert sk.percentiles("x", [0, 100])[:, 0, 0].tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="outside its bounds"):
        sk.add({"x": np.array([1.5]).reshape(1, 1, 1)})
    with pytest.raises(ValueError, match="does not match"):
        sk.add({"x": np.zeros((2, 1, 1))})
    with pytest.raises(ValueError, match="sized for 10"):
        sk.add({"x": np.zeros((1, 20, 1))})
    with pytest.raises(ValueError, match="power of two"):
        _sketch(1, 1, 10, bins=100)
    with pytest.raises(ValueError, match="different"):
        sk.merge(_sketch(1, 1, 10, bins=16))
    with pytest.raises(KeyError, match="positive"):
        stats.MonthlySketch(
            {"y": np.zeros(1)}, {"y": np.ones(1)}, horizon=1, samples=1
        ).prob_positive("y")


def test_sketch_size_does_not_depend_on_the_number_of_scenarios() -> None:
    small, large = _sketch(34, 120, 1_000, bins=1024), _sketch(34, 120, 1_000_000, bins=1024)
    assert small.counts.nbytes == large.counts.nbytes == 34 * 120 * 1026 * 8
    assert small.sums.nbytes == large.sums.nbytes


def test_cvar_of_float32_equals_float64() -> None:
    rng = np.random.default_rng(3)
    x = rng.random((1001, 5)).astype(np.float32)
    np.testing.assert_array_equal(stats.cvar(x, 0.9), stats.cvar(x.astype(np.float64), 0.9))


def test_percentiles_never_flag() -> None:
    x = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 4.0]])
    # the observed-value definition for a block of a larger array that holds NaN
    np.testing.assert_array_equal(stats.percentiles(x, [50], never=True), [[2.0, 2.0]])
    np.testing.assert_array_equal(stats.percentiles(x, [75]), [[2.5, 3.0]])
