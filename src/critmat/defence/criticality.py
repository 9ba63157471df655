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
from critmat.data.cache import memoised
from critmat.defence.bom import DemandSource, demand_source
from critmat.defence.common import COMPONENT_WEIGHTS, SUBSTITUTABILITY_SCORES, proxy_map
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
    "RANK_BY",
    "RISK_AXES",
    "compare_lists",
    "defence_criticality",
    "importance",
    "importance_from_uses",
]

#: Where breadth comes from: cited uses, your BOMs, or ``auto`` (BOMs when you have some).
BASES = ("auto", "uses", "bom")

#: Orders within a matrix category (see :func:`defence_criticality`).
RANK_BY = ("importance", "score")

#: Defence importance threshold (the EU economic-importance threshold, same 0-10 scale).
DI_THRESHOLD = 2.8

#: Supply-risk axes: column and default threshold (None: give one).
RISK_AXES: dict[str, tuple[str, float | None]] = {
    "eu_sr": ("eu_sr", 1.0),  # EU SR computed by critmat (2023 inputs)
    "published_sr": ("published_sr", 1.0),  # EU SR as published in the 2023 study
    "hhi": ("hhi", 0.25),  # HHI of global supply at the bottleneck stage
    # China's share of *global* processing, a concentration screen at 0.65; not the CRMA cap,
    # which is on EU consumption (kb.policy.single_country_test, critmat crma benchmarks)
    "china_processing": ("china_processing", 0.65),
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
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Weighted breadth of each material's cited defence uses (pure, vectorised).

    Each cited use u of material m in system class k gets the weight
    ``w_u = c(component_criticality_u) x s(substitutability_u)``; a class counts with its
    most critical use, ``W[m, k] = max_u w_u`` (a second citation of the same use adds
    nothing: this is not a count of citations), and the breadth is ``B[m] = sum_k W[m, k]``.

    Parameters
    ----------
    uses
        ``defence_uses`` rows (``use_id, material, system_class, system,
        component_criticality, criticality_basis, substitutability, source_id,
        secondary_source, defence_demand_share, defence_demand_share_scope``). Rows of the
        class ``all defence uses`` (list memberships, shares of consumption) name no system
        class and do not add breadth.
    membership
        ``member, group`` pairs; a group material also counts its members' uses.
    si_ei
        EU SI_EI by material, the non-substitutability where no source speaks of substitutes.
    scores
        Non-substitutability per statement (default
        :data:`critmat.defence.common.SUBSTITUTABILITY_SCORES`).
    weights
        Component weights (default :data:`critmat.defence.common.COMPONENT_WEIGHTS`).

    Returns
    -------
    pandas.DataFrame
        ``material, breadth, class_weights, n_uses, n_sources, n_secondary,
        n_system_classes, system_classes, n_named_systems, named_systems, n_essential,
        curation_share, substitutability, substitutability_score, substitutability_basis,
        defence_demand_share, defence_demand_share_scope``.

    Examples
    --------
    >>> u = pd.DataFrame({"use_id": ["a", "b", "c"], "material": ["x", "x", "x"],
    ...     "system_class": ["submarine", "submarine", "radar"], "system": [None] * 3,
    ...     "component_criticality": ["essential", "minor", "important"],
    ...     "criticality_basis": ["source", "curation", "curation"],
    ...     "substitutability": ["none", "none", "possible"], "source_id": ["s1", "s1", "s2"],
    ...     "secondary_source": [False, False, True]})
    >>> r = importance_from_uses(u, pd.DataFrame({"member": [], "group": []}))
    >>> round(float(r["breadth"].iloc[0]), 2), r["class_weights"].iloc[0]
    (1.42, 'submarine 1.00; radar 0.42')
    """
    sc = {**SUBSTITUTABILITY_SCORES, **(scores or {})}
    cw = {**COMPONENT_WEIGHTS, **(weights or {})}
    for name, table in (("scores", sc), ("weights", cw)):
        bad = {k: v for k, v in table.items() if not 0.0 <= float(v) <= 1.0}
        if bad:
            raise ParameterError(f"{name} must lie between 0 and 1, got {bad}")
    u = uses[uses["system_class"] != "all defence uses"]
    for col, fill in (
        ("component_criticality", "unknown"),
        ("criticality_basis", "curation"),
        ("system", None),
    ):
        if col not in u.columns:
            u = u.assign(**{col: fill})
    lifted = u.merge(membership, left_on="material", right_on="member")
    lifted = lifted.drop(columns=["material", "member"]).rename(columns={"group": "material"})
    allu = pd.concat([u, lifted], ignore_index=True)
    allu["material"] = allu["material"].astype(object)
    allu["system_class"] = allu["system_class"].astype(object)
    allu["sev"] = allu["substitutability"].astype(object).map(_SEVERITY).fillna(0).astype(int)
    stated = allu["substitutability"].astype(object).map(sc).astype("float64")
    eu = (
        allu["material"].map(si_ei).astype("float64")
        if si_ei is not None
        else pd.Series(np.nan, index=allu.index, dtype="float64")
    )
    allu["s"] = stated.where(stated.notna(), eu).fillna(1.0).to_numpy(dtype="float64")
    crit = allu["component_criticality"].astype(object).fillna("unknown")
    allu["c"] = crit.map(cw).fillna(cw["unknown"]).astype("float64")
    allu["w"] = allu["c"] * allu["s"]
    allu["essential"] = crit.eq("essential")
    allu["curated_w"] = np.where(
        allu["criticality_basis"].astype(object).eq("source"), 0.0, allu["w"]
    )
    # each step on the columns it reads: the same rows in the same order, fewer to move
    cls = (
        allu[["material", "system_class", "w", "curated_w"]]
        .sort_values(["w", "curated_w"], ascending=[False, True], kind="stable")
        .drop_duplicates(["material", "system_class"])
        .sort_values(["material", "w", "system_class"], ascending=[True, False, True])
    )
    g = allu.groupby("material")
    # the kernels of a named aggregation, one call each
    distinct = g[["use_id", "system_class", "system"]].nunique()
    distinct.columns = ["n_uses", "n_system_classes", "n_named_systems"]
    out = pd.concat(
        [
            distinct,
            g["essential"].sum().rename("n_essential"),
            g["sev"].max(),
            g["secondary_source"].sum().rename("n_secondary"),
        ],
        axis=1,
    ).reset_index()
    cg = cls.groupby("material")
    breadth = cg["w"].sum()
    curated = cg["curated_w"].sum()
    out["breadth"] = out["material"].map(breadth).astype("float64")
    out["curation_share"] = (
        out["material"].map(curated).astype("float64") / out["breadth"].where(out["breadth"] > 0)
    ).fillna(0.0)
    out["class_weights"] = out["material"].map(
        cls.assign(t=cls["system_class"] + " " + cls["w"].map("{:.2f}".format))
        .groupby("material")["t"]
        .agg("; ".join)
    )
    names = (
        allu.loc[allu["system"].notna().to_numpy(dtype=bool), ["material", "system"]]
        .drop_duplicates()
        .sort_values("system")
        .groupby("material")["system"]
        .agg("; ".join)
    )
    classes = (
        allu[["material", "system_class"]]
        .drop_duplicates()
        .sort_values("system_class")
        .groupby("material")["system_class"]
        .agg("; ".join)
    )
    srcs = (
        allu[["material"]]
        .assign(sid=allu["source_id"].astype(object).str.split(";"))
        .explode("sid")
        .groupby("material")["sid"]
        .nunique()
    )
    out["system_classes"] = out["material"].map(classes)
    out["named_systems"] = out["material"].map(names)
    out["n_sources"] = out["material"].map(srcs).fillna(0).astype(int)
    out["n_secondary"] = out["n_secondary"].astype(int)
    out["n_essential"] = out["n_essential"].astype(int)
    out["substitutability"] = out["sev"].map(_SEVERITY_NAME)
    least = out["substitutability"].map(sc).astype("float64")
    own_eu = (
        out["material"].map(si_ei).astype("float64")
        if si_ei is not None
        else pd.Series(np.nan, index=out.index, dtype="float64")
    )
    out["substitutability_score"] = least.where(least.notna(), own_eu).fillna(1.0)
    out["substitutability_basis"] = np.select(
        [least.notna(), own_eu.notna()],
        ["defence source", "EU 2023 SI_EI"],
        default="no information (1.0)",
    )
    # the defence share of demand, where a source gives one (shown; not a weight of DI)
    shares = (
        uses.loc[
            uses["defence_demand_share"].notna().to_numpy(dtype=bool),
            ["material", "defence_demand_share", "defence_demand_share_scope"],
        ]
        if "defence_demand_share" in uses
        else None
    )
    if shares is not None and len(shares):
        first = shares.drop_duplicates("material").set_index("material")
        out["defence_demand_share"] = out["material"].map(
            first["defence_demand_share"].astype("float64")
        )
        out["defence_demand_share_scope"] = out["material"].map(
            first["defence_demand_share_scope"].astype(object)
        )
    else:
        out["defence_demand_share"] = np.nan
        out["defence_demand_share_scope"] = None
    return out.drop(columns="sev")


def importance(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    basis: str = "auto",
    demand: DemandSource | None = None,
    scores: Mapping[str, float] | None = None,
    weights: Mapping[str, float] | None = None,
    half_breadth: float = 2.0,
    proxies: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Defence importance of each material with a cited defence use (or in your BOMs).

    ``DI[m] = 10 x B[m] / (B[m] + k)`` with the weighted breadth ``B[m] = sum over system
    classes k of max over the cited uses of m in k of c(component) x s(substitutability)``
    (:func:`importance_from_uses`; docs/defence.md, "Defence importance").

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Materials to keep.
    basis
        ``uses`` (breadth from the cited uses), ``bom`` (from your BOMs and build-rate
        priorities, scaled by the least substitutable cited use) or ``auto`` (= ``uses``:
        a BOM names only the materials you entered, so it is used only when asked for).
    demand
        BOMs and build rates for ``basis="bom"``
        (:class:`~critmat.defence.bom.DemandSource`; default your ``bom``/``build_rates``
        tables, never the reference data unless ``which`` says so).
    scores
        Override the non-substitutability scores (``{"limited": 0.8, ...}``).
    weights
        Override the component weights (``{"important": 0.5, ...}``).
    half_breadth
        Breadth at which importance reaches half its maximum (``k``, default 2).
    proxies
        Proxy materials for the EU SI_EI fallback.

    Returns
    -------
    pandas.DataFrame
        ``material, name, defence_importance, basis, breadth, class_weights,
        n_system_classes, system_classes, n_named_systems, named_systems, n_bom_systems,
        n_uses, n_essential, n_sources, n_secondary, curation_share, substitutability,
        substitutability_score, substitutability_basis, defence_demand_share,
        defence_demand_share_scope, is_aggregate, nato_2024, crma_strategic,
        crma_critical``, sorted by importance.

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> di = importance(kb).set_index("material")
    >>> round(float(di.loc["manganese", "defence_importance"]), 2)
    4.87
    >>> di.loc["manganese", "class_weights"]
    'armoured vehicle 1.00; submarine 0.90'
    """
    if basis not in BASES:
        raise ParameterError(f"basis must be one of {', '.join(BASES)}, got '{basis}'")
    if not half_breadth > 0:
        raise ParameterError(f"half_breadth must be > 0, got {half_breadth}")
    src = demand_source(demand)
    if basis == "auto":
        # the cited uses cover every material; a BOM covers only the materials entered
        # (a rare-earth-only BOM would give every other material importance 0): ``bom``
        # only when asked for
        basis = "uses"
    mats = kb.materials()
    params = kb.table("eu_crm_2023_parameters").set_index("material")["si_ei"].astype("float64")
    ids = mats["material"].astype(object)
    own_si = ids.map(params).astype("float64")
    si = own_si.where(own_si.notna(), proxy_map(ids, proxies).map(params).astype("float64"))
    si.index = pd.Index(ids)
    u = kb.table("defence_uses")
    membership = _group_membership(mats)
    out = importance_from_uses(u, membership, si, scores, weights)
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
        bom_b = pd.DataFrame(
            {
                "material": per.index.astype(object),
                "bom_breadth": per["weight"].to_numpy(dtype="float64"),
                "n_bom": per["n_bom_systems"].to_numpy(dtype="int64"),
            }
        )
        out = out.drop(columns="n_bom_systems").merge(bom_b, on="material", how="outer")
        for col in (
            "n_uses",
            "n_sources",
            "n_secondary",
            "n_system_classes",
            "n_named_systems",
            "n_essential",
        ):
            out[col] = out[col].fillna(0).astype(int)
        miss = out["substitutability_score"].isna().to_numpy()
        fallback = out["material"].map(si).astype("float64")
        out["substitutability"] = out["substitutability"].astype(object).where(~miss, "unknown")
        out["substitutability_score"] = (
            out["substitutability_score"].astype("float64").where(~miss, fallback.fillna(1.0))
        )
        out["substitutability_basis"] = np.where(
            miss,
            np.where(fallback.notna(), "EU 2023 SI_EI", "no information (1.0)"),
            out["substitutability_basis"].astype(object),
        )
        out["curation_share"] = out["curation_share"].astype("float64").fillna(0.0)
        out["n_bom_systems"] = out["n_bom"].fillna(0).astype(int)
        # your BOM gives the systems; the least substitutable cited use scales them
        out["breadth"] = out["bom_breadth"].fillna(0.0) * out["substitutability_score"]
        out = out.drop(columns=["bom_breadth", "n_bom"])
    out["breadth"] = out["breadth"].astype("float64").fillna(0.0)
    out["defence_importance"] = 10.0 * out["breadth"] / (out["breadth"] + float(half_breadth))
    out["basis"] = basis
    out = out.merge(
        mats[["material", "name", "nato_2024", "crma_strategic", "crma_critical"]],
        on="material",
        how="left",
    )
    # a group with no cited use of its own (lree, hree, pgm) aggregates its members' uses:
    # shown, but not ranked next to its members (that would count the members twice)
    own = set(u.loc[u["system_class"] != "all defence uses", "material"].astype(object))
    groups = set(membership["group"].astype(object))
    out["is_aggregate"] = out["material"].isin(groups - own).to_numpy(dtype=bool)
    wanted = kb.select.materials(materials)
    if wanted is not None:
        out = out[out["material"].isin(wanted)]
    cols = [
        "material",
        "name",
        "defence_importance",
        "basis",
        "breadth",
        "class_weights",
        "n_system_classes",
        "system_classes",
        "n_named_systems",
        "named_systems",
        "n_bom_systems",
        "n_uses",
        "n_essential",
        "n_sources",
        "n_secondary",
        "curation_share",
        "substitutability",
        "substitutability_score",
        "substitutability_basis",
        "defence_demand_share",
        "defence_demand_share_scope",
        "is_aggregate",
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
        weights=dict(weights) if weights else None,
        half_breadth=half_breadth,
    )
    prov.sources = sorted(set(prov.sources) | {"eu_crm_2023_params", "nato_2024", "crma_2024"})
    prov.units = column_units("defence.importance", out.columns)
    prov.notes = [
        "DI = 10 x B / (B + half_breadth), B = sum over system classes of the most critical "
        "use's component weight x non-substitutability: critmat's own indicator (not a "
        "published method), docs/defence.md",
        f"component weights (assumption): {COMPONENT_WEIGHTS | dict(weights or {})}",
        f"non-substitutability scores: {SUBSTITUTABILITY_SCORES | dict(scores or {})}; "
        "unknown: EU 2023 SI_EI of the material (or its proxy), else 1.0",
        "curation_share: part of B resting on critmat's component judgement "
        "(criticality_basis = curation) rather than the source's words",
        "defence_demand_share: shown where a source gives it; not a weight of DI "
        "(it measures the defence market's size, not what a system needs)",
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


def _resolved(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    """The importer unit and year spelled out: the same criticality under either spelling."""
    unit, _members = kb.select.one_importer(args["importers"], args["groupby"])
    year = kb.select.one_year(
        args["years"], ["trade", "production"], indicator="defence criticality"
    )
    return {**args, "importers": unit, "years": year}


@memoised("defence.criticality", normalise=_resolved)  # once per kb and arguments
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
    weights: Mapping[str, float] | None = None,
    half_breadth: float = 2.0,
    rank_by: str = "score",
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
    basis, demand, scores, weights, half_breadth
        Passed to :func:`importance`.
    rank_by
        Order within a matrix category: ``score`` (default: the rank score (DI / 2.8) x
        (risk / threshold), in which the open-ended EU SR scale weighs heavily) or
        ``importance`` (defence importance, then the rank score; the category already says
        that the supply risk passes its threshold). Aggregates of members that are ranked
        themselves (``is_aggregate``: lree, hree, pgm) are listed last without a rank.

    Returns
    -------
    pandas.DataFrame
        ``rank, material, name, defence_importance, supply_risk_score, category,
        rank_score, eu_sr, published_sr, hhi, china_processing, china_extraction,
        geopolrisk, stage_used, proxy, system_classes, substitutability, nato_2024,
        crma_strategic, crma_critical, ...`` sorted by category then ``rank_by``.
    """
    if rank_by not in RANK_BY:
        raise ParameterError(f"rank_by must be one of {', '.join(RANK_BY)}, got '{rank_by}'")
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
        weights=weights,
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
    keys = (
        ["defence_importance", "rank_score"]
        if rank_by == "importance"
        else ["rank_score", "defence_importance"]
    )
    agg = out["is_aggregate"].fillna(False).astype(bool)
    out = (
        out.assign(_a=agg.to_numpy(dtype=int), _o=out["category"].map(order))
        .sort_values(
            ["_a", "_o", *keys, "material"],
            ascending=[True, True, False, False, True],
            na_position="last",
            ignore_index=True,
        )
        .drop(columns=["_a", "_o"])
    )
    n_ranked = int((~agg).sum())
    rank = np.arange(1, len(out) + 1, dtype="float64")
    rank[n_ranked:] = np.nan
    out.insert(0, "rank", pd.array(rank, dtype="Int64"))
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
        rank_by=rank_by,
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
    weights: Mapping[str, float] | None = None,
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
    weights, half_breadth
        Passed to :func:`defence_criticality` (scheme ``eu``).

    Returns
    -------
    pandas.DataFrame
        ``material, name, nato_2024, nato_listed_as, crma_strategic, crma_critical,
        eu_critical_2023, critmat_category, critmat_critical, defence_importance,
        class_weights, eu_sr, eu_ei, published_sr, published_ei, n_uses, agree, reason``.
        The CRMA reasons quote the study's **published** SR and EI (the values the
        Commission listed on) and name critmat's recomputation where it differs.

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> t = compare_lists(kb).set_index("material")
    >>> "published SR 5.6, EI 3.5" in t.loc["erbium", "reason"]
    True
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
        weights=weights,
        half_breadth=half_breadth,
    )
    nato = kb.table("nato_2024")
    if "mapping_note" not in nato.columns:
        nato = nato.assign(mapping_note=pd.NA)
    nato = nato[["material", "listed_name", "mapping_note"]]
    crma = kb.table("crma_2024")
    mats = kb.materials()[["material", "name", "nato_2024", "crma_strategic", "crma_critical"]]
    universe = (set(nato["material"]) | set(crma["material"]) | set(crit["material"])) - {"bauxite"}
    t = mats[mats["material"].isin(universe)].copy()
    t["nato_direct"] = t["material"].isin(set(nato["material"]))
    t["nato_listed_as"] = t["material"].map(nato.set_index("material")["listed_name"])
    eu = kb.indicators.eu_supply_risk()[
        ["material", "sr", "ei", "critical", "published_sr", "published_ei"]
    ].rename(columns={"sr": "eu_sr", "ei": "eu_ei", "critical": "eu_critical_2023"})
    t = t.merge(eu, on="material", how="left")
    t = t.merge(
        crit[["material", "category", "defence_importance", "class_weights"]].rename(
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

    def col(name: str) -> np.ndarray:
        return t[name].astype("float64").to_numpy()

    di, sr, ei = col("defence_importance"), col("eu_sr"), col("eu_ei")
    psr, pei = col("published_sr"), col("published_ei")
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
    mapping = t["material"].map(
        nato.dropna(subset=["mapping_note"]).set_index("material")["mapping_note"]
    )

    def num(values: np.ndarray) -> np.ndarray:
        return pd.Series(values).map(lambda v: "n/a" if np.isnan(v) else f"{v:.1f}").to_numpy()

    f_di, f_sr, f_ei, f_psr, f_pei = num(di), num(sr), num(ei), num(psr), num(pei)
    nato_it = np.where(direct, "NATO lists it", "NATO lists its group").astype(object)
    weights_txt = t["class_weights"].fillna("").astype(str).to_numpy()
    published = "published SR " + f_psr + ", EI " + f_pei
    has_pub = ~np.isnan(psr) & ~np.isnan(pei)
    pub_miss = has_pub & ((psr < 1.0) | (pei < 2.8))
    pub_pass = has_pub & (psr >= 1.0) & (pei >= 2.8)
    # critmat's recomputation misses a threshold the published score passes (or vice versa)
    sr_differs = ~np.isnan(sr) & ~np.isnan(psr) & ((sr >= 1.0) != (psr >= 1.0))
    ei_differs = ~np.isnan(ei) & ~np.isnan(pei) & ((ei >= 2.8) != (pei >= 2.8))
    recompute = np.where(
        sr_differs & ei_differs,
        "SR " + f_sr + ", EI " + f_ei,
        np.where(sr_differs, "SR " + f_sr, np.where(ei_differs, "EI " + f_ei, "")),
    )
    parts = [
        np.where(mapping.notna().to_numpy(), mapping.fillna("").astype(str).to_numpy(), ""),
        np.where(
            nat & no_use,
            nato_it
            + np.where(
                t["n_uses"].to_numpy() > 0,
                ", but critmat has no cited use of it in a system class (its rows are list "
                "memberships or shares of demand, which add no breadth)",
                ", but critmat has no cited defence use of it yet (add a source or a BOM)",
            ),
            "",
        ),
        np.where(
            nat & ~cm & ~no_use & (di < th),
            nato_it
            + "; its cited defence uses weigh little in critmat (DI "
            + f_di
            + " < 2.8; class weights: "
            + weights_txt
            + ")",
            "",
        ),
        np.where(
            nat & ~cm & ~no_use & (di >= th) & (sr < 1),
            nato_it + " and critmat finds "
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
            nato_it + "; no EU supply risk to place it on the matrix",
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
            + " from "
            + weights_txt
            + "; SR "
            + f_sr
            + ") but not on NATO's list of 12 (NATO publishes no scores behind its list)",
            "",
        ),
        np.where(
            crm & pub_miss,
            "in CRMA Annex II although the EU 2023 study's "
            + published
            + " miss a threshold: strategic materials and group entries are listed "
            "regardless",
            "",
        ),
        np.where(
            crm & pub_pass & (recompute != ""),
            "EU-critical on the EU 2023 study's "
            + published
            + "; critmat's recomputation gives "
            + recompute
            + " (see critmat eu-sr, reason column)",
            "",
        ),
        np.where(
            ~crm & cm,
            "not in CRMA Annex II (the EU list weighs economy-wide importance) but critical "
            "for defence in critmat",
            "",
        ),
        np.where(
            crm & ~cm & ~nat & no_use,
            "EU-critical for the economy; no cited defence use in critmat",
            "",
        ),
        np.where(
            crm & ~cm & ~no_use & (di < th) & ~nat,
            "EU-critical; critmat's defence importance is below 2.8 (DI "
            + f_di
            + "; class weights: "
            + weights_txt
            + ")",
            "",
        ),
        np.where(
            crm & ~cm & ~no_use & (di < th) & nat & ~(pub_pass & (recompute != "")),
            "EU-critical too ("
            + np.where(has_pub, "EU 2023 study's " + published, "CRMA Annex II")
            + "): the EU list weighs economy-wide importance, not defence uses",
            "",
        ),
        np.where(
            crm & ~cm & ~no_use & (di >= th) & (sr < 1) & ~pub_miss,
            "EU-critical; critmat's computed EU SR is below 1 (SR " + f_sr + ")",
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
        "class_weights",
        "eu_sr",
        "eu_ei",
        "published_sr",
        "published_ei",
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
        set(crit.attrs.get("critmat", {}).get("sources", []))
        | {"nato_2024", "crma_2024", "eu_crm_2023_results"}
    )
    prov.notes = [
        "nato_2024 and crma flags include membership through a listed group "
        "(materials table); nato_listed_as is the entry as listed (NATO's 'Titanium' is "
        "titanium_metal, see nato_2024.mapping_note)",
        "critmat_critical: DI >= 2.8 and EU SR >= 1 (defence_criticality defaults)",
        "CRMA reasons quote the EU 2023 study's published SR and EI; eu_sr/eu_ei are "
        "critmat's recomputation",
    ]
    return attach(t, prov)
