"""The FastAPI application of ``critmat serve``.

:func:`create_app` builds one application over a data directory: the frame endpoints of
:mod:`critmat.api.endpoints` (every indicator and the defence layer), the knowledge-base
tables, private user data imports (:mod:`critmat.api.scopes`), scenario and optimisation
jobs (:mod:`critmat.api.jobs`) and token management. Every route but ``/health`` and the
OpenAPI document needs a bearer token (:mod:`critmat.api.auth`).

Errors use the vocabulary of the CLI (:mod:`critmat.errors`): the body is
``{"error": {"code", "message", "where", "valid", ...}}`` with a 4xx status for what the
client can fix; a failure of the server itself is a 500 with the same shape and never a
traceback.
"""

import contextlib
import functools
import hashlib
import logging
import math
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from critmat._version import __version__
from critmat.api.auth import Role, TokenStore, User, as_dict, current_user, require
from critmat.api.endpoints import (
    ENDPOINTS,
    FrameCache,
    ReplyCache,
    add_frame_endpoints,
    checked,
)
from critmat.api.frames import API_FORMAT, frame_response, pick_format, response_schema
from critmat.api.scopes import ScopeData
from critmat.errors import (
    AuthenticationError,
    CheckFailed,
    CorruptStateError,
    CritmatError,
    DaskError,
    DataValidationError,
    InfeasibleError,
    JobCancelledError,
    ParameterError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    ScenarioSpecError,
    StorageError,
    UnknownNameError,
    closest,
)
from critmat.params import PARAMS, param, query_model
from critmat.web.session import COOKIE as SESSION_COOKIE

__all__ = [
    "RateLimiter",
    "ReplyMiddleware",
    "ReplyStore",
    "canonical_query",
    "create_app",
    "error_body",
    "status_of",
]

log = logging.getLogger("critmat.api")

#: Suffixes an upload may have (the formats :func:`critmat.data.importer.import_file` reads).
UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".parquet", ".json")


# ----------------------------------------------------------------------------- errors


def status_of(exc: CritmatError) -> int:
    """HTTP status of a critmat error (4xx for what the client can change)."""
    if isinstance(exc, AuthenticationError):
        return 401
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, RateLimitError):
        return 429
    if isinstance(exc, RequestTooLargeError):
        return 413
    if isinstance(exc, UnknownNameError) and exc.kind in ("job", "run", "user table"):
        return 404
    if isinstance(exc, DataValidationError | ScenarioSpecError | CheckFailed | InfeasibleError):
        return 422
    if isinstance(exc, JobCancelledError):
        return 409
    if isinstance(exc, StorageError | CorruptStateError | DaskError):
        return 503
    if isinstance(exc, ValueError | KeyError):
        return 400
    return 400


def error_body(exc: CritmatError, *, where: str | None = None) -> dict[str, Any]:
    """``{"error": {...}}`` of a critmat error: code, message, where, what would be valid."""
    body = exc.to_dict()
    body["where"] = getattr(exc, "where", None) or where
    valid = getattr(exc, "valid", None)
    if valid is None and isinstance(exc, UnknownNameError):
        valid = exc.suggestions or None
    body["valid"] = valid
    return {"error": body}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    import json

    from fastapi.responses import Response

    text = json.dumps(body, ensure_ascii=False, default=str)
    return Response(text, status_code=status, media_type="application/json", headers=headers)


def _install_error_handlers(app: Any) -> None:
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    @app.exception_handler(CritmatError)
    async def critmat_error(request: Request, exc: CritmatError) -> Any:
        headers: dict[str, str] = {}
        if isinstance(exc, AuthenticationError):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, RateLimitError):
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        where = f"{request.method} {request.url.path}"
        return _json(status_of(exc), error_body(exc, where=where), headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Any:
        problems = []
        for e in exc.errors():
            loc = [str(x) for x in e.get("loc", ())]
            kind = loc[0] if loc else "request"
            name = ".".join(loc[1:]) if len(loc) > 1 else ""
            where = {
                "query": f"query parameter '{name}'",
                "body": f"request body field '{name}'" if name else "request body",
                "path": f"path parameter '{name}'",
                "header": f"header '{name}'",
            }.get(kind, ".".join(loc))
            valid: Any = None
            ctx = e.get("ctx") or {}
            if e.get("type") == "extra_forbidden":
                allowed = _allowed_fields(request)
                valid = allowed or None
                hint = closest(name, allowed) if allowed else []
                message = f"unknown {kind} parameter '{name}'" + (
                    f"; did you mean '{hint[0]}'?" if hint else ""
                )
            else:
                message = str(e.get("msg", "invalid value"))
                valid = {k: str(v) for k, v in ctx.items()} or None
            problems.append(
                {
                    "message": message,
                    "where": where,
                    "value": None if e.get("input") is None else str(e.get("input"))[:200],
                    "valid": valid,
                }
            )
        first = problems[0] if problems else {"message": "invalid request", "where": None}
        body = {
            "error": {
                "code": ParameterError.code,
                "message": "; ".join(f"{p['where']}: {p['message']}" for p in problems)
                or "invalid request",
                "where": first["where"],
                "valid": first.get("valid"),
                "problems": problems,
            }
        }
        return _json(422, body)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Any:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        valid = None
        if exc.status_code == 404:
            paths = sorted({getattr(r, "path", "") for r in request.app.routes} - {""})
            valid = closest(request.url.path, paths) or None
        body = {
            "error": {
                "code": code,
                "message": f"{request.method} {request.url.path}: {exc.detail}",
                "where": f"{request.method} {request.url.path}",
                "valid": valid,
            }
        }
        return _json(exc.status_code, body, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Any:
        ref = hashlib.sha256(f"{time.time()}{id(exc)}".encode()).hexdigest()[:12]
        log.error("error %s on %s %s", ref, request.method, request.url.path, exc_info=exc)
        body = {
            "error": {
                "code": "internal_error",
                "message": f"the server failed on this request ({type(exc).__name__}); "
                f"reference {ref} in the server log",
                "where": f"{request.method} {request.url.path}",
                "valid": None,
            }
        }
        return _json(500, body)


def _allowed_fields(request: Any) -> list[str]:
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return []
    names: list[str] = []
    for p in getattr(dependant, "query_params", []):
        ann = getattr(p.field_info, "annotation", None)
        fields = getattr(ann, "model_fields", None)
        names += list(fields) if fields else [p.name]
    return names


# ----------------------------------------------------------------------------- limits


class RateLimiter:
    """Token buckets per API token (or per client address without one), in this process.

    Parameters
    ----------
    rate
        Requests per second refilled; ``0`` disables the limit.
    burst
        Bucket size (default twice the rate).
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, 2 * rate))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one request from ``key``'s bucket; return 0, or the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            level, last = self._buckets.get(key, (self.burst, now))
            level = min(self.burst, level + (now - last) * self.rate)
            if level < 1.0:
                self._buckets[key] = (level, now)
                return (1.0 - level) / self.rate
            self._buckets[key] = (level - 1.0, now)
            if len(self._buckets) > 100_000:
                self._buckets.clear()
            return 0.0


class LimitsMiddleware:
    """ASGI middleware: rate limit per token, and the largest request body.

    A body larger than ``max_body`` is refused with 413 from its ``Content-Length`` before
    it is read, and while it streams in when it has none (chunked uploads).
    """

    def __init__(self, app: Any, *, limiter: RateLimiter, max_body: int) -> None:
        self.app = app
        self.limiter = limiter
        self.max_body = max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # ASGI header names are lower-case bytes
        auth = length = cookie = None
        for k, v in scope["headers"]:
            if k == b"authorization":
                auth = v
            elif k == b"content-length":
                length = v.decode("latin-1")
            elif k == b"cookie":
                cookie = v
        path = scope.get("path", "")
        if path != "/health":
            client = scope.get("client") or ("?", 0)
            # per token: the bearer header, else the dashboard's session cookie, else the address
            who = auth or _session_cookie(cookie)
            key = "t:" + hashlib.sha256(who).hexdigest() if who else f"ip:{client[0]}"
            wait = self.limiter.take(key)
            if wait > 0:
                exc = RateLimitError(
                    f"more than {self.limiter.rate:g} requests per second with this token; "
                    f"retry in {wait:.2f} s",
                    retry_after=wait,
                )
                await _send_error(send, 429, exc, {"Retry-After": str(max(1, math.ceil(wait)))})
                return
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _send_error(send, 413, self._too_large())
            return
        seen = 0
        limit = self.max_body

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _send_error(send, 413, self._too_large())

    def _too_large(self) -> RequestTooLargeError:
        return RequestTooLargeError(
            f"the request body is larger than {self.max_body / 1e6:g} MB, the most this "
            "server accepts (critmat serve --max-upload-mb)"
        )


def _session_cookie(cookie: bytes | None) -> bytes | None:
    """The dashboard's session cookie in a ``Cookie`` header (its raw value), if any."""
    if not cookie:
        return None
    name = SESSION_COOKIE.encode() + b"="
    for raw in cookie.split(b";"):
        part = raw.strip()
        if part.startswith(name):
            return part[len(name) :] or None
    return None


class _BodyTooLarge(Exception):
    pass


async def _send_error(
    send: Any, status: int, exc: CritmatError, headers: dict[str, str] | None = None
) -> None:
    import json

    body = json.dumps(error_body(exc)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


# ----------------------------------------------------------------------------- replies


@functools.lru_cache(maxsize=4096)
def canonical_query(raw: bytes) -> str:
    """The query string with its parameters in name order (repeated names keep their order).

    Query models read parameters by name, so two queries that differ only in the order of
    their names ask for the same result; percent-encoding is normalised too. (Remembered for
    the last 4096 query strings: clients repeat theirs.)
    """
    from urllib.parse import parse_qsl, urlencode

    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    return urlencode(sorted(pairs, key=lambda kv: kv[0]))


class ReplyStore:
    """Serialised answers (status line headers and body) of repeated frame requests.

    Keyed by (path, canonical query, response format, host, effective data scope and data
    stamp of :meth:`critmat.api.scopes.ScopeData.version`): everything an answer of a frame
    endpoint depends on. The scope is the *effective* one: users without private data share
    the answers of the shared data; a user with private data has answers of their own. A
    change of the shared or the scope's data changes the stamp, hence the key. Least recently
    used answers go first past ``max_items`` or ``max_bytes``.

    Used by one event loop only (the server's): no lock.
    """

    def __init__(
        self, max_items: int = 4096, max_bytes: int = 128_000_000, max_body: int = 4_000_000
    ) -> None:
        from collections import OrderedDict

        self.max_items = max_items
        self.max_bytes = max_bytes
        self.max_body = max_body
        self._items: OrderedDict[Any, tuple[list[tuple[bytes, bytes]], bytes]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Any) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        """The stored ``(headers, body)`` of ``key``, or ``None``."""
        hit = self._items.get(key)
        if hit is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return hit

    def put(self, key: Any, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """Keep the answer of ``key`` (not if its body is larger than ``max_body``)."""
        if len(body) > self.max_body:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= len(old[1])
        self._items[key] = (headers, body)
        self._bytes += len(body)
        while len(self._items) > self.max_items or self._bytes > self.max_bytes:
            _k, (_h, dropped) = self._items.popitem(last=False)
            self._bytes -= len(dropped)

    def clear(self) -> None:
        """Forget every answer."""
        self._items.clear()
        self._bytes = 0


class ReplyMiddleware:
    """ASGI middleware: answer a repeated frame request from :class:`ReplyStore`.

    For ``GET`` on a frame endpoint (``paths``: path -> least role) with a bearer token, the
    token is authenticated (:meth:`critmat.api.auth.TokenStore.authenticate`: a token verified
    before costs a hash and a dictionary look-up; a revoked one is refused) and its role
    checked against the endpoint's on *every* request; the key then holds the caller's
    effective data scope, so no answer computed over one user's private data reaches
    another user. A stored answer is sent as it is (no routing, no query validation, no
    recomputation, no serialisation); otherwise the request goes through the application and
    a ``200`` answer is stored. Anything unusual (no or a bad token, a lesser role, another
    method) goes through the application unchanged, which answers as always (401, 403, 422).
    """

    def __init__(self, app: Any, *, paths: dict[str, Role], state: Any) -> None:
        self.app = app
        self.paths = paths
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Answer from the store, or through the application (storing a 200 answer)."""
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        need = self.paths.get(scope["path"])
        if need is None:
            await self.app(scope, receive, send)
            return
        auth = accept = host = b""
        for k, v in scope["headers"]:
            if k == b"authorization":
                auth = v
            elif k == b"accept":
                accept = v
            elif k == b"host":
                host = v
        scheme, _, token = auth.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await self.app(scope, receive, send)
            return
        try:
            user = self.state.tokens.authenticate(token.strip())
            stamp = self.state.scopes.version(user.scope)
            fmt = pick_format(None, accept.decode("latin-1"))
        except CritmatError:
            await self.app(scope, receive, send)  # the application says why (401, ...)
            return
        if not user.role.allows(need):
            await self.app(scope, receive, send)  # 403 from the route's dependency
            return
        key = (
            scope["path"],
            canonical_query(scope.get("query_string", b"")),
            fmt,
            host,
            scope.get("scheme"),
            scope.get("root_path", ""),
            stamp,
        )
        store: ReplyStore = self.state.reply_store
        hit = store.get(key)
        if hit is not None:
            headers, body = hit
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        status = 0
        headers_out: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status, headers_out
            if message["type"] == "http.response.start":
                status = message["status"]
                headers_out = list(message.get("headers", []))
            elif message["type"] == "http.response.body" and status == 200:
                chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    store.put(key, headers_out, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, capture)


# ----------------------------------------------------------------------------- the app


def create_app(
    data_dir: Path | None = None,
    *,
    rate_limit: float = PARAMS["rate_limit"].default,
    max_upload_mb: float = PARAMS["max_upload_mb"].default,
    job_workers: int = 1,
) -> Any:
    """Build the FastAPI application over ``data_dir``.

    Parameters
    ----------
    data_dir
        The served data directory: its tables (``critmat data import --data-dir``) are
        shared by every token, its ``api/tokens.json`` holds the tokens
        (``critmat users add --data-dir``), its ``scenarios`` folder is the run store, and
        ``api/scopes/<scope>`` the private data of each user or team. Default
        ``$CRITMAT_DATA_DIR`` or the platform user data folder.
    rate_limit
        Requests per second per token (twice as many in a burst); 0: no limit.
    max_upload_mb
        Largest request body (MB).
    job_workers
        Scenario and optimisation jobs run at the same time (the others wait in a queue).

    Returns
    -------
    fastapi.FastAPI
    """
    from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
    from pydantic import BaseModel, Field

    from critmat.api.jobs import JobManager, add_job_routes
    from critmat.data.userdata import default_data_dir

    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.jobs.shutdown()

    app = FastAPI(
        title="critmat API",
        version=__version__,
        description="Critical raw materials supply security for European defence: indicators, "
        "defence exposure, disruption scenarios and optimisation over the cited knowledge "
        "base, with your private data. Send `Authorization: Bearer TOKEN` (create a token "
        "with `critmat users add NAME --role ROLE`). Errors: `{error: {code, message, "
        "where, valid}}`.",
        lifespan=lifespan,
    )
    app.state.data_dir = root
    app.state.tokens = TokenStore(root)
    app.state.scopes = ScopeData(root)
    app.state.frames = FrameCache()
    app.state.replies = ReplyCache()
    app.state.reply_store = ReplyStore()
    app.state.jobs = JobManager(root, app.state.scopes, workers=job_workers)
    #: GET routes whose answers depend on the query and the caller's data only: path -> role
    fast_paths: dict[str, Role] = {ep.path: ep.role for ep in ENDPOINTS}
    # the middleware added last runs first: limits, then stored replies, then the routes
    app.add_middleware(ReplyMiddleware, paths=fast_paths, state=app.state)
    app.add_middleware(
        LimitsMiddleware,
        limiter=RateLimiter(rate_limit),
        max_body=int(max_upload_mb * 1e6),
    )
    _install_error_handlers(app)

    from critmat.knowledge_base import KnowledgeBase

    probe = KnowledgeBase(user_data=False)
    Viewer = Annotated[User, Depends(require(Role.viewer))]
    Analyst = Annotated[User, Depends(require(Role.analyst))]
    Admin = Annotated[User, Depends(require(Role.admin))]

    # ------------------------------------------------------------------ public

    @app.get("/health", tags=["server"], summary="Liveness: version and dataset (no token).")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "dataset": probe.version,
            "dataset_hash": probe.catalog.content_hash,
        }

    @app.get("/me", tags=["server"], summary="The token's user, role and data scope.")
    def me(user: Annotated[User, Depends(current_user)]) -> dict[str, Any]:
        return as_dict(user)

    # ------------------------------------------------------------------ frames

    add_frame_endpoints(app, probe)

    paging = [param("page"), param("page_size")]

    def _frame_route(path: str, summary: str, names: list[str], build: Any, tag: str) -> None:
        defs = [param(n) for n in names]
        if "{" not in path:
            fast_paths[path] = Role.viewer
        model = query_model(
            "".join(
                w.capitalize() for w in path.replace("{", "").replace("}", "").split("/")
            ).replace("-", "")
            + "Query",
            [*defs, API_FORMAT, *paging],
        )

        def endpoint(request: Request, query: Any, user: User, table: str = "") -> Any:
            raw = query.model_dump()
            values = checked(defs, raw)
            fmt = pick_format(raw.get("format"), request.headers.get("accept"))
            kb, stamp = request.app.state.scopes.kb(user.scope)
            key = (path, table, stamp, tuple(sorted(map(str, values.items()))))
            frame = request.app.state.frames.get(key, lambda: build(kb, table, **values))
            return frame_response(
                frame,
                fmt=fmt,
                page=raw["page"],
                page_size=raw["page_size"],
                url=str(request.url),
            )

        import inspect

        from fastapi import Query

        params = [
            inspect.Parameter(
                "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
            ),
            inspect.Parameter(
                "query",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=Annotated[model, Query()],
            ),
            inspect.Parameter("user", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Viewer),
        ]
        if "{table}" in path:
            params.append(
                inspect.Parameter("table", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str)
            )
        endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        name = "get_" + path.strip("/").replace("/", "_").replace("-", "_").replace("{", "")
        name = name.replace("}", "")
        endpoint.__name__ = name
        from fastapi.responses import Response

        app.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            tags=[tag],
            summary=summary,
            responses=dict(response_schema(None)),
            response_class=Response,
            operation_id=name,
        )

    _frame_route(
        "/data/tables",
        "The tables with row counts, years, your rows and sources.",
        [],
        lambda kb, _t: kb.tables(),
        "data",
    )
    _frame_route(
        "/data/tables/{table}",
        "A whole table of the knowledge base (with your rows), filtered; paginated.",
        ["materials", "countries", "importers", "exporters", "years", "stage"],
        _table,
        "data",
    )
    _frame_route(
        "/data/sources",
        "Every source: embedded datasets and your imports.",
        [],
        lambda kb, _t: kb.sources(),
        "data",
    )
    _frame_route(
        "/data/materials",
        "Materials: canonical ids, names, groups, stages, HS codes, list flags.",
        ["materials"],
        lambda kb, _t, materials=None: kb.materials(materials),
        "data",
    )
    _frame_route(
        "/data/countries",
        "Countries: ISO-3, names, regions and EU27/NATO/OECD/G7 flags.",
        ["countries"],
        lambda kb, _t, countries=None: kb.countries(countries),
        "data",
    )

    # ------------------------------------------------------------------ private imports

    import_defs = [
        param("table", default=None),
        param("mode"),
        param("combine"),
        param("import_checks"),
        param("note"),
        param("sheet"),
    ]

    @app.post(
        "/data/imports",
        tags=["data"],
        summary="Import a file into your private data (validated, all-or-nothing).",
        status_code=201,
    )
    def import_data(
        user: Analyst,
        file: Annotated[UploadFile, File(description="CSV/TSV, XLSX, Parquet or JSON file")],
        table: Annotated[str, Form(description=PARAMS["table"].help)],
        mode: Annotated[str, Form(description=PARAMS["mode"].description)] = "merge",
        combine: Annotated[str, Form(description=PARAMS["combine"].description)] = "upsert",
        checks: Annotated[str, Form(description=PARAMS["import_checks"].description)] = "warn",
        note: Annotated[str, Form(description=PARAMS["note"].help, max_length=2000)] = "",
        sheet: Annotated[str | None, Form(description=PARAMS["sheet"].help)] = None,
    ) -> dict[str, Any]:
        values = checked(
            import_defs,
            {
                "table": table,
                "mode": mode,
                "combine": combine,
                "import_checks": checks,
                "note": note,
                "sheet": sheet,
            },
        )
        name = Path(file.filename or "upload.csv").name
        suffix = Path(name).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            exc = ParameterError(
                f"file '{name}' has the suffix {suffix or '(none)'}; expected one of "
                + ", ".join(UPLOAD_SUFFIXES)
            )
            exc.where = "form field 'file'"  # type: ignore[attr-defined]
            exc.valid = list(UPLOAD_SUFFIXES)  # type: ignore[attr-defined]
            raise exc
        return _import(request_state=app.state, user=user, upload=file, name=name, **values)

    @app.get("/data/imports", tags=["data"], summary="The import log of your private data.")
    def list_imports(user: Viewer) -> dict[str, Any]:
        private = app.state.scopes.private(user.scope)
        return {"scope": user.scope, "imports": private.imports(), "tables": private.tables()}

    @app.delete(
        "/data/tables/{table}",
        tags=["data"],
        summary="Remove your private version of a table (the shared one shows again).",
    )
    def remove_table(table: str, user: Analyst) -> dict[str, Any]:
        probe.catalog.table(table)
        private = app.state.scopes.private(user.scope)
        if table not in private.tables():
            raise UnknownNameError("user table", table, suggestions=sorted(private.tables()) or ())
        private.remove_table(table)
        return {"table": table, "removed": True, "scope": user.scope}

    # ------------------------------------------------------------------ tokens

    class NewToken(BaseModel):
        """A token to create."""

        model_config = {"extra": "forbid"}
        name: str = Field(description="User name.", min_length=1, max_length=64)
        role: str = Field(default="viewer", description=PARAMS["role"].description)
        team: str | None = Field(default=None, description=PARAMS["team"].help, max_length=64)

    @app.get("/admin/tokens", tags=["admin"], summary="Every token (no secrets, no hashes).")
    def list_tokens(user: Admin) -> dict[str, Any]:
        return {"tokens": app.state.tokens.entries()}

    @app.post(
        "/admin/tokens",
        tags=["admin"],
        summary="Create a token; the response is the only time it is shown.",
        status_code=201,
    )
    def add_token(body: NewToken, user: Admin) -> dict[str, Any]:
        token, new = app.state.tokens.add(body.name, body.role, team=body.team)
        return {**as_dict(new), "token": token}

    @app.delete("/admin/tokens/{name}", tags=["admin"], summary="Revoke a user's tokens.")
    def revoke_token(name: str, user: Admin) -> dict[str, Any]:
        return {"revoked": app.state.tokens.revoke(name)}

    add_job_routes(app, probe)

    # the dashboard (critmat.web): HTML pages at /, its assets at /static
    from critmat.web import mount

    mount(app)
    return app


def _table(kb: Any, name: str, **filters: Any) -> Any:
    """``kb.table(name, ...)`` (``kb.trade`` for trade: materials through the HS mapping)."""
    given = {k: v for k, v in filters.items() if v is not None}
    if name == "trade" and "countries" not in given:
        return kb.trade(**given)
    spec = kb.catalog.table(name)
    cols = set(spec.field_names)
    for arg, col in _FILTERS:
        if arg in given and col not in cols:
            exc = ParameterError(
                f"table '{name}' has no '{col}' column, so {arg}= does not apply to it"
            )
            exc.where = f"query parameter '{arg}'"  # type: ignore[attr-defined]
            exc.valid = [a for a, c in _FILTERS if c in cols]  # type: ignore[attr-defined]
            raise exc
    return kb.table(name, **given)


_FILTERS = (
    ("materials", "material"),
    ("countries", "country"),
    ("importers", "importer"),
    ("exporters", "exporter"),
    ("years", "year"),
    ("stage", "stage"),
)


def _import(
    *,
    request_state: Any,
    user: User,
    upload: Any,
    name: str,
    table: str,
    mode: str,
    combine: str,
    import_checks: str,
    note: str,
    sheet: str | None,
) -> dict[str, Any]:
    """Validate and commit an upload into the scope's private data directory."""
    from critmat.data.importer import import_file

    scopes: ScopeData = request_state.scopes
    kb = _kb_for(scopes, user.scope)
    with tempfile.TemporaryDirectory(prefix="critmat-upload-") as tmp:
        path = Path(tmp) / name
        with path.open("wb") as fh:
            while chunk := upload.file.read(1 << 20):
                fh.write(chunk)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = import_file(
                path,
                table,
                catalog=kb.catalog,
                context=kb.validation_context(),
                user=scopes.private(user.scope),
                mode=mode,
                combine=combine,
                sheet=sheet,
                note=note or f"uploaded by {user.name} through the API",
                checks=import_checks,
                embedded=kb.embedded,
            )
    return {
        "table": result.table,
        "import_id": result.import_id,
        "file": name,
        "rows_in_file": result.rows_in_file,
        "user_rows": result.user_rows,
        "replaced_rows": result.replaced_rows,
        "combine": result.combine,
        "scope": user.scope,
        "violations": result.violation_lines(),
    }


def _kb_for(scopes: ScopeData, scope: str) -> Any:
    """The scope's current knowledge base (name resolvers for validating an upload)."""
    return scopes.kb(scope)[0]
