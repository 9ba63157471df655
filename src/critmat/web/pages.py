"""Routes of the dashboard pages, the login, and the static files (:func:`mount`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from critmat.errors import CritmatError, UnknownNameError
from critmat.report.format import format_value, is_missing
from critmat.web import data as pages
from critmat.web.session import (
    COOKIE,
    CSRF_FIELD,
    LOGIN_COOKIE,
    cross_site_problem,
    csrf_token,
    new_login_token,
)

__all__ = ["COOKIE", "PAGES", "PUBLIC_PATHS", "SESSION_PATHS", "mount"]

#: Headers of every dashboard page: no framing by other sites (clickjacking), no sniffing,
#: no referrer sent elsewhere.
PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
#: Seconds a session cookie lasts.
SESSION_SECONDS = 12 * 3600

#: The navigation: path, title.
PAGES = [
    ("/", "Overview"),
    ("/defence", "Defence"),
    ("/scenarios", "Scenarios"),
    ("/stockpile", "Stockpile"),
    ("/crma", "CRMA tracker"),
    ("/policy", "Policy timeline"),
]

#: Routes of the dashboard that need a signed-in user (the session cookie): pages redirect
#: to the login form without one, ``/ui/*`` answers 401.
SESSION_PATHS = (
    "/",
    "/materials/{material}",
    "/defence",
    "/scenarios",
    "/stockpile",
    "/crma",
    "/policy",
    "/ui/scenario/{job_id}",
)

#: Routes of the dashboard open to everyone (the login form, its assets).
PUBLIC_PATHS = ("/login", "/logout", "/static/plotly.min.js", "/static")

_HERE = Path(__file__).parent
_ROLES = ("viewer", "analyst", "admin")


def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(_HERE / "templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def fmt(value: Any, style: str = "auto") -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if is_missing(value):
            return "–"
        return format_value(value, style)

    env.filters["fmt"] = fmt
    env.globals["pages"] = PAGES
    return env


def _role(user: Any) -> str:
    role = getattr(user, "role", "viewer")
    return str(getattr(role, "value", role))


def _can(user: Any, needed: str) -> bool:
    return _ROLES.index(_role(user)) >= _ROLES.index(needed) if _role(user) in _ROLES else False


def mount(
    app: Any,
    *,
    authenticate: Callable[[str], Any] | None = None,
    kb_for: Callable[[Any], tuple[Any, Any]] | None = None,
    job_for: Callable[[str, Any], Any] | None = None,
) -> None:
    """Add the dashboard pages and ``/static`` to a FastAPI application.

    Parameters
    ----------
    app
        The API's application (:func:`critmat.api.app.create_app`).
    authenticate
        ``token -> user`` (``name``, ``role``, ``scope``), raising a
        :class:`~critmat.errors.CritmatError` for a bad token; default the app's token
        store (``app.state.tokens.authenticate``).
    kb_for
        ``user -> (knowledge base, data stamp)`` of the user's data scope; default
        ``app.state.scopes.kb(user.scope)``.
    job_for
        ``(job id, user) -> job`` (with ``result``) of the user's scope; default
        ``app.state.jobs.get``.
    """
    env = _env()
    cache = pages.PageCache()

    def _authenticate(token: str) -> Any:
        if authenticate is not None:
            return authenticate(token)
        return app.state.tokens.authenticate(token)

    def _kb(user: Any) -> tuple[Any, Any]:
        if kb_for is not None:
            return kb_for(user)
        kb, stamp = app.state.scopes.kb(user.scope)
        return kb, stamp

    def _job(job_id: str, user: Any) -> Any:
        if job_for is not None:
            return job_for(job_id, user)
        return app.state.jobs.get(job_id, user)

    def user_of(request: Request) -> Any | None:
        token = request.cookies.get(COOKIE, "")
        if not token:
            return None
        try:
            return _authenticate(token)
        except CritmatError:
            return None

    def render(template: str, request: Request, user: Any, code: int = 200, **ctx: Any) -> Any:
        kb, _stamp = _kb(user)
        page = env.get_template(template).render(
            user=user,
            csrf=csrf_token(request.cookies.get(COOKIE, "")),
            role=_role(user),
            can_run=_can(user, "analyst"),
            path=request.url.path,
            titles=cache.get(("titles", id(kb), _stamp), lambda: pages.source_titles(kb)),
            dataset=f"{kb.version} (hash {kb.catalog.content_hash})",
            **ctx,
        )
        return HTMLResponse(page, status_code=code, headers=PAGE_HEADERS)

    def refused(request: Request, problem: str, *, login: bool = False) -> Any:
        """403 for a cross-site POST (the login form again, or an error page)."""
        if login:
            return login_page(request, "/", f"Sign-in refused: {problem}", 403)
        body = env.get_template("login.html").render(next="/", error=problem, user=None, csrf="")
        return HTMLResponse(body, status_code=403, headers=PAGE_HEADERS)

    def login_page(request: Request, target: str, error: str, code: int = 200) -> Any:
        """The login form with a fresh double-submit token (cookie and hidden field)."""
        value = new_login_token()
        reply = HTMLResponse(
            env.get_template("login.html").render(next=target, error=error, user=None, csrf=value),
            status_code=code,
            headers=PAGE_HEADERS,
        )
        reply.set_cookie(
            LOGIN_COOKIE,
            value,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/login",
            max_age=3600,
        )
        return reply

    def login_redirect(request: Request) -> Any:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    def page(path: str, build: Callable[[Request, Any], Any]) -> None:
        def handler(request: Request) -> Any:
            user = user_of(request)
            if user is None:
                return login_redirect(request)
            try:
                return build(request, user)
            except UnknownNameError as exc:
                return render("error.html", request, user, code=404, error=exc.message)
            except CritmatError as exc:
                return render("error.html", request, user, code=400, error=exc.message)

        handler.__name__ = "page_" + (
            path.strip("/").replace("/", "_").replace("{", "").replace("}", "") or "overview"
        )
        app.add_api_route(
            path, handler, methods=["GET"], include_in_schema=False, response_class=HTMLResponse
        )

    def assessment(user: Any) -> Any:
        kb, stamp = _kb(user)
        return kb, cache.get(("assessment", id(kb), stamp), lambda: pages.assessment(kb))

    # ------------------------------------------------------------------ login

    @app.get("/login", include_in_schema=False, response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/", error: str = "") -> Any:  # noqa: A002
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        return login_page(request, target, error)

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request,
        token: str = Form(""),
        next: str = Form("/"),  # noqa: A002
        csrf: str = Form("", alias=CSRF_FIELD),
    ) -> Any:
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        problem = cross_site_problem(
            "POST",
            request.headers,
            request.url.scheme,
            request.headers.get("host", ""),
            expected=request.cookies.get(LOGIN_COOKIE, ""),
            given=csrf,
        )
        if problem is not None:
            return refused(request, problem, login=True)
        token = token.strip()
        if not token:
            return login_page(request, target, "Enter your API token.", 400)
        try:
            _authenticate(token)
        except CritmatError as exc:
            return login_page(request, target, f"Sign-in failed: {exc.message}", 401)
        reply = RedirectResponse(target, status_code=303)
        reply.set_cookie(
            COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
            max_age=SESSION_SECONDS,
        )
        reply.delete_cookie(LOGIN_COOKIE, path="/login")
        return reply

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: str = Form("", alias=CSRF_FIELD)) -> Any:
        session = request.cookies.get(COOKIE, "")
        reply = RedirectResponse("/login", status_code=303)
        if not session:
            # no session sent along (e.g. a cross-site form: SameSite=Strict): nothing to end,
            # and no cookie is touched (a browser would apply a deletion even then)
            return reply
        problem = cross_site_problem(
            "POST",
            request.headers,
            request.url.scheme,
            request.headers.get("host", ""),
            expected=csrf_token(session),
            given=csrf,
        )
        if problem is not None:
            return refused(request, problem)
        reply.delete_cookie(
            COOKIE,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return reply

    # ------------------------------------------------------------------ pages

    def decisions(user: Any) -> tuple[Any, str]:
        kb, a = assessment(user)
        _k, stamp = _kb(user)
        out: tuple[Any, str] = cache.get(
            ("decisions", id(kb), stamp), lambda: pages.decisions(kb, a)
        )
        return out

    def overview(request: Request, user: Any) -> Any:
        kb, a = assessment(user)
        _k, stamp = _kb(user)
        section, why = decisions(user)
        ctx = cache.get(
            ("overview", id(kb), stamp), lambda: pages.overview_page(kb, a, section, why)
        )
        return render("overview.html", request, user, **ctx)

    def material(request: Request, user: Any) -> Any:
        name = request.path_params["material"]
        kb, a = assessment(user)
        _k, stamp = _kb(user)
        ctx = cache.get(("material", id(kb), stamp, name), lambda: pages.material_page(kb, a, name))
        return render("material.html", request, user, **ctx)

    def defence(request: Request, user: Any) -> Any:
        from critmat.errors import ParameterError

        try:
            months = int(request.query_params.get("months", "12"))
            cut = float(request.query_params.get("cut", "1.0"))
        except ValueError:
            raise ParameterError(
                "months must be a whole number of months (1-120) and cut a share (0-1)"
            ) from None
        if not (1 <= months <= 120 and 0.0 <= cut <= 1.0):
            raise ParameterError(
                f"months {months} / cut {cut}: expected 1-120 months and a cut between 0 and 1"
            )
        kb, stamp = _kb(user)
        ctx = cache.get(
            ("defence", id(kb), stamp, months, cut),
            lambda: pages.defence_page(kb, months=int(months), cut=cut),
        )
        return render("defence.html", request, user, **ctx)

    def scenarios(request: Request, user: Any) -> Any:
        kb, stamp = _kb(user)
        presets = cache.get(
            ("presets", id(kb), stamp),
            lambda: kb.scenarios.preset_table()[["preset", "title"]].to_dict("records"),
        )
        return render("scenarios.html", request, user, presets=presets)

    def stockpile(request: Request, user: Any) -> Any:
        kb, a = assessment(user)
        _k, stamp = _kb(user)
        section, why = decisions(user)
        ctx = cache.get(
            ("stockpile", id(kb), stamp), lambda: pages.stockpile_page(kb, a, section, why)
        )
        return render("stockpile.html", request, user, **ctx)

    def crma(request: Request, user: Any) -> Any:
        kb, stamp = _kb(user)
        ctx = cache.get(("crma", id(kb), stamp), lambda: pages.crma_page(kb))
        return render("crma.html", request, user, **ctx)

    def policy(request: Request, user: Any) -> Any:
        kb, stamp = _kb(user)
        ctx = cache.get(("policy", id(kb), stamp), lambda: pages.policy_page(kb))
        return render("policy.html", request, user, **ctx)

    page("/", overview)
    page("/materials/{material}", material)
    page("/defence", defence)
    page("/scenarios", scenarios)
    page("/stockpile", stockpile)
    page("/crma", crma)
    page("/policy", policy)

    # ------------------------------------------------------------------ page data

    @app.get("/ui/scenario/{job_id}", include_in_schema=False)
    def scenario_figure(request: Request, job_id: str) -> Any:
        """The fan chart and stock-out table of a finished scenario job (for the page)."""
        from critmat.report.scenario import fan_chart, stockout_table, table_html

        user = user_of(request)
        if user is None:
            return JSONResponse({"error": {"message": "sign in first"}}, status_code=401)
        try:
            job = _job(job_id, user)
        except CritmatError as exc:
            return JSONResponse({"error": exc.to_dict()}, status_code=404)
        result = getattr(job, "result", None)
        if result is None:
            return JSONResponse(
                {"error": {"message": f"job {job_id} has no result yet"}}, status_code=409
            )
        kb, _stamp = _kb(user)
        mats = kb.table("materials")
        names = dict(zip(mats["material"], mats["name"], strict=True))
        title = result.spec.scenario.name
        preset = (getattr(job, "params", None) or {}).get("preset")
        if preset:
            table = kb.scenarios.preset_table()
            hit = table.loc[table["preset"] == preset, "title"]
            title = str(hit.iloc[0]) if len(hit) else title
        monthly = result.monthly.assign(
            material=result.monthly["material"].map(names).fillna(result.monthly["material"])
        )
        fig = fan_chart(
            monthly,
            variable="shortfall",
            title=f"Monthly shortfall over {result.samples:,} scenarios",
        )
        summary = stockout_table(
            result.summary.assign(
                material=result.summary["material"].map(names).fillna(result.summary["material"])
            )
        )
        return JSONResponse(
            {
                "figure": json.loads(fig.to_json()),
                "table": table_html(summary.head(15)),
                "sources": [str(s) for s in result.meta.get("sources", [])],
                "title": title,
            }
        )

    # ------------------------------------------------------------------ static

    plotly_js = _plotly_js()

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_script() -> Any:
        return FileResponse(plotly_js, media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")


def _plotly_js() -> Path:
    """plotly.js as installed with the ``plotly`` package (served, never fetched)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        from critmat.errors import RendererUnavailableError

        raise RendererUnavailableError(
            f"plotly.js is missing from the plotly package ({path}); reinstall plotly"
        )
    return path
