"""The selection layer: one place that turns the shared vocabulary into rows of the tables.

Every indicator, the defence layer and the scenarios select their inputs through
:class:`Selector` (``kb.select``), so that names, country groups, importer units, year
coverage and the attribution of trade to materials are computed in one way:

* **names**: materials (ids, names, symbols, aliases; groups optionally expanded) and
  countries (ISO-3, ISO-2, names; the groups EU27, NATO, OECD, G7 and user ``groupby``
  groups expanded to their members);
* **importer units**: a single economy, or a group treated as one economy whose internal
  trade is domestic (:meth:`Selector.importer_units`);
* **years**: requested years checked against the coverage of the tables used (an error
  names the covered range), the latest year of a table;
* **trade attribution**: BACI rows of the HS codes mapped to the materials (and stage),
  with ``material`` and ``stage`` attached through the ``hs_codes`` table
  (:func:`critmat.methods.dependency.attribute_trade`); a code mapped to two materials
  yields one row per material;
* **production, governance** (by vintage, never mixed) and the **source ids** of the rows
  used;
* **supply shares** by vintage (``supply_vintage``: the newest per material, stage and mix
  by default), checked by the supply-input checks on every selection (so imported rows are
  checked like the embedded ones), and the **supplier mix** with its documented fallback
  and status (:meth:`Selector.supply_mix`, :mod:`critmat.methods.supply`).

No SQL is written outside the data layer: this module and :mod:`critmat.knowledge_base`
hold it. Derived values (coverage, group members) are kept in ``kb.cache`` and so die with
the knowledge base's data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.dims import GROUPS, parse_stage
from critmat.errors import ParameterError, UnknownNameError, closest
from critmat.methods.dependency import attribute_trade
from critmat.methods.supply import NEWEST, choose_vintages, supplier_mix, vintage_summary
from critmat.params import GroupBy, Selection, parse_groupby, parse_years, split_list

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["TRADE_COLUMNS", "Selector"]

#: Columns of the trade table read by the indicators.
TRADE_COLUMNS: tuple[str, ...] = ("year", "exporter", "importer", "hs6", "value_kusd", "quantity_t")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _none(value: object) -> object:
    """``None`` for a missing value (DuckDB parameters), the value otherwise."""
    return None if pd.isna(value) else value


def _split_sources(values: Iterable[object]) -> set[str]:
    return {part for v in values if isinstance(v, str) for part in v.split(";") if part}


class Selector:
    """Selections over one knowledge base (``kb.select``).

    Parameters
    ----------
    kb
        The knowledge base whose tables are selected from.

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> kb.select.materials("Gallium, REE")
    ['gallium', 'rare_earths']
    >>> units = kb.select.importer_units("EU27,USA")
    >>> len(units["EU27"]), units["USA"]
    (27, ['USA'])
    >>> kb.select.latest_year("trade")
    2024
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb

    # ------------------------------------------------------------------ names

    def materials(
        self, materials: Selection, *, expand_groups: bool = False, where: str = "materials="
    ) -> list[str] | None:
        """Canonical material ids of a selection (``None``: all).

        Raises
        ------
        critmat.errors.UnknownNameError
            With "did you mean" suggestions.
        """
        items = split_list(materials)
        if items is None:
            return None
        ids = [self.material(item, where=where) for item in items]
        if expand_groups:
            ids = ids + [m for i in ids for m in self.members(i)]
        return list(dict.fromkeys(ids))

    def material(self, name: object, *, where: str | None = None) -> str:
        """The canonical id of one material name.

        Raises
        ------
        critmat.errors.UnknownNameError
            With "did you mean" suggestions.
        """
        return self._kb.materials_resolver.resolve(name, where=where)

    def members(self, group_material: str) -> list[str]:
        """The individual materials of a group material (``hree``, ``pgm``, ...)."""
        return self._kb.materials_resolver.members(group_material)

    def country(self, name: object, *, where: str | None = None) -> str:
        """The ISO-3 code of one country name or code (no groups).

        Raises
        ------
        critmat.errors.UnknownNameError
            With "did you mean" suggestions (ISO-3 codes).
        """
        return self._kb.countries_resolver.resolve(name, where=where)

    def country_suggestions(self, name: object, n: int = 3) -> list[str]:
        """The closest countries to ``name`` as ``"DEU (Germany)"`` labels."""
        return self._kb.countries_resolver.suggest_labelled(name, n)

    def groups(self, groupby: GroupBy = None) -> dict[str, list[str]]:
        """Members of the built-in groups (EU27, NATO, OECD, G7) and the ``groupby`` groups.

        Raises
        ------
        critmat.errors.ParameterError
            When a user group shadows a built-in one.
        """
        resolver = self._kb.countries_resolver
        builtin: dict[str, list[str]] = self._kb.cache.get(
            ("select", "groups"), lambda: {g: resolver.group_members(g) for g in GROUPS}
        )
        out = dict(builtin)
        for name, members in parse_groupby(groupby).items():
            if name.upper() in GROUPS:
                raise ParameterError(
                    f"groupby name '{name}' shadows the built-in group {name.upper()}"
                )
            out[name] = resolver.expand(members, where=f"groupby {name}")
        return out

    def countries(
        self, countries: Selection, groupby: GroupBy = None, *, where: str = "countries="
    ) -> list[str] | None:
        """ISO-3 members of a country selection, every group expanded (``None``: all)."""
        items = split_list(countries)
        if items is None:
            return None
        groups = self.groups(groupby)
        out: list[str] = []
        for item in items:
            match = next((g for g in groups if g.upper() == item.strip().upper()), None)
            if match is not None:
                out.extend(groups[match])
            else:
                out.append(self.country(item, where=where))
        return list(dict.fromkeys(out))

    def importer_units(
        self,
        importers: Selection,
        groupby: GroupBy = None,
        *,
        universe: Iterable[str] = (),
        where: str = "importers=",
    ) -> dict[str, list[str]]:
        """``{unit: member ISO-3 codes}`` of an importer selection.

        Parameters
        ----------
        importers
            ISO-3 codes, names, groups (``EU27``, ``NATO``, ``OECD``, ``G7``, a ``groupby``
            name); ``None``/``"all"``: every economy in ``universe``, EU27 and the
            ``groupby`` groups.
        groupby
            User-defined groups.
        universe
            Economies that occur in the data (for ``"all"``).
        where
            Option name for error messages.

        Returns
        -------
        dict
            A single economy maps to itself; a group (one economic unit) to its members.
        """
        groups = self.groups(groupby)
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
                code = self.country(key, where=where)
                units[code] = [code]
        return units

    def one_importer(
        self, importers: Selection, groupby: GroupBy = None, *, where: str = "importers="
    ) -> tuple[str, list[str]]:
        """The single importer unit of a selection that must name exactly one.

        Raises
        ------
        critmat.errors.ParameterError
            When the selection names none or several units.
        """
        if split_list(importers) is None:
            raise ParameterError(f"{where} needs one importer unit (e.g. EU27 or DEU), not all")
        units = self.importer_units(importers, groupby, where=where)
        if len(units) != 1:
            raise ParameterError(
                f"{where} takes one importer unit here, got {len(units)}: "
                f"{', '.join(units)} (a group such as EU27 or NATO is one unit)"
            )
        return next(iter(units.items()))

    # ------------------------------------------------------------------ years

    def coverage(self, tables: Sequence[str]) -> tuple[int, int] | None:
        """Years covered by all ``tables`` (the intersection), user rows included."""
        lo: int | None = None
        hi: int | None = None
        for table in tables:
            span = self._span(table)
            if span is None:
                continue
            lo = span[0] if lo is None else max(lo, span[0])
            hi = span[1] if hi is None else min(hi, span[1])
        return None if lo is None or hi is None else (lo, hi)

    def _span(self, table: str) -> tuple[int, int] | None:
        spec = self._kb.catalog.table(table)

        def build() -> tuple[int, int] | None:
            r = self._kb.sql(f"select min(year) as a, max(year) as b from {_ident(spec.name)}")
            a, b = r["a"].iloc[0], r["b"].iloc[0]
            return None if pd.isna(a) or pd.isna(b) else (int(a), int(b))

        span: tuple[int, int] | None = self._kb.cache.get(("select", "span", spec.name), build)
        return span

    def years(self, years: Any, tables: Sequence[str], *, indicator: str) -> list[int] | None:
        """The requested years, each checked against the coverage of ``tables``.

        Raises
        ------
        critmat.errors.ParameterError
            Naming the years outside the data and the range that is covered (user tables
            included), instead of returning an empty or all-missing result.
        """
        wanted = parse_years(years)
        if wanted is None:
            return None
        span = self.coverage(tables)
        if span is None:
            return wanted
        lo, hi = span
        outside = [y for y in wanted if not lo <= y <= hi]
        if outside:
            raise ParameterError(
                f"{indicator}: no data for year(s) {', '.join(map(str, outside))}; "
                f"the {' and '.join(tables)} data cover {lo}-{hi} (import your own rows to "
                "extend them)"
            )
        return wanted

    def latest_year(self, table: str = "trade") -> int:
        """The latest year with rows in ``table``.

        Raises
        ------
        critmat.errors.ParameterError
            When the table has no rows.
        """
        span = self._span(table)
        if span is None:
            raise ParameterError(f"table '{table}' has no rows, so it has no latest year")
        return span[1]

    def one_year(
        self, years: Any, tables: Sequence[str], *, indicator: str, where: str = "years="
    ) -> int:
        """One year of a selection (default the latest year of the first table).

        Raises
        ------
        critmat.errors.ParameterError
            When several years are given or the year is outside the data.
        """
        chosen = self.years(years, tables, indicator=indicator)
        if chosen is None:
            return self.latest_year(tables[0])
        if len(chosen) != 1:
            raise ParameterError(
                f"{indicator}: {where} takes one year here, got {len(chosen)} "
                f"({chosen[0]}-{chosen[-1]})"
            )
        return chosen[0]

    def covered_years(self, tables: Sequence[str]) -> list[int]:
        """The years present in every one of ``tables`` (e.g. trade and production)."""
        if not tables:
            return []
        parts = " intersect ".join(f"select distinct year from {_ident(t)}" for t in tables)
        frame = self._kb.sql(f"select year from ({parts}) order by 1")
        return [int(y) for y in frame["year"]]

    # ------------------------------------------------------------------ trade

    def hs_codes(
        self, materials: Sequence[str] | None = None, stage: str | None = None
    ) -> pd.DataFrame:
        """HS codes mapped to materials: ``hs6, material, stage`` (``None``: all)."""
        codes: pd.DataFrame = self._kb.cache.get(
            ("select", "hs_codes"),
            lambda: self._kb.sql("select hs6, material, stage, source_id from hs_codes"),
        )
        keep = pd.Series(True, index=codes.index)
        if materials is not None:
            keep &= codes["material"].isin(list(materials))
        if stage is not None:
            keep &= codes["stage"] == parse_stage(stage).value
        return codes[keep.to_numpy()].reset_index(drop=True)

    def trade(
        self,
        *,
        materials: Sequence[str] | None = None,
        stage: str | None = None,
        importers: Sequence[str] | None = None,
        exporters: Sequence[str] | None = None,
        years: Sequence[int] | None = None,
        columns: Sequence[str] | None = None,
        attribute: bool | None = None,
        codes: pd.DataFrame | None = None,
        encoded: bool = False,
    ) -> pd.DataFrame:
        """BACI trade rows of a resolved selection, attributed to materials when asked.

        Parameters
        ----------
        materials
            Canonical material ids; their HS codes are selected.
        stage
            Only the HS codes of this stage.
        importers, exporters
            ISO-3 codes of importing and exporting economies (an empty list selects none).
        years
            Years (``None``: all).
        columns
            Trade columns (default all of the table).
        attribute
            Attach ``material`` and ``stage`` (default: when ``materials``, ``stage`` or
            ``codes`` is given). A code mapped to two materials yields one row per material.
        codes
            The HS codes to attribute through, from :meth:`hs_codes` (instead of
            ``materials`` and ``stage``).
        encoded
            With attribution: ``material``, ``stage``, ``hs6``, ``importer`` and ``exporter``
            as pandas categoricals (the same values, dictionary-encoded: DuckDB hands over
            integer codes instead of text), for vectorised methods such as GeoPolRisk.

        Returns
        -------
        pandas.DataFrame
            ``[material, stage,] <columns>``. Attributed rows come from one DuckDB join of
            the selected rows with the materials of their code
            (:func:`critmat.methods.dependency.attribute_trade` of the distinct codes).
        """
        if attribute is None:
            attribute = materials is not None or stage is not None or codes is not None
        cols = (
            list(columns)
            if columns is not None
            else list(self._kb.catalog.table("trade").field_names)
        )
        if attribute and "hs6" not in cols:
            cols.append("hs6")
        clauses: list[str] = []
        params: list[Any] = []
        if attribute and codes is None:
            codes = self.hs_codes(materials, stage)
        for column, values in (
            ("year", years),
            ("importer", importers),
            ("exporter", exporters),
            ("hs6", None if codes is None else sorted(set(codes["hs6"].dropna()))),
        ):
            if values is None:
                continue
            clauses.append(f"list_contains(?, t.{column})")
            params.append(list(values))
        where = f" where {' and '.join(clauses)}" if clauses else ""
        if any(len(p) == 0 for p in params):
            where, params = " where false", []
        if codes is None:
            select = ", ".join(f"t.{_ident(c)}" for c in cols)
            return self._kb.sql(f"select {select} from trade t{where}", params or None)
        return self._attributed(cols, where, params, self._code_pairs(codes), encoded=encoded)

    def _attributed(
        self,
        cols: list[str],
        where: str,
        params: list[Any],
        pairs: pd.DataFrame,
        *,
        encoded: bool,
    ) -> pd.DataFrame:
        """Trade rows joined in DuckDB to the materials of their HS code (``pairs``)."""
        import numpy as np

        from critmat.data.store import arrow_to_pandas

        first = ["material", "stage"]
        pair_hs = [_none(v) for v in pairs["hs6"]]
        joins = [
            "join (select unnest(?::VARCHAR[]) as hs6, unnest(?::BIGINT[]) as pair) p "
            "on p.hs6 = t.hs6"
        ]
        args: list[Any] = [pair_hs, list(range(len(pairs)))]
        if not encoded:
            select = ["p.pair as __pair", *(f"t.{_ident(c)}" for c in cols)]
            sql = f"select {', '.join(select)} from trade t {' '.join(joins)}{where}"
            table = self._kb.store.arrow(sql, args + params)
            pair = np.asarray(table.column("__pair").to_numpy(), dtype=np.int64)
            frame = arrow_to_pandas(table.drop_columns(["__pair"]))
            attached = pd.DataFrame({c: pairs[c].take(pair).reset_index(drop=True) for c in first})
            return pd.concat([attached, frame], axis=1)
        countries = self.trade_countries()
        select = ["p.pair as __pair"]
        for c in cols:
            if c in ("importer", "exporter"):
                joins.append(
                    f"left join (select unnest(?::VARCHAR[]) as iso, unnest(?::BIGINT[]) as i)"
                    f" c_{c} on c_{c}.iso = t.{c}"
                )
                args += [countries, list(range(len(countries)))]
                select.append(f"c_{c}.i as {_ident('__' + c)}")
            elif c != "hs6":
                select.append(f"t.{_ident(c)}")
        sql = f"select {', '.join(select)} from trade t {' '.join(joins)}{where}"
        table = self._kb.store.arrow(sql, args + params)
        pair = np.asarray(table.column("__pair").to_numpy(), dtype=np.int64)
        country_index = pd.Index(countries, dtype=object)
        frame = arrow_to_pandas(
            table.drop_columns([n for n in table.column_names if n.startswith("__")])
        )
        for position, c in enumerate([*first, *cols]):
            if c in (*first, "hs6"):
                codes_, uniques = pd.factorize(pairs[c].to_numpy(dtype=object, na_value=None))
                column = pd.Categorical.from_codes(
                    np.asarray(codes_, dtype=np.int64)[pair], categories=pd.Index(uniques)
                )
            elif c in ("importer", "exporter"):
                code = table.column(f"__{c}").fill_null(-1).to_numpy()
                column = pd.Categorical.from_codes(
                    np.asarray(code, dtype=np.int64), categories=country_index
                )
            else:
                continue
            frame.insert(position, c, column)  # no copy of the other columns
        return frame

    def trade_countries(self) -> list[str]:
        """Every importer and exporter code of the trade table, sorted (kept in ``kb.cache``)."""

        def build() -> list[str]:
            frame = self._kb.sql(
                "select c from (select importer as c from trade union "
                "select exporter from trade) where c is not null order by c"
            )
            return frame["c"].astype(str).tolist()

        return list(self._kb.cache.get(("select", "trade_countries"), build))

    def _code_pairs(self, codes: pd.DataFrame) -> pd.DataFrame:
        """``attribute_trade`` of the distinct HS codes of ``codes`` (kept in ``kb.cache``)."""

        def build() -> pd.DataFrame:
            keys = codes["hs6"].dropna().drop_duplicates()
            return attribute_trade(keys.to_frame(), codes).reset_index(drop=True)

        columns = [c for c in ("hs6", "material", "stage") if c in codes.columns]
        key = (
            "select",
            "code_pairs",
            tuple(tuple(codes[c].tolist()) for c in columns),
            tuple(str(codes[c].dtype) for c in columns),
        )
        return self._kb.cache.get(key, build)

    def trade_importers(
        self, years: Sequence[int], materials: Sequence[str] | None = None
    ) -> list[str]:
        """Economies that import a mapped HS code (of ``materials``) in ``years``."""
        codes = sorted(set(self.hs_codes(materials)["hs6"]))
        if not codes or not years:
            return []

        def build() -> list[str]:
            frame = self._kb.sql(
                "select distinct importer from trade where list_contains(?, year) "
                "and list_contains(?, hs6)",
                [list(years), codes],
            )
            return frame["importer"].astype(str).tolist()

        # derived from the data: kept in kb.cache, which is emptied when the data change
        key = ("select", "trade_importers", tuple(years), tuple(codes))
        return list(self._kb.cache.get(key, build))

    def traded(self, codes: pd.DataFrame, years: Sequence[int]) -> pd.DataFrame:
        """``material, year`` pairs with any BACI trade world-wide, of the given HS codes.

        Parameters
        ----------
        codes
            ``hs6, material`` rows (:meth:`hs_codes`).
        years
            Years.
        """
        if codes.empty or not years:
            return pd.DataFrame(
                {"material": pd.Series(dtype=object), "year": pd.Series(dtype="int64")}
            )
        hs = sorted(set(codes["hs6"]))

        def build() -> pd.DataFrame:
            return self._kb.sql(
                "select distinct hs6, year from trade where list_contains(?, year) "
                "and list_contains(?, hs6)",
                [list(years), hs],
            )

        found = self._kb.cache.get(("select", "traded", tuple(years), tuple(hs)), build)

        def pairs() -> pd.DataFrame:
            out = found.merge(codes[["hs6", "material"]], on="hs6")
            return out[["material", "year"]].drop_duplicates().reset_index(drop=True)

        mapping = tuple(zip(codes["hs6"], codes["material"], strict=True))
        key = ("select", "traded_pairs", tuple(years), mapping)
        return self._kb.cache.get(key, pairs).copy()

    # ------------------------------------------------------------------ other tables

    def production(
        self,
        materials: Sequence[str] | None = None,
        years: Sequence[int] | None = None,
        *,
        countries: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Production rows (World Mining Data and user rows) of resolved materials and years."""
        return self._rows("production", columns, material=materials, year=years, country=countries)

    def produced_materials(self) -> list[str]:
        """Materials with any production row (kept in ``kb.cache``)."""

        def build() -> list[str]:
            frame = self._kb.sql("select distinct material from production")
            return frame["material"].astype(str).tolist()

        return list(self._kb.cache.get(("select", "produced_materials"), build))

    def governance_vintages(self) -> list[str]:
        """Vintages of the governance table (``wgi_2023``, ``wgi_2024``, ... and user ones).

        Kept in ``kb.cache`` (emptied when the data change).
        """

        def build() -> list[str]:
            frame = self._kb.sql("select distinct vintage from governance order by 1")
            return frame["vintage"].dropna().astype(str).tolist()

        return list(self._kb.cache.get(("select", "governance_vintages"), build))

    def vintage(self, vintage: str, *, where: str = "governance_vintage=") -> str:
        """Check a governance vintage name.

        Raises
        ------
        critmat.errors.UnknownNameError
            With the closest vintages.
        """
        known = self.governance_vintages()
        if vintage not in known:
            raise UnknownNameError(
                "governance vintage",
                vintage,
                suggestions=closest(vintage, known) or known,
                where=where,
            )
        return vintage

    def governance(
        self,
        vintage: str,
        years: Sequence[int] | None = None,
        *,
        columns: Sequence[str] | None = None,
        where: str = "governance_vintage=",
    ) -> pd.DataFrame:
        """Governance rows of one vintage (never mixed), optionally of some years."""
        self.vintage(vintage, where=where)
        return self._rows("governance", columns, vintage=[vintage], year=years)

    def _rows(
        self,
        table: str,
        columns: Sequence[str] | None,
        *,
        distinct: bool = False,
        **filters: Sequence[Any] | None,
    ) -> pd.DataFrame:
        spec = self._kb.catalog.table(table)
        cols = ", ".join(_ident(c) for c in columns) if columns is not None else "*"
        cols = f"distinct {cols}" if distinct else cols
        clauses, params = [], []
        for column, values in filters.items():
            if values is None:
                continue
            clauses.append(f"list_contains(?, {_ident(column)})")
            params.append(list(values))
        where = f" where {' and '.join(clauses)}" if clauses else ""
        return self._kb.sql(f"select {cols} from {_ident(spec.name)}{where}", params or None)

    def sources(self, table: str, **filters: Sequence[Any] | None) -> set[str]:
        """Source ids of the rows of ``table`` that match ``column=values`` filters."""

        def build() -> set[str]:
            frame = self._rows(table, ["source_id"], distinct=True, **filters)
            return set(_split_sources(frame["source_id"].dropna().unique()))

        key = (
            "select",
            "sources",
            table,
            tuple(sorted((k, None if v is None else tuple(v)) for k, v in filters.items())),
        )
        return set(self._kb.cache.get(key, build))

    # ------------------------------------------------------------------ supply shares

    def _checked_supply_shares(self) -> pd.DataFrame:
        """Every ``supply_shares`` row (user rows included), re-checked (cached)."""

        def build() -> pd.DataFrame:
            from critmat.checks import flag_supply_shares

            frame = self._kb.sql("select * from supply_shares")
            if "eu_crm_2023" in self._kb.store.user_tables:
                frame = self._with_user_eu_crm_2023(frame)
            flagged, _ = flag_supply_shares(
                frame,
                import_reliance=self.import_reliance(),
                eu_countries=self.groups()["EU27"],
            )
            for c in ("vintage", "material", "stage", "mix", "country", "reference_years"):
                flagged[c] = flagged[c].astype(object).where(flagged[c].notna(), None)
            flagged["share"] = pd.to_numeric(flagged["share"], errors="coerce").astype("float64")
            return flagged

        out: pd.DataFrame = self._kb.cache.get(("select", "supply_shares"), build)
        return out

    def _with_user_eu_crm_2023(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The ``eu_crm_2023`` vintage rebuilt from the ``eu_crm_2023`` table (user rows in).

        Rows a user imports into the EU 2023 study's table are the study's vintage as far
        as supply shares go, so scenarios, exposure and assessments see them.
        """
        eu = self._kb.sql("select * from eu_crm_2023")
        old = frame[frame["vintage"] == "eu_crm_2023"]
        basis = old.groupby("mix")["basis"].first().to_dict()
        rows = pd.DataFrame(
            {
                "vintage": "eu_crm_2023",
                "material": eu["material"].astype(object),
                "stage": eu["stage"].astype(object),
                "mix": eu["mix"].astype(object),
                "country": eu["country"].astype(object),
                "country_label": eu["country"].astype(object),
                "share": pd.to_numeric(eu["share"], errors="coerce"),
                "share_bound": eu["share_bound"].astype(object),
                "reference_years": "2016-2020",
                "reference_year": 2020,
                "estimated": False,
                "basis": eu["mix"].map(basis).fillna("EU CRM 2023 study table (user rows)"),
                "check_flag": None,
                "note": eu["note"].astype(object) if "note" in eu.columns else None,
                "source_id": eu["source_id"].astype(object),
            }
        )
        rest = frame[frame["vintage"] != "eu_crm_2023"]
        add = rows.reindex(columns=frame.columns)
        # all-NA columns of either part are left out of the concatenation (pandas 2.2 warns
        # that they will count for the dtypes) and come back through the reindex
        parts = [p.loc[:, p.notna().any()] for p in (rest, add) if not p.empty]
        if not parts:
            return add.reset_index(drop=True)
        return pd.concat(parts, ignore_index=True).reindex(columns=frame.columns)

    def import_reliance(self) -> pd.DataFrame:
        """EU import reliance per material and stage (``eu_crm_2023_parameters``), long."""
        from critmat.checks import eu_import_reliance

        def build() -> pd.DataFrame:
            cols = ["material", "ir_extraction", "ir_processing"]
            return eu_import_reliance(self._rows("eu_crm_2023_parameters", cols))

        out: pd.DataFrame = self._kb.cache.get(("select", "import_reliance"), build)
        return out

    def supply_vintages(self) -> pd.DataFrame:
        """Vintage, material, stage and mix of the supply shares, with ``newest`` (cached).

        Computed from the rows (user vintages included) by the rule of the dataset build's
        ``supply_vintages`` table (:func:`critmat.methods.supply.vintage_summary`).
        """
        out: pd.DataFrame = self._kb.cache.get(
            ("select", "supply_vintages"),
            lambda: vintage_summary(self._checked_supply_shares()),
        )
        return out

    def supply_vintage(self, vintage: str | None, *, where: str = "supply_vintage=") -> str:
        """Check a ``supply_vintage`` value (``newest`` or a vintage of the supply shares).

        Raises
        ------
        critmat.errors.UnknownNameError
            With the closest vintages.
        """
        if vintage is None or str(vintage).strip().lower() == NEWEST:
            return NEWEST
        known = sorted(set(self.supply_vintages()["vintage"].dropna().astype(str)))
        value = str(vintage).strip()
        if value not in known:
            raise UnknownNameError(
                "supply vintage",
                value,
                suggestions=closest(value, [NEWEST, *known]) or [NEWEST, *known],
                where=where,
            )
        return value

    def supply_shares(
        self,
        materials: Sequence[str] | None = None,
        *,
        stage: str | None = None,
        mix: str | None = None,
        vintage: str | None = NEWEST,
        where: str = "supply_vintage=",
    ) -> pd.DataFrame:
        """Supply shares of the chosen vintage per material, stage and mix.

        Parameters
        ----------
        materials
            Canonical material ids (``None``: all).
        stage, mix
            Optional filters (``extraction``/``processing``; ``global``/``eu_sourcing``).
        vintage
            ``"newest"`` (default: per material, stage and mix the newest available) or a
            vintage name (only its rows).
        where
            Option name for error messages.

        Returns
        -------
        pandas.DataFrame
            The ``supply_shares`` rows, with ``check_flag`` as the supply-input checks find
            it now (build flags kept).
        """
        chosen_vintage = self.supply_vintage(vintage, where=where)
        st = parse_stage(stage).value if stage is not None else None
        if mix is not None and mix not in ("global", "eu_sourcing"):
            raise UnknownNameError("mix", mix, suggestions=["global", "eu_sourcing"])
        rows = self._vintage_rows(chosen_vintage)
        keep = np.ones(len(rows), dtype=bool)
        for col, wanted in (("material", materials), ("stage", st), ("mix", mix)):
            if wanted is not None:
                values = [wanted] if isinstance(wanted, str) and col != "material" else wanted
                keep &= rows[col].isin(list(values)).to_numpy(dtype=bool, na_value=False)
        # the rows of every material in one sorted frame (a stable sort): a selection of it
        # is what selecting first and sorting after gives
        return rows[keep].reset_index(drop=True)

    def _vintage_rows(self, vintage: str) -> pd.DataFrame:
        """The checked rows of the chosen vintages of every material, sorted (cached)."""

        def build() -> pd.DataFrame:
            chosen = choose_vintages(self.supply_vintages(), vintage)
            keys = ["vintage", "material", "stage", "mix"]
            out = self._checked_supply_shares().merge(chosen[keys], on=keys, how="inner")
            return out.sort_values(
                [*keys, "share"], ascending=[True] * 4 + [False], kind="stable"
            ).reset_index(drop=True)

        out: pd.DataFrame = self._kb.cache.get(("select", "vintage_rows", vintage), build)
        return out

    def supply_mix(
        self,
        materials: Sequence[str] | None = None,
        *,
        stages: Sequence[str] = ("extraction", "processing"),
        mix: str = "eu_sourcing",
        vintage: str | None = NEWEST,
        where: str = "supply_vintage=",
    ) -> pd.DataFrame:
        """The supplier mix per material and stage, with fallback and status.

        EU-sourcing rows that the supply-input checks flag are replaced by the global mix
        split by EU import reliance (status ``eu_sourcing_inconsistent``); where there are
        no EU-sourcing rows the global mix stands in (``global_mix_fallback``); see
        :func:`critmat.methods.supply.supplier_mix` and docs/scenarios.md.

        Returns
        -------
        pandas.DataFrame
            ``material, stage, country, share, mix_used, mix_status, vintage,
            reference_years, check_flag, import_reliance``.
        """
        chosen = self.supply_vintage(vintage, where=where)

        def mix_of(wanted: Sequence[str] | None) -> pd.DataFrame:
            shares = self.supply_shares(wanted, vintage=chosen, where=where)
            mats = sorted(set(shares["material"])) if wanted is None else list(wanted)
            return supplier_mix(
                shares,
                mats,
                stages=stages,
                mix=mix,
                import_reliance=self.import_reliance(),
                eu_countries=self.groups()["EU27"],
            )

        # every material's mix once per kb (each material and stage is decided on its own
        # rows, in material and stage order): a selection is a filter of it
        key = ("select", "supply_mix", chosen, mix, tuple(stages))
        every: pd.DataFrame = self._kb.cache.get(key, lambda: mix_of(None))
        if materials is None:
            return every.copy()
        out = every[every["material"].isin(list(materials)).to_numpy(dtype=bool)]
        if out.empty:  # the empty frame of the method itself
            return mix_of(materials)
        return out.reset_index(drop=True)
