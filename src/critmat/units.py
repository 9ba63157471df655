"""Unit conversion through the knowledge base's unit table (no inline unit strings).

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"unit": ["t", "kg"], "dimension": ["mass", "mass"],
...                       "canonical": ["t", "t"], "factor_to_canonical": [1.0, 0.001]})
>>> to_tonnes(pd.Series([1000.0, 5.0]), pd.Series(["kg", "t"]), table).tolist()
[1.0, 5.0]
"""

from __future__ import annotations

import pandas as pd

__all__ = ["mass_factors", "to_tonnes", "unknown_units"]


def mass_factors(units: pd.DataFrame) -> dict[str, float]:
    """Return ``{unit: factor to tonnes}`` for every mass unit of the unit table."""
    mass = units[units["dimension"] == "mass"]
    return dict(zip(mass["unit"], mass["factor_to_canonical"].astype(float), strict=True))


def unknown_units(unit: pd.Series, units: pd.DataFrame) -> list[str]:
    """Return the unit strings of ``unit`` that the unit table does not define."""
    known = set(units["unit"])
    return sorted({u for u in unit.dropna().unique() if u not in known})


def to_tonnes(quantity: pd.Series, unit: pd.Series, units: pd.DataFrame) -> pd.Series:
    """Convert quantities to metric tonnes; NaN where the unit is not a mass.

    Parameters
    ----------
    quantity
        Values in ``unit``.
    unit
        Unit of each value (a key of the unit table).
    units
        The ``units`` table (columns ``unit, dimension, factor_to_canonical``).
    """
    factor = unit.map(mass_factors(units)).astype("float64")
    return quantity.astype("float64") * factor
