"""Hypothesis properties of the GeoPolRisk cube (METHODS.md §3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import assume, given
from hypothesis import strategies as st

from critmat.methods.geopolrisk import geopolrisk_cube

tonnes = st.floats(min_value=0.001, max_value=1e7, allow_nan=False)
instability = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def markets(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Imports of one material into AAA from 1-8 exporters, their g, world production."""
    n = draw(st.integers(min_value=1, max_value=8))
    exporters = [f"E{i}" for i in range(n)]
    q = draw(st.lists(tonnes, min_size=n, max_size=n))
    g = draw(st.lists(instability, min_size=n, max_size=n))
    trade = pd.DataFrame(
        {
            "material": "m",
            "year": 2022,
            "exporter": exporters,
            "importer": "AAA",
            "quantity_t": q,
            "value_kusd": q,
        }
    )
    gov = pd.DataFrame({"country": exporters, "year": 2022, "g": g})
    prod = pd.DataFrame(
        {
            "material": "m",
            "country": exporters,
            "year": 2022,
            "quantity_t": draw(st.lists(tonnes, min_size=n, max_size=n)),
        }
    )
    return trade, gov, prod


def _row(trade: pd.DataFrame, prod: pd.DataFrame, gov: pd.DataFrame) -> pd.Series:
    out = geopolrisk_cube(
        trade, prod, gov, {"AAA": ["AAA"]}, materials=["m"], years=[2022], reference_material="m"
    )
    return out.iloc[0]


@given(st.lists(tonnes, min_size=1, max_size=40))
def test_hhi_between_one_over_n_and_one(quantities: list[float]) -> None:
    n = len(quantities)
    prod = pd.DataFrame(
        {
            "material": "m",
            "country": [f"C{i}" for i in range(n)],
            "year": 2022,
            "quantity_t": quantities,
        }
    )
    trade = pd.DataFrame(
        {
            "material": ["m"],
            "year": [2022],
            "exporter": ["C0"],
            "importer": ["AAA"],
            "quantity_t": [1.0],
            "value_kusd": [1.0],
        }
    )
    gov = pd.DataFrame({"country": ["C0"], "year": [2022], "g": [0.5]})
    hhi = _row(trade, prod, gov)["hhi"]
    assert 1.0 / n - 1e-12 <= hhi <= 1.0 + 1e-12


@given(markets(), st.floats(min_value=0, max_value=1e7))
def test_score_and_import_risk_in_unit_interval(
    market: tuple[pd.DataFrame, ...], domestic: float
) -> None:
    trade, gov, prod = market
    prod = pd.concat(
        [
            prod,
            pd.DataFrame(
                {"material": ["m"], "country": ["AAA"], "year": [2022], "quantity_t": [domestic]}
            ),
        ]
    )
    r = _row(trade, prod, gov)
    assert r["status"] == "ok"
    assert 0.0 <= r["import_risk"] <= 1.0 + 1e-12
    assert 0.0 <= r["score"] <= 1.0 + 1e-12


@given(markets(), tonnes)
def test_new_domestic_producer_never_raises_import_risk(
    market: tuple[pd.DataFrame, ...], domestic: float
) -> None:
    trade, gov, prod = market
    before = _row(trade, prod, gov)
    more = pd.concat(
        [
            prod,
            pd.DataFrame(
                {"material": ["m"], "country": ["AAA"], "year": [2022], "quantity_t": [domestic]}
            ),
        ]
    )
    after = _row(trade, more, gov)
    assert after["import_risk"] <= before["import_risk"] * (1 + 1e-12)


@given(markets(), st.floats(min_value=0.0, max_value=1.0), st.data())
def test_moving_imports_to_a_less_stable_exporter_never_lowers_risk(
    market: tuple[pd.DataFrame, ...], fraction: float, data: st.DataObject
) -> None:
    trade, gov, prod = market
    assume(len(trade) >= 2)
    i, j = data.draw(st.lists(st.integers(0, len(trade) - 1), min_size=2, max_size=2, unique=True))
    g = gov["g"].to_numpy()
    src, dst = (i, j) if g[i] <= g[j] else (j, i)  # move from the more to the less stable
    before = _row(trade, prod, gov)
    q = trade["quantity_t"].to_numpy().copy()
    moved = q[src] * fraction
    q[src] -= moved
    q[dst] += moved
    after = _row(trade.assign(quantity_t=q), prod, gov)
    assert after["import_risk"] >= before["import_risk"] - 1e-12


@given(markets())
def test_a_group_of_one_is_the_country_itself(market: tuple[pd.DataFrame, ...]) -> None:
    trade, gov, prod = market
    out = geopolrisk_cube(
        trade,
        prod,
        gov,
        {"AAA": ["AAA"], "G": ["AAA"]},
        materials=["m"],
        years=[2022],
        reference_material="m",
    ).set_index("importer")
    cols = ["hhi", "import_risk", "score", "price", "cf", "cf_paper"]
    np.testing.assert_allclose(
        out.loc["G", cols].to_numpy(float), out.loc["AAA", cols].to_numpy(float), rtol=1e-12
    )
