"""Derived fields: columns critmat computes on import from other columns.

A field declares ``critmat:derived: <name>`` in ``datapackage.json``; the importer (and the
dataset build) fills it with the function registered here, so derived values can never
disagree with their inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from critmat.methods.governance import pv_normalised, wgi_mean, wgi_scaled
from critmat.units import to_tonnes

__all__ = ["DERIVATIONS", "DERIVATION_INPUTS", "apply_derivations"]

Derivation = Callable[[pd.DataFrame, pd.DataFrame], pd.Series]


def _unit_to_tonnes(frame: pd.DataFrame, units: pd.DataFrame) -> pd.Series:
    return to_tonnes(frame["quantity"], frame["unit"], units)


def _pv_normalised(frame: pd.DataFrame, units: pd.DataFrame) -> pd.Series:
    return pv_normalised(frame["pv"])


def _wgi_mean(frame: pd.DataFrame, units: pd.DataFrame) -> pd.Series:
    return wgi_mean(frame)


def _wgi_scaled(frame: pd.DataFrame, units: pd.DataFrame) -> pd.Series:
    return wgi_scaled(wgi_mean(frame))


def _year_of_date(frame: pd.DataFrame, units: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["date"]).dt.year.astype("Int64")


def _first_actor(frame: pd.DataFrame, units: pd.DataFrame) -> pd.Series:
    return frame["actors"].astype("string").str.split(";").str[0].astype("string")


def _filled(column: pd.Series) -> pd.Series:
    text = column.astype("string").str.strip()
    return (text.notna() & (text != "")).astype(bool)


def _materials_status(frame: pd.DataFrame, units: pd.DataFrame) -> pd.Series:
    """Status of the material columns: resolved, partial, unresolved, general or none."""
    known = _filled(frame["materials"])
    unknown = _filled(frame["materials_unresolved"])
    scope = _filled(frame["material_scope"])
    status = pd.Series("none", index=frame.index, dtype="string")
    status[scope] = "general"
    status[unknown] = "unresolved"
    status[known] = "resolved"
    status[known & unknown] = "partial"
    return status


DERIVATIONS: dict[str, Derivation] = {
    "unit_to_tonnes": _unit_to_tonnes,
    "pv_normalised": _pv_normalised,
    "wgi_mean": _wgi_mean,
    "wgi_scaled": _wgi_scaled,
    "year_of_date": _year_of_date,
    "first_actor": _first_actor,
    "materials_status": _materials_status,
}


#: What each derivation is computed from (for messages).
DERIVATION_INPUTS: dict[str, str] = {
    "unit_to_tonnes": "quantity and unit",
    "pv_normalised": "pv: clip((2.5 - pv) / 5, 0, 1)",
    "wgi_mean": "the mean of va, pv, ge, rq, rl, cc",
    "wgi_scaled": "5 - 2 x the mean of va, pv, ge, rq, rl, cc",
}


def apply_derivations(
    frame: pd.DataFrame, derived: dict[str, str], units: pd.DataFrame
) -> pd.DataFrame:
    """Return a copy of ``frame`` with every derived field computed.

    Parameters
    ----------
    frame
        Validated input frame.
    derived
        ``{field name: derivation name}``.
    units
        The unit table (for unit conversions).
    """
    out = frame.copy()
    for field_name, how in derived.items():
        out[field_name] = DERIVATIONS[how](out, units)
    return out
