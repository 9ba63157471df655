"""Levers on one scale: each is a change to the scenario set's gaps plus a cost.

Every lever - a stock, partner supply, a reshoring project, a recycling or substitution
ramp, demand restraint - turns the monthly gaps ``g[s, t]`` of its material (tonnes,
before stock release) into smaller gaps ``g'[s, t]``, at a cost in euros over the horizon.
Evaluated on the same scenario set, levers compare on expected and CVaR shortfall removed
and on **shortfall removed per million euros** - the answer to "what do we do first".

Effects (month t covers [t, t+1); ``W(t; a, r)`` is the mean over the month of a ramp that
starts at ``a`` and reaches 1 after ``r`` months)::

    supply (partner, reshoring, recycling, substitution):
        c[s, t] = K / 12 * availability * W(t; trigger_s + lead, ramp)
        g'      = max(0, g - c)
    restraint:  r[s, t] = share * D_month * W(t; trigger_s + lead, ramp) where g > 0
        g'      = max(0, g - r)
    stock:      g' = g - greedy release (release cap and shelf life of the material)

``trigger_s`` is month 0 (``"start"``: a project decided now) or the scenario's first month
with a gap (``"disruption"``: an emergency measure). Costs over the horizon (expected over
scenarios where they depend on them)::

    supply:     capex + opex_premium * (output over the horizon   if premium_on = "output"
                                        tonnes actually used      if premium_on = "used")
    restraint:  cost_eur_t (default: the price) * tonnes restrained
    stock:      purchase + holding (``economic_cost_eur``: holding + expected write-off)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from critmat._version import __version__
from critmat.optimize._solver import OptimizeError, validated
from critmat.optimize.evaluate import cvar_weighted, greedy_release
from critmat.optimize.parameters import ResolvedParameters, resolve_parameters
from critmat.optimize.scenario_set import ScenarioSet
from critmat.provenance import Provenance, attach

__all__ = [
    "CRMA_BENCHMARKS",
    "CRMA_PERMIT_MONTHS",
    "Lever",
    "LeverEffect",
    "ReshoringProject",
    "RestraintLever",
    "StockLever",
    "SupplyLever",
    "apply_levers",
    "evaluate_levers",
    "evaluate_reshoring",
    "lever_effect",
    "parse_levers",
    "ramp_window",
]

#: CRMA permit-granting caps for strategic projects (Regulation (EU) 2024/1252 Art. 11;
#: reference/crma-projects-and-partnerships, Kallanish 2025-03-25): 27 months for
#: extraction, 15 months otherwise; 5-10 years is the status quo.
CRMA_PERMIT_MONTHS: dict[str, float] = {"extraction": 27.0, "processing": 15.0, "recycling": 15.0}

#: CRMA Art. 5 benchmarks for 2030, share of EU annual consumption (METHODS.md §2.1).
CRMA_BENCHMARKS: dict[str, float] = {"extraction": 0.10, "processing": 0.40, "recycling": 0.25}


class StockLever(BaseModel):
    """A stock of ``stock_t`` tonnes bought before the horizon."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["stock"] = "stock"
    name: str = Field(min_length=1)
    material: str = Field(min_length=1)
    stock_t: float = Field(ge=0, allow_inf_nan=False)
    source_id: str | None = None


class SupplyLever(BaseModel):
    """Extra supply (partner, reshoring, recycling) or demand replaced (substitution).

    Attributes
    ----------
    capacity_t_yr
        Tonnes per year at full ramp.
    lead_time_months, ramp_months
        Months from the trigger to first output, and to full output.
    availability
        Share of the capacity that still arrives in a disruption (e.g. 1 minus the
        partner's own disruption probability).
    capex_eur
        Up-front cost.
    opex_premium_eur_t
        Cost per tonne above the imports it replaces.
    trigger
        ``"start"`` (decided now) or ``"disruption"`` (first month with a gap); default
        start, substitution: disruption.
    premium_on
        ``"output"`` (the premium is paid on everything produced) or ``"used"`` (only on
        tonnes that close a gap); default output, substitution: used.
    environmental_flag
        The project faces an environmental constraint (reported; excluded by
        ``exclude_environmental``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["partner", "reshoring", "recycling", "substitution"]
    name: str = Field(min_length=1)
    material: str = Field(min_length=1)
    capacity_t_yr: float = Field(gt=0, allow_inf_nan=False)
    lead_time_months: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    ramp_months: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    availability: float = Field(default=1.0, ge=0, le=1)
    capex_eur: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    opex_premium_eur_t: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    trigger: Literal["start", "disruption"] | None = None
    premium_on: Literal["output", "used"] | None = None
    environmental_flag: bool = False
    source_id: str | None = None

    @property
    def trigger_(self) -> str:
        """The trigger with its default."""
        return self.trigger or ("disruption" if self.kind == "substitution" else "start")

    @property
    def premium_on_(self) -> str:
        """Where the premium applies, with its default."""
        return self.premium_on or ("used" if self.kind == "substitution" else "output")


class RestraintLever(BaseModel):
    """Demand restraint: ``share`` of the monthly demand given up while there is a gap."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["restraint"] = "restraint"
    name: str = Field(min_length=1)
    material: str = Field(min_length=1)
    share: float = Field(gt=0, le=1)
    lead_time_months: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    ramp_months: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    cost_eur_t: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    source_id: str | None = None


Lever = Annotated[StockLever | SupplyLever | RestraintLever, Field(discriminator="kind")]

_LEVERS: TypeAdapter[list[Lever]] = TypeAdapter(list[Lever])


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and np.isnan(value)


def parse_levers(data: Any) -> list[StockLever | SupplyLever | RestraintLever]:
    """Validate a list of lever records (dicts with ``kind``) or lever models.

    Raises
    ------
    critmat.optimize.OptimizeError
        Naming each lever (by position) and field that is invalid.
    """
    from pydantic import ValidationError

    if isinstance(data, pd.DataFrame):
        recs: list[Any] = [
            {k: v for k, v in r.items() if not (v is None or v is pd.NA or _is_nan(v))}
            for r in data.to_dict(orient="records")
        ]
    else:
        recs = list(data)
    try:
        return list(_LEVERS.validate_python(recs))
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err.get("loc", ()))
            parts.append(f"levers[{loc}]: {err.get('msg', 'invalid')}")
        raise OptimizeError(
            "invalid levers: " + "; ".join(parts) + " (kinds: stock, partner, reshoring, "
            "recycling, substitution, restraint)"
        ) from None


class ReshoringProject(BaseModel):
    """A domestic (EU) extraction, processing or recycling project.

    Attributes
    ----------
    name, material, stage, country
        What and where.
    capacity_t_yr
        Output at full ramp (tonnes per year, of the material as in the scenario set).
    capex_eur, opex_premium_eur_t
        Investment, and cost per tonne above imports.
    construction_months
        Building time after the permit.
    permitting_months
        Default: the CRMA strategic-project caps (27 months extraction, 15 otherwise).
    ramp_months
        Months to full output.
    environmental_flag
        The project faces an environmental constraint.
    status, source_id
        Project status and source (e.g. the CRMA 2025 list).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    material: str = Field(min_length=1)
    stage: Literal["extraction", "processing", "recycling"] = "processing"
    country: str | None = None
    capacity_t_yr: float = Field(gt=0, allow_inf_nan=False)
    capex_eur: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    opex_premium_eur_t: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    construction_months: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    permitting_months: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    ramp_months: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    environmental_flag: bool = False
    status: str | None = None
    source_id: str | None = None

    def permit_months(self) -> tuple[float, str]:
        """Permitting months and their basis."""
        if self.permitting_months is not None:
            return self.permitting_months, "given"
        return (
            CRMA_PERMIT_MONTHS[self.stage],
            f"CRMA strategic-project permit cap for {self.stage} "
            f"({CRMA_PERMIT_MONTHS[self.stage]:g} months, Regulation (EU) 2024/1252)",
        )

    def to_lever(self) -> SupplyLever:
        """The project as a supply lever (lead time = permitting + construction)."""
        permit, _ = self.permit_months()
        return SupplyLever(
            kind="reshoring",
            name=self.name,
            material=self.material,
            capacity_t_yr=self.capacity_t_yr,
            lead_time_months=permit + self.construction_months,
            ramp_months=self.ramp_months,
            capex_eur=self.capex_eur,
            opex_premium_eur_t=self.opex_premium_eur_t,
            trigger="start",
            premium_on="output",
            environmental_flag=self.environmental_flag,
            source_id=self.source_id,
        )


def ramp_window(horizon: int, start: Any, ramp: float) -> np.ndarray:
    """``[..., T]`` mean over each month of a ramp from 0 at ``start`` to 1 at ``start + ramp``.

    ``start`` broadcasts (e.g. one per scenario; ``inf`` = never).

    Examples
    --------
    >>> ramp_window(4, 1.0, 2.0).round(3).tolist()
    [0.0, 0.25, 0.75, 1.0]
    """
    a = np.asarray(start, dtype=np.float64)[..., None]
    edges = np.arange(horizon + 1, dtype=np.float64)
    u = edges - a
    with np.errstate(invalid="ignore"):
        if ramp > 1e-9:
            g = np.clip(u, 0.0, ramp) ** 2 / (2.0 * ramp) + np.maximum(u - ramp, 0.0)
        else:
            g = np.maximum(u, 0.0)
    g = np.where(np.isfinite(g), g, 0.0)
    out: np.ndarray = np.clip(np.diff(g, axis=-1), 0.0, 1.0)
    return out


def _first_gap(gap: np.ndarray) -> np.ndarray:
    """``[S]`` first month with a gap (inf = none)."""
    has = gap > 1e-12
    first = np.argmax(has, axis=1).astype(np.float64)
    out: np.ndarray = np.where(has.any(axis=1), first, np.inf)
    return out


@dataclass
class LeverEffect:
    """What a lever does to its material's gaps.

    Attributes
    ----------
    gap_after
        ``[S, T]`` gaps with the lever.
    cost_eur
        ``[S]`` outlay over the horizon per scenario.
    economic_cost_eur
        ``[S]`` cost net of what keeps its value (stock: holding + write-off).
    notes
        Basis of defaults.
    """

    gap_after: np.ndarray
    cost_eur: np.ndarray
    economic_cost_eur: np.ndarray
    notes: list[str]


def lever_effect(
    lever: StockLever | SupplyLever | RestraintLever,
    gap: np.ndarray,
    params: ResolvedParameters,
    *,
    monthly_demand_t: float = float("nan"),
) -> LeverEffect:
    """Apply one lever to its material's ``[S, T]`` gaps (``params`` of that material)."""
    s, horizon = gap.shape
    notes: list[str] = []
    if isinstance(lever, StockLever):
        usable = params.usable_months(horizon)
        rel = greedy_release(
            gap[:, None, :], np.array([lever.stock_t]), params.release_cap, usable
        )[:, 0, :]
        after = gap - rel
        purchase = lever.stock_t * float(params.price[0])
        hold = lever.stock_t * float(params.holding_over(horizon)[0])
        writeoff = (
            (lever.stock_t - rel.sum(axis=1)) * float(params.price[0])
            if params.expires(horizon)[0]
            else np.zeros(s)
        )
        return LeverEffect(after, np.full(s, purchase + hold), hold + writeoff, notes)
    if isinstance(lever, SupplyLever):
        trig = np.zeros(s) if lever.trigger_ == "start" else _first_gap(gap)
        w = ramp_window(horizon, trig + lever.lead_time_months, lever.ramp_months)  # [S, T]
        monthly = lever.capacity_t_yr / 12.0
        supply = monthly * lever.availability * w
        after = np.maximum(gap - supply, 0.0)
        used = (gap - after).sum(axis=1)
        tonnes = (monthly * w).sum(axis=1) if lever.premium_on_ == "output" else used
        cost = lever.capex_eur + lever.opex_premium_eur_t * tonnes
        return LeverEffect(after, cost, cost, notes)
    # restraint
    if not np.isfinite(monthly_demand_t) or monthly_demand_t <= 0:
        raise OptimizeError(
            f"lever '{lever.name}': demand restraint needs the monthly demand of "
            f"{lever.material} in tonnes (annual_demand_t in the parameters)"
        )
    trig = _first_gap(gap)
    w = ramp_window(horizon, trig + lever.lead_time_months, lever.ramp_months)
    cut = lever.share * monthly_demand_t * w * (gap > 0)
    after = np.maximum(gap - cut, 0.0)
    unit = lever.cost_eur_t
    if unit is None:
        unit = float(params.price[0])
        notes.append(
            f"{lever.name}: restraint cost = the price per tonne given up (assumption: the "
            "market value of the civil use foregone)"
        )
    cost = unit * (gap - after).sum(axis=1)
    return LeverEffect(after, cost, cost, notes)


def apply_levers(
    scenarios: ScenarioSet,
    levers: Sequence[StockLever | SupplyLever | RestraintLever],
    parameters: Any,
) -> ScenarioSet:
    """The scenario set with ``levers`` applied one after the other.

    For example partner supply first, then the stock optimised on what is left.
    """
    params = resolve_parameters(parameters, scenarios.materials).with_demand(
        scenarios.monthly_demand_t, scenarios.source
    )
    gap = scenarios.gap_t.copy()
    names = []
    for lev in parse_levers(levers):
        j = scenarios.index(lev.material)
        eff = lever_effect(
            lev,
            gap[:, j, :],
            params.select([lev.material]),
            monthly_demand_t=float(params.monthly_demand()[j]),
        )
        gap[:, j, :] = eff.gap_after
        names.append(lev.name)
    return scenarios.with_gaps(gap, note="levers applied: " + ", ".join(names))


_UNITS = {
    "cost_eur": "EUR over the horizon (expected)",
    "economic_cost_eur": "EUR over the horizon (expected; stock: holding + write-off)",
    "expected_shortfall_t_before": "t over the horizon",
    "expected_shortfall_t_after": "t over the horizon",
    "removed_t": "t over the horizon (expected)",
    "cvar_removed_t": "t over the horizon (CVaR at alpha)",
    "shortfall_removed_t_per_meur": "t of expected shortfall removed per million EUR",
    "cvar_removed_t_per_meur": "t of CVaR shortfall removed per million EUR",
    "cost_per_t_removed_eur": "EUR per t of expected shortfall removed",
}


def evaluate_levers(
    scenarios: ScenarioSet,
    parameters: Any,
    levers: Sequence[Any],
    *,
    alpha: float = 0.95,
    exclude_environmental: bool = False,
) -> pd.DataFrame:
    """Each lever alone against the scenario set: shortfall removed, cost, ranked.

    Parameters
    ----------
    scenarios, parameters
        Scenario set and material parameters (prices, shortage costs, release caps).
    levers
        Lever models or records (``kind`` = stock, partner, reshoring, recycling,
        substitution, restraint).
    alpha
        CVaR level.
    exclude_environmental
        Leave out levers with ``environmental_flag`` (listed with status ``excluded``).

    Returns
    -------
    pandas.DataFrame
        One row per lever: ``name, kind, material, cost_eur, economic_cost_eur,
        expected_shortfall_t_before/after, removed_t, cvar_shortfall_t_before/after,
        cvar_removed_t, shortfall_removed_t_per_meur, cvar_removed_t_per_meur,
        cost_per_t_removed_eur, shortage_cost_removed_eur, net_benefit_eur, rank,
        rank_in_material, environmental_flag, status``, best first.
    """
    params = resolve_parameters(parameters, scenarios.materials).with_demand(
        scenarios.monthly_demand_t, scenarios.source
    )
    items = parse_levers(levers)
    seen: set[str] = set()
    for lev in items:
        if lev.name in seen:
            raise OptimizeError(f"two levers are called '{lev.name}'; give each a unique name")
        seen.add(lev.name)
    prob = scenarios.probability
    rows = []
    notes: list[str] = []
    for lev in items:
        j = scenarios.index(lev.material)
        gap = scenarios.gap_t[:, j, :]
        env = bool(getattr(lev, "environmental_flag", False))
        base = {
            "name": lev.name,
            "kind": lev.kind,
            "material": lev.material,
            "environmental_flag": env,
            "source_id": lev.source_id or "user input",
        }
        if env and exclude_environmental:
            rows.append({**base, "status": "excluded: environmental constraint"})
            continue
        eff = lever_effect(
            lev,
            gap,
            params.select([lev.material]),
            monthly_demand_t=float(params.monthly_demand()[j]),
        )
        notes.extend(eff.notes)
        before = gap.sum(axis=1)
        after = eff.gap_after.sum(axis=1)
        cost = float(prob @ eff.cost_eur)
        econ = float(prob @ eff.economic_cost_eur)
        removed = float(prob @ (before - after))
        cv_b = float(cvar_weighted(before, prob, alpha))
        cv_a = float(cvar_weighted(after, prob, alpha))
        meur = cost / 1e6
        value = removed * float(params.shortage[j])
        rows.append(
            {
                **base,
                "cost_eur": cost,
                "economic_cost_eur": econ,
                "expected_shortfall_t_before": float(prob @ before),
                "expected_shortfall_t_after": float(prob @ after),
                "removed_t": removed,
                "cvar_shortfall_t_before": cv_b,
                "cvar_shortfall_t_after": cv_a,
                "cvar_removed_t": cv_b - cv_a,
                "shortfall_removed_t_per_meur": removed / meur if meur > 0 else np.nan,
                "cvar_removed_t_per_meur": (cv_b - cv_a) / meur if meur > 0 else np.nan,
                "cost_per_t_removed_eur": cost / removed if removed > 1e-12 else np.nan,
                "shortage_cost_removed_eur": value,
                "net_benefit_eur": value - econ,
                "status": "ok" if meur > 0 else "no cost given: ratio per million EUR undefined",
            }
        )
    cols = [
        "name",
        "kind",
        "material",
        "cost_eur",
        "economic_cost_eur",
        "expected_shortfall_t_before",
        "expected_shortfall_t_after",
        "removed_t",
        "cvar_shortfall_t_before",
        "cvar_shortfall_t_after",
        "cvar_removed_t",
        "shortfall_removed_t_per_meur",
        "cvar_removed_t_per_meur",
        "cost_per_t_removed_eur",
        "shortage_cost_removed_eur",
        "net_benefit_eur",
        "environmental_flag",
        "source_id",
        "status",
    ]
    frame = pd.DataFrame(rows).reindex(columns=cols)
    for col in ("name", "kind", "material", "source_id", "status"):
        frame[col] = frame[col].astype("string")
    frame["environmental_flag"] = frame["environmental_flag"].astype(bool)
    for col in cols:
        if col not in ("name", "kind", "material", "source_id", "status", "environmental_flag"):
            frame[col] = frame[col].astype(np.float64)
    key = frame["shortfall_removed_t_per_meur"].fillna(-np.inf)
    frame = frame.assign(_k=key).sort_values(["_k", "removed_t"], ascending=False)
    frame = frame.drop(columns="_k").reset_index(drop=True)
    ranked = frame["shortfall_removed_t_per_meur"].notna()
    frame["rank"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    frame.loc[ranked, "rank"] = np.arange(1, int(ranked.sum()) + 1)
    frame["rank_in_material"] = (
        frame["shortfall_removed_t_per_meur"]
        .where(ranked)
        .groupby(frame["material"])
        .rank(ascending=False, method="first")
        .astype("Int64")
    )
    prov = Provenance(
        method="levers_one_scale",
        method_version=__version__,
        dataset_version="",
        sources=sorted(set(frame["source_id"].dropna().astype(str))),
        parameters={
            "alpha": alpha,
            "exclude_environmental": exclude_environmental,
            "scenario_source": scenarios.source,
            "scenarios": scenarios.n_scenarios,
            "horizon_months": scenarios.horizon,
        },
        units=dict(_UNITS),
        notes=sorted(set(notes)),
    )
    return attach(frame, prov)


def evaluate_reshoring(
    scenarios: ScenarioSet,
    parameters: Any,
    projects: Sequence[ReshoringProject | dict[str, Any]],
    *,
    alpha: float = 0.95,
    exclude_environmental: bool = False,
) -> pd.DataFrame:
    """Reshoring projects on the scenario set (item 6 of issue 13).

    Adds to :func:`evaluate_levers`'s columns: ``stage, country, lead_time_months,
    permitting_months, permitting_basis, capacity_t_yr, benchmark, benchmark_share,
    benchmark_contribution`` - the project's output as a share of EU annual demand, next
    to the CRMA 2030 benchmark of its stage (10 % extraction, 40 % processing, 25 %
    recycling). The EU's current ratio comes from the knowledge base (wiring).
    """
    projs = [
        p if isinstance(p, ReshoringProject) else validated(ReshoringProject, p, "project")
        for p in projects
    ]
    frame = evaluate_levers(
        scenarios,
        parameters,
        [p.to_lever() for p in projs],
        alpha=alpha,
        exclude_environmental=exclude_environmental,
    )
    params = resolve_parameters(parameters, scenarios.materials).with_demand(
        scenarios.monthly_demand_t, scenarios.source
    )
    info = []
    for p in projs:
        permit, basis = p.permit_months()
        demand = float(params.annual_demand[params.materials.index(p.material)])
        info.append(
            {
                "name": p.name,
                "stage": p.stage,
                "country": p.country or "",
                "project_status": p.status or "",
                "capacity_t_yr": p.capacity_t_yr,
                "lead_time_months": permit + p.construction_months,
                "permitting_months": permit,
                "permitting_basis": basis,
                "benchmark": f"CRMA {p.stage} benchmark",
                "benchmark_share": CRMA_BENCHMARKS[p.stage],
                "benchmark_contribution": p.capacity_t_yr / demand
                if np.isfinite(demand)
                else np.nan,
            }
        )
    extra = pd.DataFrame(info)
    for col in ("name", "stage", "country", "project_status", "permitting_basis", "benchmark"):
        extra[col] = extra[col].astype("string")
    out = frame.merge(extra, on="name", how="left")
    attach(out, _prov_copy(frame))
    return out


def _prov_copy(frame: pd.DataFrame) -> Provenance:
    d = dict(frame.attrs.get("critmat", {}))
    d.pop("created", None)
    return Provenance(
        method="reshoring_projects",
        method_version=str(d.get("method_version", __version__)),
        dataset_version=str(d.get("dataset_version", "")),
        sources=list(d.get("sources", [])),
        parameters=dict(d.get("parameters", {})),
        units={**dict(d.get("units", {})), "benchmark_contribution": "share of EU demand"},
        notes=list(d.get("notes", [])),
    )
