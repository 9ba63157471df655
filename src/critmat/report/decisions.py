"""Figures and sections of the decisions layer (``critmat.optimize``).

The frontier chart and the "What to do" section of the assessment report.

Computation stays in :mod:`critmat.optimize`; this module draws what it returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.report.builder import Column, Details, Figure, Section, Table, Text
from critmat.report.charts import figure, vline

if TYPE_CHECKING:
    from critmat.assess import Assessment
    from critmat.knowledge_base import KnowledgeBase
    from critmat.optimize.frontier import Frontier

__all__ = [
    "WHAT_TO_DO_SAMPLES",
    "frontier_chart",
    "frontier_section",
    "what_to_do_inputs",
    "what_to_do_section",
]

#: Monte Carlo draws of the report's decision scenario (small: the report stays fast).
WHAT_TO_DO_SAMPLES = 100


def frontier_chart(fr: Frontier) -> Any:
    """Budget (x, M EUR) against expected and CVaR shortfall (y, t).

    Built in one go (:func:`~critmat.report.charts.figure`): both lines, the dotted line
    and label where each material enters the stock, the axis titles.
    """
    p = fr.points
    x = p["budget_eur"].to_numpy(dtype=float) / 1e6
    data = [
        {
            "type": "scatter",
            "x": x,
            "y": p["expected_shortfall_t"],
            "mode": "lines+markers",
            "name": "expected",
        },
        {
            "type": "scatter",
            "x": x,
            "y": p["cvar_shortfall_t"],
            "mode": "lines+markers",
            "name": "CVaR",
            "yaxis": "y",
        },
    ]
    shapes, labels = [], []
    entry = fr.entry.dropna(subset=["enters_at_budget_eur"])
    for budget, material in zip(entry["enters_at_budget_eur"], entry["material"], strict=True):
        at = float(budget) / 1e6
        shapes.append(vline(at, dash="dot", color="#999"))
        labels.append(  # what add_vline(annotation_position="top") puts there
            {
                "showarrow": False,
                "text": str(material),
                "x": at,
                "xanchor": "center",
                "xref": "x",
                "y": 1,
                "yanchor": "bottom",
                "yref": "y domain",
            }
        )
    lay = {
        "shapes": shapes,
        "annotations": labels,
        "xaxis": {"title": {"text": "purchase budget (M EUR)"}},
        "yaxis": {"title": {"text": "shortfall over the horizon (t)"}},
    }
    return figure(data, lay, "Efficient frontier: budget against shortfall", height=440)


def frontier_section(fr: Frontier) -> Section:
    """A section with the frontier chart and its table."""
    cols = {
        "budget_eur": Column("budget (EUR)", "integer"),
        "spent_eur": Column("spent (EUR)", "integer"),
        "expected_shortfall_t": Column("expected shortfall (t)", "tonnes"),
        "cvar_shortfall_t": Column("CVaR shortfall (t)", "tonnes"),
        "budget_shadow_price": Column("EUR saved per EUR", "decimal2"),
    }
    return Section(
        "Stockpile frontier",
        [Figure(frontier_chart(fr)), Table(fr.points, columns=cols, first_left=0)],
        key="frontier",
    )


def what_to_do_inputs(kb: KnowledgeBase, materials: list[str]) -> dict[str, Any] | None:
    """The report's decision scenario: a China cut of the materials with tonnes and a price.

    Materials whose EU demand (apparent consumption at extraction) and price are both known
    (physical baseline status ``ok``) get a cut of China's supply with probability 0.3 over
    24 months (duration log-normal, median 12 months; severity 50-100 %; assumption, like
    the presets' hypotheticals). ``None`` when no material qualifies.
    """
    base = kb.optimize.baseline(materials=materials, stage="extraction")
    ok = [str(m) for m in base.loc[base["status"] == "ok", "material"]]
    if not ok:
        return None
    opts = kb.scenarios.supply_options()
    ok = [m for m in ok if ((opts["material"] == m) & (opts["stage"] == "extraction")).any()]
    if not ok:
        return None
    spec = {
        "name": "what-to-do: China cut (assumption)",
        "horizon_months": 24,
        "materials": ok,
        "shocks": [
            {
                "name": "CHN cut",
                "exporter": ["CHN"],
                "material": ok,
                "onset": 0,
                "duration": {"dist": "lognormal", "median": 12, "sigma": 0.6, "low": 1, "high": 24},
                "severity": {"dist": "uniform", "low": 0.5, "high": 1.0},
                "probability": 0.3,
            }
        ],
        "settings": {m: {"stage": "extraction"} for m in ok},
    }
    return {"samples": WHAT_TO_DO_SAMPLES, "seed": 0, "spec": {"scenario": spec}}


def _table(frame: pd.DataFrame, cols: dict[str, Column]) -> Table:
    return Table(frame[[c for c in cols if c in frame.columns]], columns=cols)


def what_to_do_section(kb: KnowledgeBase, a: Assessment) -> Section | None:
    """The "What to do" section: recommended stocks, the frontier, partner and reshoring moves."""
    from critmat.errors import CritmatError

    materials = [str(m) for m in a.table["material"]]
    try:
        inputs = what_to_do_inputs(kb, materials)
    except CritmatError as exc:
        return Section("What to do", [Text(f"No decision computed: {exc}")], key="what_to_do")
    if inputs is None:
        return Section(
            "What to do",
            [
                Text(
                    "No assessed material has both an EU demand in tonnes and a price per tonne "
                    "(critmat stockpile baseline); give them with critmat stockpile optimize "
                    "--parameters FILE."
                )
            ],
            key="what_to_do",
        )
    from critmat.optimize.decide import decision_parameters_of
    from critmat.optimize.frontier import efficient_frontier

    di = kb.optimize.inputs(spec=inputs["spec"], samples=inputs["samples"], seed=inputs["seed"])
    par_models = decision_parameters_of(di)
    fr = efficient_frontier(di.scenarios, par_models, points=6)
    res = fr.optimum  # = optimize_stockpile(di.scenarios, par_models), solved once for both
    alloc = res.allocation
    exposed = alloc["expected_shortfall_t_before"] > 0
    calm = [str(m) for m in alloc.loc[~exposed, "material"]]
    stocks = _table(
        alloc[exposed] if exposed.any() else alloc,
        {
            "material": Column("material"),
            "stock_t": Column("stock (t)", "tonnes"),
            "months_of_demand": Column("months of demand", "decimal1"),
            "purchase_cost_eur": Column("purchase (EUR)", "integer"),
            "holding_cost_eur_yr": Column("holding (EUR/yr)", "integer"),
            "expected_shortfall_t_before": Column("E[shortfall] before (t)", "tonnes"),
            "expected_shortfall_t_after": Column("E[shortfall] after (t)", "tonnes"),
            "cvar_shortfall_t_before": Column("CVaR before (t)", "tonnes"),
            "cvar_shortfall_t_after": Column("CVaR after (t)", "tonnes"),
            "rank": Column("order", "integer"),
        },
    )
    par = di.parameters
    partners = kb.optimize.partners(materials=list(alloc["material"]))
    moves = []
    projects = kb.optimize.crma_projects()
    for m in alloc["material"]:
        pm = partners[partners["materials"].fillna("").str.contains(str(m))]
        best = ", ".join(pm["country"].astype(str).unique()[:3]) if len(pm) else "none in the data"
        pr = projects[(projects["material"] == m) & projects["in_eu"]]
        rs = (
            "; ".join(
                f"{r.project_name} ({r.country}, "
                + (
                    f"{r.capacity_t_yr:,.0f} t/yr"
                    if np.isfinite(r.capacity_t_yr)
                    else "capacity not published"
                )
                + ")"
                for r in pr.itertuples(index=False)
            )
            if len(pr)
            else "no CRMA strategic project in the EU"
        )
        moves.append({"material": m, "partners": best, "reshoring": rs})
    moves_frame = pd.DataFrame(moves)
    from critmat.optimize.decide import LEVER_ASSUMPTIONS, default_levers
    from critmat.optimize.levers import evaluate_levers

    lev = evaluate_levers(di.scenarios, par_models, default_levers(kb, di, res.stock.to_dict()))
    lev = lev[(lev["rank_in_material"] == 1) & (lev["removed_t"] > 0)]
    best = pd.DataFrame(
        {
            "material": lev["material"],
            "lever": lev["name"],
            "cost_eur": lev["cost_eur"],
            "removed_t": lev["removed_t"],
            "per_meur": lev["shortfall_removed_t_per_meur"],
            "assumption": [LEVER_ASSUMPTIONS.get(str(k), "") for k in lev["kind"]],
        }
    )
    assumptions = (
        "Scenario: a cut of China's supply to the EU of the materials with a physical "
        f"baseline, probability 0.3 over 24 months, {inputs['samples']} draws (seed 0), "
        "duration log-normal (median 12 months), severity 50-100 % (assumption). Demand: EU27 "
        "apparent consumption at extraction; prices: "
        + "; ".join(f"{r.material}: {r.price_source}" for r in par.itertuples(index=False))
        + ". Holding cost 5 %/yr of the price, shortage cost = the price (RAMF-SM), no "
        "budget (expected-cost optimum); run critmat stockpile optimize with your "
        "--parameters and --budget for your own numbers."
    )
    return Section(
        "What to do",
        [
            Text(
                f"Recommended stocks: {res.totals.get('purchase_cost_eur', 0):,.0f} EUR of "
                f"purchases over {len(alloc)} materials with tonnes and a price; the purchase "
                "order is the shortage cost removed per euro."
                + (
                    " Without an expected shortfall in this scenario (EU sourcing at extraction "
                    "not from China), no stock: " + ", ".join(calm) + "."
                    if calm
                    else ""
                )
            ),
            stocks,
            Figure(frontier_chart(fr)),
            Table(
                moves_frame,
                columns={
                    "material": Column("material"),
                    "partners": Column("partner countries (partnerships, projects)"),
                    "reshoring": Column("CRMA strategic projects in the EU"),
                },
                first_left=3,
                title="Partner and reshoring moves",
            ),
            Table(
                best,
                columns={
                    "material": Column("material"),
                    "lever": Column("first lever"),
                    "cost_eur": Column("cost (EUR)", "integer"),
                    "removed_t": Column("E[shortfall] removed (t)", "tonnes"),
                    "per_meur": Column("t per million EUR", "sig3"),
                    "assumption": Column("assumption"),
                },
                first_left=2,
                title="First lever per material (shortfall removed per million euros)",
                caption="Materials without an expected shortfall in this scenario are not "
                "listed. Levers: critmat levers.",
            ),
            Details("Assumptions", [Text(assumptions, meta=True)]),
        ],
        sources=sorted(
            {
                "usgs_mcs2026",
                "ecb_eurofxref",
                "eu_raw_material_partnerships",
                "crma_strategic_projects_eu_2025",
                "wmd_bmf",
                "baci_hs92_v202401b",
            }
        ),
        key="what_to_do",
    )
