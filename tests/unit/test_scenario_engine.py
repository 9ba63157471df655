"""The monthly stock-flow engine (METHODS.md §6.2): cases worked by hand, rules, invariants.

Every supply share, stock and defence number below is constructed to check arithmetic; none
is data.
"""

from __future__ import annotations

import numpy as np
import pytest

from critmat.scenarios import stats
from critmat.scenarios.engine import (
    UNLIMITED,
    ShockDraws,
    StaticInputs,
    check_stock_flow_balance,
    simulate,
)


def one(static: StaticInputs, **draw: float) -> dict[str, np.ndarray]:
    return simulate(static, ShockDraws.fixed(1, k=static.n_shocks, **draw), detail=True)


def test_hand_worked_stock_case() -> None:
    # (constructed) the exporter supplies 60 % of EU demand and cuts it for 10 months; a
    # quarter leaks through third countries, so 0.6 * 0.75 = 0.45 of monthly demand is lost.
    # A stock of 2 months of demand covers months 0-3 fully (4 x 0.45 = 1.8) and 0.2 of
    # month 4; then 0.45 is short each month until the cut ends after month 9.
    st = StaticInputs.simple(horizon=12, shock_weight=[[0.6]], stock0=[2.0])
    r = one(st, onset=0, duration=10, severity=1.0, leakage=0.25)
    short = r["shortfall_f64"][0, 0]
    np.testing.assert_allclose(
        short, [0, 0, 0, 0, 0.25, 0.45, 0.45, 0.45, 0.45, 0.45, 0, 0], atol=1e-12
    )
    np.testing.assert_allclose(
        r["stock_path"][0, 0], [1.55, 1.1, 0.65, 0.2] + [0.0] * 8, atol=1e-12
    )
    assert r["cum_shortfall"][0, 0] == pytest.approx(4.5 - 2.0)  # total cut minus the stock
    assert r["months_to_stockout"][0, 0] == 4.0  # stocks last 4 months after the onset
    assert r["first_shortfall_month"][0, 0] == 4.0
    # price while 45 % is short: (1 - 0.45)^(1 / (-0.3 - 0.2)) = 0.55^-2
    assert r["price_f64"][0, 0, 5] == pytest.approx(0.55**-2)
    assert r["price_f64"][0, 0, 0] == 1.0
    check_stock_flow_balance(r)


def test_price_response_matches_methods_4_2() -> None:
    # METHODS.md §4.2 arithmetic check (constructed): phi' = 0.5, e_S = 0.2, e_D = -0.3
    # -> P*/P0 = 0.5^(-2) = 4.0 and Q*/Q0 = 4^(-0.3) = 0.6598
    st = StaticInputs.simple(horizon=3, shock_weight=[[0.5]])
    r = one(st, onset=0, duration=3, severity=1.0)
    assert r["price_f64"][0, 0, 1] == pytest.approx(4.0)
    assert pytest.approx(0.6598, abs=1e-4) == 4.0**-0.3
    capped = StaticInputs.simple(horizon=3, shock_weight=[[1.0]], max_price_ratio=7.5)
    assert one(capped, duration=3)["price_f64"][0, 0, 1] == 7.5


def test_fractional_onset_and_ramp() -> None:
    # cut starts at month 0.5, ramps linearly to full over 1 month, lasts 2 months:
    # month 0: integral of (t - 0.5) over [0.5, 1) = 0.125
    # month 1: integral over [1, 1.5) = 0.375, plus 0.5 at full strength = 0.875
    # month 2: [2, 2.5) at full strength = 0.5; total 1.5 = duration - ramp / 2
    st = StaticInputs.simple(horizon=4, shock_weight=[[1.0]])
    r = one(st, onset=0.5, duration=2.0, ramp=1.0)
    np.testing.assert_allclose(r["shortfall_f64"][0, 0], [0.125, 0.875, 0.5, 0.0], atol=1e-12)


def test_defence_first_and_systems_not_built() -> None:
    # (constructed) material A loses half its supply for 3 months, B is untouched; defence
    # takes 60 % of A and 20 % of B. System S1 (10 a month) needs A and B, S2 (5 a month) B.
    st = StaticInputs.simple(
        horizon=4,
        shock_weight=[[0.5, 0.0]],
        defence_share=[0.6, 0.2],
        system_rate=np.array([10.0, 5.0]),
        system_uses=np.array([[True, True], [False, True]]),
        defence_first=True,
    )
    r = one(st, duration=3)
    # defence first: defence gets all 0.5 of A's supply, 0.5/0.6 of its need
    np.testing.assert_allclose(r["defence_shortfall"][0, 0], [0.1, 0.1, 0.1, 0.0], atol=1e-12)
    nb = r["cum_systems_not_built"][0]
    assert nb[0] == pytest.approx(3 * 10 * (1 - 0.5 / 0.6))
    assert nb[1] == 0.0
    # pro rata (the market): defence gets half of its need, so S1 builds half
    pro = simulate(
        StaticInputs.simple(
            horizon=4,
            shock_weight=[[0.5, 0.0]],
            defence_share=[0.6, 0.2],
            system_rate=np.array([10.0, 5.0]),
            system_uses=np.array([[True, True], [False, True]]),
        ),
        ShockDraws.fixed(1, duration=3),
    )
    assert pro["cum_systems_not_built"][0, 0] == pytest.approx(15.0)
    assert pro["cum_defence_shortfall"][0, 0] == pytest.approx(3 * 0.3)


def test_release_cap_delay_reserve_and_defence_only() -> None:
    # (constructed) the whole supply is cut from month 0 for 4 months; stock 1.0, reserve
    # 0.4 (never released), cap 0.25 a month, released from month 1 on.
    st = StaticInputs.simple(
        horizon=5,
        shock_weight=[[1.0]],
        stock0=[1.0],
        release_cap=np.array([0.25]),
        release_delay=np.array([1.0]),
        reserve=np.array([0.4]),
    )
    r = one(st, duration=4)
    np.testing.assert_allclose(r["release"][0, 0], [0, 0.25, 0.25, 0.1, 0], atol=1e-12)
    np.testing.assert_allclose(r["stock_path"][0, 0], [1.0, 0.75, 0.5, 0.4, 0.4], atol=1e-12)
    assert r["months_to_stockout"][0, 0] == 3.0  # the releasable part ran out in month 3
    # a defence-only stock covers only the defence gap (defence share 0.3)
    st = StaticInputs.simple(
        horizon=3,
        shock_weight=[[1.0]],
        stock0=[5.0],
        defence_share=[0.3],
        release_defence=np.array([True]),
    )
    r = one(st, duration=2)
    np.testing.assert_allclose(r["release"][0, 0], [0.3, 0.3, 0.0], atol=1e-12)
    np.testing.assert_allclose(r["defence_shortfall"][0, 0], [0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(r["shortfall_f64"][0, 0], [0.7, 0.7, 0.0], atol=1e-12)


def test_partner_ramp_restraint_and_partner_cut() -> None:
    # (constructed) half the supply is cut from month 0 on; a partner with capacity 0.3
    # starts 2 months after the onset and ramps up over 2 months:
    # month 2: mean of (t-2)/2 over [2,3) = 0.25 -> 0.075; month 3: 0.75 -> 0.225; then 0.3
    partner = {
        "credit_material": np.array([0]),
        "credit_max": np.array([0.3]),
        "credit_lead": np.array([2.0]),
        "credit_ramp": np.array([2.0]),
        "credit_start": np.array([False]),
        "credit_shock": np.zeros((1, 1)),
    }
    st = StaticInputs.simple(horizon=6, shock_weight=[[0.5]], **partner)
    r = one(st)
    np.testing.assert_allclose(r["credit"][0, 0], [0, 0, 0.075, 0.225, 0.3, 0.3], atol=1e-12)
    np.testing.assert_allclose(
        r["shortfall_f64"][0, 0], [0.5, 0.5, 0.425, 0.275, 0.2, 0.2], atol=1e-12
    )
    # the same partner in the cut country delivers nothing
    hit = {**partner, "credit_shock": np.ones((1, 1))}
    r = one(StaticInputs.simple(horizon=6, shock_weight=[[0.5]], **hit))
    assert r["credit"].max() == 0.0
    # civil demand restraint of 20 % during the cut: gap 0.8 - 0.5 = 0.3
    st = StaticInputs.simple(horizon=3, shock_weight=[[0.5]], restraint_share=np.array([0.2]))
    r = one(st, duration=2)
    np.testing.assert_allclose(r["demand"][0, 0], [0.8, 0.8, 1.0], atol=1e-12)
    np.testing.assert_allclose(r["shortfall_f64"][0, 0], [0.3, 0.3, 0.0], atol=1e-12)


def test_replenishment_after_the_cut() -> None:
    st = StaticInputs.simple(
        horizon=6, shock_weight=[[1.0]], stock0=[1.0], replenish=np.array([0.25])
    )
    r = one(st, duration=1)
    np.testing.assert_allclose(r["stock_path"][0, 0], [0.0, 0.25, 0.5, 0.75, 1.0, 1.0], atol=1e-12)
    check_stock_flow_balance(r)


def test_no_shock_no_shortfall_and_a_shock_that_does_not_happen() -> None:
    st = StaticInputs.simple(horizon=12, shock_weight=[[0.7, 0.2]], stock0=[1.0, 3.0])
    for draws in (
        ShockDraws.fixed(3, severity=0.0, duration=12),
        ShockDraws.fixed(3, occurs=False, duration=12),
    ):
        r = simulate(st, draws, detail=True)
        assert r["shortfall"].max() == 0 and r["release"].max() == 0
        assert (r["price"] == 1).all()
        np.testing.assert_array_equal(r["stock"][:, :, -1], [[1.0, 3.0]] * 3)
    empty = StaticInputs.simple(horizon=4, shock_weight=np.zeros((0, 2)))
    r = simulate(empty, ShockDraws.fixed(2, k=0))
    assert r["cum_shortfall"].max() == 0 and np.isnan(r["first_onset"]).all()


def test_results_do_not_depend_on_chunking() -> None:
    rng = np.random.default_rng(3)
    st = StaticInputs.simple(
        horizon=24,
        shock_weight=[[0.4, 0.7], [0.3, 0.1]],
        stock0=[1.0, 0.5],
        release_cap=np.array([0.3, UNLIMITED]),
        defence_share=[0.1, 0.2],
        defence_first=True,
    )
    n = 37
    draws = ShockDraws(
        onset=rng.uniform(0, 6, (n, 2)),
        duration=rng.uniform(1, 20, (n, 2)),
        severity=rng.uniform(0, 1, (n, 2)),
        leakage=rng.uniform(0, 0.3, (n, 2)),
        ramp=rng.uniform(0, 3, (n, 2)),
        occurs=rng.random((n, 2)) < 0.8,
    )
    whole = simulate(st, draws)
    parts = [simulate(st, draws.slice(a, min(a + 10, n))) for a in range(0, n, 10)]
    for key, value in whole.items():
        np.testing.assert_array_equal(value, np.concatenate([p[key] for p in parts]), key)


def test_balance_check_catches_a_broken_result() -> None:
    st = StaticInputs.simple(horizon=6, shock_weight=[[0.5]], stock0=[1.0])
    r = one(st, duration=3)
    assert check_stock_flow_balance(r) < 1e-12
    r["release"][0, 0, 1] += 0.1
    with pytest.raises(AssertionError, match="stock-flow balance"):
        check_stock_flow_balance(r)
    with pytest.warns(RuntimeWarning):
        check_stock_flow_balance(r, strict=False)


def test_static_inputs_shape_check() -> None:
    st = StaticInputs.simple(horizon=3, shock_weight=[[0.5, 0.5]], stock0=[1.0])
    with pytest.raises(ValueError, match="stock0 has shape"):
        st.validate()


def test_ensemble_statistics_by_hand() -> None:
    loss = np.array([0, 0, 1, 2, 3, 4, 5, 6, 7, 8], dtype=float)
    assert stats.expected(loss) == pytest.approx(3.6)
    assert stats.prob_positive(loss) == pytest.approx(0.8)
    assert stats.var(loss, 0.8) == 6.0  # smallest loss with F >= 0.8
    assert stats.cvar(loss, 0.8) == pytest.approx(7.5)  # mean of the worst 20 %: 7 and 8
    assert stats.cvar(loss, 0.95) == pytest.approx(8.0)
    np.testing.assert_allclose(stats.percentiles(loss, [50, 90]), np.percentile(loss, [50, 90]))
    months = np.array([2.0, 3.0, np.nan, np.nan])  # NaN = no stock-out within the horizon
    p = stats.percentiles(months, [25, 50, 75])
    assert p[0] == 2.0 and p[1] == 3.0 and np.isnan(p[2])
    with pytest.raises(ValueError, match="alpha"):
        stats.cvar(loss, 1.0)


def test_doctests() -> None:
    import doctest

    from critmat.scenarios import engine, runner, spec
    from critmat.scenarios import stats as stats_module

    for module in (engine, spec, stats_module, runner):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, module.__name__
