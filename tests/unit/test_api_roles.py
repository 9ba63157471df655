"""The whole role x endpoint matrix of the REST API, generated from the app's routes.

Every route of :func:`critmat.api.app.create_app` is either in ``PUBLIC`` or declares the
least role it needs through a :func:`critmat.api.auth.require` dependency (or needs any
valid token through :func:`critmat.api.auth.current_user`); a new route without either fails
``test_every_route_declares_its_role``, so no endpoint can escape the matrix. For each route
and each caller (no token, a malformed token, a revoked token, viewer, analyst, admin) the
answer must be 401 without a valid token, 403 below the route's role, and neither at or
above it: 0 bypass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from critmat.api.app import create_app
from critmat.api.auth import Role, TokenStore, current_user
from tests.api_support import ROLES, auth, make_tokens

#: Routes that need no token (liveness and the API description).
PUBLIC = {"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}

# ------------------------------------------------------------------ dashboard (critmat.web)
# The dashboard's pages authenticate by the session cookie of the login form, not by a bearer
# header; they have their own matrix below (test_dashboard_routes_need_a_session).
from critmat.web.pages import PUBLIC_PATHS as WEB_PUBLIC  # noqa: E402
from critmat.web.pages import SESSION_PATHS as WEB_SESSION  # noqa: E402

PUBLIC |= set(WEB_PUBLIC)
DASHBOARD = set(WEB_SESSION)


def required_role(route: APIRoute) -> Role | str | None:
    """The role a route's dependencies require: a Role, "token" (any token) or None."""
    found: list[Any] = []

    def walk(dep: Any) -> None:
        call = getattr(dep, "call", None)
        if call is not None and hasattr(call, "required_role"):
            found.append(call.required_role)
        elif call is current_user:
            found.append("token")
        for sub in dep.dependencies:
            walk(sub)

    walk(route.dependant)
    roles = [r for r in found if isinstance(r, Role)]
    if roles:
        return max(roles, key=lambda r: r.level)
    return "token" if found else None


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, str], Any]]:
    data_dir: Path = tmp_path_factory.mktemp("api-roles")
    tokens = make_tokens(data_dir)
    store = TokenStore(data_dir)
    revoked, _ = store.add("gone", "admin")
    store.revoke("gone")
    tokens["revoked"] = revoked
    tokens["malformed"] = "not-a-token"
    tokens["forged"] = re.sub(r"_[^_]+$", "_" + "x" * 43, tokens["admin"])
    app = create_app(data_dir, rate_limit=0)
    yield TestClient(app), tokens, app
    app.state.jobs.shutdown()  # jobs an admitted probe queued (a back-test with defaults)


def _routes(app: Any) -> list[APIRoute]:
    return [r for r in app.routes if isinstance(r, APIRoute) and r.path not in DASHBOARD]


def _request(client: TestClient, route: APIRoute, method: str, headers: dict[str, str]) -> Any:
    path = re.sub(r"\{[^}]+\}", "probe-0", route.path)
    # an unknown query parameter: routes with a query model answer 422 once the caller is
    # admitted, without computing anything; the others ignore it
    kw: dict[str, Any] = {"params": {"role_matrix_probe": "1"}, "headers": headers}
    if method in ("POST", "PUT", "PATCH"):
        kw["json"] = {}
    return client.request(method, path, **kw)


def test_every_route_declares_its_role(setup: Any) -> None:
    _client, _tokens, app = setup
    missing = [
        f"{sorted(r.methods)} {r.path}"
        for r in _routes(app)
        if r.path not in PUBLIC and required_role(r) is None
    ]
    assert not missing, (
        f"routes without a role (add require(...) or list them in PUBLIC): {missing}"
    )
    # the matrix covers a real app: readers, analysts' actions and admin's token management
    levels = {required_role(r) for r in _routes(app)}
    assert {Role.viewer, Role.analyst, Role.admin} <= levels
    assert len(_routes(app)) >= 30
    # every decision and back-test job route and its status, cancel and result routes
    from critmat.api.decisions import GET_ROUTES, JOB_ROUTES

    paths = {(m, r.path) for r in _routes(app) for m in r.methods}
    for route in JOB_ROUTES:
        assert ("POST", route.path) in paths
        assert required_role(next(r for r in _routes(app) if r.path == route.path)) == Role.analyst
    for get in GET_ROUTES:
        assert ("GET", get.path) in paths
    for family in ("optimize", "policy"):
        for method, path in (
            ("GET", f"/{family}/jobs"),
            ("GET", f"/{family}/jobs/{{job_id}}"),
            ("DELETE", f"/{family}/jobs/{{job_id}}"),
            ("GET", f"/{family}/jobs/{{job_id}}/result"),
        ):
            assert (method, path) in paths


def test_role_matrix_has_no_bypass(setup: Any) -> None:
    client, tokens, app = setup
    cases = 0
    failures: list[str] = []
    for route in _routes(app):
        need = required_role(route)
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            if route.path in PUBLIC:
                r = _request(client, route, method, {})
                # the dashboard's sign-in and sign-out forms refuse a POST without their CSRF
                # token (a cross-site form): 403 for that reason only
                csrf = method == "POST" and "cross-site request refused" in r.text
                if r.status_code in (401, 403) and not (r.status_code == 403 and csrf):
                    failures.append(f"{method} {route.path}: public route answered {r.status_code}")
                continue
            for caller in ("none", "malformed", "forged", "revoked", *ROLES):
                headers = {} if caller == "none" else auth(tokens[caller])
                r = _request(client, route, method, headers)
                cases += 1
                if caller not in ROLES:
                    expected: int | None = 401
                elif need != "token" and not Role(caller).allows(need):  # type: ignore[arg-type]
                    expected = 403
                else:
                    expected = None
                ok = r.status_code == expected if expected else r.status_code not in (401, 403)
                if not ok or r.status_code >= 500:
                    failures.append(
                        f"{method} {route.path} as {caller}: {r.status_code} "
                        f"(expected {expected or 'admitted'}): {r.text[:200]}"
                    )
                if r.status_code in (401, 403):
                    body = r.json()["error"]
                    assert body["code"] in ("unauthenticated", "forbidden")
                    assert body["message"]
                    if r.status_code == 401:
                        assert r.headers["www-authenticate"] == "Bearer"
    assert not failures, "\n".join(failures)
    assert cases >= 30 * 7


def test_roles_follow_the_policy(setup: Any) -> None:
    """Reads need a viewer; anything that changes state an analyst; tokens an admin."""
    _client, _tokens, app = setup
    wrong = []
    for route in _routes(app):
        if route.path in PUBLIC:
            continue
        need = required_role(route)
        writes = bool(route.methods & {"POST", "PUT", "PATCH", "DELETE"})
        if route.path.startswith("/admin"):
            expected: Any = Role.admin
        elif writes:
            expected = Role.analyst
        else:
            expected = "token" if route.path == "/me" else Role.viewer
        if need != expected:
            wrong.append(f"{sorted(route.methods)} {route.path}: {need} (policy: {expected})")
    assert not wrong, wrong


def test_no_raw_sql_endpoint(setup: Any) -> None:
    client, tokens, app = setup
    assert not [r.path for r in _routes(app) if "sql" in r.path.lower() or "query" in r.path]
    # the table endpoint takes selections, never SQL
    r = client.get(
        "/data/tables/materials",
        params={"sql": "select * from materials"},
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 422 and "sql" in r.json()["error"]["message"]


def test_dashboard_routes_need_a_session(setup: Any) -> None:
    """Every dashboard route is listed; without a valid session cookie no page is shown."""
    client, tokens, app = setup
    web = [r for r in app.routes if isinstance(r, APIRoute) and r.path in DASHBOARD]
    assert {r.path for r in web} == DASHBOARD
    every = {r.path for r in app.routes if isinstance(r, APIRoute)}
    assert every <= {r.path for r in _routes(app)} | DASHBOARD | PUBLIC
    failures = []
    for route in web:
        path = re.sub(r"\{[^}]+\}", "probe-0", route.path)
        for caller in ("none", "malformed", "forged", "revoked", "bearer-only"):
            client.cookies.clear()
            headers = {}
            if caller == "bearer-only":  # a bearer header is not a session
                headers = auth(tokens["admin"])
            elif caller != "none":
                client.cookies.set("critmat_token", tokens[caller])
            r = client.get(path, headers=headers, follow_redirects=False)
            want = 401 if route.path.startswith("/ui/") else 303
            if r.status_code != want or (want == 303 and "/login" not in r.headers["location"]):
                failures.append(f"GET {route.path} as {caller}: {r.status_code}")
    client.cookies.clear()
    assert not failures, failures


def test_role_matrix_holds_for_the_session_cookie(setup: Any) -> None:
    """The dashboard's session cookie is a credential like the bearer header: the same roles
    on every route, and a state-changing request without the session's CSRF token (a forged
    cross-site request) refused whatever the role."""
    from critmat.web.session import COOKIE, csrf_token

    client, tokens, app = setup
    failures: list[str] = []
    cases = 0
    try:
        for route in _routes(app):
            if route.path in PUBLIC:
                continue
            need = required_role(route)
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                unsafe = method not in ("GET",)
                for caller in ("forged", "revoked", *ROLES):
                    client.cookies.clear()
                    client.cookies.set(COOKIE, tokens[caller])
                    for with_csrf in (True, False) if unsafe else (True,):
                        headers = {"X-CSRF-Token": csrf_token(tokens[caller])} if with_csrf else {}
                        r = _request(client, route, method, headers)
                        cases += 1
                        below = (
                            caller in ROLES and need != "token" and not Role(caller).allows(need)  # type: ignore[arg-type]
                        )
                        if caller not in ROLES:
                            expected: int | None = 401
                        elif (unsafe and not with_csrf) or below:
                            expected = 403
                        else:
                            expected = None
                        ok = (
                            r.status_code == expected
                            if expected
                            else r.status_code not in (401, 403)
                        )
                        if not ok or r.status_code >= 500:
                            failures.append(
                                f"{method} {route.path} as {caller} cookie, csrf={with_csrf}: "
                                f"{r.status_code} (expected {expected or 'admitted'}): "
                                f"{r.text[:200]}"
                            )
    finally:
        client.cookies.clear()
    assert not failures, "\n".join(failures)
    assert cases >= 30 * 5
