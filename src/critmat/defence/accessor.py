"""``kb.defence``: the defence layer as methods of the knowledge base.

Each attribute is a public function of :mod:`critmat.defence` with the knowledge base bound
(:class:`critmat.binding.bind`): same signature, same docstring; the function, not the
object, holds the calculation.
"""

from __future__ import annotations

from critmat.binding import Accessor, bind
from critmat.defence.bom import read_bom, read_build_rates
from critmat.defence.capability import capability_at_risk
from critmat.defence.criticality import compare_lists, defence_criticality, importance
from critmat.defence.dataset import reference_bom, reference_build_rates, systems, uses
from critmat.defence.demand import defence_demand, scenario_systems
from critmat.defence.energy import energy_competition, shortfall_allocation
from critmat.defence.exposure import exposure
from critmat.defence.summary import assessment_summary

__all__ = ["Defence"]


class Defence(Accessor):
    """Defence-layer methods bound to a knowledge base (``kb.defence``).

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> kb.defence.demand(by="material")["material"].tolist()
    ['rare_earths']
    """

    uses = bind(uses)
    systems = bind(systems)
    reference_bom = bind(reference_bom)
    reference_build_rates = bind(reference_build_rates)
    bom = bind(read_bom)
    build_rates = bind(read_build_rates)
    demand = bind(defence_demand)
    scenario_systems = bind(scenario_systems)
    exposure = bind(exposure)
    capability_at_risk = bind(capability_at_risk)
    importance = bind(importance)
    criticality = bind(defence_criticality)
    compare_lists = bind(compare_lists)
    energy = bind(energy_competition)
    shortfall = bind(shortfall_allocation)
    summary = bind(assessment_summary)
