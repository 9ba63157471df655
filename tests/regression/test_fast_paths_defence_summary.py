"""The defence summary's vectorised helpers give exactly the frames of the paths they replaced.

Speed of ``kb.defence.summary`` on a new knowledge base: :func:`critmat.defence.bom.
annual_demand` groups once and finds the outer join's sides from the systems (no
``indicator``), :func:`critmat.defence.exposure.supply_mix` picks each material and stage's
mix from a dictionary of the share rows (no cross join and two merges). The old functions
are kept in ``previous_paths`` (``annual_demand_indicator``, ``supply_mix_joins``); every
test compares old and new (values, dtypes, order: ``check_exact``).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import pytest

from critmat.defence.bom import annual_demand, read_bom, read_build_rates
from critmat.defence.exposure import supply_mix
from critmat.knowledge_base import KnowledgeBase
from tests.regression import previous_paths as before


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
