"""Run an ensemble locally or on Dask: same draws, same chunks, same results.

All uncertain parameters are drawn up front (:mod:`critmat.scenarios.sampling`); the
scenarios are then cut into chunks along the scenario axis, each chunk is simulated by the
pure :func:`critmat.scenarios.engine.simulate` (in this process, or in a task on a Dask
cluster) and reduced at once, so that memory does not grow with the monthly paths:

* the per-scenario outcomes (cumulative and peak shortfall, stock-out months, ...) go into
  ``[S, M]`` arrays in scenario order (float32 beyond the exact regime), from which the
  summary statistics are computed exactly;
* the monthly paths go into a :class:`~critmat.scenarios.stats.MonthlySketch` (exact
  means and probabilities, fixed-bin percentiles within half a bin), or, while they fit in
  ``exact_monthly_mb`` or with ``keep_arrays``, are kept for exact percentiles.

The engine treats each scenario independently and the sketch merges exactly (integer
counts and fixed-point sums), so the results depend neither on where or in which order the
chunks run nor on their size: a run on a cluster equals the local run with the same seed.
A Dask task simulates a block of whole chunks and returns only its totals and its sketch.

The chunk size follows a memory budget (``memory_mb`` per chunk, :data:`CHUNK_MB`): the
working set of one scenario is estimated from the number of materials, shocks, credits and
months.
"""

from __future__ import annotations

import logging
import platform
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from critmat._version import __version__
from critmat.errors import DaskError
from critmat.scenarios import stats
from critmat.scenarios.engine import (
    OUTPUT_MONTHLY,
    ShockDraws,
    StaticInputs,
    bytes_per_scenario,
    simulate,
)
from critmat.scenarios.plan import Plan, validate
from critmat.scenarios.result import EnsembleResult, assemble
from critmat.scenarios.sampling import draw
from critmat.scenarios.spec import EnsembleSpec, Scenario, parse_spec

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "KEPT",
    "MEMORY_SHARE",
    "DaskError",
    "available_memory",
    "block_scenarios",
    "check_memory",
    "chunk_bounds",
    "chunk_size_for",
    "monthly_bounds",
    "monthly_bytes",
    "run",
    "run_memory_bytes",
    "run_plan",
    "simulate_block",
    "simulate_chunks",
]

log = logging.getLogger(__name__)

#: Accepted scheme prefixes of a scheduler address.
_SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://")


#: Default working set of one chunk (MB). Each of the engine's ~25 temporary arrays is then
#: about 0.5 MB, which glibc's allocator recycles in place: with 64 MB chunks (1.8 MB
#: arrays) every chunk page-faults its temporaries in again, about 95 faults per scenario
#: at 34 materials x 120 months, and the engine runs 1.5x slower (measured on the 2-core
#: box; benchmarks/bench_scenarios.py).
CHUNK_MB = 12.0

#: Monthly arrays are kept for exact monthly statistics while they take at most this (MB).
EXACT_MONTHLY_MB = 64.0

#: Largest per-scenario totals of one Dask task (MB): a worker's memory then does not grow
#: with the ensemble (one chunk, one block's totals and one sketch at a time).
TASK_TOTALS_MB = 16.0


#: Share of the available memory a run may plan to use before it is refused up front.
MEMORY_SHARE = 0.6


def run_memory_bytes(static: StaticInputs, scenario: Scenario, n: int, seed: int) -> int:
    """Estimated peak memory of an ensemble of ``n`` scenarios (bytes), before drawing it.

    What grows with ``n``: the shock draws (``[S, K]`` each, measured on a probe of 64
    draws) and the per-scenario outcomes (``[S, M]`` float32, :data:`KEPT` and the systems),
    counted one and a half times (kept, and the temporary copies of the summary statistics);
    the chunks and the monthly sketch do not grow with ``n``. Calibrated on china-full-cut:
    measured 3.9 kB per scenario (peak RSS at 20,000 and 100,000 scenarios), estimated 4.1.
    """
    probe = draw(scenario, 64, seed)
    draws_per = sum(getattr(probe, f.name).nbytes for f in fields(probe)) / 64
    totals_per = 4 * ((len(KEPT) + 1) * static.n_materials + static.n_systems)
    return int(n * (draws_per + 1.5 * totals_per)) + chunk_size_for(static) * bytes_per_scenario(
        static
    )


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``), if the OS says."""
    import os

    try:
        with Path("/proc/meminfo").open(encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:  # other POSIX systems: free physical pages
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(static: StaticInputs, scenario: Scenario, n: int, seed: int) -> None:
    """Refuse, before any allocation, an ensemble that would not fit in memory.

    Raises
    ------
    critmat.errors.ScenarioError
        With the estimate, the memory available and what to do instead.
    """
    from critmat.errors import ScenarioError

    need = run_memory_bytes(static, scenario, n, seed)
    have = available_memory()
    if have is None or need <= MEMORY_SHARE * have:
        return
    per = need / max(n, 1)
    fits = int(MEMORY_SHARE * have / per) // 1000 * 1000
    raise ScenarioError(
        f"{n:,} scenarios of '{scenario.name}' need about {need / 1e9:.1f} GB "
        f"({per / 1e3:.1f} kB per scenario: draws and per-scenario outcomes of "
        f"{static.n_materials} materials), more than {MEMORY_SHARE:.0%} of the "
        f"{have / 1e9:.1f} GB available; nothing was run. Run at most about {fits:,} "
        "scenarios (-n), or split the ensemble into runs with different --seed values and "
        "compare them (critmat scenario compare); a Dask cluster (--dask) spreads the "
        "simulation, but the per-scenario outcomes still come back to this machine"
    )


def chunk_size_for(static: StaticInputs, memory_mb: float = CHUNK_MB) -> int:
    """Scenarios per chunk so that one chunk's working set stays within ``memory_mb``."""
    per = max(bytes_per_scenario(static), 1)
    return max(1, int(memory_mb * 1e6 // per))


def chunk_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(n)`` in chunks of ``size``."""
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def simulate_chunks(static: StaticInputs, draws: ShockDraws, size: int) -> dict[str, np.ndarray]:
    """Simulate ``draws`` chunk by chunk (``size`` scenarios each) and join the results.

    The unit of work of a Dask task: several cache-sized chunks, so that tasks are few and
    large while each chunk's arrays stay small, with the same chunk boundaries as a local
    run.
    """
    parts = [simulate(static, draws.slice(a, b)) for a, b in chunk_bounds(draws.n, size)]
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


#: Per-scenario outcomes kept for every scenario (``[S, M]``) for the summary and outcomes.
KEPT = (
    "cum_shortfall",
    "cum_defence_shortfall",
    "cum_supply_gap",
    "peak_shortfall",
    "peak_price",
    "first_shortfall_month",
    "months_to_stockout",
    "first_onset",
)


def monthly_bounds(static: StaticInputs) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Bounds of the monthly outputs per material, by construction of the engine.

    Shortfall: 0 to 1 (monthly demand is at most the baseline); stock: 0 to the initial
    stock (releases stop at the reserve, purchases at the initial stock); price: 1 to the
    cap (the exponent ``1 / (e_D - e_S)`` is negative for the validated elasticities).
    """
    m = static.n_materials
    expo_negative = bool(np.all(static.eps_d - static.eps_s < 0))
    p_lo = 1.0 if expo_negative else 0.0
    p_hi = max(float(static.max_price_ratio), 1.0)
    lo = {"shortfall": np.zeros(m), "stock": np.zeros(m), "price": np.full(m, p_lo)}
    hi = {
        "shortfall": np.ones(m),
        "stock": np.maximum(np.asarray(static.stock0, dtype=np.float64), 0.0),
        "price": np.full(m, p_hi),
    }
    return lo, hi


def monthly_bytes(static: StaticInputs, n: int) -> int:
    """Bytes of the monthly arrays of ``n`` scenarios (float32, three variables)."""
    return 4 * n * static.n_materials * static.horizon * len(OUTPUT_MONTHLY)


class _FixedSum:
    """Exact, mergeable sums of bounded per-scenario values in 64-bit fixed point."""

    def __init__(self, shape: tuple[int, ...], bound: float, samples: int) -> None:
        bits = 62 - int(np.ceil(np.log2(max(samples, 1) + 1))) - int(np.ceil(np.log2(bound + 1)))
        self.scale = float(2 ** max(0, min(bits, 40)))
        self.total = np.zeros(shape, dtype=np.int64)

    def add(self, x: np.ndarray) -> None:
        self.total += np.rint(x * self.scale).astype(np.int64).sum(axis=0)

    def mean(self, n: int) -> np.ndarray:
        out: np.ndarray = self.total.astype(np.float64) / (self.scale * max(n, 1))
        return out


class _Accumulator:
    """Statistics of an ensemble accumulated chunk by chunk.

    Per-scenario outcomes (:data:`KEPT`, ``[S, M]``) are kept for every scenario: float64
    in the exact regime, float32 otherwise (a relative rounding of at most 2**-24 = 6e-8;
    months are whole numbers up to the horizon, exact in float32). The monthly
    statistics are either exact from the monthly arrays of every scenario (kept as
    float32 ``[T, S, M]``, as the engine's monthly outputs), when they fit in the budget
    or are asked for, or accumulated in a :class:`~critmat.scenarios.stats.MonthlySketch`
    whose size does not depend on the number of scenarios.
    """

    def __init__(
        self,
        n: int,
        static: StaticInputs,
        *,
        exact: bool,
        bins: int,
        samples: int | None = None,
        reuse: bool = False,
    ) -> None:
        m, t, j = static.n_materials, static.horizon, static.n_systems
        total = n if samples is None else samples
        self.n = n
        self.exact = exact
        dtype = np.float64 if exact else np.float32
        self.totals: dict[str, np.ndarray] = {k: np.empty((n, m), dtype) for k in KEPT}
        self.totals["cum_systems_not_built"] = np.empty((n, j), dtype)
        self.monthly: dict[str, np.ndarray] | None = None
        self.sketch: stats.MonthlySketch | None = None
        self.release: _FixedSum | None = None
        if exact:
            self.totals["cum_release"] = np.empty((n, m))
            self.monthly = {v: np.empty((t, n, m), np.float32) for v in OUTPUT_MONTHLY}
        else:
            lo, hi = monthly_bounds(static)
            self.sketch = (
                _reused_sketch(lo, hi, t, total, bins)
                if reuse
                else stats.MonthlySketch(lo, hi, horizon=t, samples=total, bins=bins)
            )
            self.release = _FixedSum((m,), float(t), total)

    def put(self, start: int, stop: int, chunk: dict[str, np.ndarray]) -> None:
        """Add the chunk of scenarios ``start:stop`` (engine output, ``layout="tsm"``)."""
        for k, a in self.totals.items():
            a[start:stop] = chunk[k]
        if self.release is not None:
            self.release.add(chunk["cum_release"])
        if self.monthly is not None:
            for v, a in self.monthly.items():
                a[:, start:stop] = chunk[v]
        if self.sketch is not None:
            self.sketch.add({v: chunk[v] for v in OUTPUT_MONTHLY})

    def part(self) -> _Part:
        """Everything accumulated, for the client (a Dask task's result)."""
        return _Part(
            n=self.n,
            totals=self.totals,
            monthly=self.monthly,
            sketch=None if self.sketch is None else self.sketch.part(),
            release=None if self.release is None else self.release.total,
        )

    def put_part(self, start: int, stop: int, part: _Part) -> None:
        """Add the result of a block of scenarios ``start:stop`` simulated elsewhere."""
        for k, a in self.totals.items():
            a[start:stop] = part.totals[k]
        if self.monthly is not None and part.monthly is not None:
            for v, a in self.monthly.items():
                a[:, start:stop] = part.monthly[v]
        if self.sketch is not None and part.sketch is not None:
            self.sketch.merge(part.sketch)
        if self.release is not None and part.release is not None:
            self.release.total += part.release

    def monthly_stats(self, *, keep: bool) -> tuple[stats.MonthlyStats, dict[str, np.ndarray]]:
        """The monthly statistics and, with ``keep``, the ``[S, M, T]`` monthly arrays."""
        if self.monthly is None:
            assert self.sketch is not None
            return self.sketch, {}
        # scenario-last copies, as the exact statistics read them (sorted in place unless
        # the arrays are kept)
        mts = {v: np.ascontiguousarray(a.transpose(2, 0, 1)) for v, a in self.monthly.items()}
        self.monthly = None
        arrays = {v: a.transpose(2, 0, 1) for v, a in mts.items()} if keep else {}
        return stats.ExactMonthly(mts, overwrite=not keep), arrays

    def release_mean(self) -> np.ndarray | None:
        """Mean cumulative release per material (``None``: from the kept totals)."""
        return None if self.release is None else self.release.mean(self.n)


_REUSE = threading.local()


def _reused_sketch(
    lo: dict[str, np.ndarray], hi: dict[str, np.ndarray], horizon: int, samples: int, bins: int
) -> stats.MonthlySketch:
    """An empty sketch of this layout, reusing this thread's last one when it matches.

    A Dask worker runs many tasks of the same run: a fresh sketch per task would page-fault
    its ~100 MB of counts in again each time (about a quarter of a task's time).
    """
    key = (
        tuple((v, lo[v].tobytes(), hi[v].tobytes()) for v in lo),
        horizon,
        samples,
        bins,
    )
    cached = getattr(_REUSE, "sketch", None)
    if cached is not None and cached[0] == key:
        sketch: stats.MonthlySketch = cached[1]
        sketch.reset()
        return sketch
    _REUSE.sketch = None  # free the previous layout first
    sketch = stats.MonthlySketch(lo, hi, horizon=horizon, samples=samples, bins=bins)
    _REUSE.sketch = (key, sketch)
    return sketch


@dataclass
class _Part:
    """A block of scenarios simulated by one task: its totals and monthly statistics."""

    n: int
    totals: dict[str, np.ndarray]
    monthly: dict[str, np.ndarray] | None
    sketch: stats.SketchPart | None
    release: np.ndarray | None


def simulate_block(
    static: StaticInputs, draws: ShockDraws, size: int, exact: bool, bins: int, samples: int
) -> _Part:
    """Simulate a block of scenarios chunk by chunk and return its accumulated statistics.

    The unit of work of a Dask task: the worker holds one chunk's working set at a time
    plus the block's per-scenario totals and sketch; the chunk boundaries are those of a
    local run.
    """
    acc = _Accumulator(draws.n, static, exact=exact, bins=bins, samples=samples, reuse=True)
    for a, b in chunk_bounds(draws.n, size):
        acc.put(a, b, simulate(static, draws.slice(a, b), layout="tsm"))
    return acc.part()


def _progress(enabled: bool, total: int, description: str) -> Any:
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("scenarios"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    bar.start()
    bar.add_task(description, total=total)
    return bar


def _local(
    static: StaticInputs, draws: ShockDraws, bounds: list[tuple[int, int]]
) -> Iterator[tuple[tuple[int, int], dict[str, np.ndarray] | _Part]]:
    for a, b in bounds:
        yield (a, b), simulate(static, draws.slice(a, b), layout="tsm")


def block_scenarios(static: StaticInputs, n: int, size: int, workers: int, memory_mb: float) -> int:
    """Scenarios per Dask task, in whole chunks of ``size``.

    About four tasks per worker, each holding at most ``memory_mb`` of per-scenario totals.
    """
    per_scenario = 4 * ((len(KEPT) + 1) * static.n_materials + static.n_systems)
    cap = max(size, int(memory_mb * 1e6 // max(per_scenario, 1)))
    want = -(-n // (4 * max(workers, 1)))
    return max(size, min(cap, want) // size * size)


def _check_address(address: str) -> None:
    if address == "local" or address.startswith(_SCHEMES):
        return
    raise DaskError(
        f"--dask '{address}' is not a scheduler address; expected 'local' (a "
        "LocalCluster on this machine) or tcp://host:port of a running "
        "dask.distributed scheduler"
    )


def _dask(
    static: StaticInputs,
    draws: ShockDraws,
    bounds: list[tuple[int, int]],
    target: Any,
    workers: int | None,
    info: dict[str, Any],
    *,
    exact: bool,
    bins: int,
) -> Iterator[tuple[tuple[int, int], dict[str, np.ndarray] | _Part]]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise DaskError(
            "dask.distributed is not installed; pip install 'dask[distributed]'"
        ) from exc
    owned: list[Any] = []
    try:
        if isinstance(target, Client):
            client = target
            info["engine"] = "dask (client given)"
        elif target == "local":
            import dask

            # dask sets MALLOC_TRIM_THRESHOLD_ for its workers, which switches off glibc's
            # dynamic mmap threshold: every array temporary of the engine is then mmapped
            # and unmapped (about 15x more page faults, twice the run time). Unset it for
            # the cluster critmat starts (see docs/scenarios.md for existing clusters).
            with dask.config.set(
                {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
            ):
                cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    # CRITICAL: the workers' shutdown logs (heartbeat "Stream is closed"
                    # tracebacks) must not reach the user; task errors still come back
                    # through the futures
                    silence_logs=logging.CRITICAL,
                )
            owned.append(cluster)
            client = Client(cluster)
            owned.insert(0, client)
            info["engine"] = "dask LocalCluster"
        else:
            _check_address(str(target))
            try:
                client = Client(str(target), timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise DaskError(
                    f"cannot reach the Dask scheduler at {target}: {exc}; start "
                    "one (dask scheduler / dask worker) or use --dask local"
                ) from None
            owned.append(client)
            info["engine"] = "dask (existing cluster)"
        info["dask_workers"] = len(client.scheduler_info().get("workers", {}))
        from dask import __version__ as dask_version

        info["dask_version"] = dask_version
        token = uuid.uuid4().hex[:10]
        static_f = client.scatter(static, broadcast=True)
        # tasks of whole chunks, about four per worker (fewer, larger tasks; each still
        # simulates chunk by chunk with the local chunk boundaries and returns only its
        # totals and its monthly sketch, merged here as they arrive)
        n = draws.n
        size = bounds[0][1] - bounds[0][0]
        block = block_scenarios(static, n, size, info["dask_workers"], TASK_TOTALS_MB)
        info["task_scenarios"] = block
        futures = {}
        for i, a in enumerate(range(0, n, block)):
            b = min(a + block, n)
            fut = client.submit(
                simulate_block,
                static_f,
                draws.slice(a, b),
                size,
                exact,
                bins,
                n,
                pure=False,
                key=f"critmat-simulate-{token}-{i}",
            )
            futures[fut] = (a, b)
        for fut, res in as_completed(futures, with_results=True):
            yield futures.pop(fut), res
            del fut, res
    finally:
        quiet = [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
        levels = [lg.level for lg in quiet]
        for lg in quiet:  # closing the cluster logs expected connection errors
            lg.setLevel(logging.CRITICAL)
        try:
            for obj in owned:
                obj.close()
        finally:
            for lg, level in zip(quiet, levels, strict=True):
                lg.setLevel(level)


def run_plan(
    plan: Plan,
    *,
    dask: Any = None,
    workers: int | None = None,
    chunk_size: int | None = None,
    memory_mb: float = CHUNK_MB,
    progress: bool | Callable[[int, int], None] = False,
    keep_arrays: bool = False,
    monthly_bins: int = 1024,
    exact_monthly_mb: float | None = None,
) -> EnsembleResult:
    """Run a validated :class:`~critmat.scenarios.plan.Plan`.

    See :func:`run` for the parameters.
    """
    t_start = time.perf_counter()
    spec = plan.spec
    notes: list[str] = []
    n = spec.samples
    if not plan.scenario.uncertain and n > 1:
        notes.append(
            f"no uncertain parameter: one deterministic scenario instead of {n} identical draws"
        )
        n = 1
        spec = spec.model_copy(update={"samples": 1})
    if monthly_bins < 2 or monthly_bins & (monthly_bins - 1):
        from critmat.params import ParameterError

        raise ParameterError(
            f"monthly_bins={monthly_bins} is not valid; expected a power of two (e.g. 1024)"
        )
    static = plan.inputs()
    check_memory(static, plan.scenario, n, spec.seed)
    draws = draw(plan.scenario, n, spec.seed)
    size = chunk_size or chunk_size_for(static, memory_mb)
    bounds = chunk_bounds(n, size)
    budget = EXACT_MONTHLY_MB if exact_monthly_mb is None else exact_monthly_mb
    exact = keep_arrays or monthly_bytes(static, n) <= budget * 1e6
    acc = _Accumulator(n, static, exact=exact, bins=monthly_bins)
    info: dict[str, Any] = {"engine": "local"}
    bar = _progress(progress is True, n, f"{plan.scenario.name[:40]}")
    report = progress if callable(progress) else None
    try:
        stream = (
            _local(static, draws, bounds)
            if dask is None
            else _dask(
                static,
                draws,
                bounds,
                dask,
                workers,
                info,
                exact=exact,
                bins=monthly_bins,
            )
        )
        for (a, b), item in stream:
            if isinstance(item, _Part):
                acc.put_part(a, b, item)
            else:
                acc.put(a, b, item)
            del item
            if bar is not None:
                bar.advance(bar.task_ids[0], b - a)
            if report is not None:
                report(b, n)  # may raise to stop the run (a cancelled API job)
    finally:
        if bar is not None:
            bar.stop()
    sim_s = time.perf_counter() - t_start
    kb_sources = ["eu_crm_2023_eus", "eu_crm_2023_gs", "eu_crm_2023_params"]
    used = {v for text in plan.baseline.vintage for v in str(text).split(";")}
    if "usgs_mcs2026" in used:
        kb_sources += ["usgs_mcs2026", "usgs_mcs2026_ext"]
    if "iea_gcmo_2025" in used:
        kb_sources.append("iea_gcmo_2025_refining")
    flagged = [
        f"{m} ({st})"
        for m, st in zip(plan.baseline.materials, plan.baseline.mix_status, strict=False)
        if st != "ok"
    ]
    if flagged:
        notes.append(
            f"supply shares (supply_vintage {plan.baseline.supply_vintage}): documented "
            f"fallback for {len(flagged)} material(s), see baseline mix_status and "
            "docs/scenarios.md: " + ", ".join(flagged[:12]) + (" ..." if len(flagged) > 12 else "")
        )
    if np.isfinite(plan.baseline.annual_demand_t).any():
        kb_sources += ["wmd_bmf", "baci_hs92_v202401b"]
    if plan.scenario.event is not None and plan.scenario.event.event_ids:
        kb_sources.append("china_export_controls")
    monthly_stats, arrays = acc.monthly_stats(keep=keep_arrays)
    statistics: dict[str, Any] = {
        "monthly": monthly_stats.kind,
        "totals_dtype": "float64" if exact else "float32",
    }
    if isinstance(monthly_stats, stats.MonthlySketch):
        errors = {v: float(np.max(monthly_stats.error(v), initial=0.0)) for v in OUTPUT_MONTHLY}
        statistics.update({"bins": monthly_bins, "percentile_error": errors})
        notes.append(
            f"monthly percentiles from a fixed-bin histogram ({monthly_bins} bins per "
            "material and month over each variable's range, exact at its bounds): at most "
            "half a bin from the exact percentile (column percentile_error; largest "
            + ", ".join(f"{v} {e:.2g}" for v, e in errors.items())
            + "); monthly means and probabilities exact"
        )
        notes.append(
            "per-scenario totals kept in float32 (relative rounding at most 6e-8) for "
            "memory independent of the ensemble size"
        )
    meta: dict[str, Any] = {
        "samples": n,
        "seed": spec.seed,
        "chunk_size": size,
        "chunks": len(bounds),
        "materials": len(plan.materials),
        "horizon_months": plan.scenario.horizon_months,
        "critmat_version": __version__,
        "dataset_version": plan.meta.get("dataset_version", ""),
        "dataset_hash": plan.meta.get("dataset_hash", ""),
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "simulate_s": round(sim_s, 4),
        "statistics": statistics,
        "warnings": list(plan.warnings),
        "notes": notes,
        "sources": kb_sources,
        "supply_vintage": plan.baseline.supply_vintage,
        "supply_mix_status": dict(
            zip(plan.baseline.materials, plan.baseline.mix_status, strict=False)
        ),
        **info,
    }
    result = assemble(
        plan, spec, draws, acc.totals, monthly_stats, meta, release_mean=acc.release_mean()
    )
    result.meta["wall_s"] = round(time.perf_counter() - t_start, 4)
    if keep_arrays:  # [S, M, T] views of the scenario-last arrays
        result.arrays = arrays
    return result


def run(
    spec: EnsembleSpec | Scenario | dict[str, Any] | Plan,
    kb: KnowledgeBase,
    *,
    dask: Any = None,
    workers: int | None = None,
    samples: int | None = None,
    seed: int | None = None,
    chunk_size: int | None = None,
    memory_mb: float = CHUNK_MB,
    progress: bool | Callable[[int, int], None] = False,
    keep_arrays: bool = False,
    source: str | None = None,
    monthly_bins: int = 1024,
    exact_monthly_mb: float | None = None,
) -> EnsembleResult:
    """Validate and run an ensemble.

    Parameters
    ----------
    spec
        Ensemble specification, scenario, parsed YAML/JSON mapping, or a validated plan.
    kb
        Knowledge base (baseline supply structure and demand).
    dask
        ``None`` to run in this process; ``"local"`` for a LocalCluster (one thread per
        worker process, closed afterwards); ``"tcp://host:port"`` for an existing
        scheduler; or a ``distributed.Client``.
    workers
        Workers of the LocalCluster (default: dask's choice for this machine).
    samples, seed
        Override the specification's Monte Carlo settings.
    chunk_size
        Scenarios per chunk (default from ``memory_mb``).
    memory_mb
        Memory budget of one chunk (:data:`CHUNK_MB`).
    progress
        Show a Rich progress bar on stderr (``True``), or call ``progress(done, total)``
        after every chunk (scenarios done so far; an exception it raises stops the run).
    keep_arrays
        Keep the ``[S, M, T]`` monthly arrays in ``result.arrays`` (memory then grows with
        the number of scenarios; the monthly statistics are exact).
    source
        File name for validation messages.
    monthly_bins
        Bins per material and month of the monthly sketch (a power of two): the monthly
        percentiles are then at most half a bin, ``range / (2 * monthly_bins)``, from the
        exact ones (``result.monthly["percentile_error"]``).
    exact_monthly_mb
        Keep the monthly arrays, for exact monthly percentiles, while they take at most
        this many MB (default 64); larger ensembles use the sketch, so that
        memory does not grow with the number of scenarios beyond their ``[S, M]`` totals.

    Returns
    -------
    EnsembleResult

    Raises
    ------
    critmat.scenarios.spec.ScenarioSpecError
        If the specification is invalid (nothing is computed).
    DaskError
        If the cluster cannot be reached.

    Examples
    --------
    >>> import critmat
    >>> from critmat.scenarios.runner import run
    >>> kb = critmat.load(user_data=False)
    >>> res = run({"name": "Ga cut", "horizon_months": 24, "shocks": [
    ...     {"exporter": "CHN", "material": "gallium", "duration": 12}]}, kb)
    >>> round(float(res.summary["shortfall_mean"].iloc[0]), 2)
    8.28
    """
    if dask is not None and isinstance(dask, str):
        _check_address(dask)
    plan = spec if isinstance(spec, Plan) else validate(kb, spec, source=source)
    update: dict[str, Any] = {}
    if samples is not None:
        update["samples"] = samples
    if seed is not None:
        update["seed"] = seed
    if update:
        plan.spec = parse_spec({**plan.spec.model_dump(mode="json"), **update})
    plan.meta = {"dataset_version": kb.version, "dataset_hash": kb.catalog.content_hash}
    return run_plan(
        plan,
        dask=dask,
        workers=workers,
        chunk_size=chunk_size,
        memory_mb=memory_mb,
        progress=progress,
        keep_arrays=keep_arrays,
        monthly_bins=monthly_bins,
        exact_monthly_mb=exact_monthly_mb,
    )
