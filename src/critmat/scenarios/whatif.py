"""The "what if" of the assessment: a small, fast ensemble for each preset.

:func:`whatif` runs a few hundred draws of each export-control preset (and the
hypothetical cuts) with an illustrative stock and summarises each per material; the report
package draws it (:mod:`critmat.report.scenario`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from critmat.scenarios.ensemble import run
from critmat.scenarios.presets import all_presets
from critmat.scenarios.spec import StockPolicy

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase
    from critmat.scenarios.result import EnsembleResult

__all__ = ["WHATIF_COLUMNS", "WhatIf", "illustrative_stock_months", "whatif"]

_DAYS_PER_MONTH = 365.25 / 12

#: Columns of :attr:`WhatIf.table`.
WHATIF_COLUMNS = [
    "preset",
    "scenario",
    "event",
    "material",
    "P(any shortfall)",
    "expected shortfall (months)",
    "CVaR95 (months)",
    "stock lasts (median, months)",
    "P(stock-out)",
    "peak price (median, x)",
]


def illustrative_stock_months(kb: KnowledgeBase) -> tuple[float, str]:
    """Japan's JOGMEC stockpile target in months of consumption, and its citation.

    From ``defence_facts`` row DF-26 (60 days of domestic consumption); ``(0, "")`` when
    the row is missing.

    Examples
    --------
    >>> import critmat
    >>> months, cite = illustrative_stock_months(critmat.load(user_data=False))
    >>> round(months, 2), cite.startswith("60 days")
    (1.97, True)
    """
    facts = kb.table("defence_facts")
    row = facts[facts["fact_id"] == "DF-26"]
    if row.empty or pd.isna(row["value"].iloc[0]):
        return 0.0, ""
    days = float(row["value"].iloc[0])
    return days / _DAYS_PER_MONTH, (
        f"{days:g} {row['unit'].iloc[0]} (JOGMEC target, "
        f"defence_facts DF-26: {row['citation'].iloc[0]})"
    )


@dataclass
class WhatIf:
    """The presets' small ensembles behind the "what if" sections (terminal and HTML).

    Attributes
    ----------
    table
        One row per preset x material (:data:`WHATIF_COLUMNS`).
    first
        The first preset's result (for a fan chart).
    citations
        ``(title, event label, citation)`` of each preset.
    stock_months, stock_citation
        The stock every material starts with, and where the number comes from.
    samples, seed
        Monte Carlo draws per preset and seed.
    """

    table: pd.DataFrame
    first: EnsembleResult | None
    citations: list[tuple[str, str, str]]
    stock_months: float
    stock_citation: str
    samples: int
    seed: int


def whatif(
    kb: KnowledgeBase,
    *,
    presets: list[str] | None = None,
    samples: int = 300,
    seed: int = 2023,
    stock_months: float | None = None,
    top: int = 8,
    supply_vintage: str = "newest",
) -> WhatIf:
    """Run a small ensemble for each preset and summarise it per material.

    Parameters
    ----------
    kb
        Knowledge base.
    presets
        Preset names (default: all, see ``critmat scenario presets``).
    samples, seed
        Monte Carlo draws per preset (small and fast) and seed.
    stock_months
        Stock of every material at the start, in months of demand; default Japan's JOGMEC
        target of 60 days (``defence_facts`` DF-26), an illustration: the EU holds no
        common stockpile.
    top
        Materials kept per preset (the full China cut touches many).
    supply_vintage
        Vintage of the supply shares of every preset's baseline (``newest`` by default).

    Returns
    -------
    WhatIf
        One row per preset x material with the probability of any shortfall, expected
        shortfall and CVaR95 (months of demand), median months until stocks run out, the
        probability of a stock-out and the median peak price.
    """
    from critmat.scenarios.presets import preset as get_preset

    cite = ""
    if stock_months is None:
        stock_months, cite = illustrative_stock_months(kb)
    chosen = all_presets(kb)
    names = presets or list(chosen)
    rows = []
    first: EnsembleResult | None = None
    citations = []
    for name in names:  # a handful of presets, each one vectorised ensemble
        p = chosen[name] if name in chosen else get_preset(kb, name, where="presets=")
        spec = p.spec.model_copy(deep=True)
        spec.scenario.supply_vintage = supply_vintage
        if stock_months > 0:
            spec.scenario.mitigations.stocks = [
                StockPolicy.model_validate({"initial_months": stock_months})
            ]
        res = run(kb, spec, samples=samples, seed=seed)
        first = first or res
        ev = spec.scenario.event
        label = (
            f"{', '.join(p.event_ids)} ({ev.date_effective or ev.date_announced})"
            if p.event_ids and ev is not None
            else "hypothetical"
        )
        citations.append((p.title, label, p.citation))
        s = res.summary.sort_values("shortfall_mean", ascending=False).head(top)
        cv = next(c for c in s.columns if c.startswith("shortfall_cvar"))
        for rec in s.to_dict("records"):
            rows.append(
                {
                    "preset": name,
                    "scenario": p.title,
                    "event": label,
                    "material": rec["material"],
                    "P(any shortfall)": rec["p_shortfall"],
                    "expected shortfall (months)": rec["shortfall_mean"],
                    "CVaR95 (months)": rec[cv],
                    "stock lasts (median, months)": rec["months_to_stockout_p50"],
                    "P(stock-out)": rec["p_stockout"],
                    "peak price (median, x)": rec["peak_price_p50"],
                }
            )
    table = pd.DataFrame(rows, columns=WHATIF_COLUMNS)
    return WhatIf(table, first, citations, float(stock_months), cite, samples, seed)
