"""The KnowledgeBase: one object over the embedded dataset and the user's own tables.

It orchestrates and records; it never holds a formula. Accessors return tidy pandas frames
with canonical column names and their provenance in ``frame.attrs["critmat"]``. Selections
use one vocabulary everywhere: ``materials=``, ``countries=``, ``importers=``,
``exporters=``, ``years=``, ``stage=``.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmat._version import __version__
from critmat.data.cache import Cache, copied
from critmat.data.catalog import Catalog, TableSpec, embedded_dir
from critmat.data.names import CountryResolver, MaterialResolver
from critmat.data.select import Selector
from critmat.data.store import Store
from critmat.data.userdata import UserData, default_data_dir
from critmat.data.validate import ValidationContext
from critmat.dims import GROUPS, parse_stage
from critmat.params import Selection, parse_years
from critmat.provenance import Provenance, attach

if TYPE_CHECKING:
    from critmat.data.results import ResultStore
    from critmat.defence.accessor import Defence
    from critmat.indicators.accessor import Indicators
    from critmat.optimize.accessor import Optimize
    from critmat.policy.accessor import Policy
    from critmat.scenarios.accessor import Scenarios

__all__ = ["KnowledgeBase"]


def _home_relative(path: Path) -> str:
    """Show a path under the home folder as ``~/...`` (no user names in printed output)."""
    try:
        return "~/" + path.resolve().relative_to(Path.home().resolve()).as_posix()
    except ValueError:
        return str(path)


#: Whole tables up to this many rows (embedded) are read once per knowledge base by
#: :meth:`KnowledgeBase.table` (the trade table is not).
_CACHED_TABLE_ROWS = 20_000


class _Where:
    """Accumulates SQL conditions with bound parameters."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def isin(self, column: str, values: list[Any] | None) -> None:
        if values is None:
            return
        self.clauses.append(f"list_contains(?, {column})")
        self.params.append(list(values))

    def eq(self, column: str, value: Any) -> None:
        if value is None:
            return
        self.clauses.append(f"{column} = ?")
        self.params.append(value)

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.clauses)) if self.clauses else ""


class KnowledgeBase:
    """The critmat knowledge base.

    Parameters
    ----------
    data_dir
        User data directory to overlay (default ``$CRITMAT_DATA_DIR`` or the platform user
        data folder). It is only read, and only if it exists.
    user_data
        ``False`` to use the embedded dataset alone.
    embedded
        Folder of an embedded dataset (default: the one shipped in the package).

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> kb.resolve_materials(["Gallium", "REE"])
    ['gallium', 'rare_earths']
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        user_data: bool = True,
        embedded: str | Path | None = None,
    ) -> None:
        self.embedded = Path(embedded) if embedded is not None else embedded_dir()
        self.catalog = Catalog.load(self.embedded / "datapackage.json")
        self.user: UserData | None = None
        if user_data:
            self.user = UserData(Path(data_dir) if data_dir is not None else default_data_dir())
        #: Derived data of this knowledge base (emptied whenever its data may change).
        self.cache = Cache()

    # ------------------------------------------------------------------ plumbing

    @cached_property
    def store(self) -> Store:
        """The DuckDB store (opened on first query)."""
        return Store(self.catalog, self.embedded, self.user)

    @cached_property
    def indicators(self) -> Indicators:
        """Indicator methods (``kb.indicators.geopolrisk(...)`` etc.)."""
        from critmat.indicators.accessor import Indicators

        return Indicators(self)

    @cached_property
    def defence(self) -> Defence:
        """Defence layer (``kb.defence.exposure(...)``, ``kb.defence.criticality()`` etc.)."""
        from critmat.defence.accessor import Defence

        return Defence(self)

    @cached_property
    def scenarios(self) -> Scenarios:
        """Disruption scenarios (``kb.scenarios.run(spec)``, ``kb.scenarios.preset(name)``)."""
        from critmat.scenarios.accessor import Scenarios

        return Scenarios(self)

    @cached_property
    def optimize(self) -> Optimize:
        """Decisions (``kb.optimize.stockpile(...)``, ``.frontier``, ``.sourcing``, ...)."""
        from critmat.optimize.accessor import Optimize

        return Optimize(self)

    @cached_property
    def policy(self) -> Policy:
        """Policy layer (``kb.policy.events(...)``, ``kb.policy.crma_benchmarks()`` etc.)."""
        from critmat.policy.accessor import Policy  # lazy: the documented exception

        return Policy(self)

    @cached_property
    def select(self) -> Selector:
        """The selection layer: names, importer units, years, attributed trade, ..."""
        return Selector(self)

    @property
    def version(self) -> str:
        """Dataset version."""
        return self.catalog.version

    @property
    def results(self) -> ResultStore | None:
        """Results kept on disk between runs (:mod:`critmat.data.results`), if any.

        ``<user data directory>/cache``; ``None`` without a user data directory, under
        ``CRITMAT_CACHE=off``, or when the user data are not one plain directory (the API's
        layered scopes keep their results in memory only).
        """
        from critmat.data.results import ResultStore, cache_enabled, results_folder

        if type(self.user) is not UserData or not cache_enabled():
            return None
        return ResultStore(results_folder(self.user.root))

    def state_key(self) -> tuple[str, ...]:
        """What every derived value depends on besides its arguments (persistent results).

        The critmat version and its source files' fingerprint, the embedded dataset's
        content hash and its files (name, size, mtime), the user data manifest this
        knowledge base reads (its snapshot: every table file with its checksum, and the
        import log), and the versions of Python, numpy, pandas and pyarrow. Computed once
        per knowledge base and state of its data.
        """

        def build() -> tuple[str, ...]:
            import hashlib
            import json
            import sys

            import numpy as np
            import pyarrow as pa

            from critmat.data.results import code_fingerprint

            # the tables read and the import log (sources list it); retired files are not read
            state = {k: v for k, v in self.store.manifest.items() if k != "retired"}
            manifest = json.dumps(state, sort_keys=True, default=str)
            files = hashlib.sha256()  # the embedded files themselves (a rebuilt dataset)
            for path in sorted(self.embedded.rglob("*")):
                if path.is_file():
                    st = path.stat()
                    files.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns};".encode())
            return (
                __version__,
                code_fingerprint(),
                str(self.catalog.descriptor.get("critmat:content_hash", "")),
                self.catalog.version,
                files.hexdigest(),
                hashlib.sha256(manifest.encode()).hexdigest(),
                ".".join(map(str, sys.version_info[:3])),
                np.__version__,
                pd.__version__,
                pa.__version__,
            )

        return self.cache.get(("state_key",), build)

    def close(self) -> None:
        """Close the database connection and forget derived data (both rebuild on next use).

        The cache (:attr:`cache`) and the name resolvers are emptied too, so that nothing
        computed from the old state of the data outlives it.
        """
        if "store" in self.__dict__:
            self.__dict__.pop("store").close()
        for name in ("materials_resolver", "countries_resolver"):
            self.__dict__.pop(name, None)
        self.cache.clear()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def provenance(
        self, method: str, frame: pd.DataFrame | None = None, **parameters: Any
    ) -> Provenance:
        """Return a provenance record for a result computed from this knowledge base."""
        sources: list[str] = []
        user_ids: list[str] = []
        if frame is not None and "source_id" in frame.columns:
            # unique() on the Arrow-backed column first: no copy of a million-row column
            ids = {
                s for v in frame["source_id"].unique() if isinstance(v, str) for s in v.split(";")
            }
            user_ids = sorted(i for i in ids if i.startswith("user"))
            sources = sorted(ids - set(user_ids))
        return Provenance(
            method=method,
            method_version=__version__,
            dataset_version=self.version,
            dataset_hash=self.catalog.content_hash,
            sources=sources,
            parameters={k: v for k, v in parameters.items() if v is not None},
            user_data=user_ids,
        )

    def _result(self, frame: pd.DataFrame, table: str, **parameters: Any) -> pd.DataFrame:
        spec = self.catalog.table(table)
        prov = self.provenance(f"table:{table}", frame, **parameters)
        prov.units = {f.name: f.unit for f in spec.fields if f.unit and f.name in frame.columns}
        return attach(frame, prov)

    def sql(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a read-only SQL query over the knowledge-base views (DuckDB dialect).

        Examples
        --------
        >>> import critmat
        >>> kb = critmat.load(user_data=False)
        >>> int(kb.sql("select count(*) as n from nato_2024")["n"].iloc[0])
        12
        """
        return self.store.query(query, params)

    # ------------------------------------------------------------------ names

    @cached_property
    def materials_resolver(self) -> MaterialResolver:
        """Resolver of material names (ids, names, symbols, aliases)."""
        return MaterialResolver(
            self.sql("select * from materials"), self.sql("select * from material_aliases")
        )

    @cached_property
    def countries_resolver(self) -> CountryResolver:
        """Resolver of country names and codes."""
        return CountryResolver(
            self.sql("select * from countries"), self.sql("select * from country_aliases")
        )

    def validation_context(self) -> ValidationContext:
        """Resolvers and unit table used to validate imports."""
        volume = self.sql("select material from materials where measured_as = 'volume'")
        return ValidationContext(
            self.materials_resolver,
            self.countries_resolver,
            self.sql("select * from units"),
            volume_materials=frozenset(volume["material"].dropna()),
        )

    def resolve_materials(
        self, names: Selection, *, expand_groups: bool = False
    ) -> list[str] | None:
        """Resolve material names to canonical ids (``None`` for all).

        Parameters
        ----------
        names
            Ids, names, symbols or aliases; a comma-separated string or a list.
        expand_groups
            Replace group materials (``hree``, ``pgm``, ...) by their members as well.

        Raises
        ------
        critmat.errors.UnknownNameError
            With "did you mean" suggestions.
        """
        return self.select.materials(names, expand_groups=expand_groups)

    def resolve_countries(self, names: Selection) -> list[str] | None:
        """Resolve country names/codes to ISO-3, expanding groups (EU27, NATO, OECD, G7)."""
        return self.select.countries(names)

    # ------------------------------------------------------------------ tables

    def tables(self) -> pd.DataFrame:
        """Inventory: one row per table with rows, years, user rows and sources."""
        user = self.store.user_tables
        rows = []
        for spec in self.catalog.tables.values():
            st = spec.stats
            years = st.get("years")
            entry = user.get(spec.name)
            rows.append(
                {
                    "table": spec.name,
                    "title": spec.title,
                    "rows": st.get("rows", 0),
                    "years": f"{years[0]}-{years[1]}" if years else "",
                    "user_rows": entry["rows"] if entry else 0,
                    "user_combine": entry["combine"] if entry else "",
                    "sources": ", ".join(spec.sources),
                }
            )
        return pd.DataFrame(rows)

    def describe(self, table: str) -> pd.DataFrame:
        """Fields of ``table``: name, type, unit, required, description; sources in attrs."""
        spec = self.catalog.table(table)
        frame = pd.DataFrame(
            [
                {
                    "field": f.name,
                    "type": f.type,
                    "unit": f.unit or "",
                    "required": f.required,
                    "key": f.name in spec.primary_key,
                    "description": f.description,
                }
                for f in spec.fields
            ]
        )
        frame.attrs["table"] = {
            "name": spec.name,
            "title": spec.title,
            "description": spec.description,
            "primary_key": list(spec.primary_key),
            "stats": spec.stats,
            "sources": [self._source_dict(s) for s in spec.sources],
        }
        return frame

    def _source_dict(self, sid: str) -> dict[str, Any]:
        s = self.catalog.sources[sid]
        return {
            "id": s.name,
            "title": s.title,
            "publisher": s.publisher,
            "year": s.year,
            "url": s.path,
            "licence": s.licence_text(),
            "transcription": s.transcription,
            "citation": s.citation,
        }

    def sources(self) -> pd.DataFrame:
        """All sources of the embedded dataset and the user's imports."""
        rows = [self._source_dict(sid) | {"kind": "embedded"} for sid in self.catalog.sources]
        if self.user is not None:
            for rec in self.store.manifest["imports"]:
                if rec.get("mode") == "remove":
                    continue
                rows.append(
                    {
                        "id": rec["id"],
                        "title": f"user import of {rec['file']}",
                        "publisher": "user",
                        "year": int(rec["imported_at"][:4]),
                        "url": None,
                        "licence": "user data",
                        "kind": "user",
                        "transcription": f"sha256 {rec['sha256'][:16]}..., "
                        f"{rec['rows']} rows into {rec['table']}",
                        "citation": rec.get("note") or None,
                    }
                )
        return pd.DataFrame(rows)

    def table(self, name: str, **filters: Any) -> pd.DataFrame:
        """Return a whole table (or a filtered one) as a tidy frame.

        Parameters
        ----------
        name
            Table name (``critmat data list``).
        **filters
            ``materials=``, ``countries=``, ``importers=``, ``exporters=``, ``years=``,
            ``stage=`` where the table has the matching column.
        """
        spec = self.catalog.table(name)
        where = self._where(spec, **filters)

        def read() -> pd.DataFrame:
            frame = self.sql(f'select * from "{spec.name}"{where.sql()}', where.params or None)
            return self._result(frame, name, **filters)

        if not where.clauses and int(spec.stats.get("rows", 0)) <= _CACHED_TABLE_ROWS:
            # a whole small table is read once per knowledge base (in kb.cache, emptied by
            # every change of the data); every caller gets its own copy
            return copied(self.cache.get(("table", spec.name), read))
        return read()

    def _where(
        self,
        spec: TableSpec,
        *,
        materials: Selection = None,
        countries: Selection = None,
        importers: Selection = None,
        exporters: Selection = None,
        years: Any = None,
        stage: str | None = None,
        prefix: str = "",
    ) -> _Where:
        cols = set(spec.field_names)
        w = _Where()
        for arg, col, value in (
            ("materials", "material", materials),
            ("countries", "country", countries),
            ("importers", "importer", importers),
            ("exporters", "exporter", exporters),
        ):
            if value is None:
                continue
            if col not in cols:
                raise TypeError(f"table '{spec.name}' has no '{col}' column; drop {arg}=")
            ids = (
                self.resolve_materials(value)
                if col == "material"
                else self.resolve_countries(value)
            )
            w.isin(prefix + col, ids)
        if years is not None:
            if "year" not in cols:
                raise TypeError(f"table '{spec.name}' has no 'year' column; drop years=")
            w.isin(prefix + "year", parse_years(years))
        if stage is not None:
            if "stage" not in cols:
                raise TypeError(f"table '{spec.name}' has no 'stage' column; drop stage=")
            w.eq(prefix + "stage", parse_stage(stage).value)
        return w

    # ------------------------------------------------------------------ accessors

    def trade(
        self,
        *,
        materials: Selection = None,
        importers: Selection = None,
        exporters: Selection = None,
        years: Any = None,
        stage: str | None = None,
    ) -> pd.DataFrame:
        """Bilateral trade flows (BACI), optionally attributed to materials and stages.

        Parameters
        ----------
        materials
            Materials whose HS codes to select. When given (or ``stage`` is given) the result
            gains ``material`` and ``stage`` columns from the ``hs_codes`` table; a code
            shared by two materials then appears once per material.
        importers, exporters
            Countries or groups (``EU27``, ``NATO``, ``OECD``, ``G7``), ISO-3 or names.
        years
            ``2022``, ``"2018-2022"``, a list, or ``None`` for all.
        stage
            ``extraction`` or ``processing`` (HS codes of that stage only).

        Returns
        -------
        pandas.DataFrame
            ``[material, stage,] year, exporter, importer, hs6, value_kusd, quantity_t,
            source_id``.
        """
        frame = self.select.trade(
            materials=self.select.materials(materials),
            stage=parse_stage(stage).value if stage is not None else None,
            importers=self.select.countries(importers, where="importers="),
            exporters=self.select.countries(exporters, where="exporters="),
            years=parse_years(years),
            attribute=materials is not None or stage is not None,
        )
        return self._result(
            frame,
            "trade",
            materials=materials,
            importers=importers,
            exporters=exporters,
            years=years,
            stage=stage,
        )

    def production(
        self, *, materials: Selection = None, countries: Selection = None, years: Any = None
    ) -> pd.DataFrame:
        """Production by material, country and year (World Mining Data and user data)."""
        return self.table("production", materials=materials, countries=countries, years=years)

    def governance(
        self, *, countries: Selection = None, years: Any = None, vintage: str | None = None
    ) -> pd.DataFrame:
        """Worldwide Governance Indicators with derived scores, per country, year, vintage.

        Parameters
        ----------
        vintage
            ``wgi_2023``, ``wgi_2024``, ``wgi_pv_geopolrisk`` (or a user vintage); ``None``
            returns all vintages (never mix them in one computation).
        """
        frame = self.table("governance", countries=countries, years=years)
        if vintage is not None:
            self.select.vintage(vintage, where="vintage=")
            frame = frame[frame["vintage"] == vintage].reset_index(drop=True)
            frame.attrs = dict(frame.attrs)
        return frame

    def materials(self, materials: Selection = None) -> pd.DataFrame:
        """The materials table (canonical ids, names, groups, stages, HS codes, list flags)."""
        return self.table("materials", materials=materials)

    def countries(self, countries: Selection = None) -> pd.DataFrame:
        """The countries table (ISO-3, names, codes, regions, EU27/NATO/OECD/G7 flags)."""
        return self.table("countries", countries=countries)

    def eu_crm_2023(
        self,
        *,
        materials: Selection = None,
        stage: str | None = None,
        mix: str | None = None,
        countries: Selection = None,
    ) -> pd.DataFrame:
        """EU CRM 2023 supply shares by material, stage, mix (global/eu_sourcing), country."""
        frame = self.table("eu_crm_2023", materials=materials, stage=stage, countries=countries)
        if mix is not None:
            if mix not in ("global", "eu_sourcing"):
                from critmat.errors import UnknownNameError

                raise UnknownNameError("mix", mix, suggestions=["global", "eu_sourcing"])
            attrs = frame.attrs
            frame = frame[frame["mix"] == mix].reset_index(drop=True)
            frame.attrs = attrs
        return frame

    # ------------------------------------------------------------------ user data

    def import_file(
        self,
        path: str | Path,
        table: str,
        *,
        mode: str = "merge",
        combine: str = "upsert",
        sheet: str | int | None = None,
        note: str = "",
        checks: str = "warn",
    ) -> Any:
        """Validate a file and add it to the user data directory (all-or-nothing).

        See :func:`critmat.data.importer.import_file` for the parameters (``checks``:
        invariant checks ``warn``, ``strict`` or ``off``). The knowledge base is reopened
        afterwards so the new rows show in queries.
        """
        from critmat.data.importer import import_file

        if self.user is None:
            self.user = UserData(default_data_dir())
        result = import_file(
            path,
            table,
            catalog=self.catalog,
            context=self.validation_context(),
            user=self.user,
            mode=mode,
            combine=combine,
            sheet=sheet,
            note=note,
            checks=checks,
            embedded=self.embedded,
        )
        self.close()
        return result

    def remove_user_table(self, table: str) -> bool:
        """Drop the user's version of ``table``; returns whether there was one."""
        self.catalog.table(table)
        if self.user is None:
            return False
        removed = self.user.remove_table(table)
        self.close()
        return removed

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        inv = self.tables()
        lines = [
            f"<critmat KnowledgeBase: dataset {self.version} "
            f"(hash {self.catalog.content_hash}), {len(inv)} tables, "
            f"{len(self.catalog.sources)} sources>",
        ]
        width = max(len(t) for t in inv["table"])
        for r in inv.itertuples(index=False):
            user = f"  +{r.user_rows:,} user rows ({r.user_combine})" if r.user_rows else ""
            years = f"  {r.years}" if r.years else ""
            lines.append(f"  {r.table:<{width}}  {r.rows:>10,} rows{years}{user}")
        groups = ", ".join(GROUPS)
        where = _home_relative(self.user.root) if self.user is not None else "(disabled)"
        lines.append(f"  user data: {where}; country groups: {groups}")
        return "\n".join(lines)
