"""The dashboard in a real browser: pages, charts, a scenario run, roles, screenshots."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, Server, Watched, signed_in

#: Main pages: path, screenshot name, whether the page draws charts.
PAGES = [
    ("/", "overview", True),
    ("/materials/gallium", "material-gallium", True),
    ("/defence", "defence", True),
    ("/crma", "crma", True),
    ("/policy", "policy", True),
    ("/scenarios", "scenarios", False),
    ("/stockpile", "stockpile", False),
]


def _shoot(w: Watched, name: str, tmp: Path) -> None:
    w.page.screenshot(path=str(tmp / f"{name}.png"), full_page=False)
    if os.environ.get("CRITMAT_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        w.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


def test_login_is_required(browser: Any, server: Server) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(server.url + "/defence")
    assert "/login" in page.url
    page.fill("#token", "cmt_not_a_token")
    page.click("button[type=submit]")
    assert "Sign-in failed" in page.locator(".error").inner_text()
    ctx.close()


def test_pages_load_without_errors_and_charts_render(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    w = signed_in(browser, server, server.viewer)
    for path, name, charts in PAGES:
        w.page.goto(server.url + path)
        w.page.wait_for_load_state("networkidle")
        assert w.page.locator("h1").count() == 1, path
        if charts:
            figures = w.page.locator("div.chart[data-figure]").count()
            assert figures >= 1, path
            # every figure drawn by plotly.js (an svg) and traced to its sources
            w.page.wait_for_function(
                "n => document.querySelectorAll('div.chart[data-figure] .main-svg').length >= n",
                arg=figures,
            )
            assert w.page.locator("figcaption.source").count() == figures
            assert "Sources:" in w.page.locator("figcaption.source").first.inner_text()
        _shoot(w, name, tmp_path)
        assert w.problems == [], (path, w.problems)
    # names a reader expects, not ids
    w.page.goto(server.url + "/")
    ranking = w.page.locator("#ranking").inner_text()
    assert "Dysprosium" in ranking and "hree" not in ranking
    # the stockpile page shows the decisions layer's plan, or says why there is none
    w.page.goto(server.url + "/stockpile")
    if importlib.util.find_spec("critmat.report.decisions") is not None:
        assert w.page.locator("table.data").count() >= 1
        assert "stock (t)" in w.page.locator("table.data").first.inner_text()
    else:
        assert "No stockpile plan" in w.page.locator("#stockpile-missing").inner_text()
    w.page.goto(server.url + "/materials/galium")
    assert "gallium" in w.page.locator(".error").inner_text()  # did you mean
    w.page.context.close()


def test_scenario_started_from_the_page_shows_its_result(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    w = signed_in(browser, server, server.analyst)
    w.page.goto(server.url + "/scenarios")
    w.page.select_option("#preset", "china-ga-ge-2023")
    w.page.fill("#samples", "200")
    w.page.click("#run")
    w.page.wait_for_selector("#scenario-result:not([hidden])", timeout=90_000)
    w.page.wait_for_selector("#fan-chart .main-svg")
    assert w.page.locator("#job-progress").evaluate("e => e.value") == pytest.approx(1.0)
    assert "done" in w.page.locator("#job-status").inner_text()
    table = w.page.locator("#stockout-table").inner_text()
    assert "gallium" in table.lower() and "P(any shortfall)" in table
    _shoot(w, "scenario-result", tmp_path)
    # a large run cancelled from the page stops and says so
    w.page.fill("#samples", "20000")
    w.page.click("#run")
    w.page.wait_for_selector("#cancel:not([hidden])")
    w.page.click("#cancel")
    w.page.wait_for_selector("#job-error:not([hidden])", timeout=60_000)
    assert "cancelled" in w.page.locator("#job-error").inner_text()
    assert w.problems == [], w.problems
    w.page.context.close()


def test_viewer_cannot_reach_an_analyst_action(browser: Any, server: Server) -> None:
    w = signed_in(browser, server, server.viewer)
    w.page.goto(server.url + "/scenarios")
    assert w.page.locator("#run").is_disabled()
    assert "analyst role" in w.page.locator("#role-note").inner_text()
    # forcing the form past the disabled button: the API refuses, the page says why
    w.page.evaluate("document.getElementById('scenario-form').requestSubmit()")
    w.page.wait_for_selector("#job-error:not([hidden])")
    assert "403" in w.page.locator("#job-error").inner_text()
    assert w.page.locator("#scenario-result").is_hidden()
    w.page.context.close()


#: A page of another site that posts a scenario job with the visitor's session (the classic
#: text/plain form that looks like JSON), and one that signs the visitor out.
EVIL = """<!DOCTYPE html><html><body>
<form id="job" method="post" action="{url}/scenarios/jobs" enctype="text/plain">
<input name='{{"preset": "china-ga-ge-2023", "samples": 20, "x": "' value='"}}'></form>
<form id="out" method="post" action="{url}/logout"><input name="csrf_token" value="guess"></form>
</body></html>"""


def test_a_cross_site_post_is_refused(browser: Any, server: Server) -> None:
    """Signed in as an analyst, the browser visits another site whose forms post to critmat:
    the session cookie is not sent along (SameSite=Strict), nothing starts, no one is signed
    out, and no script of the page can read the session cookie (HttpOnly)."""
    import httpx

    w = signed_in(browser, server, server.analyst)
    assert w.page.evaluate("document.cookie").find("critmat_token") == -1
    bearer = {"Authorization": f"Bearer {server.analyst}"}
    before = httpx.get(server.url + "/scenarios/jobs", headers=bearer).json()["jobs"]
    ctx = w.page.context
    ctx.route(
        "http://evil.example/**",
        lambda r: r.fulfill(body=EVIL.format(url=server.url), content_type="text/html"),
    )
    evil = ctx.new_page()
    evil.goto("http://evil.example/")
    with evil.expect_navigation():
        evil.evaluate("document.getElementById('job').submit()")
    assert evil.locator("body").inner_text().find("unauthenticated") >= 0
    evil.goto("http://evil.example/")
    with evil.expect_navigation():
        evil.evaluate("document.getElementById('out').submit()")
    after = httpx.get(server.url + "/scenarios/jobs", headers=bearer).json()["jobs"]
    assert len(after) == len(before)  # no job was started
    w.page.goto(server.url + "/scenarios")  # still signed in: the forged sign-out did nothing
    assert w.page.url == server.url + "/scenarios" and w.page.locator("#run").is_enabled()
    ctx.close()
