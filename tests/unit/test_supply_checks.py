"""Consistency checks of supply inputs (critmat.checks): EU sourcing vs import reliance,
EU-sourcing rows that copy the global rows, shares that do not sum to 1, and the marking."""

from __future__ import annotations

import pandas as pd
import pytest

from critmat.checks import (
    SUM_LOWER_TOLERANCE,
    SUPPLY_CHECK_FLAGS,
    CheckFailed,
    CheckWarning,
    check_eu_sourcing_copies_global,
    check_eu_sourcing_import_reliance,
    check_supply_share_sums,
    eu_import_reliance,
    flag_supply_shares,
)
from critmat.errors import CritmatError

EU = ["BEL", "DEU", "FRA", "AUT", "PRT", "ESP"]


def mix(material: str, stage: str, kind: str, shares: dict[str, float], **extra: str):
    return pd.DataFrame(
        {
            "material": material,
            "stage": stage,
            "mix": kind,
            "country": list(shares),
            "share": list(shares.values()),
            **extra,
        }
    )


def ir(material: str, stage: str, value: float) -> pd.DataFrame:
    return pd.DataFrame({"material": [material], "stage": [stage], "import_reliance": [value]})


# germanium as in the EU 2023 tables: global CHN 83.1 %, RUS 5.0 %, BEL 4.5 %, DEU 2.7 %,
# USA 2.0 %, JPN 1.8 %, UKR 0.9 %; EU sourcing = the same rounded to whole percents
GE_GLOBAL = {"CHN": 0.831, "RUS": 0.05, "BEL": 0.045, "DEU": 0.027, "USA": 0.02, "JPN": 0.018,
             "UKR": 0.009}  # fmt: skip
GE_EU = {"CHN": 0.83, "RUS": 0.05, "BEL": 0.04, "DEU": 0.03, "JPN": 0.02, "USA": 0.02}


def germanium() -> pd.DataFrame:
    return pd.concat(
        [
            mix("germanium", "processing", "global", GE_GLOBAL),
            mix("germanium", "processing", "eu_sourcing", GE_EU),
        ],
        ignore_index=True,
    )


def test_import_reliance_flags_germanium_with_its_numbers() -> None:
    bad = check_eu_sourcing_import_reliance(germanium(), ir("germanium", "processing", 0.42), EU)
    assert len(bad) == 1
    row = bad.iloc[0]
    assert row["non_eu_share"] == pytest.approx(0.92)  # CHN+RUS+JPN+USA
    assert row["non_eu_share_max"] == pytest.approx(0.93)  # + the unlisted 1 %
    assert row["gap"] == pytest.approx(0.50)


def test_import_reliance_band_accepts_a_partial_list() -> None:
    # tungsten extraction, EU 2023 tables: AUT 34 %, PRT 22 %, ESP 21 % listed (77 %), IR 21 %:
    # the unlisted 23 % may all be non-EU, so IR 0.21 lies inside [0, 0.23]
    s = mix("tungsten", "extraction", "eu_sourcing", {"AUT": 0.34, "PRT": 0.22, "ESP": 0.21})
    assert check_eu_sourcing_import_reliance(s, ir("tungsten", "extraction", 0.21), EU).empty
    assert len(check_eu_sourcing_import_reliance(s, ir("tungsten", "extraction", 0.5), EU)) == 1


def test_import_reliance_residual_row_counts_as_unknown() -> None:
    s = mix("x", "processing", "eu_sourcing", {"CHN": 0.5, "DEU": 0.2}).astype(object)
    s = pd.concat(
        [s, pd.DataFrame([{"material": "x", "stage": "processing", "mix": "eu_sourcing",
                           "country": None, "share": 0.3}])],
        ignore_index=True,
    )  # fmt: skip
    # non-EU between 0.5 (listed) and 0.8 (if the residual is non-EU)
    assert check_eu_sourcing_import_reliance(s, ir("x", "processing", 0.8), EU).empty
    assert len(check_eu_sourcing_import_reliance(s, ir("x", "processing", 0.95), EU)) == 1


def test_import_reliance_strict_modes_and_missing_columns() -> None:
    args = (germanium(), ir("germanium", "processing", 0.42), EU)
    with pytest.raises(CheckFailed, match="eu_sourcing_import_reliance"):
        check_eu_sourcing_import_reliance(*args, strict=True)
    with pytest.warns(CheckWarning):
        check_eu_sourcing_import_reliance(*args, strict=False)
    with pytest.raises(CritmatError, match="lacks column") as err:
        check_eu_sourcing_import_reliance(germanium().drop(columns="mix"), args[1], EU)
    assert err.value.code == "missing_columns" and "mix" in str(err.value)
    # no EU-sourcing rows: nothing to check, an empty frame (not an error)
    glob = germanium()[lambda f: f["mix"] == "global"]
    assert check_eu_sourcing_import_reliance(glob, args[1], EU).empty


def test_copies_global_finds_germanium_and_nothing_else() -> None:
    copies = check_eu_sourcing_copies_global(germanium())
    assert len(copies) == 1
    assert copies.iloc[0]["countries"] == 7
    assert copies.iloc[0]["max_abs_difference"] == pytest.approx(0.009)  # UKR 0.9 % dropped
    # magnesium, EU 2023 tables: EU sourcing CHN 97 % vs global CHN 90.6 %: not a copy
    mg = pd.concat(
        [
            mix("magnesium", "processing", "global", {"CHN": 0.906, "USA": 0.034, "ISR": 0.06}),
            mix("magnesium", "processing", "eu_sourcing", {"CHN": 0.97, "ISR": 0.01}),
        ]
    )
    assert check_eu_sourcing_copies_global(mg).empty


def test_copies_global_needs_both_mixes_and_two_countries() -> None:
    only_eu = mix("a", "processing", "eu_sourcing", {"CHN": 0.6, "RUS": 0.4})
    assert check_eu_sourcing_copies_global(only_eu).empty
    single = pd.concat(
        [
            mix("dy", "processing", "global", {"CHN": 1.0}),
            mix("dy", "processing", "eu_sourcing", {"CHN": 1.0}),
        ]
    )
    assert check_eu_sourcing_copies_global(single).empty
    assert len(check_eu_sourcing_copies_global(single, min_countries=1)) == 1


def test_share_sums_with_a_lower_tolerance_per_mix() -> None:
    s = pd.concat(
        [
            mix("a", "extraction", "global", {"CHN": 0.5, "AUS": 0.41}),  # 0.91
            mix("a", "extraction", "eu_sourcing", {"AUS": 0.5, "CHL": 0.4}),  # 0.90
            mix("b", "extraction", "global", {"CHN": 0.7, "AUS": 0.4}),  # 1.10
        ]
    )
    bad = check_supply_share_sums(s, lower_tolerance={"eu_sourcing": 0.15})
    assert sorted(zip(bad["material"], bad["mix"], strict=True)) == [
        ("a", "global"),
        ("b", "global"),
    ]
    assert bad.set_index("material").loc["b", "total"] == pytest.approx(1.1)


def test_flag_supply_shares_marks_and_never_alters() -> None:
    s = germanium().assign(vintage="eu_crm_2023", check_flag=None)
    s.loc[0, "check_flag"] = "basis_differs"  # a flag set before is kept
    out, flags = flag_supply_shares(
        s, import_reliance=ir("germanium", "processing", 0.42), eu_countries=EU
    )
    pd.testing.assert_frame_equal(out.drop(columns="check_flag"), s.drop(columns="check_flag"))
    eu_rows = out[out["mix"] == "eu_sourcing"]
    assert (eu_rows["check_flag"] == "eu_sourcing_inconsistent;eu_sourcing_copies_global").all()
    glob = out[out["mix"] == "global"]
    assert (
        glob["check_flag"].iloc[0] == "basis_differs" and glob["check_flag"].iloc[1:].isna().all()
    )
    assert set(flags["flag"]) == {"eu_sourcing_inconsistent", "eu_sourcing_copies_global"}
    assert set(flags["flag"]) <= set(SUPPLY_CHECK_FLAGS)
    inc = flags.set_index("flag").loc["eu_sourcing_inconsistent"]
    assert (inc["observed"], inc["reference"]) == (pytest.approx(0.92), pytest.approx(0.42))
    assert "0.92" in inc["detail"] and "0.42" in inc["detail"]
    assert list(flags.columns[:3]) == ["vintage", "material", "stage"]


def test_flag_supply_shares_without_import_reliance_skips_that_check() -> None:
    out, flags = flag_supply_shares(germanium())
    assert set(flags["flag"]) == {"eu_sourcing_copies_global"}
    assert out["check_flag"].notna().sum() == len(GE_EU)


def test_checks_accept_the_stores_dtypes() -> None:
    # the knowledge base hands out Arrow-backed strings and nullable floats under pandas 3
    s = germanium().astype(
        {"material": "string[pyarrow]", "stage": "string[pyarrow]", "mix": "string[pyarrow]",
         "country": "string[pyarrow]", "share": "Float64"}
    )  # fmt: skip
    r = ir("germanium", "processing", 0.42).astype({"import_reliance": "Float64"})
    out, flags = flag_supply_shares(s, import_reliance=r, eu_countries=EU)
    assert len(flags) == 2 and out["check_flag"].notna().sum() == len(GE_EU)


def test_clean_mix_gets_no_flag() -> None:
    s = pd.concat(
        [
            mix("nb", "processing", "global", {"BRA": 0.888, "CAN": 0.112}),
            mix("nb", "processing", "eu_sourcing", {"BRA": 0.82, "CAN": 0.16, "GBR": 0.02}),
        ]
    )
    out, flags = flag_supply_shares(s, import_reliance=ir("nb", "processing", 1.0), eu_countries=EU)
    assert flags.empty and out["check_flag"].isna().all()
    assert list(flags.columns) == [
        "material", "stage", "mix", "flag", "observed", "reference", "tolerance", "detail",
    ]  # fmt: skip


def test_eu_import_reliance_long_and_the_default_lower_tolerance() -> None:
    params = pd.DataFrame(
        {"material": ["a", "b"], "ir_extraction": [0.9, None], "ir_processing": [0.2, 0.5]}
    )
    long = eu_import_reliance(params)
    assert list(zip(long["material"], long["stage"], long["import_reliance"], strict=True)) == [
        ("a", "extraction", 0.9),
        ("a", "processing", 0.2),
        ("b", "processing", 0.5),
    ]
    with pytest.raises(CritmatError, match="ir_processing"):
        eu_import_reliance(params.drop(columns="ir_processing"))
    # EU-sourcing lists omit countries below 1 %: 0.88 passes, 0.80 is flagged; a global mix
    # keeps the +-5 % band
    s = pd.concat(
        [
            mix("a", "extraction", "eu_sourcing", {"AUS": 0.5, "CHL": 0.38}),
            mix("b", "extraction", "eu_sourcing", {"AUS": 0.5, "CHL": 0.30}),
            mix("c", "extraction", "global", {"AUS": 0.5, "CHL": 0.38}),
        ]
    )
    _, flags = flag_supply_shares(s)
    assert set(flags["material"]) == {"b", "c"} and set(flags["flag"]) == {"share_sum_deviates"}
    assert SUM_LOWER_TOLERANCE == {"eu_sourcing": 0.15}
