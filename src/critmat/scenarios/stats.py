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

from collections.abc import Sequence

import numpy as np

__all__ = ["cvar", "expected", "percentiles", "prob_positive", "var"]


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
    x: np.ndarray, q: Sequence[float], axis: int = 0, *, overwrite_input: bool = False
) -> np.ndarray:
    """Percentiles ``q`` (0-100) over ``axis``; the result has a leading ``len(q)`` axis.

    Linear interpolation between order statistics (numpy's default definition), except
    where ``x`` holds NaN: NaN counts as "never" (+inf, e.g. no stock-out within the
    horizon) and the percentile is then an observed value (inverted CDF, no interpolation),
    NaN when it is "never". Computed by one sort along ``axis`` (fast for large ensembles).

    With ``overwrite_input`` a NaN-free ``x`` is sorted in place along ``axis`` when that
    is the last axis (saves a copy of a large array).

    Examples
    --------
    >>> percentiles(np.array([1.0, 2.0, 3.0, 4.0]), [50]).tolist()
    [2.5]
    >>> percentiles(np.array([1.0, np.nan, np.nan]), [50, 95]).tolist()
    [nan, nan]
    """
    has_nan = bool(np.isnan(np.asarray(x)).any())
    s = _sorted_last(x, axis, overwrite_input)
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
    """Conditional value at risk at level ``alpha`` (Rockafellar-Uryasev)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {alpha}")
    data = np.asarray(x, dtype=np.float64)
    v = var(data, alpha, axis=axis)
    excess = np.maximum(data - np.expand_dims(v, axis), 0.0)
    out: np.ndarray = v + excess.mean(axis=axis) / (1.0 - alpha)
    return out
