"""Results of an ensemble run: tidy frames of statistics, outcomes and draws.

Units (also in each frame's provenance):

* ``shortfall`` (monthly): share of the material's baseline monthly demand not served;
* ``cum_shortfall`` / ``shortfall_*`` (summary): months of baseline demand not served over
  the horizon (sum of the monthly shares); ``*_t`` columns: the same in tonnes where the
  baseline demand is known in tonnes (NaN otherwise);
* ``defence_shortfall_*``: months of baseline *defence* demand not served;
* ``stock``: months of baseline demand in stock at the end of the month;
* ``price``: price relative to the pre-shock price (1 = unchanged);
* months are counted from the start of the simulation (month 0 is the first month);
  ``months_to_stockout`` from the first shock's onset on the material.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.scenarios import stats
from critmat.scenarios.spec import EnsembleSpec

if TYPE_CHECKING:
    from critmat.scenarios.engine import ShockDraws
    from critmat.scenarios.plan import Plan

__all__ = ["UNITS", "EnsembleResult", "assemble", "pct_label"]

#: Units of the result columns.
UNITS = {
    "shortfall": "share of baseline monthly demand",
    "stock": "months of baseline demand",
    "price": "ratio to pre-shock price",
    "shortfall_mean": "months of baseline demand",
    "shortfall_t_mean": "t",
    "defence_shortfall_mean": "months of baseline defence demand",
    "months_to_stockout": "months after onset",
    "systems_not_built": "units",
    "p_shortfall": "probability",
    "p_stockout": "probability",
}

_FRAMES = ("summary", "monthly", "outcomes", "draws", "systems", "systems_outcomes", "baseline")


def pct_label(q: float) -> str:
    """Column suffix of percentile ``q``: ``5 -> 'p5'``, ``97.5 -> 'p97.5'``."""
    return f"p{q:g}"


def _alpha_label(alpha: float) -> str:
    return f"{alpha * 100:g}"


#: Frames with one row per scenario, built on first access (see :class:`EnsembleResult`).
_PER_SCENARIO = ("outcomes", "draws", "systems_outcomes")


class EnsembleResult:
    """An ensemble run: the specification, statistics, per-scenario outcomes and draws.

    The frames with one row per scenario (``outcomes``, ``draws``, ``systems_outcomes``)
    may be given as frames or as functions that build them; they are then built on first
    access (a million scenarios x 34 materials is 34 million outcome rows, about 3 GB,
    which a run does not need to hold for its statistics).

    Attributes
    ----------
    spec
        The ensemble specification that was run (samples as run).
    summary
        One row per material: probability of any shortfall, expected shortfall, percentiles,
        VaR and CVaR, defence shortfall, stock-out statistics and peak prices.
    monthly
        ``material, month, variable`` (shortfall, stock, price) with mean, percentiles,
        for shortfall the probability of a shortfall in that month (fan charts), and
        ``percentile_error``, the largest error of the percentiles (0 when exact, half a
        histogram bin when computed from the run's monthly sketch; see ``meta``).
    outcomes
        One row per scenario and material (cumulative shortfall, months to stock-out, ...).
    draws
        One row per scenario and shock: the sampled parameters.
    systems
        One row per defence system: units not built (mean, percentiles, probability, CVaR).
    systems_outcomes
        One row per scenario and system.
    baseline
        The baseline per material (stage, mix, suppliers, demand and its basis).
    meta
        Run information: versions, engine, wall time, chunks, statistics, warnings, notes.
    arrays
        The raw arrays (``shortfall``, ``stock``, ``price`` as ``[S, M, T]``) when kept.
    run_id
        Id in the run store, once saved.
    """

    def __init__(
        self,
        spec: EnsembleSpec,
        summary: pd.DataFrame,
        monthly: pd.DataFrame,
        outcomes: pd.DataFrame | Callable[[], pd.DataFrame],
        draws: pd.DataFrame | Callable[[], pd.DataFrame],
        systems: pd.DataFrame,
        systems_outcomes: pd.DataFrame | Callable[[], pd.DataFrame],
        baseline: pd.DataFrame,
        meta: dict[str, Any] | None = None,
        arrays: dict[str, np.ndarray] | None = None,
        run_id: str | None = None,
    ) -> None:
        self.spec = spec
        self.summary = summary
        self.monthly = monthly
        self.systems = systems
        self.baseline = baseline
        self.meta: dict[str, Any] = {} if meta is None else meta
        self.arrays = arrays
        self.run_id = run_id
        self._frames: dict[str, pd.DataFrame] = {}
        self._builders: dict[str, Callable[[], pd.DataFrame]] = {}
        for name, value in (
            ("outcomes", outcomes),
            ("draws", draws),
            ("systems_outcomes", systems_outcomes),
        ):
            if isinstance(value, pd.DataFrame):
                self._frames[name] = value
            else:
                self._builders[name] = value

    def __getstate__(self) -> dict[str, Any]:
        # the builders are closures: build every frame before pickling
        for name in list(self._builders):
            self._lazy(name)
        return dict(self.__dict__)

    def _lazy(self, name: str) -> pd.DataFrame:
        frame = self._frames.get(name)
        if frame is None:
            frame = self._builders.pop(name)()
            _provenance(frame, self.spec, self.meta, name)
            self._frames[name] = frame
        return frame

    @property
    def outcomes(self) -> pd.DataFrame:
        """One row per scenario and material (built on first access)."""
        return self._lazy("outcomes")

    @outcomes.setter
    def outcomes(self, frame: pd.DataFrame) -> None:
        self._builders.pop("outcomes", None)
        self._frames["outcomes"] = frame

    @property
    def draws(self) -> pd.DataFrame:
        """One row per scenario and shock: the sampled parameters (built on first access)."""
        return self._lazy("draws")

    @draws.setter
    def draws(self, frame: pd.DataFrame) -> None:
        self._builders.pop("draws", None)
        self._frames["draws"] = frame

    @property
    def systems_outcomes(self) -> pd.DataFrame:
        """One row per scenario and defence system (built on first access)."""
        return self._lazy("systems_outcomes")

    @systems_outcomes.setter
    def systems_outcomes(self, frame: pd.DataFrame) -> None:
        self._builders.pop("systems_outcomes", None)
        self._frames["systems_outcomes"] = frame

    @property
    def name(self) -> str:
        """Scenario name."""
        return self.spec.scenario.name

    @property
    def samples(self) -> int:
        """Number of scenarios simulated."""
        return int(self.meta.get("samples", self.spec.samples))

    def frames(self) -> dict[str, pd.DataFrame]:
        """All result frames by name."""
        return {n: getattr(self, n) for n in _FRAMES}

    def frame(self, name: str) -> pd.DataFrame:
        """One result frame by name.

        Names: ``summary``, ``monthly``, ``outcomes``, ``draws``, ``systems``,
        ``systems_outcomes``, ``baseline``.
        """
        if name not in _FRAMES:
            from critmat.errors import UnknownNameError, closest

            raise UnknownNameError("result table", name, suggestions=closest(name, _FRAMES))
        out: pd.DataFrame = getattr(self, name)
        return out

    def __repr__(self) -> str:
        s = self.summary
        worst = s.sort_values("shortfall_mean", ascending=False).head(3)
        lines = [
            f"<EnsembleResult '{self.name}': {self.samples} scenarios x "
            f"{len(s)} materials x {self.spec.scenario.horizon_months} months"
            + (f", run {self.run_id}" if self.run_id else "")
            + ">"
        ]
        for r in worst.itertuples(index=False):
            lines.append(
                f"  {r.material:<16} P(shortfall) {r.p_shortfall:6.1%}  expected "
                f"{r.shortfall_mean:6.2f} months of demand"
            )
        return "\n".join(lines)


def _provenance(
    frame: pd.DataFrame, spec: EnsembleSpec, meta: dict[str, Any], name: str
) -> pd.DataFrame:
    from critmat.provenance import Provenance, attach

    prov = Provenance(
        method=f"scenario_ensemble:{name}",
        method_version=str(meta.get("critmat_version", "")),
        dataset_version=str(meta.get("dataset_version", "")),
        dataset_hash=str(meta.get("dataset_hash", "")),
        sources=list(meta.get("sources", [])),
        parameters={
            "scenario": spec.scenario.name,
            "samples": meta.get("samples"),
            "seed": spec.seed,
            "cvar_level": spec.cvar_level,
            "horizon_months": spec.scenario.horizon_months,
        },
        units={k: v for k, v in UNITS.items() if k in frame.columns or k == name},
        notes=list(meta.get("notes", [])),
    )
    return attach(frame, prov)


def _column_blocks(n_cols: int, width: int = 4) -> list[slice]:
    """Slices of at least two columns (a single column is reduced in another order)."""
    edges = [*range(0, n_cols, width), n_cols]
    if len(edges) > 2 and edges[-1] - edges[-2] == 1:
        del edges[-2]
    return [slice(a, b) for a, b in itertools.pairwise(edges)]


def _by_columns(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """``fn(x)`` over the scenario axis, evaluated on blocks of columns of ``x`` [S, M].

    Keeps the temporaries of sorts and of float64 conversions to a few columns of a large
    ensemble. The values are those of ``fn(x)``: each statistic is computed per column, in
    the same order, whatever the block.
    """
    if x.ndim != 2 or x.nbytes <= 64e6 or x.shape[1] < 2:
        return fn(x)
    return np.concatenate([np.asarray(fn(x[:, sl])) for sl in _column_blocks(x.shape[1])], axis=-1)


def _outcomes_builder(
    mats: list[str], totals: Mapping[str, np.ndarray], monthly_t: np.ndarray
) -> Callable[[], pd.DataFrame]:
    def build() -> pd.DataFrame:
        cum = totals["cum_shortfall"]
        n = cum.shape[0]

        def col(name: str) -> np.ndarray:
            return np.asarray(totals[name], dtype=np.float64).reshape(-1)

        return pd.DataFrame(
            {
                "scenario": np.repeat(np.arange(n), len(mats)),
                "material": np.tile(np.asarray(mats, dtype=object), n),
                "cum_shortfall": col("cum_shortfall"),
                "cum_shortfall_t": (np.asarray(cum, dtype=np.float64) * monthly_t).reshape(-1),
                "cum_defence_shortfall": col("cum_defence_shortfall"),
                "cum_supply_gap": col("cum_supply_gap"),
                "peak_shortfall": col("peak_shortfall"),
                "first_shortfall_month": col("first_shortfall_month"),
                "months_to_stockout": col("months_to_stockout"),
                "peak_price": col("peak_price"),
                "first_onset": col("first_onset"),
            }
        )

    return build


def _draws_builder(plan: Plan, draws: ShockDraws) -> Callable[[], pd.DataFrame]:
    def build() -> pd.DataFrame:
        n, k = draws.n, len(plan.shocks)
        return pd.DataFrame(
            {
                "scenario": np.repeat(np.arange(n), k),
                "shock": np.tile(np.arange(k), n),
                "label": np.tile(np.asarray([s.label for s in plan.shocks], dtype=object), n),
                "onset": draws.onset.reshape(-1),
                "duration": draws.duration.reshape(-1),
                "severity": draws.severity.reshape(-1),
                "leakage": draws.leakage.reshape(-1),
                "ramp": draws.ramp.reshape(-1),
                "occurs": draws.occurs.reshape(-1),
            }
        )

    return build


def _systems_outcomes_builder(names: list[str], nb: np.ndarray) -> Callable[[], pd.DataFrame]:
    def build() -> pd.DataFrame:
        n = nb.shape[0]
        return pd.DataFrame(
            {
                "scenario": np.repeat(np.arange(n), len(names)),
                "system": np.tile(np.asarray(names, dtype=object), n),
                "not_built": np.asarray(nb, dtype=np.float64).reshape(-1),
            }
        )

    return build


def assemble(
    plan: Plan,
    spec: EnsembleSpec,
    draws: ShockDraws,
    totals: Mapping[str, np.ndarray],
    monthly_stats: stats.MonthlyStats,
    meta: dict[str, Any],
    *,
    release_mean: np.ndarray | None = None,
) -> EnsembleResult:
    """Turn the accumulated statistics of a run into an :class:`EnsembleResult`.

    Parameters
    ----------
    plan
        The validated scenario.
    spec
        The specification as run.
    draws
        The draws.
    totals
        Per-scenario outcomes of every scenario, ``[S, M]`` (float64, or float32 for
        large ensembles): ``cum_shortfall``, ``cum_defence_shortfall``,
        ``cum_supply_gap``, ``peak_shortfall``, ``peak_price``, ``first_shortfall_month``,
        ``months_to_stockout``, ``first_onset``; ``cum_systems_not_built`` ``[S, J]``;
        ``cum_release`` unless ``release_mean`` is given.
    monthly_stats
        Monthly statistics over the scenarios (exact or from the run's sketch).
    meta
        Run information.
    release_mean
        Mean cumulative stock release per material, when ``cum_release`` is not kept.
    """
    mats = plan.materials
    b = plan.baseline
    q = spec.percentiles
    alpha = spec.cvar_level
    al = _alpha_label(alpha)
    monthly_t = b.monthly_demand_t
    dshare = np.array([plan.defence_share.get(m, (0.0, ""))[0] for m in mats])
    stock0 = np.array([float(plan.stocks.get(m, {}).get("initial", 0.0)) for m in mats])

    cum = totals["cum_shortfall"]
    never_cum = bool(np.isnan(cum).any())
    # the columns in order, then one frame (no insert per column)
    summary: dict[str, Any] = {
        "material": mats,
        "stage": b.stage,
        "mix": b.mix,
        "stock_months": stock0,
        "defence_share": dshare,
    }
    summary["p_shortfall"] = stats.prob_positive(cum)
    summary["shortfall_mean"] = stats.expected(cum)
    for qq, v in zip(
        q, _by_columns(lambda x: stats.percentiles(x, q, never=never_cum), cum), strict=True
    ):
        summary[f"shortfall_{pct_label(qq)}"] = v
    summary[f"shortfall_var{al}"] = _by_columns(lambda x: stats.var(x, alpha), cum)
    summary[f"shortfall_cvar{al}"] = _by_columns(lambda x: stats.cvar(x, alpha), cum)
    summary["shortfall_t_mean"] = np.asarray(summary["shortfall_mean"]) * monthly_t
    summary[f"shortfall_t_cvar{al}"] = np.asarray(summary[f"shortfall_cvar{al}"]) * monthly_t
    summary["supply_gap_mean"] = stats.expected(totals["cum_supply_gap"])
    summary["release_mean"] = (
        stats.expected(totals["cum_release"]) if release_mean is None else release_mean
    )
    div = np.where(dshare > 0, dshare, 1.0)

    def defence(fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        dcum = totals["cum_defence_shortfall"]
        cols = _column_blocks(dcum.shape[1]) if dcum.nbytes > 64e6 else [slice(None)]
        return np.concatenate([np.atleast_1d(fn(dcum[:, sl] / div[sl])) for sl in cols])

    summary["defence_shortfall_mean"] = np.where(dshare > 0, defence(stats.expected), np.nan)
    summary[f"defence_shortfall_cvar{al}"] = np.where(
        dshare > 0, defence(lambda x: stats.cvar(x, alpha)), np.nan
    )
    so = totals["months_to_stockout"]
    affected = np.isfinite(totals["first_onset"])
    summary["p_stockout"] = np.mean(np.isfinite(so), axis=0)
    any_affected = bool(affected.any())

    never_so = bool(np.isnan(so).any()) or (any_affected and not bool(affected.all()))

    def stockout_pct(sl: slice) -> np.ndarray:
        x = np.where(affected[:, sl], so[:, sl], np.nan) if any_affected else so[:, sl]
        return stats.percentiles(x, (5, 50, 95), never=never_so)

    cols = _column_blocks(so.shape[1]) if so.nbytes > 64e6 else [slice(None)]
    so_pct = np.concatenate([stockout_pct(sl) for sl in cols], axis=-1)
    for qq, v in zip((5.0, 50.0, 95.0), so_pct, strict=True):
        summary[f"months_to_stockout_{pct_label(qq)}"] = v
    first = totals["first_shortfall_month"]
    never_first = bool(np.isnan(first).any())
    summary["first_shortfall_p50"] = _by_columns(
        lambda x: stats.percentiles(x, [50], never=never_first), first
    )[0]
    peak = totals["peak_price"]
    never_peak = bool(np.isnan(peak).any())
    pk = _by_columns(lambda x: stats.percentiles(x, [50, 95], never=never_peak), peak)
    summary["peak_price_p50"] = pk[0]
    summary["peak_price_p95"] = pk[1]
    summary["annual_demand_t"] = b.annual_demand_t
    summary_frame = pd.DataFrame(summary)

    # monthly fan-chart statistics
    t_len = spec.scenario.horizon_months
    variables = ("shortfall", "stock", "price")
    n_rows = len(mats) * t_len  # rows per variable
    mean, prob, err = [], [], []
    pcts: dict[str, list[np.ndarray]] = {pct_label(qq): [] for qq in q}
    for var in variables:
        mean.append(np.asarray(monthly_stats.mean(var)).reshape(-1))
        prob.append(
            np.asarray(monthly_stats.prob_positive(var)).reshape(-1)
            if var == "shortfall"
            else np.full(n_rows, np.nan)
        )
        for qq, v in zip(q, monthly_stats.percentiles(var, q), strict=True):
            pcts[pct_label(qq)].append(v.reshape(-1))
        err.append(np.repeat(monthly_stats.error(var), t_len))
    # the three variables one under the other, built as one frame
    monthly = pd.DataFrame(
        {
            "material": np.tile(np.repeat(np.asarray(mats, dtype=object), t_len), 3),
            "month": np.tile(np.arange(t_len), len(mats) * 3),
            "variable": np.repeat(np.asarray(variables, dtype=object), n_rows),
            "mean": np.concatenate(mean),
            "prob_positive": np.concatenate(prob),
            **{k: np.concatenate(v) for k, v in pcts.items()},
            "percentile_error": np.concatenate(err),
        }
    )

    names = [s[0] for s in plan.systems]
    nb = totals["cum_systems_not_built"]
    sys_rows = []
    for j, name in enumerate(names):
        col = nb[:, j]
        row: dict[str, Any] = {
            "system": name,
            "build_rate": plan.systems[j][1],
            "materials": ", ".join(plan.systems[j][2]),
            "p_any_not_built": float(stats.prob_positive(col)),
            "not_built_mean": float(stats.expected(col)),
        }
        for qq, v in zip(q, stats.percentiles(col, q), strict=True):
            row[f"not_built_{pct_label(qq)}"] = float(v)
        row[f"not_built_cvar{al}"] = float(stats.cvar(col, alpha))
        row["planned"] = plan.systems[j][1] * t_len
        sys_rows.append(row)
    systems = pd.DataFrame(
        sys_rows,
        columns=["system", "build_rate", "materials", "p_any_not_built", "not_built_mean"]
        if not sys_rows
        else None,
    )
    base = plan.baseline.table()
    base["defence_share"] = dshare
    base["defence_share_basis"] = [
        plan.defence_share.get(m, (0.0, "none given: 0"))[1] for m in mats
    ]
    base["stock_months"] = stock0
    result = EnsembleResult(
        spec=spec,
        summary=summary_frame,
        monthly=monthly,
        outcomes=_outcomes_builder(list(mats), totals, monthly_t),
        draws=_draws_builder(plan, draws),
        systems=systems,
        systems_outcomes=_systems_outcomes_builder(names, nb),
        baseline=base,
        meta=meta,
    )
    for name in _FRAMES:
        if name not in _PER_SCENARIO:
            _provenance(getattr(result, name), spec, meta, name)
    return result
