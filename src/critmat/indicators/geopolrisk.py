"""GeoPolRisk over the whole cube: material x importer (economies, EU27, groups) x year.

Thin orchestration over :func:`critmat.methods.geopolrisk.geopolrisk_cube`: select the
inputs from the knowledge base with the shared vocabulary, call the pure method once, attach
units and provenance. See ``docs/geopolrisk.md`` for the method, the statuses and the
comparison with the reference implementation geopolrisk-py 2.0.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from critmat.columns import units as column_units
from critmat.dims import parse_stage
from critmat.methods import geopolrisk as gpr
from critmat.params import GroupBy, Selection, is_all
from critmat.provenance import attach

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["PEER_COMPATIBLE", "GeoPolRiskInputs", "geopolrisk", "geopolrisk_inputs"]

#: Options under which critmat follows the reference implementation geopolrisk-py 2.0.1
#: where it has a choice (see docs/geopolrisk.md, "Comparison with geopolrisk-py").
PEER_COMPATIBLE: Final[dict[str, Any]] = {
    "missing_governance": "fill",
    "fill_value": 0.5,
    "price_basis": "all_value",
    "intra_region": "zero_risk",
    "governance_vintage": "wgi_pv_geopolrisk",
}

_SHARED_CODE_NOTE = (
    "an HS code mapped to two materials (270112 bituminous coal: coking_coal and steam_coal) "
    "counts in full for each, as in the GeoPolRisk mapping; such results are not additive"
)
_UNITS_NOTE = (
    "trade quantities are gross tonnes of the HS products; production (p, and the HHI) is "
    "World Mining Data in its measured_as basis (metal content, REO, Li2O, ...); p + F adds "
    "them as published, as the method does"
)


@dataclass
class GeoPolRiskInputs:
    """Everything :func:`critmat.methods.geopolrisk.geopolrisk_cube` needs, from the KB.

    Attributes
    ----------
    trade
        Attributed trade ``material, stage, year, exporter, importer, hs6, value_kusd,
        quantity_t`` of the importer units' members; the text columns are categoricals
        (dictionary-encoded by the selection, :meth:`critmat.data.select.Selector.trade`
        with ``encoded=True``).
    reference_trade
        Attributed trade of the reference material (copper, all its HS codes) when a stage
        filter removed some of them; else ``None``.
    assessable
        ``material, year`` pairs with any BACI trade world-wide.
    production
        ``material, country, year, quantity, unit, quantity_t, source_id``.
    governance
        ``country, year, g`` (``pv_normalised`` of the chosen vintage).
    units
        Importer units ``{unit: members}``.
    materials, years
        The result grid.
    exporters
        Member ISO-3 codes of the ``exporters=`` selection, or ``None``.
    sources
        Source ids of the rows used.
    """

    trade: pd.DataFrame
    reference_trade: pd.DataFrame | None
    assessable: pd.DataFrame
    production: pd.DataFrame
    governance: pd.DataFrame
    units: dict[str, list[str]]
    materials: list[str]
    years: list[int]
    exporters: list[str] | None
    sources: list[str] = field(default_factory=list)


_TRADE_COLUMNS = ("year", "exporter", "importer", "hs6", "value_kusd", "quantity_t")
_PRODUCTION_COLUMNS = ("material", "country", "year", "quantity", "unit", "quantity_t", "source_id")


def geopolrisk_inputs(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    importers: Selection = None,
    exporters: Selection = None,
    years: Any = None,
    stage: str | None = None,
    groupby: GroupBy = None,
    governance_vintage: str = "wgi_pv_geopolrisk",
    reference_material: str = "copper",
) -> GeoPolRiskInputs:
    """Select the inputs of a GeoPolRisk computation from the knowledge base.

    Parameters are those of :func:`geopolrisk`. Useful to inspect or modify an input (e.g.
    a governance scenario) before calling :func:`critmat.methods.geopolrisk.geopolrisk_cube`.
    Every selection goes through the data layer's selector (``kb.select``).

    Returns
    -------
    GeoPolRiskInputs
        The frames and the result grid.
    """
    sel = kb.select
    sel.vintage(governance_vintage)
    st = parse_stage(stage).value if stage is not None else None
    resolved = sel.materials(materials)
    if resolved is None:  # all: every material with an HS code or production
        mats = sorted(set(sel.hs_codes()["material"]) | set(sel.produced_materials()))
    else:
        mats = resolved
    year_list = sel.years(years, ["trade", "production"], indicator="geopolrisk")
    if year_list is None:
        year_list = sel.covered_years(["production", "trade"])
    wanted = [*mats, reference_material]
    universe = sel.trade_importers(year_list) if is_all(importers) else []
    units = sel.importer_units(importers, groupby, universe=universe)
    members = sorted({m for ms in units.values() for m in ms})

    codes = sel.hs_codes(wanted, st)
    # every importer of the mapped codes in those years is a member when importers are
    # all: the importer filter would keep every row
    trade = sel.trade(
        codes=codes,
        importers=None if is_all(importers) else members,
        years=year_list,
        columns=_TRADE_COLUMNS,
        encoded=True,
    )
    assessable = sel.traded(codes, year_list)
    reference_trade = None
    if st is not None:
        reference_trade = sel.trade(
            materials=[reference_material],
            importers=members,
            years=year_list,
            columns=_TRADE_COLUMNS,
            encoded=True,
        )
    production = sel.production(wanted, year_list, columns=_PRODUCTION_COLUMNS)
    governance = sel.governance(
        governance_vintage, year_list, columns=["country", "year", "pv_normalised"]
    ).rename(columns={"pv_normalised": "g"})
    sources = (
        sel.sources("trade", year=year_list)
        | sel.sources("hs_codes")
        | sel.sources("governance", vintage=[governance_vintage])
        | {s for v in production["source_id"].dropna().unique() for s in str(v).split(";")}
    )
    return GeoPolRiskInputs(
        trade=trade,
        reference_trade=reference_trade,
        assessable=assessable,
        production=production,
        governance=governance,
        units=units,
        materials=mats,
        years=year_list,
        exporters=sel.countries(exporters, groupby, where="exporters="),
        sources=sorted(sources),
    )


def geopolrisk(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    importers: Selection = None,
    exporters: Selection = None,
    years: Any = None,
    stage: str | None = None,
    groupby: GroupBy = None,
    governance_vintage: str = "wgi_pv_geopolrisk",
    missing_governance: gpr.MissingGovernance = "nan",
    fill_value: float = 0.5,
    min_coverage: float = 0.99,
    intra_region: gpr.IntraRegion = "zero_risk",
    price_basis: gpr.PriceBasis = "reported_quantity",
    reference_material: str = "copper",
    detail: bool = False,
) -> pd.DataFrame:
    """GeoPolRisk score, midpoint and characterisation factors for the whole cube.

    One row per material x importer x year of the selection (the full cross product), in
    one vectorised computation (Koyamparambath et al. 2024; METHODS.md §3).

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Materials (ids, names, symbols, aliases). ``None``/``"all"``: every material with an
        HS mapping or World Mining Data production (those without HS mapping, e.g. gallium,
        come out ``not_assessable``).
    importers
        Importing economies (ISO-3 or names) and groups (``EU27``, ``NATO``, ``OECD``,
        ``G7``, a ``groupby`` name), each group one economic unit. ``None``/``"all"``: every
        economy importing a mapped HS code in those years, plus EU27 and the groupby groups.
    exporters
        Exporters whose contribution to the import risk is computed (the numerator is
        restricted to them; F and p are unchanged, so contributions add up). Default all.
    years
        ``2022``, ``"2018-2022"``, a list. Default: the years with both trade and production
        data (2018-2024 in the embedded data).
    stage
        ``extraction`` or ``processing``: use only the HS codes of that stage (production
        and HHI stay World Mining Data's). Default: all codes of the GeoPolRisk mapping.
    groupby
        User-defined country groups, e.g. ``{"AUKUS": ["AUS", "GBR", "USA"]}``.
    governance_vintage
        Governance release for the exporters' political instability g (``pv_normalised``):
        ``wgi_pv_geopolrisk`` (default, the series bundled with geopolrisk-py 2.0.1,
        1996-2024), ``wgi_2023``, ``wgi_2024`` or a user vintage. Never mixed.
    missing_governance
        ``nan`` (default): imports from an exporter without g make the result NaN with
        status ``missing_governance``. ``fill``: such exporters get ``fill_value`` (status
        ``governance_filled``; recorded in the provenance). ``exclude``: leave imports from
        such exporters out of numerator and F when they are at most ``1 - min_coverage`` of
        the tonnage (status ``governance_partial``), else NaN.
    fill_value
        g given to exporters without governance when ``missing_governance="fill"``.
    min_coverage
        Least covered share of import tonnage with ``missing_governance="exclude"``.
    intra_region
        ``zero_risk`` (default, as the paper and geopolrisk-py): a group's imports from its
        own members count in F with g = 0. ``exclude``: they are domestic and left out.
    price_basis
        ``reported_quantity`` (default): price = value / quantity over flows that report a
        quantity. ``all_value``: all values / reported quantities (geopolrisk-py).
    reference_material
        Material whose midpoint normalises ``cf_paper`` (copper).
    detail
        Add ``midpoint, cf_paper, numerator, imports_t, imports_kusd,
        domestic_production_t, governance_coverage, quantity_coverage``.

    Returns
    -------
    pandas.DataFrame
        ``material, importer, year, hhi, import_risk, score, price, cf, status`` (plus the
        detail columns), sorted by material, importer, year; units and provenance in
        ``frame.attrs["critmat"]``. ``cf`` is the reference implementation's
        characterisation factor (constant 0.409412948), ``cf_paper`` the paper's (copper's
        midpoint for the same importer and year). Statuses:
        :data:`critmat.methods.geopolrisk.STATUSES`.

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> r = kb.indicators.geopolrisk(materials="graphite", importers="USA", years=2022)
    >>> r[["material", "importer", "year", "status"]].to_dict("records")
    [{'material': 'graphite', 'importer': 'USA', 'year': 2022, 'status': 'ok'}]
    """
    inputs = geopolrisk_inputs(
        kb,
        materials=materials,
        importers=importers,
        exporters=exporters,
        years=years,
        stage=stage,
        groupby=groupby,
        governance_vintage=governance_vintage,
        reference_material=reference_material,
    )
    # the method returns the cross product in the order of its materials, units and years:
    # given sorted, the result is sorted by material, importer and year without a sort
    result = gpr.geopolrisk_cube(
        inputs.trade,
        inputs.production,
        inputs.governance,
        dict(sorted(inputs.units.items())),
        materials=sorted(dict.fromkeys(inputs.materials)),
        years=inputs.years,
        assessable=inputs.assessable,
        exporters=inputs.exporters,
        intra_region=intra_region,
        missing_governance=missing_governance,
        fill_value=fill_value,
        min_coverage=min_coverage,
        price_basis=price_basis,
        reference_material=reference_material,
        reference_trade=inputs.reference_trade,
    )
    shown = gpr.DETAIL_COLUMNS if detail else gpr.DEFAULT_COLUMNS
    result = result.loc[:, list(shown)]

    params: dict[str, Any] = {
        "materials": materials,
        "importers": importers,
        "exporters": exporters,
        "years": years,
        "stage": stage,
        "groupby": groupby,
        "governance_vintage": governance_vintage,
        "missing_governance": missing_governance,
        "intra_region": intra_region,
        "price_basis": price_basis,
        "reference_material": reference_material,
        "copper_cf": gpr.CU_CF_REFERENCE,
    }
    if missing_governance == "fill":
        params["fill_value"] = fill_value
    if missing_governance == "exclude":
        params["min_coverage"] = min_coverage
    prov = kb.provenance("geopolrisk", None, **params)
    prov.sources = sorted(s for s in set(inputs.sources) if not s.startswith("user"))
    prov.user_data = sorted(s for s in set(inputs.sources) if s.startswith("user"))
    prov.units = column_units("geopolrisk", result.columns)
    prov.notes = [
        "method: Koyamparambath et al. (2024), reference implementation geopolrisk-py; "
        "score = HHI x sum_i(g_i f_i) / (p + F)",
        f"governance: g = pv_normalised = clip((2.5 - PV)/5, 0, 1) of vintage "
        f"{governance_vintage}"
        + {
            "fill": f"; exporters without g filled with {fill_value}",
            "exclude": f"; imports from exporters without g left out when they are at most "
            f"{1 - min_coverage:.0%} of the tonnage (status governance_partial), "
            "else NaN",
        }.get(
            missing_governance,
            "; exporters without g make the result NaN (status missing_governance)",
        ),
        "cf = score x price / 0.409412948 (reference implementation constant); cf_paper = "
        f"midpoint / midpoint of {reference_material} for the same importer and year",
        "groups are one importing economy; imports from their own members "
        + ("stay in F with g = 0" if intra_region == "zero_risk" else "are excluded"),
        "HHI of world production (World Mining Data) of the material and year, fraction 0-1",
        _UNITS_NOTE,
        _SHARED_CODE_NOTE,
    ]
    if stage is not None:
        prov.notes.append(
            f"only HS codes of stage {parse_stage(stage).value}; production "
            "and HHI are World Mining Data's (extraction)"
        )
    if inputs.exporters is not None:
        prov.notes.append(
            "exporters= restricts the numerator: import_risk and score are the "
            "selected exporters' contribution"
        )
    return attach(result, prov)
