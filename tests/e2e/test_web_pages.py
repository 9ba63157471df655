"""The dashboard over HTTP without a browser (runs everywhere, Chromium or not): login,
pages, assets served locally, roles, and the pages kept out of the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, str]]:
    from fastapi.testclient import TestClient

    from critmat.api.app import create_app

    data = tmp_path_factory.mktemp("web") / "data"
    app = create_app(data, rate_limit=0)
    analyst, _ = app.state.tokens.add("ana", "analyst")
    viewer, _ = app.state.tokens.add("vic", "viewer")
    with TestClient(app, follow_redirects=False) as c:
        yield c, analyst, viewer


def _login_csrf(client: Any) -> str:
    """The double-submit token of a fresh login form (its cookie is now in ``client``)."""
    form = client.get("/login")
    assert form.status_code == 200
    hit = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert hit, form.text
    return hit.group(1)


def _login(client: Any, token: str, next_: str = "/", **headers: str) -> Any:
    data = {"token": token, "next": next_, "csrf_token": _login_csrf(client)}
    return client.post("/login", data=data, headers=headers)


def _signed_in(client: Any, token: str) -> Any:
    client.cookies.clear()
    r = _login(client, token, "/policy")
    assert r.status_code == 303 and r.headers["location"] == "/policy"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("critmat_token="))
    attrs = {a.strip().lower() for a in cookie.split(";")}
    # the session cookie: never readable by a script, never sent along a cross-site request
    assert {"httponly", "samesite=strict", "path=/"} <= attrs
    assert "secure" not in attrs  # plain HTTP here; over TLS it is Secure (test_api_server)
    return client


def _csrf_of_page(client: Any, path: str = "/scenarios") -> str:
    hit = re.search(r'<meta name="csrf-token" content="([^"]+)">', client.get(path).text)
    assert hit
    return hit.group(1)


def test_pages_need_a_signed_in_user(client: tuple[Any, str, str]) -> None:
    c, _analyst, _viewer = client
    c.cookies.clear()
    r = c.get("/defence?months=6")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/defence%3Fmonths%3D6"
    r = _login(c, "cmt_nope")
    assert r.status_code == 401 and "Sign-in failed" in r.text
    r = _login(c, "x", "//evil.example")
    assert r.status_code == 401  # and an off-site next is never followed
    assert c.get("/ui/scenario/abc").status_code == 401


def test_pages_render_with_local_assets_only(client: tuple[Any, str, str]) -> None:
    c = _signed_in(client[0], client[2])
    for path in ("/policy", "/crma", "/materials/graphite", "/scenarios", "/stockpile"):
        r = c.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        page = r.text
        # nothing fetched from elsewhere: scripts and styles are served by this server
        assert not re.search(r"""(src|href)=["']https?://""", page), path
        assert "/static/plotly.min.js" in page and "vic" in page and "viewer" in page
    graphite = c.get("/materials/graphite").text
    assert "Graphite (natural)" in graphite and "map-extraction" in graphite
    assert "baci_hs92_v202401b" in graphite  # the trade figure names its source
    js = c.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert "topojsonURL" in c.get("/static/critmat.js").text
    assert c.get("/static/topojson/world_110m.json").json()["type"] == "Topology"
    bad = c.get("/materials/galium")
    assert bad.status_code == 404 and "gallium" in bad.text
    assert c.get("/defence?months=0").status_code == 400


def test_roles_on_the_scenario_page(client: tuple[Any, str, str]) -> None:
    c, analyst, viewer = client
    page = _signed_in(c, viewer).get("/scenarios").text
    assert 'id="run" disabled' in page and "needs the analyst role" in page
    r = c.post(
        "/scenarios/jobs",
        json={"preset": "china-ga-ge-2023", "samples": 20},
        headers={"Authorization": f"Bearer {viewer}"},
    )
    assert r.status_code == 403
    page = _signed_in(c, analyst).get("/scenarios").text
    assert 'id="run" disabled' not in page and "china-ga-ge-2023" in page


def test_pages_are_not_in_the_openapi_document(client: tuple[Any, str, str]) -> None:
    c = client[0]
    paths = set(c.get("/openapi.json").json()["paths"])
    assert not {"/", "/login", "/defence", "/ui/scenario/{job_id}"} & paths
    assert "/scenarios/jobs" in paths


def test_the_package_ships_its_assets() -> None:
    import critmat.web

    root = Path(critmat.web.__file__).parent
    for name in ("base.html", "overview.html", "material.html", "scenarios.html"):
        assert (root / "templates" / name).is_file()
    assert (root / "static" / "topojson" / "world_110m.json").stat().st_size > 100_000


def test_cross_site_posts_are_refused(client: tuple[Any, str, str]) -> None:
    """A page of another site can neither sign a browser in nor act with its session."""
    c, analyst, viewer = client
    job = {"preset": "china-ga-ge-2023", "samples": 20}
    # login CSRF: a form posted from elsewhere (no double-submit token, a foreign Origin)
    c.cookies.clear()
    r = c.post("/login", data={"token": viewer, "next": "/"})
    assert r.status_code == 403 and "CSRF token" in r.text
    assert "critmat_token=" not in r.headers.get("set-cookie", "")
    r = _login(c, viewer, "/", origin="https://evil.example")
    assert r.status_code == 403 and "evil.example" in r.text
    # signed in as an analyst: the page's own requests carry the session's CSRF token
    _signed_in(c, analyst)
    token = _csrf_of_page(c)
    assert "critmat_token" not in c.get("/scenarios").text  # the token is not in the page
    forged = [
        ({}, "no CSRF token"),
        ({"X-CSRF-Token": "0" * 64}, "a wrong CSRF token"),
        ({"X-CSRF-Token": token, "Origin": "https://evil.example"}, "a foreign origin"),
        ({"X-CSRF-Token": token, "Referer": "https://evil.example/page"}, "a foreign referer"),
    ]
    for headers, why in forged:
        r = c.post("/scenarios/jobs", json=job, headers=headers)
        assert r.status_code == 403, (why, r.status_code, r.text[:200])
        assert "cross-site request refused" in r.json()["error"]["message"], why
        assert c.delete("/scenarios/jobs/abc", headers=headers).status_code == 403, why
    assert c.get("/scenarios/jobs").json()["jobs"] == []  # nothing was started
    # the same request from the dashboard's page is admitted (the cookie authenticates it)
    here = str(c.base_url).rstrip("/")
    r = c.post("/scenarios/jobs", json=job, headers={"X-CSRF-Token": token, "Origin": here})
    assert r.status_code == 202, r.text
    c.delete("/scenarios/jobs/" + r.json()["id"], headers={"X-CSRF-Token": token})
    # reads need no CSRF token; a bearer header needs none either (no browser adds one)
    assert c.get("/scenarios/jobs").status_code == 200
    c.cookies.clear()
    r = c.post("/scenarios/jobs", json=job, headers={"Authorization": f"Bearer {analyst}"})
    assert r.status_code == 202
    c.delete("/scenarios/jobs/" + r.json()["id"], headers={"Authorization": f"Bearer {analyst}"})
    # the roles hold for the cookie as for the bearer header
    _signed_in(c, viewer)
    r = c.post("/scenarios/jobs", json=job, headers={"X-CSRF-Token": _csrf_of_page(c)})
    assert r.status_code == 403 and "analyst" in r.json()["error"]["message"]


def test_logout_is_a_protected_post(client: tuple[Any, str, str]) -> None:
    c, _analyst, viewer = client
    _signed_in(c, viewer)
    token = _csrf_of_page(c, "/policy")
    assert c.get("/logout").status_code == 405  # a link elsewhere cannot sign anyone out
    r = c.post("/logout", data={"csrf_token": "forged"})
    assert r.status_code == 403 and c.get("/policy").status_code == 200  # still signed in
    r = c.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    gone = r.headers["set-cookie"].lower()
    assert gone.startswith("critmat_token=") and "max-age=0" in gone
    assert c.get("/policy").status_code == 303


def test_pages_forbid_framing(client: tuple[Any, str, str]) -> None:
    c = _signed_in(client[0], client[2])
    r = c.get("/policy")
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
