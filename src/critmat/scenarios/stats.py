"""Ensemble statistics over the scenario axis: mean, percentiles, probability, VaR, CVaR.

Conventions (losses, larger is worse):

* ``expected`` shortfall is the mean of the loss over scenarios (E[L]);
* ``VaR_alpha`` is the alpha-quantile of the loss, the smallest L with F(L) >= alpha;
* ``CVaR_alpha`` is the Rockafellar-Uryasev conditional value at risk,
  ``VaR + E[max(L - VaR, 0)] / (1 - alpha)``: the mean of the worst ``1 - alpha`` of
  outcomes (with a fractional weight on the quantile itself when ``(1 - alpha) S`` is not
  a whole number). Finance also calls CVaR "expected shortfall"; critmat keeps the two
  words apart because "shortfall" here is unmet material demand.

Examples
--------
>>> import numpy as np
>>> loss = np.array([0, 0, 1, 2, 3, 4, 5, 6, 7, 8], dtype=float)
>>> float(var(loss, 0.8)), float(cvar(loss, 0.8))
(6.0, 7.5)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = [
    "ExactMonthly",
    "MonthlySketch",
    "MonthlyStats",
    "SketchPart",
    "cvar",
    "expected",
    "percentiles",
    "prob_positive",
    "var",
]


def expected(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """Mean over ``axis`` (NaN-free input)."""
    return np.asarray(np.mean(x, axis=axis, dtype=np.float64))


def prob_positive(x: np.ndarray, axis: int = 0, *, tol: float = 1e-9) -> np.ndarray:
    """Share of scenarios with ``x > tol`` (e.g. probability of any shortfall)."""
    return np.asarray(np.mean(x > tol, axis=axis, dtype=np.float64))


def _sorted_last(x: np.ndarray, axis: int, overwrite: bool = False) -> np.ndarray:
    data = np.asarray(x)
    if np.isnan(data).any():
        data = np.where(np.isnan(data), np.inf, data)
    elif overwrite and axis in (-1, data.ndim - 1):
        data.sort(axis=-1)
        return data
    return np.sort(np.moveaxis(data, axis, -1), axis=-1)


def _lerp(s: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Linear interpolation at virtual indices ``idx`` of the last axis of sorted ``s``."""
    n = s.shape[-1]
    lo = np.clip(np.floor(idx).astype(np.int64), 0, n - 1)
    hi = np.clip(lo + 1, 0, n - 1)
    frac = idx - lo
    a = s[..., lo].astype(np.float64)
    b = s[..., hi].astype(np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf where both are "never"
        diff = b - a
        out = np.where(frac >= 0.5, b - diff * (1.0 - frac), a + diff * frac)
    return np.where(frac == 0, a, out)


def percentiles(
    x: np.ndarray,
    q: Sequence[float],
    axis: int = 0,
    *,
    overwrite_input: bool = False,
    never: bool | None = None,
) -> np.ndarray:
    """Percentiles ``q`` (0-100) over ``axis``; the result has a leading ``len(q)`` axis.

    Linear interpolation between order statistics (numpy's default definition), except
    where ``x`` holds NaN: NaN counts as "never" (+inf, e.g. no stock-out within the
    horizon) and the percentile is then an observed value (inverted CDF, no interpolation),
    NaN when it is "never". Computed by one sort along ``axis`` (fast for large ensembles).

    With ``overwrite_input`` a NaN-free ``x`` is sorted in place along ``axis`` when that
    is the last axis (saves a copy of a large array). ``never`` chooses the definition
    for the whole array (``True``: the observed-value one, as when ``x`` holds a NaN) when
    ``x`` is one block of a larger array; ``None``: from ``x`` itself.

    Examples
    --------
    >>> percentiles(np.array([1.0, 2.0, 3.0, 4.0]), [50]).tolist()
    [2.5]
    >>> percentiles(np.array([1.0, np.nan, np.nan]), [50, 95]).tolist()
    [nan, nan]
    """
    has_nan = bool(np.isnan(np.asarray(x)).any()) if never is None else never
    s = _sorted_last(x, axis, overwrite_input and not has_nan)
    n = s.shape[-1]
    qa = np.asarray(q, dtype=np.float64) / 100.0
    if has_nan:
        idx = np.clip(np.ceil(qa * n).astype(np.int64) - 1, 0, n - 1)
        out = s[..., idx].astype(np.float64)
        out = np.where(np.isinf(out), np.nan, out)
    else:
        out = _lerp(s, qa * (n - 1))
    return np.moveaxis(out, -1, 0)


def var(x: np.ndarray, alpha: float, axis: int = 0) -> np.ndarray:
    """Value at risk: the alpha-quantile (inverted CDF) of the loss over ``axis``."""
    s = _sorted_last(x, axis)
    n = s.shape[-1]
    i = min(max(int(np.ceil(alpha * n)) - 1, 0), n - 1)
    out: np.ndarray = s[..., i].astype(np.float64)
    return out


def cvar(x: np.ndarray, alpha: float, axis: int = 0) -> np.ndarray:
    """Conditional value at risk at level ``alpha`` (Rockafellar-Uryasev).

    ``x`` may be float32 (the per-scenario totals of large ensembles): the excess over
    the VaR is computed in float64 without a float64 copy of ``x``.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {alpha}")
    data = np.asarray(x)
    v = var(data, alpha, axis=axis)
    excess = np.subtract(data, np.expand_dims(v, axis), dtype=np.float64)
    np.maximum(excess, 0.0, out=excess)
    out: np.ndarray = v + excess.mean(axis=axis) / (1.0 - alpha)
    return out


# --------------------------------------------------------------------------- monthly statistics


class MonthlyStats(Protocol):
    """Per-material, per-month statistics over the scenarios of an ensemble.

    Implemented exactly from the kept monthly arrays (:class:`ExactMonthly`) or from a
    mergeable sketch accumulated chunk by chunk (:class:`MonthlySketch`).
    """

    kind: str

    def mean(self, var: str) -> np.ndarray:
        """Mean over scenarios, ``[M, T]``."""
        ...

    def prob_positive(self, var: str) -> np.ndarray:
        """Share of scenarios above the tolerance, ``[M, T]``."""
        ...

    def percentiles(self, var: str, q: Sequence[float]) -> np.ndarray:
        """Percentiles ``q`` (0-100), ``[len(q), M, T]``."""
        ...

    def error(self, var: str) -> np.ndarray:
        """Largest absolute error of a percentile, ``[M]`` (0 = exact)."""
        ...


class ExactMonthly:
    """Exact monthly statistics from the monthly arrays of every scenario.

    Parameters
    ----------
    arrays
        ``{variable: [M, T, S]}`` (scenario-last, float32 as the engine's monthly outputs).
    overwrite
        Sort the arrays in place for the percentiles (they are not needed afterwards).
    """

    kind = "exact"

    def __init__(self, arrays: Mapping[str, np.ndarray], *, overwrite: bool = False) -> None:
        self.arrays = dict(arrays)
        self.overwrite = overwrite

    def mean(self, var: str) -> np.ndarray:
        """Mean over scenarios, ``[M, T]``."""
        return expected(self.arrays[var], axis=-1)

    def prob_positive(self, var: str) -> np.ndarray:
        """Share of scenarios with a value above 1e-9, ``[M, T]``."""
        return prob_positive(self.arrays[var], axis=-1)

    def percentiles(self, var: str, q: Sequence[float]) -> np.ndarray:
        """Percentiles ``q`` (0-100) by linear interpolation, ``[len(q), M, T]``."""
        return percentiles(self.arrays[var], q, axis=-1, overwrite_input=self.overwrite)

    def error(self, var: str) -> np.ndarray:
        """Zeros: the statistics are exact."""
        return np.zeros(self.arrays[var].shape[0])


class MonthlySketch:
    """Mergeable monthly statistics of bounded variables: exact means, fixed-bin percentiles.

    Every monthly variable of the engine is bounded by construction (shortfall in [0, 1]
    of monthly demand, stock in [0, initial stock], price in [1, cap]), so a histogram with
    fixed bins over that range is a mergeable quantile sketch that is exact within a bin.
    For variable v, material m and month t the sketch holds, over the scenarios added:

    * the sum of the values in 64-bit fixed point (``2**-s`` of a bin, ``s`` chosen from
      the number of scenarios so that the sum cannot overflow): means exact to about
      ``1e-12`` of the range, and independent of how scenarios are chunked or merged;
    * the number of values above ``tol`` (the probability of a shortfall in that month);
    * counts in ``bins`` equal bins over (lo, hi] plus one bin for values at ``lo`` and one
      for values at ``hi`` (no shortfall, an unused or an empty stock, the pre-shock price
      and the price cap are therefore exact).

    Percentiles use the definition of :func:`percentiles` (linear interpolation between
    order statistics) with each order statistic replaced by the midpoint of its bin (or the
    bound itself for the two end bins): the error is at most half a bin width,
    ``(hi - lo) / (2 * bins)`` (:meth:`error`). Counts and sums are integers, so sketches of
    disjoint sets of scenarios merge exactly (:meth:`merge`): the result does not depend
    on the chunking, the order of the chunks or the number of workers.

    Parameters
    ----------
    lo, hi
        ``{variable: [M]}`` bounds of each variable per material (values outside are
        clipped; by construction they only differ by floating-point rounding).
    horizon
        Months T.
    samples
        Largest number of scenarios the sketch will hold (sets the fixed-point scale).
    bins
        Interior bins per material and month, a power of two.
    positive
        Variables for which the share above ``tol`` is counted.
    tol
        Tolerance of "positive" (as :func:`prob_positive`).

    Examples
    --------
    >>> sk = MonthlySketch(
    ...     {"x": np.zeros(1)}, {"x": np.ones(1)}, horizon=1, samples=4, positive=["x"]
    ... )
    >>> sk.add({"x": np.array([0.0, 0.0, 0.5, 1.0]).reshape(1, 4, 1)})  # [T, S, M]
    >>> round(float(sk.mean("x")[0, 0]), 12), float(sk.prob_positive("x")[0, 0])
    (0.375, 0.5)
    >>> float(sk.percentiles("x", [0])[0, 0, 0]), float(sk.percentiles("x", [100])[0, 0, 0])
    (0.0, 1.0)
    """

    kind = "histogram"

    def __init__(
        self,
        lo: Mapping[str, np.ndarray],
        hi: Mapping[str, np.ndarray],
        *,
        horizon: int,
        samples: int,
        bins: int = 1024,
        positive: Sequence[str] = ("shortfall",),
        tol: float = 1e-9,
    ) -> None:
        if bins < 2 or bins & (bins - 1):
            raise ValueError(f"bins must be a power of two >= 2, got {bins}")
        if samples < 1:
            raise ValueError(f"samples must be at least 1, got {samples}")
        self.params: dict[str, object] = {
            "lo": dict(lo),
            "hi": dict(hi),
            "horizon": horizon,
            "samples": samples,
            "bins": bins,
            "positive": tuple(positive),
            "tol": tol,
        }
        self.variables = tuple(lo)
        self.bins = int(bins)
        self.horizon = int(horizon)
        self.samples = int(samples)
        self.tol = float(tol)
        self.positive = tuple(v for v in positive if v in self.variables)
        self.lo = np.stack([np.asarray(lo[v], dtype=np.float64) for v in self.variables])
        self.hi = np.stack([np.asarray(hi[v], dtype=np.float64) for v in self.variables])
        self.hi = np.maximum(self.hi, self.lo)
        n_var, m = self.lo.shape
        self.n_materials = m
        b = self.bins.bit_length() - 1
        # fixed point: a value maps to an integer in [0, bins * 2**s + 1]; samples of them
        # must add up below 2**63, and the scaled values stay exact in float64 (< 2**53)
        self.shift = int(max(0, min(40, 62 - int(np.ceil(np.log2(self.samples + 1))) - b - 1)))
        self.top = self.bins * (1 << self.shift) + 1  # the fixed-point image of hi
        width = self.hi - self.lo
        self.scale = np.divide(self.top, width, out=np.zeros_like(width), where=width > 0)
        self.offset = (1 << self.shift) - 1 - self.lo * self.scale
        self.nbins = self.bins + 2
        cells = n_var * self.horizon * m
        self.counts = np.zeros(cells * self.nbins, dtype=np.int64)
        self.sums = np.zeros((n_var, self.horizon, m), dtype=np.int64)
        self.pos = np.zeros((len(self.positive), self.horizon, m), dtype=np.int64)
        self.n = 0
        self._ws: dict[str, np.ndarray] = {}
        self._ones = np.zeros(0, dtype=np.int64)

    # ---- accumulation

    def _workspace(self, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
        if self._ws.get("y") is None or self._ws["y"].shape != shape:
            t, _, m = shape
            base = (
                np.arange(len(self.variables))[:, None, None] * self.horizon
                + np.arange(t)[None, :, None]
            ) * m + np.arange(m)[None, None, :]
            self._ws = {
                "y": np.empty(shape),
                "q": np.empty(shape, dtype=np.int64),
                "mask": np.empty(shape, dtype=bool),
                "red": np.empty((t, m), dtype=np.int64),
                "base": (base * self.nbins)[:, :, None, :],  # [V, T, 1, M]
            }
            self._ones = np.ones(int(np.prod(shape)), dtype=np.int64)
        return self._ws

    def add(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Add the scenarios of one chunk: ``{variable: [T, S, M]}`` arrays (any float).

        The arrays are read, not changed.
        """
        first = arrays[self.variables[0]]
        t, s, m = first.shape
        if t != self.horizon or m != self.n_materials:
            raise ValueError(
                f"chunk of shape {first.shape} does not match the sketch "
                f"(T={self.horizon}, M={self.n_materials})"
            )
        if self.n + s > self.samples:
            raise ValueError(f"sketch sized for {self.samples} scenarios, got {self.n + s}")
        ws = self._workspace(first.shape)
        y, q, mask, red = ws["y"], ws["q"], ws["mask"], ws["red"]
        for i, var in enumerate(self.variables):
            x = arrays[var]
            # fixed point: q = round((x - lo) * scale) + 2**s - 1 (the offset holds the
            # 2**s - 1 and the 0.5 that turns the truncating cast into rounding)
            np.multiply(x, self.scale[i], out=y)
            np.add(y, self.offset[i] + 0.5, out=y)
            np.copyto(q, y, casting="unsafe")
            np.add.reduce(q, axis=1, out=red)
            self.sums[i] += red
            np.right_shift(q, self.shift, out=q)  # the bin: 0 at lo, 1..bins, bins + 1 at hi
            # values are within the bounds by construction, up to rounding; anything
            # within one bin outside still lands in the end bins, anything further is an
            # error of the caller, not a count to keep
            low, high = int(q.min()), int(q.max())
            if low < 0 or high > self.bins + 1:
                raise ValueError(
                    f"{var} outside its bounds [{self.lo[i].min():g}, {self.hi[i].max():g}] "
                    f"by more than one bin: the sketch cannot hold it"
                )
            np.add(q, ws["base"][i], out=q)
            np.add.at(self.counts, q.reshape(-1), self._ones)
            if var in self.positive:
                np.greater(x, self.tol, out=mask)
                np.add.reduce(mask, axis=1, dtype=np.int64, out=red)
                self.pos[self.positive.index(var)] += red
        # the fixed-point sums carry an offset of 2**s - 1 per value (for the bin rounding)
        self.sums -= s * ((1 << self.shift) - 1)
        self.n += s

    def compatible(self, other: MonthlySketch) -> bool:
        """Whether ``other`` has the same variables, bounds, bins and fixed-point scale."""
        return (
            self.variables == other.variables
            and self.positive == other.positive
            and self.bins == other.bins
            and self.horizon == other.horizon
            and self.shift == other.shift
            and np.array_equal(self.lo, other.lo)
            and np.array_equal(self.hi, other.hi)
        )

    def merge(self, other: MonthlySketch | SketchPart) -> None:
        """Add the scenarios of another sketch (or of a :meth:`part`) of the same run."""
        if isinstance(other, SketchPart):
            if other.shift != self.shift or other.sums.shape != self.sums.shape:
                raise ValueError("sketch part from a different run layout")
            if self.n + other.n > self.samples:
                raise ValueError(f"sketch sized for {self.samples} scenarios")
            if other.index is None:
                self.counts += other.counts
            else:
                np.add.at(self.counts, other.index, other.counts.astype(np.int64))
            self.sums += other.sums
            self.pos += other.pos
            self.n += other.n
            return
        if not self.compatible(other):
            raise ValueError("cannot merge sketches with different variables, bounds or bins")
        if self.n + other.n > self.samples:
            raise ValueError(f"sketch sized for {self.samples} scenarios")
        self.counts += other.counts
        self.sums += other.sums
        self.pos += other.pos
        self.n += other.n

    def part(self) -> SketchPart:
        """The accumulated counts and sums in a compact form (to send between processes)."""
        # sparse (positions and counts) while it is much smaller than the dense counts
        if np.count_nonzero(self.counts) * 8 > self.counts.size:
            index, counts = None, self.counts.astype(np.uint32)
        else:
            nz = np.flatnonzero(self.counts)
            counts = self.counts[nz].astype(np.uint32)
            index = nz.astype(np.int32) if self.counts.size < 2**31 else nz
        return SketchPart(
            n=self.n,
            shift=self.shift,
            sums=self.sums.copy(),
            pos=self.pos.copy(),
            index=index,
            counts=counts,
        )

    def reset(self) -> None:
        """Forget every scenario (keeps the allocated arrays, for reuse)."""
        self.counts.fill(0)
        self.sums.fill(0)
        self.pos.fill(0)
        self.n = 0

    def empty_like(self) -> MonthlySketch:
        """A new, empty sketch with the same layout (for another set of scenarios)."""
        out = MonthlySketch.__new__(MonthlySketch)
        out.__dict__.update(self.__dict__)
        out.counts = np.zeros_like(self.counts)
        out.sums = np.zeros_like(self.sums)
        out.pos = np.zeros_like(self.pos)
        out.n = 0
        out._ws = {}
        out._ones = np.zeros(0, dtype=np.int64)
        return out

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_ws"] = {}
        state["_ones"] = np.zeros(0, dtype=np.int64)
        return state

    # ---- statistics

    def _index(self, var: str) -> int:
        try:
            return self.variables.index(var)
        except ValueError:
            raise KeyError(f"variable '{var}' not in the sketch {self.variables}") from None

    def mean(self, var: str) -> np.ndarray:
        """Mean over scenarios, ``[M, T]`` (exact to the fixed-point resolution)."""
        i = self._index(var)
        lo, scale = self.lo[i], self.scale[i]
        total = self.sums[i].astype(np.float64)  # [T, M]
        frac = np.divide(total, self.n * scale, out=np.zeros_like(total), where=scale > 0)
        out: np.ndarray = (lo + frac).T
        return out

    def prob_positive(self, var: str) -> np.ndarray:
        """Share of scenarios with a value above ``tol``, ``[M, T]``."""
        if var not in self.positive:
            raise KeyError(f"the sketch does not count positive values of '{var}'")
        out: np.ndarray = (self.pos[self.positive.index(var)] / self.n).T
        return out

    def bin_values(self, var: str) -> np.ndarray:
        """Value that stands for each bin, ``[M, bins + 2]`` (bounds for the end bins)."""
        i = self._index(var)
        lo, hi, scale = self.lo[i], self.hi[i], self.scale[i]
        step = np.divide(1 << self.shift, scale, out=np.zeros_like(scale), where=scale > 0)
        mid = lo[:, None] + (np.arange(self.nbins)[None, :] - 0.5) * step[:, None]
        mid[:, 0] = lo
        mid[:, -1] = hi
        return np.minimum(mid, hi[:, None])

    def percentiles(self, var: str, q: Sequence[float]) -> np.ndarray:
        """Percentiles ``q`` (0-100), ``[len(q), M, T]``, within :meth:`error` of exact."""
        i = self._index(var)
        n_var, t_len, m = len(self.variables), self.horizon, self.n_materials
        counts = self.counts.reshape(n_var, t_len, m, self.nbins)[i]
        cum = np.cumsum(counts, axis=-1)  # [T, M, nbins]
        values = self.bin_values(var)  # [M, nbins]
        n = self.n
        qa = np.asarray(q, dtype=np.float64) / 100.0
        h = qa * (n - 1)
        lo_rank = np.clip(np.floor(h).astype(np.int64), 0, n - 1)
        hi_rank = np.clip(lo_rank + 1, 0, n - 1)
        frac = h - lo_rank
        out = np.empty((len(qa), m, t_len))
        m_idx = np.arange(m)[None, :]
        for k in range(len(qa)):
            b_lo = (cum <= lo_rank[k]).sum(axis=-1)  # [T, M]: bin of the order statistic
            b_hi = (cum <= hi_rank[k]).sum(axis=-1)
            a = values[m_idx, b_lo]
            b = values[m_idx, b_hi]
            f = frac[k]
            if f == 0:
                est = a
            elif f >= 0.5:
                est = b - (b - a) * (1.0 - f)
            else:
                est = a + (b - a) * f
            out[k] = est.T
        return out

    def error(self, var: str) -> np.ndarray:
        """Largest absolute error of a percentile per material: half a bin, ``[M]``."""
        i = self._index(var)
        scale = self.scale[i]
        return np.divide(
            (1 << self.shift) / 2 + 1.0, scale, out=np.zeros_like(scale), where=scale > 0
        )

    def bin_width(self, var: str) -> np.ndarray:
        """Width of the interior bins per material, ``[M]``."""
        i = self._index(var)
        scale = self.scale[i]
        return np.divide(1 << self.shift, scale, out=np.zeros_like(scale), where=scale > 0)


@dataclass(frozen=True)
class SketchPart:
    """The counts and sums of a :class:`MonthlySketch`, compact for transfer.

    ``index`` holds the positions of the non-zero counts (``None``: ``counts`` is dense).
    """

    n: int
    shift: int
    sums: np.ndarray
    pos: np.ndarray
    index: np.ndarray | None
    counts: np.ndarray
