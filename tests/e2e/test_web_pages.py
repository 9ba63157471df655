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


def _signed_in(client: Any, token: str) -> Any:
    client.cookies.clear()
    r = client.post("/login", data={"token": token, "next": "/policy"})
    assert r.status_code == 303 and r.headers["location"] == "/policy"
    assert "critmat_token" in r.headers["set-cookie"]
    assert "samesite=strict" in r.headers["set-cookie"].lower()
    return client


def test_pages_need_a_signed_in_user(client: tuple[Any, str, str]) -> None:
    c, _analyst, _viewer = client
    c.cookies.clear()
    r = c.get("/defence?months=6")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/defence%3Fmonths%3D6"
    r = c.post("/login", data={"token": "cmt_nope", "next": "/"})
    assert r.status_code == 401 and "Sign-in failed" in r.text
    r = c.post("/login", data={"token": "x", "next": "//evil.example"})
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
