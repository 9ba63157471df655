"""Exposure of defence demand to supplier countries at extraction and processing.

For programme p, system j, material m, stage k and supplier country c::

    E[p, j, m, k, c] = D[p, j, m] * (1 - eol_rir[m]) * w[m, k, c]

D is the annual demand (:mod:`critmat.defence.bom`), eol_rir the end-of-life recycling
input rate (the part of demand met by recycling, as in the scenario engine) and w the
supply mix at the stage, from the selection layer (``kb.select.supply_mix``, shares of the
``supply_vintage``, default the newest per material, stage and mix): the EU 2023 study's EU
sourcing shares (EU production plus extra-EU imports by origin; ``mix="eu_sourcing"``)
where they pass the supply-input checks, else the documented fallback with its
``mix_status`` (``eu_sourcing_inconsistent``: the global mix split by EU import reliance;
``global_mix_fallback``: the global mix, where the study gives no EU sourcing shares; see
docs/scenarios.md), the global supply shares (``mix="global"``), or BACI extra-EU import
tonnage shares of one year (``mix="imports"``). China share and adversary share are the
parts of D exposed to China and to the adversary set. Everything is one merge and one
groupby over all programmes, systems, materials, stages and countries at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.columns import units as column_units
from critmat.data.cache import copied, freeze, memoised
from critmat.defence.bom import DemandSource
from critmat.defence.common import DEFAULT_ADVERSARIES, KIND_RANK, kind_of_rank, proxy_map
from critmat.defence.demand import defence_demand
from critmat.dims import STAGES, parse_stage
from critmat.methods import dependency as dep
from critmat.params import GroupBy, ParameterError, Selection
from critmat.provenance import attach
from critmat.vocab import CapabilitySupplyStatus, DefenceDemandStatus

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = ["BY", "MIXES", "exposure", "exposure_summary", "supplier_exposure", "supply_mix"]

#: Supply mixes: EU 2023 EU sourcing shares, EU 2023 global supply shares, BACI imports.
MIXES = ("eu_sourcing", "global", "imports")

#: Columns of the checked supplier mix that :func:`supply_mix` passes through when present.
_PASSTHROUGH = ("mix_status", "supply_vintage", "reference_years")

#: Aggregation levels of :func:`exposure`.
BY = ("system", "programme", "material")

_FALLBACK = {
    "eu_sourcing": ("eu_sourcing", "global_ir_split", "global"),
    "global": ("global",),
    "imports": ("imports",),
}


def _join_mixes(values: pd.Series) -> str:
    """The distinct mixes of a group, ``"; "``-joined (EU-built and non-EU-built rows)."""
    parts = {x for v in values.dropna().astype(str) for x in v.split("; ") if x}
    return "; ".join(sorted(parts))


def supply_mix(
    shares: pd.DataFrame,
    materials: list[str],
    *,
    stages: tuple[str, ...] = STAGES,
    mix: str = "eu_sourcing",
    proxies: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Supplier shares of each material and stage, with fallback and proxies (pure).

    Parameters
    ----------
    shares
        ``material, stage, mix, country, share`` (the ``eu_crm_2023`` table, optionally with
        ``mix = imports`` rows).
    materials
        Materials wanted.
    stages
        Stages wanted.
    mix
        Preferred mix (:data:`MIXES`); ``eu_sourcing`` falls back to ``global`` per material
        and stage where the study gives no EU sourcing shares.
    proxies
        ``{material: proxy}`` whose shares stand in (default
        :data:`critmat.defence.common.SHARE_PROXIES`).

    Returns
    -------
    pandas.DataFrame
        ``material, stage, country, share, mix_used, proxy`` (``proxy`` empty unless the
        shares are another material's); materials and stages without shares are absent.
    """
    if mix not in MIXES:
        raise ParameterError(f"mix must be one of {', '.join(MIXES)}, got '{mix}'")
    mats = pd.Series(list(dict.fromkeys(materials)), dtype=object)
    proxy = proxy_map(mats, proxies)
    order = {m: i for i, m in enumerate(_FALLBACK[mix])}
    extra = [c for c in _PASSTHROUGH if c in shares.columns]
    # the rows of each (material, stage, mix) of the shares, in their order
    code, uniques = pd.MultiIndex.from_arrays(
        [shares["material"], shares["stage"], shares["mix"]]
    ).factorize()
    code = np.asarray(code, dtype=np.int64)
    counts = np.bincount(code[code >= 0], minlength=len(uniques))
    ends = np.cumsum(counts)
    by_key = np.argsort(code, kind="stable")[int((code < 0).sum()) :]
    rows = {key: by_key[a:b] for key, a, b in zip(uniques, ends - counts, ends, strict=True)}
    best: dict[tuple[Any, Any], tuple[int, Any]] = {}  # (material, stage) -> preferred mix
    for m, st, mx in rows:
        pref = order.get(mx)
        if pref is not None and ((m, st) not in best or pref < best[(m, st)][0]):
            best[(m, st)] = (pref, mx)
    # per material and stage: its own shares first, then its proxy's; the preferred mix
    chosen: list[tuple[int, int, int, Any, Any, Any, Any]] = []
    position = 0
    for m, px in zip(mats, proxy, strict=True):
        cands = [(0, m)] + ([(1, px)] if px != m else [])
        for st in stages:
            for src_pref, src in cands:
                hit = best.get((src, st))
                if hit is not None:
                    chosen.append((src_pref, hit[0], position, m, src, st, hit[1]))
                    break
            position += 1
    stage_dtype = pd.Series(list(stages)).dtype
    same_stage = shares["stage"].dtype == stage_dtype
    if not chosen or not (same_stage or object in (shares["stage"].dtype, stage_dtype)):
        # nothing chosen (or stages of another text dtype): the frame of the joins
        return _supply_mix_joins(shares, materials, stages=stages, mix=mix, proxies=proxies)
    # in the order of the joins: own shares before a proxy's, preferred mix first, then
    # the order of the materials and stages asked for; each key's rows in their order
    chosen.sort(key=lambda c: (c[0], c[1], c[2]))
    taken = [rows[(c[4], c[5], c[6])] for c in chosen]
    part = shares.iloc[np.concatenate(taken)]
    reps = [len(t) for t in taken]
    material = np.repeat(np.array([c[3] for c in chosen], dtype=object), reps)
    src = np.repeat(np.array([c[4] for c in chosen], dtype=object), reps)

    def kept(column: str) -> pd.Series:
        return pd.Series(part[column].to_numpy(), dtype=part[column].dtype)

    out = pd.DataFrame(
        {
            "material": pd.Series(material, dtype=object),
            "stage": (
                kept("stage")
                if same_stage
                else pd.Series(part["stage"].to_numpy(dtype=object), dtype=object)
            ),
            "country": kept("country"),
            "share": pd.Series(part["share"].to_numpy(dtype="float64"), dtype="float64"),
            "mix_used": kept("mix"),
            "proxy": None,
            **{c: kept(c) for c in extra},
        }
    )
    proxy_col = src.copy()
    proxy_col[src == material] = None
    out["proxy"] = proxy_col  # an object array, as the joins' assignment infers it
    return out


def _supply_mix_joins(
    shares: pd.DataFrame,
    materials: list[str],
    *,
    stages: tuple[str, ...],
    mix: str,
    proxies: Mapping[str, str] | None,
) -> pd.DataFrame:
    """:func:`supply_mix` by joins (the frame, and its dtypes, where nothing is chosen)."""
    mats = pd.Series(list(dict.fromkeys(materials)), dtype=object)
    proxy = proxy_map(mats, proxies)
    cand = pd.concat(
        [
            pd.DataFrame({"material": mats, "src": mats, "src_pref": 0}),
            pd.DataFrame({"material": mats, "src": proxy, "src_pref": 1})[
                (proxy != mats).to_numpy()
            ],
        ],
        ignore_index=True,
    )
    req = cand.merge(pd.DataFrame({"stage": list(stages)}), how="cross")
    order = {m: i for i, m in enumerate(_FALLBACK[mix])}
    avail = shares[["material", "stage", "mix"]].drop_duplicates()
    avail = avail[avail["mix"].isin(list(order))]
    avail = avail.assign(pref=avail["mix"].map(order))
    # the material's own shares first, then its proxy's; within each, the preferred mix
    pick = (
        req.merge(
            avail, left_on=["src", "stage"], right_on=["material", "stage"], suffixes=("", "_s")
        )
        .sort_values(["src_pref", "pref"], kind="stable")
        .drop_duplicates(["material", "stage"])
    )
    extra = [c for c in _PASSTHROUGH if c in shares.columns]
    out = pick[["material", "src", "stage", "mix"]].merge(
        shares[["material", "stage", "mix", "country", "share", *extra]],
        left_on=["src", "stage", "mix"],
        right_on=["material", "stage", "mix"],
        suffixes=("", "_s"),
    )
    out = out.rename(columns={"mix": "mix_used"})
    out["share"] = out["share"].astype("float64")
    out["proxy"] = np.where(out["src"] != out["material"], out["src"], None)
    cols = ["material", "stage", "country", "share", "mix_used", "proxy", *extra]
    return out[cols].reset_index(drop=True)


def supplier_exposure(
    demand: pd.DataFrame, mix: pd.DataFrame, eol_rir: pd.Series | None = None
) -> pd.DataFrame:
    """Demand exposed to each supplier country (pure, one merge).

    Parameters
    ----------
    demand
        ``programme, system, material, demand_t_per_year, kind, rests_on_assumption``.
    mix
        Output of :func:`supply_mix`.
    eol_rir
        End-of-life recycling input rate by material (index); missing -> 0.

    Returns
    -------
    pandas.DataFrame
        ``demand`` columns plus ``stage, country, share, mix_used, proxy, eol_rir,
        exposed_t`` with ``exposed_t = demand_t_per_year * (1 - eol_rir) * share``.
    """
    d = demand.merge(mix, on="material", how="inner")
    rec = d["material"].map(eol_rir) if eol_rir is not None else pd.Series(0.0, index=d.index)
    d["eol_rir"] = rec.astype("float64").fillna(0.0)
    d["exposed_t"] = d["demand_t_per_year"] * (1.0 - d["eol_rir"]) * d["share"]
    return d


def _grouped(
    frame: pd.DataFrame,
    by: list[str],
    *,
    sums: Mapping[str, str],
    firsts: list[str],
    then: list[str] | None = None,
) -> pd.DataFrame:
    """One row per group of ``by``: ``firsts`` (first value), ``sums``, the joined mixes, ``then``.

    The columns in that order (``sums`` maps result to frame column; with ``then``, the
    ``firsts`` come before the sums and ``then`` after the mixes), as a named aggregation
    gives them, with the same kernels, one call per kind of aggregation.
    """
    g = frame.groupby(by, sort=False, dropna=False)
    summed = g[list(sums.values())].sum()
    summed.columns = list(sums)
    parts = [summed]
    if then is None:
        parts.append(g["mix_used"].agg(_join_mixes).to_frame("mix_used"))
        parts.append(g[firsts].first())
    else:
        parts.insert(0, g[firsts].first())
        parts.append(g["mix_used"].agg(_join_mixes).to_frame("mix_used"))
        parts.append(g[then].first())
    return pd.concat(parts, axis=1).reset_index()


def exposure_summary(
    detail: pd.DataFrame, demand: pd.DataFrame, keys: list[str], *, adversaries: list[str]
) -> pd.DataFrame:
    """China, adversary and top-supplier shares of exposed demand (pure, vectorised).

    Parameters
    ----------
    detail
        Exposure per ``keys + [stage, country]`` with ``share, exposed_t, mix_used, proxy,
        eol_rir`` (see :func:`supplier_exposure`).
    demand
        Demand per ``keys`` with ``demand_t_per_year, kind, rests_on_assumption``.
    keys
        Grouping columns besides the stage (e.g. ``programme, system, material``).
    adversaries
        ISO-3 codes of the adversary set.

    Returns
    -------
    pandas.DataFrame
        ``keys, stage, demand_t_per_year, shares_covered, china_t, china_share,
        adversary_t, adversary_share, top_supplier, top_supplier_share, mix_used, proxy,
        eol_rir, kind, rests_on_assumption``; shares are of the demand (t exposed / t demand).
    """
    by = [*keys, "stage"]
    d = detail.assign(
        china_t=detail["exposed_t"].where(detail["country"] == "CHN", 0.0),
        adversary_t=detail["exposed_t"].where(detail["country"].isin(adversaries), 0.0),
    )
    out = _grouped(
        d,
        by,
        sums={"shares_covered": "share", "china_t": "china_t", "adversary_t": "adversary_t"},
        firsts=["proxy", "eol_rir", *[c for c in _PASSTHROUGH if c in detail.columns]],
    )
    out = out.merge(
        demand[[*keys, "demand_t_per_year", "kind", "rests_on_assumption"]], on=keys, how="left"
    )
    top = d.sort_values("exposed_t", ascending=False, kind="stable").drop_duplicates(by)
    out = out.merge(
        top[[*by, "country", "exposed_t"]].rename(
            columns={"country": "top_supplier", "exposed_t": "top_t"}
        ),
        on=by,
        how="left",
    )
    dem_v = out["demand_t_per_year"].to_numpy(dtype="float64")
    for col, num_col in (
        ("china", "china_t"),
        ("adversary", "adversary_t"),
        ("top_supplier", "top_t"),
    ):
        num = out[num_col].to_numpy(dtype="float64")
        out[f"{col}_share"] = np.divide(num, dem_v, out=np.full(len(out), np.nan), where=dem_v > 0)
    # a proxy's supply shares standing in are an assumption too (issue 12)
    out["rests_on_assumption"] = (
        out["rests_on_assumption"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        | out["proxy"].notna().to_numpy()
    )
    cols = [
        *by,
        "demand_t_per_year",
        "shares_covered",
        "china_t",
        "china_share",
        "adversary_t",
        "adversary_share",
        "top_supplier",
        "top_supplier_share",
        "mix_used",
        *[c for c in _PASSTHROUGH if c in out.columns],
        "proxy",
        "eol_rir",
        "kind",
        "rests_on_assumption",
    ]
    return out[cols]


def _aggregate(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Demand per ``keys`` with the least certain kind."""
    g = frame.assign(rank=frame["kind"].map(KIND_RANK).astype("float64")).groupby(
        keys, sort=False, dropna=False
    )
    # the kernels of a named aggregation, one call each
    out = pd.concat(
        [
            g["demand_t_per_year"].sum(),
            g["rank"].max(),
            g["rests_on_assumption"].any(),
        ],
        axis=1,
    ).reset_index()
    out["kind"] = kind_of_rank(out["rank"])
    return out.drop(columns="rank")


def _import_shares(
    kb: KnowledgeBase, materials: list[str], year: int, proxies: Mapping[str, str] | None
) -> pd.DataFrame:
    """BACI extra-EU import tonnage shares by origin for one year (mix ``imports``)."""
    src = sorted(set(materials) | set(proxy_map(pd.Series(materials, dtype=object), proxies)))
    trade = kb.select.trade(materials=src, years=[year])
    units = dep.units_frame(kb.select.importer_units("EU27"))
    flows = dep.unit_flows(trade, units, keys=("material", "stage"))
    flows = flows[flows["quantity_t"].fillna(0) > 0]
    total = flows.groupby(["material", "stage"])["quantity_t"].transform("sum")
    return pd.DataFrame(
        {
            "material": flows["material"],
            "stage": flows["stage"],
            "mix": "imports",
            "country": flows["partner"],
            "share": flows["quantity_t"] / total,
        }
    )


def _exposed_demand(
    kb: KnowledgeBase,
    *,
    materials: Selection,
    stages: tuple[str, ...],
    mix: str,
    year: int | None,
    recycling: bool,
    proxies: Mapping[str, str] | None,
    demand: DemandSource | None,
    supply_vintage: str,
) -> tuple[pd.DataFrame, list[str], str, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Demand, materials, vintage, shares, supply mix and exposed demand of :func:`exposure`.

    Everything before the aggregation by ``by`` (and the adversaries): computed once per
    knowledge base and arguments, so the summary's ``by="material"`` and the report's
    ``by="system"`` share it (kept in ``kb.cache``; every call gets its own copy).
    """

    def build() -> tuple[pd.DataFrame, list[str], str, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        d = defence_demand(kb, materials=materials, demand=demand)
        d = d[d["status"] == DefenceDemandStatus.OK]
        mats = sorted(set(d["material"]))
        wanted = sorted(set(mats) | set(proxy_map(pd.Series(mats, dtype=object), proxies)))
        vintage = kb.select.supply_vintage(supply_vintage)
        by_mix: dict[str, pd.DataFrame] = {}
        for name in ("eu_sourcing", "global"):  # the checked mixes (fallback and status)
            checked = kb.select.supply_mix(wanted or None, stages=STAGES, mix=name, vintage=vintage)
            by_mix[name] = checked.rename(columns={"mix_used": "mix", "vintage": "supply_vintage"})
        by_mix["imports"] = pd.DataFrame(columns=["material", "stage", "mix", "country", "share"])
        if year is not None and mats:
            imp = _import_shares(kb, mats, year, proxies)
            if len(imp):
                by_mix["imports"] = imp
        shares = pd.concat([f for f in by_mix.values() if len(f)], ignore_index=True)
        eol = None
        if recycling and mats:
            m = kb.materials()[["material", "eol_rir"]].set_index("material")["eol_rir"]
            eol = proxy_map(pd.Series(mats, index=mats, dtype=object), proxies).map(m)
            eol = eol.where(eol.notna(), pd.Series(mats, index=mats).map(m))
        if mix == "by_producer":
            from critmat.defence.dataset import producers

            prod = producers(kb, d["system"]).set_index("system")
            d = d.assign(
                producer_country=d["system"].map(prod["producer_country"]),
                mix_wanted=d["system"].map(prod["mix_wanted"]).fillna("eu_sourcing"),
            )
            mx = supply_mix(
                by_mix["eu_sourcing"], mats, stages=stages, mix="eu_sourcing", proxies=proxies
            )
            parts: list[pd.DataFrame] = []
            for mix_name in ("eu_sourcing", "global"):
                sub = d[d["mix_wanted"] == mix_name]
                if len(sub):
                    mxw = (
                        mx  # the same shares, materials, stages and proxies: the same mix
                        if mix_name == "eu_sourcing"
                        else supply_mix(
                            by_mix[mix_name], mats, stages=stages, mix=mix_name, proxies=proxies
                        )
                    )
                    part = supplier_exposure(sub.drop(columns="mix_wanted"), mxw, eol)
                    if mix_name == "global":
                        part["mix_used"] = "global (non-EU producer)"
                    parts.append(part)
            exposed = (
                pd.concat(parts, ignore_index=True)
                if parts
                else supplier_exposure(d.drop(columns="mix_wanted"), mx, eol)
            )
        else:
            if mix not in MIXES:
                raise ParameterError(
                    f"mix must be one of by_producer, {', '.join(MIXES)}, got '{mix}'"
                )
            mx = supply_mix(by_mix[mix], mats, stages=stages, mix=mix, proxies=proxies)
            exposed = supplier_exposure(d, mx, eol)
        return d, mats, vintage, shares, mx, exposed

    args = {
        "materials": materials,
        "stages": stages,
        "mix": mix,
        "year": year,
        "recycling": recycling,
        "proxies": proxies,
        "demand": demand,
        "supply_vintage": supply_vintage,
    }
    try:
        key = ("defence.exposure.exposed", freeze(args))
    except TypeError:  # e.g. a BOM given as a file path: not cacheable, computed each time
        return build()
    return copied(kb.cache.get(key, build))


@memoised("defence.exposure")  # once per kb and arguments (summary and report)
def exposure(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    stage: str | None = None,
    mix: str = "by_producer",
    adversaries: Selection = DEFAULT_ADVERSARIES,
    by: str = "system",
    detail: bool = False,
    recycling: bool = True,
    years: Any = None,
    groupby: GroupBy = None,
    proxies: Mapping[str, str] | None = None,
    demand: DemandSource | None = None,
    supply_vintage: str = "newest",
) -> pd.DataFrame:
    """Annual defence demand exposed to supplier countries, China and adversaries.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Materials to keep.
    stage
        ``extraction``, ``processing`` or ``None`` for both.
    mix
        ``by_producer`` (default: EU sourcing shares for systems built in the EU, the
        global shares for systems built elsewhere, e.g. the US-built F-35; see
        :func:`critmat.defence.dataset.producers`), ``eu_sourcing``, ``global`` or
        ``imports`` (see the module docstring).
    adversaries
        Countries or groups whose combined share is ``adversary_share`` (default
        ``CHN,RUS``, a user choice).
    by
        ``system`` (programme, system, material), ``programme`` (programme, material) or
        ``material``.
    detail
        Return one row per supplier country (``exposed_t``) instead of the summary.
    recycling
        Deduct the end-of-life recycling input rate before exposing demand.
    years
        One year of the BACI import shares (``mix="imports"``; default the latest); not
        used by the EU 2023 mixes.
    groupby
        User-defined country groups, usable in ``adversaries``.
    proxies
        Proxy materials for supply shares (default ``{"rare_earths": "neodymium"}``).
    demand
        Where the BOMs and build rates come from (see
        :func:`critmat.defence.demand.defence_demand`).
    supply_vintage
        Vintage of the supply shares: ``newest`` (per material, stage and mix the newest
        available) or a vintage name; not used by ``mix="imports"``.

    Returns
    -------
    pandas.DataFrame
        Summary: ``<keys>, stage, demand_t_per_year, shares_covered, china_t, china_share,
        adversary_t, adversary_share, top_supplier, top_supplier_share, mix_used,
        mix_status, supply_vintage, reference_years, proxy, eol_rir, kind,
        rests_on_assumption``. With ``detail=True``: ``<keys>, stage,
        country, share, exposed_t, ...``.

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> e = exposure(kb, by="material", stage="processing")
    >>> e[["material", "china_share", "proxy"]].round(2).to_dict("records")
    [{'material': 'rare_earths', 'china_share': 0.84, 'proxy': 'neodymium'}]
    """
    if by not in BY:
        raise ParameterError(f"by must be one of {', '.join(BY)}, got '{by}'")
    stages = STAGES if stage is None else (parse_stage(stage).value,)
    year = None
    if mix == "imports":
        year = kb.select.one_year(years, ["trade"], indicator="defence exposure (mix imports)")
    elif years is not None:
        raise ParameterError(
            f"years= applies to mix='imports' only (the {mix} shares are the EU 2023 "
            "study's); drop it or use mix='imports'"
        )
    d, mats, vintage, shares, mx, exposed = _exposed_demand(
        kb,
        materials=materials,
        stages=stages,
        mix=mix,
        year=year,
        recycling=recycling,
        proxies=proxies,
        demand=demand,
        supply_vintage=supply_vintage,
    )
    keys = {
        "system": ["programme", "system", "material"],
        "programme": ["programme", "material"],
        "material": ["material"],
    }[by]
    adv = kb.select.countries(adversaries, groupby, where="adversaries=") or []
    per = _grouped(
        exposed,
        [*keys, "stage", "country"],
        firsts=["share"],
        sums={"exposed_t": "exposed_t"},
        then=["proxy", "eol_rir", *[c for c in _PASSTHROUGH if c in exposed.columns]],
    )
    demand_t = _aggregate(d, keys)
    if detail:
        out = per.merge(demand_t, on=keys, how="left")
        out["adversary"] = out["country"].isin(adv)
        out = out.sort_values(
            [*keys, "stage", "exposed_t"],
            ascending=[True] * (len(keys) + 1) + [False],
            ignore_index=True,
        )
    missing = sorted(set(mats) - set(mx["material"]))
    if not detail:
        out = exposure_summary(per, demand_t, keys, adversaries=adv)
        out["status"] = CapabilitySupplyStatus.OK.value
        # a BOM material without supply shares is not "no risk": it stays, flagged, NaN shares
        lost = demand_t[demand_t["material"].isin(missing)]
        if len(lost):
            flagged = pd.concat([lost.assign(stage=s) for s in stages], ignore_index=True)
            flagged["status"] = CapabilitySupplyStatus.NO_SUPPLY_SHARES.value
            out = pd.concat([out, flagged], ignore_index=True) if len(out) else flagged
        out = out.sort_values([*keys, "stage"], ignore_index=True)
    prov = kb.provenance(
        "defence.exposure",
        shares,
        materials=materials,
        stage=stage,
        mix=mix,
        adversaries=adv,
        by=by,
        recycling=recycling,
        year=year,
        proxies=dict(proxies) if proxies else None,
        which=(demand or DemandSource()).which,
        supply_vintage=vintage if mix != "imports" else None,
    )
    base = d.attrs.get("critmat", {})
    prov.sources = sorted(
        set(prov.sources)
        | set(base.get("sources", []))
        | ({"critmat_curation"} if recycling else set())
    )
    prov.user_data = sorted(set(prov.user_data) | set(base.get("user_data", [])))
    prov.units = column_units("defence.exposure", out.columns)
    prov.notes = [
        "exposed_t = demand x (1 - eol_rir) x supplier share at the stage; EU sourcing shares "
        "list origins >= 1 % only, so shares_covered < 1 leaves the rest unattributed",
        "mix_used says which shares were used and mix_status why: eu_sourcing where the EU "
        "2023 EU-sourcing rows pass the supply-input checks; global_ir_split "
        "(eu_sourcing_inconsistent) where they were flagged: the global mix split by EU "
        "import reliance; global (global_mix_fallback) where the study gives none; proxy names "
        "the material whose shares stand in (critmat assumption)",
        *(
            [
                f"supply_vintage {vintage}: supply_vintage and reference_years name the "
                "vintage and years of each material's shares"
            ]
            if mix != "imports"
            else []
        ),
        *([f"no supply shares for: {', '.join(missing)}"] if missing else []),
    ]
    return attach(out, prov)
