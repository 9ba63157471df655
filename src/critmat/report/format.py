"""The one number formatter of critmat: terminal tables, HTML reports and the CLI.

Every number a person reads goes through :func:`format_value` with a named style, so a
share looks the same in the terminal table, the HTML report and a printed frame:

========== ===================================================== ======================
style      rule                                                  examples
========== ===================================================== ======================
``auto``   thousands separators from 1,000, else 4 significant   ``85,936``, ``1.318``
``percent`` a fraction as a whole percentage                     ``84%``
``percent1`` a fraction as a percentage with one decimal         ``84.4%``
``share``  a 0-1 value: 2 decimals, 3 below 0.1                  ``0.85``, ``0.091``
``decimal1`` one decimal                                         ``5.6``
``decimal2`` two decimals                                        ``13.47``
``tonnes`` thousands separators and one decimal                  ``1,234.5``
``sig3``   three significant digits, thousands separators        ``78.2``, ``0.0123``
``integer`` a whole number with thousands separators             ``1,264,888``
========== ===================================================== ======================

Missing values (``None``, NaN, ``<NA>``) become the ``missing`` text (``""`` by default,
``"–"`` in the assessment's terminal tables): absence is shown, never a 0.

Examples
--------
>>> [format_value(v) for v in (85936.0, 616.0, 1.318, 0.000325)]
['85,936', '616', '1.318', '0.000325']
>>> format_value(0.8415, "percent"), format_value(0.0913, "share"), format_value(None, missing="–")
('84%', '0.091', '–')
>>> format_value(True), format_value(False)
('yes', 'no')
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["STYLES", "format_number", "format_value", "is_missing"]


def _share(v: float) -> str:
    return f"{v:.2f}" if abs(v) >= 0.1 else f"{v:.3f}"


def _auto(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _eur(v: float) -> str:
    """Money for people: 1.25 bn, 12.3 M, 45,000 (the column label names the currency)."""
    if abs(v) >= 1e9:
        return f"{v / 1e9:,.2f} bn"
    if abs(v) >= 1e6:
        return f"{v / 1e6:,.1f} M"
    return f"{v:,.0f}"


#: Formatting rule of each style.
STYLES: dict[str, Callable[[float], str]] = {
    "auto": _auto,
    "percent": lambda v: f"{v:.0%}",
    "percent1": lambda v: f"{v:.1%}",
    "share": _share,
    "decimal1": lambda v: f"{v:.1f}",
    "decimal2": lambda v: f"{v:,.2f}",
    "tonnes": lambda v: f"{v:,.1f}",
    "sig3": lambda v: f"{v:,.3g}",
    "integer": lambda v: f"{v:,.0f}",
    "eur": _eur,
}


def is_missing(value: Any) -> bool:
    """Whether ``value`` is absent (``None``, NaN, ``<NA>``, NaT)."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(pd.isna(value)) if not isinstance(value, str | bytes) else False
    except (TypeError, ValueError):
        return False


def format_value(value: Any, style: str = "auto", *, missing: str = "") -> str:
    """Text of one value for people.

    Parameters
    ----------
    value
        A number, flag, date, text or missing value.
    style
        A key of :data:`STYLES` (numbers only; text and flags ignore it).
    missing
        Text of a missing value.

    Raises
    ------
    critmat.errors.ParameterError
        For an unknown style.
    """
    if style not in STYLES:
        from critmat.errors import ParameterError, closest

        hint = closest(style, list(STYLES))
        raise ParameterError(
            f"unknown number style '{style}'; expected one of {', '.join(STYLES)}"
            + (f" (did you mean '{hint[0]}'?)" if hint else "")
        )
    if is_missing(value):
        return missing
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, float | np.floating):
        return STYLES[style](float(value))
    if isinstance(value, int | np.integer):
        return f"{int(value):,}" if style == "integer" else str(value)
    return str(value)


def format_number(value: float) -> str:
    """Readable number in the ``auto`` style (the style of printed result frames).

    Examples
    --------
    >>> format_number(1264888.0), format_number(0.4667)
    ('1,264,888', '0.4667')
    """
    return format_value(value, "auto")
