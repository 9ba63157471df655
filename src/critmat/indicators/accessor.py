"""``kb.indicators``: the indicator functions as methods of the knowledge base.

Each attribute is the public function of :mod:`critmat.indicators` with the knowledge base
bound (:class:`critmat.binding.bind`): same signature, same docstring.

Examples
--------
>>> import inspect
>>> import critmat
>>> kb = critmat.load(user_data=False)
>>> list(inspect.signature(kb.indicators.geopolrisk).parameters)[:5]
['materials', 'importers', 'exporters', 'years', 'stage']
"""

from __future__ import annotations

from critmat.binding import Accessor, bind
from critmat.indicators.concentration import concentration
from critmat.indicators.criticality import criticality
from critmat.indicators.dependency import dependency, net_import_reliance
from critmat.indicators.eu_crm import eu_supply_risk
from critmat.indicators.geopolrisk import geopolrisk, geopolrisk_inputs

__all__ = ["Indicators"]


class Indicators(Accessor):
    """Indicator methods bound to a knowledge base (``kb.indicators``).

    Every method takes the shared vocabulary ``materials=, importers=, exporters=, years=,
    stage=, groupby=`` (where it applies) and returns a tidy frame with provenance.
    """

    concentration = bind(concentration)
    dependency = bind(dependency)
    net_import_reliance = bind(net_import_reliance)
    geopolrisk = bind(geopolrisk)
    geopolrisk_inputs = bind(geopolrisk_inputs)
    eu_supply_risk = bind(eu_supply_risk)
    criticality = bind(criticality)
