"""Pure EU CRM functions (critmat.methods.eu_crm) on small constructed inputs.

Expected numbers are worked out by hand next to each test (constructed examples, never data),
or are the METHODS.md §1.7 arithmetic check; no test recomputes a formula to compare with it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmat.errors import UnknownNameError
from critmat.methods.eu_crm import (
    CORRECTIONS,
    EuCrmInputs,
    agreement,
    apply_corrections,
    bottleneck,
    economic_importance,
    eu_crm_scores,
    group_means,
    hhi_wgi_t,
    is_critical,
    resolve_corrections,
    round_half_up,
    scaled_governance,
    supply_risk_by_stage,
)

WGI = pd.DataFrame({"country": ["AAA", "BBB"], "wgi_scaled": [6.0, 2.0]})


def _params(**kw: object) -> pd.DataFrame:
    row = {
        "material": "m",
        "stages_assessed": "processing",
        "si_ei": 1.0,
        "si_sr": 0.95,
        "ir_extraction": np.nan,
        "ir_processing": 0.9,
        "eol_rir": 0.1,
    }
    row.update(kw)
    return pd.DataFrame([row])


def _shares(rows: list[tuple[str, str, str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["material", "stage", "mix", "country", "share", "t"])


METHODS_17 = _shares(
    [
        # METHODS.md §1.7 (constructed): GS {A: 0.8, B: 0.2}, t {1.1, 1.0}; EUs {0.5, 0.5},
        # t {1.1, 0.8}
        ("m", "processing", "global", "AAA", 0.8, 1.1),
        ("m", "processing", "global", "BBB", 0.2, 1.0),
        ("m", "processing", "eu_sourcing", "AAA", 0.5, 1.1),
        ("m", "processing", "eu_sourcing", "BBB", 0.5, 0.8),
    ]
)


def test_methods_arithmetic_check_1_7() -> None:
    # METHODS.md §1.7: HHI_GS 4.304, HHI_EU 2.05, SR = 2.61998 -> 2.6 (IR 0.9, EoL 0.1,
    # SI_SR 0.95)
    hhi = hhi_wgi_t(METHODS_17, WGI)
    by_mix = hhi.set_index("mix")["hhi_wgi_t"]
    assert by_mix["global"] == pytest.approx(4.304)
    assert by_mix["eu_sourcing"] == pytest.approx(2.05)
    st = supply_risk_by_stage(hhi, _params())
    row = st.iloc[0]
    assert row["mix"] == "GS+EU"
    assert row["sr"] == pytest.approx(2.61998, abs=5e-6)
    assert round_half_up(row["sr"]) == pytest.approx(2.6)
    sr = bottleneck(st).iloc[0]
    assert sr["sr"] == pytest.approx(2.61998, abs=5e-6) and sr["stage_used"] == "processing"


def test_mix_rules() -> None:
    # constructed: the §1.7 mixes, GS HHI 4.304, EU HHI 2.05; factor (1 - 0.1) x 0.95 = 0.855
    gs_only = METHODS_17[METHODS_17["mix"] == "global"]
    eu_only = METHODS_17[METHODS_17["mix"] == "eu_sourcing"]
    cases = [
        (gs_only, _params(), "GSonly", 4.304 * 0.855),  # no EU rows
        (METHODS_17, _params(ir_processing=np.nan), "GSonly", 3.67992),  # IR missing
        (eu_only, _params(), "EUonly", 2.05 * 0.855),  # no global rows
        (METHODS_17, _params(ir_processing=0.0), "GS+EU", 1.75275),  # IR 0: EU mix only
    ]
    for shares, params, mix, expected in cases:
        row = supply_risk_by_stage(hhi_wgi_t(shares, WGI), params).iloc[0]
        assert row["mix"] == mix
        assert row["sr"] == pytest.approx(expected)


def test_group_eu_mix_fallback_and_override() -> None:
    # member 'm' has global rows only; its group 'g' has the EU rows -> GS+EU with g's mix
    shares = METHODS_17.assign(material=np.where(METHODS_17["mix"] == "global", "m", "g"))
    hhi = hhi_wgi_t(shares, WGI)
    st = supply_risk_by_stage(hhi, _params(), group_of={"m": "g"}).iloc[0]
    assert (st["mix"], st["eu_mix_of"]) == ("GS+EU", "g")
    assert st["sr"] == pytest.approx(2.61998, abs=5e-6)
    forced = supply_risk_by_stage(
        hhi_wgi_t(METHODS_17, WGI), _params(), mix_overrides={("m", "processing"): "GSonly"}
    ).iloc[0]
    assert forced["mix"] == "GSonly" and forced["sr"] == pytest.approx(4.304 * 0.855)


def test_missing_governance_is_nan_with_the_country_named() -> None:
    shares = _shares(
        [
            ("m", "processing", "global", "AAA", 0.7, 1.0),
            ("m", "processing", "global", "ZZZ", 0.3, 1.0),
        ]
    )
    hhi = hhi_wgi_t(shares, WGI)
    assert np.isnan(hhi["hhi_wgi_t"].iloc[0]) and hhi["missing_governance"].iloc[0] == "ZZZ"
    st = supply_risk_by_stage(hhi, _params()).iloc[0]
    assert np.isnan(st["sr"]) and "ZZZ" in st["note"]


def test_bottleneck_is_the_larger_stage_and_missing_when_a_stage_is() -> None:
    stages = pd.DataFrame(
        {
            "material": ["a", "a", "b", "b", "c"],
            "stage": ["extraction", "processing"] * 2 + ["processing"],
            "mix": ["GS+EU"] * 5,
            "sr": [0.5, 1.2, 0.1, 0.1, np.nan],
            "note": [None, None, None, None, "SI_SR missing in the inputs"],
        }
    )
    out = bottleneck(stages).set_index("material")
    assert out.loc["a", "sr"] == 1.2 and out.loc["a", "stage_used"] == "processing"
    assert out.loc["b", "stage_used"] == "extraction"  # tie: extraction (as Cu in 2023)
    assert np.isnan(out.loc["c", "sr"]) and out.loc["c", "stage_used"] is None
    assert "SI_SR" in out.loc["c", "note"]


def test_group_means() -> None:
    scores = pd.DataFrame(
        {"material": ["x", "y", "z"], "sr": [1.0, 3.0, 9.0], "ei": [2.0, np.nan, 4.0]}
    )
    out = group_means(scores, {"g": ["x", "y"], "h": ["x", "z"]}, ["sr", "ei"])
    out = out.set_index("material")
    assert out.loc["g", "sr"] == 2.0 and np.isnan(out.loc["g", "ei"])
    assert out.loc["g", "incomplete"] == "ei: y"
    assert (out.loc["h", "sr"], out.loc["h", "ei"], out.loc["h", "incomplete"]) == (5.0, 3.0, "")


def test_economic_importance_scales_to_the_largest_sector_of_the_table() -> None:
    # constructed: 'a' uses 50 % in a sector of VA 100 and 30 % in one of 200, 20 % has no
    # sector; SI_EI 0.9; the largest sector in the table (of 'b') has VA 400:
    # EI_a = 0.9 x (50 + 60) x 10 / 400 = 2.475; EI_b = 1.0 x 400 x 10 / 400 = 10
    end_use = pd.DataFrame(
        {
            "material": ["a", "a", "a", "b"],
            "share": [0.5, 0.3, 0.2, 1.0],
            "value_added_meur": [100.0, 200.0, np.nan, 400.0],
        }
    )
    out = economic_importance(end_use, pd.Series({"a": 0.9, "b": 1.0})).set_index("material")
    assert out.loc["a", "ei"] == pytest.approx(2.475)
    assert out.loc["b", "ei"] == pytest.approx(10.0)
    assert out.loc["a", "share_unallocated"] == pytest.approx(0.2)
    only_a = economic_importance(
        end_use[end_use["material"] == "a"], pd.Series({"a": 0.9}), reference_va=400.0
    )
    assert only_a["ei"].iloc[0] == pytest.approx(2.475)
    no_si = economic_importance(end_use, pd.Series({"b": 1.0})).set_index("material")
    assert np.isnan(no_si.loc["a", "ei"]) and "SI_EI" in no_si.loc["a", "note"]


def test_scaled_governance_mean_over_years_and_pv_measure() -> None:
    gov = pd.DataFrame(
        {
            "country": ["A", "A", "B", "B"],
            "year": [2016, 2017, 2016, 2017],
            "wgi_mean": [0.5, 0.3, np.nan, -3.0],
            "pv": [1.0, 1.0, 0.0, 0.0],
        }
    )
    out = scaled_governance(gov, [2016, 2017]).set_index("country")
    # A: (4.0 + 4.4) / 2 = 4.2; B: 2016 missing, 2017 clipped at -2.5 -> 10
    assert out.loc["A", "wgi_scaled"] == pytest.approx(4.2)
    assert (out.loc["B", "wgi_scaled"], out.loc["B", "n_years"]) == (10.0, 1)
    pv = scaled_governance(gov, [2017], measure="pv").set_index("country")["wgi_scaled"]
    assert pv.to_dict() == {"A": 3.0, "B": 5.0}


def test_rounding_agreement_and_thresholds() -> None:
    assert round_half_up([0.25, 0.35, 2.65, 1.04999]).tolist() == [0.3, 0.4, 2.7, 1.0]
    agree = agreement(pd.Series([0.46, 1.199, np.nan, 2.13]), pd.Series([0.4, 1.2, 0.3, 2.1]))
    assert agree.tolist() == [False, True, pd.NA, True]
    crit = is_critical(
        pd.Series([0.96, 0.94, 1.2, np.nan, 0.5]), pd.Series([2.75, 9.0, np.nan, 1.0, np.nan])
    )
    # 0.96 -> 1.0 and 2.75 -> 2.8 (one decimal, as published); missing EI -> unknown unless
    # the other score already rules criticality out
    assert crit.tolist() == [True, False, pd.NA, False, False]
    assert is_critical(pd.Series([0.96]), pd.Series([3.0]), decimals=None).tolist() == [False]


def test_corrections_resolve_and_apply_without_touching_the_input() -> None:
    assert resolve_corrections(False) == [] and resolve_corrections("none") == []
    assert resolve_corrections(True) == list(CORRECTIONS) == resolve_corrections("all")
    assert resolve_corrections("kaolin_eol, mix_labels") == ["kaolin_eol", "mix_labels"]
    with pytest.raises(UnknownNameError, match="did you mean 'kaolin_eol'"):
        resolve_corrections(["kaolin_eoll"])
    params = pd.DataFrame(
        {
            "material": ["kaolin", "titanium", "titanium_metal"],
            "stages_assessed": ["extraction", "extraction", "extraction"],
            "si_ei": [0.9, 0.9, 1.0],
            "si_sr": [0.9, 0.9, 1.0],
            "ir_extraction": [0.28, 1.0, np.nan],
            "ir_processing": [np.nan] * 3,
            "eol_rir": [0.31, 0.0, 0.0],
        }
    )
    shares = _shares(
        [
            ("titanium", "extraction", "global", "AAA", 1.0, 1.0),
            ("titanium_metal", "extraction", "global", "BBB", 1.0, 1.0),
        ]
    )
    end_use = pd.DataFrame({"material": ["titanium"], "share": [1.0], "value_added_meur": [10.0]})
    inputs = EuCrmInputs(shares=shares, parameters=params, end_use=end_use)
    fixed = apply_corrections(inputs, list(CORRECTIONS))
    p = fixed.parameters.set_index("material")
    assert p.loc["kaolin", "eol_rir"] == 0.0 and p.loc["titanium_metal", "ir_extraction"] == 1.0
    tm = fixed.shares[fixed.shares["material"] == "titanium_metal"]
    assert tm["country"].tolist() == ["AAA"]
    assert fixed.end_use["material"].tolist() == ["titanium_metal"]
    assert fixed.mix_overrides[("ytterbium", "processing")] == "GSonly"
    assert inputs.parameters.loc[0, "eol_rir"] == 0.31  # the caller's frames are untouched
    assert inputs.end_use["material"].tolist() == ["titanium"]


def test_eu_crm_scores_groups_and_flags() -> None:
    shares = pd.concat([METHODS_17, METHODS_17.assign(material="n")], ignore_index=True)
    params = pd.concat(
        [_params(), _params(material="n", si_sr=0.5), _params(material="g")], ignore_index=True
    )
    end_use = pd.DataFrame(
        {"material": ["m", "n"], "share": [1.0, 1.0], "value_added_meur": [100.0, 50.0]}
    )
    scores, stages = eu_crm_scores(
        EuCrmInputs(shares, params, end_use), WGI, groups={"g": ["m", "n"]}
    )
    s = scores.set_index("material")
    # m: SR 2.61998, EI = 1.0 x 100 x 10 / 100 = 10; n: SR 2.61998 x 0.5 / 0.95, EI 5
    assert s.loc["m", "sr"] == pytest.approx(2.61998, abs=5e-6)
    assert s.loc["m", "ei"] == pytest.approx(10)
    assert s.loc["n", "sr"] == pytest.approx(1.379, abs=1e-3)
    assert s.loc["g", "sr"] == pytest.approx((2.61998 + 1.379) / 2, abs=1e-3)
    assert s.loc["g", "ei"] == pytest.approx(7.5) and bool(s.loc["g", "is_group"])
    assert bool(s.loc["m", "critical"]) and bool(s.loc["n", "critical"])
    assert set(stages["material"]) == {"m", "n"}


def test_doctests() -> None:
    import doctest

    import critmat.indicators.eu_crm as indicator
    import critmat.methods.eu_crm as method

    for module in (method, indicator):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
