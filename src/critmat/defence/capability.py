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

__all__ = [
    "ALLOCATIONS",
    "INTERMEDIATE_STAGES",
    "capability_at_risk",
    "served_share",
    "simulate_builds",
]

#: Allocation rules of the mitigated case.
ALLOCATIONS = ("defence_first", "pro_rata")


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
        ``[M]`` or ``[J, M]`` served share of defence demand during the cut
        (:func:`served_share`).
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
    # served share per material [M], or per system and material [J, M] (supply mixes that
    # depend on the producer of the system)
    a = np.broadcast_to(np.clip(np.asarray(served, dtype=float), 0.0, 1.0), (j, m))  # [J, M]
    gap = 1.0 - a
    stock = np.zeros(m) if stock_months is None else np.asarray(stock_months, dtype=float)
    release = np.clip(
        stock[None, None, :] - t[None, :, None] * gap[:, None, :], 0.0, gap[:, None, :]
    )  # [J, T, M]
    a_jmt = a[:, None, :] + release  # [J, T, M]
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


#: The intermediate stage used for each material with ``stage="intermediate"``: product and
#: stage of ``intermediate_supply`` (the newest year is taken). Magnets are the choke point
#: of defence rare-earth use (IEA: China 94 % of magnet manufacturing); aerospace-qualified
#: titanium sponge for titanium metal; GaAs substrates for gallium (no published shares:
#: give ``supplier_share``).
INTERMEDIATE_STAGES: dict[str, tuple[str, str]] = {
    "rare_earths": ("rare earth permanent magnets", "magnet manufacturing"),
    "neodymium": ("sintered NdFeB magnets", "magnet manufacturing"),
    "titanium_metal": ("titanium sponge", "sponge production (aerospace-qualified producers)"),
    "gallium": ("gallium arsenide substrates", "GaAs wafer (substrate) production"),
}


def _intermediate_share(kb: KnowledgeBase, mats: list[str], supplier: list[str]) -> pd.DataFrame:
    """w[m] at the intermediate stage of :data:`INTERMEDIATE_STAGES` (no recycling credit)."""
    t = kb.table("intermediate_supply")
    rows = []
    for m in mats:
        product, stage = INTERMEDIATE_STAGES.get(m, (None, None))
        sub = t[(t["product"] == product) & (t["stage"] == stage) & (t["material"] == m)]
        if len(sub):
            sub = sub[sub["year"] == sub["year"].max()]
        share = sub["share"].astype("float64")
        known = bool(len(sub)) and bool(share.notna().all())
        rows.append(
            {
                "material": m,
                "w": float(share[sub["country"].isin(supplier).to_numpy()].sum()) if known else 0.0,
                "stage": f"intermediate: {product}, {stage}" if product else None,
                "mix_used": "intermediate_supply" if known else None,
                "proxy": None,
                "eol_rir": 0.0,
                "status": CapabilitySupplyStatus.OK.value
                if known
                else CapabilitySupplyStatus.NO_SUPPLY_SHARES.value,
                "share_note": (
                    f"{product} ({stage}, {int(sub['year'].max())}): "
                    + ", ".join(f"{c} {v:.0%}" for c, v in zip(sub["country"], share, strict=True))
                    if known
                    else (
                        f"{product}: no published supplier shares (give supplier_share)"
                        if product
                        else "no intermediate stage held for this material (give supplier_share)"
                    )
                ),
            }
        )
    return pd.DataFrame(rows)


def capability_at_risk(
    kb: KnowledgeBase,
    *,
    exporters: Selection = "CHN",
    materials: Selection = None,
    cut: float = 1.0,
    months: int = 12,
    stage: str | None = None,
    mix: str = "by_producer",
    stock_months: float | Mapping[str, float] = 0.0,
    defence_share: Mapping[str, float] | None = None,
    supplier_share: Mapping[str, float] | None = None,
    allocation: str = "defence_first",
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
        supplier's share is larger (bottleneck); ``intermediate`` takes the intermediate
        stage of :data:`INTERMEDIATE_STAGES` (magnets for rare earths, aerospace-qualified
        titanium sponge, GaAs substrates) with its supplier mix from ``intermediate_supply``.
    mix
        ``by_producer`` (default: EU sourcing shares for EU-built systems, global shares
        for systems built elsewhere, :func:`critmat.defence.dataset.producers`),
        ``eu_sourcing`` (falls back to ``global``) or ``global``.
    stock_months
        Defence stock in months of defence demand (one number or per material).
    defence_share
        Defence share of EU demand per material for defence-first supply (user input).
    eu_demand_t
        EU demand in t per year per material; the defence share is then defence demand /
        EU demand. Without either, the defence share of demand cited in ``defence_uses``
        is used where there is one (rare earths: < 5 % of US use, CRS 2013), flagged as an
        assumption (a US share standing in for the EU); else defence-first cannot be
        computed and serves defence pro rata (``defence_first = False``).
    supplier_share
        Your share of the cut supplier set per material (0-1), replacing the data's (e.g.
        China's share of GaAs wafers, which no source read publishes); flagged ``user``.
    allocation
        The rule of the ``mitigated`` case: ``defence_first`` (default) or ``pro_rata``.
        Both rules are always in the result side by side (``not_built_pro_rata``,
        ``not_built_defence_first``, no substitution).
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
        ``programme, system, producer_country, units_per_month, months, planned_units,
        not_built_fixed, not_built_mitigated, not_built_pro_rata, not_built_defence_first,
        share_lost_fixed, share_lost_mitigated, limiting_material_fixed,
        limiting_material_mitigated, defence_first, allocation, kind,
        rests_on_assumption, assumptions`` (``monthly=True``: ``programme, system, month,
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
    if allocation not in ALLOCATIONS:
        raise ParameterError(
            f"allocation must be one of {', '.join(ALLOCATIONS)}, got '{allocation}'"
        )
    if mix not in ("by_producer", "eu_sourcing", "global"):
        raise ParameterError(f"mix must be one of by_producer, eu_sourcing, global, got '{mix}'")
    cut_mats = kb.select.materials(materials)
    mats = sorted(set(d["material"]))
    intermediate = stage is not None and str(stage).strip().lower() == "intermediate"
    from critmat.defence.dataset import producers

    prod = producers(kb, d["system"]).set_index("system")
    sys_mix = {
        s_: ("global" if mix == "global" else "eu_sourcing") if mix != "by_producer" else w_
        for s_, w_ in prod["mix_wanted"].items()
    }
    by_mix: dict[str, pd.DataFrame] = {}
    for wanted in sorted(set(sys_mix.values())) or ["eu_sourcing"]:
        by_mix[wanted] = (
            _intermediate_share(kb, mats, sup)
            if intermediate
            else _supplier_share(kb, mats, sup, stage, wanted, recycling, proxies).assign(
                share_note=None
            )
        )
    if supplier_share:
        given = {
            kb.select.material(k, where="supplier_share"): float(v)
            for k, v in supplier_share.items()
        }
        if any(not 0.0 <= v <= 1.0 for v in given.values()):
            raise ParameterError("supplier_share values are fractions between 0 and 1")
        for wanted, frame in by_mix.items():
            hit_m = frame["material"].isin(list(given))
            frame.loc[hit_m, "w"] = frame.loc[hit_m, "material"].map(given).astype("float64")
            frame.loc[hit_m, "mix_used"] = "user supplier_share"
            frame.loc[hit_m, "status"] = CapabilitySupplyStatus.OK.value
            by_mix[wanted] = frame
    ws = next(iter(by_mix.values()))
    cut_on = (
        ws["material"].isin(cut_mats).to_numpy()
        if cut_mats is not None
        else np.ones(len(mats), dtype=bool)
    )
    hits = {k: f["w"].to_numpy(dtype="float64") * float(cut) * cut_on for k, f in by_mix.items()}
    hit = hits[next(iter(hits))]
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
    # without your share: the defence share of demand a source gives (a US share: assumption)
    cited = kb.table("defence_uses").dropna(subset=["defence_demand_share"])
    cited = cited.drop_duplicates("material").set_index("material")
    cited_used = dshare.isna() & dshare.index.isin(cited.index)
    dshare = dshare.where(~cited_used, dshare.index.map(cited["defence_demand_share"]))
    dshare = dshare.astype("float64")
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
    systems_ = kg.index.get_level_values("system")
    sys_w = [sys_mix.get(x, "eu_sourcing") for x in systems_]
    hit_jm = np.vstack([hits[w] for w in sys_w]) if sys_w else np.zeros((0, len(mats)))
    ds = dshare.to_numpy()
    served_fixed = served_share(hit_jm)
    served_df = np.vstack([served_share(h, ds) for h in hit_jm]) if sys_w else hit_jm
    served_mit = served_df if allocation == "defence_first" else served_fixed
    lost_f, lim_f = simulate_builds(uses, rate, served_fixed, months, stock_months=stock)
    lost_d, _ = simulate_builds(uses, rate, served_df, months, stock_months=stock)
    lost_m, lim_m = simulate_builds(
        uses,
        rate,
        served_mit,
        months,
        stock_months=stock,
        substitutable=sub.to_numpy(),
        substitution_lead=int(substitution_lead_months),
    )
    # what each system's result rests on (the assumptions column)
    proxy_of = {k: dict(zip(f["material"], f["proxy"], strict=True)) for k, f in by_mix.items()}
    note_of = {k: dict(zip(f["material"], f["share_note"], strict=True)) for k, f in by_mix.items()}
    stage_of = {k: dict(zip(f["material"], f["stage"], strict=True)) for k, f in by_mix.items()}
    assumptions: list[str] = []
    proxied: list[bool] = []
    from critmat.defence.dataset import REFERENCE_PROGRAMME

    ref_rates = kb.table("defence_systems").set_index("system")
    programmes_ = kg.index.get_level_values("programme")
    for j, (sname, w) in enumerate(zip(systems_, sys_w, strict=True)):
        used = [mats[i] for i in np.flatnonzero(uses[j])]
        items = [
            f"allocation: fixed = pro rata; mitigated = {allocation.replace('_', '-')}"
            + (" + substitution" if sub.to_numpy()[j].any() else ""),
            f"supply mix: {prod['mix_note'].get(sname, w) if mix == 'by_producer' else mix}",
        ]
        if programmes_[j] == REFERENCE_PROGRAMME and sname in ref_rates.index:
            rr = ref_rates.loc[sname]
            items.append(
                f"build rate: {float(rr['units_per_year']):g}/yr, {rr['rate_measure']} "
                f"({int(rr['rate_year'])}, {rr['rate_kind']}; a US programme rate)"
            )
        px = [f"{m} -> {proxy_of[w][m]}" for m in used if proxy_of[w].get(m)]
        if px:
            items.append("proxy (supply shares): " + ", ".join(px))
        for m in used:
            st = stage_of[w].get(m)
            items.append(
                f"{m} stage: {st if st else 'none'}"
                + (" (bottleneck)" if stage is None and not intermediate else "")
            )
            if note_of[w].get(m):
                items.append(str(note_of[w][m]))
            if supplier_share and m in {
                kb.select.material(k, where="supplier_share") for k in supplier_share
            }:
                items.append(f"{m}: supplier share given by you")
            if bool(cited_used.get(m, False)):
                items.append(
                    f"{m} defence share {float(dshare[m]):.0%} of demand: cited "
                    f"{cited.loc[m, 'defence_demand_share_scope']} figure standing in for "
                    "the EU (assumption)"
                )
            elif np.isfinite(dshare.get(m, np.nan)):
                items.append(f"{m} defence share {float(dshare[m]):.1%} of demand: your input")
            else:
                items.append(f"{m}: no defence share, defence-first = pro rata")
        if np.any(stock > 0):
            held = ", ".join(f"{mm} {v:g} months" for mm, v in zip(mats, stock, strict=True))
            items.append(f"stock: {held}")
        assumptions.append("; ".join(items))
        proxied.append(
            bool(px)
            or any(bool(cited_used.get(m, False)) for m in used)
            or (mix == "by_producer" and str(prod["known_system"].get(sname)) == "None")
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
            producer_country=idx["system"].map(prod["producer_country"]).to_numpy(),
            units_per_month=rate,
            months=months,
            planned_units=planned,
            not_built_fixed=tot_f,
            not_built_mitigated=tot_m,
            not_built_pro_rata=tot_f,
            not_built_defence_first=lost_d.sum(axis=1),
            share_lost_fixed=np.divide(tot_f, planned, out=np.zeros(len(idx)), where=planned > 0),
            share_lost_mitigated=np.divide(
                tot_m, planned, out=np.zeros(len(idx)), where=planned > 0
            ),
            limiting_material_fixed=names[_worst_month(lost_f, lim_f)],
            limiting_material_mitigated=names[_worst_month(lost_m, lim_m)],
            defence_first=bool(np.isfinite(dshare.to_numpy()).any()),
            allocation=allocation,
            kind=meta["kind"].to_numpy(),
            rests_on_assumption=meta["rests_on_assumption"].to_numpy(dtype=bool)
            | np.asarray(proxied, dtype=bool),
            assumptions=assumptions,
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
            "served_fixed": served_share(hit),
            "served_mitigated": served_share(hit, dshare.to_numpy()),
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
        allocation=allocation,
        supplier_share=dict(supplier_share) if supplier_share else None,
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
