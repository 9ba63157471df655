"""``kb.indicators``: the indicator functions as methods of the knowledge base."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["Indicators"]


class Indicators:
    """Indicator methods bound to a knowledge base (``kb.indicators``).

    Every method takes the shared vocabulary ``materials=, importers=, exporters=, years=,
    stage=, groupby=`` (where it applies) and returns a tidy frame with provenance.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb

    def concentration(self, **kwargs: Any) -> pd.DataFrame:
        """Production concentration (HHI, top-n, China/adversary share).

        See :func:`critmat.indicators.concentration.concentration`.
        """
        from critmat.indicators.concentration import concentration

        return concentration(self._kb, **kwargs)

    def dependency(self, **kwargs: Any) -> pd.DataFrame:
        """Import shares by origin and import HHI.

        See :func:`critmat.indicators.dependency.dependency`.
        """
        from critmat.indicators.dependency import dependency

        return dependency(self._kb, **kwargs)

    def net_import_reliance(self, **kwargs: Any) -> pd.DataFrame:
        """Net import reliance per stage.

        See :func:`critmat.indicators.dependency.net_import_reliance`.
        """
        from critmat.indicators.dependency import net_import_reliance

        return net_import_reliance(self._kb, **kwargs)

    def geopolrisk(self, **kwargs: Any) -> pd.DataFrame:
        """GeoPolRisk score, midpoint and characterisation factor.

        See :func:`critmat.indicators.geopolrisk.geopolrisk`.
        """
        from critmat.indicators.geopolrisk import geopolrisk

        return geopolrisk(self._kb, **kwargs)

    def eu_supply_risk(self, **kwargs: Any) -> pd.DataFrame:
        """EU CRM supply risk and economic importance.

        See :func:`critmat.indicators.eu_crm.eu_supply_risk`.
        """
        from critmat.indicators.eu_crm import eu_supply_risk

        return eu_supply_risk(self._kb, **kwargs)

    def criticality(self, **kwargs: Any) -> pd.DataFrame:
        """Criticality matrix (EU or DOE-style cut-offs).

        See :func:`critmat.indicators.criticality.criticality`.
        """
        from critmat.indicators.criticality import criticality

        return criticality(self._kb, **kwargs)
