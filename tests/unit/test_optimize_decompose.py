"""Per-material decomposition with a budget price agrees with the monolithic LP.

Stated tolerance: objective within 1e-7 (relative), the budget's shadow price within 1e-6
(relative), stocks within 1e-6 of the largest stock where the optimum is unique. A 2-worker
LocalCluster (processes, one thread each) runs the same problem on Dask actors.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from critmat.optimize import (
    OptimizeError,
    ScenarioSet,
    optimize_stockpile,
    solve_decomposed,
)


def problem(seed: int = 7, s: int = 150, m: int = 6, t: int = 18) -> tuple[ScenarioSet, list]:
    rng = np.random.default_rng(seed)
    occurs = rng.random((s, 1, 1)) < 0.35
    onset = rng.integers(0, t // 2, (s, 1, 1))
    dur = rng.integers(1, t, (s, 1, 1))
    month = np.arange(t)[None, None, :]
    active = (month >= onset) & (month < onset + dur)
    gap = occurs * active * rng.uniform(5, 60, (s, m, 1))
    sc = ScenarioSet.from_arrays(gap, materials=[f"m{i}" for i in range(m)])
    par = [
        {
            "material": f"m{i}",
            "price_eur_t": float(rng.uniform(2e3, 5e4)),
            "priority_weight": float(rng.uniform(2, 15)),
            "release_cap_t_month": float(rng.uniform(20, 50)),
            "annual_demand_t": 600.0,
            "max_purchase_t": 400.0 if i == 0 else None,
        }
        for i in range(m)
    ]
    return sc, par


def _agree(mono: object, dec: object) -> None:
    assert dec.objective_eur == pytest.approx(mono.objective_eur, rel=1e-7)  # type: ignore[attr-defined]
    assert dec.budget_shadow_price() == pytest.approx(  # type: ignore[attr-defined]
        mono.budget_shadow_price(),
        rel=1e-6,
        abs=1e-9,  # type: ignore[attr-defined]
    )
    assert dec.totals["purchase_cost_eur"] == pytest.approx(  # type: ignore[attr-defined]
        mono.totals["purchase_cost_eur"],
        rel=1e-7,  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize(
    ("formulation", "objective", "scope"),
    [
        ("aggregate", "expected", "portfolio"),
        ("monthly", "expected", "portfolio"),
        ("aggregate", "cvar", "material"),
    ],
)
def test_decomposed_equals_monolithic(formulation: str, objective: str, scope: str) -> None:
    sc, par = problem()
    free = optimize_stockpile(
        sc, par, formulation=formulation, objective=objective, cvar_scope=scope
    )
    budget = 0.4 * free.totals["purchase_cost_eur"]
    kw = {
        "formulation": formulation,
        "objective": objective,
        "cvar_scope": scope,
        "budget_eur": budget,
        "min_cover_months": {"m3": 0.5},
    }
    mono = optimize_stockpile(sc, par, **kw)
    dec = solve_decomposed(sc, par, **kw)
    assert mono.budget_shadow_price() > 0  # the budget binds
    _agree(mono, dec)
    scale = float(mono.stock.max())
    np.testing.assert_allclose(dec.stock.to_numpy(), mono.stock.to_numpy(), atol=1e-6 * scale)
    assert dec.allocation.attrs["critmat"]["method"] == "stockpile_lp_decomposed"
    assert f"{sc.n_materials} subproblems" in dec.report.notes[0]
    assert len(dec.report.details["subproblems"]) == sc.n_materials


def test_user_constraint_tying_materials_merges_their_blocks() -> None:
    from critmat.optimize import build_model, solve

    sc, par = problem(seed=4)
    free = optimize_stockpile(sc, par)
    budget = 0.5 * free.totals["purchase_cost_eur"]
    model = build_model(sc, par, budget_eur=budget)
    stock = model.variables["stock"]
    model.add_constraints(
        stock.loc[["m1"]].sum() + stock.loc[["m2"]].sum() <= 50.0, name="m1_m2_together"
    )
    mono = solve(model)
    dec = solve_decomposed(model)
    _agree(mono, dec)
    assert mono.stock["m1"] + mono.stock["m2"] <= 50.0 + 1e-6
    sizes = sorted(len(s["materials"]) for s in dec.report.details["subproblems"])
    assert sizes == [1, 1, 1, 1, 2]  # m1 and m2 share one subproblem


def test_decomposed_without_binding_budget() -> None:
    sc, par = problem(seed=3, m=3)
    mono = optimize_stockpile(sc, par, budget_eur=1e12)
    dec = solve_decomposed(sc, par, budget_eur=1e12)
    _agree(mono, dec)
    assert dec.budget_shadow_price() == 0.0


def test_portfolio_cvar_is_refused() -> None:
    sc, par = problem(m=2)
    with pytest.raises(OptimizeError, match="does not split by material"):
        solve_decomposed(sc, par, objective="cvar", budget_eur=1e6)


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as c:
        yield c


def test_decomposed_on_dask_actors(cluster: object) -> None:
    sc, par = problem(seed=9)
    free = optimize_stockpile(sc, par, formulation="monthly")
    budget = 0.5 * free.totals["purchase_cost_eur"]
    mono = optimize_stockpile(sc, par, formulation="monthly", budget_eur=budget)
    dec = solve_decomposed(
        sc,
        par,
        formulation="monthly",
        budget_eur=budget,
        dask=cluster.scheduler_address,  # type: ignore[attr-defined]
    )
    _agree(mono, dec)
    assert dec.report.options["engine"] == "dask (existing cluster)"


def test_bad_dask_address() -> None:
    from critmat.scenarios.runner import DaskError

    sc, par = problem(m=2)
    with pytest.raises(DaskError, match="not a scheduler address"):
        solve_decomposed(sc, par, budget_eur=1e6, dask="somewhere")
