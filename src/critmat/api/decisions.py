"""Decisions and the policy back-test over HTTP: ``kb.optimize`` and ``kb.policy`` as jobs.

Every decision of the CLI (``critmat stockpile optimize|frontier|compare``, ``critmat
sourcing optimize``, ``critmat reshoring``, ``critmat levers``) and the policy back-test
(``critmat policy backtest``) is one :class:`JobRoute`: ``POST <path>`` validates the body
at once (unknown material, preset or run, a bad specification, not exactly one scenario
input: a 4xx, nothing queued) and returns ``202`` with the job; a worker thread calls the
knowledge base's typed accessor (``kb.optimize.stockpile``, ``kb.policy.backtest``, ...),
the same function as the CLI. The body model is made from the accessor's own keyword
parameters and their :class:`~critmat.params.ParamDef` (the CLI's option of each keyword,
with the function's default), so nothing is declared a second time; a file the CLI reads
(``--spec``, ``--scenarios``, ``--parameters``, ``--candidates``, ``--projects``,
``--levers``) is given inline (the specification as a JSON object, a table as a list of
row objects), and a stored run (``run``) is one of the caller's scope (``/scenarios/runs``).

Fast reads are plain ``GET`` routes: ``/optimize/sourcing/whatif`` (score a proposed mix)
and ``/policy/compare`` (the toolkit comparison).

Results: ``GET /optimize/jobs/{id}/result?table=...`` and ``GET /policy/jobs/{id}/result``
(JSON records with units and provenance, CSV or Parquet, paginated, as every frame
endpoint), with the result's status, totals and notes in the JSON body. Progress: the
back-test reports the scenarios drawn by its preset runs (and stops between two chunks when
cancelled); an optimisation reports 0 of 1 until it is done: its solver cannot be
interrupted, so a cancelled running optimisation ends ``cancelled`` and its result is
dropped when the solver returns.

This module deliberately has no ``from __future__ import annotations``: FastAPI reads the
body models from the generated signatures, which must hold real classes.
"""

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import pandas as pd

from critmat.api.auth import Role, User, require
from critmat.api.endpoints import NOT_FROM_REQUESTS, _compatible, checked
from critmat.api.frames import API_FORMAT, frame_response, pick_format, response_schema
from critmat.errors import JobCancelledError, ParameterError, UnknownNameError, closest
from critmat.knowledge_base import KnowledgeBase
from critmat.params import PARAMS, ParamDef, param, parse_groupby, parse_pairs, pydantic_fields

__all__ = [
    "GET_ROUTES",
    "JOB_ROUTES",
    "GetRoute",
    "JobResult",
    "JobRoute",
    "add_decision_routes",
    "body_params",
]

#: Most Monte Carlo draws of a decision's scenario set per API job (the LP grows with them).
MAX_DECISION_SAMPLES = 20_000
#: Most draws of each preset run of an API back-test.
MAX_BACKTEST_SAMPLES = 5_000
#: The scenario-set inputs of a decision (exactly one).
SOURCES = ("scenarios", "run", "preset", "spec")
#: Keywords never taken from a request (compute resources, server files and outputs); the
#: files the CLI reads are given inline instead (see :func:`body_params`).
NOT_IN_BODY = (NOT_FROM_REQUESTS - {"spec"}) | {"progress"}


@dataclass
class JobResult:
    """What a finished decision or back-test job holds.

    Attributes
    ----------
    tables
        Result tables by name (each with its provenance in ``attrs``).
    info
        Status, totals and notes of the result (JSON), sent with every table.
    """

    tables: dict[str, pd.DataFrame]
    info: dict[str, Any] = field(default_factory=dict)


def _jsonable(value: Any) -> Any:
    from critmat.api.frames import _cell

    return _cell(value)


def _info(result: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("status", "objective_eur", "totals", "notes"):
        value = getattr(result, name, None)
        if value is None:
            continue
        if name == "status":
            value = getattr(value, "value", value)
        out[name] = _jsonable(dict(value) if isinstance(value, Mapping) else value)
    return out


def _stockpile(res: Any) -> JobResult:
    tables = {
        "allocation": res.allocation,
        "shadow_prices": res.shadow_prices,
        "parameters": getattr(res, "parameters", None),
        "baseline": getattr(res, "baseline", None),
    }
    return JobResult({k: v for k, v in tables.items() if isinstance(v, pd.DataFrame)}, _info(res))


def _frontier(fr: Any) -> JobResult:
    return JobResult({"points": fr.points, "entry": fr.entry, "materials": fr.materials}, _info(fr))


def _compare(cmp_: Any) -> JobResult:
    return JobResult({"summary": cmp_.summary, "by_material": cmp_.by_material}, _info(cmp_))


def _sourcing(res: Any) -> JobResult:
    return JobResult({"allocation": res.allocation, "shadow_prices": res.shadow_prices}, _info(res))


def _one(name: str) -> Callable[[Any], JobResult]:
    return lambda frame: JobResult({name: frame})


def _eu_reserve(values: dict[str, Any]) -> dict[str, Any]:
    text = values.get("eu_reserve_months")
    if isinstance(text, str):
        try:
            values["eu_reserve_months"] = [float(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise _where(
                ParameterError(f"eu_reserve_months '{text}' is not a list of numbers (e.g. 3,6)"),
                "eu_reserve_months",
            ) from None
    return values


def _sourcing_values(values: dict[str, Any]) -> dict[str, Any]:
    # as the CLI: a cap of 1 (or more) is no cap; groups are NAME=ISO3,ISO3 texts
    cap = values.get("max_single_country")
    if cap is not None and cap >= 1:
        values["max_single_country"] = None
    values["groups"] = parse_groupby(values.get("groups")) if values.get("groups") else {}
    values["max_group"] = list(values.get("max_group") or [])
    if values.get("stage") is None:
        values["stage"] = "processing"
    return values


def _whatif_values(values: dict[str, Any]) -> dict[str, Any]:
    values["mix"] = parse_pairs(values.get("mix"), option="share") or {}
    if values.get("stage") is None:
        values["stage"] = "processing"
    return values


def _known_events(kb: KnowledgeBase, values: dict[str, Any]) -> None:
    """Unknown export-control event ids: 400 before the back-test is queued."""
    from critmat.params import split_list

    chosen = split_list(values.get("events"))
    if not chosen:
        return
    ids = list(dict.fromkeys(kb.table("export_controls")["event_id"].astype(str)))
    for e in chosen:
        if e not in ids:
            raise UnknownNameError(
                "export-control event",
                e,
                suggestions=closest(e, ids),
                where="request body field 'events' (export_controls.event_id)",
            )


@dataclass(frozen=True)
class JobRoute:
    """A ``POST`` route that runs one accessor function as a job.

    Attributes
    ----------
    path
        URL path (``/optimize/stockpile``).
    kind
        Job kind (``optimize.stockpile``); its family (``optimize``) names the job routes.
    call
        ``kb -> function``: the bound accessor function (``kb.optimize.stockpile``).
    tables
        ``result -> JobResult``: the result's tables and info.
    summary
        One line for the OpenAPI document.
    names
        ``{keyword: parameter definition}`` where the CLI's option has another name
        (``samples`` is ``decision_samples``: ``--samples`` of a decision).
    overrides
        Per-keyword changes of a definition (a server's caps).
    prepare
        Turns the checked values into the function's (the CLI's parsing of its texts).
    required
        Keywords a request must give.
    validate
        ``(kb, values)``: cheap checks before the job is queued (names that must exist).
    """

    path: str
    kind: str
    call: Callable[[KnowledgeBase], Callable[..., Any]]
    tables: Callable[[Any], JobResult]
    summary: str
    names: Mapping[str, str] = field(default_factory=dict)
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    required: tuple[str, ...] = ()
    validate: Callable[[KnowledgeBase, dict[str, Any]], None] | None = None

    @property
    def family(self) -> str:
        """``optimize`` or ``policy``: the prefix of the job's routes."""
        return self.kind.split(".")[0]


_DECISION = {"horizon_months": "decision_horizon_months", "samples": "decision_samples"}
_CAP = {"samples": {"maximum": MAX_DECISION_SAMPLES}}


def _opt(name: str) -> Callable[[KnowledgeBase], Callable[..., Any]]:
    return lambda kb: getattr(kb.optimize, name)


def _pol(name: str) -> Callable[[KnowledgeBase], Callable[..., Any]]:
    return lambda kb: getattr(kb.policy, name)


#: The job routes: every decision of the CLI and the policy back-test.
JOB_ROUTES: tuple[JobRoute, ...] = (
    JobRoute(
        "/optimize/stockpile",
        "optimize.stockpile",
        _opt("stockpile"),
        _stockpile,
        "What to stockpile: the stock LP over a scenario set (critmat stockpile optimize).",
        _DECISION,
        _CAP,
    ),
    JobRoute(
        "/optimize/frontier",
        "optimize.frontier",
        _opt("frontier"),
        _frontier,
        "Efficient frontier: budget -> shortfall, when each material enters "
        "(critmat stockpile frontier).",
        _DECISION,
        _CAP,
    ),
    JobRoute(
        "/optimize/compare",
        "optimize.compare",
        _opt("compare"),
        _compare,
        "Reference policies (no stock, JOGMEC, EU reserve, RAMF) next to the optimum "
        "(critmat stockpile compare).",
        _DECISION,
        _CAP,
        prepare=_eu_reserve,
    ),
    JobRoute(
        "/optimize/sourcing",
        "optimize.sourcing",
        _opt("sourcing"),
        _sourcing,
        "Least-cost (or risk-adjusted) supplier mix under the CRMA single-country cap "
        "(critmat sourcing optimize).",
        {
            "material": "one_material",
            "objective": "sourcing_objective",
            "horizon_months": "decision_horizon_months",
        },
        prepare=_sourcing_values,
        required=("material",),
    ),
    JobRoute(
        "/optimize/reshoring",
        "optimize.reshoring",
        _opt("reshoring"),
        _one("projects"),
        "Reshoring projects on a scenario set: shortfall removed, cost per tonne "
        "(critmat reshoring).",
        _DECISION,
        _CAP,
    ),
    JobRoute(
        "/optimize/levers",
        "optimize.levers",
        _opt("levers"),
        _one("levers"),
        "Levers ranked by shortfall removed per million euros (critmat levers).",
        _DECISION,
        _CAP,
    ),
    JobRoute(
        "/policy/backtest",
        "policy.backtest",
        _pol("backtest"),
        _one("backtest"),
        "Export controls against trade, and against the presets' predictions "
        "(critmat policy backtest).",
        {"presets": "with_presets", "samples": "backtest_samples"},
        {"samples": {"maximum": MAX_BACKTEST_SAMPLES}},
        validate=_known_events,
    ),
)


@dataclass(frozen=True)
class GetRoute:
    """A fast read over one accessor function whose options are renamed CLI options."""

    path: str
    call: Callable[[KnowledgeBase], Callable[..., Any]]
    summary: str
    tag: str
    family: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    required: tuple[str, ...] = ()


#: Fast reads of the decision and policy layers (no optimisation: viewers may call them).
GET_ROUTES: tuple[GetRoute, ...] = (
    GetRoute(
        "/optimize/sourcing/whatif",
        _opt("sourcing_whatif"),
        "Score a supplier mix you propose against today's EU mix (critmat sourcing whatif).",
        "optimize",
        names={"material": "one_material", "mix": "proposed_mix"},
        prepare=_whatif_values,
        required=("material", "mix"),
    ),
    GetRoute(
        "/policy/compare",
        _pol("compare"),
        "Toolkit comparison: instruments per actor, first and latest use, pair texts "
        "(critmat policy compare).",
        "policy",
        family="policy.compare",
    ),
)


# ----------------------------------------------------------------------------- the models


def _inline(pdef: ParamDef) -> ParamDef:
    """A file option of the CLI as inline JSON: a specification object or table rows."""
    if pdef.name == "spec" or pdef.extra.get("inline") == "object":
        return pdef.with_(
            annotation=dict[str, Any] | None,
            help=pdef.help + " Here: its content as a JSON object (as for POST /scenarios/jobs).",
            path=None,
        )
    return pdef.with_(
        annotation=list[dict[str, Any]] | None,
        help=pdef.help + " Here: the rows as a list of JSON objects (keys are the columns).",
        path=None,
        extra={**pdef.extra, "inline": "rows"},
    )


def body_params(
    func: Callable[..., Any],
    names: Mapping[str, str],
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[ParamDef]:
    """The request fields of ``func``: its keywords with their CLI option's definition.

    Each keyword of ``func`` with a definition (under its own name or ``names[keyword]``)
    becomes a field named as the keyword, with the definition's type, help, bounds and
    choices and the function's default where it differs; files are inline (:func:`_inline`);
    keywords without a definition keep the function's default.
    """
    out: list[ParamDef] = []
    for p in inspect.signature(func).parameters.values():
        if p.name in NOT_IN_BODY:
            continue
        name = names.get(p.name, p.name)
        if name not in PARAMS:
            continue
        pdef = param(name, **dict((overrides or {}).get(p.name, {})))
        if _compatible(pdef, p.default) and p.default != pdef.default:
            pdef = pdef.with_(default=p.default)
        if pdef.path is not None:
            pdef = _inline(pdef)
        out.append(pdef.with_(name=p.name))
    return out


def _model_name(path: str, suffix: str) -> str:
    words = [w for part in path.strip("/").split("/") for w in part.split("-")]
    return "".join(w.capitalize() for w in words) + suffix


def _where(exc: Exception, name: str, kind: str = "request body field") -> Exception:
    exc.where = f"{kind} '{name}'"  # type: ignore[attr-defined]
    return exc


def _missing(names: tuple[str, ...], values: dict[str, Any], kind: str) -> None:
    for name in names:
        value = values.get(name)
        empty = not value.strip() if isinstance(value, str) else value in ([], {})
        if value is None or empty:
            raise _where(ParameterError(f"give {name} (it is required)"), name, kind)


def _own_run(manager: Any, user: User, ref: str) -> dict[str, Any]:
    """The specification of one of the scope's stored runs (id, unique prefix or latest)."""
    mine = manager.owners.runs(user.scope)
    if ref == "latest" and mine:
        run_id = mine[-1]
    else:
        hits = [r for r in mine if r == ref] or [r for r in mine if r.startswith(ref)]
        if len(hits) != 1:
            raise UnknownNameError(
                "run", ref, suggestions=closest(ref, mine), where="request body field 'run'"
            )
        run_id = hits[0]
    spec: dict[str, Any] = manager.store().load(run_id).spec.model_dump(mode="json")
    return spec


def _validate_sources(kb: KnowledgeBase, values: dict[str, Any], manager: Any, user: User) -> None:
    """The CLI's "exactly one scenario input", checked before anything is queued."""
    given = [n for n in SOURCES if values.get(n) is not None]
    if len(given) != 1:
        exc = ParameterError(
            "give exactly one scenario input: scenarios (table rows), run (one of your runs, "
            "GET /scenarios/runs), preset (GET /scenarios/presets) or spec (a specification)"
            + (f" (got {', '.join(given)})" if given else "")
        )
        exc.where = "request body"  # type: ignore[attr-defined]
        exc.valid = list(SOURCES)  # type: ignore[attr-defined]
        raise exc
    if values.get("preset") is not None:
        kb.scenarios.preset(values["preset"], where="request body field 'preset'")
    if values.get("run") is not None:
        values["spec"] = _own_run(manager, user, str(values.pop("run")))
    if values.get("spec") is not None:
        kb.scenarios.validate(values["spec"], source="request body 'spec'")


def _tables(values: dict[str, Any], defs: list[ParamDef]) -> dict[str, Any]:
    """Inline table rows as frames (the functions take frames where the CLI takes files)."""
    for d in defs:
        value = values.get(d.name)
        if d.extra.get("inline") == "rows" and isinstance(value, list):
            if not value:
                raise _where(ParameterError(f"{d.name} has no rows"), d.name)
            try:
                values[d.name] = pd.DataFrame(value)
            except (TypeError, ValueError) as exc:
                raise _where(
                    ParameterError(f"{d.name} is not a list of row objects: {exc}"), d.name
                ) from None
    return values


def _with_provenance(kb: KnowledgeBase, kind: str, result: JobResult, params: Any) -> JobResult:
    """Every table keeps its provenance; a table without one gets the job's.

    The solvers' own records (``stockpile_lp``, ...) do not know the knowledge base: the
    dataset version and hash of the job's knowledge base complete them.
    """
    from critmat.provenance import ATTRS_KEY, attach, provenance_of

    for name, frame in list(result.tables.items()):
        prov = provenance_of(frame)
        if prov is None:
            prov_ = kb.provenance(f"{kind}.{name}", frame, **params)
            result.tables[name] = attach(frame.copy(), prov_)
        elif not prov.get("dataset_version"):
            out = frame.copy()
            out.attrs = dict(frame.attrs)
            out.attrs[ATTRS_KEY] = {
                **prov,
                "dataset_version": kb.version,
                "dataset_hash": kb.catalog.content_hash,
            }
            result.tables[name] = out
    return result


# ----------------------------------------------------------------------------- the routes


def add_decision_routes(app: Any, probe: KnowledgeBase) -> None:
    """Register the decision and back-test job routes and the fast reads on ``app``."""
    from fastapi import Depends, Query, Request
    from fastapi.responses import Response
    from pydantic import create_model

    from critmat.api.jobs import Job, JobManager, finished, progress_of
    from critmat.vocab import JobStatus

    manager: JobManager = app.state.jobs
    Viewer = Annotated[User, Depends(require(Role.viewer))]
    Analyst = Annotated[User, Depends(require(Role.analyst))]
    paging = [param("page"), param("page_size")]

    for route in JOB_ROUTES:
        _add_job_route(app, route, probe, manager, Analyst, Job, progress_of, create_model)

    for get in GET_ROUTES:
        _add_get_route(app, get, probe, Viewer)

    # ------------------------------------------------------------------ job status, results

    FormatQ = Annotated[str | None, Query(alias="format", description=API_FORMAT.description)]
    PageQ = Annotated[int, Query(ge=1, description=PARAMS["page"].help)]
    SizeQ = Annotated[
        int, Query(alias="page_size", ge=1, le=10000, description=PARAMS["page_size"].help)
    ]
    opt_table = param("optimize_table").with_(name="table")
    OptTableQ = Annotated[str | None, Query(alias="table", description=opt_table.description)]

    def _kind_job(job_id: str, user: User, family: str) -> Any:
        job = manager.get(job_id, user)
        if not job.kind.startswith(family + "."):
            other = "scenarios" if job.kind == "scenario" else job.kind.split(".")[0]
            raise UnknownNameError(
                "job", job_id, where=f"{family} jobs; read it at /{other}/jobs/{job_id}"
            )
        return job

    def _reply(
        request: Request, job: Any, table: str | None, fmt: Any, page: int, size: int
    ) -> Any:
        values = checked(
            [opt_table, API_FORMAT, *paging],
            {"table": table, "format": fmt, "page": page, "page_size": size},
        )
        result: JobResult = finished(job)
        name = values["table"] or next(iter(result.tables))
        if name not in result.tables:
            exc = ParameterError(
                f"a {job.kind} job has the tables {', '.join(result.tables)}, not '{name}'"
            )
            exc.where = "query parameter 'table'"  # type: ignore[attr-defined]
            exc.valid = list(result.tables)  # type: ignore[attr-defined]
            raise exc
        return frame_response(
            result.tables[name],
            fmt=pick_format(values["format"], request.headers.get("accept")),
            page=values["page"],
            page_size=values["page_size"],
            url=str(request.url),
            extra={
                "job": job.id,
                "kind": job.kind,
                "table": name,
                "tables": list(result.tables),
                **result.info,
            },
        )

    for family, label in (("optimize", "optimisation"), ("policy", "policy back-test")):
        _add_family_routes(
            app,
            family,
            label,
            manager,
            _kind_job,
            _reply,
            Viewer,
            Analyst,
            FormatQ,
            PageQ,
            SizeQ,
            OptTableQ if family == "optimize" else None,
            Response,
            Request,
            JobStatus,
        )


def _add_job_route(
    app: Any,
    route: JobRoute,
    probe: KnowledgeBase,
    manager: Any,
    Analyst: Any,
    Job: Any,
    progress_of: Callable[[Any], Callable[[int, int], None]],
    create_model: Any,
) -> None:
    from pydantic import ConfigDict

    func = route.call(probe)
    defs = body_params(func, route.names, route.overrides)
    Body = create_model(
        _model_name(route.path, "Job"),
        __config__=ConfigDict(extra="forbid"),
        **pydantic_fields(defs),
    )
    takes_progress = "progress" in inspect.signature(func).parameters
    rows = {d.name for d in defs if d.extra.get("inline") == "rows"}

    def inline(name: str) -> bool:
        return name in rows

    doc = inspect.getdoc(func) or ""

    def start(body: Any, user: User) -> dict[str, Any]:
        raw = body.model_dump()
        values = checked(defs, raw)
        for k, v in list(values.items()):
            if raw.get(k) is None and v is None:
                values.pop(k)  # unset: the function's own default
        _missing(route.required, values, "request body field")
        kb, _stamp = app.state.scopes.kb(user.scope)
        if "material" in values:  # an unknown material: 400 now
            kb.select.materials(values["material"], where="request body field 'material'")
        if route.validate is not None:
            route.validate(kb, values)
        if any(s in {d.name for d in defs} for s in SOURCES):
            _validate_sources(kb, values, manager, user)
        if route.prepare is not None:
            values = route.prepare(values)
        params = {
            k: (f"{len(v)} rows (inline)" if isinstance(v, list) and inline(k) else v)
            for k, v in body.model_dump(mode="json", exclude_none=True).items()
        }
        kwargs = _tables(values, defs)

        def work(job: Any, job_kb: KnowledgeBase) -> JobResult:
            call = route.call(job_kb)
            job.total = max(job.total, 1)
            extra: dict[str, Any] = {}
            if takes_progress:
                extra["progress"] = progress_of(job)
            result = call(**kwargs, **extra)
            if job.cancel.is_set():
                raise JobCancelledError(f"job {job.id} was cancelled; its result is dropped")
            out = _with_provenance(job_kb, route.kind, route.tables(result), params)
            job.notes = [str(n) for n in out.info.get("notes", [])]
            job.done = job.total
            return out

        job = manager.submit(route.kind, user, params, work)
        if not takes_progress:
            job.total = max(job.total, 1)  # one step: the solver reports nothing on the way
        return dict(job.to_dict())

    start.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Body),
            inspect.Parameter("user", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Analyst),
        ]
    )
    name = "start_" + route.kind.replace(".", "_")
    start.__name__ = name
    app.add_api_route(
        route.path,
        start,
        methods=["POST"],
        tags=[route.family],
        summary=route.summary,
        description=f"Runs `{route.kind}` as a job (202; poll GET /{route.family}/jobs/{{id}}, "
        f"read GET /{route.family}/jobs/{{id}}/result).\n\n" + doc,
        status_code=202,
        operation_id=name,
    )


def _add_get_route(app: Any, get: GetRoute, probe: KnowledgeBase, Viewer: Any) -> None:
    from fastapi import Query, Request
    from fastapi.responses import Response

    from critmat.params import query_model

    func = get.call(probe)
    defs = body_params(func, get.names)
    paging = [param("page"), param("page_size")]
    Model = query_model(_model_name(get.path, "Query"), [*defs, API_FORMAT, *paging])
    doc = inspect.getdoc(func) or ""

    def endpoint(request: Request, query: Any, user: User) -> Any:
        raw = query.model_dump()
        values = checked(defs, raw)
        for k in [k for k, v in values.items() if v is None]:
            values.pop(k)
        _missing(get.required, values, "query parameter")
        fmt = pick_format(raw.get("format"), request.headers.get("accept"))
        state = request.app.state
        kb, stamp = state.scopes.kb(user.scope)
        if get.prepare is not None:
            values = get.prepare(values)
        bound = get.call(kb)
        from critmat.api.endpoints import _hashable

        extra: dict[str, Any] = {}
        if get.path == "/policy/compare":
            comp = bound(**values)  # a tenth of a second: not cached
            frame = comp.table
            extra["texts"] = [
                {"actor_a": a, "actor_b": b, "text": t} for (a, b), t in comp.texts.items()
            ]
        else:
            key = (get.path, stamp, _hashable(values))
            frame = state.frames.get(key, lambda: bound(**values))
        return frame_response(
            frame,
            fmt=fmt,
            page=raw["page"],
            page_size=raw["page_size"],
            url=str(request.url),
            extra=extra,
        )

    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
            ),
            inspect.Parameter(
                "query",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=Annotated[Model, Query()],
            ),
            inspect.Parameter("user", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Viewer),
        ]
    )
    name = "get_" + get.path.strip("/").replace("/", "_").replace("-", "_")
    endpoint.__name__ = name
    app.add_api_route(
        get.path,
        endpoint,
        methods=["GET"],
        tags=[get.tag],
        summary=get.summary,
        description=doc,
        responses=response_schema(get.family),
        response_class=Response,
        operation_id=name,
    )


def _add_family_routes(
    app: Any,
    family: str,
    label: str,
    manager: Any,
    kind_job: Callable[..., Any],
    reply: Callable[..., Any],
    Viewer: Any,
    Analyst: Any,
    FormatQ: Any,
    PageQ: Any,
    SizeQ: Any,
    TableQ: Any,
    Response: Any,
    Request: Any,
    JobStatus: Any,
) -> None:
    prefix = f"/{family}/jobs"

    def list_jobs(user: Viewer) -> dict[str, Any]:
        jobs = [j for j in manager.list(user) if j.kind.startswith(family + ".")]
        return {"jobs": [j.to_dict() for j in jobs]}

    def get_job(job_id: str, user: Viewer) -> dict[str, Any]:
        return dict(kind_job(job_id, user, family).to_dict())

    def cancel_job(job_id: str, user: Analyst) -> dict[str, Any]:
        kind_job(job_id, user, family)
        return dict(manager.cancel(job_id, user).to_dict())

    routes: tuple[tuple[str, Callable[..., Any], str, str, str], ...] = (
        ("list", list_jobs, "", "GET", f"Your scope's {label} jobs, newest first."),
        ("get", get_job, "/{job_id}", "GET", f"A {label} job: status, progress, notes."),
        ("cancel", cancel_job, "/{job_id}", "DELETE", f"Cancel a {label} job."),
    )
    for name, fn, path, method, summary in routes:
        fn.__name__ = f"{name}_{family}_jobs"
        app.add_api_route(
            prefix + path,
            fn,
            methods=[method],
            tags=[family],
            summary=summary,
            operation_id=fn.__name__,
        )

    if TableQ is not None:

        def result(
            request: Request,
            job_id: str,
            user: Viewer,
            table: TableQ = None,
            fmt: FormatQ = None,
            page: PageQ = 1,
            size: SizeQ = 1000,
        ) -> Any:
            return reply(request, kind_job(job_id, user, family), table, fmt, page, size)

    else:

        def result(  # type: ignore[misc]
            request: Request,
            job_id: str,
            user: Viewer,
            fmt: FormatQ = None,
            page: PageQ = 1,
            size: SizeQ = 1000,
        ) -> Any:
            return reply(request, kind_job(job_id, user, family), None, fmt, page, size)

    result.__name__ = f"{family}_job_result"
    app.add_api_route(
        prefix + "/{job_id}/result",
        result,
        methods=["GET"],
        tags=[family],
        summary=f"A finished {label} job's result table.",
        responses=response_schema(None),
        response_class=Response,
        operation_id=result.__name__,
    )
