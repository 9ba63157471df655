"""Shared plumbing of the KnowledgeBase-level indicators: the parameter vocabulary.

Every indicator takes the same selections (``materials=, importers=, exporters=, years=,
stage=, groupby=``) with the same meaning in Python, the CLI and the API:

* ``importers`` / ``exporters``: ISO-3 codes, names, the groups ``EU27``, ``NATO``,
  ``OECD``, ``G7`` or a name defined in ``groupby``; ``"all"`` means every economy in the
  data. For importers, a group is an *economic unit* (one importer whose internal trade is
  domestic); for exporters, a group expands to its members.
* ``groupby``: user-defined country groups, ``{"AUKUS": ["AUS", "GBR", "USA"]}`` (CLI:
  ``--groupby AUKUS=AUS,GBR,USA``), usable wherever a country list is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from critmat.dims import GROUPS
from critmat.params import ParameterError, Selection, split_list

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

GroupBy = Mapping[str, Sequence[str]] | Iterable[str] | str | None


def parse_groupby(groupby: GroupBy) -> dict[str, list[str]]:
    """Turn ``{"A": [...]}``, ``"A=X,Y"`` or ``["A=X,Y", "B=Z"]`` into ``{name: members}``.

    Raises
    ------
    critmat.params.ParameterError
        For text without ``NAME=member,member``.
    """
    if groupby is None:
        return {}
    if isinstance(groupby, Mapping):
        return {str(k): [str(m) for m in v] for k, v in groupby.items()}
    items = [groupby] if isinstance(groupby, str) else list(groupby)
    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, members = str(item).partition("=")
        if not sep or not name.strip() or not members.strip():
            raise ParameterError(
                f"groupby entry '{item}' is not NAME=member,member (e.g. AUKUS=AUS,GBR,USA)"
            )
        out[name.strip()] = [m.strip() for m in members.split(",") if m.strip()]
    return out


def _known_groups(kb: KnowledgeBase, groups: dict[str, list[str]]) -> dict[str, list[str]]:
    out = {g: kb.countries_resolver.group_members(g) for g in GROUPS}
    for name, members in groups.items():
        if name.upper() in GROUPS:
            raise ParameterError(f"groupby name '{name}' shadows the built-in group {name.upper()}")
        out[name] = kb.countries_resolver.expand(members, where=f"groupby {name}")
    return out


def resolve_importer_units(
    kb: KnowledgeBase,
    importers: Selection,
    groupby: GroupBy = None,
    *,
    universe: Iterable[str] = (),
) -> dict[str, list[str]]:
    """Return ``{unit: member ISO-3 codes}`` for an importer selection.

    Parameters
    ----------
    kb
        Knowledge base (for names and groups).
    importers
        Selection; ``None``/``"all"`` means every economy in ``universe`` plus ``EU27``.
    groupby
        User-defined groups (see :func:`parse_groupby`).
    universe
        Economies that occur in the data (used for ``"all"``).

    Returns
    -------
    dict
        Single economies map to themselves; groups to their members.
    """
    groups = _known_groups(kb, parse_groupby(groupby))
    items = split_list(importers)
    if items is None:
        units = {c: [c] for c in sorted(set(universe))}
        units["EU27"] = groups["EU27"]
        for name in parse_groupby(groupby):
            units[name] = groups[name]
        return units
    units = {}
    for item in items:
        key = item.strip()
        match = next((g for g in groups if g.upper() == key.upper()), None)
        if match is not None:
            units[match] = groups[match]
        else:
            code = kb.countries_resolver.resolve(key, where="importers=")
            units[code] = [code]
    return units


def resolve_member_list(
    kb: KnowledgeBase, countries: Selection, groupby: GroupBy = None
) -> list[str] | None:
    """Resolve a country selection to member ISO-3 codes, expanding every group."""
    items = split_list(countries)
    if items is None:
        return None
    groups = _known_groups(kb, parse_groupby(groupby))
    out: list[str] = []
    for item in items:
        match = next((g for g in groups if g.upper() == item.strip().upper()), None)
        out.extend(groups[match] if match else [kb.countries_resolver.resolve(item)])
    return list(dict.fromkeys(out))


def reject(indicator: str, **unused: object) -> None:
    """Raise if a vocabulary parameter that does not apply to ``indicator`` was given.

    Raises
    ------
    critmat.params.ParameterError
        Naming the parameter, instead of silently ignoring it.
    """
    given = [k for k, v in unused.items() if v is not None]
    if given:
        raise ParameterError(
            f"{', '.join(f'{g}=' for g in given)} does not apply to {indicator}; drop it"
        )


def require_years(
    kb: KnowledgeBase, years: object, tables: Sequence[str], indicator: str
) -> list[int] | None:
    """Check that every requested year is covered by all ``tables``; return the years.

    Raises
    ------
    critmat.params.ParameterError
        Naming the years outside the data and the range that is covered (user tables
        included), instead of returning an empty or all-missing result.
    """
    from critmat.params import parse_years

    wanted = parse_years(years)  # type: ignore[arg-type]
    if wanted is None:
        return None
    lo, hi = None, None
    for table in tables:
        r = kb.sql(f'select min(year) as a, max(year) as b from "{table}"')
        a, b = r["a"].iloc[0], r["b"].iloc[0]
        if pd.isna(a) or pd.isna(b):
            continue
        lo = int(a) if lo is None else max(lo, int(a))
        hi = int(b) if hi is None else min(hi, int(b))
    if lo is None or hi is None:
        return wanted
    outside = [y for y in wanted if not lo <= y <= hi]
    if outside:
        raise ParameterError(
            f"{indicator}: no data for year(s) {', '.join(map(str, outside))}; "
            f"the {' and '.join(tables)} data cover {lo}-{hi} (import your own rows to extend "
            "them)"
        )
    return wanted
