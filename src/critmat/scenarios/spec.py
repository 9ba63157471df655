"""Scenario specifications: pydantic models shared by Python, the CLI (YAML/JSON) and the API.

A :class:`Scenario` holds shocks (who cuts which material, when, for how long, how hard),
mitigations (stocks, substitution, recycling, partners, demand restraint, defence-first
priority), the defence demand layer and per-material settings. An :class:`EnsembleSpec`
wraps a scenario with the Monte Carlo settings (samples, seed, CVaR level, percentiles).

Uncertain parameters of a shock (``onset``, ``duration``, ``severity``, ``leakage``,
``ramp``) take either a number or a distribution::

    duration: {dist: lognormal, median: 18, sigma: 0.5, high: 60}
    severity: {dist: uniform, low: 0.5, high: 1.0}

Validation in two steps, both before anything is computed:

1. the models themselves check numbers (severity and leakage within 0-1, no negative
   onset, duration or stock, distributions whose support stays in range);
2. :func:`critmat.scenarios.plan.validate` checks names against the knowledge base
   (with "did you mean" suggestions) and contradictions (overlapping shocks on the same
   country and material, a stage without data, tonnes without a demand in tonnes).

Every problem is reported with its location, e.g. ``shocks[1].severity``, in one
:class:`ScenarioSpecError`.

Units: months for times (month 0 is the first simulated month); *shares of baseline
demand* for capacities and caps (0.2 = a fifth of the material's baseline monthly demand);
*months of baseline demand* for stocks; tonnes only in fields ending in ``_t``.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from critmat.errors import Problem, ScenarioSpecError
from critmat.scenarios.distributions import (
    DIST_KINDS,
    Beta,
    Choice,
    Distribution,
    Fixed,
    LogNormal,
    Normal,
    Param,
    Triangular,
    Uniform,
    _Dist,
)

__all__ = [
    "DIST_KINDS",
    "Beta",
    "Choice",
    "DefenceDemand",
    "DefenceSystem",
    "DemandRestraint",
    "Distribution",
    "EnsembleSpec",
    "EventRef",
    "Fixed",
    "LogNormal",
    "MaterialSetting",
    "Mitigations",
    "Normal",
    "Param",
    "Partner",
    "PriceModel",
    "Recycling",
    "Scenario",
    "ScenarioSpecError",
    "Shock",
    "StockPolicy",
    "Substitution",
    "Triangular",
    "Uniform",
    "dump_spec",
    "load_spec",
    "parse_spec",
    "read_spec_file",
]


def _check_range(
    name: str, dist: _Dist, low: float | None, high: float | None, meaning: str
) -> _Dist:
    lo, hi = dist.support()
    if low is not None and lo < low:
        if isinstance(dist, Fixed):
            raise ValueError(f"{dist.value:g} is below {low:g}; {meaning}")
        raise ValueError(
            f"the {dist.dist} distribution can give values below {low:g} "
            f"(down to {lo:g}); {meaning}; set low: {low:g}"
        )
    if high is not None and hi > high:
        if isinstance(dist, Fixed):
            raise ValueError(f"{dist.value:g} is above {high:g}; {meaning}")
        raise ValueError(
            f"the {dist.dist} distribution can give values above {high:g} "
            f"(up to {hi:g}); {meaning}; set high: {high:g}"
        )
    return dist


def _split_names(value: Any) -> Any:
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return value


#: One name, a comma-separated string or a list of names.
Names = Annotated[list[str], BeforeValidator(_split_names), Field(min_length=1)]

_Model = ConfigDict(extra="forbid", populate_by_name=True)

Trigger = Literal["onset", "start"]


# ---------------------------------------------------------------------------- shocks


class Shock(BaseModel):
    """A cut of supply from one exporter (or group) of one or more materials.

    Attributes
    ----------
    exporter
        Country (ISO-3, ISO-2 or name) or group (``EU27``, ``NATO``, ``OECD``, ``G7``), or a
        list of them.
    material
        Material(s), or ``all`` (every simulated material).
    stage
        ``extraction`` or ``processing``; default: the stage the material is simulated at.
    onset
        Month the cut starts (0 = the first simulated month); number or distribution.
    duration
        Months the cut lasts; ``None`` = until the end of the horizon.
    severity
        Share of the exporter's flows to the EU that is cut (0-1).
    leakage
        Share of the cut flows that still arrive, re-routed through third countries (0-1).
    ramp
        Months from onset until the full severity is reached (linear).
    probability
        Probability that the shock happens at all (1 = the scenario assumes it does).
    """

    model_config = _Model

    name: str | None = None
    exporter: Names
    material: Names
    stage: Literal["extraction", "processing"] | None = None
    onset: Param = Field(default_factory=lambda: Fixed(value=0.0))
    duration: Param | None = None
    severity: Param = Field(default_factory=lambda: Fixed(value=1.0))
    leakage: Param = Field(default_factory=lambda: Fixed(value=0.0))
    ramp: Param = Field(default_factory=lambda: Fixed(value=0.0))
    probability: float = Field(default=1.0, ge=0, le=1)

    @field_validator("onset")
    @classmethod
    def _onset(cls, v: _Dist) -> _Dist:
        return _check_range("onset", v, 0.0, None, "onset is the month the cut starts, 0 or later")

    @field_validator("duration")
    @classmethod
    def _duration(cls, v: _Dist | None) -> _Dist | None:
        if v is None:
            return v
        return _check_range("duration", v, 0.0, None, "a duration (months) cannot be negative")

    @field_validator("severity")
    @classmethod
    def _severity(cls, v: _Dist) -> _Dist:
        return _check_range("severity", v, 0.0, 1.0, "severity is the share of flows cut, 0 to 1")

    @field_validator("leakage")
    @classmethod
    def _leakage(cls, v: _Dist) -> _Dist:
        return _check_range(
            "leakage", v, 0.0, 1.0, "leakage is the share of cut flows re-routed, between 0 and 1"
        )

    @field_validator("ramp")
    @classmethod
    def _ramp(cls, v: _Dist) -> _Dist:
        return _check_range("ramp", v, 0.0, None, "ramp is a number of months, 0 or more")

    def params(self) -> dict[str, _Dist | None]:
        """The uncertain-capable parameters by name."""
        return {
            "onset": self.onset,
            "duration": self.duration,
            "severity": self.severity,
            "leakage": self.leakage,
            "ramp": self.ramp,
        }

    @property
    def uncertain(self) -> bool:
        """Whether any parameter is a distribution or the shock may not happen."""
        return self.probability < 1 or any(
            p is not None and p.uncertain for p in self.params().values()
        )

    def window(self, horizon: float) -> tuple[float, float]:
        """Earliest start and latest end the shock can have (months)."""
        lo, hi = self.onset.support()
        dur = self.duration.support()[1] if self.duration is not None else math.inf
        return lo, min(horizon, hi + dur)


# ---------------------------------------------------------------------------- mitigations


class StockPolicy(BaseModel):
    """A stockpile of a material and its release rule.

    ``Release_t = min(Stock_{t-1} - reserve, need_t, cap)`` once the release is authorised
    (``release_delay`` months after the first shock on the material starts); the need is
    the whole gap or, with ``release_for: defence``, the defence gap only.

    Attributes
    ----------
    material
        Material(s) or ``all``; a policy for a named material overrides one for ``all``.
    initial_months, initial_t
        Stock at the start, in months of baseline demand or in tonnes (one of the two).
    release_cap, release_cap_t
        Largest release per month, as a share of baseline monthly demand or in tonnes per
        month; none = unlimited.
    release_delay
        Months between the first shock's onset and the first release.
    reserve_months
        Part of the stock never released (months of baseline demand).
    release_for
        ``all`` demand or ``defence`` demand only.
    replenish_rate
        Purchases per month (share of baseline monthly demand) in months without a gap,
        until the initial stock is restored; 0 = no replenishment.
    """

    model_config = _Model

    material: Names = Field(default_factory=lambda: ["all"])
    initial_months: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    initial_t: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    release_cap: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    release_cap_t: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    release_delay: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    reserve_months: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    release_for: Literal["all", "defence"] = "all"
    replenish_rate: float = Field(default=0.0, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_of(self) -> StockPolicy:
        if (self.initial_months is None) == (self.initial_t is None):
            raise ValueError(
                "give exactly one of initial_months (months of baseline demand) "
                "and initial_t (tonnes)"
            )
        if self.release_cap is not None and self.release_cap_t is not None:
            raise ValueError("give at most one of release_cap and release_cap_t")
        if self.initial_months is not None and self.reserve_months > self.initial_months:
            raise ValueError(
                f"reserve_months ({self.reserve_months:g}) exceeds the stock "
                f"(initial_months {self.initial_months:g})"
            )
        return self


class _Ramped(BaseModel):
    """A capacity that ramps up linearly after a lead time."""

    model_config = _Model

    material: Names
    lead_time: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    ramp: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    trigger: Trigger = "onset"


class Substitution(_Ramped):
    """Substitution of the material, up to ``max_share`` of baseline demand.

    It ramps up from ``lead_time`` months after the trigger (``onset`` of the first shock on
    the material, or ``start`` of the simulation) over ``ramp`` months, and is used only to
    close a gap.
    """

    max_share: float = Field(ge=0, le=1, allow_inf_nan=False)


class Recycling(_Ramped):
    """Extra recycling beyond the baseline end-of-life recycling input rate."""

    max_share: float = Field(ge=0, le=1, allow_inf_nan=False)


class Partner(_Ramped):
    """An alternative supplier or strategic partner with capacity, lead time and ramp.

    Attributes
    ----------
    country
        Supplier country (its extra flow is cut too if a shock hits that country).
    capacity, capacity_t
        Extra supply at full ramp, as a share of baseline demand or in tonnes per year.
    """

    country: str
    capacity: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    capacity_t: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_of(self) -> Partner:
        if (self.capacity is None) == (self.capacity_t is None):
            raise ValueError(
                "give exactly one of capacity (share of baseline demand) and "
                "capacity_t (tonnes per year)"
            )
        return self


class DemandRestraint(_Ramped):
    """Demand restraint (rationing, postponement) of ``share`` of demand while cut.

    It applies from ``lead_time`` months after the trigger until the last shock on the
    material ends, to civil demand (``applies_to: civil``) or to all demand.
    """

    material: Names = Field(default_factory=lambda: ["all"])
    share: float = Field(ge=0, le=1, allow_inf_nan=False)
    applies_to: Literal["civil", "all"] = "civil"


class Mitigations(BaseModel):
    """Everything that softens a cut.

    Attributes
    ----------
    defence_first
        Serve defence demand before civil demand (default: pro rata, the market outcome).
    """

    model_config = _Model

    stocks: list[StockPolicy] = Field(default_factory=list)
    substitution: list[Substitution] = Field(default_factory=list)
    recycling: list[Recycling] = Field(default_factory=list)
    partners: list[Partner] = Field(default_factory=list)
    demand_restraint: list[DemandRestraint] = Field(default_factory=list)
    defence_first: bool = False


# ---------------------------------------------------------------------------- defence, settings


class DefenceSystem(BaseModel):
    """A defence system with a fixed recipe: the scarcest material limits builds.

    Attributes
    ----------
    name
        System name.
    build_rate
        Units built per month at baseline.
    kg_per_unit
        Material content, kg per unit (material name -> kg).
    """

    model_config = _Model

    name: str = Field(min_length=1)
    build_rate: float = Field(ge=0, allow_inf_nan=False)
    kg_per_unit: dict[str, float] = Field(min_length=1)

    @field_validator("kg_per_unit")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, x in v.items() if not (x >= 0 and math.isfinite(x))]
        if bad:
            raise ValueError(f"kg per unit must be a number >= 0 (check {', '.join(bad)})")
        return v


class DefenceDemand(BaseModel):
    """Defence part of demand.

    Attributes
    ----------
    share
        Defence share of each material's baseline demand (material -> 0-1). Without a
        value, the share comes from ``systems`` where the demand is known in tonnes, else 0
        (critmat ships no published defence shares; see docs/scenarios.md).
    systems
        Defence systems with build rates and bills of materials.
    """

    model_config = _Model

    share: dict[str, float] = Field(default_factory=dict)
    systems: list[DefenceSystem] = Field(default_factory=list)

    @field_validator("share")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [f"{k}={x:g}" for k, x in v.items() if not 0 <= x <= 1]
        if bad:
            raise ValueError(f"defence shares are fractions between 0 and 1 ({', '.join(bad)})")
        return v


class MaterialSetting(BaseModel):
    """Per-material overrides of the baseline.

    Attributes
    ----------
    stage
        Stage to simulate (default: processing where EU sourcing shares exist, else
        extraction).
    annual_demand_t
        EU baseline demand in tonnes per year (default: apparent consumption where the data
        allow, else results stay in shares of baseline demand).
    eol_rir
        End-of-life recycling input rate (default: EU 2023 study).
    elasticity_demand, elasticity_supply
        Price elasticities for this material (default: :class:`PriceModel`).
    """

    model_config = _Model

    stage: Literal["extraction", "processing"] | None = None
    annual_demand_t: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    eol_rir: float | None = Field(default=None, ge=0, lt=1, allow_inf_nan=False)
    elasticity_demand: float | None = Field(default=None, lt=0, allow_inf_nan=False)
    elasticity_supply: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class PriceModel(BaseModel):
    """Constant-elasticity price response (METHODS.md §4.2).

    ``P/P0 = (1 - phi)^(1 / (e_D - e_S))`` with ``phi`` the monthly shortfall fraction
    (``basis: shortfall``, after stock releases) or the gap before releases
    (``basis: supply_gap``), capped at ``max_ratio``. The default elasticities are the
    constructed arithmetic example of METHODS.md §4.2 (assumption, not published values).
    """

    model_config = _Model

    elasticity_demand: float = Field(default=-0.3, lt=0, allow_inf_nan=False)
    elasticity_supply: float = Field(default=0.2, ge=0, allow_inf_nan=False)
    max_ratio: float = Field(default=10.0, gt=1, allow_inf_nan=False)
    basis: Literal["shortfall", "supply_gap"] = "shortfall"


class EventRef(BaseModel):
    """The recorded event(s) a scenario is built from (presets)."""

    model_config = _Model

    event_ids: list[str] = Field(default_factory=list)
    citation: str = ""
    date_announced: str | None = None
    date_effective: str | None = None
    status: str | None = None
    kind: Literal["event", "hypothetical"] = "event"


# ---------------------------------------------------------------------------- scenario


class Scenario(BaseModel):
    """A disruption scenario.

    Attributes
    ----------
    name, description
        Labels.
    horizon_months
        Months simulated.
    materials
        Materials to simulate (default: every material named anywhere in the scenario, or,
        when a shock says ``material: all``, every material its exporters supply at any
        stage; ``all`` here: every material with supply shares).
    shocks, mitigations, defence
        See :class:`Shock`, :class:`Mitigations`, :class:`DefenceDemand`.
    settings
        Per-material overrides (material -> :class:`MaterialSetting`).
    price
        Price response settings.
    event
        The recorded event(s) behind the scenario, if any.
    assumptions
        Parameters without a public source, stated in words.
    supply_vintage
        Vintage of the supply shares (``newest``: per material, stage and mix the newest
        available; or a vintage of the supply_shares table), see docs/scenarios.md.
    """

    model_config = _Model

    name: str = "scenario"
    description: str = ""
    horizon_months: int = Field(default=60, ge=1, le=1200)
    materials: Names | None = None
    shocks: list[Shock] = Field(default_factory=list)
    mitigations: Mitigations = Field(default_factory=Mitigations)
    defence: DefenceDemand = Field(default_factory=DefenceDemand)
    settings: dict[str, MaterialSetting] = Field(default_factory=dict)
    price: PriceModel = Field(default_factory=PriceModel)
    event: EventRef | None = None
    assumptions: list[str] = Field(default_factory=list)
    supply_vintage: str = "newest"

    @property
    def uncertain(self) -> bool:
        """Whether any shock has an uncertain parameter."""
        return any(s.uncertain for s in self.shocks)


class EnsembleSpec(BaseModel):
    """A scenario with its Monte Carlo settings.

    Attributes
    ----------
    scenario
        The scenario.
    samples
        Number of Monte Carlo draws (1 is enough when nothing is uncertain).
    seed
        Seed of the random generator (same seed, same results, locally or on Dask).
    cvar_level
        Level alpha of VaR and CVaR (mean of the worst ``1 - alpha`` of outcomes).
    percentiles
        Percentiles reported (0-100).
    """

    model_config = _Model

    scenario: Scenario
    samples: int = Field(default=1000, ge=1, le=10_000_000)
    seed: int = Field(default=0, ge=0, lt=2**63)
    cvar_level: float = Field(default=0.95, gt=0, lt=1)
    percentiles: list[float] = Field(
        default_factory=lambda: [5.0, 25.0, 50.0, 75.0, 95.0], min_length=1
    )

    @field_validator("percentiles")
    @classmethod
    def _pct(cls, v: list[float]) -> list[float]:
        bad = [x for x in v if not 0 <= x <= 100]
        if bad:
            raise ValueError(f"percentiles are between 0 and 100 (got {bad})")
        return sorted(set(v))


# ---------------------------------------------------------------------------- parsing


_PARAMS = ("onset", "duration", "severity", "leakage", "ramp")


def _loc(parts: Sequence[Any]) -> str:
    """``("shocks", 1, "severity", "uniform", "high")`` -> ``shocks[1].severity.high``."""
    out = ""
    prev: Any = None
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif not (prev in _PARAMS and p in DIST_KINDS):  # drop the union tag
            out += ("." if out else "") + str(p)
        prev = p
    return out


_MEANING = {
    "initial_months": "a stock cannot be below zero",
    "initial_t": "a stock cannot be below zero",
    "reserve_months": "a reserve cannot be below zero",
    "release_cap": "a release cap is a share of monthly demand, 0 or more",
    "capacity": "a capacity is a share of baseline demand, 0 or more",
    "max_share": "a share of baseline demand, between 0 and 1",
    "share": "a share of demand, between 0 and 1",
    "lead_time": "a number of months, 0 or more",
    "ramp": "a number of months, 0 or more",
    "horizon_months": "months simulated, 1 to 1200",
    "probability": "a probability, between 0 and 1",
    "samples": "the number of Monte Carlo draws, 1 or more",
    "cvar_level": "a level between 0 and 1 (exclusive), e.g. 0.95",
    "elasticity_demand": "a demand elasticity is negative",
    "elasticity_supply": "a supply elasticity is 0 or more",
}


def _problems(exc: ValidationError, file: str | None, prefix: Sequence[Any] = ()) -> list[Problem]:
    from critmat.errors import closest

    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = _loc([*prefix, *err["loc"]])
        msg = str(err["msg"])
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        kind = err["type"]
        value = None
        expected = None
        suggestions: tuple[str, ...] = ()
        if kind == "union_tag_invalid":
            tag = str(err.get("ctx", {}).get("tag", ""))
            msg = f"unknown distribution '{tag}'"
            expected = "one of " + ", ".join(DIST_KINDS)
            suggestions = tuple(closest(tag, list(DIST_KINDS)))
        elif kind == "union_tag_not_found":
            msg = "a distribution needs 'dist:'"
            expected = "a number or e.g. {dist: uniform, low: 0.5, high: 1}"
        elif kind == "model_attributes_type" and loc.rsplit(".", 1)[-1] in (
            "onset",
            "duration",
            "severity",
            "leakage",
            "ramp",
        ):
            msg = "not a number or a distribution"
            value = repr(err.get("input"))
            expected = "a number or e.g. {dist: lognormal, median: 18, sigma: 0.5}"
        elif kind == "extra_forbidden":
            field = loc.rsplit(".", 1)[-1]
            msg = f"unknown field '{field}'"
        elif kind == "missing":
            msg = "required field is missing"
        elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            field = loc.rsplit(".", 1)[-1]
            msg = msg.replace("Input should be", "must be")
            if field in _MEANING:
                msg += f"; {_MEANING[field]}"
        elif "input" in err and not isinstance(err["input"], dict | list):
            value = repr(err["input"])
        out.append(
            Problem(
                message=msg,
                file=file,
                column=loc or "(spec)",
                value=value,
                expected=expected,
                suggestions=suggestions,
            )
        )
    return out


def parse_spec(data: Any, *, source: str | None = None) -> EnsembleSpec:
    """Validate a dictionary as an :class:`EnsembleSpec` (or a bare :class:`Scenario`).

    Parameters
    ----------
    data
        Parsed YAML/JSON: either ``{scenario: {...}, samples: ..., seed: ...}`` or the
        scenario itself (then the Monte Carlo settings take their defaults).
    source
        File name for messages.

    Raises
    ------
    ScenarioSpecError
        Listing every problem with its location.

    Examples
    --------
    >>> spec = parse_spec({"shocks": [{"exporter": "CHN", "material": "gallium",
    ...                                "duration": {"dist": "lognormal", "median": 18,
    ...                                             "sigma": 0.5}}]})
    >>> spec.samples, spec.scenario.shocks[0].duration.describe()
    (1000, 'lognormal(median 18, sigma 0.5)')
    >>> parse_spec({"shocks": [{"exporter": "CHN", "material": "gallium", "severity": 1.2,
    ...                         "duration": -3}]})
    Traceback (most recent call last):
    ...
    critmat.errors.ScenarioSpecError: 2 problems in the scenario; nothing was computed:
      - shocks[0].duration: -3 is below 0; a duration (months) cannot be negative (got -3)
      - shocks[0].severity: 1.2 is above 1; severity is the share of flows cut, 0 to 1 (got 1.2)
    """
    if isinstance(data, EnsembleSpec):
        return data
    if isinstance(data, Scenario):
        return EnsembleSpec(scenario=data)
    if not isinstance(data, dict):
        raise ScenarioSpecError(
            [
                Problem(
                    "the specification must be a mapping (YAML/JSON object)",
                    file=source,
                    column="(spec)",
                    value=type(data).__name__,
                )
            ],
            source=source,
        )
    try:
        if "scenario" in data:
            return EnsembleSpec.model_validate(data)
        return EnsembleSpec(scenario=Scenario.model_validate(data))
    except ValidationError as exc:
        raise ScenarioSpecError(_problems(exc, source), source=source) from None


def load_spec(path: str | Path) -> EnsembleSpec:
    """Read and validate a YAML or JSON specification file.

    Raises
    ------
    ScenarioSpecError
        For unreadable files, syntax errors (with line) and invalid content.
    """
    return parse_spec(read_spec_file(path), source=str(path))


@functools.cache
def _unique_key_loader() -> Any:
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        """A ``SafeLoader`` that rejects a key given twice in one mapping (no silent last-wins)."""

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, int] = {}
            for key_node, _value in node.value:
                key = self.construct_object(key_node, deep=deep)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key '{key}' (first given at line {seen[key]}); "
                        "give each key once",
                        key_node.start_mark,
                    )
                seen[key] = line
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def read_spec_file(path: str | Path) -> Any:
    """Read a YAML or JSON specification file into plain data (no validation).

    Raises
    ------
    ScenarioSpecError
        For unreadable files and syntax errors (with the line).
    """
    p = Path(path)
    name = str(p)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ScenarioSpecError(
            [Problem(f"cannot read the file: {exc.strerror}", file=name)], source=name
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        hint = ""
        try:
            sample = raw.decode("cp1252").splitlines()[line - 1].strip()
            hint = f" (as Windows-1252/latin-1 the line reads {sample[:80]!r})"
        except (UnicodeDecodeError, IndexError):
            pass
        raise ScenarioSpecError(
            [
                Problem(
                    f"the file is not UTF-8: byte 0x{raw[exc.start]:02x} cannot be read{hint}",
                    file=name,
                    row=line,
                    expected="UTF-8 text (save the file as UTF-8)",
                )
            ],
            source=name,
        ) from None
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioSpecError(
                [Problem(f"invalid JSON: {exc.msg}", file=name, row=exc.lineno)], source=name
            ) from None
    else:
        import yaml

        try:
            data = yaml.load(text, Loader=_unique_key_loader())
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            row = mark.line + 1 if mark is not None else None
            where = f" at line {row}, column {mark.column + 1}" if mark is not None else ""
            raise ScenarioSpecError(
                [
                    Problem(
                        f"invalid YAML{where}: {getattr(exc, 'problem', None) or exc}",
                        file=name,
                        row=row,
                    )
                ],
                source=name,
            ) from None
    return data


def dump_spec(spec: EnsembleSpec | Scenario, fmt: str = "yaml") -> str:
    """Return the specification as YAML or JSON text (numbers for fixed parameters)."""
    data = spec.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
