"""Criticality matrix: importance x supply risk with EU or DOE-style cut-offs (METHODS §1.5, §5).

* ``eu``: critical iff importance (EI) >= 2.8 and supply risk (SR) >= 1.0 (EU 2017
  Guidelines; CRMA Annex II). Quadrants name which axis is high.
* ``doe``: each axis is scored 1 (low) to 4 (high) through three cut-offs; "critical" when
  both scores are >= 3, "near_critical" when one is >= 3 and the other is 2, else
  "not_critical" (the DOE 2023 matrix layout; the DOE's own indicator weights are not public
  in this dataset, so the default cut-offs are critmat's: half, once and twice the EU
  threshold, putting the EU threshold at the 2/3 boundary). Short- and medium-term horizons
  are rows with a ``horizon`` column and may have their own cut-offs.

Any importance axis works (EU EI today; defence importance once the defence layer exists).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from critmat.errors import ParameterError
from critmat.vocab import CriticalityCategory as Category

__all__ = ["DOE_CUTOFFS", "EU_THRESHOLDS", "SCHEMES", "criticality_matrix", "levels"]

SCHEMES = ("eu", "doe")

#: EU thresholds: economic importance and supply risk.
EU_THRESHOLDS: dict[str, float] = {"importance": 2.8, "supply_risk": 1.0}

#: Default DOE-style cut-offs (level 2, 3, 4 start at these values).
DOE_CUTOFFS: dict[str, tuple[float, float, float]] = {
    "importance": (1.4, 2.8, 5.6),
    "supply_risk": (0.5, 1.0, 2.0),
}


def levels(values: pd.Series, cutoffs: Sequence[float]) -> pd.Series:
    """Score values 1..len(cutoffs)+1 by cut-offs (NaN stays missing).

    Examples
    --------
    >>> import pandas as pd
    >>> levels(pd.Series([0.1, 1.0, 2.5, None]), (0.5, 1.0, 2.0)).tolist()
    [1, 3, 4, <NA>]
    """
    cuts = np.asarray(cutoffs, dtype=float)
    if np.any(np.diff(cuts) <= 0):
        raise ParameterError(f"cut-offs must increase strictly, got {list(cutoffs)}")
    v = values.astype("float64").to_numpy()
    lv = np.searchsorted(cuts, v, side="right") + 1
    return pd.Series(lv, index=values.index, dtype="Int64").where(~np.isnan(v))


def criticality_matrix(
    frame: pd.DataFrame,
    *,
    importance: str = "ei",
    supply_risk: str = "sr",
    scheme: str = "eu",
    thresholds: Mapping[str, float] | None = None,
    cutoffs: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Classify every row of ``frame`` on the importance x supply-risk matrix.

    Parameters
    ----------
    frame
        One row per material (and horizon): must hold the ``importance`` and
        ``supply_risk`` columns.
    importance, supply_risk
        Column names of the two axes.
    scheme
        ``eu`` or ``doe``.
    thresholds
        EU scheme: ``{"importance": 2.8, "supply_risk": 1.0}`` by default.
    cutoffs
        DOE scheme: ``{"importance": (a, b, c), "supply_risk": (a, b, c)}``, or a dict of
        those keyed by the values of a ``horizon`` column.

    Returns
    -------
    pandas.DataFrame
        ``frame`` plus ``importance_score, supply_risk_score`` (copies of the axes), for DOE
        ``importance_level, supply_risk_level`` (1-4), and ``category`` (``critical``,
        ``near_critical`` (DOE), ``high_importance``, ``high_supply_risk`` (EU),
        ``not_critical`` or ``not_assessed`` when an axis is missing).
    """
    if scheme not in SCHEMES:
        raise ParameterError(f"scheme must be one of {', '.join(SCHEMES)}, got '{scheme}'")
    for col in (importance, supply_risk):
        if col not in frame.columns:
            raise ParameterError(
                f"column '{col}' not in the frame; columns are {', '.join(map(str, frame.columns))}"
            )
    out = frame.copy()
    imp = out[importance].astype("float64")
    risk = out[supply_risk].astype("float64")
    out["importance_score"] = imp
    out["supply_risk_score"] = risk
    missing = (imp.isna() | risk.isna()).to_numpy()
    if scheme == "eu":
        th = {**EU_THRESHOLDS, **(thresholds or {})}
        hi_i = (imp >= th["importance"]).to_numpy()
        hi_r = (risk >= th["supply_risk"]).to_numpy()
        cat = np.select(
            [hi_i & hi_r, hi_i, hi_r],
            [
                Category.CRITICAL.value,
                Category.HIGH_IMPORTANCE.value,
                Category.HIGH_SUPPLY_RISK.value,
            ],
            default=Category.NOT_CRITICAL.value,
        )
    else:
        cuts: Mapping[str, Any] = cutoffs or DOE_CUTOFFS
        if "horizon" in out.columns and all(isinstance(v, Mapping) for v in cuts.values()):
            li = pd.Series(pd.NA, index=out.index, dtype="Int64")
            lr = li.copy()
            for h, c in cuts.items():  # one pass per horizon (short, medium term)
                sel = out["horizon"] == h
                li[sel] = levels(imp[sel], c["importance"])
                lr[sel] = levels(risk[sel], c["supply_risk"])
        else:
            li = levels(imp, cuts["importance"])
            lr = levels(risk, cuts["supply_risk"])
        out["importance_level"] = li
        out["supply_risk_level"] = lr
        a = li.fillna(0).to_numpy()
        b = lr.fillna(0).to_numpy()
        cat = np.select(
            [(a >= 3) & (b >= 3), ((a >= 3) & (b == 2)) | ((a == 2) & (b >= 3))],
            [Category.CRITICAL.value, Category.NEAR_CRITICAL.value],
            default=Category.NOT_CRITICAL.value,
        )
    out["category"] = np.where(missing, Category.NOT_ASSESSED.value, cat)
    return out
