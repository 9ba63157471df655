"""Baseline supply structure and demand of each simulated material, from the knowledge base.

For material m at its simulated stage:

* **Suppliers.** The supplier mix of the selection layer (``kb.select.supply_mix``, shares of
  the ``supply_vintage``, default the newest per material, stage and mix): the EU 2023 CRM
  study's EU sourcing shares (EU domestic production plus extra-EU imports, by country)
  where they pass the supply-input checks (status ``ok``). EU-sourcing rows the checks flag
  (non-EU shares that contradict the EU import reliance, or a copy of the global rows, e.g.
  germanium, arsenic) are replaced by the global mix split by import reliance (status
  ``eu_sourcing_inconsistent``); where the study gives no EU sourcing shares (e.g.
  palladium, dysprosium) the global supply shares stand in (``global_mix_fallback``). The
  checks run on the selected rows before every scenario, so imported shares are checked too.
  Shares that do not add up to 1 are closed with an ``OTHER`` supplier (origins below the
  study's 1 % threshold, EU production not attributed to a member state; never cut by a
  country shock) or rescaled when they exceed 1 by rounding. See docs/scenarios.md.
* **Recycling.** A share ``eol_rir`` of demand is met by end-of-life recycling
  (``eu_crm_2023_parameters``, else ``materials.eol_rir``, else 0); the sourcing mix
  supplies the rest: ``q_c = (1 - eol_rir) * share_c`` of baseline demand.
* **Demand.** Simulation runs in shares of baseline monthly demand (1 = one month of
  baseline demand). Tonnes are attached where the data allow: EU27 apparent consumption
  (World Mining Data production + BACI extra-EU imports - exports, through
  :mod:`critmat.methods.dependency`) at the extraction stage, averaged over the latest five
  years with data; a user value (``settings.<material>.annual_demand_t``) overrides it.
  Processing-stage demand has no tonnage (World Mining Data has no processing production).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.errors import ScenarioError
from critmat.methods.supply import NEWEST
from critmat.vocab import NirStatus, SupplyMixStatus

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "OTHER",
    "Baseline",
    "build_baseline",
    "default_stage",
    "default_stages",
    "supply_options",
]

#: Supplier code of the share of sourcing not attributed to a country.
OTHER = "OTHER"


def _cached(kb: KnowledgeBase, key: Hashable, build: Any) -> Any:
    """Derived inputs live in the knowledge base's cache: they die with its data."""
    return kb.cache.get(("scenarios.baseline", key), build)


def _shares(kb: KnowledgeBase, vintage: str = NEWEST) -> pd.DataFrame:
    """The supplier mix of every material and stage (with fallback and status), cached."""

    def build() -> pd.DataFrame:
        out = kb.select.supply_mix(None, vintage=vintage, where="supply_vintage")
        out = out.rename(columns={"mix_used": "mix"})
        out["share"] = out["share"].astype("float64")
        return out

    result: pd.DataFrame = _cached(kb, ("shares", vintage), build)
    return result


def _options(kb: KnowledgeBase, vintage: str = NEWEST) -> pd.DataFrame:
    """:func:`supply_options`, built once per knowledge base and vintage (never change it)."""

    def build() -> pd.DataFrame:
        s = _shares(kb, vintage)
        g = s.groupby(["material", "stage"], as_index=False, sort=True)
        out = g.agg(
            mix=("mix", "first"),
            mix_status=("mix_status", "first"),
            n_countries=("country", "count"),
            share_sum=("share", "sum"),
        )
        # the distinct vintages and reference years of each group, in one pass
        code = g.ngroup().to_numpy()
        for col in ("vintage", "reference_years"):
            seen: list[set[str]] = [set() for _ in range(len(out))]
            values = s[col].to_numpy(dtype=object)
            for i in np.flatnonzero(s[col].notna().to_numpy(dtype=bool)).tolist():
                seen[code[i]].add(str(values[i]))
            out.insert(
                list(out.columns).index("mix_status") + 1 + (col == "reference_years"),
                col,
                [";".join(sorted(v)) for v in seen],
            )
        return out

    result: pd.DataFrame = _cached(kb, ("options", vintage), build)
    return result


def supply_options(kb: KnowledgeBase, vintage: str = NEWEST) -> pd.DataFrame:
    """Which (material, stage) combinations have a supplier mix, and which mix.

    Parameters
    ----------
    kb
        Knowledge base.
    vintage
        ``supply_vintage``: ``newest`` or a vintage of the supply shares.

    Returns
    -------
    pandas.DataFrame
        ``material, stage, mix (eu_sourcing, global_ir_split, global), mix_status, vintage,
        reference_years, n_countries, share_sum``.
    """
    return _options(kb, kb.select.supply_vintage(vintage, where="supply_vintage")).copy()


def _by_key(
    kb: KnowledgeBase, vintage: str = NEWEST
) -> dict[tuple[str, str, str], dict[str, float]]:
    """``{(material, stage, mix): {country: share}}`` (no country -> OTHER), once per kb."""

    def build() -> dict[tuple[str, str, str], dict[str, float]]:
        s = _shares(kb, vintage)
        out: dict[tuple[str, str, str], dict[str, float]] = {}
        for m, st, mx, c, v in zip(
            s["material"], s["stage"], s["mix"], s["country"], s["share"], strict=True
        ):
            key = OTHER if c is None or pd.isna(c) else str(c)  # residual / EU not attributed
            row = out.setdefault((m, st, mx), {})
            row[key] = row.get(key, 0.0) + float(v)
        return out

    result: dict[tuple[str, str, str], dict[str, float]] = _cached(kb, ("by_key", vintage), build)
    return result


#: Preference of the simulated mix: EU sourcing (as published, or its IR split fallback)
#: before the global mix.
_MIX_RANK = {"eu_sourcing": 0, "global_ir_split": 0, "global": 1}


def _choices(
    kb: KnowledgeBase, vintage: str = NEWEST
) -> tuple[dict[str, tuple[str, str]], dict[tuple[str, str], str]]:
    """Default ``(stage, mix)`` per material and the mix per ``(material, stage)``, per kb.

    The preferences of :func:`default_stage`, over the whole options table at once.
    """

    def build() -> tuple[dict[str, tuple[str, str]], dict[tuple[str, str], str]]:
        o = _options(kb, vintage)
        mixes = {
            (str(m), str(st)): str(mx)
            for m, st, mx in zip(o["material"], o["stage"], o["mix"], strict=True)
        }
        rank = o.assign(
            _m=o["mix"].map(_MIX_RANK).fillna(2), _s=(o["stage"] != "processing").astype(int)
        ).sort_values(["material", "_m", "_s"], kind="stable")
        first = rank.drop_duplicates("material")
        defaults = {
            str(m): (str(st), str(mx))
            for m, st, mx in zip(first["material"], first["stage"], first["mix"], strict=True)
        }
        return defaults, mixes

    result: tuple[dict[str, tuple[str, str]], dict[tuple[str, str], str]] = _cached(
        kb, ("choices", vintage), build
    )
    return result


def _mix_meta(
    kb: KnowledgeBase, vintage: str = NEWEST
) -> dict[tuple[str, str], tuple[str, str, str]]:
    """``{(material, stage): (mix_status, vintage, reference_years)}``, once per kb."""

    def build() -> dict[tuple[str, str], tuple[str, str, str]]:
        o = _options(kb, vintage)
        return {
            (str(m), str(st)): (str(ms), str(v), str(y))
            for m, st, ms, v, y in zip(
                o["material"],
                o["stage"],
                o["mix_status"],
                o["vintage"],
                o["reference_years"],
                strict=True,
            )
        }

    result: dict[tuple[str, str], tuple[str, str, str]] = _cached(kb, ("meta", vintage), build)
    return result


def default_stages(kb: KnowledgeBase, vintage: str = NEWEST) -> dict[str, tuple[str, str]]:
    """``{material: (stage, mix)}`` simulated by default (:func:`default_stage`), per kb."""
    return dict(_choices(kb, kb.select.supply_vintage(vintage, where="supply_vintage"))[0])


def default_stage(options: pd.DataFrame, material: str) -> tuple[str, str] | None:
    """Stage and mix simulated by default for ``material``, or ``None`` without data.

    Preference: EU sourcing (or its checked fallback) at processing, then at extraction,
    then the global mix at processing, then at extraction (processing is the refined
    material industry buys).
    """
    o = options[options["material"] == material]
    if o.empty:
        return None
    rank = o.assign(
        _m=o["mix"].map(_MIX_RANK).fillna(2), _s=(o["stage"] != "processing").astype(int)
    ).sort_values(["_m", "_s"], kind="stable")
    first = rank.iloc[0]
    return str(first["stage"]), str(first["mix"])


def _eol_rir(kb: KnowledgeBase) -> dict[str, float]:
    def build() -> dict[str, float]:
        out: dict[str, float] = {}
        mats = kb.table("materials")
        for m, v in zip(mats["material"], mats["eol_rir"], strict=True):
            if pd.notna(v):
                out[str(m)] = float(v)
        params = kb.table("eu_crm_2023_parameters")
        for m, v in zip(params["material"], params["eol_rir"], strict=True):
            if pd.notna(v):
                out[str(m)] = float(v)
        return out

    result: dict[str, float] = _cached(kb, "eol_rir", build)
    return result


def _consumption_rows(kb: KnowledgeBase, materials: list[str]) -> dict[str, dict[str, Any]]:
    """Per material with status-ok years: mean EU27 apparent consumption of the latest 5."""
    years = kb.catalog.table("production").stats.get("years")
    span = f"{years[0]}-{years[1]}" if years else None  # no production, no consumption
    nir = kb.indicators.net_import_reliance(
        materials=materials, importers="EU27", stage="extraction", years=span
    )
    ok = nir[(nir["status"] == NirStatus.OK) & (nir["apparent_consumption_t"] > 0)]
    rows: dict[str, dict[str, Any]] = {}
    if ok.empty:
        return rows
    ok = ok.sort_values("year")
    for m, g in ok.groupby("material", sort=True):
        last = g.tail(5)
        rows[str(m)] = {
            "material": m,
            "annual_t": float(last["apparent_consumption_t"].mean()),
            "years": f"{int(last['year'].min())}-{int(last['year'].max())}",
        }
    return rows


def _apparent_consumption(kb: KnowledgeBase, needed: list[str]) -> pd.DataFrame:
    """EU27 apparent consumption at extraction, mean of the latest 5 years with status ok.

    Computed for the materials simulated at extraction by default plus ``needed``. NIR is
    per material (the values do not depend on which other materials are computed, see
    ``tests/regression/test_fast_paths.py``): each material's row is kept in the knowledge
    base's cache, and a call computes only the materials no earlier call did, so every
    preset, the assessment and the report share them whatever set each asks for.
    """
    by_default = {m for m, (stage, _mix) in _choices(kb)[0].items() if stage == "extraction"}
    wanted = sorted(by_default | set(needed))

    def key(m: str) -> tuple[str, str]:
        return ("apparent_consumption_of", m)

    missing = [m for m in wanted if ("scenarios.baseline", key(m)) not in kb.cache]
    if missing:
        computed = _consumption_rows(kb, missing)
        for m in missing:  # None: no status-ok year (kept too: never computed again)
            _cached(kb, key(m), lambda m=m: computed.get(m))
    rows = [r for m in wanted if (r := _cached(kb, key(m), lambda: None)) is not None]
    if not rows:
        return pd.DataFrame(columns=["material", "annual_t", "years"])
    return pd.DataFrame(rows)


@dataclass
class Baseline:
    """Supply structure and demand of the simulated materials (arrays over materials).

    Attributes
    ----------
    materials
        Material ids, in simulation order.
    stage, mix
        Simulated stage and the supply mix used (``eu_sourcing`` or ``global``).
    countries
        Supplier codes (ISO-3 and ``OTHER``), the columns of ``shares``.
    shares
        ``[M, C]`` share of each supplier in primary (non-recycled) supply; rows sum to 1.
    eol_rir
        ``[M]`` share of demand met by end-of-life recycling.
    annual_demand_t
        ``[M]`` EU baseline demand in tonnes per year (NaN where unknown).
    demand_basis
        How the tonnes were obtained, or why there are none.
    notes
        Per material remarks (stand-in mixes, unattributed shares, ...).
    mix_status
        Per material :class:`~critmat.vocab.SupplyMixStatus`: ``ok``,
        ``eu_sourcing_inconsistent`` (flagged EU-sourcing rows, fallback used) or
        ``global_mix_fallback``.
    vintage, reference_years
        Per material the supply-share vintage(s) used and the years they describe.
    supply_vintage
        The ``supply_vintage`` asked for (``newest`` or a vintage name).
    """

    materials: list[str]
    stage: list[str]
    mix: list[str]
    countries: list[str]
    shares: np.ndarray
    eol_rir: np.ndarray
    annual_demand_t: np.ndarray
    demand_basis: list[str]
    notes: dict[str, list[str]] = field(default_factory=dict)
    mix_status: list[str] = field(default_factory=list)
    vintage: list[str] = field(default_factory=list)
    reference_years: list[str] = field(default_factory=list)
    supply_vintage: str = NEWEST

    @property
    def supply(self) -> np.ndarray:
        """``[M, C]`` baseline monthly supply from each supplier, share of baseline demand."""
        out: np.ndarray = self.shares * (1.0 - self.eol_rir)[:, None]
        return out

    @property
    def monthly_demand_t(self) -> np.ndarray:
        """``[M]`` baseline demand in tonnes per month (NaN where unknown)."""
        out: np.ndarray = self.annual_demand_t / 12.0
        return out

    def index(self, material: str) -> int:
        """Position of ``material``."""
        return self.materials.index(material)

    def table(self) -> pd.DataFrame:
        """One row per material: stage, mix, recycling, top suppliers, demand and its basis."""
        rows = []
        for i, m in enumerate(self.materials):
            sup = self.supply[i]
            order = np.argsort(-sup)
            top = ", ".join(f"{self.countries[j]} {sup[j]:.0%}" for j in order[:3] if sup[j] > 0)
            chn = self.countries.index("CHN") if "CHN" in self.countries else None
            rows.append(
                {
                    "material": m,
                    "stage": self.stage[i],
                    "mix": self.mix[i],
                    "mix_status": self.mix_status[i] if self.mix_status else None,
                    "supply_vintage": self.vintage[i] if self.vintage else None,
                    "reference_years": self.reference_years[i] if self.reference_years else None,
                    "eol_rir": float(self.eol_rir[i]),
                    "china_share": float(sup[chn]) if chn is not None else 0.0,
                    "top_suppliers": top,
                    "annual_demand_t": float(self.annual_demand_t[i]),
                    "demand_basis": self.demand_basis[i],
                    "notes": "; ".join(self.notes.get(m, [])),
                }
            )
        return pd.DataFrame(rows)

    def supplier_frame(self) -> pd.DataFrame:
        """Tidy ``material, stage, mix, country, share, supply_share`` (non-zero rows)."""
        i, j = np.nonzero(self.shares)
        return pd.DataFrame(
            {
                "material": np.asarray(self.materials, dtype=object)[i],
                "stage": np.asarray(self.stage, dtype=object)[i],
                "mix": np.asarray(self.mix, dtype=object)[i],
                "country": np.asarray(self.countries, dtype=object)[j],
                "share": self.shares[i, j],
                "supply_share": self.supply[i, j],
            }
        )


def build_baseline(
    kb: KnowledgeBase,
    materials: list[str],
    stages: dict[str, str] | None = None,
    *,
    annual_demand_t: dict[str, float] | None = None,
    eol_rir: dict[str, float] | None = None,
    supply_vintage: str = NEWEST,
) -> Baseline:
    """Build the baseline of ``materials`` (canonical ids) from the knowledge base.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Material ids in simulation order.
    stages
        Stage per material (default :func:`default_stage`).
    annual_demand_t
        User demand in tonnes per year, per material (overrides apparent consumption).
    eol_rir
        User end-of-life recycling input rates, per material.
    supply_vintage
        Vintage of the supply shares (``newest``: per material, stage and mix the newest
        available; or a vintage name), checked by the selection layer.

    Returns
    -------
    Baseline

    Raises
    ------
    critmat.errors.ScenarioError
        When a material has no supply shares at the requested stage.
    """
    stages = dict(stages or {})
    vintage = kb.select.supply_vintage(supply_vintage, where="supply_vintage")
    defaults, mixes = _choices(kb, vintage)
    by_key = _by_key(kb, vintage)
    meta = _mix_meta(kb, vintage)
    rir_kb = _eol_rir(kb)
    user_t = dict(annual_demand_t or {})
    user_rir = dict(eol_rir or {})
    chosen: list[tuple[str, str]] = []
    for m in materials:
        if m in stages:
            mix = mixes.get((m, stages[m]))
            if mix is None:
                raise ScenarioError(
                    f"{m} has no supply shares at the {stages[m]} stage (supply_vintage {vintage})",
                    code="no_supply_data",
                )
            chosen.append((stages[m], mix))
        else:
            d = defaults.get(m)
            if d is None:
                raise ScenarioError(
                    f"{m} has no supply shares (supply_vintage {vintage})",
                    code="no_supply_data",
                )
            chosen.append(d)
    rows = []
    status: list[str] = []
    used: list[str] = []
    ref_years: list[str] = []
    for m, (stage, mix) in zip(materials, chosen, strict=True):
        rows.append(dict(by_key.get((m, stage, mix), {})))
        st_, v_, y_ = meta[(m, stage)]
        status.append(st_)
        used.append(v_)
        ref_years.append(y_)
    countries = [*sorted({c for r in rows for c in r} - {OTHER}), OTHER]
    col = {c: j for j, c in enumerate(countries)}
    mat = np.zeros((len(materials), len(countries)))
    notes: dict[str, list[str]] = {m: [] for m in materials}
    for i, (m, r) in enumerate(zip(materials, rows, strict=True)):
        for c, v in r.items():
            mat[i, col[c]] += v
        total = mat[i].sum()
        if total > 1.0:
            mat[i] /= total
            if total > 1.0 + 1e-9:
                notes[m].append(f"shares summed to {total:.3f}; rescaled to 1")
        else:
            mat[i, col[OTHER]] = 1.0 - total
            if 1.0 - total > 0.05:
                notes[m].append(
                    f"{1 - total:.0%} of sourcing not attributed to a country in "
                    f"{used[i]} (kept as OTHER, never cut by country shocks)"
                )
        if mat[i, col[OTHER]] > 0.05 and total >= 1.0 - 0.05:
            notes[m].append(
                f"{mat[i, col[OTHER]]:.0%} of supply has no country (residual or EU "
                "production not attributed to a member state; kept as OTHER)"
            )
        stage, mix = chosen[i]
        if status[i] == SupplyMixStatus.GLOBAL_MIX_FALLBACK:
            notes[m].append(
                f"global_mix_fallback: no usable EU sourcing shares at {stage}; global "
                f"supply shares stand in ({used[i]}, {ref_years[i]})"
            )
        elif status[i] == SupplyMixStatus.EU_SOURCING_INCONSISTENT:
            how = (
                "the global mix split by EU import reliance (1 - IR to EU producers, IR to "
                "the rest)"
                if mix == "global_ir_split"
                else "the global mix"
                if mix == "global"
                else "the flagged rows (no global mix)"
            )
            notes[m].append(
                f"eu_sourcing_inconsistent: the EU 2023 EU-sourcing rows at {stage} fail the "
                f"supply-input checks; {how} ({used[i]}, {ref_years[i]}) stands in"
            )
    rir = np.array([user_rir.get(m, rir_kb.get(m, 0.0)) for m in materials], dtype=np.float64)
    for m in materials:
        if m not in user_rir and m not in rir_kb:
            notes[m].append("no end-of-life recycling input rate: 0 assumed")
    demand = np.full(len(materials), np.nan)
    basis: list[str] = []
    need_ac = [
        m for i, m in enumerate(materials) if m not in user_t and chosen[i][0] == "extraction"
    ]
    ac = (
        _apparent_consumption(kb, need_ac)
        if need_ac
        else pd.DataFrame(columns=["material", "annual_t", "years"])
    )
    ac_map = {
        str(r.material): (float(r.annual_t), str(r.years)) for r in ac.itertuples(index=False)
    }
    for i, m in enumerate(materials):
        if m in user_t:
            demand[i] = float(user_t[m])
            basis.append("user input (settings.annual_demand_t)")
        elif chosen[i][0] == "extraction" and m in ac_map:
            demand[i], years = ac_map[m]
            basis.append(
                f"EU27 apparent consumption {years} mean, extraction stage (World "
                "Mining Data production + BACI extra-EU net imports; mixed content "
                "bases, see materials.measured_as)"
            )
        elif chosen[i][0] == "extraction":
            basis.append(
                "normalised: no EU27 apparent consumption at extraction (missing "
                "HS codes, production or consumption)"
            )
        else:
            basis.append(
                "normalised: no tonnage at the processing stage (World Mining Data "
                "has no processing production)"
            )
    return Baseline(
        materials=list(materials),
        stage=[c[0] for c in chosen],
        mix=[c[1] for c in chosen],
        countries=countries,
        shares=mat,
        eol_rir=rir,
        annual_demand_t=demand,
        demand_basis=basis,
        notes={m: n for m, n in notes.items() if n},
        mix_status=status,
        vintage=used,
        reference_years=ref_years,
        supply_vintage=vintage,
    )


def eu_apparent_consumption(kb: KnowledgeBase, materials: list[str] | None = None) -> pd.DataFrame:
    """EU27 apparent consumption at extraction per material (``material, annual_t, years``).

    The baseline's demand in tonnes (mean of the latest five years with status ok), cached
    on the knowledge base; also the physical baseline of the decisions layer. Computed for
    the materials simulated at extraction by default plus ``materials`` (canonical ids).
    """
    return _apparent_consumption(kb, list(materials or []))
