"""Scenario runs and optimisations as asynchronous jobs.

``POST /scenarios/jobs`` validates the scenario at once (a bad specification is a 422 with
every problem and its location, nothing queued) and returns ``202`` with the job; a worker
thread runs it with :func:`critmat.scenarios.run` (the same function as ``critmat scenario
run``), reporting progress after every chunk; ``DELETE /scenarios/jobs/{id}`` cancels it
(between two chunks). A finished run is saved to the run store of the served directory
(``<data dir>/scenarios``, the store of ``critmat scenario list --data-dir``) and its owner
recorded in ``<data dir>/api/runs/<scope>.json`` (the filelock protocol of the user data), so
the API shows each scope its own runs only. Jobs live in the server process; runs in the
store outlive it.

The decisions (``kb.optimize``) and the policy back-test run on the same
:class:`JobManager`; their routes are :mod:`critmat.api.decisions`.

A client that disconnects changes nothing: jobs do not belong to a connection.
"""

import contextlib
import json
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd

from critmat.api.auth import Role, User, require
from critmat.api.frames import API_FORMAT, frame_response, pick_format, response_schema
from critmat.api.scopes import ScopeData
from critmat.errors import (
    CritmatError,
    JobCancelledError,
    LockTimeoutError,
    ParameterError,
    RateLimitError,
    StorageError,
    UnknownNameError,
)
from critmat.knowledge_base import KnowledgeBase
from critmat.params import PARAMS, param, pydantic_fields
from critmat.vocab import JobStatus

__all__ = ["Job", "JobManager", "RunOwners", "add_job_routes"]

#: Most scenarios one API job may draw (a server guards its CPU; the CLI has no such cap).
MAX_SAMPLES = 200_000
#: Finished jobs kept in memory (their runs stay in the run store).
KEEP_FINISHED = 200
#: Jobs one scope may have queued or running at a time (more: 429).
MAX_OPEN_JOBS = 16


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Job:
    """One asynchronous job."""

    id: str
    kind: str
    scope: str
    user: str
    params: dict[str, Any]
    status: JobStatus = JobStatus.QUEUED
    done: int = 0
    total: int = 0
    created: str = field(default_factory=_now)
    started: str | None = None
    finished: str | None = None
    error: dict[str, Any] | None = None
    run_id: str | None = None
    notes: list[str] = field(default_factory=list)
    result: Any = None
    cancel: threading.Event = field(default_factory=threading.Event)
    exc: CritmatError | None = None

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON (no result)."""
        fraction = (self.done / self.total) if self.total else None
        if self.status == JobStatus.DONE:
            fraction = 1.0
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status.value,
            "status_description": self.status.description,
            "progress": {"done": self.done, "total": self.total, "fraction": fraction},
            "user": self.user,
            "scope": self.scope,
            "params": self.params,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "run_id": self.run_id,
            "notes": self.notes,
            "error": self.error,
        }


class RunOwners:
    """Which scope owns which stored run (``<data dir>/api/runs/<scope>.json``)."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "api" / "runs"

    def _path(self, scope: str) -> Path:
        return self.root / f"{scope}.json"

    def runs(self, scope: str) -> list[str]:
        """Run ids of ``scope``, oldest first."""
        try:
            data = json.loads(self._path(scope).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            return []
        return [str(r) for r in data.get("runs", [])] if isinstance(data, dict) else []

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        from filelock import FileLock, Timeout

        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.root / ".lock", timeout=30)
        try:
            lock.acquire()
        except Timeout:
            raise LockTimeoutError(
                self.root / ".lock", "the run owner index is locked", "try again"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def add(self, scope: str, run_id: str) -> None:
        """Record that ``scope`` owns ``run_id``."""
        try:
            with self._locked():
                runs = self.runs(scope)
                runs.append(run_id)
                path = self._path(scope)
                tmp = path.with_name(f".{path.name}-{secrets.token_hex(4)}.tmp")
                with tmp.open("w", encoding="utf-8") as fh:
                    json.dump({"runs": runs}, fh)
                    fh.flush()
                    os.fsync(fh.fileno())
                tmp.replace(path)
        except OSError as exc:
            raise StorageError.from_os_error(exc, self.root, what="the run owner index") from None


class JobManager:
    """Jobs of this server process: a queue, worker threads, progress and cancellation.

    Parameters
    ----------
    data_dir
        The served data directory (run store ``<data dir>/scenarios``).
    scopes
        Knowledge bases per scope (each job opens its own).
    workers
        Jobs run at the same time.
    max_open
        Jobs one scope may have queued or running (a shared server's queue is not one
        user's).
    """

    def __init__(
        self, data_dir: Path, scopes: ScopeData, *, workers: int = 1, max_open: int = MAX_OPEN_JOBS
    ) -> None:
        self.data_dir = data_dir
        self.scopes = scopes
        self.max_open = max_open
        self.owners = RunOwners(data_dir)
        self.workers = max(1, workers)
        self._pool: ThreadPoolExecutor | None = None  # started by the first job
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def store(self) -> Any:
        """The run store of the served directory (the CLI's)."""
        from critmat.scenarios.store import RunStore

        return RunStore(self.data_dir / "scenarios")

    def submit(
        self,
        kind: str,
        user: User,
        params: dict[str, Any],
        work: Callable[[Job, KnowledgeBase], Any],
    ) -> Job:
        """Queue ``work(job, kb)``; its return value becomes ``job.result``.

        Raises
        ------
        critmat.errors.RateLimitError
            When the scope has :attr:`max_open` jobs queued or running already.
        """
        job = Job(
            id=secrets.token_hex(8), kind=kind, scope=user.scope, user=user.name, params=params
        )
        with self._lock:
            open_ = [j for j in self._jobs.values() if j.scope == user.scope and not j.finished]
            if len(open_) >= self.max_open:
                raise RateLimitError(
                    f"your scope has {len(open_)} jobs queued or running, the most this server "
                    "takes; wait for one to finish or cancel one (DELETE .../jobs/{id})",
                    retry_after=5.0,
                )
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.finished is not None]
            for old in finished[: max(0, len(finished) - KEEP_FINISHED)]:
                self._jobs.pop(old.id, None)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="job")
            pool = self._pool
        try:
            pool.submit(self._run, job, work)
        except RuntimeError:  # shut down in between: the server is stopping
            job.cancel.set()
            job.status = JobStatus.CANCELLED
            job.finished = _now()
        return job

    def _run(self, job: Job, work: Callable[[Job, KnowledgeBase], Any]) -> None:
        if job.cancel.is_set():
            return
        job.status = JobStatus.RUNNING
        job.started = _now()
        kb = self.scopes.open(job.scope)
        try:
            job.result = work(job, kb)
            job.status = JobStatus.DONE
        except JobCancelledError:
            job.status = JobStatus.CANCELLED
        except CritmatError as exc:
            job.error = exc.to_dict()
            job.exc = exc
            job.status = JobStatus.FAILED
        except Exception as exc:  # a job must never take the worker down
            job.error = {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}
            job.status = JobStatus.FAILED
        finally:
            job.finished = _now()
            kb.close()

    def get(self, job_id: str, user: User) -> Job:
        """The job ``job_id`` of the user's scope.

        Raises
        ------
        critmat.errors.UnknownNameError
            For an unknown id or a job of another scope (the same answer: 404).
        """
        with self._lock:
            job = self._jobs.get(job_id)
            mine = [j.id for j in self._jobs.values() if j.scope == user.scope]
        if job is None or job.scope != user.scope:
            from critmat.errors import closest

            raise UnknownNameError("job", job_id, suggestions=closest(job_id, mine))
        return job

    def list(self, user: User) -> list[Job]:
        """Jobs of the user's scope, newest first."""
        with self._lock:
            return [j for j in reversed(self._jobs.values()) if j.scope == user.scope]

    def cancel(self, job_id: str, user: User) -> Job:
        """Cancel a queued or running job (a running one stops after its current chunk)."""
        job = self.get(job_id, user)
        if job.finished is None:
            job.cancel.set()
            if job.status == JobStatus.QUEUED:
                job.status = JobStatus.CANCELLED
                job.finished = _now()
        return job

    def shutdown(self) -> None:
        """Cancel every job and stop the workers (server shutdown).

        Queued jobs end ``cancelled``; a running one stops at its next progress report (a
        solver that reports none finishes, and its result is dropped). The manager can
        take jobs again afterwards (an application started a second time).
        """
        with self._lock:
            for job in self._jobs.values():
                job.cancel.set()
                if job.status == JobStatus.QUEUED:
                    job.status = JobStatus.CANCELLED
                    job.finished = _now()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def progress_of(job: Job) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback that records a job's progress.

    It raises :class:`~critmat.errors.JobCancelledError` once the job is cancelled, which
    stops the function that reports (between two chunks of a scenario run).
    """

    def report(done: int, total: int) -> None:
        job.done, job.total = done, total
        if job.cancel.is_set():
            raise JobCancelledError(f"job {job.id} was cancelled after {done} of {total} scenarios")

    return report


def finished(job: Job) -> Any:
    """The result of a finished job.

    Raises
    ------
    critmat.errors.CritmatError
        The job's own error when it failed on bad input (its 4xx: an infeasible budget, a
        material without a price, ...), with ``where`` naming the job.
    critmat.errors.JobCancelledError
        ``job_not_done`` (409) while it is queued or running, or when it was cancelled.
    """
    if job.status == JobStatus.FAILED and job.exc is not None:
        exc = job.exc
        if not getattr(exc, "where", None):
            exc.where = f"job {job.id}"  # type: ignore[attr-defined]
        raise exc
    if job.status != JobStatus.DONE:
        exc2 = JobCancelledError(
            f"job {job.id} is {job.status.value}; its result can be read when it is done"
            + (f" (error: {job.error['message']})" if job.error else ""),
            code="job_not_done",
        )
        exc2.where = f"job {job.id}"  # type: ignore[attr-defined]
        raise exc2
    return job.result


# ----------------------------------------------------------------------------- scenario body


def _scenario_fields() -> dict[str, Any]:
    from pydantic import Field

    fields = pydantic_fields(
        [
            param("preset"),
            param("samples", maximum=MAX_SAMPLES),
            param("seed"),
            param("cvar_level"),
            param("horizon_months"),
            param(
                "stock_months",
                annotation=float | None,
                default=None,
                help="Give every material a stock of this many months of demand "
                "(released as needed, no cap).",
            ),
            param("save", help="Store the run in the run store of the served directory."),
        ]
    )
    fields["spec"] = (
        dict[str, Any] | None,
        Field(
            default=None,
            description="Scenario or ensemble specification: the YAML/JSON of `critmat "
            "scenario run --spec FILE` as a JSON object (give this or preset).",
        ),
    )
    return fields


def _ensemble(kb: KnowledgeBase, body: Any) -> tuple[Any, str]:
    """The validated ensemble of a job body (the CLI's ``scenario run`` logic)."""
    from critmat.scenarios.spec import StockPolicy

    if (body.preset is None) == (body.spec is None):
        exc = ParameterError("give one of preset or spec (see GET /scenarios/presets)")
        exc.where = "request body"  # type: ignore[attr-defined]
        exc.valid = ["preset", "spec"]  # type: ignore[attr-defined]
        raise exc
    if body.preset is not None:
        ens = kb.scenarios.preset(body.preset, where="preset").spec.model_copy(deep=True)
        source = f"preset {body.preset}"
    else:
        plan = kb.scenarios.validate(body.spec, source="request body 'spec'")
        ens = plan.spec.model_copy(deep=True)
        source = "request body"
    if body.horizon_months is not None:
        ens.scenario.horizon_months = body.horizon_months
    if body.cvar_level is not None:
        ens.cvar_level = float(body.cvar_level)
    if body.stock_months is not None:
        ens.scenario.mitigations.stocks = [
            StockPolicy.model_validate({"initial_months": body.stock_months})
        ]
    if body.samples is not None:
        ens.samples = body.samples
    if body.seed is not None:
        ens.seed = body.seed
    if ens.samples > MAX_SAMPLES:
        exc = ParameterError(
            f"the scenario asks for {ens.samples:,} samples; the server runs at most "
            f"{MAX_SAMPLES:,} per job (run larger ensembles with `critmat scenario run`)"
        )
        exc.where = "request body field 'samples'"  # type: ignore[attr-defined]
        raise exc
    kb.scenarios.validate(ens, source=source)  # every problem now, not in the worker
    return ens, source


def add_job_routes(app: Any, probe: KnowledgeBase) -> None:
    """Register the scenario and optimisation job routes on ``app``."""
    from fastapi import Depends, Request
    from fastapi.responses import Response
    from pydantic import ConfigDict, create_model

    manager: JobManager = app.state.jobs
    Viewer = Annotated[User, Depends(require(Role.viewer))]
    Analyst = Annotated[User, Depends(require(Role.analyst))]
    ScenarioJob = create_model(
        "ScenarioJob", __config__=ConfigDict(extra="forbid"), **_scenario_fields()
    )
    result_table = param("result_table")
    paging = [param("page"), param("page_size")]
    result_defs = [result_table]

    def _frame_reply(
        request: Request, frame: pd.DataFrame, fmt: str | None, page: int, page_size: int
    ) -> Any:
        return frame_response(
            frame,
            fmt=pick_format(fmt, request.headers.get("accept")),
            page=page,
            page_size=page_size,
            url=str(request.url),
        )

    from critmat.api.endpoints import checked

    def _result_query(
        table: str, fmt: str | None, page: int, page_size: int
    ) -> tuple[str, str | None, int, int]:
        values = checked(
            [*result_defs, API_FORMAT, *paging],
            {"result_table": table, "format": fmt, "page": page, "page_size": page_size},
        )
        return values["result_table"], values["format"], values["page"], values["page_size"]

    from fastapi import Query

    TableQ = Annotated[str, Query(alias="table", description=result_table.description)]
    FormatQ = Annotated[str | None, Query(alias="format", description=API_FORMAT.description)]
    PageQ = Annotated[int, Query(ge=1, description=PARAMS["page"].help)]
    SizeQ = Annotated[
        int, Query(alias="page_size", ge=1, le=10000, description=PARAMS["page_size"].help)
    ]

    # ------------------------------------------------------------------ scenarios

    @app.get(
        "/scenarios/presets",
        tags=["scenarios"],
        summary="The preset scenarios.",
        responses=response_schema(None),
        response_class=Response,
    )
    def presets(
        request: Request, user: Viewer, fmt: FormatQ = None, page: PageQ = 1, size: SizeQ = 1000
    ) -> Any:
        _t, fmt, page, size = _result_query("summary", fmt, page, size)
        return _frame_reply(request, probe.scenarios.preset_table(), fmt, page, size)

    @app.post(
        "/scenarios/jobs",
        tags=["scenarios"],
        summary="Start a scenario ensemble (a preset or a specification) as a job.",
        status_code=202,
    )
    def start_scenario(job_body: ScenarioJob, user: Analyst) -> dict[str, Any]:  # type: ignore[valid-type]
        body: Any = job_body
        kb, _stamp = app.state.scopes.kb(user.scope)
        ens, source = _ensemble(kb, body)
        params = body.model_dump(exclude_none=True)

        def work(job: Job, job_kb: KnowledgeBase) -> Any:
            result = job_kb.scenarios.run(ens, progress=progress_of(job), source=source)
            job.notes = list(result.meta.get("warnings", [])) + list(result.meta.get("notes", []))
            if body.save:
                run_id = manager.store().save(result)
                manager.owners.add(job.scope, run_id)
                job.run_id = run_id
            return result

        job = manager.submit("scenario", user, params, work)
        job.total = int(ens.samples)
        return job.to_dict()

    @app.get("/scenarios/jobs", tags=["scenarios"], summary="Your scope's jobs, newest first.")
    def list_jobs(user: Viewer) -> dict[str, Any]:
        return {"jobs": [j.to_dict() for j in manager.list(user)]}

    @app.get("/scenarios/jobs/{job_id}", tags=["scenarios"], summary="A job: status, progress.")
    def get_job(job_id: str, user: Viewer) -> dict[str, Any]:
        return manager.get(job_id, user).to_dict()

    @app.delete("/scenarios/jobs/{job_id}", tags=["scenarios"], summary="Cancel a job.")
    def cancel_job(job_id: str, user: Analyst) -> dict[str, Any]:
        return manager.cancel(job_id, user).to_dict()

    @app.get(
        "/scenarios/jobs/{job_id}/result",
        tags=["scenarios"],
        summary="A finished scenario job's result table.",
        responses=response_schema("scenario.summary"),
        response_class=Response,
    )
    def job_result(
        request: Request,
        job_id: str,
        user: Viewer,
        table: TableQ = "summary",
        fmt: FormatQ = None,
        page: PageQ = 1,
        size: SizeQ = 1000,
    ) -> Any:
        table, fmt, page, size = _result_query(table, fmt, page, size)
        job = manager.get(job_id, user)
        if job.kind != "scenario":
            raise UnknownNameError(
                "job",
                job_id,
                where=f"scenario jobs; read it at /{job.kind.split('.')[0]}/jobs/{job_id}/result",
            )
        result = finished(job)
        return _frame_reply(request, result.frame(table), fmt, page, size)

    @app.get("/scenarios/runs", tags=["scenarios"], summary="Your scope's stored runs.")
    def list_runs(user: Viewer) -> dict[str, Any]:
        mine = set(manager.owners.runs(user.scope))
        store = manager.store()
        if not mine or not store.catalog_path.exists():
            return {"runs": []}
        frame = store.list()
        if "run_id" in frame.columns:
            frame = frame[frame["run_id"].isin(mine)]
        from critmat.api.frames import json_records

        return {"runs": json_records(frame)}

    @app.get(
        "/scenarios/runs/{run_id}",
        tags=["scenarios"],
        summary="A result table of one of your stored runs.",
        responses=response_schema("scenario.summary"),
        response_class=Response,
    )
    def get_run(
        request: Request,
        run_id: str,
        user: Viewer,
        table: TableQ = "summary",
        fmt: FormatQ = None,
        page: PageQ = 1,
        size: SizeQ = 1000,
    ) -> Any:
        table, fmt, page, size = _result_query(table, fmt, page, size)
        mine = manager.owners.runs(user.scope)
        if run_id not in mine:
            from critmat.errors import closest

            raise UnknownNameError("run", run_id, suggestions=closest(run_id, mine))
        return _frame_reply(request, manager.store().load(run_id).frame(table), fmt, page, size)

    from critmat.api.decisions import add_decision_routes

    add_decision_routes(app, probe)
