"""Hypothesis properties of concentration and dependency."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from critmat.methods.concentration import concentration
from critmat.methods.dependency import net_import_reliance, unit_flows, units_frame

quantities = st.lists(st.floats(min_value=0.01, max_value=1e6), min_size=1, max_size=25)


def _frame(q: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "material": "m",
            "stage": "extraction",
            "year": 2020,
            "country": [f"C{i}" for i in range(len(q))],
            "quantity_t": q,
        }
    )


@given(quantities)
def test_hhi_between_one_over_n_and_one(q: list[float]) -> None:
    out = concentration(_frame(q)).iloc[0]
    n = len(q)
    assert 1 / n - 1e-12 <= out["hhi"] <= 1 + 1e-12
    assert out["top1_share"] <= out["top3_share"] + 1e-12 <= 1 + 2e-12
    assert out["hhi"] <= out["top1_share"] + 1e-12  # sum s^2 <= max s


@given(quantities, st.randoms(use_true_random=False))
def test_hhi_ignores_order_and_scale(q: list[float], rnd) -> None:
    shuffled = q[:]
    rnd.shuffle(shuffled)
    a = concentration(_frame(q))["hhi"].iloc[0]
    b = concentration(_frame([x * 7.5 for x in shuffled]))["hhi"].iloc[0]
    assert np.isclose(a, b, rtol=1e-9)


@given(st.lists(st.sampled_from([1.0, 2.0, 5.0]), min_size=1, max_size=12), st.randoms())
def test_the_top_supplier_does_not_depend_on_row_order(q: list[float], rnd) -> None:
    # equal shares are frequent (0.5/0.5): the tie goes to the first country code
    frame = _frame(q)
    shuffled = frame.sample(frac=1.0, random_state=rnd.randint(0, 10_000))
    a, b = concentration(frame).iloc[0], concentration(shuffled).iloc[0]
    assert a["top1_country"] == b["top1_country"]
    top = frame[frame["quantity_t"] == frame["quantity_t"].max()]["country"]
    assert a["top1_country"] == min(top)


@given(quantities, st.floats(min_value=0, max_value=1e6))
def test_more_domestic_production_never_raises_nir(q: list[float], extra: float) -> None:
    trade = pd.DataFrame(
        {
            "material": "m",
            "year": 1,
            "exporter": [f"X{i}" for i in range(len(q))],
            "importer": "A",
            "quantity_t": q,
            "value_kusd": 1.0,
        }
    )
    units = units_frame({"A": ["A"]})
    imp, exp = unit_flows(trade, units), unit_flows(trade, units, direction="exports")
    base = pd.DataFrame({"material": "m", "year": 1, "country": ["A"], "quantity_t": [10.0]})
    more = base.assign(quantity_t=10.0 + extra)
    a = net_import_reliance(imp, exp, base, units, producing_materials=["m"])["nir"].iloc[0]
    b = net_import_reliance(imp, exp, more, units, producing_materials=["m"])["nir"].iloc[0]
    assert 0 <= b <= a <= 1
