"""`critmat serve` for real: uvicorn in a subprocess on a free loopback port, a temp data dir.

Tokens made with `critmat users add` (printed once, stored hashed), concurrent imports and
scenario jobs through the API from threads (nothing lost), and clients that disconnect in the
middle of a request or a job (the server carries on).
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from critmat.api.scopes import LayeredUserData, scope_dir
from critmat.scenarios.store import RunStore
from tests.api_support import Server, serve

pytestmark = pytest.mark.slow

HEADER = "system,component,material,kg_per_unit,kind,source\n"


def _users_add(data_dir: Path, name: str, role: str, *extra: str) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "critmat",
            "users",
            "add",
            name,
            "--role",
            role,
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    token = out.stdout.strip().splitlines()[-1]
    assert token.startswith("cmt_") and " " not in token
    return token


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data_dir = tmp_path_factory.mktemp("api-server")
    tokens = {
        "alice": _users_add(data_dir, "alice", "analyst"),
        "bob": _users_add(data_dir, "bob", "analyst"),
        "viewer": _users_add(data_dir, "vera", "viewer"),
    }
    with serve(data_dir, "--rate-limit", "0") as srv:
        yield srv, tokens


def test_tokens_are_printed_once_and_stored_hashed(server: Any) -> None:
    srv, tokens = server
    text = (srv.data_dir / "api" / "tokens.json").read_text()
    for token in tokens.values():
        # the secret is everything after the id; it is base64url and may itself hold "_"
        secret = token.split("_", 2)[2]
        assert len(secret) >= 40
        assert token not in text and secret not in text
    assert text.count("$argon2id$") == 3
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "critmat",
            "users",
            "list",
            "--data-dir",
            str(srv.data_dir),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = json.loads(listed)
    assert {r["name"] for r in rows} == {"alice", "bob", "vera"}
    assert not any(t in listed for t in tokens.values()) and "argon2" not in listed
    with srv.client() as anon, srv.client(tokens["viewer"]) as viewer:
        assert anon.get("/indicators/concentration").status_code == 401
        me = viewer.get("/me").json()
        assert me["role"] == "viewer" and me["name"] == "vera"


def _bom(prefix: str, n: int = 25) -> bytes:
    rows = [f"{prefix}-{i},radar,gallium,{0.1 + i / 100:.3f},user,own\n" for i in range(n)]
    return (HEADER + "".join(rows)).encode()


def _upload(srv: Server, token: str, name: str, content: bytes) -> int:
    with srv.client(token) as c:
        r = c.post(
            "/data/imports",
            files={"file": (f"{name}.csv", content, "text/csv")},
            data={"table": "bom"},
        )
        assert r.status_code == 201, r.text
        return int(r.json()["rows_in_file"])


def test_concurrent_imports_lose_nothing(server: Any) -> None:
    srv, tokens = server
    jobs = [("alice", f"a{i}") for i in range(8)] + [("bob", f"b{i}") for i in range(4)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        rows = list(pool.map(lambda j: _upload(srv, tokens[j[0]], j[1], _bom(j[1])), jobs))
    assert rows == [25] * len(jobs)
    for who, n in (("alice", 8), ("bob", 4)):
        private = LayeredUserData(srv.data_dir, scope_dir(srv.data_dir, f"user-{who}")).private
        table = private.read_table("bom")
        assert table is not None and len(table) == 25 * n  # every row of every import
        assert len([i for i in private.imports() if i["table"] == "bom"]) == n
        with srv.client(tokens[who]) as c:
            body = c.get("/defence/bom", params={"which": "user", "page_size": 1000}).json()
        systems = {r["system"] for r in body["records"]}
        assert len(systems) == 25 * n
        assert all(s.startswith(who[0]) for s in systems)  # and only the owner's


def _start_job(srv: Server, token: str, seed: int) -> str:
    with srv.client(token) as c:
        r = c.post(
            "/scenarios/jobs", json={"preset": "china-ga-ge-2023", "samples": 120, "seed": seed}
        )
        assert r.status_code == 202, r.text
        return str(r.json()["id"])


def _wait(srv: Server, token: str, job_id: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with srv.client(token) as c:
        while True:
            job = c.get(f"/scenarios/jobs/{job_id}").json()
            if job["finished"] or time.monotonic() > deadline:
                return dict(job)
            time.sleep(0.2)


def test_concurrent_scenario_jobs_lose_nothing(server: Any) -> None:
    srv, tokens = server
    with ThreadPoolExecutor(6) as pool:
        ids = list(pool.map(lambda s: _start_job(srv, tokens["alice"], s), range(6)))
    jobs = [_wait(srv, tokens["alice"], i) for i in ids]
    assert [j["status"] for j in jobs] == ["done"] * 6, jobs
    run_ids = {j["run_id"] for j in jobs}
    assert len(run_ids) == 6
    stored = RunStore(srv.data_dir / "scenarios").list()
    assert run_ids <= set(stored["run_id"])
    with srv.client(tokens["alice"]) as c:
        mine = {r["run_id"] for r in c.get("/scenarios/runs").json()["runs"]}
    assert run_ids <= mine
    with srv.client(tokens["bob"]) as c:
        assert not run_ids & {r["run_id"] for r in c.get("/scenarios/runs").json()["runs"]}
    # different seeds, different ensembles: each run is its own
    means = {
        round(
            float(RunStore(srv.data_dir / "scenarios").load(r).summary["shortfall_mean"].sum()), 9
        )
        for r in run_ids
    }
    assert len(means) > 1


def _raw(srv: Server, request: bytes, *, read: bool = False) -> None:
    host, port = srv.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        if read:
            s.recv(10)
    # closed: the client is gone before (or while) the server answers


def test_server_survives_clients_that_disconnect(server: Any) -> None:
    srv, tokens = server
    auth = f"Authorization: Bearer {tokens['alice']}\r\n".encode()
    body = json.dumps({"preset": "china-rare-earths-oct-2025", "samples": 3000}).encode()
    # 1. start a job and hang up at once
    _raw(
        srv,
        b"POST /scenarios/jobs HTTP/1.1\r\nHost: x\r\n"
        + auth
        + b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body,
    )
    # 2. ask for an expensive uncached result and hang up before it is computed
    _raw(
        srv,
        b"GET /defence/exposure?by=programme&detail=true HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n",
    )
    # 3. announce a large upload, send part of it, hang up
    _raw(
        srv,
        b"POST /data/imports HTTP/1.1\r\nHost: x\r\n"
        + auth
        + b"Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: 100000\r\n\r\n"
        + b'--zz\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n\r\n'
        + HEADER.encode(),
    )
    # 4. read a few bytes of a large answer and hang up
    _raw(
        srv,
        b"GET /data/tables/trade?years=2022&page_size=10000 HTTP/1.1\r\nHost: x\r\n"
        + auth
        + b"\r\n",
        read=True,
    )
    with srv.client(tokens["alice"]) as c:
        assert c.get("/health").status_code == 200
        deadline = time.monotonic() + 120
        while True:
            jobs = [
                j
                for j in c.get("/scenarios/jobs").json()["jobs"]
                if j["params"].get("preset") == "china-rare-earths-oct-2025"
            ]
            if jobs and jobs[0]["finished"]:
                break
            assert time.monotonic() < deadline, jobs
            time.sleep(0.3)
        assert jobs[0]["status"] == "done" and jobs[0]["progress"]["done"] == 3000
        r = c.get(f"/scenarios/jobs/{jobs[0]['id']}/result", params={"format": "csv"})
        assert r.status_code == 200 and len(r.text.splitlines()) > 1
        # the half upload left nothing behind
        before = len(c.get("/data/imports").json()["imports"])
        assert c.get("/defence/exposure", params={"by": "programme"}).status_code == 200
        assert len(c.get("/data/imports").json()["imports"]) == before
    assert srv.proc.poll() is None


def test_csv_and_parquet_over_http(server: Any) -> None:
    srv, tokens = server
    import io

    with srv.client(tokens["viewer"]) as c:
        r = c.get(
            "/indicators/concentration",
            params={"materials": "gallium"},
            headers={"Accept": "text/csv"},
        )
        assert r.headers["content-type"].startswith("text/csv")
        frame = pd.read_csv(io.StringIO(r.text))
        assert set(frame["material"]) == {"gallium"}
        r = c.get("/indicators/concentration", params={"materials": "gallium", "format": "parquet"})
        pq = pd.read_parquet(io.BytesIO(r.content))
        assert len(pq) == len(frame)
        pd.testing.assert_series_equal(pq["hhi"], frame["hhi"], check_dtype=False)


# ----------------------------------------------------------------------------- decisions

EX = Path(__file__).resolve().parents[2] / "examples"


def _rows(path: Path) -> list[dict[str, Any]]:
    frame = pd.read_csv(path)
    return [{k: v for k, v in r.items() if pd.notna(v)} for r in frame.to_dict(orient="records")]


def _cli_json(tmp: Path, *args: str) -> list[dict[str, Any]]:
    env = {**__import__("os").environ, "CRITMAT_DATA_DIR": str(tmp / "cli-data")}
    p = subprocess.run(
        [sys.executable, "-m", "critmat", *args, "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    return list(json.loads(p.stdout))


def _wait_family(srv: Server, token: str, family: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    with srv.client(token) as c:
        while True:
            job = c.get(f"/{family}/jobs/{job_id}").json()
            if job["finished"]:
                return dict(job)
            assert time.monotonic() < deadline, job
            time.sleep(0.2)


def test_decision_and_backtest_jobs_over_http_equal_the_cli(server: Any, tmp_path: Path) -> None:
    srv, tokens = server
    body = {
        "scenarios": _rows(EX / "decision_scenarios.csv"),
        "parameters": _rows(EX / "decision_parameters.csv"),
        "budget_eur": 5e6,
    }
    with srv.client(tokens["alice"]) as c:
        r = c.post("/optimize/stockpile", json=body)
        assert r.status_code == 202, r.text
        stock = r.json()["id"]
        r = c.post("/policy/backtest", json={"events": "CN-2023-23", "samples": 40})
        assert r.status_code == 202, r.text
        bt = r.json()["id"]
        assert _wait_family(srv, tokens["alice"], "optimize", stock)["status"] == "done"
        job = _wait_family(srv, tokens["alice"], "policy", bt)
        assert job["status"] == "done" and job["progress"]["done"] == 40
        got = c.get(f"/optimize/jobs/{stock}/result", params={"format": "csv"})
        api_alloc = pd.read_csv(io.StringIO(got.text))
        got = c.get(f"/policy/jobs/{bt}/result", params={"format": "parquet"})
        api_bt = pd.read_parquet(io.BytesIO(got.content))
    cli = pd.DataFrame(
        _cli_json(
            tmp_path,
            "stockpile",
            "optimize",
            "--scenarios",
            str(EX / "decision_scenarios.csv"),
            "--parameters",
            str(EX / "decision_parameters.csv"),
            "--budget",
            "5e6",
        )
    )
    assert api_alloc["material"].tolist() == cli["material"].tolist()
    for col in ("stock_t", "purchase_cost_eur", "expected_shortfall_t_after", "rank"):
        np.testing.assert_allclose(api_alloc[col], cli[col].astype(float), rtol=1e-9, atol=1e-9)
    cli_bt = pd.DataFrame(
        _cli_json(tmp_path, "policy", "backtest", "--events", "CN-2023-23", "--samples", "40")
    )
    assert len(api_bt) == len(cli_bt)
    for col in ("change", "z", "p_shortfall", "predicted_window_months"):
        np.testing.assert_allclose(
            api_bt[col].astype(float), cli_bt[col].astype(float), rtol=1e-9, equal_nan=True
        )
    assert api_bt["verdict"].tolist() == cli_bt["verdict"].tolist()


def test_cancel_and_disconnect_during_decision_jobs(server: Any) -> None:
    srv, tokens = server
    auth = f"Authorization: Bearer {tokens['bob']}\r\n".encode()
    body = json.dumps({"events": "CN-2024-33", "samples": 200}).encode()
    # a client that starts a back-test and hangs up at once
    _raw(
        srv,
        b"POST /policy/backtest HTTP/1.1\r\nHost: x\r\n"
        + auth
        + b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body,
    )
    with srv.client(tokens["bob"]) as c:
        # a long back-test, cancelled while it runs
        r = c.post("/policy/backtest", json={"samples": 5000})
        assert r.status_code == 202, r.text
        long_id = r.json()["id"]
        deadline = time.monotonic() + 240
        while c.get(f"/policy/jobs/{long_id}").json()["progress"]["done"] == 0:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert c.delete(f"/policy/jobs/{long_id}").status_code == 200
        job = _wait_family(srv, tokens["bob"], "policy", long_id)
        assert job["status"] == "cancelled" and job["progress"]["done"] < job["progress"]["total"]
        assert c.get(f"/policy/jobs/{long_id}/result").status_code == 409
        # the hung-up client's job ran to the end
        jobs = c.get("/policy/jobs").json()["jobs"]
        first = next(j for j in jobs if j["params"].get("events") == "CN-2024-33")
        assert _wait_family(srv, tokens["bob"], "policy", first["id"])["status"] == "done"
        r = c.get(f"/policy/jobs/{first['id']}/result")
        assert r.status_code == 200 and r.json()["records"]
        assert c.get("/health").status_code == 200
        # a viewer of another scope sees none of it
    with srv.client(tokens["viewer"]) as v:
        assert v.get(f"/policy/jobs/{first['id']}").status_code == 404
        assert v.post("/policy/backtest", json={}).status_code == 403
    assert srv.proc.poll() is None
