"""The checks of the policy build part (scripts/build_parts/policy.py) can fail.

The dataset build stops when a seed event is missing or misdated, or when the DoD 2013 table's
arithmetic breaks; these tests feed the same check functions constructed inputs.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

PART = Path(__file__).resolve().parents[2] / "scripts" / "build_parts" / "policy.py"


@pytest.fixture(scope="module")
def policy() -> ModuleType:
    if not PART.exists():
        pytest.skip("scripts/ not shipped with this copy of the tests")
    spec = importlib.util.spec_from_file_location("critmat_build_part_policy", PART)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


SEED = """intro: 2008年，稀土材料被美国能源部列为“关键材料战略”
  欧盟
  2009年
  2009年5月，欧盟工业部长力挺RMI
  2010年6月17日，欧盟主管原材料政策的官员表示
  美国
  2010年12月15日，美国能源部(DOE)发布《关键材料战略》
  日本
  2001年以来
  出台有关环境、资源综合利用、废弃物处理等一系列法律。
"""

SHARED = pd.DataFrame(
    {
        "event_id": ["SEED-INTRO-01", "SEED-EU-03", "SEED-EU-08", "SEED-US-08", "SEED-JP-04"],
        "date": ["2008", "2009-05", "2010-06-17", "2010-12-15", "2001 onward"],
        "date_precision": ["year", "month", "day", "day", "period"],
        "source_seed": ["source: seed 002 timeline"] * 5,
    }
)


def _built(policy: ModuleType, shared: pd.DataFrame) -> pd.DataFrame:
    parsed = [policy.parse_event_date(t) for t in shared["date"]]
    return pd.DataFrame(
        {
            "event_id": shared["event_id"],
            "date": [pd.Timestamp(p[0]) for p in parsed],
            "date_text": shared["date"],
            "date_precision": [p[2] for p in parsed],
            "in_seed": True,
        }
    )


@pytest.fixture
def counts(policy: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy, "SEED_COUNTS", {"INTRO": 1, "EU": 2, "US": 1, "JP": 1})


@pytest.mark.usefixtures("counts")
def test_seed_check_passes_on_a_complete_table(policy: ModuleType) -> None:
    assert policy.check_seed_events(SHARED, _built(policy, SHARED), SEED) == []


@pytest.mark.usefixtures("counts")
def test_seed_check_fails_on_a_missing_or_misdated_event(policy: ModuleType) -> None:
    built = _built(policy, SHARED)
    missing = policy.check_seed_events(SHARED, built.iloc[1:], SEED)
    assert missing == ["seed event SEED-INTRO-01 (2008) is missing from policy_events"]
    wrong = built.copy()
    wrong.loc[2, "date"] = pd.Timestamp("2010-06-18")
    problems = policy.check_seed_events(SHARED, wrong, SEED)
    assert len(problems) == 1 and "SEED-EU-08" in problems[0]
    # a date the seed does not write in the event's section
    shifted = SHARED.copy()
    shifted.loc[3, "date"] = "2010-12-16"
    problems = policy.check_seed_events(shifted, _built(policy, shifted), SEED)
    assert problems == [
        "seed event SEED-US-08: date 2010-12-16 (2010年12月16日 or 同年12月16日) not found in "
        "the seed's US section"
    ]
    short = policy.check_seed_events(SHARED.iloc[:4], _built(policy, SHARED), SEED)
    assert "seed events per section" in short[0]


def test_event_dates_parse(policy: ModuleType) -> None:
    assert policy.parse_event_date("2010-07-12/2010-07-13") == ("2010-07-12", "2010-07-13", "day")
    assert policy.parse_event_date("2008-09") == ("2008-09-01", None, "month")
    assert policy.parse_event_date("2010 (early)") == ("2010-01-01", None, "period")
    with pytest.raises(ValueError, match="unrecognised date 'spring 2010'"):
        policy.parse_event_date("spring 2010")
    assert policy.seed_date_patterns("2012-07-23", "day") == ["2012年7月23日", "同年7月23日"]


def _dod_rows() -> pd.DataFrame:
    # two rows of Table 10-1 (antimony, gallium) and the Tb/Tm pair, scaled to small totals
    return pd.DataFrame(
        {
            "listed_name": ["Antimony", "Gallium", "Terbium", "Thulium"],
            "base_units": [22575.0, 17686.0, None, None],
            "base_musd": [182.04, 10.48, None, None],
            "extra_buy_units": [15195.0, 13750.0, None, None],
            "extra_buy_musd": [122.53, 8.15, None, None],
            "reduction_units": [7379.0, 3936.0, 0.0, 0.0],
            "reduction_musd": [59.5, 2.33, 0.0, 0.0],
            "values_text": [
                None,
                None,
                "base 20 or 7 units / $M 3.31 or 7.16; with extra buy 20 or 7 / $M 3.31 or 7.16",
                "base 7 or 20 units / $M 7.16 or 3.31; with extra buy 7 or 20 / $M 7.16 or 3.31",
            ],
        }
    )


def test_dod_check_catches_broken_arithmetic(
    policy: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = 182.04 + 10.48 + 3.31 + 7.16  # 203.00
    extra = 122.53 + 8.15 + 3.31 + 7.16  # 141.15
    monkeypatch.setattr(policy, "DOD_TOTALS", (base, extra, base - extra))
    monkeypatch.setattr(policy, "DOD_KNOWN_GAP_MUSD", 0.0)
    rows = _dod_rows()
    assert policy.check_dod_table(rows) == []
    broken = rows.copy()
    broken.loc[0, "reduction_musd"] = 60.5
    problems = policy.check_dod_table(broken)
    assert any(p.startswith("Antimony: $M") for p in problems)
    assert any("reduction column misses the published total" in p for p in problems)
    monkeypatch.setattr(policy, "DOD_TOTALS", (base + 1, extra, base - extra))
    assert any(p.startswith("base column sums to") for p in policy.check_dod_table(rows))


def test_mass_fractions(policy: ModuleType) -> None:
    # Li2CO3: 2 x 6.94 / (2 x 6.94 + 12.011 + 3 x 15.999) = 0.18785
    assert policy.mass_fraction("Li2CO3", "Li") == pytest.approx(13.88 / 73.888)
    # MnSO4.H2O: 54.938 / 169.009 = 0.32506
    assert policy.mass_fraction("MnSO4·H2O", "Mn") == pytest.approx(0.32506, abs=1e-5)
