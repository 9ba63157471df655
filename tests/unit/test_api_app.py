"""The REST API in process (FastAPI TestClient): same numbers as Python, formats, pagination,
errors in the CLI's vocabulary, limits, private uploads, jobs."""

from __future__ import annotations

import io
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
from critmat.api.endpoints import ENDPOINTS, api_params
from critmat.columns import family
from critmat.knowledge_base import KnowledgeBase
from critmat.params import PARAMS
from tests.api_support import auth, make_tokens

BOM = "system,component,material,kg_per_unit,kind,source\n{system},radar,gallium,0.5,user,own\n"


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, str], Path]]:
    data_dir = tmp_path_factory.mktemp("api-app")
    tokens = make_tokens(data_dir)
    store = TokenStore(data_dir)
    for name, team in (("alice", None), ("bob", None), ("carol", "red"), ("dave", "red")):
        tokens[name] = store.add(name, "analyst", team=team)[0]
    app = create_app(data_dir, rate_limit=0)
    yield TestClient(app), tokens, data_dir
    app.state.jobs.shutdown()


def _get(api: Any, path: str, who: str = "viewer", **params: Any) -> Any:
    client, tokens, _ = api
    return client.get(path, params=params, headers=auth(tokens[who]))


def _wait(api: Any, job_id: str, who: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = _get(api, f"/scenarios/jobs/{job_id}", who).json()
        if job["status"] in ("done", "failed", "cancelled") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


# ----------------------------------------------------------------------------- numbers


def test_geopolrisk_equals_the_python_function(api: Any, kb: KnowledgeBase) -> None:
    sel = {"materials": "gallium,cobalt", "importers": "EU27,USA", "years": "2020-2022"}
    r = _get(api, "/indicators/geopolrisk", **sel)
    assert r.status_code == 200, r.text
    body = r.json()
    expected = kb.indicators.geopolrisk(**sel)
    got = pd.DataFrame(body["records"])
    assert len(got) == len(expected) == body["total"]
    np.testing.assert_allclose(
        got["score"].astype(float), expected["score"].astype(float), rtol=1e-12, equal_nan=True
    )
    assert got["status"].tolist() == [str(s) for s in expected["status"]]
    # units and provenance travel with the records
    assert body["result"] == "geopolrisk"
    assert body["columns"]["price"]["unit"] == "kUSD/t"
    assert body["columns"]["score"]["description"] == family("geopolrisk").find("score").description
    assert body["provenance"]["dataset_version"] == kb.version
    assert "baci_hs92_v202401b" in body["provenance"]["sources"]


def test_function_defaults_are_the_api_defaults(api: Any, kb: KnowledgeBase) -> None:
    # dependency defaults to importers=EU27 in Python and the CLI: also in the API
    r = _get(api, "/indicators/dependency", materials="cobalt", years="2022")
    assert {rec["importer"] for rec in r.json()["records"]} == {"EU27"}
    expected = kb.indicators.dependency(materials="cobalt", years="2022")
    assert r.json()["total"] == len(expected)


def test_query_models_come_from_the_parameter_definitions(api: Any, kb: KnowledgeBase) -> None:
    client = api[0]
    spec = client.get("/openapi.json").json()
    for ep in ENDPOINTS:
        op = spec["paths"][ep.path]["get"]
        declared = {p["name"]: p for p in op["parameters"]}
        defs = [d for d in api_params(ep.call(kb)) if d.name not in ep.exclude]
        assert {d.name for d in defs} | {"format", "page", "page_size"} == set(declared), ep.path
        for d in defs:
            assert declared[d.name]["description"] == d.description, (ep.path, d.name)
            # the registry's help (choices may add the function's own default, e.g. by_producer)
            assert declared[d.name]["description"].startswith(PARAMS[d.name].help)
            if d.default is not None:
                assert declared[d.name]["schema"].get("default") == d.default, (ep.path, d.name)


def test_openapi_describes_the_result_columns(api: Any) -> None:
    spec = api[0].get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    content = spec["paths"]["/indicators/geopolrisk"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/csv", "application/vnd.apache.parquet"} <= set(content)
    row = content["application/json"]["schema"]["properties"]["records"]["items"]
    fam = family("geopolrisk")
    for col in fam.columns:
        assert row["properties"][col.name]["description"].startswith(col.description[:40])
    exposure = spec["paths"]["/defence/exposure"]["get"]["responses"]["200"]["content"]
    props = exposure["application/json"]["schema"]["properties"]["records"]["items"]["properties"]
    assert props, "defence exposure rows are described"


# ----------------------------------------------------------------------------- formats, pages


def test_csv_parquet_and_accept_header(api: Any) -> None:
    client, tokens, _ = api
    sel = {"materials": "gallium", "years": "2018-2022"}
    js = _get(api, "/indicators/concentration", **sel).json()
    csv = client.get(
        "/indicators/concentration",
        params=sel,
        headers={**auth(tokens["viewer"]), "Accept": "text/csv"},
    )
    assert csv.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(csv.text))
    assert len(frame) == js["total"] and list(frame.columns) == list(js["records"][0])
    pq = _get(api, "/indicators/concentration", format="parquet", **sel)
    assert pq.headers["content-type"] == "application/vnd.apache.parquet"
    frame = pd.read_parquet(io.BytesIO(pq.content))
    np.testing.assert_allclose(frame["hhi"], [r["hhi"] for r in js["records"]])


def test_pagination_of_a_large_table(api: Any, kb: KnowledgeBase) -> None:
    first = _get(api, "/data/tables/trade", materials="cobalt", years="2022", page_size=50)
    body = first.json()
    total = len(kb.trade(materials="cobalt", years="2022"))
    assert body["total"] == total > 100
    assert body["pages"] == -(-total // 50) and len(body["records"]) == 50
    assert "page=2" in body["next"] and first.headers["x-total-count"] == str(total)
    last = _get(
        api,
        "/data/tables/trade",
        materials="cobalt",
        years="2022",
        page_size=50,
        page=body["pages"],
    ).json()
    assert last["next"] is None and len(last["records"]) == total - 50 * (body["pages"] - 1)
    past = _get(api, "/data/tables/trade", materials="cobalt", page_size=50, page=10_000)
    assert past.status_code == 400 and "past the last page" in past.json()["error"]["message"]


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("path", "params", "status", "where", "valid"),
    [
        ("/indicators/geopolrisk", {"materials": "galium"}, 400, "materials", "gallium"),
        ("/indicators/geopolrisk", {"price_basis": "al_value"}, 400, "price_basis", "all_value"),
        ("/indicators/geopolrisk", {"years": "2022-2018"}, 400, "years", None),
        ("/indicators/geopolrisk", {"page_size": 0}, 422, "page_size", None),
        ("/indicators/geopolrisk", {"materialz": "gallium"}, 422, "materialz", "materials"),
        ("/indicators/geopolrisk", {"format": "xlsx"}, 400, "format", "parquet"),
        ("/data/tables/trades", {}, 400, None, "trade"),
    ],
)
def test_errors_say_what_where_and_what_is_valid(
    api: Any, path: str, params: dict[str, Any], status: int, where: str | None, valid: Any
) -> None:
    r = _get(api, path, **params)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] and err["message"] and "Traceback" not in r.text
    if where:
        assert where in (err["where"] or "") or where in err["message"]
    if valid:
        assert valid in str(err["valid"]) or valid in err["message"]


def test_unknown_path_and_bad_body_are_4xx_json(api: Any) -> None:
    client, tokens, _ = api
    r = _get(api, "/indicators/geopolrisks")
    assert r.status_code == 404 and "/indicators/geopolrisk" in r.json()["error"]["valid"]
    r = client.post(
        "/scenarios/jobs",
        content=b"{not json",
        headers={**auth(tokens["analyst"]), "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_parameter"


# ----------------------------------------------------------------------------- limits


def test_request_size_limit(tmp_path: Path) -> None:
    tokens = make_tokens(tmp_path)
    client = TestClient(create_app(tmp_path, rate_limit=0, max_upload_mb=0.01))
    r = client.post(
        "/data/imports",
        files={"file": ("bom.csv", b"x" * 20_000, "text/csv")},
        data={"table": "bom"},
        headers=auth(tokens["analyst"]),
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"


def test_rate_limit_per_token(tmp_path: Path) -> None:
    tokens = make_tokens(tmp_path)
    client = TestClient(create_app(tmp_path, rate_limit=2))
    codes = [client.get("/me", headers=auth(tokens["viewer"])).status_code for _ in range(8)]
    assert codes[:4] == [200] * 4 and 429 in codes
    limited = client.get("/me", headers=auth(tokens["viewer"]))
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    # another token has its own bucket
    assert client.get("/me", headers=auth(tokens["admin"])).status_code == 200


def test_revocation_takes_effect_on_the_next_request(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    token, _ = store.add("eve", "viewer")
    client = TestClient(create_app(tmp_path, rate_limit=0))
    assert client.get("/me", headers=auth(token)).status_code == 200
    store.revoke("eve")
    assert client.get("/me", headers=auth(token)).status_code == 401


# ----------------------------------------------------------------------------- privacy


def _upload(api: Any, who: str, system: str, table: str = "bom") -> Any:
    client, tokens, _ = api
    return client.post(
        "/data/imports",
        files={"file": (f"{who} bom.csv", BOM.format(system=system).encode(), "text/csv")},
        data={"table": table},
        headers=auth(tokens[who]),
    )


def _systems(api: Any, who: str) -> set[str]:
    r = _get(api, "/defence/bom", who, which="user")
    assert r.status_code == 200, r.text
    return {rec["system"] for rec in r.json()["records"]}


def test_uploads_are_private_to_their_owner_or_team(api: Any) -> None:
    assert _upload(api, "alice", "AliceSecretSystem").status_code == 201
    assert _upload(api, "carol", "RedTeamSystem").status_code == 201
    assert _systems(api, "alice") == {"AliceSecretSystem"}
    assert _systems(api, "bob") == set()
    assert _systems(api, "viewer") == set()
    assert _systems(api, "dave") == {"RedTeamSystem"}  # carol's team mate
    # the import log and demand computed from the BOM are private too
    assert _get(api, "/data/imports", "bob").json()["imports"] == []
    assert [i["table"] for i in _get(api, "/data/imports", "alice").json()["imports"]] == ["bom"]
    for who in ("bob", "dave", "admin"):
        text = _get(api, "/defence/bom", who, which="both").text
        assert "AliceSecretSystem" not in text, who
        text = _get(api, "/data/sources", who).text
        assert "alice bom.csv" not in text, who
    assert "alice bom.csv" in _get(api, "/data/sources", "alice").text
    # bob cannot remove alice's table: he has none
    client, tokens, _ = api
    r = client.delete("/data/tables/bom", headers=auth(tokens["bob"]))
    assert r.status_code == 404


def test_bad_upload_lists_every_problem_and_writes_nothing(api: Any) -> None:
    client, tokens, _data_dir = api
    bad = "system,component,material,kg_per_unit,kind,source\nS,c,galium,-1,user,x\n"
    r = client.post(
        "/data/imports",
        files={"file": ("bad.csv", bad.encode(), "text/csv")},
        data={"table": "bom"},
        headers=auth(tokens["bob"]),
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "data_validation"
    assert {p["column"] for p in err["problems"]} >= {"material", "kg_per_unit"}
    assert _get(api, "/data/imports", "bob").json()["imports"] == []
    r = client.post(
        "/data/imports",
        files={"file": ("bom.exe", b"MZ", "application/octet-stream")},
        data={"table": "bom"},
        headers=auth(tokens["bob"]),
    )
    assert r.status_code == 400 and ".csv" in r.json()["error"]["valid"]


# ----------------------------------------------------------------------------- jobs


def test_scenario_job_runs_saves_and_stays_private(api: Any) -> None:
    client, tokens, data_dir = api
    r = client.post(
        "/scenarios/jobs",
        json={"preset": "china-ga-ge-2023", "samples": 300, "seed": 7},
        headers=auth(tokens["alice"]),
    )
    assert r.status_code == 202, r.text
    job = _wait(api, r.json()["id"], "alice")
    assert job["status"] == "done" and job["progress"]["done"] == 300, job
    summary = _get(api, f"/scenarios/jobs/{job['id']}/result", "alice").json()
    assert {rec["material"] for rec in summary["records"]} == {"gallium", "germanium"}
    # the run is in the CLI's run store of the served directory
    from critmat.scenarios.store import RunStore

    stored = RunStore(data_dir / "scenarios").load(job["run_id"])
    assert stored.samples == 300
    assert [x["run_id"] for x in _get(api, "/scenarios/runs", "alice").json()["runs"]] == [
        job["run_id"]
    ]
    # another scope sees neither the job nor the run
    assert _get(api, f"/scenarios/jobs/{job['id']}", "bob").status_code == 404
    assert _get(api, f"/scenarios/jobs/{job['id']}/result", "bob").status_code == 404
    assert _get(api, "/scenarios/runs", "bob").json()["runs"] == []
    assert _get(api, f"/scenarios/runs/{job['run_id']}", "bob").status_code == 404
    run = _get(api, f"/scenarios/runs/{job['run_id']}", "alice", table="monthly", page_size=5)
    assert run.status_code == 200 and len(run.json()["records"]) == 5


def test_bad_scenario_is_refused_before_queueing(api: Any) -> None:
    client, tokens, _ = api
    spec = {"name": "x", "shocks": [{"exporter": "CHN", "material": "galium", "duration": 12}]}
    r = client.post("/scenarios/jobs", json={"spec": spec}, headers=auth(tokens["analyst"]))
    assert r.status_code == 422
    problems = r.json()["error"]["problems"]
    assert any(
        p["column"] == "shocks[0].material" and "gallium" in p["suggestions"] for p in problems
    )
    r = client.post("/scenarios/jobs", json={}, headers=auth(tokens["analyst"]))
    assert r.status_code == 400 and r.json()["error"]["valid"] == ["preset", "spec"]
    r = client.post(
        "/scenarios/jobs",
        json={"preset": "china-ga-ge-2023", "samples": 10**7},
        headers=auth(tokens["analyst"]),
    )
    assert r.status_code == 422


def test_cancel_a_running_job(api: Any) -> None:
    client, tokens, _ = api
    r = client.post(
        "/scenarios/jobs",
        json={"preset": "china-rare-earths-oct-2025", "samples": 200_000, "save": False},
        headers=auth(tokens["analyst"]),
    )
    job_id = r.json()["id"]
    deadline = time.monotonic() + 60
    while _get(api, f"/scenarios/jobs/{job_id}", "analyst").json()["status"] == "queued":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # a viewer may watch but not cancel
    assert (
        client.delete(f"/scenarios/jobs/{job_id}", headers=auth(tokens["viewer"])).status_code
        == 403
    )
    r = client.delete(f"/scenarios/jobs/{job_id}", headers=auth(tokens["analyst"]))
    assert r.status_code == 200
    job = _wait(api, job_id, "analyst")
    assert job["status"] == "cancelled", job
    assert job["progress"]["done"] < 200_000
    res = _get(api, f"/scenarios/jobs/{job_id}/result", "analyst")
    assert res.status_code == 409 and res.json()["error"]["code"] == "job_not_done"
    # the worker is free for the next job
    nxt = client.post(
        "/scenarios/jobs",
        json={"preset": "china-ga-ge-2023", "samples": 50, "save": False},
        headers=auth(tokens["analyst"]),
    ).json()
    assert _wait(api, nxt["id"], "analyst")["status"] == "done"


def test_stockpile_optimisation_job(api: Any) -> None:
    client, tokens, _ = api
    spec = {
        "name": "gallium cut",
        "horizon_months": 24,
        "settings": {"gallium": {"annual_demand_t": 60}},
        "shocks": [
            {
                "exporter": "CHN",
                "material": "gallium",
                "duration": {"dist": "uniform", "low": 3, "high": 18},
            }
        ],
    }
    body = {
        "spec": spec,
        "samples": 200,
        "parameters": [
            {"material": "gallium", "price_eur_t": 300_000, "shortage_cost_eur_t": 3_000_000}
        ],
        "objective": "cvar",
        "alpha": 0.9,
        "budget_eur": 2e6,
    }
    r = client.post("/optimize/stockpile", json=body, headers=auth(tokens["analyst"]))
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    deadline = time.monotonic() + 120
    while (job := _get(api, f"/optimize/jobs/{job_id}", "analyst").json())["finished"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job["status"] == "done", job
    result = _get(api, f"/optimize/jobs/{job_id}/result", "analyst").json()
    (alloc,) = result["records"]
    assert alloc["material"] == "gallium" and alloc["stock_t"] > 0
    # the budget binds: the whole 2 MEUR buys gallium at 300 kEUR/t
    assert alloc["purchase_cost_eur"] == pytest.approx(2e6, rel=1e-6)
    assert result["provenance"]["parameters"]["status"] == "optimal"
    assert result["status"] == "optimal" and result["tables"][:2] == ["allocation", "shadow_prices"]
    prices = _get(api, f"/optimize/jobs/{job_id}/result", "analyst", table="shadow_prices")
    assert prices.status_code == 200 and prices.json()["records"]
    assert _get(api, f"/scenarios/jobs/{job_id}/result", "analyst").status_code == 404
    # a bad parameter table fails the job with the library's own 422 (row, column, value)
    bad = {**body, "parameters": [{"material": "gallium", "price_eur_t": -1}]}
    r = client.post("/optimize/stockpile", json=bad, headers=auth(tokens["analyst"]))
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    deadline = time.monotonic() + 120
    while (job := _get(api, f"/optimize/jobs/{job_id}", "analyst").json())["finished"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job["status"] == "failed" and job["error"]["code"] == "data_validation", job
    r = _get(api, f"/optimize/jobs/{job_id}/result", "analyst")
    assert r.status_code == 422 and "price_eur_t" in r.text


def test_decision_inputs_and_crma_tracker(api: Any, kb: KnowledgeBase) -> None:
    tracker = _get(api, "/optimize/crma-projects", page_size=500).json()
    assert tracker["total"] == len(kb.optimize.crma_projects()) > 0
    base = _get(api, "/optimize/baseline", materials="tungsten", stage="extraction").json()
    expected = kb.optimize.baseline(materials="tungsten", stage="extraction")
    assert base["result"] == "optimize.baseline"
    assert [r["demand_status"] for r in base["records"]] == [
        str(s) for s in expected["demand_status"]
    ]
