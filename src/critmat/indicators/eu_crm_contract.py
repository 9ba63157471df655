"""Constants of ``critmat eu-sr``'s contract, importable without pandas or numpy.

The CLI builds its option defaults and column lists from these at import time, so they live
apart from :mod:`critmat.indicators.eu_crm` (which imports pandas) and are re-exported there.
"""

from __future__ import annotations

__all__ = ["CONTRACT_COLUMNS", "DEFAULT_WGI_VINTAGE", "DEFAULT_WGI_YEARS", "MEASURES"]

#: Default governance: WGI 2023 Update, data year 2017, the best fit to the published 2023
#: values (docs/eu-crm.md §WGI; the Commission's own WGI release is not available).
DEFAULT_WGI_VINTAGE = "wgi_2023"
DEFAULT_WGI_YEARS = 2017
#: Scores compared with the published values.
MEASURES = ("sr_extraction", "sr_processing", "sr", "ei")
#: Columns of the CLI contract (``critmat eu-sr --format csv``).
CONTRACT_COLUMNS = [
    "material",
    "stage_used",
    "sr",
    "sr_extraction",
    "sr_processing",
    "ei",
    "critical",
    "published_sr",
    "published_ei",
]
