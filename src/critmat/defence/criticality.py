"""Defence criticality: defence importance x supply risk, and the NATO/EU list comparison.

**Defence importance** (critmat's own indicator, METHODS.md §6.4 family; not a published
method) of material m, on a 0-10 scale like the EU economic importance::

    DI[m] = 10 * s[m] * n[m] / (n[m] + k)

* breadth n: from the cited uses (``basis="uses"``), the number of system classes (military
  aircraft, guided missiles, submarines, radar, ...) with a cited use of m, a group material
  (``rare_earths``) counting its members' uses; from your BOMs (``basis="bom"``), the
  priority-weighted number of systems whose BOM contains m. ``k`` (``half_breadth``, default
  2) is the breadth at which importance reaches half of its maximum: one class without a
  substitute gives 3.3, two give 5, twelve give 8.6. The saturating form keeps a material
  used in one irreplaceable application important, and does not let the best-documented
  material (rare earths) set the scale for all others.
* non-substitutability s in (0, 1]: what the defence sources say about substitutes in the
  use (none 1.0, limited 0.9, possible 0.7, after the EU 2017 scale; the least substitutable
  use counts); where no source says, the EU 2023 SI_EI of the material, else 1.0.

A material is critical for defence when DI >= 2.8 (the EU EI threshold on the same 0-10
scale) and its supply risk is at or above the threshold of the chosen axis (EU SR >= 1,
HHI >= 0.25, China share at processing >= 0.65), on :func:`critmat.methods.criticality.
criticality_matrix`. The ranking score is (DI / 2.8) x (risk / threshold).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.columns import units as column_units
from critmat.defence.bom import DemandSource, demand_source
from critmat.defence.common import SUBSTITUTABILITY_SCORES, proxy_map
from critmat.dims import GROUP_MATERIALS
from critmat.methods.criticality import criticality_matrix
from critmat.params import GroupBy, ParameterError, Selection
from critmat.provenance import attach
from critmat.vocab import CriticalityCategory as Category
from critmat.vocab import DefenceDemandStatus

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "BASES",
    "DI_THRESHOLD",
    "RISK_AXES",
    "compare_lists",
    "defence_criticality",
    "importance",
    "importance_from_uses",
]

#: Where breadth comes from: cited uses, your BOMs, or ``auto`` (BOMs when you have some).
BASES = ("auto", "uses", "bom")

#: Defence importance threshold (the EU economic-importance threshold, same 0-10 scale).
DI_THRESHOLD = 2.8

#: Supply-risk axes: column and default threshold (None: give one).
RISK_AXES: dict[str, tuple[str, float | None]] = {
    "eu_sr": ("eu_sr", 1.0),  # EU SR computed by critmat (2023 inputs)
    "published_sr": ("published_sr", 1.0),  # EU SR as published in the 2023 study
    "hhi": ("hhi", 0.25),  # HHI of global supply at the bottleneck stage
    "china_processing": ("china_processing", 0.65),  # CRMA 65 % single-country benchmark
    "geopolrisk": ("geopolrisk", None),  # GeoPolRisk score (no published threshold)
}

_SEVERITY = {"none": 3, "limited": 2, "possible": 1, "unknown": 0}
_SEVERITY_NAME = {v: k for k, v in _SEVERITY.items()}


def _group_membership(materials: pd.DataFrame) -> pd.DataFrame:
    """``(member, group)`` pairs: every material and the group materials containing it."""
    parent = materials[["material", "group"]].assign(parent=materials["group"].map(GROUP_MATERIALS))
    lvl1 = parent.dropna(subset=["parent"])[["material", "parent"]]
    lvl2 = lvl1.merge(lvl1.rename(columns={"material": "parent", "parent": "grand"}), on="parent")[
        ["material", "grand"]
    ].rename(columns={"grand": "parent"})
    pairs = pd.concat([lvl1, lvl2], ignore_index=True)
    pairs = pairs[pairs["material"] != pairs["parent"]]
    return pairs.rename(columns={"material": "member", "parent": "group"}).drop_duplicates()


def importance_from_uses(
    uses: pd.DataFrame,
    membership: pd.DataFrame,
    si_ei: pd.Series | None = None,
    scores: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Breadth and substitutability of each material from cited uses (pure, vectorised).

    Parameters
    ----------
    uses
        ``defence_uses`` rows (``material, system_class, system, substitutability,
        source_id, secondary_source``).
    membership
        ``member, group`` pairs; a group material also counts its members' uses.
    si_ei
        EU SI_EI by material, used where no source speaks of substitutes.
    scores
        Non-substitutability score per statement (default
        :data:`critmat.defence.common.SUBSTITUTABILITY_SCORES`).

    Returns
    -------
    pandas.DataFrame
        ``material, n_uses, n_sources, n_secondary, n_system_classes, system_classes,
        n_named_systems, named_systems, substitutability, substitutability_score,
        substitutability_basis``.
    """
    sc = {**SUBSTITUTABILITY_SCORES, **(scores or {})}
    u = uses[uses["system_class"] != "all defence uses"]
    lifted = u.merge(membership, left_on="material", right_on="member")
    lifted = lifted.drop(columns=["material", "member"]).rename(columns={"group": "material"})
    allu = pd.concat([u, lifted], ignore_index=True).assign(
        sev=lambda f: f["substitutability"].map(_SEVERITY).fillna(0).astype(int)
    )
    g = allu.groupby("material")
    out = g.agg(
        n_uses=("use_id", "nunique"),
        n_system_classes=("system_class", "nunique"),
        n_named_systems=("system", "nunique"),
        sev=("sev", "max"),
        n_secondary=("secondary_source", "sum"),
    ).reset_index()
    names = (
        allu.dropna(subset=["system"])
        .drop_duplicates(["material", "system"])
        .sort_values("system")
        .groupby("material")["system"]
        .agg("; ".join)
    )
    classes = (
        allu.drop_duplicates(["material", "system_class"])
        .sort_values("system_class")
        .groupby("material")["system_class"]
        .agg("; ".join)
    )
    srcs = (
        allu.assign(sid=allu["source_id"].str.split(";"))
        .explode("sid")
        .groupby("material")["sid"]
        .nunique()
    )
    out["system_classes"] = out["material"].map(classes)
    out["named_systems"] = out["material"].map(names)
    out["n_sources"] = out["material"].map(srcs).astype(int)
    out["n_secondary"] = out["n_secondary"].astype(int)
    out["substitutability"] = out["sev"].map(_SEVERITY_NAME)
    stated = out["substitutability"].map(sc).astype("float64")
    eu = (
        out["material"].astype(object).map(si_ei).astype("float64")
        if si_ei is not None
        else pd.Series(np.nan, index=out.index)
    )
    out["substitutability_score"] = stated.where(stated.notna(), eu).fillna(1.0)
    out["substitutability_basis"] = np.select(
        [stated.notna(), eu.notna()],
        ["defence source", "EU 2023 SI_EI"],
        default="no information (1.0)",
    )
    return out.drop(columns="sev")


def importance(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    basis: str = "auto",
    demand: DemandSource | None = None,
    scores: Mapping[str, float] | None = None,
    half_breadth: float = 2.0,
    proxies: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Defence importance of each material with a cited defence use (or in your BOMs).

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Materials to keep.
    basis
        ``uses`` (breadth from the cited uses), ``bom`` (from your BOMs and build-rate
        priorities) or ``auto`` (``bom`` when a BOM is given or imported, else ``uses``).
    demand
        BOMs and build rates for ``basis="bom"``
        (:class:`~critmat.defence.bom.DemandSource`; default your ``bom``/``build_rates``
        tables, never the reference data unless ``which`` says so).
    scores
        Override the non-substitutability scores (``{"limited": 0.8, ...}``).
    half_breadth
        Breadth at which importance reaches half its maximum (``k``, default 2).
    proxies
        Proxy materials for the EU SI_EI fallback.

    Returns
    -------
    pandas.DataFrame
        ``material, name, defence_importance, basis, breadth, n_system_classes,
        system_classes, n_named_systems, named_systems, n_bom_systems, n_uses, n_sources,
        n_secondary, substitutability, substitutability_score, substitutability_basis,
        nato_2024, crma_strategic, crma_critical``, sorted by importance.

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> di = importance(kb)
    >>> top = di.iloc[0]
    >>> top["material"], round(float(top["defence_importance"]), 2)
    ('rare_earths', 7.71)
    """
    if basis not in BASES:
        raise ParameterError(f"basis must be one of {', '.join(BASES)}, got '{basis}'")
    src = demand_source(demand)
    if basis == "auto":
        basis = "bom" if (src.bom is not None or len(kb.table("bom"))) else "uses"
    mats = kb.materials()
    params = kb.table("eu_crm_2023_parameters").set_index("material")["si_ei"].astype("float64")
    ids = mats["material"].astype(object)
    own_si = ids.map(params).astype("float64")
    si = own_si.where(own_si.notna(), proxy_map(ids, proxies).map(params).astype("float64"))
    si.index = pd.Index(ids)
    u = kb.table("defence_uses")
    out = importance_from_uses(u, _group_membership(mats), si, scores)
    out["n_bom_systems"] = 0
    if basis == "bom":
        from critmat.defence.demand import defence_demand

        which = src.which if src.which != "auto" else ("user" if src.bom is None else "auto")
        d = defence_demand(kb, demand=src.model_copy(update={"which": which}))
        d = d[(d["status"] == DefenceDemandStatus.OK) & (d["kg_per_unit"] > 0)]
        per = (
            d.drop_duplicates(["programme", "system", "material"])
            .groupby("material")
            .agg(weight=("priority", "sum"), n_bom_systems=("system", "nunique"))
        )
        per["breadth"] = per["weight"]
        out = out.drop(columns="n_bom_systems").merge(
            per[["breadth", "n_bom_systems"]].reset_index(), on="material", how="outer"
        )
        for col in ("n_uses", "n_sources", "n_secondary", "n_system_classes", "n_named_systems"):
            out[col] = out[col].fillna(0).astype(int)
        miss = out["substitutability_score"].isna()
        out.loc[miss, "substitutability"] = "unknown"
        out.loc[miss, "substitutability_score"] = (
            out.loc[miss, "material"].map(si).fillna(1.0).astype("float64")
        )
        out.loc[miss, "substitutability_basis"] = np.where(
            out.loc[miss, "material"].map(si).notna(), "EU 2023 SI_EI", "no information (1.0)"
        )
        out["n_bom_systems"] = out["n_bom_systems"].fillna(0).astype(int)
        out["breadth"] = out["breadth"].fillna(0.0)
    else:
        out["breadth"] = out["n_system_classes"].astype("float64")
    if not half_breadth > 0:
        raise ParameterError(f"half_breadth must be > 0, got {half_breadth}")
    out["defence_importance"] = (
        10.0
        * out["substitutability_score"]
        * out["breadth"]
        / (out["breadth"] + float(half_breadth))
    )
    out["basis"] = basis
    out = out.merge(
        mats[["material", "name", "nato_2024", "crma_strategic", "crma_critical"]],
        on="material",
        how="left",
    )
    wanted = kb.select.materials(materials)
    if wanted is not None:
        out = out[out["material"].isin(wanted)]
    cols = [
        "material",
        "name",
        "defence_importance",
        "basis",
        "breadth",
        "n_system_classes",
        "system_classes",
        "n_named_systems",
        "named_systems",
        "n_bom_systems",
        "n_uses",
        "n_sources",
        "n_secondary",
        "substitutability",
        "substitutability_score",
        "substitutability_basis",
        "nato_2024",
        "crma_strategic",
        "crma_critical",
    ]
    out = out[cols].sort_values(
        ["defence_importance", "material"], ascending=[False, True], ignore_index=True
    )
    prov = kb.provenance(
        "defence.importance",
        u,
        materials=materials,
        basis=basis,
        scores=dict(scores) if scores else None,
        half_breadth=half_breadth,
    )
    prov.sources = sorted(set(prov.sources) | {"eu_crm_2023_params", "nato_2024", "crma_2024"})
    prov.units = column_units("defence.importance", out.columns)
    prov.notes = [
        "DI = 10 x non-substitutability x n / (n + half_breadth): critmat's own "
        "indicator (not a published method), see critmat.defence.criticality",
        f"non-substitutability scores: {SUBSTITUTABILITY_SCORES | dict(scores or {})}",
    ]
    return attach(out, prov)


def _supply_risk(
    kb: KnowledgeBase,
    mats: list[str],
    proxies: Mapping[str, str] | None,
    importers: Selection,
    year: int,
    groupby: GroupBy,
) -> pd.DataFrame:
    """EU SR (computed, published), HHI and China shares, GeoPolRisk per material or proxy."""
    src = proxy_map(pd.Series(mats, dtype=object), proxies)
    frame = pd.DataFrame({"material": mats, "src": src.to_numpy()})
    eu = kb.indicators.eu_supply_risk()
    eu = eu[["material", "sr", "published_sr", "stage_used", "ei", "critical"]].rename(
        columns={"sr": "eu_sr", "ei": "eu_ei", "critical": "eu_critical"}
    )
    conc = kb.indicators.concentration(source="eu_crm_2023")
    china = conc.pivot_table(
        index="material", columns="stage", values="china_share", aggfunc="first"
    ).add_prefix("china_")
    hhi = conc[["material", "stage", "hhi"]]
    gpr_mats = sorted(set(frame["material"]) | set(frame["src"]))
    gpr = kb.indicators.geopolrisk(
        materials=gpr_mats, importers=importers, years=year, groupby=groupby
    )
    g = gpr.set_index("material")["score"]

    def pick(values: pd.DataFrame, key: str = "material") -> pd.DataFrame:
        own = frame[["material"]].merge(values, left_on="material", right_on=key, how="left")
        via = frame[["material", "src"]].merge(values, left_on="src", right_on=key, how="left")
        cols = [c for c in values.columns if c != key]
        res = own[["material"]].copy()
        for c in cols:
            res[c] = own[c].where(own[c].notna(), via[c]).to_numpy()
        res["_own"] = own[cols].notna().any(axis=1).to_numpy()
        return res

    e = pick(eu)
    out = frame.merge(e.drop(columns="_own"), on="material", how="left")
    out["proxy"] = np.where(
        ~e["_own"].to_numpy() & (frame["src"] != frame["material"]), frame["src"], None
    )
    ch = pick(china.reset_index())
    out = out.merge(ch.drop(columns="_own"), on="material", how="left")
    hb = out[["material", "stage_used"]].merge(
        hhi.rename(columns={"material": "src_m"}),
        left_on="stage_used",
        right_on="stage",
        how="left",
    )
    hb = hb[
        (hb["src_m"] == hb["material"])
        | (
            hb["src_m"]
            == hb["material"].map(dict(zip(frame["material"], frame["src"], strict=True)))
        )
    ]
    hb = hb.sort_values("src_m").drop_duplicates("material")
    out["hhi"] = out["material"].map(hb.set_index("material")["hhi"])
    g = g.astype("float64")
    own_g = out["material"].map(g).astype("float64")
    out["geopolrisk"] = own_g.where(own_g.notna(), out["src"].map(g).astype("float64"))
    for c in ("china_extraction", "china_processing"):
        if c not in out.columns:
            out[c] = np.nan
    return out.drop(columns="src")


def defence_criticality(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    supply_risk: str = "eu_sr",
    scheme: str = "eu",
    thresholds: Mapping[str, float] | None = None,
    cutoffs: Mapping[str, Any] | None = None,
    importers: Selection = "EU27",
    years: Any = None,
    groupby: GroupBy = None,
    proxies: Mapping[str, str] | None = None,
    basis: str = "auto",
    demand: DemandSource | None = None,
    scores: Mapping[str, float] | None = None,
    half_breadth: float = 2.0,
) -> pd.DataFrame:
    """Rank materials by defence importance x supply risk and place them on the matrix.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Materials to keep (default: every material with a cited defence use or in your BOM).
    supply_risk
        Axis of the matrix: ``eu_sr`` (default), ``published_sr``, ``hhi``,
        ``china_processing`` or ``geopolrisk`` (needs ``thresholds={"supply_risk": x}``).
        All five are columns of the result whatever the axis.
    scheme
        ``eu`` (two thresholds) or ``doe`` (levels 1-4, needs ``cutoffs``).
    thresholds
        ``{"importance": 2.8, "supply_risk": <axis default>}`` overrides.
    cutoffs
        DOE-style cut-offs (see :mod:`critmat.methods.criticality`).
    importers, years
        The one importer unit and the one year of the GeoPolRisk column (default EU27, the
        latest year with trade).
    groupby
        User-defined country groups, usable in ``importers``.
    proxies
        Proxy materials for supply data (default ``{"rare_earths": "neodymium"}``).
    basis, demand, scores, half_breadth
        Passed to :func:`importance`.

    Returns
    -------
    pandas.DataFrame
        ``rank, material, name, defence_importance, supply_risk_score, category,
        rank_score, eu_sr, published_sr, hhi, china_processing, china_extraction,
        geopolrisk, stage_used, proxy, system_classes, substitutability, nato_2024,
        crma_strategic, crma_critical, ...`` sorted by category then rank score.
    """
    if supply_risk not in RISK_AXES:
        raise ParameterError(
            f"unknown supply-risk axis '{supply_risk}'; expected one of {', '.join(RISK_AXES)}"
        )
    col, default_th = RISK_AXES[supply_risk]
    th = {
        "importance": DI_THRESHOLD,
        **({"supply_risk": default_th} if default_th is not None else {}),
        **(thresholds or {}),
    }
    if scheme == "eu" and "supply_risk" not in th:
        raise ParameterError(
            f"the {supply_risk} axis has no published threshold; give one "
            "with thresholds={'supply_risk': x}"
        )
    unit, _members = kb.select.one_importer(importers, groupby)
    year = kb.select.one_year(years, ["trade", "production"], indicator="defence criticality")
    imp = importance(
        kb,
        materials=materials,
        proxies=proxies,
        basis=basis,
        demand=demand,
        scores=scores,
        half_breadth=half_breadth,
    )
    imp = imp[imp["defence_importance"].notna()]
    risk = _supply_risk(kb, list(imp["material"]), proxies, unit, year, groupby)
    frame = imp.merge(risk, on="material", how="left")
    out = criticality_matrix(
        frame,
        importance="defence_importance",
        supply_risk=col,
        scheme=scheme,
        thresholds=th,
        cutoffs=cutoffs,
    )
    if scheme == "eu":
        out["rank_score"] = (
            out["importance_score"]
            / th["importance"]
            * out["supply_risk_score"]
            / th["supply_risk"]
        )
    else:
        out["rank_score"] = out["importance_level"].astype("float64") * out[
            "supply_risk_level"
        ].astype("float64")
    order = {
        Category.CRITICAL.value: 0,
        Category.NEAR_CRITICAL.value: 1,
        Category.HIGH_IMPORTANCE.value: 2,
        Category.HIGH_SUPPLY_RISK.value: 3,
        Category.NOT_CRITICAL.value: 4,
        Category.NOT_ASSESSED.value: 5,
    }
    out = (
        out.assign(_o=out["category"].map(order))
        .sort_values(
            ["_o", "rank_score", "defence_importance"],
            ascending=[True, False, False],
            na_position="last",
            ignore_index=True,
        )
        .drop(columns="_o")
    )
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    first = [
        "rank",
        "material",
        "name",
        "defence_importance",
        "supply_risk_score",
        "category",
        "rank_score",
        "eu_sr",
        "published_sr",
        "hhi",
        "china_processing",
        "china_extraction",
        "geopolrisk",
        "stage_used",
        "proxy",
        "system_classes",
        "substitutability",
        "nato_2024",
        "crma_strategic",
        "crma_critical",
    ]
    out = out[first + [c for c in out.columns if c not in first]]
    prov = kb.provenance(
        "defence.criticality",
        None,
        materials=materials,
        supply_risk=supply_risk,
        scheme=scheme,
        thresholds=th,
        cutoffs=cutoffs,
        importers=unit,
        years=year,
    )
    prov.sources = sorted(
        set(imp.attrs.get("critmat", {}).get("sources", []))
        | {
            "eu_crm_2023_gs",
            "eu_crm_2023_eus",
            "eu_crm_2023_params",
            "wgi_2023",
            "baci_hs92_v202401b",
            "wmd_bmf",
            "wgi_pv_geopolrisk",
        }
    )
    prov.units = column_units("defence.criticality", out.columns)
    prov.notes = [
        f"matrix axes: defence importance (threshold {th['importance']}) x "
        f"{supply_risk} ({th.get('supply_risk')}); scheme {scheme}",
        "proxy: material whose EU supply data stand in (critmat assumption)",
    ]
    return attach(out, prov)


def compare_lists(
    kb: KnowledgeBase,
    *,
    supply_risk: str = "eu_sr",
    thresholds: Mapping[str, float] | None = None,
    importers: Selection = "EU27",
    years: Any = None,
    groupby: GroupBy = None,
    proxies: Mapping[str, str] | None = None,
    basis: str = "auto",
    demand: DemandSource | None = None,
    scores: Mapping[str, float] | None = None,
    half_breadth: float = 2.0,
) -> pd.DataFrame:
    """Compare critmat's defence criticality with the NATO 2024 and EU CRM lists.

    The universe is every material on NATO's 2024 list or in CRMA Annex I/II or with a
    cited defence use. ``reason`` explains each disagreement from the data: no cited
    defence use, low defence importance, EU supply risk below the threshold, a group listed
    by NATO, or a material the CRMA lists as strategic regardless of the EU scores.

    Parameters
    ----------
    kb
        Knowledge base.
    supply_risk, thresholds, importers, years, groupby, proxies, basis, demand, scores,
    half_breadth
        Passed to :func:`defence_criticality` (scheme ``eu``).

    Returns
    -------
    pandas.DataFrame
        ``material, name, nato_2024, nato_listed_as, crma_strategic, crma_critical,
        eu_critical_2023, critmat_category, critmat_critical, defence_importance, eu_sr,
        eu_ei, n_uses, agree, reason``.
    """
    crit = defence_criticality(
        kb,
        supply_risk=supply_risk,
        thresholds=thresholds,
        importers=importers,
        years=years,
        groupby=groupby,
        proxies=proxies,
        basis=basis,
        demand=demand,
        scores=scores,
        half_breadth=half_breadth,
    )
    nato = kb.table("nato_2024")[["material", "listed_name"]]
    crma = kb.table("crma_2024")
    mats = kb.materials()[["material", "name", "nato_2024", "crma_strategic", "crma_critical"]]
    universe = (set(nato["material"]) | set(crma["material"]) | set(crit["material"])) - {"bauxite"}
    t = mats[mats["material"].isin(universe)].copy()
    t["nato_direct"] = t["material"].isin(set(nato["material"]))
    t["nato_listed_as"] = t["material"].map(nato.set_index("material")["listed_name"])
    eu = kb.indicators.eu_supply_risk()[["material", "sr", "ei", "critical"]].rename(
        columns={"sr": "eu_sr", "ei": "eu_ei", "critical": "eu_critical_2023"}
    )
    t = t.merge(eu, on="material", how="left")
    t = t.merge(
        crit[["material", "category", "defence_importance"]].rename(
            columns={"category": "critmat_category"}
        ),
        on="material",
        how="left",
    )
    uses = kb.table("defence_uses").groupby("material")["use_id"].nunique()
    t["n_uses"] = t["material"].map(uses).fillna(0).astype(int)
    t["critmat_category"] = t["critmat_category"].fillna(Category.NO_DEFENCE_USE.value)
    t["critmat_critical"] = t["critmat_category"].eq(Category.CRITICAL.value)
    nat = t["nato_2024"].fillna(False).astype(bool).to_numpy()
    crm = t["crma_critical"].fillna(False).astype(bool).to_numpy()
    cm = t["critmat_critical"].to_numpy(dtype=bool)
    t["agree"] = (nat == cm) & (cm == crm)
    di = t["defence_importance"].to_numpy(dtype="float64")
    sr = t["eu_sr"].to_numpy(dtype="float64")
    ei = t["eu_ei"].to_numpy(dtype="float64")
    no_use = np.isnan(di)
    th = DI_THRESHOLD
    # NATO listing through a group: a member of a listed group, or a group with listed members
    member = _group_membership(kb.materials())
    listed = nato.set_index("material")["listed_name"]
    up = (
        member[member["group"].isin(listed.index)]
        .assign(via=lambda f: f["group"].map(listed))
        .groupby("member")["via"]
        .first()
    )
    down = (
        member[member["member"].isin(listed.index)]
        .assign(via=lambda f: f["member"].map(listed))
        .groupby("group")["via"]
        .agg(lambda v: ", ".join(sorted(set(v))))
    )
    via_up = t["material"].map(up)
    via_down = t["material"].map(down)
    direct = t["nato_direct"].to_numpy()

    def num(values: np.ndarray) -> np.ndarray:
        return pd.Series(values).map(lambda v: "n/a" if np.isnan(v) else f"{v:.1f}").to_numpy()

    f_di, f_sr, f_ei = num(di), num(sr), num(ei)
    parts = [
        np.where(
            nat & no_use,
            "NATO lists it, but critmat has no cited defence use of it yet (add a source or a BOM)",
            "",
        ),
        np.where(
            nat & ~cm & ~no_use & (di < th),
            "NATO lists it; its cited defence uses are "
            "few or substitutable (DI " + f_di + " < 2.8)",
            "",
        ),
        np.where(
            nat & ~cm & ~no_use & (di >= th) & (sr < 1),
            "NATO lists it and critmat finds "
            "it important for defence (DI "
            + f_di
            + "), but its EU supply risk is low (SR "
            + f_sr
            + " < 1): NATO weighs defence capability, the EU method economy-wide "
            "supply",
            "",
        ),
        np.where(
            nat & ~cm & ~no_use & np.isnan(sr),
            "NATO lists it; no EU supply risk to place it on the matrix",
            "",
        ),
        np.where(
            ~direct & via_up.notna().to_numpy(),
            "NATO lists the group (" + via_up.fillna("").astype(str).to_numpy() + ")",
            "",
        ),
        np.where(
            ~direct & via_up.isna().to_numpy() & via_down.notna().to_numpy(),
            "NATO lists a member (" + via_down.fillna("").astype(str).to_numpy() + ")",
            "",
        ),
        np.where(
            ~nat & cm,
            "critical for defence in critmat (DI "
            + f_di
            + ", SR "
            + f_sr
            + ") but not on NATO's list",
            "",
        ),
        np.where(
            crm & ~np.isnan(sr) & ((sr < 1) | (ei < 2.8)),
            "in CRMA Annex II although "
            "the EU 2023 scores miss a threshold (SR "
            + f_sr
            + ", EI "
            + f_ei
            + "): strategic materials and group entries are listed regardless",
            "",
        ),
        np.where(~crm & cm, "not in CRMA Annex II but critical for defence in critmat", ""),
        np.where(
            crm & ~cm & ~nat & no_use,
            "EU-critical for the economy; no cited defence use in critmat",
            "",
        ),
        np.where(
            crm & ~cm & ~no_use & (di < th),
            "EU-critical; critmat's defence importance is below 2.8 (DI " + f_di + ")",
            "",
        ),
    ]
    reason = np.full(len(t), "", dtype=object)
    for part in parts:
        reason = np.where((reason != "") & (part != ""), reason + "; " + part, reason + part)
    t["reason"] = np.where(
        t["agree"].to_numpy() & (reason == ""),
        "lists and critmat agree",
        np.where(reason == "", "critmat: " + t["critmat_category"].astype(str).to_numpy(), reason),
    )
    cols = [
        "material",
        "name",
        "nato_2024",
        "nato_listed_as",
        "crma_strategic",
        "crma_critical",
        "eu_critical_2023",
        "critmat_category",
        "critmat_critical",
        "defence_importance",
        "eu_sr",
        "eu_ei",
        "n_uses",
        "agree",
        "reason",
    ]
    t = t[cols].sort_values(
        ["agree", "defence_importance", "material"],
        ascending=[True, False, True],
        na_position="last",
        ignore_index=True,
    )
    prov = kb.provenance("defence.compare_lists", None)
    prov.sources = sorted(
        set(crit.attrs.get("critmat", {}).get("sources", [])) | {"nato_2024", "crma_2024"}
    )
    prov.notes = [
        "nato_2024 and crma flags include membership through a listed group "
        "(materials table); nato_listed_as is the entry as listed",
        "critmat_critical: DI >= 2.8 and EU SR >= 1 (defence_criticality defaults)",
    ]
    return attach(t, prov)
