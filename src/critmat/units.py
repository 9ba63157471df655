"""Units of results (one spelling each) and conversion through the knowledge base's unit table.

The constants below are the only spellings of result units: every result's provenance
(``frame.attrs["critmat"]["units"]``), the column metadata (:mod:`critmat.columns`) and the
documentation use them. Shares in 0-1 are ``fraction`` everywhere (never "0-1" or
"fraction (0-1)"); a percentage is a formatting choice of the report, not a unit.

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

__all__ = [
    "COUNT",
    "EUR",
    "EUR_PER_T",
    "FACTOR",
    "FRACTION",
    "HHI_POINTS",
    "KG_CU_EQ_PER_KG",
    "KG_PER_UNIT",
    "KUSD",
    "KUSD_PER_T",
    "MEUR",
    "MONTHS",
    "MONTHS_OF_DEFENCE_DEMAND",
    "MONTHS_OF_DEMAND",
    "PROBABILITY",
    "RATIO",
    "SCORE",
    "SCORE_0_10",
    "SHARE_OF_EU_DEMAND",
    "TONNES",
    "TONNES_WEIGHTED",
    "T_PER_MONTH",
    "T_PER_YEAR",
    "UNITS",
    "UNITS_PER_MONTH",
    "UNITS_PER_YEAR",
    "USD_PER_EUR",
    "USD_PER_KG",
    "USD_PER_T",
    "YEAR",
    "mass_factors",
    "to_tonnes",
    "unknown_units",
]

#: A share between 0 and 1 (supply shares, HHI, import reliance, GeoPolRisk score, ...).
FRACTION = "fraction"
#: A dimensionless score without a fixed range (EU supply risk, ranking scores).
SCORE = "score"
#: A dimensionless score on 0 (lowest) ... 10 (highest) (EU economic importance, DI).
SCORE_0_10 = "score (0-10)"
#: The HHI in anti-trust points, 0 ... 10,000 (10,000 x the fraction).
HHI_POINTS = "points (0-10,000)"
#: A dimensionless multiplier (substitution indices).
FACTOR = "factor"
#: A probability (0-1) over Monte Carlo scenarios.
PROBABILITY = "probability"
#: A ratio to a reference value (price relative to the pre-shock price).
RATIO = "ratio"
#: Metric tonnes.
TONNES = "t"
#: Tonnes weighted by a 0-1 factor (GeoPolRisk numerator: instability-weighted imports).
TONNES_WEIGHTED = "t (instability-weighted)"
#: Tonnes per year and per month.
T_PER_YEAR = "t per year"
T_PER_MONTH = "t per month"
#: Thousand US dollars, BACI's value unit.
KUSD = "kUSD"
#: Thousand US dollars per tonne (= US dollars per kilogram).
KUSD_PER_T = "kUSD/t"
#: US dollars per kilogram.
USD_PER_KG = "USD/kg"
#: Characterisation factor of the GeoPolRisk method.
KG_CU_EQ_PER_KG = "kg Cu-eq/kg"
#: Million euros (value added).
MEUR = "million EUR"
#: Defence bills of materials and build rates.
KG_PER_UNIT = "kg per unit"
UNITS = "units"
UNITS_PER_YEAR = "units per year"
UNITS_PER_MONTH = "units per month"
#: Counts (systems, origins, uses, ...).
COUNT = "count"
#: A calendar year.
YEAR = "year"
#: Months, and months of baseline (defence) demand (scenario shortfalls and stocks).
MONTHS = "months"
MONTHS_OF_DEMAND = "months of baseline demand"
MONTHS_OF_DEFENCE_DEMAND = "months of baseline defence demand"
#: A share of EU demand (0-1) in a shortfall allocation.
SHARE_OF_EU_DEMAND = "share of EU demand"
# decisions (issue 13): prices and money of a stated year
#: Euros per tonne (EUR of the price year).
EUR_PER_T = "EUR/t"
#: US dollars per tonne.
USD_PER_T = "USD/t"
#: The exchange rate: US dollars per euro.
USD_PER_EUR = "USD per EUR"
#: Euros.
EUR = "EUR"


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
