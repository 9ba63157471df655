"""Capability at risk: defence systems that cannot be built during a supply cut.

A cut removes ``cut`` (0-1) of supplier country c's deliveries of material m for ``months``
months. With w = (1 - eol_rir) x share of c in the EU supply mix of m (the bottleneck stage:
the larger of extraction and processing unless ``stage`` is given), the EU loses
``cut x w`` of its supply of m. For system j built at r_j units per month::

    a[m]        = 1 - cut * w[m]                       served share of defence demand (pro rata)
    a_df[m]     = min(1, (1 - cut * w[m]) / d[m])      defence first, d = defence share of EU demand
    a[m, t]     = a[m] + min(max(S[m] - t (1 - a[m]), 0), 1 - a[m])     a defence stock of S months
    a'[j, m, t] = a[m, t] + sigma[j, m] (1 - a[m, t])  substitution (from month L on)
    built[j, t] = min over materials m in j's BOM of a[j, m, t]          fixed recipe
    lost[j, t]  = r_j (1 - built[j, t])                 units not built in month t

``fixed`` is the fixed recipe with pro-rata supply and no substitution (the scenario
engine's definition of systems not built); ``mitigated`` adds substitution
(``substitutable_share`` of the BOM) and defence-first supply. Everything is array
arithmetic over systems x materials x months; no loop over systems, materials or months.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from critmat.columns import units as column_units
from critmat.defence.bom import DemandSource
from critmat.defence.common import KIND_RANK, kind_of_rank, proxy_map
from critmat.defence.demand import defence_demand
from critmat.defence.exposure import supply_mix
from critmat.dims import STAGES, parse_stage
from critmat.params import GroupBy, ParameterError, Selection
from critmat.provenance import attach
from critmat.vocab import CapabilitySupplyStatus, DefenceDemandStatus

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["capability_at_risk", "served_share", "simulate_builds"]


def served_share(lost_share: np.ndarray, defence_share: np.ndarray | None = None) -> np.ndarray:
    """Share of defence demand served when a share of total supply is lost (pure).

    Parameters
    ----------
    lost_share
        ``[M]`` share of total supply lost (``cut x w``), in [0, 1].
    defence_share
        ``[M]`` defence share of total demand for defence-first supply; ``None`` or NaN
        entries serve defence pro rata.

    Returns
    -------
    numpy.ndarray
        ``[M]`` served share in [0, 1].

    Examples
    --------
    >>> served_share(np.array([0.3, 0.3]), np.array([np.nan, 0.1])).tolist()
    [0.7, 1.0]
    """
    avail = 1.0 - np.clip(np.asarray(lost_share, dtype=float), 0.0, 1.0)
    if defence_share is None:
        return avail
    d = np.asarray(defence_share, dtype=float)
    first = np.minimum(1.0, np.divide(avail, d, out=np.ones_like(avail), where=d > 0))
    return np.where(np.isfinite(d), first, avail)


def simulate_builds(
    uses: np.ndarray,
    rate: np.ndarray,
    served: np.ndarray,
    months: int,
    *,
    stock_months: np.ndarray | None = None,
    substitutable: np.ndarray | None = None,
    substitution_lead: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Units not built per system and month, fixed recipe (pure, vectorised).

    Parameters
    ----------
    uses
        ``[J, M]`` True where system j's BOM contains material m.
    rate
        ``[J]`` units per month.
    served
        ``[M]`` served share of defence demand during the cut (:func:`served_share`).
    months
        Length of the cut.
    stock_months
        ``[M]`` defence stock in months of defence demand, drawn first (default none).
    substitutable
        ``[J, M]`` substitutable share of each use (default none).
    substitution_lead
        Months before substitution takes effect.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``[J, T]`` units not built, and ``[J, T]`` index of the limiting material (-1 where
        nothing is lost).
    """
    if months < 0:
        raise ParameterError(f"months must be >= 0, got {months}")
    j, m = uses.shape
    if m == 0:  # no material in the demand (e.g. no BOM rows): nothing can be lost
        return np.zeros((j, months)), np.full((j, months), -1)
    t = np.arange(months, dtype=float)  # [T]
    a = np.clip(np.asarray(served, dtype=float), 0.0, 1.0)  # [M]
    gap = 1.0 - a
    stock = np.zeros(m) if stock_months is None else np.asarray(stock_months, dtype=float)
    release = np.clip(stock[None, :] - t[:, None] * gap[None, :], 0.0, gap[None, :])  # [T, M]
    a_t = a[None, :] + release  # [T, M]
    a_jmt = np.broadcast_to(a_t[None, :, :], (j, months, m)).copy()  # [J, T, M]
    if substitutable is not None:
        sub = np.clip(np.asarray(substitutable, dtype=float), 0.0, 1.0)[:, None, :]
        on = (t >= substitution_lead)[None, :, None]
        a_jmt = np.where(on, a_jmt + sub * (1.0 - a_jmt), a_jmt)
    a_jmt = np.where(uses[:, None, :], a_jmt, np.inf)  # unused: no limit
    limiting = np.argmin(a_jmt, axis=2)  # [J, T]
    built = np.min(a_jmt, axis=2)
    built = np.where(np.isfinite(built), built, 1.0)
    lost = np.asarray(rate, dtype=float)[:, None] * (1.0 - built)
    lost = np.where(lost > 1e-12, lost, 0.0)
    return lost, np.where(lost > 0, limiting, -1)


def _worst_month(lost: np.ndarray, limiting: np.ndarray) -> np.ndarray:
    """``[J]`` limiting material of each system in its month with the largest loss."""
    if lost.shape[1] == 0:
        return np.full(lost.shape[0], -1)
    t = lost.argmax(axis=1)
    return limiting[np.arange(lost.shape[0]), t]


def _supplier_share(
    kb: KnowledgeBase,
    mats: list[str],
    supplier: list[str],
    stage: str | None,
    mix: str,
    recycling: bool,
    proxies: Mapping[str, str] | None,
) -> pd.DataFrame:
    """w[m]: (1 - eol_rir) x share of the supplier set, at the bottleneck or given stage."""
    stages = STAGES if stage is None else (parse_stage(stage).value,)
    wanted = sorted(set(mats) | set(proxy_map(pd.Series(mats, dtype=object), proxies)))
    mx = supply_mix(
        kb.eu_crm_2023(materials=wanted or None), mats, stages=stages, mix=mix, proxies=proxies
    )
    mx = mx.assign(hit=mx["share"].where(mx["country"].isin(supplier), 0.0))
    per = mx.groupby(["material", "stage"], as_index=False).agg(
        w=("hit", "sum"), mix_used=("mix_used", "first"), proxy=("proxy", "first")
    )
    per = per.sort_values("w", ascending=False, kind="stable").drop_duplicates("material")
    # object dtype: an empty demand (no BOM rows) must still merge on a text key
    out = pd.DataFrame({"material": pd.Series(list(mats), dtype=object)}).merge(
        per.astype({"material": object}), on="material", how="left"
    )
    eol = kb.materials()[["material", "eol_rir"]].set_index("material")["eol_rir"]
    src = proxy_map(out["material"], proxies)
    rec = out["material"].map(eol).fillna(src.map(eol)).astype("float64").fillna(0.0)
    out["eol_rir"] = rec if recycling else 0.0
    out["w"] = (1.0 - out["eol_rir"]) * out["w"].astype("float64")
    out["status"] = np.where(
        out["stage"].isna(),
        CapabilitySupplyStatus.NO_SUPPLY_SHARES.value,
        CapabilitySupplyStatus.OK.value,
    )
    out["w"] = out["w"].fillna(0.0)
    return out


def capability_at_risk(
    kb: KnowledgeBase,
    *,
    exporters: Selection = "CHN",
    materials: Selection = None,
    cut: float = 1.0,
    months: int = 12,
    stage: str | None = None,
    mix: str = "eu_sourcing",
    stock_months: float | Mapping[str, float] = 0.0,
    defence_share: Mapping[str, float] | None = None,
    eu_demand_t: Mapping[str, float] | None = None,
    substitution_lead_months: int = 0,
    recycling: bool = True,
    monthly: bool = False,
    groupby: GroupBy = None,
    proxies: Mapping[str, str] | None = None,
    demand: DemandSource | None = None,
) -> pd.DataFrame:
    """Systems that cannot be built during a supply cut, without and with mitigation.

    Parameters
    ----------
    kb
        Knowledge base.
    exporters
        Countries or groups whose deliveries are cut (default ``CHN``).
    materials
        Materials the cut applies to (default: every material in the BOMs).
    cut
        Share of the supplier's deliveries lost, 0-1.
    months
        Duration of the cut in months.
    stage
        Stage of the supply shares; ``None`` takes, per material, the stage where the
        supplier's share is larger (bottleneck).
    mix
        ``eu_sourcing`` (falls back to ``global``) or ``global``.
    stock_months
        Defence stock in months of defence demand (one number or per material).
    defence_share
        Defence share of EU demand per material for defence-first supply (user input).
    eu_demand_t
        EU demand in t per year per material; the defence share is then defence demand /
        EU demand. Without either, defence-first cannot be computed and the mitigated case
        serves defence pro rata (``defence_first = False`` in the result).
    substitution_lead_months
        Months before substitutes (BOM ``substitutable_share``) take effect.
    recycling
        Deduct the end-of-life recycling input rate (recycled supply is not cut).
    monthly
        Return one row per system and month instead of totals over the cut.
    groupby
        User-defined country groups, usable in ``exporters``.
    proxies
        Proxy materials for supply shares (default ``{"rare_earths": "neodymium"}``).
    demand
        Where the BOMs and build rates come from (see
        :func:`critmat.defence.demand.defence_demand`).

    Returns
    -------
    pandas.DataFrame
        ``programme, system, units_per_month, months, planned_units, not_built_fixed,
        not_built_mitigated, share_lost_fixed, share_lost_mitigated,
        limiting_material_fixed, limiting_material_mitigated, defence_first, kind,
        rests_on_assumption`` (``monthly=True``: ``programme, system, month,
        units_per_month, not_built_fixed, not_built_mitigated``). The cut itself, the
        served shares and the supplier share per material are in ``attrs["critmat"]``.

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> r = capability_at_risk(kb, exporters="CHN", cut=1.0, months=12)
    >>> r[["system", "not_built_fixed"]].round(1).to_dict("records")[0]
    {'system': 'DDG-51 Arleigh Burke-class destroyer', 'not_built_fixed': 1.7}
    """
    if not 0.0 <= float(cut) <= 1.0:
        raise ParameterError(f"cut must be a share between 0 and 1, got {cut}")
    if int(months) != months or months < 0:
        raise ParameterError(f"months must be a whole number >= 0, got {months}")
    months = int(months)
    sup = kb.select.countries(exporters, groupby, where="exporters=") or []
    if not sup:
        raise ParameterError("exporters= must name at least one country or group (e.g. CHN)")
    d = defence_demand(kb, demand=demand)
    d = d[(d["status"] == DefenceDemandStatus.OK) & (d["kg_per_unit"] > 0)]
    cut_mats = kb.select.materials(materials)
    mats = sorted(set(d["material"]))
    ws = _supplier_share(kb, mats, sup, stage, mix, recycling, proxies)
    hit = ws["w"].to_numpy() * float(cut)
    if cut_mats is not None:
        hit = np.where(ws["material"].isin(cut_mats).to_numpy(), hit, 0.0)
    # defence share of EU demand (defence-first) where the user gives it or EU demand
    dem = d.groupby("material")["demand_t_per_year"].sum().reindex(mats)
    dshare = pd.Series(np.nan, index=mats, dtype="float64")
    if eu_demand_t:
        eu = pd.Series(
            {kb.select.material(k, where="eu_demand_t"): float(v) for k, v in eu_demand_t.items()},
            dtype="float64",
        ).reindex(mats)
        dshare = (dem / eu).where(eu > 0, np.nan)
    if defence_share:
        given = pd.Series(
            {
                kb.select.material(k, where="defence_share"): float(v)
                for k, v in defence_share.items()
            },
            dtype="float64",
        )
        if ((given < 0) | (given > 1)).any():
            raise ParameterError("defence_share values are fractions between 0 and 1")
        dshare = given.reindex(mats).combine_first(dshare).astype("float64")
    served_fixed = served_share(hit)
    served_mit = served_share(hit, dshare.to_numpy())
    if isinstance(stock_months, Mapping):
        st = pd.Series(
            {
                kb.select.material(k, where="stock_months"): float(v)
                for k, v in stock_months.items()
            },
            dtype="float64",
        )
        stock = st.reindex(mats).fillna(0.0).to_numpy()
    else:
        stock = np.full(len(mats), float(stock_months))
    kg = d.pivot_table(
        index=["programme", "system"], columns="material", values="kg_per_unit", aggfunc="sum"
    ).reindex(columns=mats)
    sub = (
        d.pivot_table(
            index=["programme", "system"],
            columns="material",
            values="substitutable_share",
            aggfunc="max",
        )
        .reindex(index=kg.index, columns=mats)
        .fillna(0.0)
    )
    meta = (
        d.assign(rank=d["kind"].map(KIND_RANK).astype("float64"))
        .groupby(["programme", "system"])
        .agg(
            units_per_month=("units_per_month", "first"),
            rests_on_assumption=("rests_on_assumption", "any"),
            rank=("rank", "max"),
        )
        .reindex(kg.index)
    )
    meta["kind"] = kind_of_rank(meta["rank"])
    uses = kg.fillna(0.0).to_numpy() > 0
    rate = meta["units_per_month"].to_numpy(dtype="float64")
    lost_f, lim_f = simulate_builds(uses, rate, served_fixed, months, stock_months=stock)
    lost_m, lim_m = simulate_builds(
        uses,
        rate,
        served_mit,
        months,
        stock_months=stock,
        substitutable=sub.to_numpy(),
        substitution_lead=int(substitution_lead_months),
    )
    names = np.array([*mats, None], dtype=object)
    idx = kg.index.to_frame(index=False)
    if monthly:
        jj, tt = np.meshgrid(np.arange(len(idx)), np.arange(months), indexing="ij")
        out = pd.DataFrame(
            {
                "programme": idx["programme"].to_numpy()[jj.ravel()],
                "system": idx["system"].to_numpy()[jj.ravel()],
                "month": tt.ravel() + 1,
                "units_per_month": rate[jj.ravel()],
                "not_built_fixed": lost_f.ravel(),
                "not_built_mitigated": lost_m.ravel(),
                "limiting_material_fixed": names[lim_f.ravel()],
                "limiting_material_mitigated": names[lim_m.ravel()],
            }
        )
    else:
        planned = rate * months
        tot_f, tot_m = lost_f.sum(axis=1), lost_m.sum(axis=1)
        out = idx.assign(
            units_per_month=rate,
            months=months,
            planned_units=planned,
            not_built_fixed=tot_f,
            not_built_mitigated=tot_m,
            share_lost_fixed=np.divide(tot_f, planned, out=np.zeros(len(idx)), where=planned > 0),
            share_lost_mitigated=np.divide(
                tot_m, planned, out=np.zeros(len(idx)), where=planned > 0
            ),
            limiting_material_fixed=names[_worst_month(lost_f, lim_f)],
            limiting_material_mitigated=names[_worst_month(lost_m, lim_m)],
            defence_first=bool(np.isfinite(dshare.to_numpy()).any()),
            kind=meta["kind"].to_numpy(),
            rests_on_assumption=meta["rests_on_assumption"].to_numpy(dtype=bool),
        )
        out = out.sort_values(["programme", "system"], ignore_index=True)
    per_material = pd.DataFrame(
        {
            "material": mats,
            "supplier_share": ws["w"].to_numpy(),
            "lost_share": hit,
            "stage": ws["stage"].to_numpy(),
            "mix_used": ws["mix_used"].to_numpy(),
            "proxy": ws["proxy"].to_numpy(),
            "defence_share": dshare.to_numpy(),
            "served_fixed": served_fixed,
            "served_mitigated": served_mit,
            "stock_months": stock,
            "status": ws["status"].to_numpy(),
        }
    )
    prov = kb.provenance(
        "defence.capability_at_risk",
        d,
        exporters=sup,
        materials=materials,
        cut=float(cut),
        months=months,
        stage=stage,
        mix=mix,
        substitution_lead_months=substitution_lead_months,
        recycling=recycling,
        which=(demand or DemandSource()).which,
    )
    prov.sources = sorted(set(prov.sources) | {"eu_crm_2023_eus", "eu_crm_2023_gs"})
    prov.units = column_units("defence.capability_at_risk", out.columns)
    prov.notes = [
        "fixed: fixed recipe, pro-rata supply, no substitution (the scenario engine's systems "
        "not built); mitigated: substitution (BOM substitutable_share) and defence-first "
        "supply where a defence share is known",
        "per material (cut, supplier share, served shares): "
        + "; ".join(
            f"{r.material}: w={r.supplier_share:.3f}, lost={r.lost_share:.3f}, "
            f"served fixed={r.served_fixed:.3f}, mitigated={r.served_mitigated:.3f}"
            for r in per_material.itertuples()
        ),
    ]
    out = attach(out, prov)
    out.attrs["critmat_materials"] = per_material.to_dict("list")
    return out
