"""``kb.optimize``: decisions as methods of the knowledge base.

Each attribute is a public function of :mod:`critmat.optimize` taking the knowledge base
first (:class:`critmat.binding.bind`): ``kb.optimize.stockpile(scenarios="gaps.csv")`` is
``critmat.optimize.decide.stockpile(kb, scenarios="gaps.csv")``.

Examples
--------
>>> import critmat
>>> kb = critmat.load(user_data=False)
>>> b = kb.optimize.baseline(materials="tungsten", stage="extraction")
>>> str(b["demand_status"].iloc[0]), str(b["price_status"].iloc[0])
('apparent_consumption', 'usgs_mcs')
"""

from __future__ import annotations

from critmat.binding import Accessor, bind
from critmat.optimize.decide import (
    compare,
    crma_projects,
    decision_inputs,
    frontier,
    levers,
    partners,
    reshoring,
    sourcing,
    sourcing_whatif,
    stockpile,
)
from critmat.optimize.physical import physical_baseline

__all__ = ["Optimize"]


class Optimize(Accessor):
    """Decision functions bound to a knowledge base (``kb.optimize``)."""

    baseline = bind(physical_baseline)
    inputs = bind(decision_inputs)
    stockpile = bind(stockpile)
    frontier = bind(frontier)
    compare = bind(compare)
    sourcing = bind(sourcing)
    sourcing_whatif = bind(sourcing_whatif)
    partners = bind(partners)
    crma_projects = bind(crma_projects)
    reshoring = bind(reshoring)
    levers = bind(levers)
