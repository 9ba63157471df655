"""Values computed once per knowledge base and arguments (critmat.data.cache.memoised).

The assessment asks for the EU supply risk, the defence criticality and the exposure from
several places (the table, the defence summary, the report); each is computed once per
knowledge base and arguments, every caller gets its own copy, and an import of user data
drops them (no stale state).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from critmat.data.cache import Cache, copied, freeze, memoised
from critmat.defence.bom import DemandSource
from critmat.knowledge_base import KnowledgeBase
from tests.conftest import write_csv


class _KB:
    """The least a memoised function needs of a knowledge base: its cache."""

    def __init__(self) -> None:
        self.cache = Cache()


CALLS: list[tuple[Any, ...]] = []


@memoised("test.frame")
def _frame(kb: Any, *, n: int = 2, labels: list[str] | None = None, data: Any = None) -> Any:
    """A small frame (counts its calls)."""
    CALLS.append((n, labels, data))
    frame = pd.DataFrame({"x": range(n)})
    frame.attrs["critmat"] = {"notes": ["built"]}
    return frame


def test_freeze_makes_arguments_hashable_and_refuses_frames_and_paths() -> None:
    assert freeze({"a": [1, 2], "b": None}) == freeze({"b": None, "a": (1, 2)})
    assert freeze(["x", "y"]) != freeze(["y", "x"])  # order of a selection is kept
    assert hash(freeze(DemandSource())) == hash(freeze(DemandSource(which="auto")))
    assert freeze(DemandSource(which="reference")) != freeze(DemandSource())
    for bad in (pd.DataFrame({"a": [1]}), Path("bom.csv"), DemandSource(bom=Path("b.csv"))):
        with pytest.raises(TypeError):
            freeze(bad)


def test_built_once_and_every_caller_gets_its_own_copy() -> None:
    kb = _KB()
    CALLS.clear()
    first = _frame(kb, n=3, labels=["a"])
    first.loc[0, "x"] = 99  # a caller changing its result ...
    first.attrs["critmat"]["notes"].append("changed")
    second = _frame(kb, n=3, labels=("a",))  # same arguments (a tuple is a list here)
    assert len(CALLS) == 1
    assert second["x"].tolist() == [0, 1, 2]  # ... never changes what the next one sees
    assert second.attrs["critmat"]["notes"] == ["built"]
    _frame(kb, n=4)
    assert len(CALLS) == 2  # other arguments, another value
    assert _frame.__name__ == "_frame" and "small frame" in (_frame.__doc__ or "")


def test_arguments_that_cannot_be_keys_run_uncached() -> None:
    kb = _KB()
    CALLS.clear()
    data = pd.DataFrame({"a": [1]})
    _frame(kb, data=data)
    _frame(kb, data=data)
    assert len(CALLS) == 2
    assert len(kb.cache) == 0


def test_copied_copies_frames_inside_containers() -> None:
    f = pd.DataFrame({"x": [1]})
    out = copied((f, [f], {"f": f}, 3))
    assert out[0] is not f and out[1][0] is not f and out[2]["f"] is not f and out[3] == 3


def test_eu_supply_risk_once_per_kb_and_arguments(kb: KnowledgeBase) -> None:
    kb.cache.clear()
    a = kb.indicators.eu_supply_risk(materials=["tungsten", "gallium"])
    n = len(kb.cache)
    b = kb.indicators.eu_supply_risk(materials=["tungsten", "gallium"])
    assert len(kb.cache) == n  # nothing new built
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs == b.attrs
    a.loc[:, "sr"] = -1.0
    c = kb.indicators.eu_supply_risk(materials=["tungsten", "gallium"])
    pd.testing.assert_frame_equal(b, c)
    # another selection reuses the scores of the EU method (one more entry, not two)
    kb.indicators.eu_supply_risk(materials="tungsten")
    assert len(kb.cache) == n + 1


def test_defence_criticality_default_and_spelled_out_year_share_one_value(
    kb: KnowledgeBase,
) -> None:
    kb.cache.clear()
    year = kb.select.latest_year("trade")
    a = kb.defence.criticality()
    keys = {k for k in kb.cache._items if isinstance(k, tuple) and k[:1] == ("memoised",)}
    b = kb.defence.criticality(importers="EU27", years=year)
    after = {k for k in kb.cache._items if isinstance(k, tuple) and k[:1] == ("memoised",)}
    assert after == keys  # the same value: the default year is the latest year
    pd.testing.assert_frame_equal(a, b)


def test_an_import_drops_the_memoised_values(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    """China's gallium processing share changes: the same kb computes the new EU SR."""
    before = user_kb.indicators.eu_supply_risk(materials="gallium")["sr_processing"].iloc[0]
    path = write_csv(
        tmp_path / "ga.csv",
        """
        material,stage,mix,country,share,share_bound
        gallium,processing,global,CHN,0.30,exact
        gallium,processing,global,DEU,0.64,exact
        """,
    )
    user_kb.import_file(path, "eu_crm_2023", note="constructed shares for the test")
    after = user_kb.indicators.eu_supply_risk(materials="gallium")["sr_processing"].iloc[0]
    assert after != pytest.approx(before)
    user_kb.remove_user_table("eu_crm_2023")
    again = user_kb.indicators.eu_supply_risk(materials="gallium")["sr_processing"].iloc[0]
    assert again == pytest.approx(before)
