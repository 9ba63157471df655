"""The defence summary's shared paths give exactly the frames of the paths they replaced.

Issue 11 (speed of ``critmat assess``): :func:`critmat.defence.exposure.exposure` keeps the
exposed demand (everything before the aggregation by ``by``) in the knowledge base's cache,
so the assessment's ``by="material"`` and the report's ``by="system"`` compute it once.
``previous_paths.exposure_each_by`` is the function as it was (each call computed its own
exposed demand); every test compares the two (values, dtypes, order: ``check_exact``; and
the provenance).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import critmat
from critmat.defence.bom import DemandSource
from critmat.defence.exposure import exposure
from critmat.knowledge_base import KnowledgeBase
from tests.regression import previous_paths as before
from tests.regression.test_fast_paths import _same


@pytest.fixture(scope="module")
def shared() -> Iterator[KnowledgeBase]:
    """A knowledge base of this module: its cache grows over the generated call sequences."""
    base = critmat.load(user_data=False)
    yield base
    base.close()


@pytest.fixture
def fresh() -> Iterator[KnowledgeBase]:
    """A knowledge base of its own: its cache starts empty, so the order of calls counts."""
    base = critmat.load(user_data=False)
    yield base
    base.close()


_CASES: list[dict[str, Any]] = [
    {"stage": "processing", "by": "material"},  # the assessment's defence summary
    {"stage": "processing", "by": "system"},  # the report's defence section
    {"by": "programme"},
    {"stage": "extraction", "by": "system", "detail": True},
    {"stage": "processing", "mix": "eu_sourcing", "by": "material"},
    {"mix": "global", "by": "system", "recycling": False},
    {"stage": "processing", "mix": "imports", "by": "material"},
    {"stage": "processing", "by": "material", "adversaries": "CHN"},
    {"stage": "processing", "by": "system", "supply_vintage": "eu_crm_2023"},
    {"materials": ["rare_earths", "tungsten"], "by": "material"},
]


@pytest.mark.parametrize("kw", _CASES)
def test_exposure_as_before(kb: KnowledgeBase, kw: dict[str, Any]) -> None:
    old = before.exposure_each_by(kb, **kw)
    new = exposure(kb, **kw)
    assert len(new) > 0
    _same(new, old)


def test_each_by_after_another_shares_the_exposed_demand(fresh: KnowledgeBase) -> None:
    """The second ``by`` reuses the first one's exposed demand: the same frames as before."""
    order = ["material", "system", "programme"]
    new = {by: exposure(fresh, stage="processing", by=by) for by in order}
    assert any(k[0] == "defence.exposure.exposed" for k in fresh.cache._items)
    detail = exposure(fresh, stage="processing", by="material", detail=True)
    for by in order:
        _same(new[by], before.exposure_each_by(fresh, stage="processing", by=by))
    _same(detail, before.exposure_each_by(fresh, stage="processing", by="material", detail=True))


def test_a_changed_result_never_reaches_the_next_caller(fresh: KnowledgeBase) -> None:
    first = exposure(fresh, stage="processing", by="material")
    first["china_share"] = -1.0
    first.attrs["critmat"]["notes"].append("changed")
    second = exposure(fresh, stage="processing", by="system")
    _same(second, before.exposure_each_by(fresh, stage="processing", by="system"))


def test_a_bom_frame_is_not_cached_and_gives_the_same_frame(fresh: KnowledgeBase) -> None:
    bom = pd.DataFrame(
        {
            "system": ["Rafale", "Rafale"],
            "component": ["RBE2 T/R modules", "magnets"],
            "material": ["gallium", "neodymium"],
            "kg_per_unit": [0.5, 2.0],
            "kind": ["assumption", "assumption"],
            "source": ["illustrative", "illustrative"],
        }
    )
    rates = pd.DataFrame(
        {"programme": ["FR"], "system": ["Rafale"], "units_per_year": [24], "source": ["x"]}
    )
    src = DemandSource(bom=bom, build_rates=rates)
    for by in ("material", "system"):
        new = exposure(fresh, stage="processing", by=by, demand=src)
        _same(new, before.exposure_each_by(fresh, stage="processing", by=by, demand=src))
    assert not any(k[0] == "defence.exposure.exposed" for k in fresh.cache._items)


_CALL = st.fixed_dictionaries(
    {
        "by": st.sampled_from(["system", "programme", "material"]),
        "stage": st.sampled_from([None, "extraction", "processing"]),
        "mix": st.sampled_from(["by_producer", "eu_sourcing", "global"]),
        "detail": st.booleans(),
        "recycling": st.booleans(),
        "adversaries": st.sampled_from(["CHN,RUS", "CHN"]),
    }
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(calls=st.lists(_CALL, min_size=1, max_size=3))
def test_any_sequence_of_calls_gives_the_frames_of_before(
    shared: KnowledgeBase, calls: list[dict[str, Any]]
) -> None:
    """Whatever was asked before on the same knowledge base, each call is the old frame."""
    for kw in calls:
        _same(exposure(shared, **kw), before.exposure_each_by(shared, **kw))
