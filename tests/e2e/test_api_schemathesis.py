"""Schemathesis over the API's OpenAPI document: generated requests for every operation,
bounded examples, 0 server errors (every answer a 2xx or a 4xx in the error vocabulary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from critmat.api.app import create_app
from critmat.api.auth import TokenStore

_ROOT = Path(__import__("tempfile").mkdtemp(prefix="critmat-schemathesis-"))
_TOKEN, _ = TokenStore(_ROOT).add("schemathesis-admin-7f3c", "admin")
_APP = create_app(_ROOT, rate_limit=0)
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)
_QUERY = {
    (method.upper(), path): {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
    for path, item in _APP.openapi()["paths"].items()
    for method, op in item.items()
}


@pytest.fixture(scope="session", autouse=True)
def _stop_jobs() -> Any:
    """Cancel the jobs the generated requests queued (a back-test with defaults is valid).

    Session scope: the operations schemathesis generates are not one module's items, and the
    jobs must stop only once no request follows.
    """
    yield
    _APP.state.jobs.shutdown()


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: Any) -> None:
    headers = {"Authorization": f"Bearer {_TOKEN}"}
    # bounded work: a request without a material selection would compute every material
    # (seconds per generated example); fuzz everything else on two materials
    query = case.query if isinstance(case.query, dict) else None
    unbounded = query is not None and (
        not str(query.get("materials") or "").strip(" ,") or query.get("materials") == "all"
    )
    if unbounded and "materials" in _QUERY.get((case.method, case.path), ()):
        query["materials"] = "gallium,cobalt"  # type: ignore[index]
    response = case.call(headers=headers)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}: "
        f"{response.text[:500]}"
    )
    if response.status_code >= 400:
        err = response.json()["error"]
        assert err["code"] and err["message"], response.text
