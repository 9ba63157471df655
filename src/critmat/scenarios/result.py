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

from dataclasses import dataclass, field
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


@dataclass
class EnsembleResult:
    """An ensemble run: the specification, statistics, per-scenario outcomes and draws.

    Attributes
    ----------
    spec
        The ensemble specification that was run (samples as run).
    summary
        One row per material: probability of any shortfall, expected shortfall, percentiles,
        VaR and CVaR, defence shortfall, stock-out statistics and peak prices.
    monthly
        ``material, month, variable`` (shortfall, stock, price) with mean, percentiles and,
        for shortfall, the probability of a shortfall in that month (fan charts).
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
        Run information: versions, engine, wall time, chunks, warnings, notes.
    arrays
        The raw arrays (``shortfall``, ``stock``, ``price`` as ``[S, M, T]``) when kept.
    run_id
        Id in the run store, once saved.
    """

    spec: EnsembleSpec
    summary: pd.DataFrame
    monthly: pd.DataFrame
    outcomes: pd.DataFrame
    draws: pd.DataFrame
    systems: pd.DataFrame
    systems_outcomes: pd.DataFrame
    baseline: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] | None = None
    run_id: str | None = None

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


def assemble(
    plan: Plan,
    spec: EnsembleSpec,
    draws: ShockDraws,
    arrays: dict[str, np.ndarray],
    meta: dict[str, Any],
    *,
    overwrite: bool = False,
) -> EnsembleResult:
    """Turn the engine's arrays into an :class:`EnsembleResult` (pure reductions).

    Parameters
    ----------
    plan
        The validated scenario.
    spec
        The specification as run.
    draws
        The draws.
    arrays
        Engine outputs for all scenarios: monthly ``shortfall``, ``stock``, ``price`` as
        ``[M, T, S]`` (scenario-last), per-scenario outcomes as ``[S, M]``.
    meta
        Run information.
    overwrite
        Sort the monthly arrays in place (they are not needed afterwards).
    """
    mats = plan.materials
    b = plan.baseline
    q = spec.percentiles
    alpha = spec.cvar_level
    al = _alpha_label(alpha)
    n = draws.n
    monthly_t = b.monthly_demand_t
    dshare = np.array([plan.defence_share.get(m, (0.0, ""))[0] for m in mats])
    stock0 = np.array([float(plan.stocks.get(m, {}).get("initial", 0.0)) for m in mats])

    cum = arrays["cum_shortfall"]
    summary = pd.DataFrame(
        {
            "material": mats,
            "stage": b.stage,
            "mix": b.mix,
            "stock_months": stock0,
            "defence_share": dshare,
        }
    )
    summary["p_shortfall"] = stats.prob_positive(cum)
    summary["shortfall_mean"] = stats.expected(cum)
    for qq, v in zip(q, stats.percentiles(cum, q), strict=True):
        summary[f"shortfall_{pct_label(qq)}"] = v
    summary[f"shortfall_var{al}"] = stats.var(cum, alpha)
    summary[f"shortfall_cvar{al}"] = stats.cvar(cum, alpha)
    summary["shortfall_t_mean"] = summary["shortfall_mean"] * monthly_t
    summary[f"shortfall_t_cvar{al}"] = summary[f"shortfall_cvar{al}"] * monthly_t
    summary["supply_gap_mean"] = stats.expected(arrays["cum_supply_gap"])
    summary["release_mean"] = stats.expected(arrays["cum_release"])
    dcum = arrays["cum_defence_shortfall"] / np.where(dshare > 0, dshare, 1.0)
    summary["defence_shortfall_mean"] = np.where(dshare > 0, stats.expected(dcum), np.nan)
    summary[f"defence_shortfall_cvar{al}"] = np.where(dshare > 0, stats.cvar(dcum, alpha), np.nan)
    so = arrays["months_to_stockout"]
    affected = np.isfinite(arrays["first_onset"])
    summary["p_stockout"] = np.mean(np.isfinite(so), axis=0)
    for qq, v in zip(
        (5.0, 50.0, 95.0),
        stats.percentiles(np.where(affected, so, np.nan) if affected.any() else so, (5, 50, 95)),
        strict=True,
    ):
        summary[f"months_to_stockout_{pct_label(qq)}"] = v
    summary["first_shortfall_p50"] = stats.percentiles(arrays["first_shortfall_month"], [50])[0]
    pk = stats.percentiles(arrays["peak_price"], [50, 95])
    summary["peak_price_p50"] = pk[0]
    summary["peak_price_p95"] = pk[1]
    summary["annual_demand_t"] = b.annual_demand_t

    # monthly fan-chart statistics
    t_len = spec.scenario.horizon_months
    parts = []
    for var in ("shortfall", "stock", "price"):
        a = arrays[var]  # [M, T, S]: scenario-last
        block: dict[str, Any] = {
            "material": np.repeat(np.asarray(mats, dtype=object), t_len),
            "month": np.tile(np.arange(t_len), len(mats)),
            "variable": var,
            "mean": stats.expected(a, axis=-1).reshape(-1),
        }
        block["prob_positive"] = (
            stats.prob_positive(a, axis=-1).reshape(-1) if var == "shortfall" else np.nan
        )
        pct = stats.percentiles(a, q, axis=-1, overwrite_input=overwrite)  # sorts a if asked
        for qq, v in zip(q, pct, strict=True):
            block[pct_label(qq)] = v.reshape(-1)
        parts.append(pd.DataFrame(block))
    monthly = pd.concat(parts, ignore_index=True)

    # per-scenario outcomes
    idx_s = np.repeat(np.arange(n), len(mats))
    outcomes = pd.DataFrame(
        {
            "scenario": idx_s,
            "material": np.tile(np.asarray(mats, dtype=object), n),
            "cum_shortfall": cum.reshape(-1),
            "cum_shortfall_t": (cum * monthly_t).reshape(-1),
            "cum_defence_shortfall": arrays["cum_defence_shortfall"].reshape(-1),
            "cum_supply_gap": arrays["cum_supply_gap"].reshape(-1),
            "peak_shortfall": arrays["peak_shortfall"].reshape(-1),
            "first_shortfall_month": arrays["first_shortfall_month"].reshape(-1),
            "months_to_stockout": so.reshape(-1),
            "peak_price": arrays["peak_price"].reshape(-1),
            "first_onset": arrays["first_onset"].reshape(-1),
        }
    )

    k = len(plan.shocks)
    draws_frame = pd.DataFrame(
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

    names = [s[0] for s in plan.systems]
    nb = arrays["cum_systems_not_built"]
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
    systems_outcomes = pd.DataFrame(
        {
            "scenario": np.repeat(np.arange(n), len(names)),
            "system": np.tile(np.asarray(names, dtype=object), n),
            "not_built": nb.reshape(-1),
        }
    )
    base = plan.baseline.table()
    base["defence_share"] = dshare
    base["defence_share_basis"] = [
        plan.defence_share.get(m, (0.0, "none given: 0"))[1] for m in mats
    ]
    base["stock_months"] = stock0
    result = EnsembleResult(
        spec=spec,
        summary=summary,
        monthly=monthly,
        outcomes=outcomes,
        draws=draws_frame,
        systems=systems,
        systems_outcomes=systems_outcomes,
        baseline=base,
        meta=meta,
    )
    for name, frame in result.frames().items():
        _provenance(frame, spec, meta, name)
    return result
