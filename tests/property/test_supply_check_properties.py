"""Hypothesis properties of the supply-input checks (critmat.checks)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from critmat.checks import (
    SUPPLY_CHECK_FLAGS,
    check_eu_sourcing_copies_global,
    check_eu_sourcing_import_reliance,
    flag_supply_shares,
)

COUNTRIES = ["CHN", "RUS", "USA", "JPN", "BRA", "DEU", "BEL", "FRA", "ZAF", "AUS"]
EU = ["DEU", "BEL", "FRA"]

weights = st.lists(st.floats(min_value=0.01, max_value=100.0), min_size=2, max_size=10)


def frame(kind: str, shares: np.ndarray, material: str = "m") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "material": material,
            "stage": "processing",
            "mix": kind,
            "country": COUNTRIES[: len(shares)],
            "share": shares,
        }
    )


@given(weights)
def test_rounded_global_mix_is_found_as_a_copy(w: list[float]) -> None:
    glob = np.array(w) / np.sum(w)
    eu = np.round(glob, 2)  # as the EU tables print shares: whole percents
    keep = eu >= 0.01  # and drop countries below 1 %
    s = pd.concat([frame("global", glob), frame("eu_sourcing", eu)[keep]], ignore_index=True)
    assert len(check_eu_sourcing_copies_global(s)) == 1


@given(weights, st.integers(min_value=0, max_value=9), st.floats(min_value=0.02, max_value=0.3))
def test_moving_one_country_beyond_the_tolerance_is_no_copy(
    w: list[float], pick: int, shift: float
) -> None:
    glob = np.array(w) / np.sum(w)
    eu = glob.copy()
    i = pick % len(eu)
    eu[i] = eu[i] + shift
    s = pd.concat([frame("global", glob), frame("eu_sourcing", eu)], ignore_index=True)
    assert check_eu_sourcing_copies_global(s).empty


@given(weights, st.floats(min_value=0.0, max_value=0.09))
def test_import_reliance_inside_the_band_is_consistent(w: list[float], off: float) -> None:
    eu = np.array(w) / np.sum(w) * 0.95  # 5 % unlisted
    s = frame("eu_sourcing", eu)
    non_eu = float(eu[~s["country"].isin(EU).to_numpy()].sum())
    ir = pd.DataFrame(
        {"material": ["m"], "stage": ["processing"], "import_reliance": [max(0.0, non_eu - off)]}
    )
    assert check_eu_sourcing_import_reliance(s, ir, EU, tolerance=0.10).empty


@given(weights, st.floats(min_value=0.11, max_value=0.5))
def test_import_reliance_far_below_the_listed_non_eu_share_is_flagged(
    w: list[float], off: float
) -> None:
    eu = np.array(w) / np.sum(w)
    s = frame("eu_sourcing", eu)
    non_eu = float(eu[~s["country"].isin(EU).to_numpy()].sum())
    if non_eu - off < 0:
        return
    ir = pd.DataFrame(
        {"material": ["m"], "stage": ["processing"], "import_reliance": [non_eu - off]}
    )
    bad = check_eu_sourcing_import_reliance(s, ir, EU, tolerance=0.10)
    assert len(bad) == 1 and abs(float(bad["gap"].iloc[0]) - off) < 1e-9


@given(weights, weights, st.floats(min_value=0.0, max_value=1.0))
def test_marking_keeps_every_value_and_uses_known_flags(
    w1: list[float], w2: list[float], ir_value: float
) -> None:
    s = pd.concat(
        [
            frame("global", np.array(w1) / np.sum(w1)),
            frame("eu_sourcing", np.array(w2) / np.sum(w2) * 0.97),
            frame("global", np.array(w2) / np.sum(w2) * 0.8, material="n"),
        ],
        ignore_index=True,
    )
    ir = pd.DataFrame({"material": ["m"], "stage": ["processing"], "import_reliance": [ir_value]})
    out, flags = flag_supply_shares(s, import_reliance=ir, eu_countries=EU)
    pd.testing.assert_frame_equal(out.drop(columns="check_flag"), s)
    seen = {f for v in out["check_flag"].dropna() for f in v.split(";")}
    assert seen <= set(SUPPLY_CHECK_FLAGS) and seen == set(flags["flag"])
    # material n sums to 0.8: always flagged, on every row of its mix
    assert (out.loc[out["material"] == "n", "check_flag"] == "share_sum_deviates").all()
    # global rows never carry an EU-sourcing flag
    glob = out.loc[out["mix"] == "global", "check_flag"].dropna()
    assert not glob.str.contains("eu_sourcing").any()
