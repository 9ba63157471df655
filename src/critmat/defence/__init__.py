"""The defence layer: raw materials -> applications -> components -> defence systems.

What it answers, on the knowledge base (``kb.defence``) or as plain functions:

* **Dataset** (:mod:`~critmat.defence.dataset`): the cited uses of each material in defence
  systems (``defence_uses``), the systems named by the sources with published build rates
  (``defence_systems``), and the reference bill of materials built from the published
  quantities (CRS 2013: rare earths per F-35, DDG-51, SSN-774).
* **Bills of materials** (:mod:`~critmat.defence.bom`): your BOMs and build rates (user
  tables ``bom`` and ``build_rates``, or files validated without writing anything) and the
  annual material demand they imply.
* **Demand** (:mod:`~critmat.defence.demand`): annual defence demand per material, kg per
  unit per system and build rates, in the form the scenario engine takes.
* **Exposure** (:mod:`~critmat.defence.exposure`): the part of that demand exposed to each
  supplier country at extraction and processing; China and adversary shares.
* **Capability at risk** (:mod:`~critmat.defence.capability`): systems per month that cannot
  be built during a supply cut, fixed recipe or with substitution and defence-first supply.
* **Criticality** (:mod:`~critmat.defence.criticality`): defence importance x supply risk,
  ranked and on the criticality matrix; comparison with the NATO 2024 and CRMA lists.
* **Energy transition** (:mod:`~critmat.defence.energy`): defence demand against EU and
  world demand and the EU 2023 end-use shares; who is served first in a shortfall.
* **Summary** (:mod:`~critmat.defence.summary`): one defence row per assessed material for
  ``critmat assess`` (drawn by :mod:`critmat.report.defence`).
* **Demand source** (:class:`~critmat.defence.bom.DemandSource`): where BOMs and build rates
  come from, one model for every function above.

Every number keeps its kind (published, derived, user, assumption) so results show which
figures rest on assumptions. Nothing is imported until used.
"""

from __future__ import annotations

from critmat.binding import lazy_exports

__all__ = [
    "DemandSource",
    "allocate_shortfall",
    "annual_demand",
    "assessment_summary",
    "capability_at_risk",
    "compare_lists",
    "defence_criticality",
    "defence_demand",
    "demand_source",
    "energy_competition",
    "exposure",
    "importance",
    "read_bom",
    "read_build_rates",
    "reference_bom",
    "scenario_systems",
    "shortfall_allocation",
    "systems",
    "uses",
]

_WHERE = {
    "uses": "critmat.defence.dataset",
    "systems": "critmat.defence.dataset",
    "reference_bom": "critmat.defence.dataset",
    "read_bom": "critmat.defence.bom",
    "read_build_rates": "critmat.defence.bom",
    "annual_demand": "critmat.defence.bom",
    "defence_demand": "critmat.defence.demand",
    "scenario_systems": "critmat.defence.demand",
    "exposure": "critmat.defence.exposure",
    "capability_at_risk": "critmat.defence.capability",
    "importance": "critmat.defence.criticality",
    "defence_criticality": "critmat.defence.criticality",
    "compare_lists": "critmat.defence.criticality",
    "energy_competition": "critmat.defence.energy",
    "allocate_shortfall": "critmat.defence.energy",
    "shortfall_allocation": "critmat.defence.energy",
    "assessment_summary": "critmat.defence.summary",
    "DemandSource": "critmat.defence.bom",
    "demand_source": "critmat.defence.bom",
}


__getattr__, __dir__ = lazy_exports("critmat.defence", _WHERE, __all__)
