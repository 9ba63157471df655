"""Shared plumbing of the KnowledgeBase-level indicators: the parameter vocabulary.

Every indicator takes the same selections (``materials=, importers=, exporters=, years=,
stage=, groupby=``) with the same meaning in Python, the CLI and the API:

* ``importers`` / ``exporters``: ISO-3 codes, names, the groups ``EU27``, ``NATO``,
  ``OECD``, ``G7`` or a name defined in ``groupby``; ``"all"`` means every economy in the
  data. For importers, a group is an *economic unit* (one importer whose internal trade is
  domestic); for exporters, a group expands to its members.
* ``groupby``: user-defined country groups, ``{"AUKUS": ["AUS", "GBR", "USA"]}`` (CLI:
  ``--groupby AUKUS=AUS,GBR,USA``), usable wherever a country list is accepted.

The selections themselves are resolved by the data layer's selector (``kb.select``,
:class:`critmat.data.select.Selector`); the functions below are kept for callers of the
earlier API and delegate to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from critmat.errors import ParameterError
from critmat.params import GroupBy, Selection, parse_groupby

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "GroupBy",
    "parse_groupby",
    "reject",
    "require_years",
    "resolve_importer_units",
    "resolve_member_list",
]


def resolve_importer_units(
    kb: KnowledgeBase,
    importers: Selection,
    groupby: GroupBy = None,
    *,
    universe: Iterable[str] = (),
) -> dict[str, list[str]]:
    """``{unit: member ISO-3 codes}``; see :meth:`critmat.data.select.Selector.importer_units`."""
    return kb.select.importer_units(importers, groupby, universe=universe)


def resolve_member_list(
    kb: KnowledgeBase, countries: Selection, groupby: GroupBy = None
) -> list[str] | None:
    """Member ISO-3 codes, every group expanded; see ``Selector.countries``."""
    return kb.select.countries(countries, groupby)


def require_years(
    kb: KnowledgeBase, years: object, tables: Sequence[str], indicator: str
) -> list[int] | None:
    """The requested years checked against the tables; see ``Selector.years``."""
    return kb.select.years(years, tables, indicator=indicator)


def reject(indicator: str, **unused: object) -> None:
    """Raise if a vocabulary parameter that does not apply to ``indicator`` was given.

    Raises
    ------
    critmat.errors.ParameterError
        Naming the parameter, instead of silently ignoring it.

    Examples
    --------
    >>> reject("concentration", importers="EU27")
    Traceback (most recent call last):
    ...
    critmat.errors.ParameterError: importers= does not apply to concentration; drop it
    """
    given = [k for k, v in unused.items() if v is not None]
    if given:
        raise ParameterError(
            f"{', '.join(f'{g}=' for g in given)} does not apply to {indicator}; drop it"
        )
