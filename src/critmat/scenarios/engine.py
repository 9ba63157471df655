"""Monthly stock-flow simulation (METHODS.md §6.2), vectorised over scenario x material x month.

Pure numpy: :class:`StaticInputs` (the compiled scenario, arrays over materials, shocks and
mitigations) and :class:`ShockDraws` (the sampled shock parameters, arrays over scenarios)
go in; arrays come out. Every quantity is a share of the material's baseline monthly demand
(1.0 = one month of baseline demand); stocks are in months of baseline demand.

For scenario s, material m, month t (month t covers [t, t+1) months after the start)::

    cut_k,t    = occurs_k * severity_k * (1 - leakage_k) * W_k,t      W = monthly mean of the
                                                                      ramped shock window
    Base_t     = 1 - sum_k w_k,m cut_k,t                              w = share of baseline
                                                                      supply from the shocked
                                                                      exporters (incl. EoL
                                                                      recycling share = 1)
    Credit_t   = sum_r cap_r ramp_r,t (1 - cut of the partner's country)   partners,
                                                                      substitution, recycling
    D_t        = D_def + D_civ (1 - restraint_t)
    Supply_t   = min(D_t, Base_t + Credit_t)                          what is used
    Gap_t      = D_t - Supply_t
    Release_t  = min(max(Stock_{t-1} - reserve, 0), need_t, cap * allowed_t)
    Purchase_t = min(target - Stock_{t-1}, replenish)  if Gap_t == 0 else 0
    Stock_t    = Stock_{t-1} - Release_t + Purchase_t
    Short_t    = Gap_t - Release_t  ( = max(0, D_t - Supply_t - Release_t) )

``need_t`` is the gap (or the defence gap when the stock is for defence only). Defence
demand is served first with ``defence_first``, else pro rata. Systems not built follow a
fixed recipe: the material with the smallest served share of its defence demand limits
builds. The price ratio is ``(1 - phi_t)^(1/(e_D - e_S))`` capped (METHODS.md §4.2), with
``phi_t = Short_t / D_t`` (or ``Gap_t / D_t``).

Only the stock recursion loops, over months; everything else is whole-array arithmetic, and
no result depends on how scenarios are chunked.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np

__all__ = [
    "OUTPUT_MONTHLY",
    "OUTPUT_SUMMARY",
    "ShockDraws",
    "StaticInputs",
    "bytes_per_scenario",
    "check_stock_flow_balance",
    "simulate",
]

#: Effectively unlimited release cap (share of monthly demand per month).
UNLIMITED = 1e12

_EPS = 1e-12

#: Monthly outputs kept for ensemble statistics (float32, [S, M, T]).
OUTPUT_MONTHLY = ("shortfall", "stock", "price")

#: Per-scenario outputs ([S, M], float64).
OUTPUT_SUMMARY = (
    "cum_shortfall",
    "cum_defence_shortfall",
    "cum_supply_gap",
    "cum_release",
    "peak_shortfall",
    "peak_price",
    "first_shortfall_month",
    "stockout_month",
    "months_to_stockout",
    "first_onset",
)


@dataclass(frozen=True)
class StaticInputs:
    """A compiled scenario: arrays over materials (M), shocks (K), credits (R), systems (J).

    Attributes
    ----------
    horizon
        Months simulated (T).
    shock_weight
        ``[K, M]`` share of baseline supply that shock k cuts at full effect.
    shock_touch
        ``[K, M]`` whether shock k bears on material m (triggers its mitigations).
    defence_share
        ``[M]`` defence share of baseline demand.
    stock0, release_cap, release_delay, reserve, replenish
        ``[M]`` stock policy (months of demand; share of monthly demand per month; months).
    release_defence
        ``[M]`` release to defence demand only.
    credit_material, credit_max, credit_lead, credit_ramp, credit_start
        ``[R]`` supply credits (partners, substitution, extra recycling): material index,
        capacity (share of demand), lead time and ramp (months), trigger at start (else at
        the first onset on the material).
    credit_shock
        ``[K, R]`` 1 where shock k cuts the partner's own country for that material.
    restraint_share, restraint_lead, restraint_ramp
        ``[M]`` demand restraint.
    restraint_start, restraint_all
        ``[M]`` trigger at start; apply to all demand (else civil only).
    defence_first
        Serve defence demand first.
    eps_d, eps_s
        ``[M]`` price elasticities of demand (< 0) and supply (>= 0).
    max_price_ratio
        Cap of the price ratio.
    price_on_gap
        Price from the gap before releases instead of the shortfall.
    system_rate
        ``[J]`` units built per month at baseline.
    system_uses
        ``[J, M]`` whether system j contains material m.
    """

    horizon: int
    shock_weight: np.ndarray
    shock_touch: np.ndarray
    defence_share: np.ndarray
    stock0: np.ndarray
    release_cap: np.ndarray
    release_delay: np.ndarray
    reserve: np.ndarray
    release_defence: np.ndarray
    replenish: np.ndarray
    credit_material: np.ndarray
    credit_max: np.ndarray
    credit_lead: np.ndarray
    credit_ramp: np.ndarray
    credit_start: np.ndarray
    credit_shock: np.ndarray
    restraint_share: np.ndarray
    restraint_lead: np.ndarray
    restraint_ramp: np.ndarray
    restraint_start: np.ndarray
    restraint_all: np.ndarray
    defence_first: bool
    eps_d: np.ndarray
    eps_s: np.ndarray
    max_price_ratio: float
    price_on_gap: bool
    system_rate: np.ndarray
    system_uses: np.ndarray

    @property
    def n_materials(self) -> int:
        """M."""
        return int(self.defence_share.shape[0])

    @property
    def n_shocks(self) -> int:
        """K."""
        return int(self.shock_weight.shape[0])

    @property
    def n_credits(self) -> int:
        """R."""
        return int(self.credit_max.shape[0])

    @property
    def n_systems(self) -> int:
        """J."""
        return int(self.system_rate.shape[0])

    @classmethod
    def simple(
        cls,
        *,
        horizon: int,
        shock_weight: Any,
        defence_share: Any = None,
        stock0: Any = None,
        **kwargs: Any,
    ) -> StaticInputs:
        """Build inputs from a few arrays, the rest at neutral defaults (tests, examples).

        Parameters
        ----------
        horizon
            Months.
        shock_weight
            ``[K, M]`` shares of baseline supply cut by each shock at full effect.
        defence_share, stock0
            ``[M]`` defence shares and initial stocks (default 0).
        **kwargs
            Any other field.
        """
        w = np.atleast_2d(np.asarray(shock_weight, dtype=np.float64))
        k, m = w.shape
        zeros = np.zeros(m)
        base: dict[str, Any] = {
            "horizon": horizon,
            "shock_weight": w,
            "shock_touch": w > 0,
            "defence_share": zeros
            if defence_share is None
            else np.asarray(defence_share, dtype=np.float64),
            "stock0": zeros if stock0 is None else np.asarray(stock0, dtype=np.float64),
            "release_cap": np.full(m, UNLIMITED),
            "release_delay": zeros,
            "reserve": zeros,
            "release_defence": np.zeros(m, dtype=bool),
            "replenish": zeros,
            "credit_material": np.zeros(0, dtype=np.int64),
            "credit_max": np.zeros(0),
            "credit_lead": np.zeros(0),
            "credit_ramp": np.zeros(0),
            "credit_start": np.zeros(0, dtype=bool),
            "credit_shock": np.zeros((k, 0)),
            "restraint_share": zeros,
            "restraint_lead": zeros,
            "restraint_ramp": zeros,
            "restraint_start": np.zeros(m, dtype=bool),
            "restraint_all": np.zeros(m, dtype=bool),
            "defence_first": False,
            "eps_d": np.full(m, -0.3),
            "eps_s": np.full(m, 0.2),
            "max_price_ratio": 10.0,
            "price_on_gap": False,
            "system_rate": np.zeros(0),
            "system_uses": np.zeros((0, m), dtype=bool),
        }
        base.update(kwargs)
        if "shock_touch" not in kwargs:
            base["shock_touch"] = np.asarray(base["shock_weight"]) > 0
        return cls(**base)

    def validate(self) -> None:
        """Check shapes (raises ``ValueError`` naming the field)."""
        m, k, r, j = self.n_materials, self.n_shocks, self.n_credits, self.n_systems
        shapes = {
            "shock_weight": (k, m),
            "shock_touch": (k, m),
            "stock0": (m,),
            "release_cap": (m,),
            "release_delay": (m,),
            "reserve": (m,),
            "release_defence": (m,),
            "replenish": (m,),
            "credit_material": (r,),
            "credit_lead": (r,),
            "credit_ramp": (r,),
            "credit_start": (r,),
            "credit_shock": (k, r),
            "restraint_share": (m,),
            "restraint_lead": (m,),
            "restraint_ramp": (m,),
            "restraint_start": (m,),
            "restraint_all": (m,),
            "eps_d": (m,),
            "eps_s": (m,),
            "system_uses": (j, m),
        }
        for name, shape in shapes.items():
            got = np.shape(getattr(self, name))
            if got != shape:
                raise ValueError(f"StaticInputs.{name} has shape {got}, expected {shape}")


@dataclass(frozen=True)
class ShockDraws:
    """Sampled shock parameters, ``[S, K]`` each (durations ``inf`` = until the horizon)."""

    onset: np.ndarray
    duration: np.ndarray
    severity: np.ndarray
    leakage: np.ndarray
    ramp: np.ndarray
    occurs: np.ndarray

    @property
    def n(self) -> int:
        """Number of scenarios S."""
        return int(self.onset.shape[0])

    def slice(self, start: int, stop: int) -> ShockDraws:
        """Scenarios ``start:stop``."""
        return ShockDraws(**{f.name: getattr(self, f.name)[start:stop] for f in fields(self)})

    @classmethod
    def fixed(
        cls,
        n: int,
        *,
        onset: Any = 0.0,
        duration: Any = np.inf,
        severity: Any = 1.0,
        leakage: Any = 0.0,
        ramp: Any = 0.0,
        occurs: Any = True,
        k: int = 1,
    ) -> ShockDraws:
        """Identical draws for ``n`` scenarios (values broadcast to ``[n, k]``)."""

        def full(v: Any, dtype: Any = np.float64) -> np.ndarray:
            return np.broadcast_to(np.asarray(v, dtype=dtype), (n, k)).copy()

        return cls(
            full(onset),
            full(duration),
            full(severity),
            full(leakage),
            full(ramp),
            full(occurs, bool),
        )


def _ramp_integral(
    u: np.ndarray, r: np.ndarray, inv2r: np.ndarray, out: np.ndarray, tmp: np.ndarray
) -> np.ndarray:
    """``G(u) = ∫_{-inf}^{u} clip(v / r, 0, 1) dv = clip(u, 0, r)^2 / (2r) + max(u - r, 0)``.

    Written into ``out`` (``tmp`` is scratch); ``inv2r = 1 / (2r)``, 0 where ``r = 0`` (a
    step: ``G(u) = max(u, 0)``).
    """
    np.clip(u, 0.0, r, out=tmp)
    np.multiply(tmp, tmp, out=tmp)
    np.multiply(tmp, inv2r, out=tmp)
    np.subtract(u, r, out=out)
    np.maximum(out, 0.0, out=out)
    np.add(out, tmp, out=out)
    return out


def _window(big_t: int, start: np.ndarray, ramp: np.ndarray, end: np.ndarray | None) -> np.ndarray:
    """Mean over each month [t, t+1), t < ``big_t``, of the ramped indicator of [start, end).

    The indicator rises linearly from 0 at ``start`` to 1 at ``start + ramp`` and drops to
    0 at ``end`` (``None`` = never). ``start``, ``ramp`` and ``end`` broadcast together
    (scenario-by-item arrays); the result is ``[T, ...]``. ``G`` is evaluated once on the
    ``T + 1`` month boundaries and differenced (``G`` is monotone in floating point too, so
    every value is >= 0).
    """
    edges = np.arange(big_t + 1, dtype=np.float64).reshape((-1,) + (1,) * np.ndim(start))
    shape = np.broadcast_shapes(
        edges.shape, np.shape(start), np.shape(ramp), () if end is None else np.shape(end)
    )
    r = np.asarray(ramp, dtype=np.float64)
    r = np.where(r > 1e-9, r, 0.0)  # shorter ramps are steps (and 0.5 / r cannot overflow)
    inv2r = np.divide(0.5, r, out=np.zeros(r.shape), where=r > 0)
    x = np.empty(shape)
    if end is None:
        np.subtract(edges, start, out=x)
    else:
        np.minimum(edges, end, out=x)
        np.subtract(x, start, out=x)
    g = _ramp_integral(x, r, inv2r, x, np.empty(shape))
    out = np.subtract(g[1:], g[:-1])
    np.minimum(out, 1.0, out=out)
    return out


def bytes_per_scenario(static: StaticInputs) -> int:
    """Working memory of one scenario in :func:`simulate` (bytes, estimate).

    About 22 float64 ``[T, M]`` arrays alive at once, the shock cuts ``[T, K]``, the
    systems ``[T, J]`` and one credit group at a time (credits with the same lead time,
    ramp and trigger are computed together, at most ``[T, M]`` wide, plus its window).
    """
    t, m = static.horizon, static.n_materials
    credit = 2 * m if static.n_credits else 0
    per_month = 8 * (22 * m + 4 * static.n_shocks + credit + 2 * static.n_systems)
    return int(t * per_month)


def _credit_groups(
    st: StaticInputs,
) -> list[tuple[np.ndarray, np.ndarray, float, float, bool, np.ndarray | None]]:
    """Credits grouped by (lead, ramp, trigger, partner-cut pattern), summed per material.

    Returns ``(materials, capacity, lead, ramp, at_start, shock_hits [K, M_g] or None)``.
    """
    groups: dict[tuple[float, float, bool, bytes], dict[int, float]] = {}
    hits: dict[tuple[float, float, bool, bytes], dict[int, np.ndarray]] = {}
    for r in range(st.n_credits):
        col = st.credit_shock[:, r]
        key = (
            float(st.credit_lead[r]),
            float(st.credit_ramp[r]),
            bool(st.credit_start[r]),
            col.tobytes() if col.any() else b"",
        )
        mat = int(st.credit_material[r])
        g = groups.setdefault(key, {})
        g[mat] = g.get(mat, 0.0) + float(st.credit_max[r])
        if col.any():
            hits.setdefault(key, {})[mat] = col
    out = []
    for key, caps in groups.items():
        mats = np.array(sorted(caps), dtype=np.int64)
        cap = np.array([caps[i] for i in mats])
        h = None
        if key[3]:
            h = np.stack([hits[key][i] for i in mats], axis=1)
        out.append((mats, cap, key[0], key[1], key[2], h))
    return out


def simulate(
    static: StaticInputs,
    draws: ShockDraws,
    *,
    detail: bool = False,
    layout: Literal["smt", "tsm"] = "smt",
) -> dict[str, np.ndarray]:
    """Simulate ``draws.n`` scenarios.

    Parameters
    ----------
    static
        Compiled scenario.
    draws
        Shock parameters for each scenario.
    detail
        Also return every flow as float64 ``[S, M, T]`` arrays (``demand``,
        ``defence_demand``, ``base_supply``, ``credit``, ``supply``, ``gap``, ``release``,
        ``purchase``, ``stock_path``, ``shortfall_f64``, ``defence_shortfall``,
        ``price_f64``) and the stock before month 0 (``stock_start`` [S, M]).
    layout
        ``smt``: the monthly outputs as float32 ``[S, M, T]`` copies. ``tsm``: the
        engine's own float64 ``[T, S, M]`` arrays (month-major, no copy, no transpose),
        for reductions over scenarios chunk by chunk (the runner's statistics).

    Returns
    -------
    dict
        ``shortfall``, ``stock``, ``price`` as float32 ``[S, M, T]`` (``layout="smt"``) or
        float64 ``[T, S, M]`` (``"tsm"``); the per-scenario outcomes of
        :data:`OUTPUT_SUMMARY` as float64 ``[S, M]`` (NaN = never within the horizon);
        ``systems_not_built`` float32 ``[S, J, T]`` (float64 ``[T, S, J]``) and
        ``cum_systems_not_built`` ``[S, J]``.

    Examples
    --------
    A supplier of 60 % of demand (constructed) stops for 10 months; a stock of 2 months of
    demand covers the gap for 3 1/3 months:

    >>> st = StaticInputs.simple(horizon=12, shock_weight=[[0.6]], stock0=[2.0])
    >>> out = simulate(st, ShockDraws.fixed(1, onset=0, duration=10))
    >>> [round(float(x), 2) for x in out["shortfall"][0, 0]]
    [0.0, 0.0, 0.0, 0.4, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.0, 0.0]
    >>> float(out["cum_shortfall"][0, 0]), float(out["months_to_stockout"][0, 0])
    (4.0, 3.0)
    """
    if layout not in ("smt", "tsm"):
        raise ValueError(f"layout must be 'smt' or 'tsm', got {layout!r}")
    st = static
    n, big_t = draws.n, st.horizon
    m = st.n_materials
    shape = (big_t, n, m)
    t0 = np.arange(big_t, dtype=np.float64)[:, None, None]  # [T, 1, 1]

    # ---- shocks: cut [T, S, K] and lost supply [T, S, M]
    if st.n_shocks:
        cut = _window(big_t, draws.onset, draws.ramp, draws.onset + draws.duration)
        cut *= (draws.occurs * draws.severity * (1.0 - draws.leakage))[None]
        base = (cut.reshape(-1, st.n_shocks) @ st.shock_weight).reshape(shape)
        np.subtract(1.0, base, out=base)
        touch = st.shock_touch[None, :, :] & draws.occurs[:, :, None]  # [S, K, M]
        first_onset = np.where(touch, draws.onset[:, :, None], np.inf).min(axis=1)  # [S, M]
        last_end = np.where(touch, (draws.onset + draws.duration)[:, :, None], -np.inf).max(axis=1)
    else:
        cut = np.zeros((big_t, n, 0))
        base = np.ones(shape)
        first_onset = np.full((n, m), np.inf)
        last_end = np.full((n, m), -np.inf)

    # ---- supply credits: partners, substitution, extra recycling
    available = base.copy() if detail else base
    credit = np.zeros(shape) if detail else None
    for mats_c, cap_c, lead, ramp, start, hits in _credit_groups(st):
        # one group = credits with the same lead time, ramp, trigger and partner country:
        # their ramp windows are computed directly in material columns
        trig = (np.zeros((n, len(mats_c))) if start else first_onset[:, mats_c]) + lead
        amount = _window(big_t, trig, np.asarray(ramp), None)  # [T, S, M_g]
        amount *= cap_c
        if hits is not None:  # a partner whose own country is cut loses that share
            pc = np.minimum(cut.reshape(-1, st.n_shocks) @ hits, 1.0).reshape(amount.shape)
            amount *= 1.0 - pc
        if len(mats_c) == m and (mats_c == np.arange(m)).all():
            available += amount
            if credit is not None:
                credit += amount
        else:
            available[:, :, mats_c] += amount
            if credit is not None:
                credit[:, :, mats_c] += amount
        del amount
    del cut

    # ---- demand and restraint: D = D_def + D_civ, restraint on civil (or all) demand
    ds = st.defence_share
    if st.restraint_share.any():
        trig_d = np.where(st.restraint_start[None, :], 0.0, first_onset) + st.restraint_lead
        restr = _window(big_t, trig_d, st.restraint_ramp, last_end)
        restr *= st.restraint_share
        demand_def = np.where(st.restraint_all, ds * (1.0 - restr), ds)
        demand = (1.0 - ds) * (1.0 - restr)
        demand += demand_def
        del restr
    else:
        demand_def = np.broadcast_to(ds, shape)
        demand = np.ones(shape)

    # ---- supply used, gaps and the defence split
    supply = np.minimum(demand, available)
    if not detail:
        del available
    gap = np.subtract(demand, supply)
    if st.defence_first:
        def_supply = np.minimum(demand_def, supply)
    else:
        def_supply = np.divide(supply, demand, out=np.ones(shape), where=demand > 0)
        def_supply *= demand_def
    def_gap = np.subtract(demand_def, def_supply, out=def_supply)
    need = np.where(st.release_defence, def_gap, gap) if st.release_defence.any() else gap
    cap = t0 + 1.0 - (first_onset + st.release_delay)[None]  # release allowed
    np.clip(cap, 0.0, 1.0, out=cap)
    cap *= st.release_cap

    # ---- stock recursion (the only loop: over months)
    release = np.empty(shape)
    purchase = np.zeros(shape) if (detail or st.replenish.any()) else None
    stock_path = np.empty(shape)
    stock = np.broadcast_to(st.stock0, (n, m)).astype(np.float64, copy=True)
    avail = np.empty((n, m))
    target = st.stock0
    replenish = st.replenish.any()
    for t in range(big_t):
        np.subtract(stock, st.reserve, out=avail)
        np.maximum(avail, 0.0, out=avail)
        rel = release[t]
        np.minimum(avail, need[t], out=rel)
        np.minimum(rel, cap[t], out=rel)
        stock -= rel
        if replenish and purchase is not None:
            buy = purchase[t]
            np.subtract(target, stock + rel, out=buy)
            np.maximum(buy, 0.0, out=buy)
            np.minimum(buy, st.replenish, out=buy)
            buy *= gap[t] <= 0.0
            stock += buy
        stock_path[t] = stock
    del cap, avail

    short = np.subtract(gap, release)
    if st.defence_first or st.release_defence.all():
        rel_def = np.minimum(release, def_gap)
    else:
        rel_def = np.divide(def_gap, gap, out=np.zeros(shape), where=gap > 0)
        rel_def *= release
        if st.release_defence.any():
            rel_def = np.where(st.release_defence, np.minimum(release, def_gap), rel_def)
    short_def = np.subtract(def_gap, rel_def, out=rel_def)
    np.maximum(short_def, 0.0, out=short_def)

    # ---- price (METHODS.md §4.2): P/P0 = (1 - phi)^(1 / (e_D - e_S)), capped
    basis = gap if st.price_on_gap else short
    phi = np.divide(basis, demand, out=np.zeros(shape), where=demand > 0)
    price = np.ones(shape)
    hit_p = phi > 0
    if hit_p.any():
        expo = np.broadcast_to(1.0 / (st.eps_d - st.eps_s), shape)[hit_p]
        price[hit_p] = np.minimum(
            np.power(np.maximum(1.0 - phi[hit_p], _EPS), expo), st.max_price_ratio
        )
    del phi, hit_p

    # ---- systems not built (fixed recipe: the scarcest material binds)
    j = st.n_systems
    not_built = np.zeros((big_t, n, j))
    if j:
        frac = np.divide(
            demand_def - short_def, demand_def, out=np.ones(shape), where=demand_def > 0
        )
        for k in range(j):  # a handful of systems; vectorised over scenarios and months
            uses = st.system_uses[k]
            built = frac[:, :, uses].min(axis=-1) if uses.any() else np.ones((big_t, n))
            not_built[:, :, k] = st.system_rate[k] * (1.0 - built)
        del frac

    # ---- per-scenario outcomes
    tidx = np.arange(big_t, dtype=np.float64)[:, None, None]
    first_short = np.where(short > 1e-9, tidx, np.inf).min(axis=0)
    depleted = need > 1e-9
    depleted &= release < need - 1e-9
    depleted &= stock_path <= st.reserve + 1e-9
    stockout = np.where(depleted, tidx, np.inf).min(axis=0)
    del depleted
    to_stockout = np.maximum(stockout - np.where(np.isfinite(first_onset), first_onset, 0.0), 0.0)

    def nan_inf(a: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(a), a, np.nan)

    def monthly(a: np.ndarray) -> np.ndarray:
        if layout == "tsm":
            return a
        return np.ascontiguousarray(a.transpose(1, 2, 0), dtype=np.float32)

    out: dict[str, np.ndarray] = {
        "shortfall": monthly(short),
        "stock": monthly(stock_path),
        "price": monthly(price),
        "cum_shortfall": short.sum(axis=0),
        "cum_defence_shortfall": short_def.sum(axis=0),
        "cum_supply_gap": gap.sum(axis=0),
        "cum_release": release.sum(axis=0),
        "peak_shortfall": short.max(axis=0),
        "peak_price": price.max(axis=0),
        "first_shortfall_month": nan_inf(first_short),
        "stockout_month": nan_inf(stockout),
        "months_to_stockout": nan_inf(to_stockout),
        "first_onset": nan_inf(first_onset),
        "systems_not_built": monthly(not_built),
        "cum_systems_not_built": not_built.sum(axis=0),
    }
    if detail:

        def sm(a: np.ndarray) -> np.ndarray:
            return np.broadcast_to(a, shape).transpose(1, 2, 0).copy()  # own, writable

        out.update(
            {
                "demand": sm(demand),
                "defence_demand": sm(demand_def),
                "base_supply": sm(base),
                "credit": sm(credit if credit is not None else np.zeros(shape)),
                "supply": sm(supply),
                "gap": sm(gap),
                "release": sm(release),
                "purchase": sm(purchase if purchase is not None else np.zeros(shape)),
                "stock_path": sm(stock_path),
                "shortfall_f64": sm(short),
                "defence_shortfall": sm(short_def),
                "price_f64": sm(price),
                "stock_start": np.broadcast_to(st.stock0, (n, m)).astype(np.float64),
            }
        )
    return out


def check_stock_flow_balance(
    result: dict[str, np.ndarray], *, tol: float = 1e-9, strict: bool = True
) -> float:
    """Check the inventory balance of a ``simulate(..., detail=True)`` result.

    Every month: ``Stock_t - Stock_{t-1} = Purchase_t - Release_t`` and
    ``Supply_t + Release_t + Short_t = Demand_t``; stocks never negative.

    Parameters
    ----------
    result
        Output of :func:`simulate` with ``detail=True``.
    tol
        Largest allowed absolute error (shares of monthly demand).
    strict
        Raise ``AssertionError`` on a violation (else warn).

    Returns
    -------
    float
        The largest absolute error found.
    """
    stock = result["stock_path"]
    prev = np.concatenate([result["stock_start"][:, :, None], stock[:, :, :-1]], axis=2)
    err_stock = np.abs((stock - prev) - (result["purchase"] - result["release"]))
    err_flow = np.abs(
        result["supply"] + result["release"] + result["shortfall_f64"] - result["demand"]
    )
    worst = float(
        max(
            err_stock.max(initial=0.0), err_flow.max(initial=0.0), -min(stock.min(initial=0.0), 0.0)
        )
    )
    if worst > tol:
        msg = f"stock-flow balance violated by {worst:.3g} (tolerance {tol:g})"
        if strict:
            raise AssertionError(msg)
        import warnings

        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return worst
