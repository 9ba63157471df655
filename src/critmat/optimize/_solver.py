"""Solver plumbing shared by the decision models: status enum, HiGHS call, solver report.

Every model is solved by :func:`run_highs`, which wraps ``linopy.Model.solve`` with HiGHS
through its direct API, maps linopy's termination condition onto :class:`SolveStatus`
and returns a :class:`SolverReport`. The HiGHS banner, which the library writes to the
process's standard output once per process, is swallowed so that ``--format json`` output
of a command stays parseable.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from critmat.errors import CritmatError, InfeasibleError

if TYPE_CHECKING:
    from pydantic import BaseModel

_M = TypeVar("_M", bound="BaseModel")

__all__ = [
    "OptimizeError",
    "SolveStatus",
    "SolverReport",
    "raise_for_status",
    "run_highs",
    "validated",
    "without_dask_probe",
]


class OptimizeError(CritmatError, ValueError):
    """The inputs of a decision model are invalid (what, where, what would be valid)."""

    code = "optimize_invalid"


def validated(model: type[_M], data: Any, what: str) -> _M:
    """Build a pydantic ``model`` from ``data``; a validation error becomes an OptimizeError.

    The message lists every field with what is wrong and the value given, so that faces
    (CLI, API) report it like any other critmat input error.
    """
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err.get("loc", ())) or "(input)"
            value = err.get("input")
            shown = "" if isinstance(value, dict) else f" (got {value!r})"
            parts.append(f"{loc}: {err.get('msg', 'invalid')}{shown}")
        raise OptimizeError(f"invalid {what}: " + "; ".join(parts)) from None


@contextlib.contextmanager
def without_dask_probe() -> Iterator[None]:
    """Build and read linopy models without xarray importing ``dask.array``.

    xarray asks of every array it wraps whether it is a dask array, importing
    ``dask.array`` to find out (about 0.3-0.5 s of CPU, once per process) when dask is
    installed. critmat's models hold numpy arrays only, and while ``dask.array`` has not
    been imported no object can be a dask array: inside this block xarray is told so (its
    cache of duck-array modules holds "dask not available"); the entry is removed on exit,
    so that later code in the process (or dask imported meanwhile) is answered normally.
    A no-op when ``dask.array`` is already imported, or when xarray's internals differ.

    xarray's other probe, ``is_dask_collection`` (imports ``dask`` itself, about 0.15 s
    of CPU), is answered by dask's own first test inside the block: an object without a
    callable ``__dask_graph__`` (a numpy array, a number), or a class, is not a dask
    collection. Every other object is asked of dask as before (:func:`_exact_probe`).
    """
    cache: dict[str, Any] | None = None
    entry: Any = None
    probe = _swap_collection_probe()
    if "dask.array" not in sys.modules:
        try:
            from packaging.version import Version
            from xarray.namedarray import pycompat

            modules: dict[str, Any] = pycompat._cached_duck_array_modules  # type: ignore[assignment]
            if "dask" not in modules:
                entry = object.__new__(pycompat.DuckArrayModule)
                entry.module, entry.version, entry.type, entry.available = (
                    None,
                    Version("0.0.0"),
                    (),
                    False,
                )
                modules["dask"] = entry
                cache = modules
        except Exception:  # pragma: no cover - another xarray: only slower
            cache = entry = None
    try:
        yield
    finally:
        if cache is not None and entry is not None and cache.get("dask") is entry:
            del cache["dask"]
        if probe is not None:
            module, original = probe
            if getattr(module, "is_dask_collection", None) is _EXACT_PROBE.get("fast"):
                module.is_dask_collection = original


#: The short-cut probe (``fast``) and the xarray function it stands in for (``original``).
_EXACT_PROBE: dict[str, Any] = {}


def _exact_probe(original: Any) -> Any:
    """``is_dask_collection`` without importing dask for objects dask itself rejects first.

    ``dask.base.is_dask_collection`` begins: a class, or an object without a callable
    ``__dask_graph__``, is not a collection. Those are answered here; the rest by
    ``original`` (which imports dask), so the answer is dask's for every object.
    """

    def is_dask_collection(x: object) -> bool:
        graph = getattr(x, "__dask_graph__", None)
        if isinstance(x, type) or graph is None or not callable(graph):
            return False
        return bool(original(x))

    return is_dask_collection


def _swap_collection_probe() -> tuple[Any, Any] | None:
    """Put :func:`_exact_probe` in xarray's ``namedarray.utils``; ``(module, original)``."""
    if "dask" in sys.modules:
        return None  # dask is loaded: its probe costs nothing more
    try:
        from xarray.namedarray import utils
    except Exception:  # pragma: no cover - another xarray: only slower
        return None
    current = getattr(utils, "is_dask_collection", None)
    if current is None or current is _EXACT_PROBE.get("fast"):
        return None  # not this xarray, or already swapped (another thread's block)
    if _EXACT_PROBE.get("original") is not current:
        _EXACT_PROBE["original"] = current
        _EXACT_PROBE["fast"] = _exact_probe(current)
    utils.is_dask_collection = _EXACT_PROBE["fast"]
    return utils, current


class SolveStatus(StrEnum):
    """Outcome of a solve, as critmat reports it.

    Only ``optimal`` results carry decisions a user may act on; every other status is
    either raised (by default) or returned with the allocation marked as not optimal.
    """

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    TIME_LIMIT = "time_limit"
    ITERATION_LIMIT = "iteration_limit"
    SUBOPTIMAL = "suboptimal"
    INTERRUPTED = "interrupted"
    ERROR = "error"
    UNKNOWN = "unknown"

    @classmethod
    def from_linopy(cls, termination: Any) -> SolveStatus:
        """Map a linopy ``TerminationCondition`` (or its string) onto the enum."""
        text = str(getattr(termination, "value", termination) or "unknown")
        table = {
            "optimal": cls.OPTIMAL,
            "infeasible": cls.INFEASIBLE,
            "unbounded": cls.UNBOUNDED,
            "infeasible_or_unbounded": cls.INFEASIBLE_OR_UNBOUNDED,
            "time_limit": cls.TIME_LIMIT,
            "iteration_limit": cls.ITERATION_LIMIT,
            "terminated_by_limit": cls.ITERATION_LIMIT,
            "suboptimal": cls.SUBOPTIMAL,
            "imprecise": cls.SUBOPTIMAL,
            "user_interrupt": cls.INTERRUPTED,
            "resource_interrupt": cls.INTERRUPTED,
            "internal_solver_error": cls.ERROR,
            "error": cls.ERROR,
            "licensing_problems": cls.ERROR,
        }
        return table.get(text, cls.UNKNOWN)

    @property
    def ok(self) -> bool:
        """Whether the solution is optimal."""
        return self is SolveStatus.OPTIMAL


@dataclass
class SolverReport:
    """What the solver did: name and version, time, model size, raw status.

    Attributes
    ----------
    solver
        ``"highs"``.
    solver_version
        highspy version.
    status
        critmat status.
    termination
        linopy's termination condition (raw).
    solve_s
        Wall time of the solver call (s), including the transfer of the model to HiGHS.
    n_variables, n_constraints, n_nonzeros
        Model size as given to the solver.
    options
        Solver options used.
    notes
        Remarks (e.g. the formulation chosen).
    details
        Structured extras (e.g. per-subproblem sizes and times of a decomposed solve).
    """

    solver: str = "highs"
    solver_version: str = ""
    status: SolveStatus = SolveStatus.UNKNOWN
    termination: str = ""
    solve_s: float = 0.0
    n_variables: int = 0
    n_constraints: int = 0
    n_nonzeros: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary."""
        d = asdict(self)
        d["status"] = str(self.status)
        return d


_BANNER: dict[str, bool] = {"done": False}


def _swallow_highs_banner() -> None:
    """Create one ``highspy.Highs`` with the standard output file descriptor muted.

    HiGHS prints its banner from C++ to file descriptor 1 the first time an instance is
    created in a process; afterwards nothing is printed with ``output_flag=False``.
    """
    if _BANNER["done"]:
        return
    import highspy

    _BANNER["done"] = True
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real stdout (embedded interpreter): nothing to mute
        highspy.Highs()
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()
        with contextlib.suppress(Exception):  # flush C stdio before restoring the fd
            import ctypes

            ctypes.CDLL(None).fflush(None)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def highs_version() -> str:
    """The installed highspy version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("highspy")
    except PackageNotFoundError:  # pragma: no cover - highspy is a dependency
        return ""


def run_highs(
    model: Any,
    *,
    time_limit: float | None = None,
    threads: int | None = None,
    options: dict[str, Any] | None = None,
) -> SolverReport:
    """Solve a linopy model with HiGHS (direct API) and report what happened.

    Parameters
    ----------
    model
        A ``linopy.Model`` with an objective.
    time_limit
        Seconds (HiGHS ``time_limit``); ``None`` = no limit.
    threads
        HiGHS threads (``None`` = HiGHS's choice).
    options
        Further HiGHS options (``{"presolve": "off"}``, ...).

    Returns
    -------
    SolverReport
        With the mapped :class:`SolveStatus`; the solution is in the model.
    """
    _swallow_highs_banner()
    opts: dict[str, Any] = {"output_flag": False, "log_to_console": False}
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    if threads is not None:
        opts["threads"] = int(threads)
    opts.update(options or {})
    start = time.perf_counter()
    _status, termination = model.solve("highs", io_api="direct", **opts)
    elapsed = time.perf_counter() - start
    status = SolveStatus.from_linopy(termination)
    try:
        nnz = int(model.matrices.A.nnz) if model.matrices.A is not None else 0
    except Exception:  # pragma: no cover - size is informative only
        nnz = 0
    shown = {k: v for k, v in opts.items() if k not in ("output_flag", "log_to_console")}
    return SolverReport(
        solver_version=highs_version(),
        status=status,
        termination=str(termination),
        solve_s=round(elapsed, 4),
        n_variables=int(model.nvars),
        n_constraints=int(model.ncons),
        n_nonzeros=nnz,
        options=shown,
    )


def raise_for_status(status: SolveStatus, what: str, detail: str = "") -> None:
    """Raise the matching error for a non-optimal status (nothing for ``optimal``).

    Parameters
    ----------
    status
        The status.
    what
        The model, for the message (``"stockpile LP"``).
    detail
        What the caller knows about the cause (binding constraints, limits).
    """
    if status.ok:
        return
    tail = f": {detail}" if detail else ""
    if status in (SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE_OR_UNBOUNDED):
        raise InfeasibleError(f"the {what} has no feasible solution{tail}")
    raise OptimizeError(
        f"the {what} stopped with status '{status}' (not optimal){tail}; "
        "raise time_limit or pass on_failure='return' to inspect the partial result",
        code=f"solve_{status}",
    )
