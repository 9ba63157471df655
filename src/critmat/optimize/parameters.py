"""Material parameters of the stockpile decision: prices, costs, caps, with defaults and sources.

One :class:`MaterialParameters` per material (a pydantic model: the same definition serves
Python, the CLI's ``--parameters FILE`` table and an API body). :func:`resolve_parameters`
fills the defaults, aligns the table on a scenario set's materials and says, per value,
whether it was given or defaulted and on what basis (``*_basis`` columns).

Defaults (see docs/decisions.md):

======================== =============================================== ==============
parameter                default                                         basis
======================== =============================================== ==============
price_eur_t              none: required                                  user / KB price
holding_cost_eur_t_yr    ``holding_rate_yr`` x price, rate 5 %/yr         assumption
shortage_cost_eur_t      ``priority_weight`` x price, weight 1            RAMF-SM (§6.1)
max_purchase_t           none (no market-absorption cap)                 assumption
release_cap_t_month      none (release as fast as the gap)               engine default
shelf_life_months        none (no deterioration)                         assumption
annual_demand_t          none (months of cover not computed)             user / KB
======================== =============================================== ==============
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from critmat.errors import DataValidationError, Problem, UnknownNameError

__all__ = [
    "DEFAULTS",
    "MaterialParameters",
    "ResolvedParameters",
    "parse_parameters",
    "read_parameters",
    "resolve_parameters",
]

#: Default values with their basis (shown in results and docs/decisions.md).
DEFAULTS: dict[str, tuple[float | None, str]] = {
    "holding_rate_yr": (
        0.05,
        "assumption: 4 %/yr cost of capital + 1 %/yr storage and insurance on the purchase "
        "value (JOGMEC finances exactly these two items: interest on purchases and "
        "warehouse costs, IEA policy database; no published rate)",
    ),
    "priority_weight": (
        1.0,
        "RAMF-SM values shortfalls at market prices (METHODS.md §6.1; DoD 2013 NDS report "
        "Table 10-1); a defence priority weight > 1 values lost capability above the price",
    ),
    "max_purchase_t": (None, "assumption: no market-absorption cap unless given"),
    "release_cap_t_month": (
        None,
        "no release cap (the scenario engine's default): a stock can cover a whole month's gap",
    ),
    "shelf_life_months": (None, "assumption: no deterioration (metals and oxides stored dry)"),
}


class MaterialParameters(BaseModel):
    """Economic and physical parameters of one material's stock decision.

    Attributes
    ----------
    material
        Material name as in the scenario set.
    price_eur_t
        Purchase price (EUR per tonne; EUR of a stated year, see ``price_source``).
    holding_cost_eur_t_yr
        Storage, insurance, capital and deterioration cost per tonne-year. Default
        ``holding_rate_yr`` x price.
    holding_rate_yr
        Share of the price per year used for the default holding cost.
    shortage_cost_eur_t
        Cost of one tonne of demand left unmet. Default ``priority_weight`` x price.
    priority_weight
        Defence priority weight for the default shortage cost.
    max_purchase_t
        What the market can absorb before the horizon (tonnes); none = no cap.
    release_cap_t_month
        Most the stock can release in a month (tonnes); none = no cap.
    shelf_life_months
        Months a unit stays usable; stock left at the end of its shelf life is written off
        (no rotation is modelled). None = no deterioration.
    annual_demand_t
        Baseline EU annual demand (tonnes), for months of cover and cover-based policies.
    price_source
        Source id or citation of the price (provenance).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    material: str = Field(min_length=1)
    price_eur_t: float = Field(gt=0, allow_inf_nan=False)
    holding_cost_eur_t_yr: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    holding_rate_yr: float = Field(default=0.05, ge=0, le=1)
    shortage_cost_eur_t: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    priority_weight: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    max_purchase_t: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    release_cap_t_month: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    shelf_life_months: float | None = Field(default=None, ge=1, allow_inf_nan=False)
    annual_demand_t: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    price_source: str | None = None


_COLUMNS = tuple(MaterialParameters.model_fields)


@dataclass(frozen=True)
class ResolvedParameters:
    """Parameters aligned on a list of materials, defaults filled; arrays ``[M]``.

    Attributes
    ----------
    materials
        Order of every array.
    price, holding_yr, shortage, max_purchase, release_cap, shelf_life, annual_demand
        EUR/t, EUR/t/yr, EUR/t, t (inf = no cap), t/month (inf), months (inf), t/yr (NaN).
    table
        The resolved table with ``*_basis`` columns.
    """

    materials: tuple[str, ...]
    price: np.ndarray
    holding_yr: np.ndarray
    shortage: np.ndarray
    max_purchase: np.ndarray
    release_cap: np.ndarray
    shelf_life: np.ndarray
    annual_demand: np.ndarray
    table: pd.DataFrame

    def usable_months(self, horizon: int) -> np.ndarray:
        """Whole months of the horizon in which a stock bought at the start can be released."""
        out: np.ndarray = np.minimum(np.floor(self.shelf_life), horizon).astype(np.int64)
        return out

    def expires(self, horizon: int) -> np.ndarray:
        """``[M]`` whether stock deteriorates within the horizon (write-off of what is left)."""
        out: np.ndarray = self.usable_months(horizon) < horizon
        return out

    def holding_over(self, horizon: int) -> np.ndarray:
        """Holding cost per tonne over the horizon (EUR/t): ``h * min(T, L) / 12``."""
        out: np.ndarray = self.holding_yr * np.minimum(horizon, self.usable_months(horizon)) / 12
        return out

    def monthly_demand(self) -> np.ndarray:
        """Baseline monthly demand (t/month, NaN where unknown)."""
        out: np.ndarray = self.annual_demand / 12.0
        return out

    def with_demand(self, monthly_demand_t: Any, source: str) -> ResolvedParameters:
        """Fill a missing ``annual_demand_t`` from a baseline monthly demand (``[M]`` or None).

        The basis column then names ``source`` (e.g. the scenario set the demand came with).
        """
        if monthly_demand_t is None:
            return self
        monthly = np.asarray(monthly_demand_t, dtype=np.float64)
        fill = ~np.isfinite(self.annual_demand) & np.isfinite(monthly) & (monthly > 0)
        if not fill.any():
            return self
        demand = np.where(fill, monthly * 12.0, self.annual_demand)
        table = self.table.copy()
        table["annual_demand_t"] = demand
        basis = np.array(table["annual_demand_basis"].astype(object).tolist(), dtype=object)
        basis[fill] = f"scenario baseline ({source})"
        table["annual_demand_basis"] = pd.array(basis.tolist(), dtype="string")
        return replace(self, annual_demand=demand, table=table)

    def select(self, materials: Sequence[str]) -> ResolvedParameters:
        """The parameters of ``materials`` (in that order)."""
        idx = [self.materials.index(m) for m in materials]
        return ResolvedParameters(
            tuple(materials),
            self.price[idx],
            self.holding_yr[idx],
            self.shortage[idx],
            self.max_purchase[idx],
            self.release_cap[idx],
            self.shelf_life[idx],
            self.annual_demand[idx],
            self.table.iloc[idx].reset_index(drop=True),
        )


def _problems_from(exc: ValidationError, row: int | None, file: str | None) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ()))
        value = err.get("input")
        out.append(
            Problem(
                err.get("msg", "invalid value"),
                file=file,
                row=row,
                column=loc or None,
                value=None if isinstance(value, dict) else str(value),
                expected="see MaterialParameters (critmat.optimize.parameters)",
            )
        )
    return out


def parse_parameters(
    data: pd.DataFrame | Sequence[MaterialParameters | Mapping[str, Any]] | Mapping[str, Any],
    *,
    file: str | None = None,
) -> list[MaterialParameters]:
    """Turn a table, a list of records or ``{material: {...}}`` into validated parameters.

    Empty cells (NaN) mean "use the default". Every problem is reported at once.

    Raises
    ------
    critmat.errors.DataValidationError
        Unknown columns, missing prices, impossible numbers, repeated materials.
    """
    records: list[tuple[int | None, dict[str, Any]]] = []
    if isinstance(data, pd.DataFrame):
        unknown = [c for c in data.columns if c not in _COLUMNS]
        if unknown:
            raise DataValidationError(
                [
                    Problem(
                        f"unknown column '{c}'",
                        file=file,
                        column=str(c),
                        suggestions=tuple(difflib.get_close_matches(str(c), _COLUMNS, n=3)),
                        expected="columns " + ", ".join(_COLUMNS),
                    )
                    for c in unknown
                ],
                source=file,
            )
        for i, rec in enumerate(data.to_dict(orient="records")):
            records.append((i + 2, rec))
    elif isinstance(data, Mapping):
        for name, rec in data.items():
            if isinstance(rec, MaterialParameters):
                records.append((None, rec.model_dump()))
            else:
                records.append((None, {"material": name, **dict(rec)}))
    else:
        for i, rec in enumerate(data):
            d = rec.model_dump() if isinstance(rec, MaterialParameters) else dict(rec)
            records.append((i + 1, d))
    problems: list[Problem] = []
    out: list[MaterialParameters] = []
    seen: dict[str, int | None] = {}
    for row, rec in records:
        clean = {
            k: v
            for k, v in rec.items()
            if not (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA)
        }
        try:
            par = MaterialParameters(**clean)
        except ValidationError as exc:
            problems.extend(_problems_from(exc, row, file))
            continue
        if par.material in seen:
            problems.append(
                Problem(
                    f"material '{par.material}' is given twice",
                    file=file,
                    row=row,
                    column="material",
                    expected="one row per material",
                )
            )
            continue
        seen[par.material] = row
        out.append(par)
    if problems:
        raise DataValidationError(problems, source=file)
    return out


def read_parameters(path: str | Path) -> list[MaterialParameters]:
    """Read a parameter table (CSV, Parquet) with the columns of :class:`MaterialParameters`."""
    p = Path(path)
    if not p.is_file():
        raise DataValidationError(
            [Problem("file not found", file=str(p), expected="a CSV or Parquet file")],
            source=str(p),
        )
    try:
        frame = pd.read_parquet(p) if p.suffix.lower() in (".parquet", ".pq") else pd.read_csv(p)
    except Exception as exc:
        raise DataValidationError(
            [Problem(f"cannot read the file: {exc}", file=str(p), expected="CSV or Parquet")],
            source=str(p),
        ) from None
    return parse_parameters(frame, file=p.name)


def resolve_parameters(
    parameters: Any,
    materials: Sequence[str],
) -> ResolvedParameters:
    """Align parameters on ``materials``, fill defaults and record each value's basis.

    Parameters
    ----------
    parameters
        Anything :func:`parse_parameters` accepts, or a :class:`ResolvedParameters`.
    materials
        The scenario set's materials; each needs a row (at least its price).

    Raises
    ------
    critmat.errors.UnknownNameError
        A scenario material without parameters (with the closest names given).
    """
    if isinstance(parameters, ResolvedParameters):
        missing = [m for m in materials if m not in parameters.materials]
        if missing:
            raise UnknownNameError(
                "material",
                missing[0],
                suggestions=difflib.get_close_matches(missing[0], parameters.materials, n=3),
                where="the material parameters (every scenario material needs a price)",
            )
        return parameters.select(materials)
    parsed = parameters if _is_parsed(parameters) else parse_parameters(parameters)
    by_name = {p.material: p for p in parsed}
    missing = [m for m in materials if m not in by_name]
    if missing:
        raise UnknownNameError(
            "material",
            missing[0],
            suggestions=difflib.get_close_matches(missing[0], list(by_name), n=3),
            where=(
                "the material parameters: every scenario material needs a row with at least "
                f"price_eur_t (missing: {', '.join(missing)})"
            ),
        )
    rows = []
    for name in materials:
        p = by_name[name]
        if p.holding_cost_eur_t_yr is not None:
            hold, hold_basis = p.holding_cost_eur_t_yr, "given"
        else:
            hold = p.holding_rate_yr * p.price_eur_t
            hold_basis = (
                f"default: {p.holding_rate_yr:g}/yr x price ({DEFAULTS['holding_rate_yr'][1]})"
                if p.holding_rate_yr == DEFAULTS["holding_rate_yr"][0]
                else f"holding_rate_yr {p.holding_rate_yr:g} x price (given rate)"
            )
        if p.shortage_cost_eur_t is not None:
            short, short_basis = p.shortage_cost_eur_t, "given"
        else:
            short = p.priority_weight * p.price_eur_t
            short_basis = (
                f"default: priority_weight {p.priority_weight:g} x price "
                f"({DEFAULTS['priority_weight'][1]})"
            )
        rows.append(
            {
                "material": name,
                "price_eur_t": p.price_eur_t,
                "price_source": p.price_source or "user input",
                "holding_cost_eur_t_yr": hold,
                "holding_cost_basis": hold_basis,
                "shortage_cost_eur_t": short,
                "shortage_cost_basis": short_basis,
                "max_purchase_t": np.inf if p.max_purchase_t is None else p.max_purchase_t,
                "max_purchase_basis": "given"
                if p.max_purchase_t is not None
                else str(DEFAULTS["max_purchase_t"][1]),
                "release_cap_t_month": np.inf
                if p.release_cap_t_month is None
                else p.release_cap_t_month,
                "release_cap_basis": "given"
                if p.release_cap_t_month is not None
                else str(DEFAULTS["release_cap_t_month"][1]),
                "shelf_life_months": np.inf if p.shelf_life_months is None else p.shelf_life_months,
                "shelf_life_basis": "given"
                if p.shelf_life_months is not None
                else str(DEFAULTS["shelf_life_months"][1]),
                "annual_demand_t": np.nan if p.annual_demand_t is None else p.annual_demand_t,
                "annual_demand_basis": "given" if p.annual_demand_t is not None else "not given",
            }
        )
    table = pd.DataFrame(rows)
    for col in table.columns:
        if col == "material" or col.endswith(("_basis", "_source")):
            table[col] = table[col].astype("string")

    def arr(col: str) -> np.ndarray:
        return table[col].to_numpy(dtype=np.float64)

    return ResolvedParameters(
        tuple(materials),
        arr("price_eur_t"),
        arr("holding_cost_eur_t_yr"),
        arr("shortage_cost_eur_t"),
        arr("max_purchase_t"),
        arr("release_cap_t_month"),
        arr("shelf_life_months"),
        arr("annual_demand_t"),
        table,
    )


def _is_parsed(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, MaterialParameters) for v in value)
