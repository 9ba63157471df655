"""Canonical dimension names, stages and country groups used across critmat.

Every frame critmat returns uses these column names, so that frames join without renaming.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = [
    "EU27",
    "GROUPS",
    "GROUP_MATERIALS",
    "MIXES",
    "STAGES",
    "Col",
    "Stage",
    "parse_stage",
]


class Col:
    """Canonical column names (tidy, long frames)."""

    MATERIAL: Final = "material"
    COUNTRY: Final = "country"
    IMPORTER: Final = "importer"
    EXPORTER: Final = "exporter"
    PARTNER: Final = "partner"
    STAGE: Final = "stage"
    YEAR: Final = "year"
    MONTH: Final = "month"
    SCENARIO: Final = "scenario"
    HS6: Final = "hs6"
    VALUE_KUSD: Final = "value_kusd"
    QUANTITY_T: Final = "quantity_t"
    SHARE: Final = "share"
    SOURCE_ID: Final = "source_id"


class Stage(StrEnum):
    """Supply-chain stage."""

    EXTRACTION = "extraction"
    PROCESSING = "processing"


STAGES: Final[tuple[str, ...]] = tuple(s.value for s in Stage)

#: Supply mixes of the EU CRM method: global supply and EU sourcing.
MIXES: Final[tuple[str, ...]] = ("global", "eu_sourcing")

#: Name of the EU27 aggregate (an importer group whose trade excludes intra-EU flows).
EU27: Final = "EU27"

#: Country groups that can be named wherever a list of countries is accepted. Each maps to a
#: boolean column of the ``countries`` table.
GROUPS: Final[dict[str, str]] = {
    "EU27": "eu27",
    "NATO": "nato",
    "OECD": "oecd",
    "G7": "g7",
}

#: Group codes of the ``materials.group`` column and the group material each stands for.
GROUP_MATERIALS: Final[dict[str, str]] = {
    "REE": "rare_earths",
    "HREE": "hree",
    "LREE": "lree",
    "PGM": "pgm",
}

_STAGE_ALIASES: Final[dict[str, Stage]] = {
    "e": Stage.EXTRACTION,
    "extraction": Stage.EXTRACTION,
    "mining": Stage.EXTRACTION,
    "mine": Stage.EXTRACTION,
    "p": Stage.PROCESSING,
    "processing": Stage.PROCESSING,
    "refining": Stage.PROCESSING,
    "refined": Stage.PROCESSING,
}


def parse_stage(value: str) -> Stage:
    """Return the :class:`Stage` for a stage name or abbreviation.

    Parameters
    ----------
    value
        ``"extraction"``/``"E"``/``"mining"`` or ``"processing"``/``"P"``/``"refining"``
        (case-insensitive).

    Returns
    -------
    Stage
        The canonical stage.

    Raises
    ------
    critmat.errors.UnknownNameError
        If the value is not a known stage.

    Examples
    --------
    >>> parse_stage("P")
    <Stage.PROCESSING: 'processing'>
    """
    from critmat.errors import UnknownNameError

    key = str(value).strip().lower()
    if key in _STAGE_ALIASES:
        return _STAGE_ALIASES[key]
    raise UnknownNameError("stage", str(value), suggestions=list(STAGES))
