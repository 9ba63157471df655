"""Decisions (kb.optimize) and the policy back-test through the REST API, in process.

The job results equal the Python accessor's for the same inputs; the body models are the
CLI's parameter definitions; bad input is a 4xx (before queueing where it can be checked,
else the failed job's own error); cancel works; viewers read their scope's results only.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from critmat.api.app import create_app
from critmat.api.auth import TokenStore
from critmat.api.decisions import JOB_ROUTES, body_params
from critmat.knowledge_base import KnowledgeBase
from critmat.params import PARAMS
from tests.api_support import auth, make_tokens

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples"


def _rows(path: Path) -> list[dict[str, Any]]:
    frame = pd.read_csv(path)
    return [{k: v for k, v in r.items() if pd.notna(v)} for r in frame.to_dict(orient="records")]


SC = _rows(EX / "decision_scenarios.csv")
PAR = _rows(EX / "decision_parameters.csv")
CAND = _rows(EX / "sourcing_candidates.csv")
PROJ = _rows(EX / "reshoring_projects.csv")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("api-decisions")
    tokens = make_tokens(data_dir, team="blue")  # viewer, analyst, admin share a scope
    store = TokenStore(data_dir)
    tokens["other"] = store.add("olga", "analyst")[0]
    tokens["other_viewer"] = store.add("otto", "viewer")[0]
    app = create_app(data_dir, rate_limit=0)
    yield TestClient(app), tokens
    app.state.jobs.shutdown()


def _post(api: Any, path: str, body: dict[str, Any], who: str = "analyst") -> Any:
    client, tokens = api
    return client.post(path, json=body, headers=auth(tokens[who]))


def _get(api: Any, path: str, who: str = "analyst", **params: Any) -> Any:
    client, tokens = api
    return client.get(path, params=params, headers=auth(tokens[who]))


def _wait(api: Any, family: str, job_id: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = _get(api, f"/{family}/jobs/{job_id}").json()
        if job["finished"] is not None:
            return dict(job)
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def _run(api: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = _post(api, path, body)
    assert r.status_code == 202, r.text
    family = path.split("/")[1]
    job = _wait(api, family, r.json()["id"])
    assert job["status"] == "done", job
    return job


def _table(api: Any, family: str, job_id: str, table: str | None = None) -> pd.DataFrame:
    params = {"format": "parquet", "page_size": 10000}
    if table is not None:
        params["table"] = table
    r = _get(api, f"/{family}/jobs/{job_id}/result", **params)
    assert r.status_code == 200, r.text
    return pd.read_parquet(io.BytesIO(r.content))


def _same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == [str(c) for c in expected.columns]
    assert len(got) == len(expected)
    for col in expected.columns:
        a, b = got[str(col)], expected[col]
        if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
            np.testing.assert_allclose(
                a.astype(float), b.astype(float), rtol=1e-9, atol=1e-9, equal_nan=True
            )
        else:
            assert [None if pd.isna(x) else str(x) for x in a] == [
                None if pd.isna(x) else str(x) for x in b
            ], col


# ----------------------------------------------------------------------------- same numbers


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return {
        "scenarios": pd.DataFrame(SC),
        "parameters": pd.DataFrame(PAR),
        "candidates": pd.DataFrame(CAND),
        "projects": pd.DataFrame(PROJ),
    }


def test_stockpile_job_equals_python(api: Any, kb: KnowledgeBase, frames: Any) -> None:
    body = {"scenarios": SC, "parameters": PAR, "budget_eur": 5e6, "objective": "cvar"}
    job = _run(api, "/optimize/stockpile", body)
    expected = kb.optimize.stockpile(
        scenarios=frames["scenarios"],
        parameters=frames["parameters"],
        budget_eur=5e6,
        objective="cvar",
    )
    _same(_table(api, "optimize", job["id"]), expected.allocation)
    _same(_table(api, "optimize", job["id"], "shadow_prices"), expected.shadow_prices)
    # JSON: units, provenance, the result's status, totals and notes
    body = _get(api, f"/optimize/jobs/{job['id']}/result").json()
    assert body["table"] == "allocation" and body["status"] == str(expected.status.value)
    assert body["totals"]["purchase_cost_eur"] == pytest.approx(
        expected.totals["purchase_cost_eur"]
    )
    assert body["provenance"]["dataset_version"] == kb.version
    assert body["provenance"]["method"] == expected.allocation.attrs["critmat"]["method"]
    assert job["notes"] == [str(n) for n in expected.notes]
    assert job["params"]["scenarios"] == f"{len(SC)} rows (inline)"
    csv = _get(api, f"/optimize/jobs/{job['id']}/result", format="csv", table="parameters")
    assert csv.headers["content-type"].startswith("text/csv")
    assert set(pd.read_csv(io.StringIO(csv.text))["material"]) == {
        "gallium",
        "germanium",
        "tungsten",
    }


@pytest.mark.parametrize(
    ("path", "body", "call", "tables"),
    [
        (
            "/optimize/frontier",
            {"points": 4, "objective": "expected"},
            lambda kb, f: kb.optimize.frontier(
                scenarios=f["scenarios"], parameters=f["parameters"], points=4
            ),
            {"points": "points", "entry": "entry"},
        ),
        (
            "/optimize/compare",
            {"budget_eur": 4e6, "eu_reserve_months": "2,4"},
            lambda kb, f: kb.optimize.compare(
                scenarios=f["scenarios"],
                parameters=f["parameters"],
                budget_eur=4e6,
                eu_reserve_months=[2.0, 4.0],
            ),
            {"summary": "summary", "by_material": "by_material"},
        ),
        (
            "/optimize/reshoring",
            {"projects": PROJ, "exclude_environmental": True},
            lambda kb, f: kb.optimize.reshoring(
                scenarios=f["scenarios"],
                parameters=f["parameters"],
                projects=f["projects"],
                exclude_environmental=True,
            ),
            {"projects": None},
        ),
        (
            "/optimize/levers",
            {"alpha": 0.9},
            lambda kb, f: kb.optimize.levers(
                scenarios=f["scenarios"], parameters=f["parameters"], alpha=0.9
            ),
            {"levers": None},
        ),
    ],
)
def test_decision_jobs_equal_python(
    api: Any,
    kb: KnowledgeBase,
    frames: Any,
    path: str,
    body: dict[str, Any],
    call: Any,
    tables: dict[str, str | None],
) -> None:
    job = _run(api, path, {"scenarios": SC, "parameters": PAR, **body})
    expected = call(kb, frames)
    for table, attr in tables.items():
        want = getattr(expected, attr) if attr else expected
        _same(_table(api, "optimize", job["id"], table), want)


def test_sourcing_job_and_whatif_equal_python(api: Any, kb: KnowledgeBase, frames: Any) -> None:
    body = {"material": "Tungsten", "candidates": CAND, "demand_t": 4000, "max_group": ["CHN=0.4"]}
    job = _run(api, "/optimize/sourcing", body)
    expected = kb.optimize.sourcing(
        material="Tungsten", candidates=frames["candidates"], demand_t=4000, max_group=["CHN=0.4"]
    )
    got = _table(api, "optimize", job["id"])
    _same(got, expected.allocation)
    assert got.loc[got["country"] == "CHN", "share"].sum() <= 0.4 + 1e-9
    info = _get(api, f"/optimize/jobs/{job['id']}/result").json()
    assert info["totals"]["china_share_after"] == pytest.approx(
        expected.totals["china_share_after"]
    )
    # what-if is a fast read: a viewer may call it
    r = _get(
        api, "/optimize/sourcing/whatif", "viewer", material="tungsten", mix=["CHN=0.5", "VNM=0.5"]
    )
    assert r.status_code == 200, r.text
    want = kb.optimize.sourcing_whatif(material="tungsten", mix={"CHN": 0.5, "VNM": 0.5})
    _same(pd.DataFrame(r.json()["records"]), want)
    assert r.json()["provenance"]["method"] == "sourcing_whatif"


def test_backtest_job_reports_progress_and_equals_python(api: Any, kb: KnowledgeBase) -> None:
    body = {"events": "CN-2023-23,CN-2024-33", "samples": 40}
    job = _run(api, "/policy/backtest", body)
    expected = kb.policy.backtest(events="CN-2023-23,CN-2024-33", samples=40)
    presets = expected["preset"].dropna().nunique()
    assert presets >= 1
    assert job["progress"]["done"] == job["progress"]["total"] == 40 * presets
    _same(_table(api, "policy", job["id"]), expected)
    body = _get(api, f"/policy/jobs/{job['id']}/result", page_size=3).json()
    assert body["result"] == "policy.backtest" and len(body["records"]) == 3
    assert body["columns"]["z"]["description"]
    # the policy record's toolkit comparison is a fast read
    r = _get(api, "/policy/compare", "viewer", actors="EU,China")
    comp = kb.policy.compare(actors="EU,China")
    assert r.status_code == 200, r.text
    assert r.json()["total"] == len(comp.table)
    assert {(t["actor_a"], t["actor_b"]) for t in r.json()["texts"]} == set(comp.texts)


def test_stockpile_from_a_stored_run_of_the_scope(api: Any, kb: KnowledgeBase) -> None:
    r = _post(api, "/scenarios/jobs", {"preset": "china-antimony-2024", "samples": 40})
    run = _wait(api, "scenarios", r.json()["id"])
    assert run["status"] == "done" and run["run_id"]
    par = [{"material": "antimony", "annual_demand_t": 30000, "priority_weight": 4}]
    for ref in (run["run_id"], run["run_id"][:8], "latest"):
        job = _run(api, "/optimize/stockpile", {"run": ref, "parameters": par, "samples": 60})
        alloc = _table(api, "optimize", job["id"])
        assert alloc["material"].tolist() == ["antimony"] and alloc["stock_t"].iloc[0] > 0
    expected = kb.optimize.stockpile(
        preset="china-antimony-2024", parameters=pd.DataFrame(par), samples=60
    )
    np.testing.assert_allclose(alloc["stock_t"], expected.allocation["stock_t"], rtol=1e-9)
    # another scope's analyst cannot use the run
    r = _post(api, "/optimize/stockpile", {"run": run["run_id"], "parameters": par}, "other")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_name"


# ----------------------------------------------------------------------------- the models


def test_body_models_are_the_cli_parameter_definitions(api: Any, kb: KnowledgeBase) -> None:
    spec = api[0].get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for route in JOB_ROUTES:
        op = spec["paths"][route.path]["post"]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        fields = schemas[ref.rsplit("/", 1)[1]]["properties"]
        defs = body_params(route.call(kb), route.names, route.overrides)
        assert set(fields) == {d.name for d in defs}, route.path
        assert not {"dask", "workers", "progress"} & set(fields)
        for d in defs:
            source = PARAMS[route.names.get(d.name, d.name)]
            assert fields[d.name]["description"].startswith(source.help), (route.path, d.name)
            if d.default is not None:
                assert fields[d.name].get("default") == d.default, (route.path, d.name)
    stock = schemas["OptimizeStockpileJob"]["properties"]
    assert stock["samples"]["description"].startswith(PARAMS["decision_samples"].help)
    horizon = json.dumps(stock["horizon_months"])
    assert f'"maximum": {PARAMS["decision_horizon_months"].maximum}' in horizon
    assert stock["objective"]["default"] == "expected" and stock["alpha"]["default"] == 0.95
    assert "list of JSON objects" in stock["parameters"]["description"]
    bt = schemas["PolicyBacktestJob"]["properties"]
    assert bt["presets"]["default"] is True and bt["samples"]["default"] == 500


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("path", "body", "status", "where", "text"),
    [
        ("/optimize/stockpile", {}, 400, "request body", "exactly one scenario input"),
        (
            "/optimize/stockpile",
            {"preset": "china-ga-ge-2023", "scenarios": SC},
            400,
            "request body",
            "got scenarios, preset",
        ),
        ("/optimize/stockpile", {"preset": "chna-ga-ge-2023"}, 400, "preset", "china-ga-ge-2023"),
        (
            "/optimize/stockpile",
            {"scenarios": SC, "budget_eur": -5},
            422,
            "budget_eur",
            "greater than or equal to 0",
        ),
        ("/optimize/stockpile", {"scenarios": []}, 400, "scenarios", "no rows"),
        (
            "/optimize/frontier",
            {"scenarios": SC, "points": 1},
            422,
            "points",
            "greater than or equal to 2",
        ),
        ("/optimize/stockpile", {"scenarios": SC, "objective": "cvr"}, 400, "objective", "cvar"),
        (
            "/optimize/stockpile",
            {"spec": {"name": "x", "shocks": [{"exporter": "CHN", "material": "galium"}]}},
            422,
            None,
            "gallium",
        ),
        ("/optimize/stockpile", {"run": "nope", "parameters": PAR}, 404, "run", "run"),
        ("/optimize/sourcing", {}, 400, "material", "material"),
        ("/optimize/sourcing", {"material": "galium"}, 400, "material", "gallium"),
        ("/optimize/compare", {"scenarios": SC, "eu_reserve_months": "3,x"}, 400, None, "3,6"),
        ("/policy/backtest", {"events": "CN-2023-2"}, 400, "events", "CN-2023-23"),
        ("/policy/backtest", {"samples": 10**6}, 422, "samples", "less than or equal to 5000"),
        ("/policy/backtest", {"sample": 10}, 422, "sample", "unknown"),
    ],
)
def test_bad_input_is_a_clear_4xx_before_queueing(
    api: Any, path: str, body: dict[str, Any], status: int, where: str | None, text: str
) -> None:
    before = len(_get(api, f"/{path.split('/')[1]}/jobs").json()["jobs"])
    r = _post(api, path, body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] and "Traceback" not in r.text
    if where:
        assert where in (err["where"] or ""), err
    assert text in r.text, err
    assert len(_get(api, f"/{path.split('/')[1]}/jobs").json()["jobs"]) == before


def test_an_impossible_decision_fails_its_job_with_a_4xx(api: Any) -> None:
    # 50 months of cover exceed germanium's purchase cap: the LP is infeasible
    r = _post(
        api, "/optimize/stockpile", {"scenarios": SC, "parameters": PAR, "min_cover_months": 50}
    )
    assert r.status_code == 202
    job = _wait(api, "optimize", r.json()["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "infeasible", job
    res = _get(api, f"/optimize/jobs/{job['id']}/result")
    assert res.status_code == 422
    assert "germanium" in res.json()["error"]["message"] and res.json()["error"]["where"]
    # a material without tonnage says what to give
    r = _post(api, "/optimize/sourcing", {"material": "gallium"})
    job = _wait(api, "optimize", r.json()["id"])
    res = _get(api, f"/optimize/jobs/{job['id']}/result")
    assert res.status_code == 400 and "demand" in res.json()["error"]["message"]


def test_result_tables_and_kinds_are_checked(api: Any) -> None:
    job = _run(api, "/optimize/levers", {"scenarios": SC, "parameters": PAR})
    r = _get(api, f"/optimize/jobs/{job['id']}/result", table="points")
    assert r.status_code == 400 and r.json()["error"]["valid"] == ["levers"]
    r = _get(api, f"/optimize/jobs/{job['id']}/result", table="pointz")
    assert r.status_code == 400 and "points" in str(r.json()["error"]["valid"])
    assert r.json()["error"]["where"] == "query parameter 'table'"
    assert "table=" in r.json()["error"]["message"]
    assert _get(api, f"/policy/jobs/{job['id']}").status_code == 404
    assert _get(api, f"/scenarios/jobs/{job['id']}/result").status_code == 404
    assert _get(api, "/optimize/jobs/0000/result").status_code == 404


# ----------------------------------------------------------------------------- roles, cancel


def test_viewers_read_their_scope_results_only(api: Any) -> None:
    job = _run(api, "/optimize/reshoring", {"scenarios": SC, "parameters": PAR})
    assert _post(api, "/optimize/reshoring", {"scenarios": SC}, "viewer").status_code == 403
    # the team's viewer reads the analyst's job and result, and cannot cancel
    assert _get(api, f"/optimize/jobs/{job['id']}", "viewer").json()["status"] == "done"
    assert _get(api, f"/optimize/jobs/{job['id']}/result", "viewer").status_code == 200
    assert job["id"] in {j["id"] for j in _get(api, "/optimize/jobs", "viewer").json()["jobs"]}
    client, tokens = api
    r = client.delete(f"/optimize/jobs/{job['id']}", headers=auth(tokens["viewer"]))
    assert r.status_code == 403
    # another scope sees nothing
    for who in ("other", "other_viewer"):
        assert _get(api, f"/optimize/jobs/{job['id']}", who).status_code == 404
        assert _get(api, f"/optimize/jobs/{job['id']}/result", who).status_code == 404
        assert job["id"] not in {j["id"] for j in _get(api, "/optimize/jobs", who).json()["jobs"]}
        r = client.delete(f"/optimize/jobs/{job['id']}", headers=auth(tokens[who]))
        assert r.status_code in (403, 404)


def test_cancel_a_running_backtest_and_a_queued_decision(api: Any) -> None:
    client, tokens = api
    r = _post(api, "/policy/backtest", {"samples": 5000})
    bt = r.json()["id"]
    queued = _post(api, "/optimize/levers", {"scenarios": SC, "parameters": PAR}).json()["id"]
    deadline = time.monotonic() + 120
    while _get(api, f"/policy/jobs/{bt}").json()["progress"]["done"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # the queued decision is cancelled at once and never runs
    r = client.delete(f"/optimize/jobs/{queued}", headers=auth(tokens["analyst"]))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = client.delete(f"/policy/jobs/{bt}", headers=auth(tokens["analyst"]))
    assert r.status_code == 200
    job = _wait(api, "policy", bt)
    assert job["status"] == "cancelled", job
    assert 0 < job["progress"]["done"] < job["progress"]["total"]
    res = _get(api, f"/policy/jobs/{bt}/result")
    assert res.status_code == 409 and res.json()["error"]["code"] == "job_not_done"
    assert _get(api, f"/optimize/jobs/{queued}").json()["started"] is None
    # the worker is free for the next job
    _run(api, "/policy/backtest", {"events": "CN-2023-23", "presets": False})


def test_a_scope_cannot_fill_the_queue(tmp_path: Path) -> None:
    tokens = make_tokens(tmp_path)
    app = create_app(tmp_path, rate_limit=0)
    app.state.jobs.max_open = 1
    client = TestClient(app)
    h = auth(tokens["analyst"])
    first = client.post("/policy/backtest", json={"samples": 5000}, headers=h)
    assert first.status_code == 202
    r = client.post("/policy/backtest", json={"presets": False}, headers=h)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert "cancel one" in r.json()["error"]["message"] and r.headers["retry-after"]
    # another scope has its own share
    other = client.post("/policy/backtest", json={"presets": False}, headers=auth(tokens["admin"]))
    assert other.status_code == 202
    client.delete(f"/policy/jobs/{first.json()['id']}", headers=h)
    app.state.jobs.shutdown()


def test_jobs_survive_a_restart_of_the_application(tmp_path: Path) -> None:
    """Each `with TestClient(app)` runs the lifespan: shutdown cancels, a new start takes jobs."""
    tokens = make_tokens(tmp_path)
    app = create_app(tmp_path, rate_limit=0)
    h = auth(tokens["analyst"])
    with TestClient(app) as client:
        long = client.post("/policy/backtest", json={"samples": 5000}, headers=h).json()["id"]
        queued = client.post("/policy/backtest", json={"presets": False}, headers=h).json()["id"]
    with TestClient(app) as client:
        jobs = {j["id"]: j for j in client.get("/policy/jobs", headers=h).json()["jobs"]}
        assert jobs[queued]["status"] == "cancelled" and jobs[long]["finished"]
        r = client.post(
            "/policy/backtest", json={"presets": False, "events": "CN-2023-23"}, headers=h
        )
        assert r.status_code == 202
        deadline = time.monotonic() + 120
        while (job := client.get(f"/policy/jobs/{r.json()['id']}", headers=h).json())[
            "finished"
        ] is None:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert job["status"] == "done"
