"""Supplier mix under the CRMA cap: a least-cost or risk-adjusted sourcing LP (linopy + HiGHS).

For one material and stage, candidate suppliers i (country, capacity, unit cost, lead time,
ramp, disruption probability q_i) and EU demand D (tonnes per year)::

    min  sum_i x_i c_i                                   (least_cost)
    min  sum_i x_i (c_i + q_i * loss)                    (risk_adjusted)
    s.t. sum_i x_i = D
         sum_{i in c} x_i <= share_max * D   for every third country c   (CRMA Art. 5: 65 %)
         sum_{i in g} x_i <= share_g * D     for every named group g     (e.g. adversaries)
         0 <= x_i <= K_i(H)                  (capacity available within the horizon H)

``K_i(H) = current_i + (capacity_i - current_i) * f_i(H)``: what a supplier delivers today
is available at once; new capacity comes after the lead time ``l_i`` and ramps up linearly
over ``r_i`` months, so over a horizon of H months it delivers on average the share
``f_i(H) = (1/H) int_0^H clip((t - l_i) / r_i, 0, 1) dt`` of its extra capacity (without a
horizon: all of it). EU member states are not third countries (the cap does not apply).

A demand that the caps, capacities and lead times cannot meet raises
:class:`SourcingInfeasibleError`, which names the binding constraints (from an elastic
solve with a penalised unmet-demand variable) and the most that can be sourced.

Examples
--------
TV3 of METHODS.md §6.5 (EU demand 100 kt; China 100, Chile 110, Australia 115, Canada 120
per t; capacities Chile 20, Australia 30, Canada 25 kt; 65 % cap):

>>> import pandas as pd
>>> cand = pd.DataFrame({
...     "material": "x", "stage": "processing",
...     "country": ["China", "Chile", "Australia", "Canada"],
...     "capacity_t": [None, 20_000, 30_000, 25_000],
...     "unit_cost_eur_t": [100, 110, 115, 120]})
>>> r = optimize_sourcing(cand, SourcingOptions(material="x", demand_t=100_000))
>>> r.allocation.set_index("country")["allocation_t"].round().to_dict()
{'China': 65000.0, 'Chile': 20000.0, 'Australia': 15000.0, 'Canada': 0.0}
>>> r.totals["cost_eur"], round(r.totals["hhi_after"], 3)
(10425000.0, 0.485)
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import linopy
import numpy as np
import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from critmat._version import __version__
from critmat.errors import DataValidationError, InfeasibleError, Problem, UnknownNameError
from critmat.optimize._solver import (
    OptimizeError,
    SolverReport,
    SolveStatus,
    raise_for_status,
    run_highs,
    validated,
    without_dask_probe,
)
from critmat.provenance import Provenance, attach

__all__ = [
    "CANDIDATE_COLUMNS",
    "CRMA_MAX_SINGLE_COUNTRY",
    "EU27_MEMBERS",
    "Candidate",
    "SourcingInfeasibleError",
    "SourcingOptions",
    "SourcingResult",
    "available_share",
    "evaluate_mix",
    "optimize_sourcing",
    "parse_group_caps",
]

#: CRMA Art. 5(1)(d): no more than 65 % of the Union's annual consumption of a strategic raw
#: material, at any relevant stage, from a single third country (Regulation (EU) 2024/1252;
#: METHODS.md §2.1).
CRMA_MAX_SINGLE_COUNTRY = 0.65

#: EU member states (27 since 1 February 2020): ISO 3166 alpha-3 code -> English short name.
EU27_MEMBERS: dict[str, str] = {
    "AUT": "Austria",
    "BEL": "Belgium",
    "BGR": "Bulgaria",
    "HRV": "Croatia",
    "CYP": "Cyprus",
    "CZE": "Czechia",
    "DNK": "Denmark",
    "EST": "Estonia",
    "FIN": "Finland",
    "FRA": "France",
    "DEU": "Germany",
    "GRC": "Greece",
    "HUN": "Hungary",
    "IRL": "Ireland",
    "ITA": "Italy",
    "LVA": "Latvia",
    "LTU": "Lithuania",
    "LUX": "Luxembourg",
    "MLT": "Malta",
    "NLD": "Netherlands",
    "POL": "Poland",
    "PRT": "Portugal",
    "ROU": "Romania",
    "SVK": "Slovakia",
    "SVN": "Slovenia",
    "ESP": "Spain",
    "SWE": "Sweden",
}

_CHINA = {"chn", "cn", "china", "people's republic of china", "prc"}

#: Columns of the candidate table (``material, stage, country, capacity_t,
#: unit_cost_eur_t`` required; the others optional).
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "material",
    "stage",
    "country",
    "capacity_t",
    "unit_cost_eur_t",
    "lead_time_months",
    "ramp_months",
    "disruption_prob",
    "current_t",
    "third_country",
    "source_id",
)


class Candidate(BaseModel):
    """One candidate supplier of a material at a stage.

    Attributes
    ----------
    material, stage, country
        What, at which stage, from where (country code or name).
    capacity_t
        Most it can deliver to the EU per year (tonnes); none = not limited.
    unit_cost_eur_t
        Delivered cost (EUR per tonne), or a premium over a reference price.
    lead_time_months, ramp_months
        Months before new volumes start, and to reach full capacity.
    disruption_prob
        Probability that its supply is lost (governance-based or the user's).
    current_t
        What it delivers today (tonnes per year), available without lead time.
    third_country
        Whether the CRMA cap applies; default: not an EU member state.
    source_id
        Where the row's numbers come from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    material: str = Field(min_length=1)
    stage: str = "processing"
    country: str = Field(min_length=1)
    capacity_t: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    unit_cost_eur_t: float = Field(ge=0, allow_inf_nan=False)
    lead_time_months: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    ramp_months: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    disruption_prob: float = Field(default=0.0, ge=0, le=1)
    current_t: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    third_country: bool | None = None
    source_id: str | None = None


class SourcingOptions(BaseModel):
    """Settings of the sourcing LP.

    Attributes
    ----------
    material, stage
        Which rows of the candidate table (stage ``None``: the only stage present).
    demand_t
        EU demand to source (tonnes per year).
    max_single_country
        Largest share of demand from one third country (CRMA: 0.65).
    max_group
        Caps on named groups: ``{"adversary": 0.2}``; a name that is not in ``groups``
        is one country.
    groups
        Group definitions: ``{"adversary": ["CHN", "RUS"]}``.
    objective
        ``"least_cost"`` or ``"risk_adjusted"`` (cost + disruption probability x loss).
    loss_eur_t
        Loss per tonne not delivered, for the risk-adjusted objective.
    horizon_months
        Capacity counts as available within this horizon given lead time and ramp
        (``None``: steady state, all capacity).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    material: str = Field(min_length=1)
    stage: str | None = None
    demand_t: float = Field(gt=0, allow_inf_nan=False)
    max_single_country: float | None = Field(default=CRMA_MAX_SINGLE_COUNTRY, gt=0, le=1)
    max_group: dict[str, float] = Field(default_factory=dict)
    groups: dict[str, list[str]] = Field(default_factory=dict)
    objective: Literal["least_cost", "risk_adjusted"] = "least_cost"
    loss_eur_t: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    horizon_months: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @field_validator("max_group")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        for name, share in value.items():
            if not 0 <= share <= 1:
                raise ValueError(f"max_group {name}={share}: a share must be between 0 and 1")
        return value


def parse_group_caps(items: Sequence[str]) -> dict[str, float]:
    """Parse ``["adversary=0.2", "CHN=0.5"]`` (the CLI's ``--max-group NAME=SHARE``).

    Shares may be fractions (0.2) or percentages (20 %); values above 1 are read as
    percentages.

    Examples
    --------
    >>> parse_group_caps(["adversary=0.2", "CHN=50%"])
    {'adversary': 0.2, 'CHN': 0.5}
    """
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = str(item).partition("=")
        text = value.strip().rstrip("%").strip()
        try:
            share = float(text)
        except ValueError:
            share = float("nan")
        if not sep or not name.strip() or not np.isfinite(share):
            raise OptimizeError(
                f"--max-group '{item}' is not NAME=SHARE; write e.g. adversary=0.2 or CHN=50%"
            )
        if value.strip().endswith("%") or share > 1:
            share /= 100.0
        if not 0 <= share <= 1:
            raise OptimizeError(f"--max-group '{item}': the share must be between 0 and 1")
        out[name.strip()] = share
    return out


class SourcingInfeasibleError(InfeasibleError):
    """The demand cannot be sourced under the caps, capacities and lead times.

    Attributes
    ----------
    max_supply_t
        The most that can be sourced.
    binding
        The binding constraints, in words.
    """

    code = "sourcing_infeasible"

    def __init__(self, message: str, *, max_supply_t: float, binding: list[str]) -> None:
        super().__init__(message)
        self.max_supply_t = max_supply_t
        self.binding = binding

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description of the error."""
        return {**super().to_dict(), "max_supply_t": self.max_supply_t, "binding": self.binding}


def available_share(lead_time_months: Any, ramp_months: Any, horizon_months: float) -> np.ndarray:
    """Mean share of new capacity available over ``[0, H]`` after a lead time and a ramp.

    Examples
    --------
    >>> available_share([0, 12, 6], [0, 0, 12], 24).round(4).tolist()
    [1.0, 0.5, 0.5]
    """
    lead = np.asarray(lead_time_months, dtype=np.float64)
    ramp = np.asarray(ramp_months, dtype=np.float64)
    u = horizon_months - lead
    safe = np.where(ramp > 0, ramp, 1.0)
    ramped = np.clip(u, 0.0, ramp) ** 2 / (2.0 * safe) + np.maximum(u - ramp, 0.0)
    area = np.where(ramp > 0, ramped, np.maximum(u, 0.0))
    out: np.ndarray = np.clip(area / horizon_months, 0.0, 1.0)
    return out


def _is_eu(country: str, members: Mapping[str, str]) -> bool:
    c = country.strip().lower()
    return any(c in (code.lower(), name.lower()) for code, name in members.items())


def _is_china(country: str) -> bool:
    return country.strip().lower() in _CHINA


def _candidates_frame(
    candidates: pd.DataFrame | Sequence[Candidate | Mapping[str, Any]],
    file: str | None = None,
) -> list[Candidate]:
    if isinstance(candidates, pd.DataFrame):
        missing = [
            c
            for c in ("material", "country", "capacity_t", "unit_cost_eur_t")
            if c not in candidates.columns
        ]
        unknown = [c for c in candidates.columns if c not in CANDIDATE_COLUMNS]
        probs = [
            Problem(f"missing column '{c}'", file=file, column=c, expected="candidate columns")
            for c in missing
        ] + [
            Problem(
                f"unknown column '{c}'",
                file=file,
                column=str(c),
                suggestions=tuple(difflib.get_close_matches(str(c), CANDIDATE_COLUMNS, n=3)),
                expected=", ".join(CANDIDATE_COLUMNS),
            )
            for c in unknown
        ]
        if probs:
            raise DataValidationError(probs, source=file)
        records = [(i + 2, r) for i, r in enumerate(candidates.to_dict(orient="records"))]
    else:
        records = [
            (i + 1, r.model_dump() if isinstance(r, Candidate) else dict(r))
            for i, r in enumerate(candidates)
        ]
    out: list[Candidate] = []
    problems: list[Problem] = []
    for row, rec in records:
        clean = {
            k: v
            for k, v in rec.items()
            if not (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)))
        }
        try:
            out.append(Candidate(**clean))
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(
                    Problem(
                        err.get("msg", "invalid value"),
                        file=file,
                        row=row,
                        column=".".join(str(x) for x in err.get("loc", ())) or None,
                        value=str(err.get("input")),
                        expected="see critmat.optimize.sourcing.Candidate",
                    )
                )
    if problems:
        raise DataValidationError(problems, source=file)
    return out


@dataclass
class SourcingResult:
    """The optimal mix and how it compares with the current one.

    Attributes
    ----------
    status
        :class:`SolveStatus`.
    allocation
        Per candidate: ``country, allocation_t, share, unit_cost_eur_t, capacity_t,
        available_t, current_t, current_share, change_t, third_country, binding, ...``.
    totals
        ``cost_eur``, ``risk_adjusted_cost_eur``, ``current_cost_eur`` (current mix scaled
        to the demand), ``uncapped_cost_eur`` (same LP without share caps), the cost change,
        ``china_share_before/after``, ``hhi_before/after``, ``max_third_country_share``,
        ``expected_loss_eur``; the indicator hook's values with ``_before``/``_after``.
    shadow_prices
        ``constraint, name, value, unit, meaning`` (demand, country and group caps).
    report
        Solver report.
    options
        The options.
    notes
        Remarks.
    """

    status: SolveStatus
    allocation: pd.DataFrame
    totals: dict[str, float]
    shadow_prices: pd.DataFrame
    report: SolverReport
    options: SourcingOptions
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the result is optimal."""
        return self.status.ok


def _select(cands: list[Candidate], opts: SourcingOptions) -> list[Candidate]:
    mats = sorted({c.material for c in cands})
    rows = [c for c in cands if c.material == opts.material]
    if not rows:
        raise UnknownNameError(
            "material",
            opts.material,
            suggestions=difflib.get_close_matches(opts.material, mats, n=3),
            where="the candidate table",
        )
    stages = sorted({c.stage for c in rows})
    if opts.stage is None:
        if len(stages) > 1:
            raise OptimizeError(
                f"candidates for {opts.material} cover stages {', '.join(stages)}; choose one "
                "with stage="
            )
        return rows
    picked = [c for c in rows if c.stage == opts.stage]
    if not picked:
        raise UnknownNameError(
            "stage", opts.stage, suggestions=stages, where=f"the candidates for {opts.material}"
        )
    return picked


def _mix_metrics(countries: list[str], amounts: np.ndarray, prefix: str) -> dict[str, float]:
    total = float(amounts.sum())
    if total <= 0:
        return {f"china_share_{prefix}": np.nan, f"hhi_{prefix}": np.nan}
    by: dict[str, float] = {}
    for c, a in zip(countries, amounts, strict=True):
        by[c] = by.get(c, 0.0) + float(a)
    shares = np.array(list(by.values())) / total
    china = sum(v for c, v in by.items() if _is_china(c)) / total
    return {f"china_share_{prefix}": float(china), f"hhi_{prefix}": float((shares**2).sum())}


def _shares_frame(countries: list[str], amounts: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"country": countries, "allocation_t": amounts})
    frame = frame.groupby("country", as_index=False, sort=False)["allocation_t"].sum()
    total = frame["allocation_t"].sum()
    frame["share"] = frame["allocation_t"] / total if total > 0 else np.nan
    frame["country"] = frame["country"].astype("string")
    return frame


def _build(
    rows: list[Candidate],
    opts: SourcingOptions,
    avail: np.ndarray,
    third: np.ndarray,
    cost: np.ndarray,
    caps_on: bool,
    elastic: bool,
) -> tuple[Any, dict[str, list[str]]]:
    idx = pd.RangeIndex(len(rows), name="candidate")
    m = linopy.Model(force_dim_names=True)
    finite = np.isfinite(avail)
    x = m.add_variables(
        lower=0.0, upper=xr.DataArray(np.where(finite, avail, np.inf), coords=[idx]),
        coords=[idx], name="allocation",
    )  # fmt: skip
    demand = opts.demand_t
    unmet = None
    if elastic:
        unmet = m.add_variables(lower=0.0, name="unmet")
        m.add_constraints(x.sum() + unmet == demand, name="demand")
    else:
        m.add_constraints(x.sum() == demand, name="demand")
    members: dict[str, list[str]] = {}
    countries = [c.country for c in rows]
    if caps_on and opts.max_single_country is not None:
        third_countries = sorted({c for c, t in zip(countries, third, strict=True) if t})
        if third_countries:
            cidx = pd.Index(third_countries, name="country")
            member = np.array([[c == k for c in countries] for k in third_countries], dtype=float)
            expr = (xr.DataArray(member, coords=[cidx, idx]) * x).sum("candidate")
            m.add_constraints(expr <= opts.max_single_country * demand, name="country_cap")
    if caps_on and opts.max_group:
        names = list(opts.max_group)
        gidx = pd.Index(names, name="group")
        member = np.zeros((len(names), len(rows)))
        for gi, name in enumerate(names):
            group = opts.groups.get(name, [name])
            keys = {g.strip().lower() for g in group}
            if any(k in _CHINA for k in keys):
                keys |= _CHINA
            for ci, c in enumerate(countries):
                if c.strip().lower() in keys:
                    member[gi, ci] = 1.0
            members[name] = sorted({countries[i] for i in np.flatnonzero(member[gi])})
        share = xr.DataArray([opts.max_group[n] * demand for n in names], coords=[gidx])
        expr = (xr.DataArray(member, coords=[gidx, idx]) * x).sum("candidate")
        m.add_constraints(expr <= share, name="group_cap")
    obj = (xr.DataArray(cost, coords=[idx]) * x).sum()
    if unmet is not None:
        penalty = 10.0 * (float(cost.max()) + 1.0) + 1.0
        obj = obj + penalty * unmet
    m.add_objective(obj)
    return m, members


@without_dask_probe()
def optimize_sourcing(
    candidates: pd.DataFrame | Sequence[Candidate | Mapping[str, Any]],
    options: SourcingOptions | None = None,
    *,
    eu_members: Mapping[str, str] | None = None,
    indicators_hook: Callable[[pd.DataFrame], Mapping[str, float]] | None = None,
    time_limit: float | None = None,
    file: str | None = None,
    **overrides: Any,
) -> SourcingResult:
    """Least-cost or risk-adjusted supplier mix under the CRMA single-country cap.

    Parameters
    ----------
    candidates
        Candidate table (``material, stage, country, capacity_t, unit_cost_eur_t`` and the
        optional columns of :data:`CANDIDATE_COLUMNS`) or records.
    options
        :class:`SourcingOptions` (keyword ``overrides`` replace single fields).
    eu_members
        Member states exempt from the cap (default :data:`EU27_MEMBERS`); the knowledge
        base's ``countries.eu27`` can be passed here.
    indicators_hook
        Called with the before and after mixes (``country, allocation_t, share``); its
        values (e.g. import risk, EU supply risk) are added to ``totals`` with suffixes
        ``_before``/``_after``.
    time_limit
        Seconds for HiGHS.
    file
        Name of the candidate file, for messages.

    Raises
    ------
    SourcingInfeasibleError
        The demand cannot be met; the message names the binding constraints.
    """
    if options is None:
        options = validated(SourcingOptions, overrides, "sourcing options")
    elif overrides:
        options = validated(
            SourcingOptions, {**options.model_dump(), **overrides}, "sourcing options"
        )
    opts = options
    if opts.objective == "risk_adjusted" and opts.loss_eur_t is None:
        raise OptimizeError(
            "objective 'risk_adjusted' needs loss_eur_t (the loss per tonne not delivered)"
        )
    undefined = [g for g in opts.groups if g not in opts.max_group]
    notes: list[str] = []
    if undefined:
        notes.append("groups without a cap (ignored): " + ", ".join(undefined))
    rows = _select(_candidates_frame(candidates, file), opts)
    members = EU27_MEMBERS if eu_members is None else eu_members
    countries = [c.country for c in rows]
    third = np.array(
        [
            (c.third_country if c.third_country is not None else not _is_eu(c.country, members))
            for c in rows
        ]
    )
    cap = np.array([np.inf if c.capacity_t is None else c.capacity_t for c in rows])
    current = np.array([c.current_t for c in rows])
    over = np.flatnonzero(current > cap + 1e-9)
    if len(over):
        i = int(over[0])
        raise OptimizeError(
            f"candidate {countries[i]}: current_t {current[i]:g} is above capacity_t {cap[i]:g}"
        )
    if opts.horizon_months is not None:
        f = available_share(
            [c.lead_time_months for c in rows], [c.ramp_months for c in rows], opts.horizon_months
        )
        extra = np.where(np.isfinite(cap), (cap - current) * f, np.where(f > 0, np.inf, 0.0))
        avail = current + extra
    else:
        avail = cap
    unit = np.array([c.unit_cost_eur_t for c in rows])
    q = np.array([c.disruption_prob for c in rows])
    loss = float(opts.loss_eur_t or 0.0)
    eff = unit + q * loss if opts.objective == "risk_adjusted" else unit

    # elastic: a penalised unmet-demand variable keeps the LP feasible (STYLE S9); unmet > 0
    # means the demand cannot be sourced, and the duals say what binds
    model, members_of = _build(rows, opts, avail, third, eff, caps_on=True, elastic=True)
    report = run_highs(model, time_limit=time_limit)
    raise_for_status(report.status, "sourcing LP")
    unmet = float(np.ravel(model.variables["unmet"].solution.values)[0])
    if unmet > 1e-7 * opts.demand_t:
        _diagnose(model, rows, opts, avail, cap, third, members_of)
    x = np.maximum(np.asarray(model.variables["allocation"].solution.values, dtype=float), 0.0)

    # reference: the same LP without share caps
    free, _ = _build(rows, opts, avail, third, eff, caps_on=False, elastic=True)
    free_report = run_highs(free, time_limit=time_limit)
    x_free = (
        np.asarray(free.variables["allocation"].solution.values, dtype=float)
        if free_report.status.ok
        else np.full(len(rows), np.nan)
    )

    demand = opts.demand_t
    share = x / demand
    cur_total = float(current.sum())
    cur_share = current / cur_total if cur_total > 0 else np.full(len(rows), np.nan)
    binding = []
    for i, c in enumerate(rows):
        tags = []
        if np.isfinite(avail[i]) and x[i] >= avail[i] - 1e-6 * max(1.0, avail[i]):
            tags.append("capacity" if avail[i] >= cap[i] - 1e-9 else "capacity within the horizon")
        if third[i] and opts.max_single_country is not None:
            tot = x[[k for k, cc in enumerate(countries) if cc == c.country]].sum()
            if tot >= opts.max_single_country * demand * (1 - 1e-9) and x[i] > 0:
                tags.append(f"single-country cap {opts.max_single_country:.0%}")
        for g, mem in members_of.items():
            if c.country in mem:
                tot = x[[k for k, cc in enumerate(countries) if cc in mem]].sum()
                if tot >= opts.max_group[g] * demand * (1 - 1e-9) and x[i] > 0:
                    tags.append(f"group cap {g} {opts.max_group[g]:.0%}")
        binding.append("; ".join(tags))
    alloc = pd.DataFrame(
        {
            "material": pd.array([c.material for c in rows], dtype="string"),
            "stage": pd.array([c.stage for c in rows], dtype="string"),
            "country": pd.array(countries, dtype="string"),
            "allocation_t": x,
            "share": share,
            "unit_cost_eur_t": unit,
            "effective_cost_eur_t": eff,
            "cost_eur": unit * x,
            "capacity_t": cap,
            "available_t": avail,
            "current_t": current,
            "current_share": cur_share,
            "change_t": x - (cur_share * demand if cur_total > 0 else 0.0),
            "disruption_prob": q,
            "third_country": third.astype(bool),
            "binding": pd.array(binding, dtype="string"),
            "source_id": pd.array([c.source_id or "user input" for c in rows], dtype="string"),
        }
    )
    totals: dict[str, float] = {
        "demand_t": demand,
        "cost_eur": float(unit @ x),
        "risk_adjusted_cost_eur": float((unit + q * loss) @ x) if loss else float(unit @ x),
        "expected_loss_eur": float((q * loss) @ x),
        "uncapped_cost_eur": float(unit @ x_free) if free_report.status.ok else np.nan,
    }
    totals["cost_vs_uncapped_pct"] = (
        100.0 * (totals["cost_eur"] / totals["uncapped_cost_eur"] - 1.0)
        if totals["uncapped_cost_eur"] and np.isfinite(totals["uncapped_cost_eur"])
        else np.nan
    )
    if cur_total > 0:
        totals["current_cost_eur"] = float(unit @ (cur_share * demand))
        totals["cost_vs_current_eur"] = totals["cost_eur"] - totals["current_cost_eur"]
        totals["cost_vs_current_pct"] = 100.0 * (
            totals["cost_eur"] / totals["current_cost_eur"] - 1.0
        )
    else:
        notes.append("no current mix given (current_t): before-values are not computed")
    totals.update(_mix_metrics(countries, current, "before"))
    totals.update(_mix_metrics(countries, x, "after"))
    third_tot = _shares_frame([c for c, t in zip(countries, third, strict=True) if t], x[third])
    totals["max_third_country_share"] = (
        float(third_tot["allocation_t"].max() / demand) if len(third_tot) else 0.0
    )
    if indicators_hook is not None:
        for prefix, amounts in (("before", current), ("after", x)):
            if amounts.sum() > 0:
                for k, v in indicators_hook(_shares_frame(countries, amounts)).items():
                    totals[f"{k}_{prefix}"] = float(v)
    sp_rows = []
    duals = {
        name: model.constraints[name].dual
        for name in ("demand", "country_cap", "group_cap")
        if name in model.constraints
    }
    if "demand" in duals:
        sp_rows.append(
            (
                "demand",
                opts.material,
                float(np.ravel(duals["demand"].values)[0]),
                "EUR per t",
                "cost of one more tonne of demand",
            )
        )
    for name, label in (("country_cap", "country"), ("group_cap", "group")):
        if name in duals:
            d = duals[name]
            for key, v in zip(d.coords[label].values, np.ravel(d.values), strict=True):
                sp_rows.append(
                    (
                        name,
                        str(key),
                        max(-float(v), 0.0) * demand / 100.0,
                        "EUR per percentage point",
                        f"cost saved by raising the {label} cap by one percentage point",
                    )
                )
    sp = pd.DataFrame(sp_rows, columns=["constraint", "name", "value", "unit", "meaning"])
    for col in ("constraint", "name", "unit", "meaning"):
        sp[col] = sp[col].astype("string")
    sp["value"] = sp["value"].astype(np.float64)
    prov = Provenance(
        method=f"sourcing_lp:{opts.objective}",
        method_version=__version__,
        dataset_version="",
        sources=sorted({c.source_id or "user input" for c in rows}),
        parameters={**opts.model_dump(), "crma_cap_basis": "Regulation (EU) 2024/1252 Art. 5"},
        units={
            "allocation_t": "t/yr",
            "share": "share of EU demand",
            "unit_cost_eur_t": "EUR/t",
            "cost_eur": "EUR/yr",
            "hhi_after": "0-1",
        },
        notes=notes,
    )
    attach(alloc, prov)
    attach(sp, prov)
    return SourcingResult(report.status, alloc, totals, sp, report, opts, notes)


def _diagnose(
    model: Any,
    rows: list[Candidate],
    opts: SourcingOptions,
    avail: np.ndarray,
    cap: np.ndarray,
    third: np.ndarray,
    members: dict[str, list[str]],
) -> None:
    """Explain a demand that cannot be met: the most that can be sourced and what binds."""
    x = np.asarray(model.variables["allocation"].solution.values, dtype=float)
    unmet = float(np.ravel(model.variables["unmet"].solution.values)[0])
    demand = opts.demand_t
    countries = [c.country for c in rows]
    binding: list[str] = []
    if "country_cap" in model.constraints:
        d = model.constraints["country_cap"].dual
        for key, v in zip(d.coords["country"].values, np.ravel(d.values), strict=True):
            if abs(float(v)) > 1e-9:
                got = x[[i for i, c in enumerate(countries) if c == key]].sum()
                binding.append(
                    f"max single third-country share {opts.max_single_country:.0%} "
                    f"({key} at {got:,.0f} t)"
                )
    if "group_cap" in model.constraints:
        d = model.constraints["group_cap"].dual
        for key, v in zip(d.coords["group"].values, np.ravel(d.values), strict=True):
            if abs(float(v)) > 1e-9:
                binding.append(
                    f"group cap {key} {opts.max_group[str(key)]:.0%} "
                    f"({', '.join(members.get(str(key), []))})"
                )
    for i, c in enumerate(rows):
        if np.isfinite(avail[i]) and x[i] >= avail[i] - 1e-6 * max(1.0, avail[i]):
            limited = avail[i] < cap[i] - 1e-9
            if third[i] and opts.max_single_country is not None:
                at_cap = x[[k for k, cc in enumerate(countries) if cc == c.country]].sum()
                if at_cap >= opts.max_single_country * demand * (1 - 1e-9):
                    continue  # reported as the share cap
            binding.append(
                f"{'capacity within the horizon (lead time / ramp)' if limited else 'capacity'}"
                f" of {c.country} ({avail[i]:,.0f} t)"
            )
    supply = demand - unmet
    raise SourcingInfeasibleError(
        f"sourcing {demand:,.0f} t of {opts.material} is infeasible: at most {supply:,.0f} t "
        f"can be sourced under the constraints; binding: "
        + ("; ".join(binding) if binding else "total capacity")
        + ". Relax a cap, add candidates or capacity, or lengthen the horizon",
        max_supply_t=supply,
        binding=binding,
    )


def evaluate_mix(
    allocation: pd.DataFrame,
    *,
    unit_cost_eur_t: Mapping[str, float] | None = None,
    disruption_prob: Mapping[str, float] | None = None,
    loss_eur_t: float = 0.0,
    eu_members: Mapping[str, str] | None = None,
    indicators_hook: Callable[[pd.DataFrame], Mapping[str, float]] | None = None,
) -> dict[str, float]:
    """Metrics of a given mix (``country, allocation_t``): shares, China share, HHI, cost.

    The "what if" face: score a mix a user proposes without optimising.
    """
    if not {"country", "allocation_t"} <= set(allocation.columns):
        raise OptimizeError("a mix needs the columns country and allocation_t")
    countries = allocation["country"].astype(str).tolist()
    amounts = allocation["allocation_t"].to_numpy(dtype=np.float64)
    if (amounts < 0).any() or not np.isfinite(amounts).all():
        raise OptimizeError("allocation_t must be finite and >= 0")
    total = float(amounts.sum())
    members = EU27_MEMBERS if eu_members is None else eu_members
    out: dict[str, float] = {"total_t": total}
    metrics = _mix_metrics(countries, amounts, "after")
    out.update({k.replace("_after", ""): v for k, v in metrics.items()})
    third = np.array([not _is_eu(c, members) for c in countries])
    frame = _shares_frame([c for c, t in zip(countries, third, strict=True) if t], amounts[third])
    out["max_third_country_share"] = (
        float(frame["allocation_t"].max() / total) if len(frame) and total > 0 else 0.0
    )
    out["crma_cap_met"] = float(out["max_third_country_share"] <= CRMA_MAX_SINGLE_COUNTRY + 1e-12)
    pairs = list(zip(countries, amounts, strict=True))
    if unit_cost_eur_t is not None:
        missing = [c for c, _a in pairs if c not in unit_cost_eur_t]
        if missing:
            raise OptimizeError("no unit cost for " + ", ".join(sorted(set(missing))))
        out["cost_eur"] = float(sum(unit_cost_eur_t[c] * a for c, a in pairs))
    if disruption_prob is not None:
        out["expected_loss_eur"] = float(
            sum(disruption_prob.get(c, 0.0) * loss_eur_t * a for c, a in pairs)
        )
    if indicators_hook is not None:
        values = indicators_hook(_shares_frame(countries, amounts))
        out.update({k: float(v) for k, v in values.items()})
    return out
