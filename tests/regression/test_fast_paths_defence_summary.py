"""The defence summary's vectorised helpers give exactly the frames of the paths they replaced.

Speed of ``kb.defence.summary`` on a new knowledge base: :func:`critmat.defence.bom.
annual_demand` groups once and finds the outer join's sides from the systems (no
``indicator``), :func:`critmat.defence.exposure.supply_mix` picks each material and stage's
mix from the keys of the share rows (no cross join and two merges),
:func:`critmat.methods.supply.supplier_mix` builds its result's columns at once and
:func:`critmat.defence.criticality.importance_from_uses` runs each step on the columns it
reads, and the grouped aggregations of the importance and the exposure call one kernel per
kind of aggregation (no named aggregation). The old functions are kept in ``previous_paths``
(``annual_demand_indicator``, ``supply_mix_joins``, ``supplier_mix_setitem``,
``importance_from_uses_whole_frames``, ``exposure_summary_named``, ``aggregate_named``); every
test compares old and new (values, dtypes, order: ``check_exact``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pytest

from critmat.defence.bom import DemandSource, annual_demand, read_bom, read_build_rates
from critmat.defence.criticality import _group_membership, importance_from_uses
from critmat.defence.demand import defence_demand
from critmat.defence.exposure import _aggregate, exposure, supply_mix
from critmat.knowledge_base import KnowledgeBase
from critmat.methods.supply import supplier_mix
from tests.regression import previous_paths as before
from tests.regression.test_fast_paths import _same


def _exact(new: pd.DataFrame, old: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(new, old, check_exact=True)


@pytest.mark.parametrize("which", ["auto", "reference", "both"])
def test_annual_demand_as_before(kb: KnowledgeBase, which: str) -> None:
    bom = read_bom(kb, which=which)
    rates = read_build_rates(kb, which=which)
    new = annual_demand(bom, rates)
    assert len(new) > 0
    _exact(new, before.annual_demand_indicator(bom, rates))


def test_annual_demand_as_before_with_every_status() -> None:
    """Components summed, a BOM without rate, a rate without BOM, two programmes, NaNs."""
    bom = pd.DataFrame(
        {
            "system": ["A", "A", "A", "B", "C", "C"],
            "component": ["a1", "a2", "a3", "b1", "c1", "c2"],
            "material": ["gallium", "gallium", "neodymium", "tungsten", "cobalt", "cobalt"],
            "kg_per_unit": [0.1, 0.2, 0.7, 3.0, 0.0, 0.0],
            "kind": ["published", "assumption", "derived", "user", None, "published"],
            "substitutable_share": [0.5, None, 0.1, 1.0, 0.2, 0.0],
            "source_id": ["s1;s2", "s2", None, "s3", "s4", "s1"],
        }
    )
    rates = pd.DataFrame(
        {
            "programme": ["P1", "P2", "P1", "P3"],
            "system": ["A", "A", "B", "D"],
            "units_per_year": [12, 30.5, 1, 4],
            "priority": [1.0, 0.5, 2.0, 1.0],
            "kind": ["published", "assumption", None, "user"],
            "source_id": ["r1", "r2;r1", None, "r3"],
        }
    )
    new = annual_demand(bom, rates)
    assert set(new["status"]) == {"ok", "no_build_rate", "no_bom"}
    _exact(new, before.annual_demand_indicator(bom, rates))
    _exact(annual_demand(bom.iloc[:0], rates), before.annual_demand_indicator(bom.iloc[:0], rates))


_PROXIES: list[Mapping[str, str] | None] = [
    None,
    {},
    {"gallium": "germanium", "tungsten": "rare_earths", "lree": "neodymium"},
]


@pytest.mark.parametrize("checked", ["eu_sourcing", "global"])
@pytest.mark.parametrize("proxies", _PROXIES)
@pytest.mark.parametrize("stages", [("extraction", "processing"), ("processing",)])
def test_supply_mix_as_before(
    kb: KnowledgeBase,
    checked: str,
    proxies: Mapping[str, str] | None,
    stages: tuple[str, ...],
) -> None:
    shares = kb.select.supply_mix(None, mix=checked).rename(
        columns={"mix_used": "mix", "vintage": "supply_vintage"}
    )
    every = sorted(set(shares["material"]))
    cases = [
        every,
        ["rare_earths", "tungsten", "gallium", "rare_earths", "lree"],
        ["not_a_material"],
        [],
    ]
    for materials in cases:
        for mix in ("eu_sourcing", "global"):
            new = supply_mix(shares, materials, stages=stages, mix=mix, proxies=proxies)
            old = before.supply_mix_joins(
                shares, materials, stages=stages, mix=mix, proxies=proxies
            )
            _exact(new, old)


def test_supply_mix_as_before_with_imports_and_a_text_stage_list(kb: KnowledgeBase) -> None:
    """BACI import shares (mix ``imports``) next to the EU 2023 ones, as exposure joins them."""
    eu = kb.select.supply_mix(None, mix="eu_sourcing").rename(
        columns={"mix_used": "mix", "vintage": "supply_vintage"}
    )
    imports = pd.DataFrame(
        {
            "material": ["gallium", "gallium", "neodymium", "tungsten"],
            "stage": ["processing", "processing", "processing", "extraction"],
            "mix": "imports",
            "country": ["CHN", "DEU", "CHN", None],
            "share": [0.9, 0.1, 1.0, 1.0],
        }
    )
    shares = pd.concat([eu, imports], ignore_index=True)
    mats = ["gallium", "rare_earths", "tungsten", "cobalt"]
    for mix in ("imports", "eu_sourcing", "global"):
        for stages in (("extraction", "processing"), ["processing"]):
            new = supply_mix(shares, mats, stages=tuple(stages), mix=mix)
            _exact(new, before.supply_mix_joins(shares, mats, stages=tuple(stages), mix=mix))


@pytest.mark.parametrize("mix", ["eu_sourcing", "global"])
@pytest.mark.parametrize("vintage", ["newest", "eu_crm_2023", "usgs_mcs2026"])
def test_supplier_mix_as_before_on_the_embedded_shares(
    kb: KnowledgeBase, mix: str, vintage: str
) -> None:
    shares = kb.select.supply_shares(None, vintage=vintage)
    mats = [*sorted(set(shares["material"])), "not_a_material"]
    kw = {
        "mix": mix,
        "import_reliance": kb.select.import_reliance(),
        "eu_countries": kb.select.groups()["EU27"],
    }
    for stages in (("extraction", "processing"), ("processing",)):
        new = supplier_mix(shares, mats, stages=stages, **kw)  # type: ignore[arg-type]
        old = before.supplier_mix_setitem(shares, mats, stages=stages, **kw)  # type: ignore[arg-type]
        assert len(new) > 0
        _exact(new, old)
    for few in (["gallium", "germanium"], ["not_a_material"], []):
        _exact(
            supplier_mix(shares, few, **kw),  # type: ignore[arg-type]
            before.supplier_mix_setitem(shares, few, **kw),  # type: ignore[arg-type]
        )


def test_importance_from_uses_as_before(kb: KnowledgeBase) -> None:
    """Each step on the columns it reads: the frame of the steps on the whole frames."""
    uses = kb.table("defence_uses")
    membership = _group_membership(kb.materials())
    si = kb.table("eu_crm_2023_parameters").set_index("material")["si_ei"].astype("float64")
    cases: list[tuple[Any, ...]] = [
        (uses, membership, si),
        (uses, membership, None),
        (uses, membership, si, {"limited": 0.5}, {"minor": 0.0}),
        (uses.drop(columns=["defence_demand_share", "defence_demand_share_scope"]), membership),
        (uses.iloc[:40], membership, si),
    ]
    for args in cases:
        new = importance_from_uses(*args)
        assert len(new) > 0
        _exact(new, before.importance_from_uses_whole_frames(*args))


@pytest.mark.parametrize("keys", [["material"], ["programme", "material"], ["system"]])
def test_demand_aggregate_as_the_named_aggregation(kb: KnowledgeBase, keys: list[str]) -> None:
    d = defence_demand(kb, demand=DemandSource(which="both"))
    extra = d.iloc[:2].assign(material=[None, "gallium"], kind=["assumption", None])
    for frame in (d, pd.concat([d, extra], ignore_index=True), d.iloc[:0]):
        _exact(_aggregate(frame, keys), before.aggregate_named(frame, keys))


_EXPOSURE_CASES: list[dict[str, Any]] = [
    {"stage": "processing", "by": "material"},  # the assessment's defence summary
    {"stage": "processing", "by": "system"},
    {"by": "programme", "adversaries": "CHN"},
    {"stage": "extraction", "by": "system", "detail": True},
    {"mix": "global", "by": "system", "recycling": False},
    {"stage": "processing", "mix": "imports", "by": "material"},
    {"materials": ["rare_earths", "tungsten"], "by": "material"},
    {"materials": ["feldspar"], "by": "system"},
]


@pytest.mark.parametrize("kw", _EXPOSURE_CASES)
def test_exposure_summary_as_the_named_aggregation(
    kb: KnowledgeBase, kw: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old exposure (its own per-country aggregation) with the old summary: the same."""
    new = exposure(kb, **kw)
    monkeypatch.setattr(before, "exposure_summary", before.exposure_summary_named)
    old = before.exposure_each_by(kb, **kw)
    _same(new, old)


def test_exposure_as_before_without_demand(kb: KnowledgeBase) -> None:
    """A BOM whose material has no supply shares: flagged rows, no exposed demand."""
    bom = pd.DataFrame(
        {
            "system": ["X"],
            "component": ["c"],
            "material": ["feldspar"],
            "kg_per_unit": [1.0],
            "kind": ["assumption"],
            "source": ["constructed"],
        }
    )
    rates = pd.DataFrame(
        {"programme": ["P"], "system": ["X"], "units_per_year": [10], "source": ["x"]}
    )
    src = DemandSource(bom=bom, build_rates=rates)
    for by in ("material", "system"):
        for detail in (False, True):
            new = exposure(kb, stage="processing", by=by, demand=src, detail=detail)
            old = before.exposure_each_by(kb, stage="processing", by=by, demand=src, detail=detail)
            _same(new, old)
