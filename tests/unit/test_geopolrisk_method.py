"""The GeoPolRisk method on small constructed cases (values worked out by hand).

All numbers here are (constructed): they check arithmetic and rules, not data.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from critmat.methods import geopolrisk as gpr
from critmat.params import ParameterError

# (constructed) exporter X: g 0.5; Y: g 0.25; Z: no governance value
GOV = pd.DataFrame({"country": ["X", "Y", "AAA", "BBB"], "year": 2022, "g": [0.5, 0.25, 0.1, 0.2]})
# world production: nickel X 60, Y 40 -> HHI 0.36 + 0.16 = 0.52; copper X only -> 1.0
PROD = pd.DataFrame(
    {
        "material": ["nickel", "nickel", "copper"],
        "country": ["X", "Y", "X"],
        "year": 2022,
        "quantity_t": [60.0, 40.0, 100.0],
    }
)


def flows(*rows: tuple[str, str, str, float | None, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "material": m,
                "year": 2022,
                "exporter": e,
                "importer": i,
                "quantity_t": np.nan if q is None else q,
                "value_kusd": v,
            }
            for m, e, i, q, v in rows
        ]
    )


BASE = flows(
    ("nickel", "X", "AAA", 80.0, 200.0),  # g*q = 40
    ("nickel", "Y", "AAA", 20.0, 50.0),  # g*q = 5
    ("copper", "X", "AAA", 100.0, 100.0),  # copper: WTA 0.5, price 1.0
)


def cube(
    trade: pd.DataFrame = BASE,
    production: pd.DataFrame = PROD,
    governance: pd.DataFrame = GOV,
    units: dict[str, list[str]] | None = None,
    materials: tuple[str, ...] = ("nickel",),
    years: tuple[int, ...] = (2022,),
    **kw: object,
) -> pd.DataFrame:
    return gpr.geopolrisk_cube(
        trade,
        production,
        governance,
        units or {"AAA": ["AAA"]},
        materials=list(materials),
        years=list(years),
        **kw,
    ).set_index(["material", "importer", "year"])


def test_single_importer_all_outputs() -> None:
    r = cube().loc[("nickel", "AAA", 2022)]
    assert r["hhi"] == pytest.approx(0.52, rel=1e-12)
    assert r["import_risk"] == pytest.approx(0.45, rel=1e-12)  # (40 + 5) / 100
    assert r["score"] == pytest.approx(0.234, rel=1e-12)  # 0.52 * 0.45
    assert r["price"] == pytest.approx(2.5, rel=1e-12)  # 250 kUSD / 100 t
    assert r["midpoint"] == pytest.approx(0.585, rel=1e-12)  # 0.234 * 2.5
    assert r["cf"] == pytest.approx(1.4288751805670785, rel=1e-12)  # / 0.409412948
    assert r["cf_paper"] == pytest.approx(1.17, rel=1e-12)  # / copper 1.0 * 0.5 * 1.0
    assert r["numerator"] == pytest.approx(45.0)
    assert r["imports_t"] == 100.0 and r["domestic_production_t"] == 0.0
    assert r["governance_coverage"] == 1.0 and r["status"] == "ok"


def test_result_is_the_full_cross_product_in_order() -> None:
    out = gpr.geopolrisk_cube(
        BASE,
        PROD,
        GOV,
        {"AAA": ["AAA"], "BBB": ["BBB"]},
        materials=["nickel", "copper"],
        years=[2022, 2021],
    )
    assert list(out.columns) == list(gpr.DETAIL_COLUMNS)
    assert list(zip(out["material"], out["importer"], out["year"], strict=True)) == [
        ("nickel", "AAA", 2021),
        ("nickel", "AAA", 2022),
        ("nickel", "BBB", 2021),
        ("nickel", "BBB", 2022),
        ("copper", "AAA", 2021),
        ("copper", "AAA", 2022),
        ("copper", "BBB", 2021),
        ("copper", "BBB", 2022),
    ]
    assert set(out["status"]) <= set(gpr.STATUSES)


def test_domestic_production_dilutes() -> None:
    prod = pd.concat(
        [
            PROD,
            pd.DataFrame(
                {"material": ["nickel"], "country": ["AAA"], "year": [2022], "quantity_t": [100.0]}
            ),
        ]
    )
    r = cube(production=prod).loc[("nickel", "AAA", 2022)]
    assert r["domestic_production_t"] == 100.0
    assert r["import_risk"] == pytest.approx(0.225, rel=1e-12)  # 45 / (100 + 100)


REGION = flows(
    ("nickel", "X", "AAA", 80.0, 200.0),
    ("nickel", "Y", "AAA", 20.0, 50.0),
    ("nickel", "AAA", "BBB", 50.0, 100.0),  # intra-group flow
    ("nickel", "X", "BBB", 50.0, 100.0),  # g*q = 25
    ("copper", "X", "AAA", 100.0, 100.0),
)
UNITS = {"AAA": ["AAA"], "BBB": ["BBB"], "G": ["AAA", "BBB"]}


def test_region_intra_trade_has_zero_risk_but_stays_in_imports() -> None:
    out = cube(trade=REGION, units=UNITS)
    g = out.loc[("nickel", "G", 2022)]
    assert g["imports_t"] == 200.0
    assert g["import_risk"] == pytest.approx(0.35, rel=1e-12)  # (40 + 5 + 0 + 25) / 200
    assert g["price"] == pytest.approx(2.25, rel=1e-12)  # 450 / 200
    # the members alone: BBB's import from AAA carries AAA's own g = 0.1
    b = out.loc[("nickel", "BBB", 2022)]
    assert b["import_risk"] == pytest.approx(0.3, rel=1e-12)  # (5 + 25) / 100


def test_region_intra_trade_excluded() -> None:
    g = cube(trade=REGION, units=UNITS, intra_region="exclude").loc[("nickel", "G", 2022)]
    assert g["imports_t"] == 150.0
    assert g["import_risk"] == pytest.approx(0.4666666666666667, rel=1e-12)  # 70 / 150


def test_region_production_is_the_sum_of_members() -> None:
    prod = pd.concat(
        [
            PROD,
            pd.DataFrame(
                {
                    "material": "nickel",
                    "country": ["AAA", "BBB"],
                    "year": 2022,
                    "quantity_t": [30.0, 70.0],
                }
            ),
        ]
    )
    g = cube(trade=REGION, units=UNITS, production=prod).loc[("nickel", "G", 2022)]
    assert g["domestic_production_t"] == 100.0
    assert g["import_risk"] == pytest.approx(70 / 300, rel=1e-12)


def test_missing_governance_is_nan_with_status_and_coverage() -> None:
    trade = pd.concat([BASE, flows(("nickel", "Z", "AAA", 25.0, 50.0))])
    r = cube(trade=trade).loc[("nickel", "AAA", 2022)]
    assert r["status"] == "missing_governance"
    assert math.isnan(r["import_risk"]) and math.isnan(r["score"]) and math.isnan(r["cf"])
    assert r["governance_coverage"] == pytest.approx(0.8)  # 100 of 125 t
    assert r["price"] == pytest.approx(2.4)  # price does not need governance: 300 / 125


def test_missing_governance_fill_is_explicit() -> None:
    trade = pd.concat([BASE, flows(("nickel", "Z", "AAA", 25.0, 50.0))])
    r = cube(trade=trade, missing_governance="fill", fill_value=0.5).loc[("nickel", "AAA", 2022)]
    assert r["status"] == "governance_filled"
    assert r["import_risk"] == pytest.approx(0.46, rel=1e-12)  # (45 + 12.5) / 125
    assert r["governance_coverage"] == pytest.approx(0.8)


def test_no_imports_with_and_without_production() -> None:
    prod = pd.concat(
        [
            PROD,
            pd.DataFrame(
                {"material": ["nickel"], "country": ["CCC"], "year": [2022], "quantity_t": [5.0]}
            ),
        ]
    )
    out = cube(production=prod, units={"AAA": ["AAA"], "CCC": ["CCC"], "DDD": ["DDD"]})
    c, d = out.loc[("nickel", "CCC", 2022)], out.loc[("nickel", "DDD", 2022)]
    assert c["status"] == d["status"] == "no_imports"
    assert c["import_risk"] == 0.0 and c["score"] == 0.0  # all supply is domestic
    assert math.isnan(c["price"]) and math.isnan(c["cf"])
    assert math.isnan(d["import_risk"]) and math.isnan(d["score"])


def test_imports_without_quantity() -> None:
    trade = pd.concat([BASE, flows(("nickel", "X", "EEE", None, 30.0))])
    r = cube(trade=trade, units={"EEE": ["EEE"]}).loc[("nickel", "EEE", 2022)]
    assert r["status"] == "no_import_quantity"
    assert math.isnan(r["import_risk"]) and math.isnan(r["price"])
    assert r["quantity_coverage"] == 0.0


def test_price_basis_for_flows_without_quantity() -> None:
    trade = pd.concat([BASE, flows(("nickel", "X", "AAA", None, 50.0))])
    assert cube(trade=trade).loc[("nickel", "AAA", 2022), "price"] == pytest.approx(2.5)
    r = cube(trade=trade, price_basis="all_value").loc[("nickel", "AAA", 2022)]
    assert r["price"] == pytest.approx(3.0)  # 300 kUSD over the 100 t that are reported
    assert r["quantity_coverage"] == pytest.approx(250 / 300)


def test_not_assessable_and_no_production_data() -> None:
    out = cube(materials=("nickel", "gallium"), years=(2021, 2022))
    ga = out.loc[("gallium", "AAA", 2022)]
    assert ga["status"] == "not_assessable" and math.isnan(ga["score"])
    ni21 = out.loc[("nickel", "AAA", 2021)]
    assert ni21["status"] == "not_assessable"  # no trade at all in 2021
    trade21 = pd.concat([BASE, BASE.assign(year=2021)])
    r = cube(trade=trade21, years=(2021,)).loc[("nickel", "AAA", 2021)]
    assert r["status"] == "no_production_data"
    assert math.isnan(r["hhi"]) and math.isnan(r["score"]) and r["price"] == 2.5


def test_not_assessable_keeps_the_hhi() -> None:
    prod = pd.concat(
        [
            PROD,
            pd.DataFrame(
                {
                    "material": "gallium",
                    "country": ["X", "Y"],
                    "year": 2022,
                    "quantity_t": [90.0, 10.0],
                }
            ),
        ]
    )
    r = cube(production=prod, materials=("gallium",)).loc[("gallium", "AAA", 2022)]
    assert r["status"] == "not_assessable" and r["hhi"] == pytest.approx(0.82)


def test_non_mass_production() -> None:
    gas = pd.DataFrame(
        {
            "material": "gas",
            "country": ["X", "AAA"],
            "year": 2022,
            "quantity": [300.0, 100.0],
            "quantity_t": [np.nan, np.nan],
        }
    )
    prod = pd.concat([PROD.assign(quantity=PROD["quantity_t"]), gas])
    trade = pd.concat([BASE, flows(("gas", "X", "AAA", 10.0, 5.0), ("gas", "X", "BBB", 5.0, 2.0))])
    out = cube(
        trade=trade, production=prod, materials=("gas",), units={"AAA": ["AAA"], "BBB": ["BBB"]}
    )
    a, b = out.loc[("gas", "AAA", 2022)], out.loc[("gas", "BBB", 2022)]
    assert a["hhi"] == pytest.approx(0.625)  # shares of the published unit: 0.75, 0.25
    assert a["status"] == "production_not_in_tonnes" and math.isnan(a["score"])
    assert b["status"] == "ok" and b["import_risk"] == pytest.approx(0.5)


def test_exporter_contributions_add_up() -> None:
    full = cube().loc[("nickel", "AAA", 2022)]
    x = cube(exporters=["X"]).loc[("nickel", "AAA", 2022)]
    y = cube(exporters=["Y"]).loc[("nickel", "AAA", 2022)]
    assert x["import_risk"] == pytest.approx(0.4) and y["import_risk"] == pytest.approx(0.05)
    assert x["score"] + y["score"] == pytest.approx(full["score"], rel=1e-12)
    assert x["cf_paper"] + y["cf_paper"] == pytest.approx(full["cf_paper"], rel=1e-12)


def test_reference_trade_for_the_paper_cf() -> None:
    ni_only = BASE[BASE["material"] == "nickel"]
    r = cube(trade=ni_only).loc[("nickel", "AAA", 2022)]
    assert math.isnan(r["cf_paper"]) and r["status"] == "ok"
    r = cube(trade=ni_only, reference_trade=BASE).loc[("nickel", "AAA", 2022)]
    assert r["cf_paper"] == pytest.approx(1.17)


def test_mapping_of_units_as_frame() -> None:
    members = pd.DataFrame({"unit": ["G", "G"], "member": ["AAA", "BBB"]})
    out = gpr.geopolrisk_cube(REGION, PROD, GOV, members, materials=["nickel"], years=[2022])
    assert out["import_risk"].iloc[0] == pytest.approx(0.35)


@pytest.mark.parametrize(
    ("option", "value", "valid"),
    [
        ("intra_region", "drop", "'zero_risk', 'exclude'"),
        ("missing_governance", "zero", "'nan', 'fill'"),
        ("price_basis", "mean", "'reported_quantity', 'all_value'"),
        ("fill_value", 1.5, "[0, 1]"),
    ],
)
def test_bad_options_say_what_is_valid(option: str, value: object, valid: str) -> None:
    with pytest.raises(ParameterError, match=option) as info:
        cube(**{option: value})
    assert valid in str(info.value)


def test_missing_columns_are_reported() -> None:
    with pytest.raises(ParameterError, match="governance frame lacks column"):
        cube(governance=GOV.rename(columns={"g": "pv"}))


def test_core_formulas_zero_denominators() -> None:
    assert np.isnan(gpr.import_risk(0.0, 0.0, 0.0))
    assert gpr.import_risk(0.0, 0.0, 10.0) == 0.0
    assert np.isnan(gpr.unit_price(10.0, 0.0))
    assert np.isnan(gpr.cf_paper(1.0, 0.0))
    np.testing.assert_allclose(
        gpr.score([0.5, 1.0], [45.0, 10.0], [100.0, 10.0], [0.0, 10.0]), [0.225, 0.5]
    )


def test_doctests_of_the_method_module() -> None:
    import doctest

    result = doctest.testmod(gpr, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 5
