"""Validate a scenario against the knowledge base and compile it for the engine.

:func:`validate` resolves every material and country name (with "did you mean"
suggestions), chooses the simulated stage of each material, builds the
:class:`~critmat.scenarios.baseline.Baseline`, and catches contradictions before anything
is computed: two shocks cutting the same country's flow of the same material at overlapping
times, shocks asking for different stages of one material, a stage without data, tonnes
where the demand in tonnes is unknown, defence systems that need more than the defence
share. All problems are reported together, each with its location in the specification.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from critmat.errors import Problem, UnknownNameError
from critmat.scenarios.baseline import Baseline, build_baseline, default_stages, supply_options
from critmat.scenarios.engine import UNLIMITED, StaticInputs
from critmat.scenarios.spec import (
    DemandRestraint,
    EnsembleSpec,
    MaterialSetting,
    Partner,
    Recycling,
    Scenario,
    ScenarioSpecError,
    StockPolicy,
    Substitution,
    parse_spec,
)

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from critmat.knowledge_base import KnowledgeBase

__all__ = ["Credit", "Plan", "ResolvedShock", "load_checked", "plan_frame", "validate"]

_ALL = "all"


@dataclass(frozen=True)
class ResolvedShock:
    """A shock with canonical names."""

    index: int
    label: str
    countries: tuple[str, ...]
    materials: tuple[str, ...]


@dataclass(frozen=True)
class Credit:
    """A supply credit (partner, substitution, extra recycling) for one material."""

    kind: str
    label: str
    material: str
    max_share: float
    lead_time: float
    ramp: float
    start: bool
    country: str | None = None


@dataclass
class Plan:
    """A validated scenario, ready to simulate.

    Attributes
    ----------
    spec
        The ensemble specification.
    baseline
        Supply structure and demand of the simulated materials.
    shocks
        Shocks with canonical countries and materials.
    stocks
        Stock policy per material (stocks in months of demand, caps in shares of monthly
        demand).
    credits
        Supply credits.
    restraint
        Demand restraint per material.
    defence_share
        Defence share of demand per material, and where it came from.
    systems
        Defence systems: name, build rate, materials used.
    warnings
        Things that are valid but probably not meant (a shock without bite, ...).
    """

    spec: EnsembleSpec
    baseline: Baseline
    shocks: list[ResolvedShock]
    stocks: dict[str, dict[str, float | bool]]
    credits: list[Credit]
    restraint: dict[str, DemandRestraint]
    defence_share: dict[str, tuple[float, str]]
    systems: list[tuple[str, float, tuple[str, ...]]]
    warnings: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def scenario(self) -> Scenario:
        """The scenario."""
        return self.spec.scenario

    @property
    def materials(self) -> list[str]:
        """Simulated materials, in order."""
        return self.baseline.materials

    def inputs(self) -> StaticInputs:
        """Compile the engine's :class:`~critmat.scenarios.engine.StaticInputs`."""
        sc = self.scenario
        b = self.baseline
        mats = b.materials
        mi = {m: i for i, m in enumerate(mats)}
        ci = {c: j for j, c in enumerate(b.countries)}
        supply = b.supply
        k, m = len(self.shocks), len(mats)
        w = np.zeros((k, m))
        for s in self.shocks:
            cols = [ci[c] for c in s.countries if c in ci]
            for mat in s.materials:
                w[s.index, mi[mat]] = supply[mi[mat], cols].sum() if cols else 0.0
        touch = w > 0

        def arr(key: str, default: float) -> np.ndarray:
            return np.array([float(self.stocks.get(x, {}).get(key, default)) for x in mats])

        release_defence = np.array(
            [bool(self.stocks.get(x, {}).get("defence", False)) for x in mats]
        )
        r = len(self.credits)
        credit_shock = np.zeros((k, r))
        for j, c in enumerate(self.credits):
            if c.country is None:
                continue
            for s in self.shocks:
                if c.country in s.countries and c.material in s.materials:
                    credit_shock[s.index, j] = 1.0
        rs = [self.restraint.get(x) for x in mats]
        ed = np.array(
            [
                (
                    sc.settings.get(x).elasticity_demand  # type: ignore[union-attr]
                    if x in sc.settings and sc.settings[x].elasticity_demand is not None
                    else sc.price.elasticity_demand
                )
                for x in mats
            ]
        )
        es = np.array(
            [
                (
                    sc.settings.get(x).elasticity_supply  # type: ignore[union-attr]
                    if x in sc.settings and sc.settings[x].elasticity_supply is not None
                    else sc.price.elasticity_supply
                )
                for x in mats
            ]
        )
        uses = np.zeros((len(self.systems), m), dtype=bool)
        for j, (_, _, used) in enumerate(self.systems):
            for x in used:
                uses[j, mi[x]] = True
        static = StaticInputs(
            horizon=sc.horizon_months,
            shock_weight=w,
            shock_touch=touch,
            defence_share=np.array([self.defence_share.get(x, (0.0, ""))[0] for x in mats]),
            stock0=arr("initial", 0.0),
            release_cap=arr("cap", UNLIMITED),
            release_delay=arr("delay", 0.0),
            reserve=arr("reserve", 0.0),
            release_defence=release_defence,
            replenish=arr("replenish", 0.0),
            credit_material=np.array([mi[c.material] for c in self.credits], dtype=np.int64),
            credit_max=np.array([c.max_share for c in self.credits]),
            credit_lead=np.array([c.lead_time for c in self.credits]),
            credit_ramp=np.array([c.ramp for c in self.credits]),
            credit_start=np.array([c.start for c in self.credits], dtype=bool),
            credit_shock=credit_shock,
            restraint_share=np.array([x.share if x else 0.0 for x in rs]),
            restraint_lead=np.array([x.lead_time if x else 0.0 for x in rs]),
            restraint_ramp=np.array([x.ramp if x else 0.0 for x in rs]),
            restraint_start=np.array([bool(x and x.trigger == "start") for x in rs]),
            restraint_all=np.array([bool(x and x.applies_to == "all") for x in rs]),
            defence_first=sc.mitigations.defence_first,
            eps_d=ed,
            eps_s=es,
            max_price_ratio=sc.price.max_ratio,
            price_on_gap=sc.price.basis == "supply_gap",
            system_rate=np.array([s[1] for s in self.systems]),
            system_uses=uses,
        )
        static.validate()
        return static


class _Collector:
    """Collects problems and resolves names, recording where each name was used."""

    def __init__(self, kb: KnowledgeBase, source: str | None) -> None:
        self.kb = kb
        self.source = source
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def add(
        self,
        where: str,
        message: str,
        *,
        value: Any = None,
        expected: str | None = None,
        suggestions: list[str] | tuple[str, ...] = (),
    ) -> None:
        self.problems.append(
            Problem(
                message=message,
                file=self.source,
                column=where,
                value=None if value is None else str(value),
                expected=expected,
                suggestions=tuple(suggestions),
            )
        )

    def material(self, name: str, where: str) -> str | None:
        try:
            return self.kb.select.material(name)
        except UnknownNameError as exc:
            self.add(
                where,
                f"unknown material '{name}'",
                suggestions=exc.suggestions,
                expected="a material id, name, symbol or alias (critmat data export materials)",
            )
            return None

    def countries(self, name: str, where: str, *, groups: bool = True) -> list[str]:
        if groups:
            builtin = self.kb.select.groups()
            if name.strip().upper() in builtin:
                return builtin[name.strip().upper()]
        try:
            return [self.kb.select.country(name)]
        except UnknownNameError:
            self.add(
                where,
                f"unknown country '{name}'",
                suggestions=self.kb.select.country_suggestions(name),
                expected="ISO-3, ISO-2, a name" + (" or EU27, NATO, OECD, G7" if groups else ""),
            )
            return []

    def raise_if_any(self) -> None:
        if self.problems:
            raise ScenarioSpecError(self.problems, source=self.source)


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return []


def _raw_name_problems(
    data: dict[str, Any], kb: KnowledgeBase, source: str | None
) -> list[Problem]:
    """Unknown material and country names in a mapping that failed model validation."""
    col = _Collector(kb, source)
    wrapped = isinstance(data.get("scenario"), dict)
    sc = data["scenario"] if wrapped else data
    pre = "scenario." if wrapped else ""

    def mats(value: Any, where: str) -> None:
        names = _names(value)
        for j, x in enumerate(names):
            if x.strip().lower() != _ALL:
                col.material(x, _where(pre + where, names, j))

    def countries(value: Any, where: str, groups: bool = True) -> None:
        names = _names(value)
        for j, x in enumerate(names):
            col.countries(x, _where(pre + where, names, j), groups=groups)

    if "materials" in sc:
        mats(sc["materials"], "materials")
    for i, s in enumerate(sc.get("shocks") or []):
        if isinstance(s, dict):
            mats(s.get("material"), f"shocks[{i}].material")
            countries(s.get("exporter"), f"shocks[{i}].exporter")
    mit = sc.get("mitigations")
    if isinstance(mit, dict):
        for group in ("stocks", "substitution", "recycling", "partners", "demand_restraint"):
            for i, item in enumerate(mit.get(group) or []):
                if isinstance(item, dict):
                    mats(item.get("material"), f"mitigations.{group}[{i}].material")
                    if group == "partners":
                        countries(
                            item.get("country"), f"mitigations.partners[{i}].country", groups=False
                        )
    defence = sc.get("defence")
    if isinstance(defence, dict):
        for key in defence.get("share") or {}:
            mats(key, f"defence.share.{key}")
        for i, sy in enumerate(defence.get("systems") or []):
            if isinstance(sy, dict):
                for key in sy.get("kg_per_unit") or {}:
                    mats(key, f"defence.systems[{i}].kg_per_unit.{key}")
    for key in sc.get("settings") or {}:
        mats(key, f"settings.{key}")
    return col.problems


def _where(base: str, items: list[str], i: int) -> str:
    return base if len(items) == 1 else f"{base}[{i}]"


def validate(
    kb: KnowledgeBase, spec: EnsembleSpec | Scenario | dict[str, Any], *, source: str | None = None
) -> Plan:
    """Check ``spec`` against the knowledge base and compile it.

    Parameters
    ----------
    kb
        Knowledge base.
    spec
        Ensemble specification, scenario, or the parsed YAML/JSON mapping.
    source
        File name for messages.

    Returns
    -------
    Plan

    Raises
    ------
    ScenarioSpecError
        With every problem and its location (``shocks[1].material``, ...).
    """
    try:
        ens = parse_spec(spec, source=source)
    except ScenarioSpecError as exc:
        problems = exc.problems
    else:
        return _Compiler(ens, kb, source).compile()
    if isinstance(spec, dict):  # report unknown names together with the other problems
        problems = problems + _raw_name_problems(spec, kb, source)
    raise ScenarioSpecError(problems, source=source)


class _Compiler:
    """Turns a parsed specification into a :class:`Plan`, one step per method."""

    def __init__(self, ens: EnsembleSpec, kb: KnowledgeBase, source: str | None) -> None:
        self.ens = ens
        self.sc = ens.scenario
        self.kb = kb
        self.col = _Collector(kb, source)
        self.vintage = kb.select.supply_vintage(
            self.sc.supply_vintage, where=f"{source or 'spec'}: supply_vintage"
        )
        self.options = supply_options(kb, self.vintage)  # a copy of the cached table
        self.defaults = default_stages(kb, self.vintage)
        self.with_data = set(self.options["material"])
        self.eu_sourced = sorted(self.with_data)
        self.named: dict[str, str] = {}  # material -> where it was first named
        self.universe: list[str] = []

    # ---- helpers

    def _note(self, mid: str | None, where: str) -> None:
        if mid is not None:
            self.named.setdefault(mid, where)

    def _mats(self, names: list[str], where: str) -> list[str] | None:
        """Resolve material names (``None`` for ``all``), noting where each was named."""
        if any(x.strip().lower() == _ALL for x in names):
            return None
        out: list[str] = []
        for j, x in enumerate(names):
            loc = _where(where, names, j)
            mid = self.col.material(x, loc)
            self._note(mid, loc)
            if mid is not None:
                out.append(mid)
        return list(dict.fromkeys(out))

    def _supplied_by(self, countries: list[str]) -> list[str]:
        """Materials with a supplier mix that any of ``countries`` supplies, at any stage.

        Any mix (EU sourcing or global) of the chosen vintages counts, so a full cut of a
        country reaches every material it supplies at all (e.g. China: dysprosium, terbium,
        platinum, ... whose EU sourcing is not published: global mix, flagged).
        """
        s = self.kb.select.supply_shares(vintage=self.vintage)
        hit = s[s["country"].isin(countries).to_numpy(dtype=bool) & (s["share"] > 0).to_numpy()]
        return sorted(set(hit["material"]) & self.with_data)

    def _targets(self, mats: list[str] | None) -> list[str]:
        return list(self.universe) if mats is None else mats

    # ---- steps

    def compile(self) -> Plan:
        self._resolve_names()
        self._choose_universe()
        self.col.raise_if_any()
        stages = self._choose_stages()
        self.col.raise_if_any()
        settings = self.settings
        self.baseline = build_baseline(
            self.kb,
            self.universe,
            stages,
            annual_demand_t={
                m: s.annual_demand_t for m, s in settings.items() if s.annual_demand_t
            },
            eol_rir={m: s.eol_rir for m, s in settings.items() if s.eol_rir is not None},
            supply_vintage=self.vintage,
        )
        self.monthly_t = dict(
            zip(self.baseline.materials, self.baseline.monthly_demand_t, strict=True)
        )
        shocks = self._shocks()
        stocks = self._stocks()
        credits_ = self._credits()
        restraint = self._restraint()
        defence_share = self._defence()
        self.col.raise_if_any()
        return Plan(
            spec=self.ens,
            baseline=self.baseline,
            shocks=shocks,
            stocks=stocks,
            credits=credits_,
            restraint=restraint,
            defence_share=defence_share,
            systems=[(n, r, tuple(kg)) for n, r, kg in self.systems],
            warnings=self.col.warnings,
        )

    def _resolve_names(self) -> None:
        sc, col = self.sc, self.col
        self.shock_mats: list[list[str] | None] = []
        self.shock_countries: list[list[str]] = []
        for i, s in enumerate(sc.shocks):
            self.shock_mats.append(self._mats(s.material, f"shocks[{i}].material"))
            cs: list[str] = []
            for j, x in enumerate(s.exporter):
                cs += col.countries(x, _where(f"shocks[{i}].exporter", s.exporter, j))
            self.shock_countries.append(list(dict.fromkeys(cs)))
            lo, _ = s.onset.support()
            if lo >= sc.horizon_months:
                col.add(
                    f"shocks[{i}].onset",
                    f"the cut starts at month {lo:g} or later, after "
                    f"the horizon of {sc.horizon_months} months",
                    expected=f"an onset below {sc.horizon_months}",
                )
        mit = sc.mitigations
        self.stock_mats = [
            self._mats(p.material, f"mitigations.stocks[{i}].material")
            for i, p in enumerate(mit.stocks)
        ]
        self.credit_items: dict[str, list[Substitution | Recycling | Partner]] = {
            "substitution": list(mit.substitution),
            "recycling": list(mit.recycling),
            "partners": list(mit.partners),
        }
        self.credit_mats = {
            g: [
                self._mats(p.material, f"mitigations.{g}[{i}].material")
                for i, p in enumerate(items)
            ]
            for g, items in self.credit_items.items()
        }
        self.restraint_mats = [
            self._mats(r.material, f"mitigations.demand_restraint[{i}].material")
            for i, r in enumerate(mit.demand_restraint)
        ]
        self.partner_country: list[str | None] = []
        for i, partner in enumerate(mit.partners):
            c = col.countries(partner.country, f"mitigations.partners[{i}].country", groups=False)
            self.partner_country.append(c[0] if c else None)
        self.share_ids: dict[str, float] = {}
        for x, v in sc.defence.share.items():
            mid = col.material(x, f"defence.share.{x}")
            self._note(mid, f"defence.share.{x}")
            if mid is not None:
                self.share_ids[mid] = v
        self.systems: list[tuple[str, float, dict[str, float]]] = []
        for i, sy in enumerate(sc.defence.systems):
            kg: dict[str, float] = {}
            for x, v in sy.kg_per_unit.items():
                loc = f"defence.systems[{i}].kg_per_unit.{x}"
                mid = col.material(x, loc)
                self._note(mid, loc)
                if mid is not None and v > 0:
                    kg[mid] = kg.get(mid, 0.0) + v
            self.systems.append((sy.name, sy.build_rate, kg))
        self.settings: dict[str, MaterialSetting] = {}
        for x, setting in sc.settings.items():
            mid = col.material(x, f"settings.{x}")
            if mid is not None:
                self.settings[mid] = setting

    def _choose_universe(self) -> None:
        sc, col = self.sc, self.col
        if sc.materials is not None:
            universe: list[str] = []
            for j, x in enumerate(sc.materials):
                if x.strip().lower() == _ALL:
                    universe += self.eu_sourced
                    continue
                mid = col.material(x, _where("materials", sc.materials, j))
                if mid is not None:
                    universe.append(mid)
            self.universe = list(dict.fromkeys(universe))
            for mid, where in self.named.items():
                if mid not in self.universe:
                    col.add(
                        where,
                        f"'{mid}' is not among the simulated materials",
                        expected="a material listed in materials (or drop materials to "
                        "simulate every material named)",
                    )
        else:
            self.universe = list(self.named)
            supplied: list[str] = []
            for i, mats in enumerate(self.shock_mats):
                if mats is None:  # material: all -> whatever these exporters supply
                    supplied += self._supplied_by(self.shock_countries[i])
            if supplied:
                self.universe = list(dict.fromkeys(sorted(set(supplied)) + self.universe))
        if not self.universe:
            col.add(
                "materials",
                "no material to simulate",
                expected="materials, or a shock with a material",
            )

    def _choose_stages(self) -> dict[str, str]:
        col, opts = self.col, self.options
        stages: dict[str, str] = {}
        stage_from: dict[str, str] = {}
        for mid, setting in self.settings.items():
            if setting.stage is not None:
                stages[mid] = setting.stage
                stage_from[mid] = f"settings.{mid}.stage"
        for i, s in enumerate(self.sc.shocks):
            if s.stage is None:
                continue
            for mid in self._targets(self.shock_mats[i]):
                if mid in stages and stages[mid] != s.stage:
                    if stage_from[mid].startswith("shocks"):
                        col.add(
                            f"shocks[{i}].stage",
                            f"asks for {mid} at the {s.stage} stage, "
                            f"but {stage_from[mid]} asks for {stages[mid]}; one material "
                            "is simulated at one stage",
                            expected="the same stage for every shock on a material",
                        )
                    continue
                stages.setdefault(mid, s.stage)
                stage_from.setdefault(mid, f"shocks[{i}].stage")
        for mid in self.universe:
            where = self.named.get(mid, "materials")
            if mid not in self.with_data:
                members = [x for x in self.kb.select.members(mid) if x in self.with_data]
                col.add(
                    where,
                    f"{mid} has no supply shares (supply_vintage {self.vintage})",
                    expected="a material with supply shares"
                    + (f", e.g. its members {', '.join(members[:4])}" if members else ""),
                    suggestions=members[:3],
                )
            elif mid in stages:
                ok = opts[(opts["material"] == mid) & (opts["stage"] == stages[mid])]
                if ok.empty:
                    have = sorted(set(opts.loc[opts["material"] == mid, "stage"]))
                    col.add(
                        stage_from[mid],
                        f"{mid} has no supply shares at the {stages[mid]} stage",
                        expected=" or ".join(have),
                    )
            elif mid not in self.defaults:  # pragma: no cover - caught above
                col.add(where, f"{mid} has no supply shares")
        return stages

    def _tonnes(self, mid: str, where: str) -> float | None:
        """Baseline demand in tonnes per month, or a problem at ``where``."""
        v = self.monthly_t[mid]
        if np.isfinite(v) and v > 0:
            return float(v)
        basis = self.baseline.demand_basis[self.baseline.index(mid)]
        self.col.add(
            where,
            f"{mid} has no baseline demand in tonnes ({basis})",
            expected=f"a value in shares/months of demand, or settings.{mid}.annual_demand_t",
        )
        return None

    def _shocks(self) -> list[ResolvedShock]:
        sc, col, base = self.sc, self.col, self.baseline
        horizon = sc.horizon_months
        resolved: list[ResolvedShock] = []
        sup = base.supply
        cidx = {c: j for j, c in enumerate(base.countries)}
        for i, s in enumerate(sc.shocks):
            mats = self._targets(self.shock_mats[i])
            label = s.name or f"{'+'.join(s.exporter)} {'+'.join(s.material)}"
            resolved.append(ResolvedShock(i, label, tuple(self.shock_countries[i]), tuple(mats)))
            cols = [cidx[c] for c in self.shock_countries[i] if c in cidx]
            bite = 0.0
            for mid in mats:
                k = base.index(mid)
                share = float(sup[k, cols].sum()) if cols else 0.0
                bite += share
                if share == 0 and self.shock_mats[i] is not None:
                    col.warnings.append(
                        f"shocks[{i}]: {', '.join(self.shock_countries[i][:5])} supply none of "
                        f"{mid} to the EU at {base.stage[k]} ({base.mix[k]} shares); this part "
                        "of the shock has no effect"
                    )
            if bite == 0 and mats:
                col.warnings.append(
                    f"shocks[{i}] cuts nothing: none of its exporters supplies its materials"
                )
        for i, a in enumerate(resolved):
            wa = sc.shocks[i].window(horizon)
            for j in range(i):
                other = resolved[j]
                wb = sc.shocks[j].window(horizon)
                if not (wa[0] < wb[1] and wb[0] < wa[1]):
                    continue
                both_c = [c for c in a.countries if c in other.countries]
                both_m = [m for m in a.materials if m in other.materials]
                if both_c and both_m:
                    more = len(both_c) * len(both_m) - 1
                    col.add(
                        f"shocks[{i}]",
                        f"contradicts shocks[{j}]: both cut "
                        f"{both_c[0]} x {both_m[0]}"
                        + (f" (and {more} more pairs)" if more else "")
                        + f" in overlapping months ({wb[0]:g}-{wb[1]:g} and "
                        f"{wa[0]:g}-{wa[1]:g})",
                        expected="one shock per country and material at a time: merge "
                        "them, or make their windows disjoint",
                    )
        return resolved

    def _stocks(self) -> dict[str, dict[str, float | bool]]:
        mit, col = self.sc.mitigations, self.col
        stocks: dict[str, dict[str, float | bool]] = {}
        specific_src: dict[str, int] = {}
        order = sorted(range(len(mit.stocks)), key=lambda i: self.stock_mats[i] is not None)
        for i in order:  # policies for 'all' first, then named ones override them
            policy: StockPolicy = mit.stocks[i]
            named_mats = self.stock_mats[i]
            base = f"mitigations.stocks[{i}]"
            for mid in self._targets(named_mats):
                if named_mats is not None:
                    if mid in specific_src:
                        col.add(
                            f"{base}.material",
                            f"{mid} already has a stock policy in "
                            f"mitigations.stocks[{specific_src[mid]}]",
                            expected="one policy per material (named policies override a "
                            "policy for 'all')",
                        )
                        continue
                    specific_src[mid] = i
                initial = policy.initial_months
                if policy.initial_t is not None:
                    t = self._tonnes(mid, f"{base}.initial_t")
                    initial = policy.initial_t / t if t else None
                cap = UNLIMITED if policy.release_cap is None else policy.release_cap
                if policy.release_cap_t is not None:
                    t = self._tonnes(mid, f"{base}.release_cap_t")
                    cap = policy.release_cap_t / t if t else UNLIMITED
                if initial is None:
                    continue
                if policy.reserve_months > initial + 1e-12:
                    col.add(
                        f"{base}.reserve_months",
                        f"the reserve "
                        f"({policy.reserve_months:g} months) exceeds the stock of {mid} "
                        f"({initial:g} months)",
                        expected="a reserve no larger than the stock",
                    )
                stocks[mid] = {
                    "initial": initial,
                    "cap": cap,
                    "delay": policy.release_delay,
                    "reserve": policy.reserve_months,
                    "replenish": policy.replenish_rate,
                    "defence": policy.release_for == "defence",
                }
        return stocks

    def _credits(self) -> list[Credit]:
        out: list[Credit] = []
        for g, items in self.credit_items.items():
            for i, item in enumerate(items):
                for mid in self._targets(self.credit_mats[g][i]):
                    start = item.trigger == "start"
                    if isinstance(item, Partner):
                        country = self.partner_country[i]
                        share = item.capacity
                        if item.capacity_t is not None:
                            t = self._tonnes(mid, f"mitigations.partners[{i}].capacity_t")
                            share = item.capacity_t / 12.0 / t if t else None
                        if share is None or country is None:
                            continue
                        out.append(
                            Credit(
                                "partner",
                                f"partner {country}",
                                mid,
                                share,
                                item.lead_time,
                                item.ramp,
                                start,
                                country,
                            )
                        )
                    else:
                        out.append(
                            Credit(g, g, mid, item.max_share, item.lead_time, item.ramp, start)
                        )
        return out

    def _restraint(self) -> dict[str, DemandRestraint]:
        mit = self.sc.mitigations
        restraint: dict[str, DemandRestraint] = {}
        src: dict[str, int] = {}
        order = sorted(
            range(len(mit.demand_restraint)), key=lambda i: self.restraint_mats[i] is not None
        )
        for i in order:  # 'all' first, then named ones override
            named_mats = self.restraint_mats[i]
            for mid in self._targets(named_mats):
                if named_mats is not None:
                    if mid in src:
                        self.col.add(
                            f"mitigations.demand_restraint[{i}].material",
                            f"{mid} "
                            "already has demand restraint in "
                            f"mitigations.demand_restraint[{src[mid]}]",
                            expected="one restraint per material (named ones override 'all')",
                        )
                        continue
                    src[mid] = i
                restraint[mid] = mit.demand_restraint[i]
        return restraint

    def _defence(self) -> dict[str, tuple[float, str]]:
        col = self.col
        derived: dict[str, float] = {}
        for i, (name, rate, kg) in enumerate(self.systems):
            for mid, v in kg.items():
                t = self.monthly_t.get(mid, np.nan)
                if np.isfinite(t) and t > 0:
                    derived[mid] = derived.get(mid, 0.0) + rate * v / 1000.0 / t
                elif mid not in self.share_ids:
                    col.add(
                        f"defence.systems[{i}].kg_per_unit.{mid}",
                        f"system '{name}' uses "
                        f"{mid}, whose demand is not known in tonnes, and defence.share has "
                        f"no value for {mid}",
                        expected=f"defence.share.{mid} or settings.{mid}.annual_demand_t",
                    )
        out: dict[str, tuple[float, str]] = {}
        for mid in self.universe:
            if mid in self.share_ids:
                out[mid] = (self.share_ids[mid], "user input (defence.share)")
                if derived.get(mid, 0.0) > self.share_ids[mid] + 1e-9:
                    col.add(
                        f"defence.share.{mid}",
                        f"the defence systems need "
                        f"{derived[mid]:.3g} of baseline demand of {mid}, more than the "
                        f"defence share {self.share_ids[mid]:g}",
                        expected="a share covering the systems",
                    )
            elif mid in derived:
                out[mid] = (derived[mid], "defence systems x build rates / demand")
                if derived[mid] > 1:
                    col.add(
                        f"defence.share.{mid}",
                        f"the defence systems need "
                        f"{derived[mid]:.3g} times the baseline demand of {mid}",
                        expected="build rates and contents within the EU demand",
                    )
        missing = [m for m in self.universe if m not in out]
        if missing and self.systems:
            col.warnings.append(
                "no defence share for " + ", ".join(missing[:6]) + ": defence demand 0 there"
            )
        return out


def load_checked(kb: KnowledgeBase, path: str | Path) -> EnsembleSpec:
    """Read a specification file; on any problem report all of them, names included.

    Parameters
    ----------
    kb
        Knowledge base (unknown material and country names are reported with the rest).
    path
        YAML or JSON file.

    Raises
    ------
    ScenarioSpecError
        With every problem of the file and its location.
    """
    from critmat.scenarios.spec import read_spec_file

    raw = read_spec_file(path)
    try:
        return parse_spec(raw, source=str(path))
    except ScenarioSpecError as exc:
        problems = exc.problems
    if isinstance(raw, dict):
        problems = problems + _raw_name_problems(raw, kb, str(path))
    raise ScenarioSpecError(problems, source=str(path))


def plan_frame(plan: Plan) -> pd.DataFrame:
    """Baseline table of a plan with defence shares and initial stocks."""
    frame = plan.baseline.table()
    frame["defence_share"] = [plan.defence_share.get(m, (0.0, ""))[0] for m in frame["material"]]
    frame["stock_months"] = [
        float(plan.stocks.get(m, {}).get("initial", 0.0)) for m in frame["material"]
    ]
    return frame
