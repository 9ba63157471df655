"""Defence and the energy transition: shared materials, demand shares, shortfall priority.

For each material shared by defence and the energy transition:

* ``defence_demand_t``: annual defence demand from your BOMs x build rates (or the cited
  reference data);
* ``eu_demand_t``: EU demand, your value (``eu_demand_t=``) or EU27 apparent consumption
  at the extraction stage (World Mining Data production + BACI extra-EU imports - exports,
  mean of ``years``) where the data allow; ``world_demand_t``: world mine production
  (World Mining Data, mean of ``years``) standing in for world demand;
* ``defence_share_eu`` = demand of the programmes built in the EU / ``eu_demand_t`` (US
  programme demand is never divided by EU demand; ``defence_demand_scope`` names the producer
  countries), ``defence_share_world = defence_demand_t / world_demand_t``;
* from the EU 2023 end-use shares (``eu_crm_2023_end_use``): the energy-transition share
  (batteries, fuel cells, electrolysers, photovoltaics; lead-acid and alkaline batteries
  excluded), the permanent-magnet share (shared by e-mobility, wind, electronics and
  defence; reported separately) and the aerospace-and-defence share (applications named
  aerospace, aeronautics or superalloys).

:func:`allocate_shortfall` serves sectors in a priority order when supply falls short:
``defence_first`` (defence, energy transition, other), ``energy_first`` (energy
transition, defence, other) or ``pro_rata``. Tonnages use the measured basis of each source
(World Mining Data REO, Li2O, metal content...; BOMs in kg of the material): compare with
care, the ``basis`` column says which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.columns import units as column_units
from critmat.defence.bom import DemandSource
from critmat.defence.common import proxy_map
from critmat.params import ParameterError, Selection
from critmat.provenance import attach
from critmat.vocab import NirStatus

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "ENERGY_TRANSITION",
    "RULES",
    "SECTORS",
    "SHARED_MATERIALS",
    "allocate_shortfall",
    "end_use_groups",
    "energy_competition",
    "shortfall_allocation",
]

#: Materials that defence and the energy transition both need (DESIGN.md, issue 5).
SHARED_MATERIALS = (
    "rare_earths",
    "neodymium",
    "praseodymium",
    "dysprosium",
    "terbium",
    "samarium",
    "gallium",
    "germanium",
    "cobalt",
    "lithium",
    "graphite",
    "titanium",
    "tungsten",
    "manganese",
    "nickel",
    "aluminium",
)

#: EU 2023 end-use applications counted as energy transition (regular expression).
ENERGY_TRANSITION = (
    r"^(Batteries|Energy storage|Fuel Cells|Electrolysers|PV cells|"
    r"Photovoltaics|CIGS solar cells|Solar [Aa]pplications?)$"
)
_MAGNETS = r"^Magnets$"
_AEROSPACE = r"Aerospace|Aeronautics|[Ss]uper ?alloys"

#: Demand sectors of the shortfall allocation.
SECTORS = ("defence", "energy_transition", "other")

#: Priority rules: sector order (``pro_rata``: no order).
RULES: dict[str, tuple[str, ...]] = {
    "defence_first": ("defence", "energy_transition", "other"),
    "energy_first": ("energy_transition", "defence", "other"),
    "pro_rata": (),
}


def end_use_groups(end_use: pd.DataFrame) -> pd.DataFrame:
    """Energy-transition, magnet and aerospace/defence shares of each material (pure).

    Parameters
    ----------
    end_use
        ``material, application, share`` (the ``eu_crm_2023_end_use`` table).

    Returns
    -------
    pandas.DataFrame
        ``material, energy_transition_share, magnets_share, aerospace_defence_share,
        energy_applications, aerospace_applications``.
    """
    e = end_use.assign(share=end_use["share"].astype("float64"))
    app = e["application"].astype(str)
    e = e.assign(
        et=e["share"].where(app.str.match(ENERGY_TRANSITION), 0.0),
        mag=e["share"].where(app.str.match(_MAGNETS), 0.0),
        aero=e["share"].where(app.str.contains(_AEROSPACE, regex=True), 0.0),
    )
    out = e.groupby("material", as_index=False).agg(
        energy_transition_share=("et", "sum"),
        magnets_share=("mag", "sum"),
        aerospace_defence_share=("aero", "sum"),
    )
    names = (
        e[app.str.match(ENERGY_TRANSITION)]
        .drop_duplicates(["material", "application"])
        .groupby("material")["application"]
        .agg("; ".join)
    )
    aero = (
        e[app.str.contains(_AEROSPACE, regex=True)]
        .drop_duplicates(["material", "application"])
        .groupby("material")["application"]
        .agg("; ".join)
    )
    out["energy_applications"] = out["material"].map(names)
    out["aerospace_applications"] = out["material"].map(aero)
    return out


def _resolve_map(kb: KnowledgeBase, values: Mapping[str, float] | None, where: str) -> pd.Series:
    if not values:
        return pd.Series(dtype="float64")
    out = pd.Series(
        {kb.select.material(k, where=where): float(v) for k, v in values.items()},
        dtype="float64",
    )
    if (out < 0).any():
        raise ParameterError(f"{where} values must be >= 0")
    return out


def energy_competition(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    eu_demand_t: Mapping[str, float] | None = None,
    world_demand_t: Mapping[str, float] | None = None,
    years: Any = "2018-2022",
    proxies: Mapping[str, str] | None = None,
    demand: DemandSource | None = None,
) -> pd.DataFrame:
    """Defence demand against EU and world demand and the EU 2023 end-use shares.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Materials (default :data:`SHARED_MATERIALS`).
    eu_demand_t, world_demand_t
        Your values in t per year per material (override the data).
    years
        Years averaged for apparent consumption and world production.
    proxies
        Proxy materials for the end-use shares (default ``{"rare_earths": "neodymium"}``).
    demand
        Where the BOMs and build rates come from (see
        :func:`critmat.defence.demand.defence_demand`).

    Returns
    -------
    pandas.DataFrame
        ``material, defence_demand_t, eu_demand_t, eu_demand_basis, world_demand_t,
        world_demand_basis, defence_share_eu, defence_share_world, energy_transition_share,
        magnets_share, aerospace_defence_share, end_use_proxy,
        published_defence_share_upper, published_share_scope, kind, rests_on_assumption``.
    """
    from critmat.defence.demand import defence_demand

    mats = kb.select.materials(materials) or list(SHARED_MATERIALS)
    yrs = kb.select.years(years, ["production"], indicator="defence energy competition")
    d = defence_demand(kb, by="material", demand=demand)
    t = pd.DataFrame({"material": mats})
    t = t.merge(
        d[["material", "demand_t_per_year", "kind", "rests_on_assumption"]].rename(
            columns={"demand_t_per_year": "defence_demand_t"}
        ),
        on="material",
        how="left",
    )
    # world production (WMD) as world demand
    prod = kb.production(materials=mats, years=yrs)
    world = prod.groupby(["material", "year"])["quantity_t"].sum().groupby("material").mean()
    basis = prod.drop_duplicates("material").set_index("material")["measured_as"]
    t["world_demand_t"] = t["material"].map(world)
    label = "World Mining Data production, " + t["material"].map(basis).fillna(
        "as published"
    ).astype(str)
    t["world_demand_basis"] = label.where(t["world_demand_t"].notna(), None)
    # EU apparent consumption at extraction where the data allow
    nir = kb.indicators.net_import_reliance(
        materials=mats, importers="EU27", years=yrs, stage="extraction"
    )
    okr = nir[(nir["status"] == NirStatus.OK) & (nir["apparent_consumption_t"] > 0)]
    eu = okr.groupby("material")["apparent_consumption_t"].mean()
    t["eu_demand_t"] = t["material"].map(eu)
    t["eu_demand_basis"] = pd.Series(
        "EU27 apparent consumption, extraction stage (WMD + BACI)", index=t.index, dtype=object
    ).where(t["eu_demand_t"].notna(), None)
    for col, given, name in (
        ("eu_demand_t", eu_demand_t, "eu_demand_t"),
        ("world_demand_t", world_demand_t, "world_demand_t"),
    ):
        g = _resolve_map(kb, given, name)
        hit = t["material"].isin(g.index)
        if not hit.any():  # pandas 3 refuses an empty string-typed map into a float column
            continue
        t.loc[hit, col] = t.loc[hit, "material"].map(g).astype("float64")
        t.loc[hit, col.replace("_t", "_basis")] = "user input"
    # the EU share counts only programmes built in the EU: US programme demand over EU
    # demand would show US data as EU data
    from critmat.defence.dataset import producers
    from critmat.vocab import DefenceDemandStatus

    ds = defence_demand(kb, demand=demand)
    ds = ds[ds["status"] == DefenceDemandStatus.OK]
    prod = producers(kb, ds["system"]).set_index("system")
    ds = ds.assign(
        producer=ds["system"].map(prod["producer_country"]).astype(object).fillna("unknown"),
        in_eu=ds["system"].map(prod["producer_in_eu"]).astype("boolean").fillna(True),
    )
    eu_built = ds[ds["in_eu"].astype(bool)].groupby("material")["demand_t_per_year"].sum()
    scope = ds.groupby("material")["producer"].agg(lambda v: ", ".join(sorted(set(v))))
    t["defence_demand_scope"] = t["material"].map(scope).astype(object)  # text, also if empty
    dd = t["defence_demand_t"].to_numpy(dtype="float64")
    dd_eu = t["material"].map(eu_built).astype("float64").to_numpy()
    for col, num in (("eu", dd_eu), ("world", dd)):
        den = t[f"{col}_demand_t"].to_numpy(dtype="float64")
        t[f"defence_share_{col}"] = np.divide(
            num, den, out=np.full(len(t), np.nan), where=np.nan_to_num(den) > 0
        )
    t["defence_share_eu_basis"] = np.where(
        np.isfinite(dd_eu),
        "demand of EU-built programmes / EU demand",
        np.where(
            np.isfinite(dd),
            "no EU-built programme in the demand (producers: "
            + t["defence_demand_scope"].fillna("").astype(str).to_numpy()
            + "): not an EU share",
            None,
        ),
    )
    # EU 2023 end-use shares (own rows, else the proxy's)
    groups = end_use_groups(kb.table("eu_crm_2023_end_use"))
    src = proxy_map(t["material"], proxies)
    own = t[["material"]].merge(groups, on="material", how="left")
    via = pd.DataFrame({"material": src}).merge(groups, on="material", how="left")
    has_own = own["energy_transition_share"].notna().to_numpy()
    for c in ("energy_transition_share", "magnets_share", "aerospace_defence_share"):
        t[c] = np.where(has_own, own[c], via[c])
    t["end_use_proxy"] = np.where(
        ~has_own
        & via["energy_transition_share"].notna().to_numpy()
        & (src != t["material"]).to_numpy(),
        src,
        None,
    )
    # published upper bounds of the defence share (defence_uses, 'fraction of ...' rows)
    u = kb.table("defence_uses")
    pub = u[u["unit"].fillna("").str.startswith("fraction of")]
    t["published_defence_share_upper"] = t["material"].map(pub.set_index("material")["quantity"])
    t["published_share_scope"] = t["material"].map(
        pub.set_index("material")["use_id"] + ": " + pub.set_index("material")["quantity_basis"]
    )
    t["rests_on_assumption"] = t["rests_on_assumption"].astype("boolean").fillna(False).astype(bool)
    cols = [
        "material",
        "defence_demand_t",
        "eu_demand_t",
        "eu_demand_basis",
        "world_demand_t",
        "world_demand_basis",
        "defence_demand_scope",
        "defence_share_eu",
        "defence_share_eu_basis",
        "defence_share_world",
        "energy_transition_share",
        "magnets_share",
        "aerospace_defence_share",
        "end_use_proxy",
        "published_defence_share_upper",
        "published_share_scope",
        "kind",
        "rests_on_assumption",
    ]
    t = t[cols]
    prov = kb.provenance(
        "defence.energy_competition",
        None,
        materials=mats,
        years=years,
        which=(demand or DemandSource()).which,
    )
    prov.sources = sorted(
        set(d.attrs.get("critmat", {}).get("sources", []))
        | {"eu_crm_2023_use", "wmd_bmf", "baci_hs92_v202401b"}
    )
    prov.user_data = d.attrs.get("critmat", {}).get("user_data", [])
    prov.units = column_units("defence.energy_competition", t.columns)
    prov.notes = [
        "tonnages use each source's measured basis (see *_basis); REO or Li2O tonnages are "
        "not element content",
        "energy transition: batteries (not lead-acid/alkaline), energy storage, fuel cells, "
        "electrolysers, photovoltaics; magnets reported separately (shared with defence)",
        "published_defence_share_upper: published upper bounds for the US (CRS 2013: DoD < 5 % "
        "of US rare-earth consumption; USGS: antimonial lead and ammunition 40 % of US Sb use)",
    ]
    return attach(t, prov)


def allocate_shortfall(
    demand: pd.DataFrame, available: pd.Series, *, rule: str | Sequence[str] = "defence_first"
) -> pd.DataFrame:
    """Serve sectors in priority order from the available supply (pure, vectorised).

    Parameters
    ----------
    demand
        ``material, sector, demand`` (any consistent unit: t, or shares of total demand).
    available
        Supply available per material (same unit).
    rule
        ``defence_first``, ``energy_first``, ``pro_rata`` or a sequence of sectors.

    Returns
    -------
    pandas.DataFrame
        ``material, sector, priority, demand, served, unserved, served_share``.

    Examples
    --------
    >>> import pandas as pd
    >>> dem = pd.DataFrame({"material": ["x"] * 3, "sector": ["defence", "energy_transition",
    ...                     "other"], "demand": [0.1, 0.3, 0.6]})
    >>> allocate_shortfall(dem, pd.Series({"x": 0.5}))["served"].round(2).tolist()
    [0.1, 0.3, 0.1]
    """
    if isinstance(rule, str):
        if rule not in RULES:
            raise ParameterError(
                f"rule must be one of {', '.join(RULES)} or a sector order, got '{rule}'"
            )
        order = RULES[rule]
    else:
        order = tuple(rule)
        bad = [s for s in order if s not in set(demand["sector"])]
        if bad:
            raise ParameterError(
                f"unknown sector(s) {bad} in rule; sectors: "
                f"{', '.join(sorted(set(demand['sector'])))}"
            )
    d = demand.assign(demand=demand["demand"].astype("float64").clip(lower=0.0))
    avail = d["material"].map(available).astype("float64").fillna(0.0).clip(lower=0.0)
    if not order:
        total = d.groupby("material")["demand"].transform("sum")
        frac = np.minimum(
            1.0, np.divide(avail, total, out=np.ones(len(d)), where=total.to_numpy() > 0)
        )
        d["priority"] = 1
        d["served"] = d["demand"] * frac
    else:
        rank = {s: i + 1 for i, s in enumerate(order)}
        d["priority"] = d["sector"].map(rank).fillna(len(order) + 1).astype(int)
        d = d.sort_values(["material", "priority"], kind="stable")
        before = d.groupby("material")["demand"].cumsum() - d["demand"]
        d["served"] = np.clip(avail.reindex(d.index) - before, 0.0, d["demand"])
    d["unserved"] = d["demand"] - d["served"]
    d["served_share"] = np.divide(
        d["served"], d["demand"], out=np.ones(len(d)), where=d["demand"].to_numpy() > 0
    )
    return d[
        ["material", "sector", "priority", "demand", "served", "unserved", "served_share"]
    ].sort_values(["material", "priority"], ignore_index=True)


def shortfall_allocation(
    kb: KnowledgeBase,
    *,
    shortfall: float | Mapping[str, float] = 0.2,
    rule: str | Sequence[str] = "defence_first",
    defence_share: Mapping[str, float] | None = None,
    include_magnets: bool = False,
    materials: Selection = None,
    eu_demand_t: Mapping[str, float] | None = None,
    world_demand_t: Mapping[str, float] | None = None,
    years: Any = "2018-2022",
    proxies: Mapping[str, str] | None = None,
    demand: DemandSource | None = None,
) -> pd.DataFrame:
    """Who is served first when EU supply of a shared material falls short.

    Demand is split into defence (``defence_share_eu`` of :func:`energy_competition`, or
    ``defence_share``), energy transition (the EU 2023 energy-transition share, plus the
    magnet share with ``include_magnets``) and other uses; all in shares of EU demand.

    Parameters
    ----------
    kb
        Knowledge base.
    shortfall
        Share of EU supply lost (one number or per material).
    rule
        Priority rule (see :func:`allocate_shortfall`).
    defence_share
        Defence share of EU demand per material (user input; overrides the computed one).
    include_magnets
        Count permanent magnets as energy transition.
    materials, eu_demand_t, world_demand_t, years, proxies, demand
        Passed to :func:`energy_competition`.

    Returns
    -------
    pandas.DataFrame
        ``material, sector, priority, demand, served, unserved, served_share, rule``
        (``demand`` in shares of EU demand); materials without a defence share are left out
        (listed in ``attrs``).
    """
    comp = energy_competition(
        kb,
        materials=materials,
        eu_demand_t=eu_demand_t,
        world_demand_t=world_demand_t,
        years=years,
        proxies=proxies,
        demand=demand,
    )
    ds = comp.set_index("material")["defence_share_eu"]
    given = _resolve_map(kb, defence_share, "defence_share")
    if (given > 1).any():
        raise ParameterError("defence_share values are fractions between 0 and 1")
    ds = given.reindex(ds.index).combine_first(ds.astype("float64")).astype("float64")
    et = comp.set_index("material")["energy_transition_share"].fillna(0.0)
    if include_magnets:
        et = et + comp.set_index("material")["magnets_share"].fillna(0.0)
    known = ds.dropna().index
    dshare = ds.reindex(known).clip(upper=1.0)
    eshare = np.minimum(et.reindex(known), 1.0 - dshare)
    other = (1.0 - dshare - eshare).clip(lower=0.0)
    demand = pd.concat(
        [
            pd.DataFrame({"material": known, "sector": s, "demand": v.to_numpy()})
            for s, v in (("defence", dshare), ("energy_transition", eshare), ("other", other))
        ],
        ignore_index=True,
    )
    if isinstance(shortfall, Mapping):
        lost = _resolve_map(kb, shortfall, "shortfall").reindex(known).fillna(0.0)
    else:
        lost = pd.Series(float(shortfall), index=known)
    if ((lost < 0) | (lost > 1)).any():
        raise ParameterError("shortfall values are shares of supply between 0 and 1")
    out = allocate_shortfall(demand, 1.0 - lost, rule=rule)
    out["rule"] = rule if isinstance(rule, str) else ">".join(rule)
    prov = kb.provenance(
        "defence.shortfall_allocation",
        None,
        shortfall=shortfall,
        rule=rule,
        include_magnets=include_magnets,
    )
    prov.sources = comp.attrs.get("critmat", {}).get("sources", [])
    prov.units = column_units("defence.shortfall_allocation", out.columns)
    missing = sorted(set(comp["material"]) - set(known))
    prov.notes = (
        ["no defence share (no EU demand and no defence_share=) for: " + ", ".join(missing)]
        if missing
        else []
    )
    return attach(out, prov)
