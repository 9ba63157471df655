"""Decision models: what to stockpile, where to source, which lever first (linopy + HiGHS).

The scenario set (monthly supply gaps in tonnes, before stock release, per scenario) is the
common input: from an explicit table, the scenario engine or a scenario plan. On it::

    from critmat import optimize as opt

    sc = opt.read_scenario_table("gaps.csv")                 # or ScenarioSet.from_plan(...)
    par = opt.read_parameters("materials.csv")               # price, holding, shortage, caps
    res = opt.optimize_stockpile(sc, par, objective="cvar", alpha=0.95, budget_eur=5e8)
    res.allocation                                           # per material: stock_t, ..., rank
    res.shadow_prices                                        # budget, purchase caps, cover
    opt.efficient_frontier(sc, par).points                   # budget -> shortfall
    opt.reference_policies(sc, par, optimum=res).summary     # no stock, JOGMEC, EU reserve, RAMF
    opt.solve_decomposed(sc, par, budget_eur=5e8, dask="local")
    opt.optimize_sourcing(candidates, material="gallium", demand_t=50)   # CRMA 65 % cap
    opt.evaluate_levers(sc, par, levers)                     # shortfall removed per MEUR

Build -> extend -> solve -> read (STYLE S9)::

    model = opt.build_model(sc, par, budget_eur=5e8)         # a linopy.Model
    model.add_constraints(model.variables["stock"].loc[["gallium"]] <= 20, name="mine")
    res = opt.solve(model)

Formulations, defaults and their sources: docs/decisions.md. Nothing heavy (linopy, HiGHS,
dask) is imported until used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "BlockSubproblem",
    "Candidate",
    "Frontier",
    "Lever",
    "MaterialParameters",
    "OptimizeError",
    "PolicyComparison",
    "ReshoringProject",
    "RestraintLever",
    "ScenarioSet",
    "SolveStatus",
    "SourcingInfeasibleError",
    "SourcingOptions",
    "SourcingResult",
    "StockLever",
    "StockpileOptions",
    "StockpileResult",
    "SupplyLever",
    "apply_levers",
    "build_model",
    "efficient_frontier",
    "evaluate_levers",
    "evaluate_mix",
    "evaluate_reshoring",
    "evaluate_stock",
    "optimize_sourcing",
    "optimize_stockpile",
    "parse_group_caps",
    "parse_levers",
    "parse_parameters",
    "read_parameters",
    "read_scenario_table",
    "reference_policies",
    "resolve_parameters",
    "solve",
    "solve_decomposed",
]

_WHERE = {
    "OptimizeError": "critmat.optimize._solver",
    "SolveStatus": "critmat.optimize._solver",
    "ScenarioSet": "critmat.optimize.scenario_set",
    "read_scenario_table": "critmat.optimize.scenario_set",
    "MaterialParameters": "critmat.optimize.parameters",
    "parse_parameters": "critmat.optimize.parameters",
    "read_parameters": "critmat.optimize.parameters",
    "resolve_parameters": "critmat.optimize.parameters",
    "evaluate_stock": "critmat.optimize.evaluate",
    "StockpileOptions": "critmat.optimize.stockpile",
    "StockpileResult": "critmat.optimize.stockpile",
    "build_model": "critmat.optimize.stockpile",
    "solve": "critmat.optimize.stockpile",
    "optimize_stockpile": "critmat.optimize.stockpile",
    "Frontier": "critmat.optimize.frontier",
    "efficient_frontier": "critmat.optimize.frontier",
    "PolicyComparison": "critmat.optimize.policies",
    "reference_policies": "critmat.optimize.policies",
    "BlockSubproblem": "critmat.optimize.decompose",
    "solve_decomposed": "critmat.optimize.decompose",
    "Candidate": "critmat.optimize.sourcing",
    "SourcingInfeasibleError": "critmat.optimize.sourcing",
    "SourcingOptions": "critmat.optimize.sourcing",
    "SourcingResult": "critmat.optimize.sourcing",
    "evaluate_mix": "critmat.optimize.sourcing",
    "optimize_sourcing": "critmat.optimize.sourcing",
    "parse_group_caps": "critmat.optimize.sourcing",
    "Lever": "critmat.optimize.levers",
    "ReshoringProject": "critmat.optimize.levers",
    "RestraintLever": "critmat.optimize.levers",
    "StockLever": "critmat.optimize.levers",
    "SupplyLever": "critmat.optimize.levers",
    "apply_levers": "critmat.optimize.levers",
    "evaluate_levers": "critmat.optimize.levers",
    "evaluate_reshoring": "critmat.optimize.levers",
    "parse_levers": "critmat.optimize.levers",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'critmat.optimize' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
