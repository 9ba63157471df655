"""Helpers of the REST API tests: an app with one token per role, a real uvicorn server."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from critmat.api.auth import TokenStore

ROLES = ("viewer", "analyst", "admin")


def make_tokens(data_dir: Path, *, team: str | None = None) -> dict[str, str]:
    """One token per role (users viewer, analyst, admin)."""
    store = TokenStore(data_dir)
    return {role: store.add(f"{role}-user", role, team=team)[0] for role in ROLES}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running `critmat serve` subprocess."""

    url: str
    proc: subprocess.Popen[str]
    data_dir: Path

    def client(self, token: str | None = None, **kw: Any) -> httpx.Client:
        headers = auth(token) if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kw)


@contextlib.contextmanager
def serve(data_dir: Path, *extra: str) -> Iterator[Server]:
    """Start `critmat serve` on a free loopback port; stop it (SIGTERM, then SIGKILL) at the end."""
    port = free_port()
    env = {**os.environ, "CRITMAT_DATA_DIR": str(data_dir)}
    cmd = [sys.executable, "-m", "critmat", "serve", "--port", str(port), "--data-dir"]
    proc = subprocess.Popen(
        [*cmd, str(data_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError(f"critmat serve exited {proc.returncode}:\n{out}\n{err}")
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("critmat serve did not answer /health within 90 s")
            time.sleep(0.2)
        yield Server(url=url, proc=proc, data_dir=data_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
