"""Import dependency by material x stage x importer x year, with net import reliance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from critmat.columns import units as column_units
from critmat.dims import STAGES, parse_stage
from critmat.methods import dependency as dep
from critmat.params import GroupBy, Selection
from critmat.provenance import attach
from critmat.vocab import DependencyStatus, NirStatus

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["dependency", "net_import_reliance"]

_KEYS = ("material", "stage", "year")


def _inputs(
    kb: KnowledgeBase,
    materials: Selection,
    importers: Selection,
    years: Any,
    stage: str | None,
    groupby: GroupBy,
) -> tuple[pd.DataFrame, pd.DataFrame, list[int] | None]:
    """Attributed trade of the selection and the importer-unit membership table."""
    sel = kb.select
    st = parse_stage(stage).value if stage is not None else None
    year_list = sel.years(years, ["trade"], indicator="dependency")
    trade = sel.trade(materials=sel.materials(materials), stage=st, years=year_list, attribute=True)
    universe = pd.unique(trade["importer"]) if len(trade) else []
    units = dep.units_frame(sel.importer_units(importers, groupby, universe=universe))
    return trade, units, year_list


def dependency(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    importers: Selection = "EU27",
    exporters: Selection = None,
    years: Any = None,
    stage: str | None = None,
    groupby: GroupBy = None,
    with_nir: bool = True,
) -> pd.DataFrame:
    """Import shares by origin, import HHI, China share and net import reliance.

    Parameters
    ----------
    kb
        Knowledge base.
    materials, years, stage
        Selection; each stage uses its own HS codes (ores and concentrates at extraction,
        refined products at processing) so that stages are never mixed.
    importers
        Importer units (default ``EU27``, whose intra-EU flows are domestic); ``"all"`` for
        every economy plus EU27.
    exporters
        Origins whose combined share of imports is reported as ``exporters_share``.
    groupby
        User-defined country groups.
    with_nir
        Add net import reliance columns (:func:`net_import_reliance`).

    Returns
    -------
    pandas.DataFrame
        ``material, stage, year, importer, imports_t, imports_kusd, n_origins, import_hhi,
        top_origin, top_origin_share, top3_share, china_share[, exporters_share], status``
        and, with NIR, ``exports_t, production_t, nir, net_exporter, nir_status``.
    """
    trade, units, year_list = _inputs(kb, materials, importers, years, stage, groupby)
    sets: dict[str, list[str]] = {"china": ["CHN"]}
    origins = kb.select.countries(exporters, groupby, where="exporters=")
    if origins:
        sets["exporters"] = origins
    flows = dep.unit_flows(trade, units, keys=_KEYS)
    out = dep.import_dependency(flows, country_sets=sets, keys=_KEYS)
    notes = [
        "shares are of import tonnage (BACI quantity); flows between members of a group "
        "importer are domestic and excluded",
        "stage-specific HS codes (hs_codes.stage); a code shared by two materials counts for each",
    ]
    if with_nir:
        nir = _nir(kb, trade, units, year_list)
        out = out.merge(
            nir[
                [*_KEYS, "importer", "exports_t", "production_t", "nir", "net_exporter", "status"]
            ].rename(columns={"status": "nir_status"}),
            on=[*_KEYS, "importer"],
            how="outer",
        )
        out["status"] = out["status"].fillna(DependencyStatus.NO_IMPORTS.value)
        out["imports_t"] = out["imports_t"].fillna(0.0)
        notes.append(
            "nir = (imports - exports) / (production + imports - exports); net "
            "exporters get 0 and net_exporter = True; production is World Mining "
            "Data (extraction) in its measured_as basis, trade is gross product "
            "tonnage (see materials.measured_as)"
        )
    out = _mark_untraded(kb, out)
    out = _add_unmapped(kb, out, materials, units)
    out = out.sort_values([*_KEYS, "importer"], ignore_index=True)
    prov = kb.provenance(
        "dependency",
        trade,
        materials=materials,
        importers=importers,
        exporters=exporters,
        years=years,
        stage=stage,
        groupby=groupby,
    )
    if with_nir:
        prov.sources = sorted(set(prov.sources) | {"wmd_bmf"})
    prov.units = column_units("dependency", out.columns)
    prov.notes = notes
    return attach(out, prov)


def _add_unmapped(
    kb: KnowledgeBase, frame: pd.DataFrame, materials: Selection, units: pd.DataFrame
) -> pd.DataFrame:
    """One ``no_hs_code`` row per importer for requested materials without any HS code.

    Absence is reported, not dropped: gallium, for instance, has no HS92 code of its own.
    """
    wanted = kb.select.materials(materials)
    if not wanted:
        return frame
    mapped = set(kb.select.hs_codes()["material"])
    missing = [m for m in wanted if m not in mapped]
    if not missing:
        return frame
    importers = list(dict.fromkeys(units["unit"]))
    extra = pd.DataFrame(
        [
            {"material": m, "importer": i, "status": DependencyStatus.NO_HS_CODE.value}
            for m in missing
            for i in importers
        ]
    )
    out = pd.concat([frame, extra], ignore_index=True)
    out["year"] = out["year"].astype("Int64")
    return out


def _mark_untraded(kb: KnowledgeBase, frame: pd.DataFrame) -> pd.DataFrame:
    """Status ``no_hs_code`` (and NaN NIR) where the material has no HS code at the stage."""
    hs = kb.select.hs_codes()
    traded = set(zip(hs["material"], hs["stage"], strict=True))
    mask = [(m, s) not in traded for m, s in zip(frame["material"], frame["stage"], strict=True)]
    out = frame.copy()
    out.loc[mask, "status"] = DependencyStatus.NO_HS_CODE.value
    for col in ("nir", "exports_t", "imports_t"):
        if col in out.columns:
            out.loc[mask, col] = float("nan")
    if "nir_status" in out.columns:
        out.loc[mask, "nir_status"] = NirStatus.NO_HS_CODE.value
        out.loc[mask, "net_exporter"] = False
    return out


def _nir(
    kb: KnowledgeBase, trade: pd.DataFrame, units: pd.DataFrame, year_list: list[int] | None
) -> pd.DataFrame:
    imports = dep.unit_flows(trade, units, direction="imports", keys=_KEYS)
    exports = dep.unit_flows(trade, units, direction="exports", keys=_KEYS)
    materials = sorted(pd.unique(trade["material"])) if len(trade) else []
    prod = (
        kb.select.production(materials, year_list)
        if materials
        else pd.DataFrame(columns=["material", "country", "year", "stage", "quantity_t"])
    )
    frames = []
    for st in STAGES:  # two stages, each with its own HS codes and production
        p = prod[prod["stage"] == st]
        producing = sorted(pd.unique(p["material"])) if len(p) else []
        frames.append(
            dep.net_import_reliance(
                imports[imports["stage"] == st],
                exports[exports["stage"] == st],
                p,
                units,
                producing_materials=producing,
                keys=_KEYS,
            )
        )
    return pd.concat(frames, ignore_index=True)


def net_import_reliance(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    importers: Selection = "EU27",
    years: Any = None,
    stage: str | None = None,
    groupby: GroupBy = None,
) -> pd.DataFrame:
    """Net import reliance per stage with stage-specific HS codes (METHODS.md §0.2).

    Returns
    -------
    pandas.DataFrame
        ``material, stage, year, importer, imports_t, exports_t, production_t,
        apparent_consumption_t, nir, net_exporter, status``.
    """
    trade, units, year_list = _inputs(kb, materials, importers, years, stage, groupby)
    out = _mark_untraded(kb, _nir(kb, trade, units, year_list))
    out = out.sort_values([*_KEYS, "importer"], ignore_index=True)
    prov = kb.provenance(
        "net_import_reliance",
        trade,
        materials=materials,
        importers=importers,
        years=years,
        stage=stage,
        groupby=groupby,
    )
    prov.sources = sorted(set(prov.sources) | {"wmd_bmf"})
    prov.units = column_units("net_import_reliance", out.columns)
    prov.notes = [
        "stage-specific HS codes; processing-stage production is not in World "
        "Mining Data, so processing NIR is NaN (no_production_data) unless you "
        "import processing production (production.stage = processing)"
    ]
    return attach(out, prov)
