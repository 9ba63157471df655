"""The fast GeoPolRisk cube gives what the per-pair computation gives, whatever the path.

The cube codes text once, sums the single economies without copying rows and the groups by
expanding their members' rows; the selection hands it dictionary-encoded trade. These tests
check that none of that changes a result: the cube equals single calls for a sample of
material x importer x year, encoded and plain text give identical results, and so does the
order of overlapping units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmat.indicators import geopolrisk as gind
from critmat.knowledge_base import KnowledgeBase
from critmat.methods import geopolrisk as gpr
from critmat.methods.geopolrisk import DETAIL_COLUMNS

KEYS = ["material", "importer", "year"]
NUMBERS = [c for c in DETAIL_COLUMNS if c not in (*KEYS, "status")]

#: (material, importer, year) pairs of the embedded data: a single economy, EU27 and a user
#: group, materials with one and several HS codes (steam coal shares 270112 with coking coal)
SAMPLE = [
    ("nickel", "USA", 2022),
    ("graphite", "EU27", 2021),
    ("steam_coal", "DEU", 2020),
    ("coking_coal", "EU27", 2023),
    ("rare_earths", "JPN", 2019),
    ("cobalt", "CHN", 2024),
    ("lithium", "AUKUS", 2022),
    ("gallium", "FRA", 2022),
    ("copper", "KOR", 2018),
]
GROUPBY = {"AUKUS": ["AUS", "GBR", "USA"]}


def _assert_rows_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert a[[*KEYS, "status"]].astype(object).values.tolist() == (
        b[[*KEYS, "status"]].astype(object).values.tolist()
    )
    for c in NUMBERS:
        np.testing.assert_allclose(
            a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float), rtol=1e-12, atol=0, err_msg=c
        )


@pytest.mark.parametrize(
    "options",
    [{}, {"missing_governance": "fill", "price_basis": "all_value"}, {"exporters": "CHN,RUS"}],
    ids=["default", "peer_compatible", "exporters"],
)
def test_cube_equals_single_calls_for_a_sample(kb: KnowledgeBase, options: dict) -> None:
    materials = sorted({m for m, _, _ in SAMPLE})
    importers = sorted({i for _, i, _ in SAMPLE})
    cube = kb.indicators.geopolrisk(
        materials=materials,
        importers=importers,
        years="2018-2024",
        groupby=GROUPBY,
        detail=True,
        **options,
    ).set_index(KEYS)
    picked = cube.loc[SAMPLE].reset_index()
    singles = pd.concat(
        [
            kb.indicators.geopolrisk(
                materials=m, importers=i, years=y, groupby=GROUPBY, detail=True, **options
            )
            for m, i, y in SAMPLE
        ],
        ignore_index=True,
    )
    _assert_rows_equal(picked, singles)
    assert (picked["status"] == "ok").sum() >= 5  # the sample is not all missing values


def test_result_comes_sorted_whatever_the_selection_order(kb: KnowledgeBase) -> None:
    r = kb.indicators.geopolrisk(
        materials="nickel,cobalt,graphite",
        importers="USA,EU27,DEU,AUKUS",
        years=[2022, 2020],
        groupby=GROUPBY,
    )
    expected = r.sort_values(KEYS, ignore_index=True)
    pd.testing.assert_frame_equal(r, expected)


def test_encoded_and_plain_trade_give_identical_results(kb: KnowledgeBase) -> None:
    inputs = gind.geopolrisk_inputs(
        kb, materials="nickel,graphite,copper", importers="EU27,USA,NATO", years="2021-2022"
    )
    assert isinstance(inputs.trade["importer"].dtype, pd.CategoricalDtype)
    plain = inputs.trade.astype(dict.fromkeys(("material", "importer", "exporter"), object))

    def run(trade: pd.DataFrame) -> pd.DataFrame:
        return gpr.geopolrisk_cube(
            trade,
            inputs.production,
            inputs.governance,
            inputs.units,
            materials=inputs.materials,
            years=inputs.years,
            assessable=inputs.assessable,
        )

    pd.testing.assert_frame_equal(run(inputs.trade), run(plain))


def test_overlapping_units_in_any_order_give_identical_sums() -> None:
    # a group before and after its members: the group is summed directly or by expansion
    trade = pd.DataFrame(
        {
            "material": ["nickel"] * 5,
            "year": 2022,
            "exporter": ["X", "AAA", "Y", "BBB", "X"],
            "importer": ["AAA", "BBB", "BBB", "AAA", "CCC"],
            "quantity_t": [80.0, 25.0, 75.0, 0.1 + 0.2, 10.0],
            "value_kusd": [200.0, 30.0, 150.0, 1.0, 20.0],
        }
    )
    production = pd.DataFrame(
        {"material": ["nickel"], "country": ["X"], "year": [2022], "quantity_t": [100.0]}
    )
    governance = pd.DataFrame(
        {"country": ["X", "Y", "AAA", "BBB"], "year": 2022, "g": [0.5, 0.2, 0.1, 0.3]}
    )
    members = {"AAA": ["AAA"], "BBB": ["BBB"], "CCC": ["CCC"], "G": ["AAA", "BBB"]}
    orders = [members, dict(reversed(list(members.items()))), {"G": ["BBB", "AAA"], **members}]
    results = [
        gpr.geopolrisk_cube(
            trade, production, governance, units, materials=["nickel"], years=[2022]
        ).sort_values("importer", ignore_index=True)
        for units in orders
    ]
    for other in results[1:]:
        pd.testing.assert_frame_equal(results[0], other)
    g = results[0].set_index("importer").loc["G"]
    # (80 * 0.5 + 75 * 0.2) / (80 + 25 + 75 + 0.3): the intra-group flows have g = 0 but
    # stay in the imports; the members produce nothing
    assert g["import_risk"] == pytest.approx(55.0 / (180.0 + (0.1 + 0.2)), rel=1e-12)
