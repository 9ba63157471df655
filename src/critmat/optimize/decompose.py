"""Per-material decomposition of the stockpile LP: Lagrangian price of the budget by bisection.

Materials are coupled only by the budget ``sum_m p_m S_m <= B`` (with the expected objective
or the per-material CVaR; the portfolio CVaR couples them through the joint tail and is
solved monolithically). Pricing the budget at lambda EUR per EUR splits the LP into one
subproblem per material::

    min  (h'_m + o_m + lambda p_m) S_m + E[(w_m + o_m) U_m]   s.t. the material's constraints

Each subproblem is built once (the same linopy model as the monolithic LP, one material,
monthly release variables included), handed to HiGHS, and re-solved warm for every lambda
by changing one cost coefficient. The spend ``B(lambda) = sum_m p_m S_m(lambda)`` falls
as lambda rises (a step function: the LP's solutions jump at breakpoints); bisection
brackets the price lambda* at which it crosses the budget, to a relative width ``tol``,
and the solution is the convex combination of the two bracketing solutions that spends
exactly B. Both are optimal at lambda* once the bracket holds a single breakpoint, so the
combination is optimal for the monolithic LP (LP duality) and lambda* is the budget's
shadow price.

Subproblems live on Dask actors (``dask="local"`` for a LocalCluster, a scheduler address
or a ``distributed.Client``), or in this process (``dask=None``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import pandas as pd

from critmat.optimize._solver import (
    OptimizeError,
    SolverReport,
    SolveStatus,
    highs_version,
    raise_for_status,
    run_highs,
)
from critmat.optimize.parameters import ResolvedParameters
from critmat.optimize.scenario_set import ScenarioSet
from critmat.optimize.stockpile import (
    StockpileOptions,
    StockpileProblem,
    StockpileResult,
    build_model,
    prepare,
    result_from_stock,
)

__all__ = ["MaterialSubproblem", "solve_decomposed"]

log = logging.getLogger(__name__)

_SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://")


class MaterialSubproblem:
    """One material's stockpile LP without the budget, re-solvable for a budget price.

    Parameters
    ----------
    scenarios
        The scenario set of this material only.
    params
        Its resolved parameters.
    options
        Options (``budget_eur`` is ignored).
    min_cover_t
        Its minimum stock (tonnes).
    threads
        HiGHS threads (1 on a Dask worker with one thread).
    """

    def __init__(
        self,
        scenarios: ScenarioSet,
        params: ResolvedParameters,
        options: StockpileOptions,
        min_cover_t: float = 0.0,
        threads: int | None = 1,
    ) -> None:
        opts = StockpileOptions(**{**options.model_dump(), "budget_eur": None})
        prob = StockpileProblem(
            scenarios,
            params,
            opts,
            "monthly" if opts.formulation == "monthly" else "aggregate",
            np.array([float(min_cover_t)]),
        )
        start = time.perf_counter()
        self.material = scenarios.materials[0]
        self.price = float(params.price[0])
        self.model = build_model(prob)
        self.build_s = time.perf_counter() - start
        report = run_highs(self.model, threads=threads)
        raise_for_status(report.status, f"stockpile subproblem of {self.material}")
        self.report = report
        solver = self.model.solver
        if solver is None:  # pragma: no cover - linopy keeps the solver after solve()
            raise OptimizeError("linopy did not keep the HiGHS instance after solving")
        self.highs = solver.solver_model
        vlabels = np.asarray(self.model.matrices.vlabels)
        label = int(np.ravel(self.model.variables["stock"].labels.values)[0])
        self.col = int(np.flatnonzero(vlabels == label)[0])
        self.base_cost = float(self.highs.getLp().col_cost_[self.col])
        self.n_variables = int(self.model.nvars)
        self.n_constraints = int(self.model.ncons)
        self.solves = 0
        self.solve_s = report.solve_s

    def solve(self, lam: float) -> tuple[float, float, str]:
        """Solve at budget price ``lam``: ``(stock_t, objective, status)``."""
        start = time.perf_counter()
        self.highs.changeColCost(self.col, self.base_cost + float(lam) * self.price)
        self.highs.run()
        self.solves += 1
        self.solve_s += time.perf_counter() - start
        import highspy

        status = self.highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            return float("nan"), float("nan"), self.highs.modelStatusToString(status)
        x = float(self.highs.getSolution().col_value[self.col])
        obj = float(self.highs.getInfo().objective_function_value)
        return max(x, 0.0), obj, "optimal"

    def stats(self) -> dict[str, Any]:
        """Size and time of this subproblem."""
        return {
            "material": self.material,
            "n_variables": self.n_variables,
            "n_constraints": self.n_constraints,
            "build_s": round(self.build_s, 4),
            "solve_s": round(self.solve_s, 4),
            "solves": self.solves + 1,
        }


@contextlib.contextmanager
def _client(target: Any, workers: int | None) -> Iterator[tuple[Any, str]]:
    from critmat.scenarios.runner import DaskError

    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise DaskError("dask.distributed is not installed") from exc
    owned: list[Any] = []
    try:
        if isinstance(target, Client):
            yield target, "dask (client given)"
            return
        if target == "local":
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
            owned.append(cluster)
            client = Client(cluster)
            owned.insert(0, client)
            yield client, "dask LocalCluster"
            return
        address = str(target)
        if not address.startswith(_SCHEMES):
            raise DaskError(
                f"dask='{address}' is not a scheduler address; expected 'local' (a "
                "LocalCluster on this machine) or tcp://host:port of a running scheduler"
            )
        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise DaskError(
                f"cannot reach the Dask scheduler at {address}: {exc}; start one or use "
                "dask='local'"
            ) from None
        owned.append(client)
        yield client, "dask (existing cluster)"
    finally:
        for obj in owned:
            obj.close()


class _Pool:
    """The subproblems, local or on Dask actors, solved together for one price."""

    def __init__(self, subs: list[Any], remote: bool) -> None:
        self.subs = subs
        self.remote = remote

    def solve(self, lam: float) -> np.ndarray:
        if self.remote:
            futures = [s.solve(lam) for s in self.subs]
            out = [f.result() for f in futures]
        else:
            out = [s.solve(lam) for s in self.subs]
        bad = [(i, st) for i, (_x, _o, st) in enumerate(out) if st != "optimal"]
        if bad:
            raise OptimizeError(
                f"subproblem {bad[0][0]} stopped with HiGHS status '{bad[0][1]}' at budget "
                f"price {lam:g}",
                code="solve_subproblem",
            )
        return np.array([x for x, _o, _s in out])

    def stats(self) -> list[dict[str, Any]]:
        if self.remote:
            return [s.stats().result() for s in self.subs]
        return [s.stats() for s in self.subs]


def solve_decomposed(
    scenarios: ScenarioSet,
    parameters: Any,
    options: StockpileOptions | None = None,
    *,
    dask: Any = None,
    workers: int | None = None,
    tol: float = 1e-10,
    max_iter: int = 200,
    on_failure: Literal["raise", "return"] = "raise",
    **overrides: Any,
) -> StockpileResult:
    """Solve the stockpile LP by per-material subproblems and a budget price.

    Parameters
    ----------
    scenarios, parameters, options, overrides
        As for :func:`~critmat.optimize.stockpile.build_model`.
    dask
        ``None`` (this process), ``"local"`` (a LocalCluster), a scheduler address
        ``tcp://host:port`` or a ``distributed.Client``.
    workers
        Workers of the LocalCluster.
    tol
        Relative width of the final bracket on the budget price.
    max_iter
        Bisection steps at most.
    on_failure
        As in :func:`~critmat.optimize.stockpile.solve`.

    Returns
    -------
    StockpileResult
        As the monolithic :func:`~critmat.optimize.stockpile.solve`; ``report.notes`` give
        the iterations and the budget price, ``shadow_prices`` the budget's.
    """
    prob = prepare(scenarios, parameters, options, **overrides)
    opts = prob.options
    if opts.objective == "cvar" and opts.cvar_scope == "portfolio":
        raise OptimizeError(
            "the portfolio CVaR couples materials through the joint tail (eta, z_s), so it "
            "does not split by material; use cvar_scope='material' or the monolithic "
            "optimize_stockpile"
        )
    sc, par = prob.scenarios, prob.params
    start = time.perf_counter()
    engine = "local"
    with contextlib.ExitStack() as stack:
        if dask is None:
            subs: list[Any] = [
                MaterialSubproblem(
                    sc.select([m]), par.select([m]), opts, float(prob.min_cover_t[i]), None
                )
                for i, m in enumerate(sc.materials)
            ]
            pool = _Pool(subs, remote=False)
        else:
            client, engine = stack.enter_context(_client(dask, workers))
            addrs = sorted(client.scheduler_info().get("workers", {}))
            futures = []
            for i, m in enumerate(sc.materials):
                kwargs: dict[str, Any] = {"actor": True, "pure": False}
                if addrs:
                    kwargs["workers"] = [addrs[i % len(addrs)]]
                futures.append(
                    client.submit(
                        MaterialSubproblem,
                        sc.select([m]),
                        par.select([m]),
                        opts,
                        float(prob.min_cover_t[i]),
                        1,
                        **kwargs,
                    )
                )
            pool = _Pool([f.result() for f in futures], remote=True)
        setup_s = time.perf_counter() - start
        price = par.price
        budget = opts.budget_eur
        x0 = pool.solve(0.0)
        iters = 1
        lam_star = 0.0
        bracket = (0.0, 0.0)
        if budget is None or float(price @ x0) <= budget * (1 + 1e-12):
            x = x0
        else:
            lo, x_lo = 0.0, x0
            hi = float(np.max((par.shortage + par.price) / par.price)) + 1.0
            x_hi = pool.solve(hi)
            iters += 1
            s_hi = float(price @ x_hi)
            if s_hi > budget * (1 + 1e-9):  # only the cover is left at this price
                raise OptimizeError(f"no budget price brings the spend down to {budget:,.0f} EUR")
            while hi - lo > tol * max(hi, 1e-12) and iters < max_iter:
                mid = 0.5 * (lo + hi)
                x_mid = pool.solve(mid)
                iters += 1
                s_mid = float(price @ x_mid)
                if abs(s_mid - budget) <= 1e-12 * max(budget, 1.0):
                    lo = hi = mid
                    x_lo = x_hi = x_mid
                    break
                if s_mid > budget:
                    lo, x_lo = mid, x_mid
                else:
                    hi, x_hi = mid, x_mid
            s_lo, s_hi = float(price @ x_lo), float(price @ x_hi)
            theta = 1.0 if s_lo - s_hi <= 0 else (budget - s_hi) / (s_lo - s_hi)
            theta = float(np.clip(theta, 0.0, 1.0))
            x = x_hi + theta * (x_lo - x_hi)
            lam_star = 0.5 * (lo + hi)
            bracket = (lo, hi)
        stats = pool.stats()
    wall = time.perf_counter() - start
    n_vars = int(sum(s["n_variables"] for s in stats))
    n_cons = int(sum(s["n_constraints"] for s in stats))
    report = SolverReport(
        solver="highs",
        solver_version=highs_version(),
        status=SolveStatus.OPTIMAL,
        termination="optimal",
        solve_s=round(wall, 4),
        n_variables=n_vars,
        n_constraints=n_cons,
        options={"engine": engine, "tol": tol},
        notes=[
            f"decomposed: {sc.n_materials} subproblems ({prob.formulation} form), "
            f"{iters} rounds of re-solves, budget price {lam_star:.10g} EUR/EUR "
            f"(bracket {bracket[0]:.10g} to {bracket[1]:.10g}); setup {setup_s:.2f} s",
        ],
    )
    if iters >= max_iter:
        report.status = SolveStatus.ITERATION_LIMIT
        report.termination = "iteration_limit"
        if on_failure == "raise":
            raise_for_status(report.status, "decomposed stockpile LP", f"{max_iter} rounds")
    sp = pd.DataFrame(
        {
            "constraint": pd.array(["budget"] if budget is not None else [], dtype="string"),
            "material": pd.array(["(all)"] if budget is not None else [], dtype="string"),
            "value": np.array([lam_star] if budget is not None else [], dtype=np.float64),
            "unit": pd.array(
                ["EUR per EUR of budget"] if budget is not None else [], dtype="string"
            ),
            "meaning": pd.array(
                ["objective saved by one more euro of purchase budget (Lagrange price)"]
                if budget is not None
                else [],
                dtype="string",
            ),
        }
    )
    res = result_from_stock(
        prob,
        x,
        status=report.status,
        report=report,
        shadow_prices=sp,
        method="stockpile_lp_decomposed",
        extra_notes=list(report.notes),
    )
    res.report.details["subproblems"] = stats
    return res
