"""Supply concentration: HHI, top-n share and the share of given countries (METHODS.md §0).

All functions are pure and vectorised over every group at once (one groupby, no Python loop
over materials, stages or years). Shares are fractions; the Herfindahl-Hirschman index is
given as a fraction (0-1, GeoPolRisk convention) and in percent form (0-10,000, EU and
anti-trust convention).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from critmat.vocab import ConcentrationStatus

__all__ = ["concentration", "group_shares", "hhi"]


def group_shares(
    frame: pd.DataFrame, by: Sequence[str], *, value: str, normalise: bool = True
) -> pd.Series:
    """Return each row's share of its group's total of ``value``.

    Parameters
    ----------
    frame
        Tidy frame, one row per supplier country within each group.
    by
        Columns that define a group (e.g. ``material, stage, year``).
    value
        Quantity column (or an already computed share when ``normalise`` is False).
    normalise
        Divide by the group total (True) or take ``value`` as the share (False, for published
        shares that need not sum exactly to 1).

    Returns
    -------
    pandas.Series
        Shares (NaN where the group total is 0 or missing).
    """
    v = frame[value].astype("float64")
    if not normalise:
        return v
    total = v.groupby([frame[c] for c in by], observed=True, dropna=False).transform("sum")
    return v / total.where(total > 0)


def hhi(frame: pd.DataFrame, by: Sequence[str], *, value: str, normalise: bool = True) -> pd.Series:
    """Return the Herfindahl-Hirschman index (fraction, 0-1) of every group.

    ``HHI = sum_c s_c^2`` with ``s_c`` the share of country c (METHODS.md §0.1).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"m": ["a", "a"], "q": [80.0, 20.0]})
    >>> round(float(hhi(f, ["m"], value="q").iloc[0]), 12)
    0.68
    """
    s = group_shares(frame, by, value=value, normalise=normalise)
    sq = (s * s).groupby([frame[c] for c in by], observed=True, dropna=False).sum(min_count=1)
    return sq.rename("hhi")


def concentration(
    frame: pd.DataFrame,
    *,
    by: Sequence[str] = ("material", "stage", "year"),
    value: str = "quantity_t",
    country: str = "country",
    normalise: bool = True,
    top_n: int = 3,
    country_sets: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Concentration indicators of every group in one vectorised pass.

    Parameters
    ----------
    frame
        One row per group x supplier country with a quantity (or share) column.
    by
        Group columns; one result row per group.
    value
        Quantity column, or the share column with ``normalise=False``.
    country
        Supplier country column.
    normalise
        See :func:`group_shares`.
    top_n
        ``n`` of the top-n share.
    country_sets
        Named country sets whose combined share is reported as ``<name>_share`` (e.g.
        ``{"china": ["CHN"], "adversary": ["CHN", "RUS"]}``).

    Returns
    -------
    pandas.DataFrame
        ``by..., n_countries, total, hhi, hhi_pct, top1_country, top1_share,
        top<n>_share, <set>_share..., status`` with status ``ok`` or ``no_supply`` (the
        group total is zero).
    """
    keys = list(by)
    work = frame.loc[:, [*keys, country, value]].copy()
    work["share"] = group_shares(work, keys, value=value, normalise=normalise)
    work["share2"] = work["share"] ** 2
    g = work.groupby(keys, observed=True, dropna=False, sort=True)
    out = g.agg(n_countries=(country, "nunique"), total=(value, "sum"), hhi=("share2", "sum"))
    out["hhi_pct"] = out["hhi"] * 10_000.0
    # ties (equal shares) go to the first country in code order: the result never depends
    # on the order of the input rows
    ranked = work.sort_values(
        [*keys, "share", country],
        ascending=[True] * len(keys) + [False, True],
        na_position="last",
        kind="stable",
    )
    rank = ranked.groupby(keys, observed=True, dropna=False).cumcount()
    first = ranked[rank == 0].set_index(keys)
    out["top1_country"] = first[country]
    out["top1_share"] = first["share"]
    out[f"top{top_n}_share"] = (
        ranked[rank < top_n].groupby(keys, observed=True, dropna=False)["share"].sum()
    )
    for name, members in (country_sets or {}).items():
        inset = work[country].isin(list(members))
        out[f"{name}_share"] = (
            work["share"]
            .where(inset, 0.0)
            .groupby([work[c] for c in keys], observed=True, dropna=False)
            .sum()
        )
    ok = (out["total"] > 0).to_numpy()
    out["status"] = np.where(ok, ConcentrationStatus.OK.value, ConcentrationStatus.NO_SUPPLY.value)
    no_supply = ~ok
    share_cols = [
        "hhi",
        "hhi_pct",
        "top1_share",
        f"top{top_n}_share",
        *[f"{n}_share" for n in (country_sets or {})],
    ]
    out.loc[no_supply, share_cols] = np.nan
    out.loc[no_supply, "top1_country"] = None
    return out.reset_index()
