"""Schemathesis over the API's OpenAPI document: generated requests for every operation,
bounded examples, 0 server errors (every answer a 2xx or a 4xx in the error vocabulary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from critmat.api.app import create_app
from critmat.api.auth import TokenStore

DATA: Path | None = None


def _app(tmp: Path) -> Any:
    return create_app(tmp, rate_limit=0)


_ROOT = Path(__import__("tempfile").mkdtemp(prefix="critmat-schemathesis-"))
_TOKEN, _ = TokenStore(_ROOT).add("schemathesis-admin-7f3c", "admin")
_APP = _app(_ROOT)
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: Any) -> None:
    headers = {"Authorization": f"Bearer {_TOKEN}"}
    response = case.call(headers=headers)
    not_a_server_error  # noqa: B018  (the check schemathesis would run; asserted below)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}: "
        f"{response.text[:500]}"
    )
    if response.status_code >= 400:
        err = response.json()["error"]
        assert err["code"] and err["message"], response.text
