"""Production concentration by material, stage and year (World Mining Data, supply shares).

Sources: World Mining Data production by year (extraction), the supply-share vintages of the
``supply_shares`` table (``supply_vintage``: the newest per material and stage by default,
i.e. USGS MCS 2026 where it covers the material, else the EU 2023 study; global mix), or the
EU 2023 study's global shares as published (``source="eu_crm_2023"``, the EU method's own
inputs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from critmat.columns import units as column_units
from critmat.dims import parse_stage
from critmat.indicators.common import reject
from critmat.methods.concentration import concentration as _concentration
from critmat.params import GroupBy, ParameterError, Selection, parse_years
from critmat.provenance import attach

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["SOURCES", "concentration"]

#: Where the supply shares come from: World Mining Data production (extraction, by year), the
#: EU 2023 assessment's global supply shares (extraction and processing, 2016-2020), or the
#: supply-share vintages chosen by ``supply_vintage`` (``supply_shares``).
SOURCES = ("wmd", "eu_crm_2023", "supply_shares")


def concentration(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    years: Any = None,
    stage: str | None = None,
    groupby: GroupBy = None,
    adversaries: Selection = None,
    source: str | None = None,
    top_n: int = 3,
    importers: Selection = None,
    exporters: Selection = None,
    supply_vintage: str = "newest",
) -> pd.DataFrame:
    """HHI, top-n share, China share and adversary share of supply.

    Parameters
    ----------
    kb
        Knowledge base.
    materials, years, stage
        Selection (shared vocabulary). ``years`` applies to World Mining Data; EU 2023
        shares carry ``year = 2023`` (the assessment; its shares average 2016-2020).
    groupby
        User-defined country groups, usable in ``adversaries``.
    adversaries
        Countries or groups whose combined share is reported as ``adversary_share`` (e.g.
        ``"CHN,RUS"``).
    source
        ``wmd``, ``eu_crm_2023`` (the study's shares as published, ``year = 2023``),
        ``supply_shares`` (the global mix of ``supply_vintage``; ``year`` = the last
        reference year, ``source`` = the vintage) or ``None`` for ``wmd`` and
        ``supply_shares`` (the latter only without ``years=``, which selects World Mining
        Data years).
    top_n
        ``n`` of the top-n share column.
    importers, exporters
        Not applicable (supply concentration has no importer); an error if given.
    supply_vintage
        Vintage of the supply shares (``source=supply_shares``): ``newest`` (per material
        and stage the newest available) or a vintage name.

    Returns
    -------
    pandas.DataFrame
        ``material, stage, year, source, n_countries, total, hhi, hhi_pct, top1_country,
        top1_share, top<n>_share, china_share[, adversary_share], status``; rows of
        ``supply_shares`` add ``reference_years`` and ``check_flags`` (e.g.
        ``share_sum_deviates`` for a partial mix such as graphite processing, China only:
        its HHI is a lower bound).
    """
    reject("concentration", importers=importers, exporters=exporters)
    if source is not None and source not in SOURCES:
        raise ParameterError(f"source must be one of {', '.join(SOURCES)}, got '{source}'")
    sets: dict[str, list[str]] = {"china": ["CHN"]}
    adv = kb.select.countries(adversaries, groupby, where="adversaries=")
    if adv:
        sets["adversary"] = adv
    st = parse_stage(stage).value if stage is not None else None
    frames = []
    used: list[pd.DataFrame] = []
    if source == "wmd" or (source is None and years is not None):
        kb.select.years(years, ["production"], indicator="concentration")
    if source in (None, "wmd") and st in (None, "extraction"):
        prod = kb.production(materials=materials, years=years)
        used.append(prod)
        if len(prod):
            c = _concentration(
                prod,
                by=("material", "stage", "year"),
                value="quantity_t",
                top_n=top_n,
                country_sets=sets,
            )
            frames.append(c.assign(source="wmd_bmf"))
    year_sel = parse_years(years)
    if source == "eu_crm_2023" and (year_sel is None or 2023 in year_sel):
        eu = kb.eu_crm_2023(materials=materials, stage=st, mix="global")
        used.append(eu)
        if len(eu):
            c = _concentration(
                eu.assign(year=2023),
                by=("material", "stage", "year"),
                value="share",
                normalise=False,
                top_n=top_n,
                country_sets=sets,
            )
            frames.append(c.assign(source="eu_crm_2023"))
    if source == "supply_shares" or (source is None and years is None):
        vintage = kb.select.supply_vintage(supply_vintage)
        mats = kb.select.materials(materials)
        vs = kb.select.supply_shares(mats, stage=st, mix="global", vintage=vintage)
        used.append(vs)
        if len(vs):
            c = _concentration(
                vs.assign(year=vs["reference_year"].astype("int64")),
                by=("material", "stage", "vintage", "year"),
                value="share",
                normalise=False,
                top_n=top_n,
                country_sets=sets,
            )
            meta = vs.groupby(["material", "stage", "vintage"], as_index=False).agg(
                reference_years=("reference_years", "first"),
                check_flags=(
                    "check_flag",
                    lambda v: (
                        ";".join(sorted({f for x in v.dropna() for f in str(x).split(";")})) or None
                    ),
                ),
            )
            c = c.merge(meta, on=["material", "stage", "vintage"], how="left")
            frames.append(c.rename(columns={"vintage": "source"}))
    columns = ["material", "stage", "year", "source"]
    out = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=[*columns, "hhi", "status"])
    )
    out = out[columns + [c for c in out.columns if c not in columns]]
    out = out.sort_values(columns, ignore_index=True)
    prov = kb.provenance(
        "concentration",
        pd.concat(used) if used else None,
        materials=materials,
        years=years,
        stage=stage,
        source=source,
        adversaries=adv,
        top_n=top_n,
        supply_vintage=supply_vintage,
    )
    prov.units = column_units("concentration", out.columns)
    prov.notes = [
        "HHI = sum of squared supplier shares (METHODS.md §0.1); hhi_pct = 10,000 x hhi",
        "wmd_bmf: World Mining Data production shares by year (extraction stage)",
        "eu_crm_2023: EU 2023 study global supply shares as published (not renormalised; "
        "'<0.1%' taken as 0.001); they average 2016-2020",
        f"supply_shares (supply_vintage {supply_vintage}): the global mix of the chosen "
        "vintage per material and stage, source = the vintage (usgs_mcs2026: world "
        "production 2025e or 2024; eu_crm_2023: 2016-2020; iea_gcmo_2025: graphite processing, "
        "China only), year = its last reference year, reference_years and check_flags per row",
    ]
    return attach(out, prov)
