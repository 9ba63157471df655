"""Every defence function answers (empty or with statuses) when the demand has no rows.

``which="user"`` without imported ``bom``/``build_rates`` tables is an empty demand; found by
the schemathesis run over the REST API (pandas 3 refused empty string-typed assignments into
float columns, a merge on an empty float key, numpy's argmin over no material).
"""

from __future__ import annotations

from typing import Any

import pytest

from critmat.defence.bom import DemandSource
from critmat.knowledge_base import KnowledgeBase

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("importance", {"basis": "bom"}),
    ("energy", {}),
    ("shortfall", {"shortfall": 0.0}),
    ("criticality", {"basis": "bom"}),
    ("compare_lists", {"basis": "bom"}),
    ("exposure", {}),
    ("exposure", {"by": "programme", "detail": True}),
    ("capability_at_risk", {}),
    ("capability_at_risk", {"monthly": True}),
    ("summary", {}),
    ("demand", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), CALLS)
def test_empty_user_demand_is_an_answer(
    kb: KnowledgeBase, name: str, kwargs: dict[str, Any]
) -> None:
    frame = getattr(kb.defence, name)(demand=DemandSource(which="user"), **kwargs)
    assert frame is not None and len(frame.columns) > 0
    if name in ("demand", "exposure", "capability_at_risk"):
        assert len(frame) == 0  # no BOM rows: nothing demanded, nothing exposed, nothing lost
