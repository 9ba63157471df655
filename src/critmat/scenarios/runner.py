"""Run an ensemble locally or on Dask: same draws, same chunks, same results.

All uncertain parameters are drawn up front (:mod:`critmat.scenarios.sampling`); the
scenarios are then cut into chunks along the scenario axis, each chunk is simulated by the
pure :func:`critmat.scenarios.engine.simulate` (in this process, or as a task on a Dask
cluster), and the chunks are written into preallocated result arrays in scenario order.
The engine treats each scenario independently, so the results do not depend on where or in
which order chunks run: a run on a cluster equals the local run with the same seed.

The chunk size follows a memory budget (``memory_mb`` per chunk, default 64 MB, which keeps
the working set near the CPU caches): the working set of one scenario is estimated from the
number of materials, shocks, credits and months.
"""

from __future__ import annotations

import logging
import platform
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from critmat._version import __version__
from critmat.errors import DaskError
from critmat.scenarios.engine import (
    OUTPUT_MONTHLY,
    OUTPUT_SUMMARY,
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

__all__ = ["DaskError", "chunk_bounds", "chunk_size_for", "run", "run_plan", "simulate_chunks"]

log = logging.getLogger(__name__)

#: Accepted scheme prefixes of a scheduler address.
_SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://")


def chunk_size_for(static: StaticInputs, memory_mb: float = 64.0) -> int:
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


class _Arrays:
    """Preallocated result arrays filled chunk by chunk.

    Monthly arrays are kept scenario-last (``[M, T, S]`` and ``[J, T, S]``) so that the
    statistics over scenarios read contiguous memory; per-scenario outcomes are ``[S, M]``.
    """

    _MONTHLY = (*OUTPUT_MONTHLY, "systems_not_built")

    def __init__(self, n: int, static: StaticInputs) -> None:
        m, t, j = static.n_materials, static.horizon, static.n_systems
        self.data: dict[str, np.ndarray] = {
            v: np.empty((m, t, n), np.float32) for v in OUTPUT_MONTHLY
        }
        for v in OUTPUT_SUMMARY:
            self.data[v] = np.empty((n, m))
        self.data["systems_not_built"] = np.empty((j, t, n), np.float32)
        self.data["cum_systems_not_built"] = np.empty((n, j))

    def put(self, start: int, stop: int, chunk: dict[str, np.ndarray]) -> None:
        for k, a in self.data.items():
            if k in self._MONTHLY:
                a[:, :, start:stop] = chunk[k].transpose(1, 2, 0)
            else:
                a[start:stop] = chunk[k]


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
) -> Iterator[tuple[tuple[int, int], dict[str, np.ndarray]]]:
    for a, b in bounds:
        yield (a, b), simulate(static, draws.slice(a, b))


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
) -> Iterator[tuple[tuple[int, int], dict[str, np.ndarray]]]:
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
                    silence_logs=logging.ERROR,
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
        # simulates chunk by chunk with the local chunk boundaries)
        size = bounds[0][1] - bounds[0][0]
        per_task = max(1, -(-len(bounds) // (4 * max(info["dask_workers"], 1))))
        futures = {}
        for i in range(0, len(bounds), per_task):
            a, b = bounds[i][0], bounds[min(i + per_task, len(bounds)) - 1][1]
            fut = client.submit(
                simulate_chunks,
                static_f,
                draws.slice(a, b),
                size,
                pure=False,
                key=f"critmat-simulate-{token}-{i}",
            )
            futures[fut] = (a, b)
        for fut, res in as_completed(futures, with_results=True):
            yield futures[fut], res
    finally:
        for obj in owned:
            obj.close()


def run_plan(
    plan: Plan,
    *,
    dask: Any = None,
    workers: int | None = None,
    chunk_size: int | None = None,
    memory_mb: float = 64.0,
    progress: bool = False,
    keep_arrays: bool = False,
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
    static = plan.inputs()
    draws = draw(plan.scenario, n, spec.seed)
    size = chunk_size or chunk_size_for(static, memory_mb)
    bounds = chunk_bounds(n, size)
    out = _Arrays(n, static)
    info: dict[str, Any] = {"engine": "local"}
    bar = _progress(progress, n, f"{plan.scenario.name[:40]}")
    try:
        stream = (
            _local(static, draws, bounds)
            if dask is None
            else _dask(static, draws, bounds, dask, workers, info)
        )
        for (a, b), chunk in stream:
            out.put(a, b, chunk)
            if bar is not None:
                bar.advance(bar.task_ids[0], b - a)
    finally:
        if bar is not None:
            bar.stop()
    sim_s = time.perf_counter() - t_start
    kb_sources = ["eu_crm_2023_eus", "eu_crm_2023_gs", "eu_crm_2023_params"]
    if np.isfinite(plan.baseline.annual_demand_t).any():
        kb_sources += ["wmd_bmf", "baci_hs92_v202401b"]
    if plan.scenario.event is not None and plan.scenario.event.event_ids:
        kb_sources.append("china_export_controls")
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
        "warnings": list(plan.warnings),
        "notes": notes,
        "sources": kb_sources,
        **info,
    }
    result = assemble(plan, spec, draws, out.data, meta, overwrite=not keep_arrays)
    result.meta["wall_s"] = round(time.perf_counter() - t_start, 4)
    if keep_arrays:  # [S, M, T] views of the scenario-last arrays
        result.arrays = {k: out.data[k].transpose(2, 0, 1) for k in OUTPUT_MONTHLY}
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
    memory_mb: float = 64.0,
    progress: bool = False,
    keep_arrays: bool = False,
    source: str | None = None,
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
        Memory budget of one chunk.
    progress
        Show a Rich progress bar on stderr.
    keep_arrays
        Keep the ``[S, M, T]`` monthly arrays in ``result.arrays``.
    source
        File name for validation messages.

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
    )
