"""Annual defence demand per material, kg per unit and build rates: the scenario engine's input.

:func:`defence_demand` is the documented hand-over to :mod:`critmat.scenarios`: one row per
programme, system and material with the kg per unit, units per year and per month and the
demand in tonnes per year and per month, each with the kind of its inputs.
:func:`scenario_systems` gives the same data as ``defence.systems`` entries of a scenario
spec (``{"name", "build_rate" (units per month), "kg_per_unit"}``), so the engine's fixed
recipe ("the scarcest material limits builds") runs on the user's BOMs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.columns import units as column_units
from critmat.data.cache import memoised
from critmat.defence.bom import (
    DemandSource,
    annual_demand,
    demand_source,
    read_bom,
    read_build_rates,
)
from critmat.defence.common import KIND_RANK, kind_of_rank, proxy_map
from critmat.params import ParameterError, Selection
from critmat.provenance import attach
from critmat.vocab import DefenceDemandStatus

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["BY", "defence_demand", "scenario_systems"]

#: Levels of :func:`defence_demand`.
BY = ("system", "programme", "material")


def _inputs(
    kb: KnowledgeBase, src: DemandSource
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    b = read_bom(kb, src.bom, which=src.which, default_intensity_kg=src.default_intensity_kg)
    r = read_build_rates(
        kb, src.build_rates, which=src.which, default_build_rate=src.default_build_rate
    )
    return b, r, annual_demand(b, r)


@memoised("defence.demand")  # importance and each exposure read the same demand
def defence_demand(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    by: str = "system",
    demand: DemandSource | None = None,
) -> pd.DataFrame:
    """Annual defence demand from bills of materials x build rates.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Materials to keep.
    by
        ``system`` (one row per programme, system, material), ``programme`` or ``material``.
    demand
        Where the BOMs and build rates come from (:class:`~critmat.defence.bom.DemandSource`:
        your files or frames, your tables, or the cited reference data; default: your
        tables if they have rows, else the reference data).

    Returns
    -------
    pandas.DataFrame
        ``by="system"``: ``programme, system, material, kg_per_unit, units_per_year,
        units_per_month, demand_t_per_year, demand_t_per_month, priority,
        substitutable_share, kind, rests_on_assumption, status, source_id``.
        ``by="programme"``: ``programme, material, demand_t_per_year, demand_t_per_month,
        n_systems, kind, rests_on_assumption``. ``by="material"``: ``material,
        demand_t_per_year, demand_t_per_month, n_systems, n_programmes, kind,
        rests_on_assumption``. Rows without a build rate (``status = no_build_rate``) have
        NaN demand and are left out of the sums.

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> d = defence_demand(kb, by="material")          # CRS 2013 totals x published rates
    >>> round(float(d.loc[d["material"] == "rare_earths", "demand_t_per_year"].iloc[0]), 1)
    78.2
    """
    if by not in BY:
        raise ParameterError(f"by must be one of {', '.join(BY)}, got '{by}'")
    src = demand_source(demand)
    b, r, d = _inputs(kb, src)
    wanted = kb.select.materials(materials)
    if wanted is not None:
        d = d[d["material"].isin(wanted)]
    d = d.rename(columns={"demand_t": "demand_t_per_year"})
    d["units_per_month"] = d["units_per_year"] / 12.0
    d["demand_t_per_month"] = d["demand_t_per_year"] / 12.0
    if by == "system":
        cols = [
            "programme",
            "system",
            "material",
            "kg_per_unit",
            "units_per_year",
            "units_per_month",
            "demand_t_per_year",
            "demand_t_per_month",
            "priority",
            "substitutable_share",
            "kind",
            "rests_on_assumption",
            "status",
            "source_id",
        ]
        out = d[cols].reset_index(drop=True)
    else:
        ok = d[d["status"] == DefenceDemandStatus.OK].assign(
            rank=d["kind"].map(KIND_RANK).astype("float64")
        )
        keys = ["programme", "material"] if by == "programme" else ["material"]
        agg: dict[str, Any] = {
            "demand_t_per_year": ("demand_t_per_year", "sum"),
            "n_systems": ("system", "nunique"),
            "rank": ("rank", "max"),
            "rests_on_assumption": ("rests_on_assumption", "any"),
        }
        if by == "material":
            agg["n_programmes"] = ("programme", "nunique")
        out = ok.groupby(keys, as_index=False).agg(**agg)
        out["demand_t_per_month"] = out["demand_t_per_year"] / 12.0
        out["kind"] = kind_of_rank(out["rank"])
        first = [*keys, "demand_t_per_year", "demand_t_per_month", "n_systems"]
        if by == "material":
            first.append("n_programmes")
        out = out[[*first, "kind", "rests_on_assumption"]]
    out = out.sort_values(
        [c for c in ("programme", "system", "material") if c in out.columns], ignore_index=True
    )
    prov = kb.provenance(
        "defence.demand",
        pd.concat([b[["source_id"]], r[["source_id"]]]),
        materials=materials,
        by=by,
        which=src.which,
        default_intensity_kg=src.default_intensity_kg,
        default_build_rate=src.default_build_rate,
    )
    prov.units = column_units("defence.demand", out.columns)
    prov.notes = [
        "demand = units_per_year x kg_per_unit / 1000 (METHODS.md §6.4 without the "
        "substitution factor); kind = least certain of BOM and rate kinds",
        "rests_on_assumption: at least one input is an assumption (placeholder)",
    ]
    return attach(out, prov)


def scenario_systems(
    kb: KnowledgeBase,
    *,
    demand: DemandSource | None = None,
    proxies: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Defence systems in the form of a scenario spec's ``defence.systems`` entries.

    The scenario engine simulates materials with supply shares of their own; a material
    without them (``rare_earths``: the CRS per-platform figures are all rare earths together)
    is entered under its proxy (default ``rare_earths -> neodymium``,
    :data:`critmat.defence.common.SHARE_PROXIES`), and the entry's name says so: the proxy
    is an assumption the scenario result must show.

    Parameters
    ----------
    kb
        Knowledge base.
    demand
        Where the BOMs and build rates come from (see :func:`defence_demand`).
    proxies
        Material -> proxy whose supply data stand in (``{}``: none).

    Returns
    -------
    list of dict
        One entry per programme and system with a build rate > 0:
        ``{"name": "<programme>: <system>[ (assumption: rare_earths as neodymium)]",
        "build_rate": <units per month>, "kg_per_unit": {<material id>: <kg>}}``
        (materials with kg > 0 only).

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> f35 = [s for s in scenario_systems(kb) if "F-35" in s["name"]][0]
    >>> f35["name"].endswith("(assumption: rare_earths as neodymium)"), list(f35["kg_per_unit"])
    (True, ['neodymium'])
    """
    d = defence_demand(kb, demand=demand)
    d = d[
        (d["status"] == DefenceDemandStatus.OK) & (d["units_per_year"] > 0) & (d["kg_per_unit"] > 0)
    ]
    if d.empty:
        return []
    own = set(kb.eu_crm_2023()["material"].astype(object))
    src = proxy_map(d["material"].astype(object), proxies)
    needs = ~d["material"].isin(own).to_numpy() & (src != d["material"]).to_numpy()
    d = d.assign(
        proxied=np.where(needs, d["material"].astype(object) + " as " + src.astype(object), None),
        material=np.where(needs, src, d["material"].astype(object)),
    )
    flags = (
        d.dropna(subset=["proxied"])
        .groupby(["programme", "system"])["proxied"]
        .agg(lambda v: ", ".join(sorted(set(v))))
    )
    kg = d.pivot_table(
        index=["programme", "system"], columns="material", values="kg_per_unit", aggfunc="sum"
    )
    rate = d.groupby(["programme", "system"])["units_per_month"].first().reindex(kg.index)
    values = kg.to_numpy()
    mats = np.asarray(kg.columns, dtype=object)
    return [
        {
            "name": f"{p}: {s}"
            + (f" (assumption: {flags[(p, s)]})" if (p, s) in flags.index else ""),
            "build_rate": float(rt),
            "kg_per_unit": {
                str(m): float(v) for m, v in zip(mats, row, strict=True) if np.isfinite(v) and v > 0
            },
        }
        for (p, s), rt, row in zip(kg.index, rate.to_numpy(), values, strict=True)
    ]
