"""Properties of the defence layer (issue 5, point 8): linearity, monotonicity, zero cut."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from critmat.defence.bom import DemandSource, annual_demand
from critmat.defence.capability import served_share, simulate_builds
from critmat.defence.energy import allocate_shortfall
from critmat.defence.exposure import supplier_exposure, supply_mix
from critmat.knowledge_base import KnowledgeBase

MATERIALS = ["gallium", "germanium", "tungsten", "cobalt", "rare_earths", "lithium"]

bom_rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C"]),
        st.sampled_from(["c1", "c2"]),
        st.sampled_from(MATERIALS),
        st.floats(0.0, 5_000.0),
    ),
    min_size=1,
    max_size=12,
    unique_by=lambda r: r[:3],
)
rates = st.fixed_dictionaries({s: st.floats(0.0, 500.0) for s in ("A", "B", "C")})


@pytest.fixture(scope="module")
def shares(kb: KnowledgeBase) -> pd.DataFrame:
    return supply_mix(kb.eu_crm_2023(materials=[*MATERIALS, "neodymium"]), MATERIALS)


def _frames(
    rows: list[tuple[str, str, str, float]], r: dict[str, float], k: float = 1.0
) -> pd.DataFrame:
    bom = pd.DataFrame(
        {
            "system": [x[0] for x in rows],
            "component": [x[1] for x in rows],
            "material": [x[2] for x in rows],
            "kg_per_unit": [x[3] for x in rows],
            "kind": "user",
            "substitutable_share": 0.0,
            "source_id": "p",
        }
    )
    rt = pd.DataFrame(
        {
            "programme": "P",
            "system": list(r),
            "units_per_year": [v * k for v in r.values()],
            "priority": 1.0,
            "kind": "user",
            "source_id": "q",
        }
    )
    d = annual_demand(bom, rt)
    return d[d["status"] == "ok"].rename(columns={"demand_t": "demand_t_per_year"})


@given(rows=bom_rows, r=rates, k=st.floats(0.01, 100.0))
def test_exposure_is_linear_in_the_build_rate(
    shares: pd.DataFrame, rows: list[tuple[str, str, str, float]], r: dict[str, float], k: float
) -> None:
    base = supplier_exposure(_frames(rows, r), shares)
    scaled = supplier_exposure(_frames(rows, r, k), shares)
    key = ["system", "material", "stage", "country"]
    a = base.set_index(key)["exposed_t"].sort_index()
    b = scaled.set_index(key)["exposed_t"].sort_index()
    np.testing.assert_allclose(b.to_numpy(), k * a.to_numpy(), rtol=1e-9, atol=1e-9)


cut_inputs = st.integers(1, 5).flatmap(
    lambda j: st.integers(1, 4).flatmap(
        lambda m: st.tuples(
            arrays(bool, (j, m)),
            arrays(float, j, elements=st.floats(0.0, 50.0)),
            arrays(float, m, elements=st.floats(0.0, 1.0)),
            arrays(float, m, elements=st.floats(0.0, 6.0)),
            arrays(float, (j, m), elements=st.floats(0.0, 1.0)),
        )
    )
)


@given(inp=cut_inputs, c1=st.floats(0.0, 1.0), c2=st.floats(0.0, 1.0), months=st.integers(0, 24))
def test_systems_lost_is_monotone_in_the_cut(
    inp: tuple[np.ndarray, ...], c1: float, c2: float, months: int
) -> None:
    uses, rate, w, stock, sub = inp
    lo, hi = sorted((c1, c2))
    for kw in ({}, {"stock_months": stock}, {"substitutable": sub, "stock_months": stock}):
        small, _ = simulate_builds(uses, rate, served_share(lo * w), months, **kw)
        large, _ = simulate_builds(uses, rate, served_share(hi * w), months, **kw)
        assert (small <= large + 1e-9).all()
        assert (large <= rate[:, None] + 1e-9).all()


@given(inp=cut_inputs, months=st.integers(0, 24))
def test_zero_cut_loses_nothing(inp: tuple[np.ndarray, ...], months: int) -> None:
    uses, rate, w, _, _ = inp
    lost, lim = simulate_builds(uses, rate, served_share(0.0 * w), months)
    assert (lost == 0).all() and (lim == -1).all()


@given(
    dem=arrays(float, 3, elements=st.floats(0.0, 10.0)),
    avail=st.floats(0.0, 40.0),
    rule=st.sampled_from(["defence_first", "energy_first", "pro_rata"]),
)
def test_allocation_serves_what_is_available(dem: np.ndarray, avail: float, rule: str) -> None:
    frame = pd.DataFrame(
        {"material": "x", "sector": ["defence", "energy_transition", "other"], "demand": dem}
    )
    out = allocate_shortfall(frame, pd.Series({"x": avail}), rule=rule)
    assert out["served"].sum() == pytest.approx(min(avail, dem.sum()), abs=1e-9)
    assert (out["served"] <= out["demand"] + 1e-12).all() and (out["served"] >= 0).all()


def test_capability_at_risk_on_the_kb(kb: KnowledgeBase) -> None:
    zero = kb.defence.capability_at_risk(cut=0.0, months=12)
    assert (zero[["not_built_fixed", "not_built_mitigated"]] == 0).all().all()
    cuts = [
        kb.defence.capability_at_risk(cut=c, months=6)["not_built_fixed"].to_numpy()
        for c in (0.25, 0.5, 1.0)
    ]
    assert (np.diff(np.vstack(cuts), axis=0) >= -1e-12).all()
    assert (cuts[-1] > 0).all()
    half = kb.defence.exposure(by="material", stage="processing")
    double = kb.defence.exposure(
        by="material",
        stage="processing",
        demand=DemandSource(
            build_rates=kb.defence.build_rates().assign(
                units_per_year=lambda f: 2 * f["units_per_year"]
            )
        ),
    )
    assert double["china_t"].iloc[0] == pytest.approx(2 * half["china_t"].iloc[0])


# ---------------------------------------------------------------- defence importance (issue 12)

_CRIT = ["essential", "important", "minor", "unknown"]
_SUBS = ["none", "limited", "possible", "unknown"]
_CLASSES = ["submarine", "radar", "guided missile", "military aircraft"]

use_rows = st.lists(
    st.tuples(st.sampled_from(_CLASSES), st.sampled_from(_CRIT), st.sampled_from(_SUBS)),
    min_size=1,
    max_size=10,
)


def _uses(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    n = len(rows)
    return pd.DataFrame(
        {
            "use_id": [f"u{i}" for i in range(n)],
            "material": ["x"] * n,
            "system_class": [r[0] for r in rows],
            "system": [None] * n,
            "component_criticality": [r[1] for r in rows],
            "criticality_basis": ["curation"] * n,
            "substitutability": [r[2] for r in rows],
            "source_id": ["s"] * n,
            "secondary_source": [False] * n,
        }
    )


_NO_GROUPS = pd.DataFrame(
    {"member": pd.Series([], dtype=object), "group": pd.Series([], dtype=object)}
)


@given(use_rows, use_rows)
def test_importance_never_falls_when_a_use_is_added(
    rows: list[tuple[str, str, str]], extra: list[tuple[str, str, str]]
) -> None:
    from critmat.defence.criticality import importance_from_uses

    b0 = float(importance_from_uses(_uses(rows), _NO_GROUPS)["breadth"].iloc[0])
    b1 = float(importance_from_uses(_uses(rows + extra), _NO_GROUPS)["breadth"].iloc[0])
    assert b1 >= b0 - 1e-12
    # bounded by the number of system classes (each weighs at most 1)
    assert b1 <= len({r[0] for r in rows + extra}) + 1e-12


@given(use_rows)
def test_repeating_a_citation_changes_nothing(rows: list[tuple[str, str, str]]) -> None:
    from critmat.defence.criticality import importance_from_uses

    once = importance_from_uses(_uses(rows), _NO_GROUPS)["breadth"].iloc[0]
    twice = importance_from_uses(_uses(rows + rows), _NO_GROUPS)["breadth"].iloc[0]
    assert twice == pytest.approx(once)
