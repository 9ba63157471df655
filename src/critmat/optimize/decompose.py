"""Decomposition of the stockpile LP by material: Lagrangian price of the budget by bisection.

Materials are coupled only by the budget row ``sum_m p_m S_m <= B`` (with the expected
objective or the per-material CVaR; the portfolio CVaR couples them through the joint tail).
Pricing the budget at lambda EUR per EUR removes that row and adds ``lambda p_m`` to the
cost of each stock; what is left splits into independent blocks::

    min  (h'_m + o_m + lambda p_m) S_m + E[(w_m + o_m) U_m]   s.t. the material's constraints

The blocks are found, not assumed: the linopy model (the same one ``build_model`` returns,
possibly with the user's own constraints) is exported to its constraint matrix, the budget
row is dropped, and the connected components of the remaining rows and columns are the
subproblems - one per material, unless a user constraint ties materials together. Each
block becomes its own HiGHS instance (on a Dask actor, or in this process) and is re-solved
warm for each lambda by changing its stock cost.

The spend ``B(lambda) = sum_m p_m S_m(lambda)`` falls as lambda rises, as a step function.
Every solve also returns the range of lambda over which its solution stays optimal (HiGHS
cost ranging of the stock column), so a block whose range still holds is not re-solved and
the bisection bracket jumps to the ends of those ranges; it closes at the breakpoint
lambda* where the spend crosses the budget, usually exactly. The solution is the convex
combination of the two bracketing solutions that spends exactly B: both are optimal at
lambda*, so it is optimal for the monolithic LP (LP duality), and lambda* is the budget's
shadow price.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from critmat.optimize._solver import (
    OptimizeError,
    SolverReport,
    SolveStatus,
    _swallow_highs_banner,
    highs_version,
    raise_for_status,
)
from critmat.optimize.scenario_set import ScenarioSet
from critmat.optimize.stockpile import (
    StockpileModel,
    StockpileOptions,
    StockpileResult,
    build_model,
    prepare,
    result_from_stock,
)

__all__ = ["BlockSubproblem", "SubproblemGroup", "solve_decomposed", "split_blocks"]

log = logging.getLogger(__name__)

_SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://")


@dataclass
class BlockData:
    """One diagonal block of the LP without the budget row (arrays, cheap to ship).

    Attributes
    ----------
    materials
        Material indices of the block's stock columns (in ``stock_cols`` order).
    c, lb, ub
        Column costs and bounds.
    indptr, indices, data, row_lower, row_upper
        Rows (CSR) and their bounds.
    stock_cols
        Block-local column of each stock.
    price
        Budget coefficient (EUR/t) of each stock.
    """

    materials: np.ndarray
    c: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    stock_cols: np.ndarray
    price: np.ndarray

    @property
    def n_cols(self) -> int:
        """Columns."""
        return len(self.c)

    @property
    def n_rows(self) -> int:
        """Rows."""
        return len(self.row_lower)


def split_blocks(model: StockpileModel) -> tuple[list[BlockData], np.ndarray, float]:
    """Drop the budget row of a built model and return its independent blocks.

    Returns
    -------
    tuple
        ``(blocks, price per material, budget)``; the budget is ``inf`` without a budget row.
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    mats = model.matrices
    a = mats.A.tocsr() if mats.A is not None else sp.csr_array((0, len(mats.vlabels)))
    vlabels = np.asarray(mats.vlabels)
    clabels = np.asarray(mats.clabels)
    col_of = {int(v): i for i, v in enumerate(vlabels)}
    stock_labels = np.ravel(model.variables["stock"].labels.values)
    stock_cols = np.array([col_of[int(v)] for v in stock_labels])
    budget = np.inf
    keep = np.ones(a.shape[0], dtype=bool)
    price = np.zeros(len(stock_cols))
    if "budget" in model.constraints:
        lab = int(np.ravel(model.constraints["budget"].labels.values)[0])
        row = int(np.flatnonzero(clabels == lab)[0])
        keep[row] = False
        dense = np.asarray(a[[row], :].toarray()).ravel()
        price = dense[stock_cols]
        if np.abs(np.delete(dense, stock_cols)).max(initial=0.0) > 0:
            raise OptimizeError("the budget row holds more than the stock columns")
        budget = float(mats.b[row])
    else:
        price = np.asarray(model.critmat.params.price, dtype=np.float64)
    a = a[keep]
    b = np.asarray(mats.b)[keep]
    sense = np.asarray(mats.sense)[keep]
    lower = np.where(sense != "<", b, -np.inf)
    upper = np.where(sense != ">", b, np.inf)
    n_cols, n_rows = a.shape[1], a.shape[0]
    coo = a.tocoo()
    graph = sp.coo_array(
        (np.ones(coo.nnz), (coo.col, n_cols + coo.row)), shape=(n_cols + n_rows,) * 2
    )
    _n, label = connected_components(graph, directed=False)
    col_comp, row_comp = label[:n_cols], label[n_cols:]
    c, lb, ub = np.asarray(mats.c), np.asarray(mats.lb), np.asarray(mats.ub)
    blocks = []
    stock_comp = col_comp[stock_cols]
    for comp in dict.fromkeys(stock_comp.tolist()):
        cols = np.flatnonzero(col_comp == comp)
        rows = np.flatnonzero(row_comp == comp)
        sub = a[rows][:, cols].tocsr()
        local = {int(j): i for i, j in enumerate(cols)}
        which = np.flatnonzero(stock_comp == comp)
        blocks.append(
            BlockData(
                materials=which,
                c=c[cols],
                lb=lb[cols],
                ub=ub[cols],
                indptr=sub.indptr.astype(np.int32),
                indices=sub.indices.astype(np.int32),
                data=sub.data.astype(np.float64),
                row_lower=lower[rows],
                row_upper=upper[rows],
                stock_cols=np.array([local[int(stock_cols[i])] for i in which]),
                price=price[which],
            )
        )
    others = np.setdiff1d(np.unique(col_comp), np.unique(stock_comp))
    if len(others):  # columns unrelated to any stock: a user addition without effect here
        loose = np.isin(col_comp, others)
        if (c[loose] != 0).any():
            raise OptimizeError(
                "the model has priced variables that no stock depends on; the decomposition "
                "keeps only blocks with a stock (solve it monolithically)"
            )
    return blocks, price, budget


class BlockSubproblem:
    """A block of the LP (usually one material) in its own HiGHS instance.

    Parameters
    ----------
    block
        The block's arrays.
    threads
        HiGHS threads; ``None`` (default) leaves them to HiGHS. HiGHS sizes one global
        scheduler per process at its first solve, and a later instance asking for another
        number of threads fails (``run()`` returns an error, model status 'Not Set'), so a
        fixed count is only safe in a process that solves nothing else (a Dask worker).
    """

    def __init__(self, block: BlockData, threads: int | None = None) -> None:
        import highspy

        _swallow_highs_banner()
        start = time.perf_counter()
        self.block = block
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        if threads is not None:
            h.setOptionValue("threads", int(threads))
        n = block.n_cols
        h.addVars(n, block.lb, block.ub)
        h.changeColsCost(n, np.arange(n, dtype=np.int32), block.c)
        if block.n_rows:
            h.addRows(
                block.n_rows,
                block.row_lower,
                block.row_upper,
                len(block.data),
                block.indptr,
                block.indices,
                block.data,
            )
        self.highs = h
        self.base = block.c[block.stock_cols].copy()
        self.single = len(block.stock_cols) == 1
        self.build_s = time.perf_counter() - start
        self.solves = 0
        self.cached = 0
        self.solve_s = 0.0
        self._last: tuple[np.ndarray, float, float, str] | None = None

    def solve(self, lam: float) -> tuple[np.ndarray, float, float, str]:
        """Solve at budget price ``lam``: ``(stocks, lam_low, lam_high, status)``.

        ``[lam_low, lam_high]`` is the range of budget prices over which the solution stays
        optimal (cost ranging of a single stock column: the basis stays optimal, so the
        solution does not change); a block with several stocks reports ``[lam, lam]``.
        """
        import highspy

        last = self._last
        if last is not None and last[1] <= lam <= last[2]:
            self.cached += 1  # still optimal at this price: nothing to solve
            return last
        start = time.perf_counter()
        cols = self.block.stock_cols.astype(np.int32)
        self.highs.changeColsCost(len(cols), cols, self.base + float(lam) * self.block.price)
        self.highs.run()
        self.solves += 1
        status = self.highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            self.solve_s += time.perf_counter() - start
            nan = np.full(len(cols), np.nan)
            return nan, float(lam), float(lam), self.highs.modelStatusToString(status)
        x = np.maximum(np.asarray(self.highs.getSolution().col_value)[cols], 0.0)
        low, high = float(lam), float(lam)
        if self.single:
            ok, ranging = self.highs.getRanging()
            if ok == highspy.HighsStatus.kOk:
                j, p, base = int(cols[0]), float(self.block.price[0]), float(self.base[0])
                up = float(ranging.col_cost_up.value_[j])
                dn = float(ranging.col_cost_dn.value_[j])
                if p > 0:
                    high = max((up - base) / p, lam) if np.isfinite(up) else np.inf
                    low = min((dn - base) / p, lam) if np.isfinite(dn) else -np.inf
                else:  # no price: the budget price does not change this block
                    low, high = -np.inf, np.inf
        self.solve_s += time.perf_counter() - start
        self._last = (x, low, high, "optimal")
        return self._last

    def stats(self) -> dict[str, Any]:
        """Size and time of this subproblem."""
        return {
            "materials": self.block.materials.tolist(),
            "n_variables": self.block.n_cols,
            "n_constraints": self.block.n_rows,
            "n_nonzeros": len(self.block.data),
            "build_s": round(self.build_s, 4),
            "solve_s": round(self.solve_s, 4),
            "solves": self.solves,
            "cached": self.cached,
            "process_peak_rss_mb": _peak_rss_mb(),
        }


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (MB; Linux ``VmHWM``, NaN elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:  # noqa: PTH123
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class SubproblemGroup:
    """Blocks held together (one Dask actor per worker) and solved in turn."""

    def __init__(self, blocks: list[BlockData], threads: int | None = None) -> None:
        self.subs = [BlockSubproblem(b, threads) for b in blocks]

    def solve(self, lam: float) -> list[tuple[np.ndarray, float, float, str]]:
        """Solve every block at budget price ``lam``."""
        return [s.solve(lam) for s in self.subs]

    def stats(self) -> list[dict[str, Any]]:
        """Size and time of each block."""
        return [s.stats() for s in self.subs]


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
            import dask

            # as the scenario runner: dask's MALLOC_TRIM_THRESHOLD_ for workers switches off
            # glibc's dynamic mmap threshold and slows numpy temporaries down
            with dask.config.set(
                {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
            ):
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
    """The subproblem groups, local or on Dask actors, solved together for one price."""

    def __init__(
        self, groups: list[Any], blocks: list[list[BlockData]], n: int, remote: bool
    ) -> None:
        self.groups = groups
        self.blocks = [b for part in blocks for b in part]
        self.n = n
        self.remote = remote

    def solve(self, lam: float) -> tuple[np.ndarray, float, float]:
        """Stocks at ``lam`` and the price range over which they all stay optimal."""
        if self.remote:
            futures = [g.solve(lam) for g in self.groups]
            parts = [f.result() for f in futures]
        else:
            parts = [g.solve(lam) for g in self.groups]
        flat = [r for part in parts for r in part]
        x = np.empty(self.n)
        for block, (xb, _lo, _hi, status) in zip(self.blocks, flat, strict=True):
            if status != "optimal":
                raise OptimizeError(
                    f"a subproblem (materials {block.materials.tolist()}) stopped with HiGHS "
                    f"status '{status}' at budget price {lam:g}",
                    code="solve_subproblem",
                )
            x[block.materials] = xb
        return x, max(r[1] for r in flat), min(r[2] for r in flat)

    def stats(self) -> list[dict[str, Any]]:
        if self.remote:
            parts = [g.stats().result() for g in self.groups]
        else:
            parts = [g.stats() for g in self.groups]
        return [r for part in parts for r in part]


def _bisect(
    pool: _Pool, price: np.ndarray, budget: float, hi: float, tol: float, max_iter: int
) -> tuple[np.ndarray, float, tuple[float, float], int]:
    """Budget price by bisection on the ranging-informed bracket (see the module doc)."""
    x0, _low0, high0 = pool.solve(0.0)
    iters = 1
    if not np.isfinite(budget) or float(price @ x0) <= budget * (1 + 1e-12):
        return x0, 0.0, (0.0, 0.0), iters
    lo, x_lo = max(0.0, min(high0, hi)), x0
    x_hi, low_hi, _ = pool.solve(hi)
    iters += 1
    if float(price @ x_hi) > budget * (1 + 1e-9):  # only the required cover is left here
        raise OptimizeError(f"no budget price brings the spend down to {budget:,.0f} EUR")
    hi = max(min(hi, low_hi), lo)
    step = 0
    while hi - lo > tol * max(hi, 1e-12) and iters < max_iter:
        # alternate a secant step on the spend (fast where the spend is smooth in lambda)
        # with a bisection step (the bracket at least halves every two rounds)
        s_lo, s_hi = float(price @ x_lo), float(price @ x_hi)
        width = hi - lo
        if step % 2 == 0 and s_lo > s_hi:
            frac = float(np.clip((s_lo - budget) / (s_lo - s_hi), 0.05, 0.95))
            mid = lo + frac * width
        else:
            mid = lo + 0.5 * width
        step += 1
        x_mid, low, high = pool.solve(mid)
        iters += 1
        s_mid = float(price @ x_mid)
        if abs(s_mid - budget) <= 1e-12 * max(budget, 1.0):
            return x_mid, mid, (mid, mid), iters
        if s_mid > budget:
            lo, x_lo = min(max(mid, high), hi), x_mid
        else:
            hi, x_hi = max(min(mid, low), lo), x_mid
    s_lo, s_hi = float(price @ x_lo), float(price @ x_hi)
    theta = 1.0 if s_lo - s_hi <= 0 else (budget - s_hi) / (s_lo - s_hi)
    theta = float(np.clip(theta, 0.0, 1.0))
    return x_hi + theta * (x_lo - x_hi), 0.5 * (lo + hi), (lo, hi), iters


def solve_decomposed(
    scenarios: ScenarioSet | StockpileModel,
    parameters: Any = None,
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
        As for :func:`~critmat.optimize.stockpile.build_model`; or a model built by it
        (possibly with the user's constraints; constraints that tie materials together merge
        their blocks).
    dask
        ``None`` (this process), ``"local"`` (a LocalCluster), a scheduler address
        ``tcp://host:port`` or a ``distributed.Client``.
    workers
        Workers of the LocalCluster.
    tol
        Relative width at which the bracket on the budget price is closed.
    max_iter
        Bisection rounds at most.
    on_failure
        As in :func:`~critmat.optimize.stockpile.solve`.

    Returns
    -------
    StockpileResult
        As the monolithic :func:`~critmat.optimize.stockpile.solve`; ``report.notes`` give
        the rounds and the budget price, ``report.details["subproblems"]`` each block's size
        and times, ``shadow_prices`` the budget's.
    """
    start = time.perf_counter()
    if isinstance(scenarios, StockpileModel):
        model = scenarios
        prob = model.critmat
    else:
        prob = prepare(scenarios, parameters, options, **overrides)
        model = None
    opts = prob.options
    if opts.objective == "cvar" and opts.cvar_scope == "portfolio":
        raise OptimizeError(
            "the portfolio CVaR couples materials through the joint tail (eta, z_s), so it "
            "does not split by material; use cvar_scope='material' or the monolithic "
            "optimize_stockpile"
        )
    if model is None:
        model = build_model(prob)
    blocks, price, budget = split_blocks(model)
    par = prob.params
    n = prob.scenarios.n_materials
    split_s = time.perf_counter() - start
    engine = "local"
    with contextlib.ExitStack() as stack:
        if dask is None:
            groups: list[Any] = [SubproblemGroup(blocks)]
            pool = _Pool(groups, [blocks], n, remote=False)
        else:
            client, engine = stack.enter_context(_client(dask, workers))
            addrs = sorted(client.scheduler_info().get("workers", {}))
            n_groups = max(1, min(len(addrs), len(blocks)))
            # largest blocks first, each to the least loaded group
            load = [0] * n_groups
            parts: list[list[BlockData]] = [[] for _ in range(n_groups)]
            for b in sorted(blocks, key=lambda b: -len(b.data)):
                g = int(np.argmin(load))
                parts[g].append(b)
                load[g] += len(b.data) + b.n_cols
            futures = []
            for g, part in enumerate(parts):
                kwargs: dict[str, Any] = {"actor": True, "pure": False}
                if addrs:
                    kwargs["workers"] = [addrs[g % len(addrs)]]
                futures.append(client.submit(SubproblemGroup, part, None, **kwargs))
            pool = _Pool([f.result() for f in futures], parts, n, remote=True)
        setup_s = time.perf_counter() - start
        hi = float(np.max((par.shortage + par.price) / par.price)) + 1.0
        x, lam_star, bracket, iters = _bisect(pool, price, budget, hi, tol, max_iter)
        stats = pool.stats()
    wall = time.perf_counter() - start
    report = SolverReport(
        solver="highs",
        solver_version=highs_version(),
        status=SolveStatus.OPTIMAL,
        termination="optimal",
        solve_s=round(wall, 4),
        n_variables=int(sum(s["n_variables"] for s in stats)),
        n_constraints=int(sum(s["n_constraints"] for s in stats)),
        n_nonzeros=int(sum(s["n_nonzeros"] for s in stats)),
        options={"engine": engine, "tol": tol},
        notes=[
            f"decomposed: {len(blocks)} subproblems ({prob.formulation} form) from "
            f"{n} materials, {iters} rounds, "
            f"{sum(s['solves'] for s in stats)} re-solves "
            f"({sum(s['cached'] for s in stats)} skipped by cost ranging), budget price "
            f"{lam_star:.10g} EUR/EUR (bracket {bracket[0]:.10g} to {bracket[1]:.10g}); "
            f"model and split {split_s:.2f} s, setup {setup_s:.2f} s",
        ],
        details={"subproblems": stats},
    )
    if iters >= max_iter:
        report.status = SolveStatus.ITERATION_LIMIT
        report.termination = "iteration_limit"
        if on_failure == "raise":
            raise_for_status(report.status, "decomposed stockpile LP", f"{max_iter} rounds")
    has_budget = np.isfinite(budget)
    sp = pd.DataFrame(
        {
            "constraint": pd.array(["budget"] if has_budget else [], dtype="string"),
            "material": pd.array(["(all)"] if has_budget else [], dtype="string"),
            "value": np.array([lam_star] if has_budget else [], dtype=np.float64),
            "unit": pd.array(["EUR per EUR of budget"] if has_budget else [], dtype="string"),
            "meaning": pd.array(
                ["objective saved by one more euro of purchase budget (Lagrange price)"]
                if has_budget
                else [],
                dtype="string",
            ),
        }
    )
    return result_from_stock(
        prob,
        x,
        status=report.status,
        report=report,
        shadow_prices=sp,
        method="stockpile_lp_decomposed",
        extra_notes=list(report.notes),
    )
