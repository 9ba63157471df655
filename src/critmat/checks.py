"""Invariant checks over knowledge-base tables, strict or warn.

Each check returns a tidy frame of violations (empty when all is well). With
``strict=True`` a violation raises :class:`CheckFailed`; with ``strict=False`` it issues a
:class:`CheckWarning` and returns the violations, so exploratory work can go on while tests
and the dataset build stay strict. The same invariants are exercised as hypothesis
properties in ``tests/property``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from critmat.errors import CheckFailed, CheckWarning

__all__ = [
    "CheckFailed",
    "CheckWarning",
    "check_non_negative",
    "check_shares_sum",
    "check_units_known",
    "coverage",
]


def _report(name: str, violations: pd.DataFrame, strict: bool, detail: str) -> pd.DataFrame:
    if len(violations):
        msg = f"{name}: {len(violations)} violation(s); {detail}\n{violations.head(10).to_string()}"
        if strict:
            raise CheckFailed(msg, code=f"check_{name}")
        warnings.warn(msg, CheckWarning, stacklevel=3)
    return violations


def check_shares_sum(
    frame: pd.DataFrame,
    by: Sequence[str],
    *,
    share: str = "share",
    tolerance: float = 0.05,
    mode: str = "equal",
    strict: bool = True,
) -> pd.DataFrame:
    """Check that shares sum to one within ``tolerance`` in every group.

    Parameters
    ----------
    frame
        Tidy frame with a share column (fractions).
    by
        Grouping columns (e.g. ``material, stage, mix``).
    share
        Name of the share column.
    tolerance
        Allowed absolute deviation of the sum from 1 (the EU exercise warns at 0.05).
    mode
        ``"equal"``: the sum must be within ``1 +- tolerance``; ``"at_most"``: the sum must
        not exceed ``1 + tolerance`` (for lists that omit small shares, such as EU sourcing
        shares >= 1 %).
    strict
        Raise instead of warn.

    Returns
    -------
    pandas.DataFrame
        One row per violating group with its ``total``.
    """
    totals = frame.groupby(list(by), dropna=False, observed=True)[share].sum().rename("total")
    totals = totals.reset_index()
    dev = totals["total"] - 1.0
    bad = (dev.abs() > tolerance) if mode == "equal" else (dev > tolerance)
    detail = (
        f"shares must sum to 1 +- {tolerance}"
        if mode == "equal"
        else f"shares must not sum to more than 1 + {tolerance}"
    )
    return _report("shares_sum", totals[bad].reset_index(drop=True), strict, detail)


def check_non_negative(
    frame: pd.DataFrame, columns: Sequence[str], *, strict: bool = True
) -> pd.DataFrame:
    """Check that numeric ``columns`` hold no negative values (NaN is allowed).

    Returns
    -------
    pandas.DataFrame
        The violating rows.
    """
    cols = [c for c in columns if c in frame.columns]
    values = frame[cols].apply(pd.to_numeric, errors="coerce")
    mask = (values < 0).any(axis=1).to_numpy()
    return _report("non_negative", frame[mask], strict, f"no negative {', '.join(cols)}")


def check_units_known(
    frame: pd.DataFrame, units: pd.DataFrame, *, column: str = "unit", strict: bool = True
) -> pd.DataFrame:
    """Check that every unit in ``column`` is defined in the unit table.

    Returns
    -------
    pandas.DataFrame
        Rows whose unit is not in the unit table.
    """
    bad = ~frame[column].isin(set(units["unit"])) & frame[column].notna()
    return _report("units_known", frame[bad.to_numpy()], strict, "units must be in the unit table")


def coverage(
    frame: pd.DataFrame,
    by: Sequence[str],
    *,
    year: str = "year",
    value: str | None = None,
) -> pd.DataFrame:
    """Return coverage per group: rows, first and last year, years present and gaps.

    Parameters
    ----------
    frame
        Tidy frame with a year column.
    by
        Grouping columns (e.g. ``material``).
    year
        Year column.
    value
        Optional value column; rows where it is NaN do not count as covered.

    Returns
    -------
    pandas.DataFrame
        Columns ``by..., rows, first_year, last_year, n_years, missing_years``.
    """
    data = frame if value is None else frame[frame[value].notna()]
    g = data.groupby(list(by), observed=True)[year]
    out = g.agg(rows="size", first_year="min", last_year="max", n_years="nunique").reset_index()

    def gaps(years: pd.Series) -> str:
        ys = np.unique(years.dropna().astype(int))
        if ys.size == 0:
            return ""
        missing = sorted(set(range(int(ys.min()), int(ys.max()) + 1)) - set(ys.tolist()))
        return ";".join(str(y) for y in missing)

    out["missing_years"] = g.apply(gaps).to_numpy()
    return out
