"""Pure formulas of the policy layer: CRMA Article 5 tests and event back-tests.

Frames and arrays in, frames and arrays out; no knowledge base (METHODS.md §2.1, §2.5, §2.6).

**Benchmarks** (Regulation (EU) 2024/1252, Art. 5(1)): a floor benchmark (extraction >= 10 %,
processing >= 40 %, recycling >= 25 % of EU annual consumption) is *met* when the ratio
reaches the threshold; the cap (no third country above 65 % of EU consumption at any
relevant stage) is *met* when the largest third-country share, the maximum over the stages,
stays at or below it. A missing value is *unknown*, never met or not met.

**Back-test of an event** (METHODS.md §2.6): for annual flows ``Q_y`` and an event in year
``d``::

    Q_before = mean(Q_{d-2}, Q_{d-1})          (both years needed)
    Q_after  = mean(Q_{d+1}, ..., Q_{d+a})     (the years of the table, a <= 2)
    change   = Q_after / Q_before - 1          ("year after")
    change_year_of = Q_d / Q_before - 1        (the event's own year is partly treated)
    z        = (change - mean(g)) / sd(g),     g_y = Q_y / Q_{y-1} - 1, y = 2011 .. d-1

``sd`` is the sample standard deviation (ddof 1) of the material's own year-to-year changes
before the event; ``|z| >= 2`` is read as a change outside the usual variation. The unit
value ``value / quantity`` is a price proxy over the same windows.

Examples
--------
>>> import numpy as np
>>> benchmark_status(np.array([0.3, 0.1, np.nan]), 0.25, "at_least").tolist()
['met', 'not_met', 'unknown']
>>> benchmark_status(np.array([0.7, 0.65]), 0.65, "at_most").tolist()
['not_met', 'met']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from critmat.vocab import BacktestStatus, BenchmarkStatus

__all__ = [
    "BACKTEST_COLUMNS",
    "benchmark_status",
    "gap_tonnes",
    "largest_third_country",
    "window_change",
]


def benchmark_status(values: np.ndarray, threshold: float, comparison: str) -> np.ndarray:
    """Status of each value against a floor (``at_least``) or cap (``at_most``).

    Parameters
    ----------
    values
        Ratios (fractions of EU annual consumption); NaN where unknown.
    threshold
        The benchmark (0.10, 0.40, 0.25, 0.65).
    comparison
        ``at_least`` (floor) or ``at_most`` (cap).

    Returns
    -------
    numpy.ndarray
        ``met``, ``not_met`` or ``unknown`` per value (object array).
    """
    v = np.asarray(values, dtype="float64")
    if comparison not in ("at_least", "at_most"):
        raise ValueError(f"comparison must be at_least or at_most, got {comparison!r}")
    ok = v >= threshold if comparison == "at_least" else v <= threshold
    out = np.where(ok, BenchmarkStatus.MET.value, BenchmarkStatus.NOT_MET.value).astype(object)
    out[np.isnan(v)] = BenchmarkStatus.UNKNOWN.value
    return out


def gap_tonnes(
    consumption_t: np.ndarray, output_t: np.ndarray, threshold: float, comparison: str
) -> np.ndarray:
    """Tonnes missing to a benchmark (0 when met; NaN when a tonnage is unknown).

    For a floor: ``max(0, threshold * C - output)`` (EU output to add). For the cap:
    ``max(0, largest third-country tonnes - threshold * C)`` (tonnes to source elsewhere).

    Examples
    --------
    >>> gap_tonnes(np.array([100.0, 100.0]), np.array([5.0, 12.0]), 0.10, "at_least").tolist()
    [5.0, 0.0]
    >>> gap_tonnes(np.array([100.0]), np.array([80.0]), 0.65, "at_most").tolist()
    [15.0]
    """
    c = np.asarray(consumption_t, dtype="float64")
    q = np.asarray(output_t, dtype="float64")
    if comparison == "at_least":
        return np.maximum(0.0, threshold * c - q)
    return np.maximum(0.0, q - threshold * c)


def largest_third_country(
    shares: pd.DataFrame, keys: Sequence[str] = ("material",)
) -> pd.DataFrame:
    """The largest third-country share of EU consumption over the stages (the 65 % test input).

    Parameters
    ----------
    shares
        ``*keys, stage, country, share`` rows: each third country's share of EU consumption
        at a stage (EU members already removed).
    keys
        Columns identifying one material (and, e.g., its benchmark row).

    Returns
    -------
    pandas.DataFrame
        ``*keys, share, country, stage`` of the stage and country with the largest share
        (the Act's "any relevant stage": the maximum counts).

    Examples
    --------
    >>> s = pd.DataFrame({"material": ["ga", "ga", "w"], "stage": ["extraction", "processing",
    ...     "processing"], "country": ["CHN", "CHN", "CHN"], "share": [0.5, 0.7, 0.3]})
    >>> largest_third_country(s)[["material", "share", "stage"]].values.tolist()
    [['ga', 0.7, 'processing'], ['w', 0.3, 'processing']]
    """
    k = list(keys)
    d = shares.dropna(subset=["share"]).sort_values(
        [*k, "share"], ascending=[True] * len(k) + [False]
    )
    top = d.drop_duplicates(k, keep="first")
    return top[[*k, "share", "country", "stage"]].reset_index(drop=True)


#: Columns of :func:`window_change` besides the keys.
BACKTEST_COLUMNS = [
    "event_year",
    "before_years",
    "after_years",
    "q_before_t",
    "q_year_of_t",
    "q_after_t",
    "change",
    "change_year_of",
    "baseline_mean",
    "baseline_sd",
    "n_baseline",
    "z",
    "z_year_of",
    "value_before_kusd",
    "value_after_kusd",
    "uv_before_kusd_t",
    "uv_after_kusd_t",
    "uv_change",
    "status",
]


def window_change(
    series: pd.DataFrame,
    event_year: int,
    *,
    keys: Sequence[str],
    last_year: int,
    before: int = 2,
    after: int = 2,
    baseline_from: int = 2010,
) -> pd.DataFrame:
    """Change of annual flows around an event, with its z-score (METHODS.md §2.6).

    Parameters
    ----------
    series
        ``*keys, year, quantity_t, value_kusd``: one row per key and year (a year without a
        row has no flow recorded; the caller decides whether that is 0 or missing).
    event_year
        Calendar year ``d`` of the event's effective date.
    keys
        Columns of one series (e.g. ``material, stage, flow``).
    last_year
        Last year the trade table covers (after-years beyond it are not available).
    before, after
        Window lengths in years (2 and up to 2).
    baseline_from
        First year of the baseline of year-to-year changes.

    Returns
    -------
    pandas.DataFrame
        ``*keys`` and :data:`BACKTEST_COLUMNS`; ``status`` says why a change is missing.

    Examples
    --------
    >>> s = pd.DataFrame({"m": "x", "year": range(2016, 2025),
    ...     "quantity_t": [100, 110, 100, 110, 100, 110, 100, 50, 40],
    ...     "value_kusd": [10.0] * 9})
    >>> r = window_change(s, 2023, keys=["m"], last_year=2024)
    >>> float(r["q_before_t"][0]), float(r["q_after_t"][0]), round(float(r["change"][0]), 3)
    (105.0, 40.0, -0.619)
    """
    k = list(keys)
    d = int(event_year)
    before_years = list(range(d - before, d))
    after_years = [y for y in range(d + 1, d + 1 + after) if y <= last_year]
    s = series[[*k, "year", "quantity_t", "value_kusd"]].copy()
    s["year"] = s["year"].astype(int)
    q = s.pivot_table(index=k, columns="year", values="quantity_t", aggfunc="sum", dropna=False)
    v = s.pivot_table(index=k, columns="year", values="value_kusd", aggfunc="sum", dropna=False)
    years = list(range(min(baseline_from, d - before), last_year + 1))
    q = q.reindex(columns=years)
    v = v.reindex(columns=years)

    def mean_of(frame: pd.DataFrame, ys: list[int]) -> pd.Series:
        if not ys:
            return pd.Series(np.nan, index=frame.index)
        return frame[ys].mean(axis=1, skipna=False)

    qb, qa = mean_of(q, before_years), mean_of(q, after_years)
    qd = q[d] if d in q.columns else pd.Series(np.nan, index=q.index)
    vb, va = mean_of(v, before_years), mean_of(v, after_years)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = qa / qb.where(qb > 0) - 1
        change_d = qd / qb.where(qb > 0) - 1
        base_years = [y for y in years if baseline_from < y <= d - 1]
        prev = q[[y - 1 for y in base_years]].to_numpy(dtype="float64")
        cur = q[base_years].to_numpy(dtype="float64")
        g = np.where(prev > 0, cur / np.where(prev > 0, prev, 1.0) - 1, np.nan)
    n = np.sum(~np.isnan(g), axis=1)
    mu = np.array(
        [np.nanmean(row) if c > 0 else np.nan for row, c in zip(g, n, strict=True)], dtype="float64"
    )
    sd = np.array(
        [np.nanstd(row, ddof=1) if c > 1 else np.nan for row, c in zip(g, n, strict=True)],
        dtype="float64",
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        sd_ok = np.where(sd > 0, sd, np.nan)
        z = (change.to_numpy(dtype="float64") - mu) / sd_ok
        z_d = (change_d.to_numpy(dtype="float64") - mu) / sd_ok
        uvb = vb / qb.where(qb > 0)
        uva = va / qa.where(qa > 0)
        uvc = uva / uvb - 1
    status = np.full(len(q), BacktestStatus.OK.value, dtype=object)
    status[~(qb.to_numpy(dtype="float64") > 0)] = BacktestStatus.NO_BEFORE_DATA.value
    if not after_years:
        status[:] = BacktestStatus.NO_AFTER_DATA.value
    out = q.index.to_frame(index=False)
    out["event_year"] = d
    out["before_years"] = "-".join(str(y) for y in (before_years[0], before_years[-1]))
    out["after_years"] = (
        "-".join(str(y) for y in dict.fromkeys((after_years[0], after_years[-1])))
        if after_years
        else ""
    )
    out["q_before_t"] = qb.to_numpy()
    out["q_year_of_t"] = qd.to_numpy()
    out["q_after_t"] = qa.to_numpy()
    out["change"] = change.to_numpy()
    out["change_year_of"] = change_d.to_numpy()
    out["baseline_mean"] = mu
    out["baseline_sd"] = sd
    out["n_baseline"] = n.astype(int)
    out["z"] = z
    out["z_year_of"] = z_d
    out["value_before_kusd"] = vb.to_numpy()
    out["value_after_kusd"] = va.to_numpy()
    out["uv_before_kusd_t"] = uvb.to_numpy()
    out["uv_after_kusd_t"] = uva.to_numpy()
    out["uv_change"] = uvc.to_numpy()
    out["status"] = status
    return out[[*k, *BACKTEST_COLUMNS]]
