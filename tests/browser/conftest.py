"""One real `critmat serve` per test module (uvicorn subprocess, temp data directory, tokens
made with `critmat users add`) and a Playwright Chromium (the system's: never downloaded).

Without Chromium or Playwright the browser tests are skipped with the reason; under
``CI=true`` that is a failure (``.ci/run`` installs chromium with apt-get).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests._chromium import chromium_or_skip

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class Server:
    url: str
    analyst: str
    viewer: str
    data_dir: Path


def _critmat(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "critmat", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_or_skip()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("serve") / "data"
    analyst = _critmat("users", "add", "ana", "--role", "analyst", "--data-dir", str(data))
    viewer = _critmat("users", "add", "vic", "--role", "viewer", "--data-dir", str(data))
    port = _free_port()
    log = (data.parent / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "critmat", "serve", "--port", str(port), "--data-dir", str(data)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "CRITMAT_DATA_DIR": str(data)},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as reply:
                if reply.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail("critmat serve did not start: " + (data.parent / "serve.log").read_text())
        time.sleep(0.3)
    try:
        yield Server(url, analyst.strip().splitlines()[-1], viewer.strip().splitlines()[-1], data)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium)
        yield b
        b.close()


class Watched:
    """A page that records console errors, page errors, failed and off-site requests."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
            ),
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url}"))

        def route(r: Any) -> None:
            if r.request.url.startswith(base):
                r.continue_()
            else:  # the dashboard works offline: nothing may leave the server
                self.problems.append(f"off-site request: {r.request.url}")
                r.abort()

        page.route("**/*", route)


def signed_in(browser: Any, server: Server, token: str) -> Watched:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    w = Watched(ctx.new_page(), server.url)
    w.page.goto(server.url + "/")
    assert "/login" in w.page.url
    w.page.fill("#token", token)
    w.page.click("button[type=submit]")
    w.page.wait_for_url(server.url + "/")
    return w
