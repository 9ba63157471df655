"""Properties of the supplier-mix fallback (critmat.methods.supply, issue 12 item 5)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmat.methods.supply import supplier_mix

COUNTRIES = [f"C{i}" for i in range(8)]


@st.composite
def _mixes(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str], float]:
    n = draw(st.integers(2, 8))
    weights = draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n))
    total = sum(weights)
    eu = draw(st.lists(st.sampled_from(COUNTRIES[:n]), unique=True, max_size=n))
    ir = draw(st.floats(0.001, 1.0))
    frame = pd.DataFrame(
        {
            "vintage": "v",
            "reference_years": "2020",
            "material": "m",
            "stage": "processing",
            "mix": ["global"] * n + ["eu_sourcing"],
            "country": [*COUNTRIES[:n], "C0"],
            "share": [*(w / total for w in weights), 1.0],
            "check_flag": [None] * n + ["eu_sourcing_copies_global"],
        }
    )
    return frame, eu, ir


@given(_mixes())
def test_split_sums_to_the_global_total_and_gives_ir_to_non_eu(
    case: tuple[pd.DataFrame, list[str], float],
) -> None:
    frame, eu, ir = case
    irf = pd.DataFrame({"material": ["m"], "stage": ["processing"], "import_reliance": [ir]})
    m = supplier_mix(frame, ["m"], stages=["processing"], import_reliance=irf, eu_countries=eu)
    assert set(m["mix_status"]) == {"eu_sourcing_inconsistent"}
    assert m["share"].sum() == pytest.approx(1.0)
    assert (m["share"] >= 0).all()
    outside = ~m["country"].isin(eu)  # non-EU countries and an unattributed part
    member = m["country"].isin(eu)
    assert m.loc[outside & m["country"].notna(), "share"].sum() == pytest.approx(
        ir if len(eu) < len(frame) - 1 else 0.0
    )
    assert m.loc[member, "share"].sum() == pytest.approx(1 - ir if eu else 0.0)


@given(_mixes())
def test_unflagged_eu_sourcing_is_used_as_published(
    case: tuple[pd.DataFrame, list[str], float],
) -> None:
    frame, eu, _ = case
    clean = frame.assign(check_flag=None)
    m = supplier_mix(clean, ["m"], stages=["processing"], eu_countries=eu)
    assert set(m["mix_used"]) == {"eu_sourcing"} and set(m["mix_status"]) == {"ok"}
    assert m["share"].tolist() == [1.0]
