"""Engine invariants as properties: conservation, no shock no shortfall, monotonicity."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from critmat.scenarios.engine import (
    UNLIMITED,
    ShockDraws,
    StaticInputs,
    check_stock_flow_balance,
    simulate,
)

unit = st.floats(0.0, 1.0)
months = st.floats(0.0, 30.0)


@st.composite
def scenarios(draw: Any) -> tuple[StaticInputs, ShockDraws]:
    m = draw(st.integers(1, 3))
    k = draw(st.integers(1, 2))
    w = np.array([[draw(st.floats(0.0, 1.0 / k)) for _ in range(m)] for _ in range(k)])
    r = draw(st.integers(0, 2))
    static = StaticInputs.simple(
        horizon=draw(st.integers(1, 36)),
        shock_weight=w,
        defence_share=np.array([draw(unit) for _ in range(m)]),
        stock0=np.array([draw(st.floats(0.0, 4.0)) for _ in range(m)]),
        release_cap=np.array([draw(st.sampled_from([UNLIMITED, 0.1, 0.5])) for _ in range(m)]),
        release_delay=np.array([draw(st.floats(0.0, 3.0)) for _ in range(m)]),
        release_defence=np.array([draw(st.booleans()) for _ in range(m)]),
        replenish=np.array([draw(st.sampled_from([0.0, 0.2])) for _ in range(m)]),
        credit_material=np.array([draw(st.integers(0, m - 1)) for _ in range(r)], dtype=np.int64),
        credit_max=np.array([draw(st.floats(0.0, 0.5)) for _ in range(r)]),
        credit_lead=np.array([draw(st.floats(0.0, 6.0)) for _ in range(r)]),
        credit_ramp=np.array([draw(st.floats(0.0, 6.0)) for _ in range(r)]),
        credit_start=np.array([draw(st.booleans()) for _ in range(r)]),
        credit_shock=np.array(
            [[float(draw(st.booleans())) for _ in range(r)] for _ in range(k)]
        ).reshape(k, r),
        restraint_share=np.array([draw(st.sampled_from([0.0, 0.2])) for _ in range(m)]),
        restraint_ramp=np.array([draw(st.floats(0.0, 3.0)) for _ in range(m)]),
        defence_first=draw(st.booleans()),
    )
    n = draw(st.integers(1, 4))

    def col(strategy: Any) -> np.ndarray:
        return np.array([[draw(strategy) for _ in range(k)] for _ in range(n)])

    draws = ShockDraws(
        onset=col(st.floats(0.0, 20.0)),
        duration=col(months),
        severity=col(unit),
        leakage=col(unit),
        ramp=col(st.floats(0.0, 4.0)),
        occurs=col(st.booleans()).astype(bool),
    )
    return static, draws


@given(scenarios())
def test_stock_change_equals_inflow_minus_outflow(case: tuple[StaticInputs, ShockDraws]) -> None:
    static, draws = case
    r = simulate(static, draws, detail=True)
    assert check_stock_flow_balance(r, tol=1e-9) <= 1e-9
    assert (r["shortfall_f64"] >= -1e-12).all() and (r["release"] >= 0).all()
    assert (r["defence_shortfall"] <= r["shortfall_f64"] + 1e-9).all()


@given(scenarios())
def test_no_shock_no_shortfall(case: tuple[StaticInputs, ShockDraws]) -> None:
    static, draws = case
    r = simulate(static, replace(draws, severity=np.zeros_like(draws.severity)))
    assert r["cum_shortfall"].max() == 0 and (r["price"] == 1).all()
    r = simulate(static, replace(draws, occurs=np.zeros_like(draws.occurs)))
    assert r["cum_shortfall"].max() == 0


@given(scenarios(), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_shortfall_monotone_in_severity(
    case: tuple[StaticInputs, ShockDraws], a: float, b: float
) -> None:
    static, draws = case
    lo, hi = sorted((a, b))
    low = simulate(static, replace(draws, severity=draws.severity * lo))
    high = simulate(static, replace(draws, severity=draws.severity * hi))
    assert (high["cum_shortfall"] >= low["cum_shortfall"] - 1e-9).all()
    assert (high["cum_supply_gap"] >= low["cum_supply_gap"] - 1e-9).all()


@given(scenarios(), st.floats(0.0, 24.0))
def test_shortfall_monotone_in_duration(
    case: tuple[StaticInputs, ShockDraws], extra: float
) -> None:
    # demand restraint lasts as long as the shock, so a longer shock can cut demand by more
    # than it cuts supply (restraint 20 % vs a cut of 12.5 % after leakage): without
    # restraint, a longer shock never lowers the shortfall
    static, draws = case
    static = replace(static, restraint_share=np.zeros_like(static.restraint_share))
    short = simulate(static, draws)
    longer = simulate(static, replace(draws, duration=draws.duration + extra))
    assert (longer["cum_shortfall"] >= short["cum_shortfall"] - 1e-9).all()


@given(scenarios())
def test_monthly_outputs_within_the_sketch_bounds(case: tuple[StaticInputs, ShockDraws]) -> None:
    # the monthly sketch relies on these bounds (runner.monthly_bounds) holding by
    # construction, up to rounding
    from critmat.scenarios.runner import monthly_bounds

    static, draws = case
    r = simulate(static, draws, layout="tsm")
    lo, hi = monthly_bounds(static)
    for var in ("shortfall", "stock", "price"):
        assert (r[var] >= lo[var] - 1e-12).all(), var
        assert (r[var] <= hi[var] + 1e-12).all(), var
