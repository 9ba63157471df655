"""Run an ensemble on the knowledge base: ``critmat.scenarios.run(kb, spec)``.

The public entry point of the scenarios, with the knowledge base first as everywhere in
critmat (``kb.scenarios.run(spec)`` binds it). The work is done by
:func:`critmat.scenarios.runner.run` (local or Dask).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase
    from critmat.scenarios.plan import Plan
    from critmat.scenarios.result import EnsembleResult
    from critmat.scenarios.spec import EnsembleSpec, Scenario

__all__ = ["run"]


def run(
    kb: KnowledgeBase,
    spec: EnsembleSpec | Scenario | dict[str, Any] | Plan,
    *,
    dask: Any = None,
    workers: int | None = None,
    samples: int | None = None,
    seed: int | None = None,
    chunk_size: int | None = None,
    memory_mb: float = 64.0,
    progress: bool | Callable[[int, int], None] = False,
    keep_arrays: bool = False,
    source: str | None = None,
) -> EnsembleResult:
    """Validate and run an ensemble of disruption scenarios.

    Parameters
    ----------
    kb
        Knowledge base (baseline supply structure and demand).
    spec
        Ensemble specification, scenario, parsed YAML/JSON mapping, or a validated plan.
    dask
        ``None`` to run in this process; ``"local"`` for a LocalCluster (closed afterwards);
        ``"tcp://host:port"`` for an existing scheduler; or a ``distributed.Client``.
    workers
        Workers of the LocalCluster (default: dask's choice for this machine).
    samples, seed
        Override the specification's Monte Carlo settings.
    chunk_size
        Scenarios per chunk (default from ``memory_mb``).
    memory_mb
        Memory budget of one chunk.
    progress
        Show a Rich progress bar on stderr (``True``), or call ``progress(done, total)``
        after every chunk (an exception it raises stops the run).
    keep_arrays
        Keep the ``[S, M, T]`` monthly arrays in ``result.arrays``.
    source
        File name for validation messages.

    Returns
    -------
    critmat.scenarios.result.EnsembleResult

    Raises
    ------
    critmat.errors.ScenarioSpecError
        If the specification is invalid (nothing is computed).
    critmat.errors.DaskError
        If the cluster cannot be reached.

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> res = kb.scenarios.run({"name": "Ga cut", "horizon_months": 24, "shocks": [
    ...     {"exporter": "CHN", "material": "gallium", "duration": 12}]})
    >>> round(float(res.summary["shortfall_mean"].iloc[0]), 2)
    8.28
    """
    from critmat.scenarios import runner

    return runner.run(
        spec,
        kb,
        dask=dask,
        workers=workers,
        samples=samples,
        seed=seed,
        chunk_size=chunk_size,
        memory_mb=memory_mb,
        progress=progress,
        keep_arrays=keep_arrays,
        source=source,
    )
