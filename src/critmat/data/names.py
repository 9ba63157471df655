"""Resolve material and country names to canonical ids, with "did you mean" suggestions.

Materials resolve through their canonical id, display name, element symbol and the alias
table (every spelling found in the sources). Countries resolve through ISO-3, ISO-2, names,
the alias table and country_converter's regular expressions (stored in the countries table).
Resolution of a whole column is vectorised over its unique values.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cached_property

import pandas as pd

from critmat.dims import GROUP_MATERIALS, GROUPS
from critmat.errors import AmbiguousNameError, UnknownNameError, closest

__all__ = ["CountryResolver", "MaterialResolver", "closest", "normalise_name"]

_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―"), "-")


def normalise_name(value: object) -> str:
    """Return the lookup key of a name: NFKC, lower case, single spaces, '_' as space.

    Examples
    --------
    >>> normalise_name("  Titanium_Metal ")
    'titanium metal'
    """
    s = unicodedata.normalize("NFKC", str(value)).translate(_DASHES)
    s = s.replace("_", " ").strip().lower()
    return re.sub(r"\s+", " ", s)


class _Resolver:
    """Common machinery: a dict from normalised key to canonical id."""

    kind = "name"

    def __init__(self, lookup: dict[str, str], canonical: Sequence[str]) -> None:
        self._lookup = lookup
        self.canonical = list(canonical)

    def _match(self, key: str) -> str | None:
        return self._lookup.get(key)

    def lookup(self, name: object) -> str | None:
        """Return the canonical id of ``name`` or ``None`` when it is unknown."""
        if name is None or (isinstance(name, float) and pd.isna(name)):
            return None
        return self._match(normalise_name(name))

    @cached_property
    def _suggest_keys(self) -> list[str]:
        # one- and two-letter keys (element symbols, ISO-2 codes) match almost anything
        # in a fuzzy partial comparison, so they are not offered as suggestions
        return [k for k in self._lookup if len(k) >= 3]

    def suggest(self, name: object, n: int = 3) -> list[str]:
        """Return the canonical ids closest to ``name``."""
        key = normalise_name(name)
        hits = closest(key, self._suggest_keys, n=n * 3)
        out: list[str] = []
        for h in hits:
            cid = self._lookup[h]
            if cid not in out:
                out.append(cid)
        return out[:n]

    def resolve(self, name: object, *, where: str | None = None) -> str:
        """Return the canonical id of ``name``.

        Raises
        ------
        critmat.errors.UnknownNameError
            With suggestions when the name is unknown.
        """
        cid = self.lookup(name)
        if cid is None:
            raise UnknownNameError(
                self.kind, str(name), suggestions=self.suggest(name), where=where
            )
        return cid

    def resolve_many(self, names: Iterable[object], *, where: str | None = None) -> list[str]:
        """Resolve several names; raise on the first unknown one (with suggestions)."""
        return [self.resolve(n, where=where) for n in names]

    def map_series(self, values: pd.Series) -> pd.Series:
        """Resolve a whole column; unknown values become ``<NA>`` (vectorised over uniques)."""
        uniques = pd.unique(values.dropna())
        mapping = {u: self.lookup(u) for u in uniques}
        return values.map(mapping).astype("string")


class MaterialResolver(_Resolver):
    """Resolve material names, symbols and aliases to canonical material ids.

    Parameters
    ----------
    materials
        The ``materials`` table (columns ``material``, ``name``, ``symbol``, ``group``).
    aliases
        The ``material_aliases`` table (columns ``alias``, ``material``).
    """

    kind = "material"

    def __init__(self, materials: pd.DataFrame, aliases: pd.DataFrame | None = None) -> None:
        lookup: dict[str, str] = {}
        for mid, name, symbol in zip(
            materials["material"], materials["name"], materials["symbol"], strict=True
        ):
            for key in (mid, name, symbol):
                if isinstance(key, str) and key:
                    lookup.setdefault(normalise_name(key), mid)
        if aliases is not None:
            for alias, mid in zip(aliases["alias"], aliases["material"], strict=True):
                lookup.setdefault(normalise_name(alias), mid)
        super().__init__(lookup, list(materials["material"]))
        self._groups = dict(zip(materials["material"], materials["group"], strict=True))

    def ancestors(self, material: str) -> list[str]:
        """Return the group materials that contain ``material``, nearest first.

        Examples: ``dysprosium`` -> ``["hree", "rare_earths"]``; ``platinum`` -> ``["pgm"]``.
        """
        out: list[str] = []
        current = self._groups.get(material)
        while isinstance(current, str) and current in GROUP_MATERIALS:
            parent = GROUP_MATERIALS[current]
            if parent in out or parent == material:
                break
            out.append(parent)
            current = self._groups.get(parent)
        return out

    def members(self, group_material: str) -> list[str]:
        """Return the individual materials inside a group material (``hree``, ``pgm``, ...)."""
        return [
            m
            for m in self.canonical
            if m not in GROUP_MATERIALS.values() and group_material in self.ancestors(m)
        ]


class CountryResolver(_Resolver):
    """Resolve country codes, names and aliases to ISO 3166 alpha-3 codes.

    Parameters
    ----------
    countries
        The ``countries`` table.
    aliases
        The ``country_aliases`` table.
    """

    kind = "country"

    def __init__(self, countries: pd.DataFrame, aliases: pd.DataFrame | None = None) -> None:
        lookup: dict[str, str] = {}
        for row in countries.itertuples(index=False):
            code = row.country
            for key in (code, row.iso2, row.name, row.name_official):
                if isinstance(key, str) and key:
                    lookup.setdefault(normalise_name(key), code)
        if aliases is not None:
            for alias, code in zip(aliases["alias"], aliases["country"], strict=True):
                lookup.setdefault(normalise_name(alias), code)
        super().__init__(lookup, list(countries["country"]))
        self._countries = countries
        self._regex_source = [
            (code, rx)
            for code, rx, kind in zip(
                countries["country"], countries["regex"], countries["kind"], strict=True
            )
            if isinstance(rx, str) and rx and kind == "country"
        ]

    @cached_property
    def _regexes(self) -> list[tuple[str, re.Pattern[str]]]:
        return [(code, re.compile(rx, re.IGNORECASE)) for code, rx in self._regex_source]

    def _match(self, key: str) -> str | None:
        hit = self._lookup.get(key)
        if hit is not None:
            return hit
        matches = {code for code, rx in self._regexes if rx.search(key)}
        return matches.pop() if len(matches) == 1 else None

    @staticmethod
    def _words(text: str) -> str:
        return " " + " ".join(re.sub(r"[^a-z0-9 ]", " ", normalise_name(text)).split()) + " "

    @cached_property
    def _name_words(self) -> list[tuple[str, str]]:
        out = []
        for row in self._countries.itertuples(index=False):
            if row.kind != "country":
                continue
            for n in {row.name, row.name_official}:
                if isinstance(n, str) and n:
                    out.append((row.country, self._words(n)))
        return out

    def candidates(self, name: object) -> list[str]:
        """Countries whose name contains ``name`` as whole words, when it is no exact name.

        ``Congo`` gives ``["COD", "COG"]`` (DR Congo, Congo Republic); an exact code, name
        or alias gives ``[]`` (it is not ambiguous).
        """
        key = normalise_name(name)
        if len(key) < 3 or key in self._lookup:
            return []
        words = self._words(key)
        return sorted({code for code, text in self._name_words if words in text})

    def resolve(self, name: object, *, where: str | None = None) -> str:
        """Return the ISO-3 code of ``name``.

        Raises
        ------
        critmat.errors.AmbiguousNameError
            For a name several countries share (``Congo``), listing them.
        critmat.errors.UnknownNameError
            With suggestions when the name is unknown.
        """
        found = self.candidates(name)  # [] for an exact code, name or alias
        if len(found) > 1:
            raise AmbiguousNameError(
                "country", str(name), candidates=[self.label(c) for c in found], where=where
            )
        return super().resolve(name, where=where)

    def label(self, code: str) -> str:
        """Return ``"DEU (Germany)"`` for a code."""
        names = self._countries.set_index("country")["name"]
        return f"{code} ({names[code]})" if code in names.index else code

    def suggest_labelled(self, name: object, n: int = 3) -> list[str]:
        """Like :meth:`suggest`, with the country name after each code."""
        return [self.label(c) for c in self.suggest(name, n)]

    def group_members(self, group: str) -> list[str]:
        """Return the ISO-3 members of a country group (EU27, NATO, OECD, G7)."""
        col = GROUPS[group.upper()]
        members = self._countries.loc[self._countries[col].fillna(False).astype(bool), "country"]
        return sorted(members)

    def expand(self, names: Iterable[str], *, where: str | None = None) -> list[str]:
        """Resolve names to ISO-3 codes, expanding group names (EU27, NATO, OECD, G7)."""
        out: list[str] = []
        for n in names:
            if str(n).strip().upper() in GROUPS:
                out.extend(self.group_members(str(n).strip().upper()))
            else:
                out.append(self.resolve(n, where=where))
        return list(dict.fromkeys(out))
