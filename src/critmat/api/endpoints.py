"""Frame endpoints built from the accessor functions and the parameter definitions.

Each read endpoint is one :class:`FrameEndpoint`: a path, the accessor function it calls
(``kb.indicators.geopolrisk``, ``kb.defence.exposure``, ...) and its result family. The query
model is made by :func:`critmat.params.query_model` from the function's own keyword
parameters that have a :class:`~critmat.params.ParamDef` (with the function's defaults), so
the API takes exactly what the Python function and the CLI take, with the same names,
types, defaults and descriptions. Functions that take ``demand=`` (a
:class:`critmat.defence.bom.DemandSource`) get its ``which``, ``default_intensity_kg`` and
``default_build_rate`` fields; the bills of materials come from the caller's imported
``bom`` / ``build_rates`` tables (never from a server path).

This module deliberately has no ``from __future__ import annotations``: FastAPI reads the
query models from the generated signatures, which must hold real classes.
"""

import hashlib
import inspect
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Annotated, Any

import pandas as pd

from critmat.api.auth import Role, User, require
from critmat.api.frames import API_FORMAT, frame_response, pick_format, response_schema
from critmat.errors import ParameterError
from critmat.knowledge_base import KnowledgeBase
from critmat.params import PARAMS, ParamDef, param, parse_years, query_model

__all__ = [
    "ENDPOINTS",
    "FrameCache",
    "FrameEndpoint",
    "ReplyCache",
    "add_frame_endpoints",
    "api_params",
]

#: Keywords of library functions a server never takes from a request (files on the server,
#: compute resources, output destinations).
NOT_FROM_REQUESTS = frozenset(
    {"bom", "build_rates", "dask", "workers", "spec", "out", "data_dir", "html", "report"}
)
#: The fields of :class:`critmat.defence.bom.DemandSource` a request may set.
DEMAND_FIELDS = ("which", "default_intensity_kg", "default_build_rate")
#: Paging parameters of every frame endpoint.
PAGING = ("page", "page_size")


def _compatible(pdef: ParamDef, value: Any) -> bool:
    if value is None or value is inspect.Parameter.empty:
        return False
    if isinstance(value, bool) or isinstance(pdef.default, bool):
        return isinstance(value, bool) and isinstance(pdef.default, bool)
    if pdef.default is None:
        return type(value).__name__ in str(pdef.annotation)
    return type(value) is type(pdef.default)


def api_params(func: Callable[..., Any]) -> list[ParamDef]:
    """The parameter definitions of ``func``'s keywords a request may set.

    A keyword with a definition in :data:`critmat.params.PARAMS` becomes a query parameter,
    with the function's default where it differs from the definition's (``importers="EU27"``
    for dependency); ``demand=`` becomes the :data:`DEMAND_FIELDS`; the others keep the
    function's default.
    """
    out: list[ParamDef] = []
    for p in inspect.signature(func).parameters.values():
        if p.name == "demand":
            out += [PARAMS[n] for n in DEMAND_FIELDS if n not in {d.name for d in out}]
            continue
        if p.name in NOT_FROM_REQUESTS or p.name not in PARAMS:
            continue
        pdef = PARAMS[p.name]
        if _compatible(pdef, p.default) and p.default != pdef.default:
            pdef = pdef.with_(default=p.default)
            if pdef.choices and str(p.default) not in pdef.choices:
                # the function's own default is one of its choices (e.g. mix="by_producer")
                pdef = pdef.with_(choices=(str(p.default), *pdef.choices))
        if p.name not in {d.name for d in out}:
            out.append(pdef)
    return out


@dataclass(frozen=True)
class FrameEndpoint:
    """A read endpoint over one accessor function.

    Attributes
    ----------
    path
        URL path (``/indicators/geopolrisk``).
    call
        ``kb -> function``: the bound accessor function.
    family
        Result family of :mod:`critmat.columns` (row schema, column descriptions).
    summary
        One line for the OpenAPI document (the docstring's first line otherwise).
    tag
        OpenAPI tag.
    """

    path: str
    call: Callable[[KnowledgeBase], Callable[..., Any]]
    family: str | None
    tag: str
    summary: str = ""
    role: Role = Role.viewer
    exclude: tuple[str, ...] = field(default=())


def _ind(name: str) -> Callable[[KnowledgeBase], Callable[..., Any]]:
    return lambda kb: getattr(kb.indicators, name)


def _def(name: str) -> Callable[[KnowledgeBase], Callable[..., Any]]:
    return lambda kb: getattr(kb.defence, name)


def _opt(name: str) -> Callable[[KnowledgeBase], Callable[..., Any]]:
    return lambda kb: getattr(kb.optimize, name)


def _pol(name: str) -> Callable[[KnowledgeBase], Callable[..., Any]]:
    return lambda kb: getattr(kb.policy, name)


#: The read endpoints: every indicator, the defence layer, the decision inputs.
ENDPOINTS: tuple[FrameEndpoint, ...] = (
    FrameEndpoint(
        "/indicators/concentration", _ind("concentration"), "concentration", "indicators"
    ),
    FrameEndpoint("/indicators/dependency", _ind("dependency"), "dependency", "indicators"),
    FrameEndpoint(
        "/indicators/net-import-reliance",
        _ind("net_import_reliance"),
        "net_import_reliance",
        "indicators",
    ),
    FrameEndpoint("/indicators/geopolrisk", _ind("geopolrisk"), "geopolrisk", "indicators"),
    FrameEndpoint(
        "/indicators/eu-supply-risk", _ind("eu_supply_risk"), "eu_supply_risk", "indicators"
    ),
    FrameEndpoint("/indicators/criticality", _ind("criticality"), "criticality", "indicators"),
    FrameEndpoint("/defence/uses", _def("uses"), None, "defence"),
    FrameEndpoint("/defence/systems", _def("systems"), None, "defence"),
    FrameEndpoint("/defence/bom", _def("bom"), None, "defence"),
    FrameEndpoint("/defence/build-rates", _def("build_rates"), None, "defence"),
    FrameEndpoint("/defence/demand", _def("demand"), "defence.demand", "defence"),
    FrameEndpoint("/defence/exposure", _def("exposure"), "defence.exposure", "defence"),
    FrameEndpoint(
        "/defence/capability-at-risk",
        _def("capability_at_risk"),
        "defence.capability_at_risk",
        "defence",
    ),
    FrameEndpoint("/defence/importance", _def("importance"), "defence.importance", "defence"),
    FrameEndpoint("/defence/criticality", _def("criticality"), "defence.criticality", "defence"),
    FrameEndpoint(
        "/defence/compare-lists", _def("compare_lists"), "defence.compare_lists", "defence"
    ),
    FrameEndpoint("/defence/energy", _def("energy"), "defence.energy_competition", "defence"),
    FrameEndpoint(
        "/defence/shortfall", _def("shortfall"), "defence.shortfall_allocation", "defence"
    ),
    FrameEndpoint("/defence/summary", _def("summary"), None, "defence"),
    # decisions (kb.optimize): the physical baseline, partner supply, the CRMA tracker
    FrameEndpoint("/optimize/baseline", _opt("baseline"), "optimize.baseline", "optimize"),
    FrameEndpoint("/optimize/partners", _opt("partners"), None, "optimize"),
    FrameEndpoint("/optimize/crma-projects", _opt("crma_projects"), None, "optimize"),
    # policy (kb.policy): the event record and the CRMA Article 5 tracker; files of the
    # server's own (consumption, projects) are never taken from a request
    FrameEndpoint("/policy/events", _pol("events"), "policy.events", "policy"),
    FrameEndpoint(
        "/crma/benchmarks",
        _pol("crma_benchmarks"),
        "crma.benchmarks",
        "policy",
        exclude=("consumption", "projects"),
    ),
    FrameEndpoint(
        "/crma/single-country",
        _pol("single_country_test"),
        None,
        "policy",
        exclude=("consumption",),
    ),
)


# ----------------------------------------------------------------------------- the cache


class FrameCache:
    """Computed frames by (endpoint, scope, data stamp, parameters); one computation per key.

    Results are deterministic given the data, so a request repeating another's parameters
    gets the stored frame; a change of the scope's data changes the stamp (a new key).
    Concurrent requests for the same key wait for the first one (single flight).

    Parameters
    ----------
    max_items
        Frames kept (least recently used go first).
    max_rows
        Larger frames are not kept.
    """

    def __init__(self, max_items: int = 256, max_rows: int = 200_000) -> None:
        self.max_items = max_items
        self.max_rows = max_rows
        self._items: OrderedDict[Hashable, pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()
        self._flights: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """The frame of ``key``, computed by ``build()`` once."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            try:
                frame = build()
            finally:
                with self._lock:
                    self._flights.pop(key, None)
            if len(frame) <= self.max_rows:
                with self._lock:
                    self._items[key] = frame
                    while len(self._items) > self.max_items:
                        self._items.popitem(last=False)
            return frame


class ReplyCache:
    """Serialised answers (body, media type, headers) by (frame key, format, page, URL).

    Serialising a frame with its column metadata costs more than finding it; a repeated
    request gets the bytes of the first answer.
    """

    def __init__(self, max_items: int = 1024, max_bytes: int = 2_000_000) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[bytes, str, dict[str, str]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The response of ``key`` (``build()`` makes it the first time)."""
        from fastapi.responses import Response

        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
        if hit is not None:
            body, media, headers = hit
            return Response(body, media_type=media, headers=headers)
        response = build()
        body = bytes(response.body)
        if len(body) <= self.max_bytes:
            headers = {
                k: v
                for k, v in response.headers.items()
                if k.lower() not in ("content-length", "content-type")
            }
            with self._lock:
                self._items[key] = (body, str(response.media_type), headers)
                while len(self._items) > self.max_items:
                    self._items.popitem(last=False)
        return response


def _hashable(value: Any) -> Hashable:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    return value


def checked(defs: list[ParamDef], values: dict[str, Any]) -> dict[str, Any]:
    """Parse and check request values with their definitions (choices, bounds, parsers).

    Raises
    ------
    critmat.errors.ParameterError
        Naming the query parameter and what would be valid.
    """
    out: dict[str, Any] = {}
    for d in defs:
        value = values.get(d.name, d.default)
        try:
            out[d.name] = d.check(value)
            if d.name == "proxies" and value is not None:
                out[d.name] = _pairs_text(value)
            if d.name == "years" and value is not None:
                parse_years(value)  # a bad year says where it is before anything is computed
        except ParameterError as exc:
            # the definitions speak CLI (--missing-governance); a request names the field
            for flag in d.cli_flags:
                exc.message = exc.message.replace(flag + " ", f"{d.name}=")
            exc.args = (exc.message,)
            exc.where = f"query parameter '{d.name}'"  # type: ignore[attr-defined]
            if d.choices:
                exc.valid = list(d.choices)  # type: ignore[attr-defined]
            raise
    return out


def _pairs_text(value: Any) -> dict[str, str] | None:
    """``MATERIAL=PROXY`` items (repeatable or comma-separated) as a mapping."""
    items = [value] if isinstance(value, str) else list(value)
    out: dict[str, str] = {}
    for part in (x.strip() for v in items for x in str(v).split(",")):
        if not part:
            continue
        name, sep, proxy = part.partition("=")
        if not sep or not name.strip() or not proxy.strip():
            raise ParameterError(
                f"proxies entry '{part}' is not MATERIAL=PROXY (e.g. rare_earths=neodymium)"
            )
        out[name.strip()] = proxy.strip()
    return out or None


def call_kwargs(func: Callable[..., Any], values: dict[str, Any]) -> dict[str, Any]:
    """The keywords of ``func`` from checked request values (``demand=`` assembled)."""
    sig = inspect.signature(func).parameters
    names = set(sig)
    # a value the request left unset (None) never overrides a function's own default
    kwargs = {
        k: v
        for k, v in values.items()
        if k in names and not (v is None and sig[k].default not in (None, inspect.Parameter.empty))
    }
    if "demand" in names:
        from critmat.defence.bom import DemandSource

        kwargs["demand"] = DemandSource(
            which=values.get("which", "auto"),
            default_intensity_kg=values.get("default_intensity_kg"),
            default_build_rate=values.get("default_build_rate"),
        )
    return kwargs


def _model_name(path: str) -> str:
    words = [w for part in path.strip("/").split("/") for w in part.split("-")]
    return "".join(w.capitalize() for w in words) + "Query"


def add_frame_endpoint(app: Any, ep: FrameEndpoint, *, probe: KnowledgeBase) -> None:
    """Register the GET route of ``ep`` on ``app``."""
    from fastapi import Depends, Query, Request

    func = ep.call(probe)
    defs = [d for d in api_params(func) if d.name not in ep.exclude]
    paging = [param(n) for n in PAGING]
    Model = query_model(_model_name(ep.path), [*defs, API_FORMAT, *paging])
    doc = inspect.getdoc(func) or ""
    summary = ep.summary or doc.split("\n", 1)[0]

    def endpoint(request: Request, query: Any, user: User) -> Any:
        raw = query.model_dump()
        values = checked(defs, raw)
        fmt = pick_format(raw.get("format"), request.headers.get("accept"))
        state = request.app.state
        kb, stamp = state.scopes.kb(user.scope)
        bound = ep.call(kb)
        kwargs = call_kwargs(bound, values)
        key = (ep.path, stamp, _hashable(values))  # stamp: the effective scope and data
        url = str(request.url)

        def reply() -> Any:
            frame = state.frames.get(key, lambda: bound(**kwargs))
            return frame_response(
                frame, fmt=fmt, page=raw["page"], page_size=raw["page_size"], url=url
            )

        return state.replies.get((key, fmt, raw["page"], raw["page_size"], url), reply)

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
            inspect.Parameter(
                "user",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=Annotated[User, Depends(require(ep.role))],
            ),
        ]
    )
    endpoint.__name__ = "get_" + ep.path.strip("/").replace("/", "_").replace("-", "_")
    app.add_api_route(
        ep.path,
        endpoint,
        methods=["GET"],
        tags=[ep.tag],
        summary=summary,
        description=doc,
        responses=response_schema(ep.family),
        response_class=_raw_response(),
        operation_id=endpoint.__name__,
    )


def _raw_response() -> Any:
    from fastapi.responses import Response

    return Response


def add_frame_endpoints(app: Any, probe: KnowledgeBase) -> None:
    """Register every :data:`ENDPOINTS` route on ``app``."""
    for ep in ENDPOINTS:
        add_frame_endpoint(app, ep, probe=probe)


def digest(value: Any) -> str:
    """A short stable digest of a JSON-able value (cache keys of bodies)."""
    import json

    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
