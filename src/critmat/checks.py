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

from critmat.errors import CheckFailed, CheckWarning, CritmatError

__all__ = [
    "SUM_LOWER_TOLERANCE",
    "SUPPLY_CHECK_FLAGS",
    "CheckFailed",
    "CheckWarning",
    "check_eu_sourcing_copies_global",
    "check_eu_sourcing_import_reliance",
    "check_non_negative",
    "check_shares_sum",
    "check_supply_share_sums",
    "check_units_known",
    "coverage",
    "eu_import_reliance",
    "flag_supply_shares",
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


# --------------------------------------------------------------------------- supply inputs

#: Flags the supply-input checks put on rows of a supply-shares table (column ``check_flag``,
#: several flags joined by ``;`` in this order). A flagged row is marked, never altered.
SUPPLY_CHECK_FLAGS: tuple[str, ...] = (
    "eu_sourcing_inconsistent",
    "eu_sourcing_copies_global",
    "share_sum_deviates",
)

#: Allowed shortfall of a mix's sum below 1 in :func:`flag_supply_shares`: EU-sourcing lists
#: of the EU 2023 tables omit countries below 1 %, so they may sum to as little as 0.85.
SUM_LOWER_TOLERANCE: dict[str, float] = {"eu_sourcing": 0.15}

_SHARE_COLUMNS: tuple[str, ...] = ("material", "stage", "mix", "country", "share")
_FLAG_COLUMNS: tuple[str, ...] = ("mix", "flag", "observed", "reference", "tolerance", "detail")


def _need(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CritmatError(
            f"{what}: the frame lacks column(s) {', '.join(missing)}; it needs "
            f"{', '.join(columns)} (has {', '.join(map(str, frame.columns))})",
            code="missing_columns",
        )


def _supply_keys(frame: pd.DataFrame, by: Sequence[str] | None) -> list[str]:
    """Group keys of one supply mix: ``vintage`` (when present), ``material``, ``stage``."""
    if by is not None:
        return list(by)
    return [c for c in ("vintage", "material", "stage") if c in frame.columns]


def _floats(values: pd.Series) -> np.ndarray:
    """Numeric values as float64 (NaN for missing), whatever the dtype (Float64, Arrow, text)."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _key_frame(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """The key columns as plain object columns (stable joins across pandas 2 and 3)."""
    return pd.DataFrame(
        {k: frame[k].astype(object).where(frame[k].notna(), None) for k in keys},
        index=frame.index,
    )


def _quiet_or_report(
    name: str, violations: pd.DataFrame, strict: bool | None, detail: str
) -> pd.DataFrame:
    out = violations.reset_index(drop=True)
    if strict is None:
        return out
    return _report(name, out, strict, detail)


def check_eu_sourcing_import_reliance(
    shares: pd.DataFrame,
    import_reliance: pd.DataFrame,
    eu_countries: Sequence[str],
    *,
    by: Sequence[str] | None = None,
    tolerance: float = 0.10,
    strict: bool | None = None,
) -> pd.DataFrame:
    """Check that the non-EU part of each EU-sourcing mix agrees with the import reliance.

    In the EU CRM method the EU sourcing mix is domestic production plus imports by origin,
    so the sum of the shares of non-EU countries should be close to the EU import reliance
    (IR) of the same material and stage. The listed rows give a lower bound of the non-EU
    part (the EU tables omit countries below 1 %; a residual row without a country counts
    as unknown); the lower bound plus the unlisted remainder ``1 - sum(listed)`` is an upper
    bound. A group is inconsistent when IR lies more than ``tolerance`` outside that band.
    (IR is net of exports, the sourcing mix is not: exporters of a material can differ by
    more than rounding, hence the default tolerance of 10 percentage points.)

    Parameters
    ----------
    shares
        Supply shares with columns ``material, stage, mix, country, share`` (fractions) and
        the group keys; only ``mix == "eu_sourcing"`` rows are checked.
    import_reliance
        Columns ``material, stage, import_reliance`` (fraction).
    eu_countries
        ISO-3 codes of the EU member states.
    by
        Keys of one mix; default ``vintage`` (when present), ``material``, ``stage``.
    tolerance
        Allowed distance of IR from the band, as a fraction.
    strict
        ``True`` raises :class:`CheckFailed`, ``False`` warns, ``None`` (default) returns
        the violations quietly (for marking rows).

    Returns
    -------
    pandas.DataFrame
        One row per inconsistent group: the keys, ``non_eu_share`` (listed, lower bound),
        ``non_eu_share_max`` (upper bound), ``import_reliance`` and ``gap`` (distance of IR
        from the band).

    Examples
    --------
    >>> s = pd.DataFrame({"material": "germanium", "stage": "processing",
    ...     "mix": "eu_sourcing", "country": ["CHN", "BEL"], "share": [0.83, 0.04]})
    >>> ir = pd.DataFrame({"material": ["germanium"], "stage": ["processing"],
    ...     "import_reliance": [0.42]})
    >>> bad = check_eu_sourcing_import_reliance(s, ir, ["BEL", "DEU"])
    >>> round(float(bad["non_eu_share"].iloc[0]), 2), round(float(bad["gap"].iloc[0]), 2)
    (0.83, 0.41)
    """
    _need(shares, _SHARE_COLUMNS, "check_eu_sourcing_import_reliance")
    _need(import_reliance, ("material", "stage", "import_reliance"), "import_reliance")
    keys = _supply_keys(shares, by)
    _need(shares, [*keys, "material", "stage"], "check_eu_sourcing_import_reliance")
    columns = [*keys, "non_eu_share", "non_eu_share_max", "import_reliance", "gap"]
    eu = shares[(shares["mix"] == "eu_sourcing").to_numpy(dtype=bool, na_value=False)]
    if eu.empty:
        return pd.DataFrame(columns=columns)
    share = _floats(eu["share"])
    country = eu["country"].astype(object)
    known = country.notna().to_numpy()
    member = country.isin(set(eu_countries)).to_numpy(dtype=bool, na_value=False)
    parts = _key_frame(eu, keys).assign(
        non_eu=np.where(known & ~member, share, 0.0), listed=np.where(known, share, 0.0)
    )
    g = parts.groupby(keys, dropna=False, sort=True)[["non_eu", "listed"]].sum().reset_index()
    g["non_eu_share"] = g["non_eu"]
    g["non_eu_share_max"] = g["non_eu"] + (1.0 - g["listed"]).clip(lower=0.0)
    ir = pd.DataFrame(
        {
            "material": import_reliance["material"].astype(object),
            "stage": import_reliance["stage"].astype(object),
            "import_reliance": _floats(import_reliance["import_reliance"]),
        }
    ).dropna(subset=["import_reliance"])
    joined = g.merge(ir.drop_duplicates(["material", "stage"]), on=["material", "stage"])
    low, high, value = (
        joined["non_eu_share"].to_numpy(),
        joined["non_eu_share_max"].to_numpy(),
        joined["import_reliance"].to_numpy(),
    )
    joined["gap"] = np.where(value < low, low - value, np.where(value > high, value - high, 0.0))
    bad = joined[joined["gap"] > tolerance + 1e-12][columns]
    return _quiet_or_report(
        "eu_sourcing_import_reliance",
        bad,
        strict,
        f"non-EU EU-sourcing shares must agree with import reliance within {tolerance}",
    )


def check_eu_sourcing_copies_global(
    shares: pd.DataFrame,
    *,
    by: Sequence[str] | None = None,
    tolerance: float = 0.01,
    min_countries: int = 2,
    strict: bool | None = None,
) -> pd.DataFrame:
    """Find EU-sourcing mixes that repeat the global mix of the same material and stage.

    A group is a copy when every country's EU-sourcing share is within ``tolerance`` of its
    global share (a country missing from one list counts as 0), over at least
    ``min_countries`` countries. The EU 2023 tables give EU-sourcing shares as whole
    percents, so a copy of the global mix differs from it by rounding only (at most half a
    percentage point; countries below 1 % dropped): the default tolerance of one point finds
    such copies and nothing else in those tables (the next closest mix differs by 6 points).

    Parameters
    ----------
    shares
        Supply shares with columns ``material, stage, mix, country, share`` and the keys.
    by
        Keys of one mix; default ``vintage`` (when present), ``material``, ``stage``.
    tolerance
        Largest per-country difference still counted as a copy (fraction).
    min_countries
        Fewer countries than this (e.g. a single 100 % supplier) are not judged.
    strict
        ``True`` raises, ``False`` warns, ``None`` (default) returns quietly.

    Returns
    -------
    pandas.DataFrame
        One row per copied group: the keys, ``countries`` compared and
        ``max_abs_difference``.
    """
    _need(shares, _SHARE_COLUMNS, "check_eu_sourcing_copies_global")
    keys = _supply_keys(shares, by)
    columns = [*keys, "countries", "max_abs_difference"]
    rows = shares[shares["country"].notna().to_numpy()]
    parts = _key_frame(rows, [*keys, "country", "mix"]).assign(share=_floats(rows["share"]))
    wide = parts.pivot_table(index=[*keys, "country"], columns="mix", values="share", aggfunc="sum")
    if "eu_sourcing" not in wide.columns or "global" not in wide.columns:
        return pd.DataFrame(columns=columns)
    present = wide.notna().groupby(level=list(range(len(keys)))).any()
    both = present[present["eu_sourcing"] & present["global"]].index
    wide = wide.fillna(0.0)
    diff = (wide["eu_sourcing"] - wide["global"]).abs()
    g = diff.groupby(level=list(range(len(keys)))).agg(["size", "max"])
    g = g[g.index.isin(both)]
    g = g.rename(columns={"size": "countries", "max": "max_abs_difference"})
    bad = g[(g["max_abs_difference"] <= tolerance + 1e-12) & (g["countries"] >= min_countries)]
    out = bad.reset_index()
    out.columns = [*keys, "countries", "max_abs_difference"]
    return _quiet_or_report(
        "eu_sourcing_copies_global",
        out[columns],
        strict,
        f"EU-sourcing shares within {tolerance} of the global shares for every country",
    )


def check_supply_share_sums(
    shares: pd.DataFrame,
    *,
    by: Sequence[str] | None = None,
    tolerance: float = 0.05,
    lower_tolerance: float | dict[str, float] | None = None,
    strict: bool | None = None,
) -> pd.DataFrame:
    """Find supply mixes whose shares do not sum to one.

    Parameters
    ----------
    shares
        Supply shares with columns ``material, stage, mix, country, share`` and the keys
        (a residual row without a country counts).
    by
        Keys of one mix (``mix`` is added); default ``vintage``, ``material``, ``stage``.
    tolerance
        Allowed excess over 1.
    lower_tolerance
        Allowed shortfall below 1 (default ``tolerance``); a dict gives it per mix, e.g.
        ``{"eu_sourcing": 0.15}`` for lists that omit countries below 1 %.
    strict
        ``True`` raises, ``False`` warns, ``None`` (default) returns quietly.

    Returns
    -------
    pandas.DataFrame
        One row per deviating mix: the keys, ``mix``, ``total`` and ``rows``.
    """
    _need(shares, _SHARE_COLUMNS, "check_supply_share_sums")
    keys = [*_supply_keys(shares, by), "mix"]
    columns = [*keys, "total", "rows"]
    parts = _key_frame(shares, keys).assign(share=_floats(shares["share"]))
    g = parts.groupby(keys, dropna=False, sort=True)["share"].agg(["sum", "size"]).reset_index()
    g = g.rename(columns={"sum": "total", "size": "rows"})
    if isinstance(lower_tolerance, dict):
        low = g["mix"].map(lambda m: lower_tolerance.get(m, tolerance)).astype("float64")
    else:
        low = pd.Series(
            tolerance if lower_tolerance is None else lower_tolerance, index=g.index
        ).astype("float64")
    bad = (g["total"] > 1.0 + tolerance + 1e-12) | (g["total"] < 1.0 - low - 1e-12)
    return _quiet_or_report(
        "supply_share_sums",
        g[bad][columns],
        strict,
        f"shares of a mix must sum to 1 (+{tolerance})",
    )


def eu_import_reliance(parameters: pd.DataFrame) -> pd.DataFrame:
    """EU import reliance per material and stage, long, from ``eu_crm_2023_parameters``.

    Parameters
    ----------
    parameters
        Columns ``material, ir_extraction, ir_processing`` (fractions), as in the
        ``eu_crm_2023_parameters`` table (or a user's version of it).

    Returns
    -------
    pandas.DataFrame
        Columns ``material, stage, import_reliance`` (missing values dropped), the input of
        :func:`check_eu_sourcing_import_reliance`.
    """
    _need(parameters, ("material", "ir_extraction", "ir_processing"), "eu_import_reliance")
    out = pd.concat(
        [
            pd.DataFrame(
                {
                    "material": parameters["material"].astype(object).to_numpy(),
                    "stage": stage,
                    "import_reliance": _floats(parameters[f"ir_{stage}"]),
                }
            )
            for stage in ("extraction", "processing")
        ],
        ignore_index=True,
    )
    return out.dropna(subset=["import_reliance"]).reset_index(drop=True)


def _mark(shares: pd.DataFrame, keys: Sequence[str], groups: pd.DataFrame, flag: str) -> np.ndarray:
    """Boolean mask of the rows of ``shares`` that belong to one of ``groups`` (on keys)."""
    if groups.empty:
        return np.zeros(len(shares), dtype=bool)
    # the keys as tuples of plain objects (missing values None, as in a join that matches
    # missing keys with each other)
    left = _key_frame(shares, keys)
    right = _key_frame(groups, keys)
    wanted = set(zip(*(right[k].to_numpy(dtype=object) for k in keys), strict=True))
    rows = zip(*(left[k].to_numpy(dtype=object) for k in keys), strict=True)
    return np.fromiter((r in wanted for r in rows), dtype=bool, count=len(left))


def flag_supply_shares(
    shares: pd.DataFrame,
    *,
    import_reliance: pd.DataFrame | None = None,
    eu_countries: Sequence[str] | None = None,
    by: Sequence[str] | None = None,
    ir_tolerance: float = 0.10,
    copy_tolerance: float = 0.01,
    sum_tolerance: float = 0.05,
    sum_lower_tolerance: float | dict[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the supply-input checks and mark the rows they flag (never altering a value).

    The same function serves the dataset build, user imports of supply shares and the
    scenario engine, so one mix gets the same flags wherever it is used.

    Parameters
    ----------
    shares
        Supply shares (``material, stage, mix, country, share``; optional ``vintage`` and
        ``check_flag``, whose existing flags are kept).
    import_reliance, eu_countries
        For the EU-sourcing vs import-reliance check (skipped when either is ``None``).
    by
        Keys of one mix; default ``vintage`` (when present), ``material``, ``stage``.
    ir_tolerance, copy_tolerance, sum_tolerance, sum_lower_tolerance
        Tolerances of :func:`check_eu_sourcing_import_reliance`,
        :func:`check_eu_sourcing_copies_global` and :func:`check_supply_share_sums`;
        ``sum_lower_tolerance=None`` means :data:`SUM_LOWER_TOLERANCE` (the dataset build's
        setting, so a mix gets the same flags at build, on import and in a scenario).

    Returns
    -------
    tuple of pandas.DataFrame
        ``shares`` with a ``check_flag`` column (flags joined by ``;`` in the order of
        :data:`SUPPLY_CHECK_FLAGS`, missing when a row passed every check), and one row per
        flagged mix: the keys, ``mix, flag, observed, reference, tolerance, detail``.
    """
    keys = _supply_keys(shares, by)
    n = len(shares)
    masks: dict[str, np.ndarray] = {f: np.zeros(n, dtype=bool) for f in SUPPLY_CHECK_FLAGS}
    is_eu = (shares["mix"] == "eu_sourcing").to_numpy(dtype=bool, na_value=False)
    found: list[pd.DataFrame] = []
    given = shares
    used = list(dict.fromkeys([*keys, *_SHARE_COLUMNS]))
    if all(c in shares.columns for c in used):
        # the checks read the keys, country and share only: convert those once (plain
        # objects, as the checks' joins use them) instead of filtering every column
        slim = _key_frame(shares, [c for c in used if c != "share"])
        slim["share"] = shares["share"]
        shares = slim
    if import_reliance is not None and eu_countries is not None:
        bad = check_eu_sourcing_import_reliance(
            shares, import_reliance, eu_countries, by=keys, tolerance=ir_tolerance
        )
        masks["eu_sourcing_inconsistent"] |= is_eu & _mark(shares, keys, bad, "ir")
        found.append(
            bad[keys].assign(
                mix="eu_sourcing",
                flag="eu_sourcing_inconsistent",
                observed=bad["non_eu_share"].astype("float64"),
                reference=bad["import_reliance"].astype("float64"),
                tolerance=ir_tolerance,
                detail=[
                    f"non-EU EU-sourcing shares {lo:.2f} (at most {hi:.2f} with unlisted "
                    f"rows) vs EU import reliance {ir:.2f}"
                    for lo, hi, ir in zip(
                        bad["non_eu_share"],
                        bad["non_eu_share_max"],
                        bad["import_reliance"],
                        strict=True,
                    )
                ],
            )
        )
    copies = check_eu_sourcing_copies_global(shares, by=keys, tolerance=copy_tolerance)
    masks["eu_sourcing_copies_global"] |= is_eu & _mark(shares, keys, copies, "copy")
    found.append(
        copies[keys].assign(
            mix="eu_sourcing",
            flag="eu_sourcing_copies_global",
            observed=copies["max_abs_difference"].astype("float64"),
            reference=0.0,
            tolerance=copy_tolerance,
            detail=[
                f"every one of {int(c)} countries within {d * 100:.1f} percentage points of "
                "its global share"
                for c, d in zip(copies["countries"], copies["max_abs_difference"], strict=True)
            ],
        )
    )
    lower = SUM_LOWER_TOLERANCE if sum_lower_tolerance is None else sum_lower_tolerance
    sums = check_supply_share_sums(shares, by=keys, tolerance=sum_tolerance, lower_tolerance=lower)
    masks["share_sum_deviates"] |= _mark(shares, [*keys, "mix"], sums, "sum")
    found.append(
        sums[[*keys, "mix"]].assign(
            flag="share_sum_deviates",
            observed=sums["total"].astype("float64"),
            reference=1.0,
            tolerance=sum_tolerance,
            detail=[
                f"{int(r)} rows sum to {t:.3f}"
                for t, r in zip(sums["total"], sums["rows"], strict=True)
            ],
        )
    )
    shares = given
    existing = (
        shares["check_flag"].astype(object).where(shares["check_flag"].notna(), "")
        if "check_flag" in shares.columns
        else pd.Series("", index=shares.index, dtype=object)
    ).to_numpy(dtype=object)
    labels = np.full(n, None, dtype=object)
    flagged = np.logical_or.reduce(list(masks.values())) if masks else np.zeros(n, dtype=bool)
    # only rows with an old or a new flag need a label
    for i in np.flatnonzero(flagged | (existing != "")).tolist():
        have = {f for f in str(existing[i]).split(";") if f}
        have |= {f for f, m in masks.items() if m[i]}
        order = [f for f in SUPPLY_CHECK_FLAGS if f in have] + sorted(
            have - set(SUPPLY_CHECK_FLAGS)
        )
        labels[i] = ";".join(order) if order else None
    out = shares.copy()
    out["check_flag"] = pd.Series(labels, index=shares.index, dtype=object)
    frames = [f for f in found if not f.empty]
    flags = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=[*keys, *_FLAG_COLUMNS])
    )
    flags = flags[[*keys, *_FLAG_COLUMNS]].sort_values([*keys, "mix", "flag"], ignore_index=True)
    return out, flags
