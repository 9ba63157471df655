"""``kb.defence``: the defence layer as methods of the knowledge base.

Each method is a thin convenience over a public function of :mod:`critmat.defence` (the
function, not the object, holds the calculation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["Defence"]


class Defence:
    """Defence-layer methods bound to a knowledge base (``kb.defence``).

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> kb.defence.demand(by="material")["material"].tolist()
    ['rare_earths']
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb

    def uses(self, **kwargs: Any) -> pd.DataFrame:
        """Cited defence uses. See :func:`critmat.defence.dataset.uses`."""
        from critmat.defence.dataset import uses

        return uses(self._kb, **kwargs)

    def systems(self) -> pd.DataFrame:
        """Systems named by the sources. See :func:`critmat.defence.dataset.systems`."""
        from critmat.defence.dataset import systems

        return systems(self._kb)

    def bom(self, bom: Any = None, **kwargs: Any) -> pd.DataFrame:
        """Validated bill of materials. See :func:`critmat.defence.bom.read_bom`."""
        from critmat.defence.bom import read_bom

        return read_bom(self._kb, bom, **kwargs)

    def build_rates(self, build_rates: Any = None, **kwargs: Any) -> pd.DataFrame:
        """Validated build rates. See :func:`critmat.defence.bom.read_build_rates`."""
        from critmat.defence.bom import read_build_rates

        return read_build_rates(self._kb, build_rates, **kwargs)

    def demand(self, **kwargs: Any) -> pd.DataFrame:
        """Annual defence demand. See :func:`critmat.defence.demand.defence_demand`."""
        from critmat.defence.demand import defence_demand

        return defence_demand(self._kb, **kwargs)

    def scenario_systems(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Systems for a scenario spec. See :func:`critmat.defence.demand.scenario_systems`."""
        from critmat.defence.demand import scenario_systems

        return scenario_systems(self._kb, **kwargs)

    def exposure(self, **kwargs: Any) -> pd.DataFrame:
        """Exposure to supplier countries. See :func:`critmat.defence.exposure.exposure`."""
        from critmat.defence.exposure import exposure

        return exposure(self._kb, **kwargs)

    def capability_at_risk(self, **kwargs: Any) -> pd.DataFrame:
        """Systems not built in a supply cut.

        See :func:`critmat.defence.capability.capability_at_risk`.
        """
        from critmat.defence.capability import capability_at_risk

        return capability_at_risk(self._kb, **kwargs)

    def importance(self, **kwargs: Any) -> pd.DataFrame:
        """Defence importance. See :func:`critmat.defence.criticality.importance`."""
        from critmat.defence.criticality import importance

        return importance(self._kb, **kwargs)

    def criticality(self, **kwargs: Any) -> pd.DataFrame:
        """Defence criticality ranking and matrix.

        See :func:`critmat.defence.criticality.defence_criticality`.
        """
        from critmat.defence.criticality import defence_criticality

        return defence_criticality(self._kb, **kwargs)

    def compare_lists(self, **kwargs: Any) -> pd.DataFrame:
        """Comparison with the NATO 2024 and CRMA lists.

        See :func:`critmat.defence.criticality.compare_lists`.
        """
        from critmat.defence.criticality import compare_lists

        return compare_lists(self._kb, **kwargs)

    def energy(self, **kwargs: Any) -> pd.DataFrame:
        """Defence vs energy transition.

        See :func:`critmat.defence.energy.energy_competition`.
        """
        from critmat.defence.energy import energy_competition

        return energy_competition(self._kb, **kwargs)

    def shortfall(self, **kwargs: Any) -> pd.DataFrame:
        """Who is served first in a shortfall.

        See :func:`critmat.defence.energy.shortfall_allocation`.
        """
        from critmat.defence.energy import shortfall_allocation

        return shortfall_allocation(self._kb, **kwargs)
