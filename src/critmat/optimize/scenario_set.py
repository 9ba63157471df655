"""The scenario set of the decision models: monthly supply gaps in tonnes, before stock release.

A :class:`ScenarioSet` holds, for scenarios s (probability pi_s), materials m and months t,
the gap ``G[s, m, t]`` (tonnes per month) that supply leaves open **before** any stock is
released - the engine's ``Gap_t`` (METHODS.md §6.2) times the monthly demand in tonnes.
Stocks, partner supply, reshoring and the other levers are evaluated against it.

Three ways in:

* :meth:`ScenarioSet.from_frame` / :func:`read_scenario_table`: an explicit table
  ``scenario, probability, material, month, gap_t`` (CSV or Parquet). Rows that are not
  given are gaps of 0; every scenario needs one probability; probabilities sum to 1 (or,
  with ``missing_probability="no_gap"``, the mass left over is one scenario without gaps).
* :meth:`ScenarioSet.from_engine`: the scenario engine's arrays (``StaticInputs`` and
  ``ShockDraws``) and the monthly demand in tonnes; equally likely draws.
* :meth:`ScenarioSet.from_plan`: a validated scenario plan (``critmat.scenarios.validate``):
  compiles, draws and simulates it, and converts shares of demand to tonnes with the plan's
  baseline demand.

Examples
--------
>>> import numpy as np
>>> s = ScenarioSet.from_arrays(np.array([[[0.0, 0.0]], [[100.0, 50.0]]]), materials=["ga"])
>>> s.n_scenarios, s.n_materials, s.horizon, s.cumulative().ravel().tolist()
(2, 1, 2, [0.0, 150.0])
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from critmat.errors import DataValidationError, Problem, UnknownNameError
from critmat.optimize._solver import OptimizeError

if TYPE_CHECKING:
    from critmat.scenarios.engine import ShockDraws, StaticInputs
    from critmat.scenarios.plan import Plan

__all__ = ["SCENARIO_COLUMNS", "ScenarioSet", "read_scenario_table"]

#: Columns of the explicit scenario table.
SCENARIO_COLUMNS: tuple[str, ...] = ("scenario", "probability", "material", "month", "gap_t")

#: Tolerance on the sum of scenario probabilities.
PROBABILITY_TOL = 1e-6


@dataclass(frozen=True)
class ScenarioSet:
    """Monthly gaps before stock release, tonnes, ``[scenario, material, month]``.

    Attributes
    ----------
    materials
        Material names (order of axis 1).
    gap_t
        ``[S, M, T]`` gaps in tonnes per month (>= 0) before stock release.
    probability
        ``[S]`` scenario probabilities (sum 1).
    scenario_ids
        Scenario labels.
    source
        Where the set came from (``"table:FILE"``, ``"engine"``, ``"plan:NAME"``, ...).
    monthly_demand_t
        ``[M]`` baseline monthly demand in tonnes where known (NaN otherwise).
    notes
        Remarks made while building the set.
    """

    materials: tuple[str, ...]
    gap_t: np.ndarray
    probability: np.ndarray
    scenario_ids: tuple[str, ...]
    source: str = "arrays"
    monthly_demand_t: np.ndarray | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        g = np.asarray(self.gap_t, dtype=np.float64)
        if g.ndim != 3:
            raise OptimizeError(
                f"gap_t must be a [scenario, material, month] array, got {g.ndim} dimensions"
            )
        s, m, _t = g.shape
        p = np.asarray(self.probability, dtype=np.float64)
        if p.shape != (s,):
            raise OptimizeError(f"probability has shape {p.shape}, expected ({s},)")
        if len(self.materials) != m:
            raise OptimizeError(f"{len(self.materials)} material names for {m} materials")
        if len(set(self.materials)) != m:
            raise OptimizeError(f"material names repeat: {list(self.materials)}")
        if len(self.scenario_ids) != s:
            raise OptimizeError(f"{len(self.scenario_ids)} scenario ids for {s} scenarios")
        if not np.isfinite(g).all() or (g < 0).any():
            raise OptimizeError("gap_t must be finite and >= 0 (tonnes per month)")
        if not np.isfinite(p).all() or (p < 0).any() or abs(p.sum() - 1.0) > PROBABILITY_TOL:
            raise OptimizeError(
                f"scenario probabilities must be >= 0 and sum to 1 (sum {p.sum():.9g})"
            )
        object.__setattr__(self, "gap_t", g)
        object.__setattr__(self, "probability", p / p.sum())
        if self.monthly_demand_t is not None:
            d = np.asarray(self.monthly_demand_t, dtype=np.float64)
            if d.shape != (m,):
                raise OptimizeError(f"monthly_demand_t has shape {d.shape}, expected ({m},)")
            object.__setattr__(self, "monthly_demand_t", d)

    # ------------------------------------------------------------------ shape
    @property
    def n_scenarios(self) -> int:
        """S."""
        return int(self.gap_t.shape[0])

    @property
    def n_materials(self) -> int:
        """M."""
        return int(self.gap_t.shape[1])

    @property
    def horizon(self) -> int:
        """T, months."""
        return int(self.gap_t.shape[2])

    def index(self, material: str) -> int:
        """Position of ``material`` (``UnknownNameError`` with suggestions otherwise)."""
        try:
            return self.materials.index(material)
        except ValueError:
            raise UnknownNameError(
                "material",
                material,
                suggestions=difflib.get_close_matches(material, self.materials, n=3),
                where="the scenario set",
            ) from None

    # ------------------------------------------------------------------ derived arrays
    def cumulative(self) -> np.ndarray:
        """``[S, M]`` gap summed over the horizon (tonnes)."""
        out: np.ndarray = self.gap_t.sum(axis=2)
        return out

    def releasable(
        self, release_cap_t_month: np.ndarray | None = None, usable_months: np.ndarray | None = None
    ) -> np.ndarray:
        """``[S, M]`` most a stock can release: ``sum_{t < L_m} min(cap_m, G[s, m, t])``.

        With a monthly release cap ``cap_m`` and a single purchase before the horizon, the
        greedy release (as much as the gap, the cap and the stock allow, every month) is
        optimal for the total unmet demand, which is then ``G_s - min(S_m, A_s)`` with
        ``A_s`` this quantity (docs/decisions.md). ``usable_months`` (shelf life, whole
        months) stops releases from month ``L_m`` on.
        """
        g = self.gap_t
        if release_cap_t_month is not None:
            cap = np.asarray(release_cap_t_month, dtype=np.float64)
            if np.isfinite(cap).any():
                g = np.minimum(g, np.where(np.isfinite(cap), cap, np.inf)[None, :, None])
        if usable_months is not None:
            lim = np.asarray(usable_months, dtype=np.int64)
            if (lim < self.horizon).any():
                month = np.arange(self.horizon)[None, None, :]
                g = np.where(month < lim[None, :, None], g, 0.0)
        out: np.ndarray = g.sum(axis=2)
        return out

    # ------------------------------------------------------------------ subsets
    def select(self, materials: Sequence[str]) -> ScenarioSet:
        """The same scenarios for ``materials`` only (in that order)."""
        idx = [self.index(m) for m in materials]
        demand = None if self.monthly_demand_t is None else self.monthly_demand_t[idx]
        return replace(
            self,
            materials=tuple(materials),
            gap_t=self.gap_t[:, idx, :],
            monthly_demand_t=demand,
        )

    def truncate(self, horizon: int) -> ScenarioSet:
        """The first ``horizon`` months (``OptimizeError`` if longer than the set)."""
        if horizon < 1 or horizon > self.horizon:
            raise OptimizeError(
                f"horizon_months={horizon} is outside the scenario set's 1 to {self.horizon} months"
            )
        if horizon == self.horizon:
            return self
        return replace(self, gap_t=self.gap_t[:, :, :horizon])

    def with_gaps(self, gap_t: np.ndarray, note: str | None = None) -> ScenarioSet:
        """A copy with other gaps (same shape), e.g. after a lever."""
        g = np.asarray(gap_t, dtype=np.float64)
        if g.shape != self.gap_t.shape:
            raise OptimizeError(f"gap_t has shape {g.shape}, expected {self.gap_t.shape}")
        notes = self.notes + ((note,) if note else ())
        return replace(self, gap_t=g, notes=notes)

    # ------------------------------------------------------------------ tables
    def to_frame(self, *, include_zero: bool = False) -> pd.DataFrame:
        """The tidy table ``scenario, probability, material, month, gap_t``.

        Parameters
        ----------
        include_zero
            Keep rows with a gap of 0 (default: only positive gaps, as read back by
            :meth:`from_frame`; scenarios without any gap get one zero row so that their
            probability is kept).
        """
        s_idx, m_idx, t_idx = np.nonzero(
            np.ones_like(self.gap_t, dtype=bool) if include_zero else self.gap_t > 0
        )
        present = np.zeros(self.n_scenarios, dtype=bool)
        present[s_idx] = True
        empty = np.flatnonzero(~present)
        s_idx = np.concatenate([s_idx, empty])
        m_idx = np.concatenate([m_idx, np.zeros(len(empty), dtype=np.int64)])
        t_idx = np.concatenate([t_idx, np.zeros(len(empty), dtype=np.int64)])
        order = np.lexsort((t_idx, m_idx, s_idx))
        s_idx, m_idx, t_idx = s_idx[order], m_idx[order], t_idx[order]
        ids = np.asarray(self.scenario_ids, dtype=object)
        mats = np.asarray(self.materials, dtype=object)
        return pd.DataFrame(
            {
                "scenario": pd.array(ids[s_idx].tolist(), dtype="string"),
                "probability": self.probability[s_idx],
                "material": pd.array(mats[m_idx].tolist(), dtype="string"),
                "month": t_idx.astype(np.int64),
                "gap_t": self.gap_t[s_idx, m_idx, t_idx],
            }
        )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(
        cls,
        gap_t: Any,
        *,
        probability: Any = None,
        materials: Sequence[str] | None = None,
        scenario_ids: Sequence[str] | None = None,
        monthly_demand_t: Any = None,
        source: str = "arrays",
    ) -> ScenarioSet:
        """From a ``[S, M, T]`` array (``[S, T]`` for one material) of monthly gaps in tonnes.

        Parameters
        ----------
        gap_t
            Gaps in tonnes per month before stock release.
        probability
            ``[S]`` probabilities (default: equally likely).
        materials
            Names (default ``m0, m1, ...``).
        scenario_ids
            Labels (default ``0, 1, ...``).
        monthly_demand_t
            ``[M]`` baseline monthly demand in tonnes, where known.
        source
            Description for provenance.
        """
        g = np.asarray(gap_t, dtype=np.float64)
        if g.ndim == 2:
            g = g[:, None, :]
        s, m = g.shape[0], g.shape[1]
        p = np.full(s, 1.0 / s) if probability is None else np.asarray(probability, dtype=float)
        names = tuple(materials) if materials is not None else tuple(f"m{i}" for i in range(m))
        ids = tuple(str(i) for i in (scenario_ids if scenario_ids is not None else range(s)))
        return cls(names, g, p, ids, source=source, monthly_demand_t=monthly_demand_t)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        horizon_months: int | None = None,
        missing_probability: Literal["error", "no_gap"] = "error",
        file: str | None = None,
    ) -> ScenarioSet:
        """From the tidy table ``scenario, probability, material, month, gap_t``.

        Parameters
        ----------
        frame
            One row per scenario, material and month with a gap (tonnes per month, before
            stock release); rows left out are gaps of 0. ``month`` counts from 0.
        horizon_months
            Months of the horizon (default: the last month in the table + 1).
        missing_probability
            ``"error"`` (default): probabilities must sum to 1. ``"no_gap"``: the mass
            left over (1 - sum) is one more scenario, ``"no_gap"``, without any gap (a
            disruption table that lists only the disrupted cases).
        file
            File name for error messages.

        Raises
        ------
        critmat.errors.DataValidationError
            Listing every problem (row, column, value, what is valid).
        """
        problems: list[Problem] = []
        missing = [c for c in SCENARIO_COLUMNS if c not in frame.columns]
        if missing:
            raise DataValidationError(
                [
                    Problem(
                        f"missing column '{c}'",
                        file=file,
                        column=c,
                        expected="columns " + ", ".join(SCENARIO_COLUMNS),
                    )
                    for c in missing
                ],
                source=file,
            )
        n = len(frame)
        if n == 0:
            raise DataValidationError(
                [Problem("the scenario table has no rows", file=file)], source=file
            )
        rows = np.arange(n) + 2  # header is row 1

        def numeric(col: str) -> np.ndarray:
            vals = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
            bad = ~np.isfinite(vals)
            for i in np.flatnonzero(bad)[:20]:
                problems.append(
                    Problem(
                        "not a finite number",
                        file=file,
                        row=int(rows[i]),
                        column=col,
                        value=str(frame[col].iloc[i]),
                        expected="a number",
                    )
                )
            return vals

        prob = numeric("probability")
        gap = numeric("gap_t")
        month = numeric("month")
        for i in np.flatnonzero(np.isfinite(gap) & (gap < 0))[:20]:
            problems.append(
                Problem(
                    "negative gap",
                    file=file,
                    row=int(rows[i]),
                    column="gap_t",
                    value=str(gap[i]),
                    expected="tonnes per month >= 0 (the gap before stock release)",
                )
            )
        for i in np.flatnonzero(np.isfinite(prob) & ((prob <= 0) | (prob > 1)))[:20]:
            problems.append(
                Problem(
                    "probability outside (0, 1]",
                    file=file,
                    row=int(rows[i]),
                    column="probability",
                    value=str(prob[i]),
                    expected="a probability in (0, 1]",
                )
            )
        okm = np.isfinite(month)
        bad_month = okm & ((month < 0) | (month != np.round(month)))
        for i in np.flatnonzero(bad_month)[:20]:
            problems.append(
                Problem(
                    "month is not a whole number >= 0",
                    file=file,
                    row=int(rows[i]),
                    column="month",
                    value=str(frame["month"].iloc[i]),
                    expected="0, 1, 2, ... (months from the start of the horizon)",
                )
            )
        if horizon_months is not None:
            for i in np.flatnonzero(okm & (month >= horizon_months))[:20]:
                problems.append(
                    Problem(
                        f"month beyond the horizon of {horizon_months} months",
                        file=file,
                        row=int(rows[i]),
                        column="month",
                        value=str(int(month[i])),
                        expected=f"0 to {horizon_months - 1}",
                    )
                )
        scen = frame["scenario"].astype("string")
        mat = frame["material"].astype("string")
        for col, ser in (("scenario", scen), ("material", mat)):
            blank = ser.isna().to_numpy(dtype=bool) | (ser.fillna("").str.strip() == "").to_numpy(
                dtype=bool
            )
            for i in np.flatnonzero(blank)[:20]:
                problems.append(
                    Problem(
                        "empty name", file=file, row=int(rows[i]), column=col, expected="a name"
                    )
                )
        if problems:
            raise DataValidationError(problems, source=file)

        scen_codes, scen_names = pd.factorize(scen.str.strip(), sort=False)
        mat_codes, mat_names = pd.factorize(mat.str.strip(), sort=False)
        month_i = month.astype(np.int64)
        # one probability per scenario
        pframe = pd.DataFrame({"s": scen_codes, "p": prob})
        spread = pframe.groupby("s")["p"].agg(["min", "max"])
        for s_code in spread.index[(spread["max"] - spread["min"]) > 1e-12]:
            first = int(np.flatnonzero(scen_codes == s_code)[0])
            problems.append(
                Problem(
                    f"scenario '{scen_names[s_code]}' has different probabilities "
                    f"({spread.loc[s_code, 'min']:g} to {spread.loc[s_code, 'max']:g})",
                    file=file,
                    row=int(rows[first]),
                    column="probability",
                    expected="the same probability on every row of a scenario",
                )
            )
        key = (scen_codes.astype(np.int64) * len(mat_names) + mat_codes) * (
            int(month_i.max()) + 1
        ) + month_i
        dup = pd.Series(key).duplicated(keep="first").to_numpy()
        for i in np.flatnonzero(dup)[:20]:
            problems.append(
                Problem(
                    "repeated scenario, material and month",
                    file=file,
                    row=int(rows[i]),
                    value=f"{scen.iloc[i]}, {mat.iloc[i]}, {month_i[i]}",
                    expected="one row per scenario, material and month",
                )
            )
        p_s = spread["min"].reindex(range(len(scen_names))).to_numpy(dtype=np.float64)
        total = float(p_s.sum())
        ids = [str(x) for x in scen_names]
        notes: list[str] = []
        if not problems and abs(total - 1.0) > PROBABILITY_TOL:
            if missing_probability == "no_gap" and total < 1.0:
                p_s = np.append(p_s, 1.0 - total)
                ids.append("no_gap")
                notes.append(
                    f"probabilities summed to {total:.6g}: the remaining {1 - total:.6g} is "
                    "one scenario 'no_gap' without any gap"
                )
            else:
                hint = (
                    "; if the table lists only disrupted cases, read it with "
                    "missing_probability='no_gap'"
                    if total < 1.0
                    else ""
                )
                problems.append(
                    Problem(
                        f"scenario probabilities sum to {total:.9g}, not 1{hint}",
                        file=file,
                        column="probability",
                        expected="one probability per scenario, summing to 1",
                    )
                )
        if problems:
            raise DataValidationError(problems, source=file)
        big_t = int(horizon_months) if horizon_months is not None else int(month_i.max()) + 1
        g = np.zeros((len(ids), len(mat_names), big_t))
        g[scen_codes, mat_codes, month_i] = gap
        return cls(
            tuple(str(x) for x in mat_names),
            g,
            p_s,
            tuple(ids),
            source=f"table:{file}" if file else "table",
            notes=tuple(notes),
        )

    @classmethod
    def from_engine(
        cls,
        static: StaticInputs,
        draws: ShockDraws,
        *,
        monthly_demand_t: Any,
        materials: Sequence[str] | None = None,
        chunk_size: int = 2000,
    ) -> ScenarioSet:
        """Run the scenario engine without stock and keep its gaps, in tonnes.

        Parameters
        ----------
        static, draws
            Engine inputs (``critmat.scenarios.engine``); the stock policy in ``static`` is
            ignored (gaps are taken before any release), everything else is kept.
        monthly_demand_t
            ``[M]`` baseline monthly demand in tonnes (the engine works in shares of it).
        materials
            Names of the engine's materials.
        chunk_size
            Scenarios simulated at a time.
        """
        from critmat.scenarios.engine import simulate

        m = static.n_materials
        demand = np.asarray(monthly_demand_t, dtype=np.float64)
        if demand.shape != (m,):
            raise OptimizeError(f"monthly_demand_t has shape {demand.shape}, expected ({m},)")
        names = tuple(materials) if materials is not None else tuple(f"m{i}" for i in range(m))
        missing = [names[i] for i in np.flatnonzero(~np.isfinite(demand) | (demand < 0))]
        if missing:
            raise OptimizeError(
                "no baseline demand in tonnes for " + ", ".join(missing) + "; a decision in "
                "tonnes and euros needs it (give annual_demand_t for these materials)"
            )
        zeros = np.zeros(m)
        bare = replace(static, stock0=zeros, replenish=zeros, reserve=zeros)
        n = draws.n
        gap = np.empty((n, m, static.horizon))
        for a in range(0, n, chunk_size):
            b = min(a + chunk_size, n)
            out = simulate(bare, draws.slice(a, b), detail=True)
            gap[a:b] = out["gap"] * demand[None, :, None]
        np.maximum(gap, 0.0, out=gap)
        return cls(
            names,
            gap,
            np.full(n, 1.0 / n),
            tuple(str(i) for i in range(n)),
            source="engine",
            monthly_demand_t=demand,
        )

    @classmethod
    def from_plan(
        cls,
        plan: Plan,
        *,
        samples: int | None = None,
        seed: int | None = None,
        drop_missing_tonnes: bool = False,
    ) -> ScenarioSet:
        """Draw and simulate a validated scenario plan; gaps in tonnes of its baseline demand.

        Parameters
        ----------
        plan
            From ``critmat.scenarios.validate(kb, spec)``.
        samples, seed
            Override the spec's sample count and seed.
        drop_missing_tonnes
            Drop materials whose baseline demand is not known in tonnes (with a note)
            instead of stopping.
        """
        from critmat.scenarios.sampling import draw

        spec = plan.spec
        n = int(samples if samples is not None else spec.samples)
        if not plan.scenario.uncertain:
            n = 1
        static = plan.inputs()
        draws = draw(plan.scenario, n, int(seed if seed is not None else spec.seed))
        demand = np.asarray(plan.baseline.monthly_demand_t, dtype=np.float64)
        names = list(plan.materials)
        known = np.isfinite(demand)
        notes: list[str] = []
        if not known.all():
            lacking = [names[i] for i in np.flatnonzero(~known)]
            if not drop_missing_tonnes or not known.any():
                raise OptimizeError(
                    "baseline demand in tonnes is not known for " + ", ".join(lacking) + " ("
                    "apparent consumption needs extraction-stage data); set "
                    "settings.<material>.annual_demand_t in the scenario or drop them"
                )
            notes.append("dropped (no demand in tonnes): " + ", ".join(lacking))
        full = cls.from_engine(
            static, draws, monthly_demand_t=np.where(known, demand, 0.0), materials=names
        )
        out = full.select([n_ for n_, k in zip(names, known, strict=True) if k])
        return replace(out, source=f"plan:{plan.scenario.name}", notes=tuple(notes))


def read_scenario_table(
    path: str | Path,
    *,
    horizon_months: int | None = None,
    missing_probability: Literal["error", "no_gap"] = "error",
) -> ScenarioSet:
    """Read the explicit scenario table from CSV or Parquet (see :meth:`ScenarioSet.from_frame`).

    Raises
    ------
    critmat.errors.DataValidationError
        For a missing or unreadable file and for every problem in its rows.
    """
    p = Path(path)
    if not p.is_file():
        raise DataValidationError(
            [Problem("file not found", file=str(p), expected="a CSV or Parquet file")],
            source=str(p),
        )
    try:
        parquet = p.suffix.lower() in (".parquet", ".pq")
        frame = pd.read_parquet(p) if parquet else pd.read_csv(p)
    except Exception as exc:
        raise DataValidationError(
            [
                Problem(
                    f"cannot read the file: {exc}",
                    file=str(p),
                    expected="a CSV (comma-separated, header row) or Parquet file",
                )
            ],
            source=str(p),
        ) from None
    return ScenarioSet.from_frame(
        frame, horizon_months=horizon_months, missing_probability=missing_probability, file=p.name
    )
