"""The previous (per-row / per-group) implementations of paths that were vectorised.

Kept verbatim, apart from their names, as the reference of ``test_fast_paths.py``: the
vectorised functions must give exactly the same frames (values, dtypes, order) as these.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.checks import (
    _FLAG_COLUMNS,
    SUM_LOWER_TOLERANCE,
    SUPPLY_CHECK_FLAGS,
    _mark,
    _supply_keys,
    check_eu_sourcing_copies_global,
    check_eu_sourcing_import_reliance,
    check_supply_share_sums,
)
from critmat.columns import units as column_units
from critmat.defence.bom import DEMAND_COLUMNS, DemandSource, _join_ids
from critmat.defence.common import (
    COMPONENT_WEIGHTS,
    DEFAULT_ADVERSARIES,
    KIND_RANK,
    SUBSTITUTABILITY_SCORES,
    kind_of_rank,
    proxy_map,
    worst_kind,
)
from critmat.defence.criticality import _SEVERITY, _SEVERITY_NAME
from critmat.defence.demand import defence_demand
from critmat.defence.exposure import (
    _FALLBACK,
    _PASSTHROUGH,
    BY,
    MIXES,
    _aggregate,
    _import_shares,
    _join_mixes,
    exposure_summary,
    supplier_exposure,
    supply_mix,
)
from critmat.dims import STAGES, parse_stage
from critmat.errors import ParameterError
from critmat.indicators.eu_crm import DEFAULT_WGI_VINTAGE, DEFAULT_WGI_YEARS
from critmat.methods.policy import benchmark_status, gap_tonnes
from critmat.methods.supply import (
    _EU,
    _GLOB,
    _KEYS,
    _SKIP,
    _SPLIT,
    FALLBACK_FLAGS,
    _split_weights,
)
from critmat.params import GroupBy, Selection
from critmat.policy.crma import (
    _BENCHMARKS,
    TRACKER_COLUMNS,
    _imported,
    _projects,
    _tonnes,
    _version,
    strategic_materials,
)
from critmat.policy.events import ancestors
from critmat.policy.inputs import read_consumption, read_projects
from critmat.provenance import attach
from critmat.report.builder import Figure, Section, Text
from critmat.report.charts import FONT, layout, vline, white_template
from critmat.report.format import format_value
from critmat.report.scenario import _YLABEL, _pct_columns
from critmat.scenarios import stats
from critmat.scenarios.result import (
    _FRAMES,
    _PER_SCENARIO,
    EnsembleResult,
    _alpha_label,
    _by_columns,
    _column_blocks,
    _draws_builder,
    _outcomes_builder,
    _provenance,
    _systems_outcomes_builder,
    pct_label,
)
from critmat.scenarios.spec import EnsembleSpec
from critmat.vocab import BenchmarkBasis as Basis
from critmat.vocab import CapabilitySupplyStatus, DefenceDemandStatus, SupplyMixStatus

if TYPE_CHECKING:
    from critmat.assess import Assessment
    from critmat.knowledge_base import KnowledgeBase
    from critmat.optimize.frontier import Frontier
    from critmat.scenarios.engine import ShockDraws
    from critmat.scenarios.plan import Plan

# ------------------------------------------------------------ methods.supply.supplier_mix


def add_layout_items(
    fig: Any, shapes: list[dict[str, Any]], annotations: list[dict[str, Any]]
) -> Any:
    """Append shapes and annotations to ``fig`` in one layout update.

    ``add_vline``/``add_annotation`` validate the whole layout on every call, which is
    quadratic in the number of lines; the figure is the same.
    """
    fig.update_layout(
        shapes=[*fig.layout.shapes, *shapes], annotations=[*fig.layout.annotations, *annotations]
    )
    return fig


def _split_by_ir(glob: pd.DataFrame, ir: pd.Series, eu_countries: Sequence[str]) -> pd.DataFrame:
    """The global rows of one material and stage split by import reliance ``ir``."""
    member = glob["country"].isin(set(eu_countries)).to_numpy(dtype=bool, na_value=False)
    share = glob["share"].to_numpy(dtype="float64")
    s_eu = float(share[member].sum())
    s_out = float(share[~member].sum())
    value = float(ir.iloc[0])
    out = glob.copy()
    w = np.where(member, (1 - value) * share / s_eu if s_eu > 0 else 0.0, 0.0)
    w = np.where(~member, value * share / s_out if s_out > 0 else 0.0, w)
    out["share"] = w
    for missing, part in ((s_eu <= 0, 1 - value), (s_out <= 0, value)):
        if missing and part > 0:  # no producer on that side: the part has no country
            first = glob.iloc[[0]].copy()
            first["country"] = None
            first["share"] = part
            out = pd.concat([out, first], ignore_index=True)
    return out


def supplier_mix_loop(
    shares: pd.DataFrame,
    materials: Sequence[str],
    *,
    stages: Sequence[str] = ("extraction", "processing"),
    mix: str = "eu_sourcing",
    import_reliance: pd.DataFrame | None = None,
    eu_countries: Sequence[str] = (),
) -> pd.DataFrame:
    """Supplier shares per material and stage, with the fallback of the module docstring.

    Parameters
    ----------
    shares
        Rows of the chosen vintages (``vintage, reference_years, material, stage, mix,
        country, share, check_flag``).
    materials, stages
        What is wanted; materials and stages without any rows are absent from the result.
    mix
        Preferred mix: ``eu_sourcing`` (with the fallback) or ``global``.
    import_reliance
        ``material, stage, import_reliance`` (fractions) for the split of the fallback.
    eu_countries
        ISO-3 codes of the EU member states.

    Returns
    -------
    pandas.DataFrame
        ``material, stage, country, share, mix_used (eu_sourcing, global, global_ir_split),
        mix_status, vintage, reference_years, check_flag, import_reliance, source_id``;
        ``country`` is
        empty for a residual ('Other countries') row or the unattributed EU production of
        a split.
    """
    if mix not in ("eu_sourcing", "global"):
        raise ValueError(f"mix must be eu_sourcing or global, got {mix!r}")
    columns = [
        "material",
        "stage",
        "country",
        "share",
        "mix_used",
        "mix_status",
        "vintage",
        "reference_years",
        "check_flag",
        "import_reliance",
        "source_id",
    ]
    s = shares[
        shares["material"].isin(list(materials)).to_numpy(dtype=bool, na_value=False)
        & shares["stage"].isin(list(stages)).to_numpy(dtype=bool, na_value=False)
    ].copy()
    s["share"] = pd.to_numeric(s["share"], errors="coerce").astype("float64")
    for c in ("check_flag", "source_id"):
        if c not in s.columns:
            s[c] = None
    ir_map: dict[tuple[str, str], float] = {}
    if import_reliance is not None:
        for m, st, v in zip(
            import_reliance["material"],
            import_reliance["stage"],
            pd.to_numeric(import_reliance["import_reliance"], errors="coerce"),
            strict=True,
        ):
            if pd.notna(v):
                ir_map[(str(m), str(st))] = float(v)
    parts: list[pd.DataFrame] = []
    for (m, st), g in s.groupby(["material", "stage"], sort=True):
        eu = g[g["mix"] == "eu_sourcing"]
        glob = g[g["mix"] == "global"]
        ir = ir_map.get((str(m), str(st)))
        flags = {f for v in eu["check_flag"].dropna() for f in str(v).split(";")}
        if mix == "global" or (eu.empty and not glob.empty):
            if glob.empty:
                continue
            status = SupplyMixStatus.OK if mix == "global" else SupplyMixStatus.GLOBAL_MIX_FALLBACK
            part = glob.assign(mix_used="global", mix_status=status.value)
        elif eu.empty:
            continue
        elif not flags & set(FALLBACK_FLAGS):
            part = eu.assign(mix_used="eu_sourcing", mix_status=SupplyMixStatus.OK.value)
        elif glob.empty or (ir is not None and ir <= 0):
            # flagged, nothing to fall back on (no global mix), or IR = 0 (the EU is a net
            # exporter: a gross sourcing mix cannot be split by a net import reliance, and
            # the split would give every tonne to EU producers): the flagged rows, marked
            part = eu.assign(
                mix_used="eu_sourcing",
                mix_status=SupplyMixStatus.EU_SOURCING_INCONSISTENT.value,
            )
        elif ir is None:
            part = glob.assign(
                mix_used="global",
                mix_status=SupplyMixStatus.EU_SOURCING_INCONSISTENT.value,
            )
        else:
            split = _split_by_ir(glob, pd.Series([ir]), eu_countries)
            part = split.assign(
                mix_used="global_ir_split",
                mix_status=SupplyMixStatus.EU_SOURCING_INCONSISTENT.value,
            )
            part["check_flag"] = ";".join(sorted(flags))
        part = part.assign(import_reliance=ir if ir is not None else np.nan)
        parts.append(part)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}).astype(
            {"share": "float64", "import_reliance": "float64"}
        )
    out = pd.concat(parts, ignore_index=True)
    for c in ("material", "stage", "country", "vintage", "reference_years", "check_flag"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out[columns]


# ------------------------------------------------------------ policy.crma.benchmarks


def proxy_loop(sourcing: pd.DataFrame, mats: pd.DataFrame) -> pd.DataFrame:
    """Proxy values of the four benchmarks per material (share_proxy or no_data)."""
    rows: list[dict[str, Any]] = []
    by = dict(list(sourcing.groupby("material")))
    for mat in mats["material"]:
        g = by.get(mat)
        for bench, stage in _BENCHMARKS:
            rec: dict[str, Any] = {
                "material": mat,
                "benchmark": bench,
                "value": np.nan,
                "basis": Basis.NO_DATA.value,
                "basis_detail": "",
                "third_country": pd.NA,
                "third_country_stage": pd.NA,
                "reference_years": "",
            }
            if g is None:
                rec["basis_detail"] = "no EU 2023 study sourcing rows for this material"
                rows.append(rec)
                continue
            years = f"{int(g['year_from'].min())}-{int(g['year_to'].max())}"
            if bench in ("extraction", "processing"):
                s = g[g["stage"] == stage]
                if s.empty:
                    rec["basis_detail"] = f"the 2023 study did not assess {stage} for it"
                elif pd.notna(s["eu27_share"].iloc[0]):
                    rec.update(
                        value=float(s["eu27_share"].iloc[0]),
                        basis=Basis.SHARE_PROXY.value,
                        reference_years=years,
                        basis_detail=f"EU27 share of EU sourcing at {stage} (EU 2023 study)",
                    )
                elif pd.notna(s["self_supply_proxy"].iloc[0]):
                    rec.update(
                        value=float(s["self_supply_proxy"].iloc[0]),
                        basis=Basis.SHARE_PROXY.value,
                        reference_years=years,
                        basis_detail=f"1 - import reliance at {stage} (EU 2023 "
                        "study; no EU27 sourcing share)",
                    )
                else:
                    rec["basis_detail"] = f"no EU27 share or import reliance at {stage}"
            elif bench == "recycling":
                v = g["eol_rir"].dropna()
                if not v.empty:
                    rec.update(
                        value=float(v.iloc[0]),
                        basis=Basis.SHARE_PROXY.value,
                        reference_years=years,
                        basis_detail="end-of-life recycling input rate (EoL-RIR, EU 2023 study)",
                    )
                else:
                    rec["basis_detail"] = "no EoL-RIR"
            else:
                s = g.dropna(subset=["largest_third_country_share"])
                if not s.empty:
                    top = s.sort_values("largest_third_country_share", ascending=False).iloc[0]
                    rec.update(
                        value=float(top["largest_third_country_share"]),
                        basis=Basis.SHARE_PROXY.value,
                        reference_years=years,
                        third_country=top["largest_third_country"],
                        third_country_stage=top["stage"],
                        basis_detail="largest non-EU supplier's share of EU sourcing, "
                        "maximum over the stages assessed (EU 2023 study)",
                    )
                else:
                    rec["basis_detail"] = "no non-EU supplier share listed (>= 1 %)"
            rows.append(rec)
    return pd.DataFrame(rows)


def benchmarks_loop(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    benchmark_set: str = "final",
    consumption: pd.DataFrame | str | Path | None = None,
    projects: pd.DataFrame | str | Path | None = None,
) -> pd.DataFrame:
    """:func:`critmat.policy.crma.benchmarks` before the project matrix (one loop)."""
    version, rows = _version(kb, benchmark_set)
    mats = strategic_materials(kb)
    if materials is not None:
        chosen = kb.select.materials(materials) or list(mats["material"])
        outside = sorted(set(chosen) - set(mats["material"]))
        if outside:
            raise ParameterError(
                f"not a CRMA strategic raw material: {', '.join(outside)}; Annex I lists "
                + ", ".join(mats["material"])
            )
        mats = mats[mats["material"].isin(chosen)]
    sourcing = kb.table("crma_eu_sourcing_2023")
    t = proxy_loop(sourcing, mats)
    cons = read_consumption(kb, consumption) if consumption is not None else _imported(kb)
    user_sources: list[str] = []
    if cons is not None:
        tt = _tonnes(cons[cons["material"].isin(set(mats["material"]))])
        if not tt.empty:
            t = t.set_index(["material", "benchmark"])
            tt = tt.set_index(["material", "benchmark"])
            t = t.reindex(columns=list(dict.fromkeys([*t.columns, *tt.columns])))
            t.loc[tt.index, tt.columns] = tt
            t = t.reset_index()
        user_sources.append(f"consumption: {cons.attrs.get('source', '')}")
    for col in ("eu_consumption_t", "eu_output_t"):
        if col not in t.columns:
            t[col] = np.nan
        t[col] = pd.to_numeric(t[col], errors="coerce").astype("float64")
    t = mats.merge(t, on="material", how="left")
    thr = rows.set_index("benchmark")
    have = [b for b, _ in _BENCHMARKS if b in thr.index]
    t = t[t["benchmark"].isin(have)].copy()
    t["stage"] = t["benchmark"].map(dict(_BENCHMARKS))
    t["version"] = version
    t["threshold"] = t["benchmark"].map(thr["threshold"]).astype("float64")
    t["comparison"] = t["benchmark"].map(thr["comparison"])
    t["value"] = pd.to_numeric(t["value"], errors="coerce").astype("float64")
    status = np.empty(len(t), dtype=object)
    target = np.full(len(t), np.nan)
    gap = np.full(len(t), np.nan)
    for b in have:
        m = (t["benchmark"] == b).to_numpy()
        th, cmp = float(thr.loc[b, "threshold"]), str(thr.loc[b, "comparison"])
        status[m] = benchmark_status(t.loc[m, "value"].to_numpy(), th, cmp)
        c = t.loc[m, "eu_consumption_t"].to_numpy(dtype="float64")
        target[m] = th * c
        gap[m] = gap_tonnes(c, t.loc[m, "eu_output_t"].to_numpy(dtype="float64"), th, cmp)
    t["status"] = status
    t["target_2030_t"] = target
    t["gap_2030_t"] = gap
    # projects: EU projects at the stage count against the floors; third-country projects
    # (outside the dominant supplier) against the cap
    user_p = read_projects(kb, projects) if projects is not None else None
    if user_p is not None:
        user_sources.append(f"projects: {user_p.attrs.get('source', '')}")
    p = _projects(kb, user_p)
    up = ancestors(kb)
    n_proj, n_unq, lists, t_proj, t_user = [], [], [], [], []
    for r in t.itertuples(index=False):
        keys = {r.material, *up.get(str(r.material), set())}
        sel = p[p["material"].isin(keys)]
        if r.benchmark == "single_third_country_cap":
            sel = sel[~sel["in_eu"].fillna(True).astype(bool)]
            if isinstance(r.third_country, str):
                sel = sel[sel["project_id"].str.contains(r.third_country) == False]  # noqa: E712
        else:
            sel = sel[sel["in_eu"].fillna(True).astype(bool) & (sel["stage"] == r.stage)]
        own = sel[sel["material"] == r.material]
        q = own["content_t_yr"].astype("float64")
        n_proj.append(len(sel))
        n_unq.append(int(len(sel) - q.notna().sum()))
        t_proj.append(float(q[~own["user"].astype(bool)].sum(min_count=1)))
        t_user.append(float(q[own["user"].astype(bool)].sum(min_count=1)))
        lists.append(
            "; ".join(
                f"{x.label} ({'n/q' if pd.isna(x.content_t_yr) else f'{x.content_t_yr:,.0f} t/yr'}"
                f"{', ' + str(x.status) if isinstance(x.status, str) and x.status else ''})"
                for x in sel.itertuples(index=False)
            )
        )
    t["projects_t_yr"] = t_proj
    t["n_projects"] = n_proj
    t["n_projects_not_quantified"] = n_unq
    t["projects"] = lists
    t["user_projects_t_yr"] = t_user
    added = t[["projects_t_yr", "user_projects_t_yr"]].fillna(0.0).sum(axis=1)
    t["gap_after_projects_t"] = np.maximum(0.0, t["gap_2030_t"] - added)
    t["source_id"] = np.where(
        t["basis"] == Basis.TONNES.value,
        "user",
        np.where(t["basis"] == Basis.SHARE_PROXY.value, "crma_eu_sourcing_2023_derived", ""),
    )
    order = {b: i for i, (b, _) in enumerate(_BENCHMARKS)}
    t = t.assign(_o=t["benchmark"].map(order)).sort_values(["material", "_o"])
    t = t[TRACKER_COLUMNS].reset_index(drop=True)
    t["n_projects"] = t["n_projects"].astype("int64")
    prov = kb.provenance("crma.benchmarks", None, materials=materials, benchmark_set=benchmark_set)
    prov.sources = sorted(
        {
            "crma_2024",
            "crma_benchmark_versions",
            "crma_eu_sourcing_2023_derived",
            "crma_strategic_projects_eu_2025",
            "crma_strategic_projects_non_eu_2025",
        }
    )
    prov.user_data = user_sources
    prov.notes = [
        "share_proxy values are shares of EU sourcing (EU 2023 study, 2016-2020), not the "
        "Act's tonnes over EU consumption; give --consumption FILE for the tonnes basis",
        "projects_t_yr: published capacities of CRMA Strategic Projects (company figures, "
        "content tonnes of the material), if built; n/q = capacity not quantified",
        "the cap counts the largest third country at any stage (maximum over the stages)",
    ]
    return attach(t, prov)


# ------------------------------------------------------------ methods.supply.vintage_summary


def _flags(values: pd.Series) -> str | None:
    found = sorted({f for v in values.dropna() for f in str(v).split(";") if f})
    return ";".join(found) or None


def vintage_summary_loop(shares: pd.DataFrame) -> pd.DataFrame:
    """One row per vintage, material, stage and mix, with the newest vintage marked.

    Parameters
    ----------
    shares
        Rows of ``supply_shares`` (``vintage, material, stage, mix, country, share,
        reference_years, reference_year``, optional ``check_flag``).

    Returns
    -------
    pandas.DataFrame
        ``vintage, material, stage, mix, reference_years, reference_year, share_total,
        countries, check_flags, newest``.
    """
    s = shares.assign(
        share=pd.to_numeric(shares["share"], errors="coerce").astype("float64"),
        check_flag=shares["check_flag"] if "check_flag" in shares.columns else None,
    )
    keys = ["vintage", *_KEYS]
    g = s.groupby(keys, sort=True, dropna=False)
    v = g.agg(
        reference_years=("reference_years", "first"),
        reference_year=("reference_year", "max"),
        share_total=("share", "sum"),
        countries=("country", "count"),
    ).reset_index()
    v["check_flags"] = g["check_flag"].agg(_flags).to_numpy()
    differs = v["check_flags"].fillna("").str.contains("basis_differs")
    rank = v.assign(_ok=~differs).sort_values(
        [*_KEYS, "_ok", "reference_year", "share_total"],
        ascending=[True, True, True, False, False, False],
    )
    newest = rank.drop_duplicates(_KEYS, keep="first").index
    v["newest"] = v.index.isin(newest)
    return v


# ------------------------------------------------------------ checks.flag_supply_shares


def flag_supply_shares_loop(
    shares: pd.DataFrame,
    *,
    import_reliance: pd.DataFrame | None = None,
    eu_countries: Sequence[str] | None = None,
    by: Sequence[str] | None = None,
    ir_tolerance: float = 0.10,
    copy_tolerance: float = 0.01,
    sum_tolerance: float = 0.05,
    sum_lower_tolerance: float | dict[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the supply-input checks and mark the rows they flag (never altering a value).

    The same function serves the dataset build, user imports of supply shares and the
    scenario engine, so one mix gets the same flags wherever it is used.

    Parameters
    ----------
    shares
        Supply shares (``material, stage, mix, country, share``; optional ``vintage`` and
        ``check_flag``, whose existing flags are kept).
    import_reliance, eu_countries
        For the EU-sourcing vs import-reliance check (skipped when either is ``None``).
    by
        Keys of one mix; default ``vintage`` (when present), ``material``, ``stage``.
    ir_tolerance, copy_tolerance, sum_tolerance, sum_lower_tolerance
        Tolerances of :func:`check_eu_sourcing_import_reliance`,
        :func:`check_eu_sourcing_copies_global` and :func:`check_supply_share_sums`;
        ``sum_lower_tolerance=None`` means :data:`SUM_LOWER_TOLERANCE` (the dataset build's
        setting, so a mix gets the same flags at build, on import and in a scenario).

    Returns
    -------
    tuple of pandas.DataFrame
        ``shares`` with a ``check_flag`` column (flags joined by ``;`` in the order of
        :data:`SUPPLY_CHECK_FLAGS`, missing when a row passed every check), and one row per
        flagged mix: the keys, ``mix, flag, observed, reference, tolerance, detail``.
    """
    keys = _supply_keys(shares, by)
    n = len(shares)
    masks: dict[str, np.ndarray] = {f: np.zeros(n, dtype=bool) for f in SUPPLY_CHECK_FLAGS}
    is_eu = (shares["mix"] == "eu_sourcing").to_numpy(dtype=bool, na_value=False)
    found: list[pd.DataFrame] = []
    if import_reliance is not None and eu_countries is not None:
        bad = check_eu_sourcing_import_reliance(
            shares, import_reliance, eu_countries, by=keys, tolerance=ir_tolerance
        )
        masks["eu_sourcing_inconsistent"] |= is_eu & _mark(shares, keys, bad, "ir")
        found.append(
            bad[keys].assign(
                mix="eu_sourcing",
                flag="eu_sourcing_inconsistent",
                observed=bad["non_eu_share"].astype("float64"),
                reference=bad["import_reliance"].astype("float64"),
                tolerance=ir_tolerance,
                detail=[
                    f"non-EU EU-sourcing shares {lo:.2f} (at most {hi:.2f} with unlisted "
                    f"rows) vs EU import reliance {ir:.2f}"
                    for lo, hi, ir in zip(
                        bad["non_eu_share"],
                        bad["non_eu_share_max"],
                        bad["import_reliance"],
                        strict=True,
                    )
                ],
            )
        )
    copies = check_eu_sourcing_copies_global(shares, by=keys, tolerance=copy_tolerance)
    masks["eu_sourcing_copies_global"] |= is_eu & _mark(shares, keys, copies, "copy")
    found.append(
        copies[keys].assign(
            mix="eu_sourcing",
            flag="eu_sourcing_copies_global",
            observed=copies["max_abs_difference"].astype("float64"),
            reference=0.0,
            tolerance=copy_tolerance,
            detail=[
                f"every one of {int(c)} countries within {d * 100:.1f} percentage points of "
                "its global share"
                for c, d in zip(copies["countries"], copies["max_abs_difference"], strict=True)
            ],
        )
    )
    lower = SUM_LOWER_TOLERANCE if sum_lower_tolerance is None else sum_lower_tolerance
    sums = check_supply_share_sums(shares, by=keys, tolerance=sum_tolerance, lower_tolerance=lower)
    masks["share_sum_deviates"] |= _mark(shares, [*keys, "mix"], sums, "sum")
    found.append(
        sums[[*keys, "mix"]].assign(
            flag="share_sum_deviates",
            observed=sums["total"].astype("float64"),
            reference=1.0,
            tolerance=sum_tolerance,
            detail=[
                f"{int(r)} rows sum to {t:.3f}"
                for t, r in zip(sums["total"], sums["rows"], strict=True)
            ],
        )
    )
    existing = (
        shares["check_flag"].astype(object).where(shares["check_flag"].notna(), "")
        if "check_flag" in shares.columns
        else pd.Series("", index=shares.index, dtype=object)
    )
    labels = []
    for i, old in enumerate(existing):
        have = {f for f in str(old).split(";") if f}
        have |= {f for f, m in masks.items() if m[i]}
        order = [f for f in SUPPLY_CHECK_FLAGS if f in have] + sorted(
            have - set(SUPPLY_CHECK_FLAGS)
        )
        labels.append(";".join(order) if order else None)
    out = shares.copy()
    out["check_flag"] = pd.Series(labels, index=shares.index, dtype=object)
    frames = [f for f in found if not f.empty]
    flags = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=[*keys, *_FLAG_COLUMNS])
    )
    flags = flags[[*keys, *_FLAG_COLUMNS]].sort_values([*keys, "mix", "flag"], ignore_index=True)
    return out, flags


# ------------------------------------------------------------ data.select.Selector.supply_shares


def supply_shares_merge(
    kb: KnowledgeBase,
    materials: Sequence[str] | None = None,
    *,
    stage: str | None = None,
    mix: str | None = None,
    vintage: str | None = "newest",
) -> pd.DataFrame:
    """``kb.select.supply_shares`` as it was: select the vintages, merge, then sort."""
    from critmat.dims import parse_stage
    from critmat.methods.supply import choose_vintages

    sel = kb.select
    chosen = choose_vintages(sel.supply_vintages(), sel.supply_vintage(vintage))
    keys = ["vintage", "material", "stage", "mix"]
    if materials is not None:
        chosen = chosen[chosen["material"].isin(list(materials))]
    if stage is not None:
        chosen = chosen[chosen["stage"] == parse_stage(stage).value]
    if mix is not None:
        chosen = chosen[chosen["mix"] == mix]
    rows = sel._checked_supply_shares()
    out = rows.merge(chosen[keys], on=keys, how="inner")
    return out.sort_values([*keys, "share"], ascending=[True] * 4 + [False]).reset_index(drop=True)


# ------------------------------------------------------------ scenarios.result.assemble


def assemble_by_column(
    plan: Plan,
    spec: EnsembleSpec,
    draws: ShockDraws,
    totals: Mapping[str, np.ndarray],
    monthly_stats: stats.MonthlyStats,
    meta: dict[str, Any],
    *,
    release_mean: np.ndarray | None = None,
) -> EnsembleResult:
    """:func:`critmat.scenarios.result.assemble` as it was (a column at a time)."""
    mats = plan.materials
    b = plan.baseline
    q = spec.percentiles
    alpha = spec.cvar_level
    al = _alpha_label(alpha)
    monthly_t = b.monthly_demand_t
    dshare = np.array([plan.defence_share.get(m, (0.0, ""))[0] for m in mats])
    stock0 = np.array([float(plan.stocks.get(m, {}).get("initial", 0.0)) for m in mats])

    cum = totals["cum_shortfall"]
    never_cum = bool(np.isnan(cum).any())
    summary = pd.DataFrame(
        {
            "material": mats,
            "stage": b.stage,
            "mix": b.mix,
            "stock_months": stock0,
            "defence_share": dshare,
        }
    )
    summary["p_shortfall"] = stats.prob_positive(cum)
    summary["shortfall_mean"] = stats.expected(cum)
    for qq, v in zip(
        q, _by_columns(lambda x: stats.percentiles(x, q, never=never_cum), cum), strict=True
    ):
        summary[f"shortfall_{pct_label(qq)}"] = v
    summary[f"shortfall_var{al}"] = _by_columns(lambda x: stats.var(x, alpha), cum)
    summary[f"shortfall_cvar{al}"] = _by_columns(lambda x: stats.cvar(x, alpha), cum)
    summary["shortfall_t_mean"] = summary["shortfall_mean"] * monthly_t
    summary[f"shortfall_t_cvar{al}"] = summary[f"shortfall_cvar{al}"] * monthly_t
    summary["supply_gap_mean"] = stats.expected(totals["cum_supply_gap"])
    summary["release_mean"] = (
        stats.expected(totals["cum_release"]) if release_mean is None else release_mean
    )
    div = np.where(dshare > 0, dshare, 1.0)

    def defence(fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        dcum = totals["cum_defence_shortfall"]
        cols = _column_blocks(dcum.shape[1]) if dcum.nbytes > 64e6 else [slice(None)]
        return np.concatenate([np.atleast_1d(fn(dcum[:, sl] / div[sl])) for sl in cols])

    summary["defence_shortfall_mean"] = np.where(dshare > 0, defence(stats.expected), np.nan)
    summary[f"defence_shortfall_cvar{al}"] = np.where(
        dshare > 0, defence(lambda x: stats.cvar(x, alpha)), np.nan
    )
    so = totals["months_to_stockout"]
    affected = np.isfinite(totals["first_onset"])
    summary["p_stockout"] = np.mean(np.isfinite(so), axis=0)
    any_affected = bool(affected.any())

    never_so = bool(np.isnan(so).any()) or (any_affected and not bool(affected.all()))

    def stockout_pct(sl: slice) -> np.ndarray:
        x = np.where(affected[:, sl], so[:, sl], np.nan) if any_affected else so[:, sl]
        return stats.percentiles(x, (5, 50, 95), never=never_so)

    cols = _column_blocks(so.shape[1]) if so.nbytes > 64e6 else [slice(None)]
    so_pct = np.concatenate([stockout_pct(sl) for sl in cols], axis=-1)
    for qq, v in zip((5.0, 50.0, 95.0), so_pct, strict=True):
        summary[f"months_to_stockout_{pct_label(qq)}"] = v
    first = totals["first_shortfall_month"]
    never_first = bool(np.isnan(first).any())
    summary["first_shortfall_p50"] = _by_columns(
        lambda x: stats.percentiles(x, [50], never=never_first), first
    )[0]
    peak = totals["peak_price"]
    never_peak = bool(np.isnan(peak).any())
    pk = _by_columns(lambda x: stats.percentiles(x, [50, 95], never=never_peak), peak)
    summary["peak_price_p50"] = pk[0]
    summary["peak_price_p95"] = pk[1]
    summary["annual_demand_t"] = b.annual_demand_t

    # monthly fan-chart statistics
    t_len = spec.scenario.horizon_months
    parts = []
    for var in ("shortfall", "stock", "price"):
        block: dict[str, Any] = {
            "material": np.repeat(np.asarray(mats, dtype=object), t_len),
            "month": np.tile(np.arange(t_len), len(mats)),
            "variable": var,
            "mean": monthly_stats.mean(var).reshape(-1),
        }
        block["prob_positive"] = (
            monthly_stats.prob_positive(var).reshape(-1) if var == "shortfall" else np.nan
        )
        pct = monthly_stats.percentiles(var, q)
        for qq, v in zip(q, pct, strict=True):
            block[pct_label(qq)] = v.reshape(-1)
        block["percentile_error"] = np.repeat(monthly_stats.error(var), t_len)
        parts.append(pd.DataFrame(block))
    monthly = pd.concat(parts, ignore_index=True)

    names = [s[0] for s in plan.systems]
    nb = totals["cum_systems_not_built"]
    sys_rows = []
    for j, name in enumerate(names):
        col = nb[:, j]
        row: dict[str, Any] = {
            "system": name,
            "build_rate": plan.systems[j][1],
            "materials": ", ".join(plan.systems[j][2]),
            "p_any_not_built": float(stats.prob_positive(col)),
            "not_built_mean": float(stats.expected(col)),
        }
        for qq, v in zip(q, stats.percentiles(col, q), strict=True):
            row[f"not_built_{pct_label(qq)}"] = float(v)
        row[f"not_built_cvar{al}"] = float(stats.cvar(col, alpha))
        row["planned"] = plan.systems[j][1] * t_len
        sys_rows.append(row)
    systems = pd.DataFrame(
        sys_rows,
        columns=["system", "build_rate", "materials", "p_any_not_built", "not_built_mean"]
        if not sys_rows
        else None,
    )
    base = plan.baseline.table()
    base["defence_share"] = dshare
    base["defence_share_basis"] = [
        plan.defence_share.get(m, (0.0, "none given: 0"))[1] for m in mats
    ]
    base["stock_months"] = stock0
    result = EnsembleResult(
        spec=spec,
        summary=summary,
        monthly=monthly,
        outcomes=_outcomes_builder(list(mats), totals, monthly_t),
        draws=_draws_builder(plan, draws),
        systems=systems,
        systems_outcomes=_systems_outcomes_builder(names, nb),
        baseline=base,
        meta=meta,
    )
    for name in _FRAMES:
        if name not in _PER_SCENARIO:
            _provenance(getattr(result, name), spec, meta, name)
    return result


# ------------------------------------------------------------ scenarios.baseline.supply_options


def supply_options_lambdas(shares: pd.DataFrame) -> pd.DataFrame:
    """The ``supply_options`` aggregation as it was (a lambda per group)."""
    return shares.groupby(["material", "stage"], as_index=False, sort=True).agg(
        mix=("mix", "first"),
        mix_status=("mix_status", "first"),
        vintage=("vintage", lambda v: ";".join(sorted({str(x) for x in v.dropna()}))),
        reference_years=(
            "reference_years",
            lambda v: ";".join(sorted({str(x) for x in v.dropna()})),
        ),
        n_countries=("country", "count"),
        share_sum=("share", "sum"),
    )


# ------------------------------------------------------------ indicators.eu_crm.eu_supply_risk


def eu_supply_risk_one_pass(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    year: int = 2023,
    stage: str | None = None,
    governance_vintage: str = DEFAULT_WGI_VINTAGE,
    wgi_years: Any = DEFAULT_WGI_YEARS,
    wgi_measure: str = "auto",
    corrections: bool | str | Iterable[str] | None = False,
    importers: Selection = None,
    exporters: Selection = None,
    years: Any = None,
    groupby: GroupBy = None,
) -> pd.DataFrame:
    """:func:`critmat.indicators.eu_crm.eu_supply_risk` as it was (one pass per selection)."""
    from critmat.indicators.eu_crm import (
        _COLUMNS,
        COMPUTED_YEARS,
        EI_THRESHOLD,
        MEASURES,
        SR_THRESHOLD,
        _notes,
        _published_only,
        _reasons,
        _scored,
        _status,
        _year,
        agreement,
        column_units,
        is_critical,
        parse_stage,
        reject,
        resolve_corrections,
    )
    from critmat.vocab import EuCrmStatus

    reject(
        "eu_supply_risk (use year= for the assessment and wgi_years= for the "
        "governance data years)",
        importers=importers,
        exporters=exporters,
        years=years,
        groupby=groupby,
    )
    year = _year(year)
    st = parse_stage(stage).value if stage is not None else None
    mats = kb.select.materials(materials)
    names = resolve_corrections(corrections)
    params: dict[str, Any] = {"materials": mats, "year": year, "stage": st}
    if year not in COMPUTED_YEARS:
        given = [
            name
            for name, value, default in (
                ("stage", st, None),
                ("governance_vintage", governance_vintage, DEFAULT_WGI_VINTAGE),
                ("wgi_years", str(wgi_years), str(DEFAULT_WGI_YEARS)),
                ("wgi_measure", wgi_measure, "auto"),
                ("corrections", names or None, None),
            )
            if value != default
        ]
        if given:
            raise ParameterError(
                f"{', '.join(f'{g}=' for g in given)} does not apply to year={year}: critmat "
                "has the published values of that assessment only (computed: "
                f"{', '.join(map(str, COMPUTED_YEARS))}); drop it"
            )
        return _published_only(kb, year, mats, params)

    (wgi, gov_used, wgi_year_list, measure, inputs, used, material_table, fixed, scores, stages) = (
        _scored(kb, governance_vintage, wgi_years, wgi_measure, names)
    )

    # published values, agreement and reasons
    pub = kb.table("eu_crm_2023_published")
    notes = kb.table("eu_crm_2023_reproduction_notes")
    used += [pub, notes, gov_used, material_table]
    p = pub.set_index("material")
    out = scores.set_index("material")
    every = sorted(set(out.index) | set(p.index) | set(mats or []))
    out = out.reindex(every)
    out.index.name = "material"
    for col in (
        "sr",
        "ei",
        "stage_used",
        "sr_extraction",
        "sr_processing",
        "mix_extraction",
        "mix_processing",
    ):
        out[f"published_{col}"] = p[col].reindex(out.index)
    for m in MEASURES:
        out[f"agrees_{m}"] = agreement(out[m], out[f"published_{m}"])
    frame = out.reset_index()
    frame["reason"] = frame["material"].map(_reasons(frame, notes))

    # inputs shown alongside (per stage, wide)
    wide = stages.pivot(index="material", columns="stage", values=["hhi_gs", "hhi_eu", "eu_mix_of"])
    wide.columns = [f"{v}_{s}" for v, s in wide.columns]
    frame = frame.merge(wide.reset_index(), on="material", how="left")
    pr = fixed.parameters.set_index("material")  # as used, after the corrections
    for col in ("ir_extraction", "ir_processing", "eol_rir", "si_sr", "si_ei"):
        frame[col] = frame["material"].map(pr[col])
    frame["ei_share_unallocated"] = frame["share_unallocated"]
    meta = material_table.set_index("material")
    frame["crma_strategic"] = frame["material"].map(meta["crma_strategic"]).astype("boolean")
    frame["crma_critical"] = frame["material"].map(meta["crma_critical"]).astype("boolean")
    frame["is_group"] = frame["is_group"].astype("boolean").fillna(False)
    frame["status"] = _status(frame, set(inputs.parameters["material"]))

    if st is not None:
        frame["sr"] = frame[f"sr_{st}"]
        frame["published_sr"] = frame[f"published_sr_{st}"]
        frame["agrees_sr"] = frame[f"agrees_sr_{st}"]
        frame["stage_used"] = pd.Series(st, index=frame.index, dtype=object).where(
            frame["sr"].notna(), None
        )
        frame["critical"] = is_critical(frame["sr"], frame["ei"])
        assessed_at = frame["material"].map(pr["stages_assessed"]).astype("string")
        off = assessed_at.notna() & ~assessed_at.str.contains(st, regex=False).fillna(False)
        frame.loc[off.astype(bool), "status"] = EuCrmStatus.STAGE_NOT_ASSESSED.format(stage=st)
    if mats is not None:
        frame = frame[frame["material"].isin(mats)]
    frame = frame.loc[:, _COLUMNS].sort_values("material", ignore_index=True)
    frame["critical"] = frame["critical"].astype("boolean")

    prov = kb.provenance(
        "eu_supply_risk",
        pd.concat([f.loc[:, ["source_id"]] for f in used if "source_id" in f.columns]),
        **params,
        governance_vintage=governance_vintage,
        wgi_years=wgi_year_list,
        wgi_measure=measure,
        corrections=names,
        decimals=1,
        sr_threshold=SR_THRESHOLD,
        ei_threshold=EI_THRESHOLD,
    )
    prov.method = "eu_supply_risk (EU CRM method, 2017 Guidelines; METHODS.md §1)"
    prov.units = column_units("eu_supply_risk", frame.columns)
    prov.notes = _notes(governance_vintage, wgi_year_list, measure, names, wgi, st)
    return attach(frame, prov)


# ------------------------------------------------------------ data.select.Selector.supply_mix


def supply_mix_direct(
    kb: KnowledgeBase,
    materials: Sequence[str] | None = None,
    *,
    stages: Sequence[str] = ("extraction", "processing"),
    mix: str = "eu_sourcing",
    vintage: str | None = "newest",
) -> pd.DataFrame:
    """``kb.select.supply_mix`` as it was: the mix of the selected materials' rows."""
    from critmat.methods.supply import supplier_mix

    sel = kb.select
    shares = sel.supply_shares(materials, vintage=vintage)
    mats = sorted(set(shares["material"])) if materials is None else list(materials)
    return supplier_mix(
        shares,
        mats,
        stages=stages,
        mix=mix,
        import_reliance=sel.import_reliance(),
        eu_countries=sel.groups()["EU27"],
    )


def apparent_consumption_by_set(kb: KnowledgeBase, needed: list[str]) -> pd.DataFrame:
    """``scenarios.baseline._apparent_consumption`` before: one NIR pass per material set."""
    from critmat.scenarios.baseline import _choices
    from critmat.vocab import NirStatus

    by_default = {m for m, (stage, _mix) in _choices(kb)[0].items() if stage == "extraction"}
    wanted = sorted(by_default | set(needed))
    years = kb.catalog.table("production").stats.get("years")
    span = f"{years[0]}-{years[1]}" if years else None  # no production, no consumption
    nir = kb.indicators.net_import_reliance(
        materials=wanted, importers="EU27", stage="extraction", years=span
    )
    ok = nir[(nir["status"] == NirStatus.OK) & (nir["apparent_consumption_t"] > 0)]
    if ok.empty:
        return pd.DataFrame(columns=["material", "annual_t", "years"])
    ok = ok.sort_values("year")
    rows = []
    for m, g in ok.groupby("material", sort=True):
        last = g.tail(5)
        years = f"{int(last['year'].min())}-{int(last['year'].max())}"
        rows.append(
            {
                "material": m,
                "annual_t": float(last["apparent_consumption_t"].mean()),
                "years": years,
            }
        )
    return pd.DataFrame(rows)


def exposure_each_by(
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
    """``defence.exposure.exposure`` before: each ``by`` computed its own exposed demand."""
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
            raise ParameterError(f"mix must be one of by_producer, {', '.join(MIXES)}, got '{mix}'")
        mx = supply_mix(by_mix[mix], mats, stages=stages, mix=mix, proxies=proxies)
        exposed = supplier_exposure(d, mx, eol)
    keys = {
        "system": ["programme", "system", "material"],
        "programme": ["programme", "material"],
        "material": ["material"],
    }[by]
    adv = kb.select.countries(adversaries, groupby, where="adversaries=") or []
    per = (
        exposed.groupby([*keys, "stage", "country"], sort=False, dropna=False)
        .agg(
            share=("share", "first"),
            exposed_t=("exposed_t", "sum"),
            mix_used=("mix_used", _join_mixes),
            proxy=("proxy", "first"),
            eol_rir=("eol_rir", "first"),
            **{c: (c, "first") for c in _PASSTHROUGH if c in exposed.columns},
        )
        .reset_index()
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


# ------------------------------------------------------------ report figures (issue: repfig)
# built with one add_trace/update_layout/update_xaxes call after the other (make_subplots);
# the report's figures are now built in one go (critmat.report.charts.figure). ``layout`` and
# ``vline`` are critmat.report.charts' (the ones these used).


def criticality_chart_by_updates(
    table: pd.DataFrame, *, ei_threshold: float = 2.8, sr_threshold: float = 1.0
) -> Any:
    """Scatter of economic importance (x) against supply risk (y) with the EU thresholds.

    Every material with an SR is plotted, by name: with critmat's EI where it can be
    computed, else with the published EI (open markers, as the assessment classifies it);
    the materials that cannot be placed (no SR, or no EI at all) are named under the chart
    with the reason, never silently left out.
    """
    import plotly.graph_objects as go

    t = table.copy()
    label = t["name"] if "name" in t.columns else t["material"]
    t["label"] = label.where(label.notna(), t["material"]).astype(str)
    published = t["published_ei"] if "published_ei" in t.columns else pd.Series(np.nan, t.index)
    t["ei_plot"] = t["ei"].where(t["ei"].notna(), published)
    t["ei_kind"] = np.where(t["ei"].notna(), "computed EI", "published EI")
    data = t.dropna(subset=["sr", "ei_plot"])
    fig = go.Figure()
    for name, sel, colour in (
        ("critical", data["critical"].fillna(False).astype(bool), "#c0392b"),
        ("not critical", ~data["critical"].fillna(False).astype(bool), "#2c7fb8"),
    ):
        for kind, symbol in (("computed EI", "circle"), ("published EI", "circle-open")):
            d = data[sel & (data["ei_kind"] == kind)]
            if d.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=d["ei_plot"],
                    y=d["sr"],
                    mode="markers+text",
                    name=f"{name} ({kind})",
                    text=d["label"],
                    textposition="top center",
                    marker={"size": 9, "color": colour, "symbol": symbol},
                    hovertemplate="%{text}<br>EI %{x:.1f} (" + kind + ")<br>SR %{y:.2f}"
                    "<extra></extra>",
                )
            )
    fig.add_hline(
        y=sr_threshold, line_dash="dash", line_color="grey", annotation_text=f"SR {sr_threshold}"
    )
    fig.add_vline(
        x=ei_threshold, line_dash="dash", line_color="grey", annotation_text=f"EI {ei_threshold}"
    )
    left = t[~t.index.isin(data.index)]
    reasons = [
        f"{r.label} ({'no supply risk' if pd.isna(r.sr) else 'no economic importance'})"
        for r in left.itertuples(index=False)
    ]
    if reasons:
        fig.add_annotation(
            text="not plotted: " + ", ".join(reasons),
            xref="paper",
            yref="paper",
            x=0,
            y=-0.18,
            showarrow=False,
            align="left",
            font={"size": 11},
        )
    fig.update_xaxes(title="economic importance (EI, 0-10)")
    fig.update_yaxes(title="supply risk (SR)")
    title = (
        f"Criticality matrix (EU method, critmat computation): {len(data)} of {len(t)} "
        "materials plotted"
    )
    return layout(fig, title, 620)


def supply_shares_chart_by_updates(shares: pd.DataFrame, *, top: int = 8) -> Any:
    """Stacked bars of global supply shares by material, stage and country (top countries)."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    d = shares[["material", "stage", "country", "share"]].copy()
    leaders = list(d.groupby("country")["share"].sum().nlargest(top).index)
    d["country"] = d["country"].where(d["country"].isin(leaders), "other")
    d = d.groupby(["material", "stage", "country"], as_index=False)["share"].sum()
    china = d[d["country"] == "CHN"].groupby("material")["share"].max()
    order = china.reindex(sorted(d["material"].unique())).fillna(0).sort_values().index
    stages = ["extraction", "processing"]
    fig = make_subplots(
        rows=1, cols=2, shared_yaxes=True, subplot_titles=stages, horizontal_spacing=0.03
    )
    palette = qualitative.Safe + qualitative.Pastel
    countries = [*leaders, "other"]
    for col, stage in enumerate(stages, start=1):
        wide = (
            d[d["stage"] == stage]
            .pivot_table(index="material", columns="country", values="share", aggfunc="sum")
            .reindex(index=order, columns=countries)
            .fillna(0.0)
        )
        base = wide.cumsum(axis=1) - wide  # explicit offsets: one stack per material
        for i, country in enumerate(countries):
            fig.add_trace(
                go.Bar(
                    x=wide[country].to_numpy(),
                    base=base[country].to_numpy(),
                    y=list(order),
                    orientation="h",
                    name=country,
                    legendgroup=country,
                    showlegend=col == 1,
                    marker_color="#bbbbbb" if country == "other" else palette[i % len(palette)],
                    hovertemplate=f"%{{y}}, {stage}, {country}: %{{x:.1%}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_layout(barmode="overlay", bargap=0.25)
    fig.update_xaxes(tickformat=".0%", range=[0, 1.0])
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=list(order))
    return layout(
        fig,
        "Global supply shares by stage and country (EU 2023 study)",
        max(420, 20 * len(order) + 140),
    )


def china_share_chart_by_updates(table: pd.DataFrame) -> Any:
    """Grouped bars of China's share at extraction and processing."""
    import plotly.graph_objects as go

    d = table.sort_values("china_processing", ascending=False, na_position="last")
    fig = go.Figure(
        [
            go.Bar(
                name="extraction", x=d["material"], y=d["china_extraction"], marker_color="#e6550d"
            ),
            go.Bar(
                name="processing", x=d["material"], y=d["china_processing"], marker_color="#756bb1"
            ),
        ]
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.0], title="share of global supply")
    # no 65 % line here: the CRMA cap is on EU consumption, not global supply (issue 12;
    # the CRMA section draws the cap on the right denominator)
    return layout(fig, "China's share of global supply (EU 2023 study)")


def geopolrisk_chart_by_updates(table: pd.DataFrame, importer: str, year: int) -> Any:
    """Bars of the GeoPolRisk score per material for the importer."""
    import plotly.graph_objects as go

    d = table.dropna(subset=["geopolrisk"]).sort_values("geopolrisk", ascending=False)
    fig = go.Figure(
        go.Bar(
            x=d["material"],
            y=d["geopolrisk"],
            marker_color="#31a354",
            hovertemplate="%{x}<br>score %{y:.4f}<extra></extra>",
        )
    )
    fig.update_yaxes(title="GeoPolRisk score (0-1)")
    return layout(fig, f"GeoPolRisk score of {importer}, {year}")


def crma_chart_by_updates(tracker: pd.DataFrame) -> Any:
    """Bars of each strategic material's value per benchmark with the thresholds."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    benches = list(dict.fromkeys(tracker["benchmark"]))
    fig = make_subplots(
        rows=1,
        cols=len(benches),
        shared_yaxes=True,
        subplot_titles=[b.replace("_", " ") for b in benches],
    )
    colours = {"met": "#31a354", "not_met": "#c0392b", "unknown": "#bdbdbd"}
    for i, b in enumerate(benches, start=1):
        d = tracker[tracker["benchmark"] == b]
        fig.add_trace(
            go.Bar(
                y=d["material"],
                x=d["value"].fillna(0.0),
                orientation="h",
                marker_color=d["status"].map(colours).fillna("#bdbdbd"),
                text=d["basis"],
                hovertemplate="%{y}: %{x:.0%} (%{text})<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=i,
        )
        thr = float(d["threshold"].iloc[0])
        fig.add_vline(x=thr, line_dash="dot", line_color="grey", row=1, col=i)
        fig.update_xaxes(tickformat=".0%", range=[0, 1], row=1, col=i)
    return layout(
        fig,
        "CRMA Art. 5 benchmarks: green met, red not met, grey unknown (dotted: threshold)",
        height=140 + 22 * tracker["material"].nunique(),
    )


def imports_chart_by_updates(series: pd.DataFrame, events: pd.DataFrame, material: str) -> Any:
    """EU27 imports from China (t) and China's share of EU extra-EU imports, with events."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Bar(
            x=series["year"],
            y=series["eu_from_china"],
            name="EU27 imports from China (t)",
            marker_color="#9ecae1",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=series["year"],
            y=series["china_share"],
            name="China's share of EU extra-EU imports",
            mode="lines+markers",
            line={"color": "#c0392b"},
        ),
        secondary_y=True,
    )
    shapes, notes = [], []  # one layout update for all the events (add_layout_items)
    for r in events.itertuples(index=False):
        x = pd.Timestamp(r.date).year + (pd.Timestamp(r.date).day_of_year - 1) / 365.25 - 0.5
        shapes.append(vline(x, dash="dot", color="grey"))
        notes.append(
            {
                "x": x,
                "y": 1.0,
                "yref": "paper",
                "text": str(r.event_id),
                "showarrow": False,
                "textangle": -90,
                "font": {"size": 9},
                "xanchor": "right",
                "yanchor": "top",
                "hovertext": html.escape(str(r.summary)[:200]),
            }
        )
    add_layout_items(fig, shapes, notes)
    fig.update_yaxes(title="t", secondary_y=False)
    fig.update_yaxes(title="share", tickformat=".0%", range=[0, 1], secondary_y=True)
    return layout(fig, f"{material}: EU imports from China and policy events", height=380)


def events_section_per_material(kb: KnowledgeBase, a: Assessment) -> Section | None:
    """Import time series of the export-controlled materials with the events as markers."""
    from critmat.policy.backtest import flows

    ec = kb.table("export_controls")
    assessed = set(a.table["material"])
    hs = set(kb.table("hs_codes")["material"])
    mats = [m for m in dict.fromkeys(ec["material"].dropna()) if m in assessed and m in hs]
    if not mats:
        return None
    f = flows(kb, mats)
    f = f[f["year"] >= 2008]
    blocks: list[Any] = [
        Text(
            "EU27 imports from China (bars, tonnes, BACI, the material's HS codes summed) and "
            "China's share of EU imports from outside the EU (line), with the policy events "
            "naming the material (dotted lines; `critmat policy events --materials NAME`). "
            "Back-test of each export control: `critmat policy backtest`."
        )
    ]
    drawn = 0
    for m in mats:
        s = f[f["material"] == m].groupby(["flow", "year"])["quantity_t"].sum(min_count=1)
        if s.empty or not (s > 0).any():
            continue  # e.g. germanium: its HS 1992 code has no trade after 2016
        w = s.unstack(0).reindex(columns=["eu_from_china", "eu_from_extra_eu"])
        w["china_share"] = w["eu_from_china"] / w["eu_from_extra_eu"]
        w = w.reset_index()
        ev = kb.policy.events(materials=m)
        ev = ev[(ev["year"] >= 2008) & ev["matched_by"].eq(m)]
        blocks.append(Figure(imports_chart_by_updates(w, ev, m)))
        drawn += 1
    if not drawn:
        return None
    return Section(
        "Policy events on the import series",
        blocks,
        sources=["baci_hs92_v202401b", "policy_record_2008_2025"],
        key="policy_events",
    )


def frontier_chart_by_updates(fr: Frontier) -> Any:
    """Budget (x, M EUR) against expected and CVaR shortfall (y, t)."""
    import plotly.graph_objects as go

    p = fr.points
    x = p["budget_eur"].to_numpy(dtype=float) / 1e6
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=x, y=p["expected_shortfall_t"], mode="lines+markers", name="expected")
    )
    fig.add_trace(
        go.Scatter(x=x, y=p["cvar_shortfall_t"], mode="lines+markers", name="CVaR", yaxis="y")
    )
    shapes, labels = [], []  # one layout update for all the lines (add_layout_items)
    for r in fr.entry.dropna(subset=["enters_at_budget_eur"]).itertuples(index=False):
        x = float(r.enters_at_budget_eur) / 1e6
        shapes.append(vline(x, dash="dot", color="#999"))
        labels.append(  # what add_vline(annotation_position="top") puts there
            {
                "showarrow": False,
                "text": str(r.material),
                "x": x,
                "xanchor": "center",
                "xref": "x",
                "y": 1,
                "yanchor": "bottom",
                "yref": "y domain",
            }
        )
    add_layout_items(fig, shapes, labels)
    fig.update_xaxes(title="purchase budget (M EUR)")
    fig.update_yaxes(title="shortfall over the horizon (t)")
    return layout(fig, "Efficient frontier: budget against shortfall", height=440)


def fan_chart_by_updates(
    monthly: pd.DataFrame,
    *,
    materials: Sequence[str] | None = None,
    variable: str = "shortfall",
    title: str | None = None,
    height: int = 460,
) -> Any:
    """Fan chart of percentiles over months, one material at a time (dropdown to switch).

    Parameters
    ----------
    monthly
        ``EnsembleResult.monthly``: ``material, month, variable, mean, p5, ..., p95``.
    materials
        Materials to offer (default: all, ordered by their mean value).
    variable
        ``shortfall``, ``stock`` or ``price``.
    title
        Figure title.
    height
        Pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        Bands between symmetric percentiles (outer band lightest), the median as a line and
        the mean dashed.
    """
    import plotly.graph_objects as go

    d = monthly[monthly["variable"] == variable]
    if materials is None:
        order = d.groupby("material")["mean"].mean().sort_values(ascending=False)
        materials = [str(m) for m in order.index]
    pcts = _pct_columns(d)
    bands = [(pcts[i], pcts[-1 - i]) for i in range(len(pcts) // 2)]
    median = next((c for q, c in pcts if q == 50.0), None)
    fig = go.Figure()
    per_material = 0
    for k, mat in enumerate(materials):
        g = d[d["material"] == mat].sort_values("month")
        x = g["month"].to_numpy()
        vis = k == 0
        count = 0
        for b, ((qlo, lo), (qhi, hi)) in enumerate(bands):
            alpha = 0.18 + 0.22 * b / max(len(bands) - 1, 1)
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=g[hi],
                    mode="lines",
                    line={"width": 0},
                    showlegend=False,
                    hoverinfo="skip",
                    visible=vis,
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=g[lo],
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=f"rgba(44,127,184,{alpha:.2f})",
                    name=f"{qlo:g}-{qhi:g}th percentile",
                    visible=vis,
                    hoverinfo="skip",
                )
            )
            count += 2
        if median is not None:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=g[median],
                    mode="lines",
                    name="median",
                    line={"color": "#08306b", "width": 2},
                    visible=vis,
                )
            )
            count += 1
        fig.add_trace(
            go.Scatter(
                x=x,
                y=g["mean"],
                mode="lines",
                name="mean",
                line={"color": "#c0392b", "width": 1.5, "dash": "dash"},
                visible=vis,
            )
        )
        count += 1
        per_material = count
    if len(materials) > 1:
        n = per_material * len(materials)
        buttons = []
        for k, mat in enumerate(materials):
            visible = [per_material * k <= i < per_material * (k + 1) for i in range(n)]
            buttons.append({"label": str(mat), "method": "update", "args": [{"visible": visible}]})
        fig.update_layout(
            updatemenus=[
                {
                    "buttons": buttons,
                    "x": 1.0,
                    "xanchor": "right",
                    "y": 1.15,
                    "yanchor": "top",
                    "direction": "down",
                }
            ]
        )
    fig.update_xaxes(title="month (0 = first simulated month)")
    fig.update_yaxes(title=_YLABEL.get(variable, variable), rangemode="tozero")
    fig.update_layout(
        title=title or f"{variable}: percentiles over scenarios",
        font=FONT,
        height=height,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 70, "b": 50},
        legend_title_text="",
    )
    return fig


def exposure_heatmap_by_updates(summary: pd.DataFrame) -> Any:
    """Heatmap of annual demand exposed to China (t/yr), systems x materials.

    Parameters
    ----------
    summary
        :func:`critmat.defence.exposure.exposure` at ``by="system"``, one stage.
    """
    import plotly.graph_objects as go

    s = summary.assign(label=summary["system"].astype(str))
    z = s.pivot_table(index="label", columns="material", values="china_t", aggfunc="sum")
    dem = s.pivot_table(
        index="label", columns="material", values="demand_t_per_year", aggfunc="sum"
    ).reindex(index=z.index, columns=z.columns)
    share = s.pivot_table(
        index="label", columns="material", values="china_share", aggfunc="mean"
    ).reindex(index=z.index, columns=z.columns)
    text = np.where(
        np.isfinite(z.to_numpy()),
        np.vectorize(lambda v: format_value(float(v), "sig3"))(np.nan_to_num(z.to_numpy())),
        "",
    )
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy(),
            x=list(z.columns),
            y=list(z.index),
            colorscale="Reds",
            text=text,
            texttemplate="%{text}",
            customdata=np.dstack([dem.to_numpy(), share.to_numpy()]),
            hovertemplate=(
                "%{y}<br>%{x}<br>exposed to China %{z:,.3g} t/yr<br>demand "
                "%{customdata[0]:,.3g} t/yr<br>China share %{customdata[1]:.0%}"
                "<extra></extra>"
            ),
            colorbar={"title": "t/yr"},
        )
    )
    fig.update_layout(
        title="Defence demand exposed to China at the processing stage "
        "(t per year; system x material)",
        font=FONT,
        height=max(320, 60 * len(z.index) + 160),
        margin={"l": 220, "r": 20, "t": 60, "b": 60},
    )
    return white_template(fig)


def uses_heatmap_by_updates(uses: pd.DataFrame) -> Any:
    """Number of cited uses per system class and material (what the sources say)."""
    import plotly.graph_objects as go

    u = uses[uses["system_class"] != "all defence uses"]
    z = u.pivot_table(
        index="system_class", columns="material", values="use_id", aggfunc="count"
    ).fillna(0)
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy(),
            x=list(z.columns),
            y=list(z.index),
            colorscale="Blues",
            texttemplate="%{z:.0f}",
            hovertemplate="%{y}<br>%{x}<br>%{z:.0f} cited uses<extra></extra>",
            colorbar={"title": "uses"},
        )
    )
    fig.update_layout(
        title="Cited defence uses: system class x material (defence_uses)",
        font=FONT,
        height=max(360, 30 * len(z.index) + 200),
        margin={"l": 220, "r": 20, "t": 60, "b": 100},
    )
    return white_template(fig)


def annual_demand_indicator(bom: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """Annual material demand per programme, system and material (pure, vectorised).

    Parameters
    ----------
    bom
        ``system, component, material, kg_per_unit, kind, substitutable_share, source_id``.
    rates
        ``programme, system, units_per_year, priority, kind, source_id``.

    Returns
    -------
    pandas.DataFrame
        :data:`DEMAND_COLUMNS`: ``kg_per_unit`` summed over components,
        ``demand_t = units_per_year * kg_per_unit / 1000``, ``substitutable_share`` weighted
        by kg, ``kind`` the least certain of the BOM and rate kinds, ``status`` ``ok``,
        ``no_build_rate`` (BOM without a rate: demand NaN, absence is not zero) or ``no_bom``
        (a rate for a system without BOM rows).

    Examples
    --------
    >>> import pandas as pd
    >>> bom = pd.DataFrame({"system": ["S"], "component": ["c"], "material": ["gallium"],
    ...                     "kg_per_unit": [2.0], "kind": ["user"],
    ...                     "substitutable_share": [0.0], "source_id": ["x"]})
    >>> rates = pd.DataFrame({"programme": ["P"], "system": ["S"], "units_per_year": [50.0],
    ...                       "priority": [1.0], "kind": ["published"], "source_id": ["y"]})
    >>> annual_demand(bom, rates)[["system", "material", "demand_t", "kind"]].to_dict("records")
    [{'system': 'S', 'material': 'gallium', 'demand_t': 0.1, 'kind': 'user'}]
    """
    b = bom.assign(
        kg=bom["kg_per_unit"].astype("float64"),
        sub_kg=bom["kg_per_unit"].astype("float64")
        * bom["substitutable_share"].astype("float64").fillna(0.0),
        kind_rank=bom["kind"].astype(object).map(KIND_RANK).astype("float64"),
    )
    per = b.groupby(["system", "material"], sort=False, as_index=False).agg(
        kg_per_unit=("kg", "sum"),
        sub_kg=("sub_kg", "sum"),
        kind_rank=("kind_rank", "max"),
        bom_source=("source_id", _join_ids),
    )
    per["bom_kind"] = kind_of_rank(per["kind_rank"])
    per["substitutable_share"] = np.divide(
        per["sub_kg"],
        per["kg_per_unit"],
        out=np.zeros(len(per)),
        where=per["kg_per_unit"].to_numpy() > 0,
    )
    r = rates.assign(
        units_per_year=rates["units_per_year"].astype("float64"),
        priority=rates["priority"].astype("float64"),
        rate_kind=rates["kind"].astype(object),
        rate_source=rates["source_id"].astype(object),
    )
    m = per.merge(
        r[["programme", "system", "units_per_year", "priority", "rate_kind", "rate_source"]],
        on="system",
        how="outer",
        indicator=True,
    )
    m["status"] = np.select(
        [m["_merge"].eq("both"), m["_merge"].eq("left_only")],
        [DefenceDemandStatus.OK.value, DefenceDemandStatus.NO_BUILD_RATE.value],
        default=DefenceDemandStatus.NO_BOM.value,
    )
    m["demand_t"] = m["units_per_year"] * m["kg_per_unit"] / 1000.0
    m["kind"] = worst_kind(m["bom_kind"].astype(object), m["rate_kind"].astype(object))
    m["rests_on_assumption"] = (
        ((m["bom_kind"] == "assumption") | (m["rate_kind"] == "assumption"))
        .fillna(False)
        .astype(bool)
    )
    bom_src = m["bom_source"].astype(object).fillna("").astype(str)
    rate_src = m["rate_source"].astype(object).fillna("").astype(str)
    m["source_id"] = (bom_src + ";" + rate_src).str.strip(";")
    return m[DEMAND_COLUMNS].sort_values(
        ["programme", "system", "material"], na_position="last", ignore_index=True
    )


def supply_mix_joins(
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


def importance_from_uses_whole_frames(
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
    cls = (
        allu.sort_values(["w", "curated_w"], ascending=[False, True], kind="stable")
        .drop_duplicates(["material", "system_class"])
        .sort_values(["material", "w", "system_class"], ascending=[True, False, True])
    )
    g = allu.groupby("material")
    out = g.agg(
        n_uses=("use_id", "nunique"),
        n_system_classes=("system_class", "nunique"),
        n_named_systems=("system", "nunique"),
        n_essential=("essential", "sum"),
        sev=("sev", "max"),
        n_secondary=("secondary_source", "sum"),
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
        allu.assign(sid=allu["source_id"].astype(object).str.split(";"))
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
        uses.dropna(subset=["defence_demand_share"]) if "defence_demand_share" in uses else None
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


def supplier_mix_setitem(
    shares: pd.DataFrame,
    materials: Sequence[str],
    *,
    stages: Sequence[str] = ("extraction", "processing"),
    mix: str = "eu_sourcing",
    import_reliance: pd.DataFrame | None = None,
    eu_countries: Sequence[str] = (),
) -> pd.DataFrame:
    """Supplier shares per material and stage, with the fallback of the module docstring.

    Parameters
    ----------
    shares
        Rows of the chosen vintages (``vintage, reference_years, material, stage, mix,
        country, share, check_flag``).
    materials, stages
        What is wanted; materials and stages without any rows are absent from the result.
    mix
        Preferred mix: ``eu_sourcing`` (with the fallback) or ``global``.
    import_reliance
        ``material, stage, import_reliance`` (fractions) for the split of the fallback.
    eu_countries
        ISO-3 codes of the EU member states.

    Returns
    -------
    pandas.DataFrame
        ``material, stage, country, share, mix_used (eu_sourcing, global, global_ir_split),
        mix_status, vintage, reference_years, check_flag, import_reliance, source_id``;
        ``country`` is
        empty for a residual ('Other countries') row or the unattributed EU production of
        a split.
    """
    if mix not in ("eu_sourcing", "global"):
        raise ValueError(f"mix must be eu_sourcing or global, got {mix!r}")
    columns = [
        "material",
        "stage",
        "country",
        "share",
        "mix_used",
        "mix_status",
        "vintage",
        "reference_years",
        "check_flag",
        "import_reliance",
        "source_id",
    ]
    s = shares[
        shares["material"].isin(list(materials)).to_numpy(dtype=bool, na_value=False)
        & shares["stage"].isin(list(stages)).to_numpy(dtype=bool, na_value=False)
    ].copy()
    s["share"] = pd.to_numeric(s["share"], errors="coerce").astype("float64")
    for c in ("check_flag", "source_id"):
        if c not in s.columns:
            s[c] = None
    ir_map: dict[tuple[str, str], float] = {}
    if import_reliance is not None:
        for m, st, v in zip(
            import_reliance["material"],
            import_reliance["stage"],
            pd.to_numeric(import_reliance["import_reliance"], errors="coerce"),
            strict=True,
        ):
            if pd.notna(v):
                ir_map[(str(m), str(st))] = float(v)
    # one decision per material and stage (the rules of the module docstring), then one
    # take of the chosen rows: no frame per group
    codes = s.groupby(["material", "stage"], sort=True).ngroup()
    code = codes.fillna(-1).to_numpy(dtype="int64")
    valid = code >= 0
    n_groups = int(code.max()) + 1 if valid.any() else 0
    mix_of = s["mix"].to_numpy(dtype=object)
    is_eu = (mix_of == "eu_sourcing") & valid
    is_glob = (mix_of == "global") & valid
    has_eu = np.bincount(code[is_eu], minlength=n_groups) > 0
    has_glob = np.bincount(code[is_glob], minlength=n_groups) > 0
    first = np.full(n_groups, -1, dtype="int64")  # first row of each group
    rows = np.flatnonzero(valid)
    first[code[rows[::-1]]] = rows[::-1]
    mats_of = s["material"].to_numpy(dtype=object)
    stages_of = s["stage"].to_numpy(dtype=object)
    raw_flags = s["check_flag"].to_numpy(dtype=object)
    flag_sets: dict[int, set[str]] = {}
    for i in np.flatnonzero(is_eu & s["check_flag"].notna().to_numpy(dtype=bool)):
        flag_sets.setdefault(int(code[i]), set()).update(str(raw_flags[i]).split(";"))
    choice = np.zeros(n_groups, dtype="int8")
    used = np.empty(n_groups, dtype=object)
    status = np.empty(n_groups, dtype=object)
    group_ir = np.full(n_groups, np.nan)
    inconsistent = SupplyMixStatus.EU_SOURCING_INCONSISTENT.value
    for gi in range(n_groups):
        ir = ir_map.get((str(mats_of[first[gi]]), str(stages_of[first[gi]])))
        flags = flag_sets.get(gi, set())
        if mix == "global" or (not has_eu[gi] and has_glob[gi]):
            if not has_glob[gi]:
                continue
            ok = mix == "global"
            choice[gi], used[gi] = _GLOB, "global"
            status[gi] = (SupplyMixStatus.OK if ok else SupplyMixStatus.GLOBAL_MIX_FALLBACK).value
        elif not has_eu[gi]:
            continue
        elif not flags & set(FALLBACK_FLAGS):
            choice[gi], used[gi], status[gi] = _EU, "eu_sourcing", SupplyMixStatus.OK.value
        elif not has_glob[gi] or (ir is not None and ir <= 0):
            # flagged, nothing to fall back on (no global mix), or IR = 0 (the EU is a net
            # exporter: a gross sourcing mix cannot be split by a net import reliance, and
            # the split would give every tonne to EU producers): the flagged rows, marked
            choice[gi], used[gi], status[gi] = _EU, "eu_sourcing", inconsistent
        elif ir is None:
            choice[gi], used[gi], status[gi] = _GLOB, "global", inconsistent
        else:
            choice[gi], used[gi], status[gi] = _SPLIT, "global_ir_split", inconsistent
        group_ir[gi] = ir if ir is not None else np.nan
    row_choice = np.where(valid, choice[np.where(valid, code, 0)], _SKIP)
    keep = ((row_choice == _GLOB) | (row_choice == _SPLIT)) & is_glob | (
        (row_choice == _EU) & is_eu
    )
    if not keep.any():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}).astype(
            {"share": "float64", "import_reliance": "float64"}
        )
    share = s["share"].to_numpy(dtype="float64").copy()
    member = s["country"].isin(set(eu_countries)).to_numpy(dtype=bool, na_value=False)
    split_flags: dict[int, str] = {}
    extra_code: list[int] = []
    extra_row: list[int] = []
    extra_share: list[float] = []
    for g in np.flatnonzero(choice == _SPLIT).tolist():
        idx = np.flatnonzero(is_glob & (code == g))  # the group's global rows, in order
        w, parts = _split_weights(share[idx], member[idx], float(group_ir[g]))
        share[idx] = w
        split_flags[g] = ";".join(sorted(flag_sets.get(g, set())))
        for part in parts:  # no producer on that side: the part has no country
            extra_code.append(g)
            extra_row.append(int(idx[0]))
            extra_share.append(part)
    kept = np.flatnonzero(keep)
    n_rows = len(kept) + len(extra_row)
    take = np.concatenate([kept, np.asarray(extra_row, dtype="int64")])
    out_code = np.concatenate([code[kept], np.asarray(extra_code, dtype="int64")])
    out_share = np.concatenate([share[kept], np.asarray(extra_share, dtype="float64")])
    is_extra = np.arange(n_rows) >= len(kept)
    # in the order of the groups; within a group the kept rows in their order, then the
    # parts without a country
    order = np.lexsort((np.arange(n_rows), is_extra, out_code))
    take, out_code, out_share, is_extra = (
        take[order],
        out_code[order],
        out_share[order],
        is_extra[order],
    )
    out = s.iloc[take].reset_index(drop=True)
    out["share"] = out_share
    country = out["country"].astype(object).to_numpy(dtype=object).copy()
    country[is_extra] = None
    out["country"] = country
    flag_col = raw_flags[take].copy()
    for gi, text in split_flags.items():
        flag_col[out_code == gi] = text
    out["check_flag"] = flag_col
    out["mix_used"] = used[out_code]
    out["mix_status"] = status[out_code]
    out["import_reliance"] = group_ir[out_code]
    for c in ("material", "stage", "country", "vintage", "reference_years", "check_flag"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out[columns]


def exposure_summary_named(
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
    out = (
        d.groupby(by, sort=False, dropna=False)
        .agg(
            shares_covered=("share", "sum"),
            china_t=("china_t", "sum"),
            adversary_t=("adversary_t", "sum"),
            mix_used=("mix_used", _join_mixes),
            proxy=("proxy", "first"),
            eol_rir=("eol_rir", "first"),
            **{c: (c, "first") for c in _PASSTHROUGH if c in detail.columns},
        )
        .reset_index()
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


def aggregate_named(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Demand per ``keys`` with the least certain kind."""
    g = frame.assign(rank=frame["kind"].map(KIND_RANK).astype("float64")).groupby(
        keys, sort=False, dropna=False
    )
    out = g.agg(
        demand_t_per_year=("demand_t_per_year", "sum"),
        rank=("rank", "max"),
        rests_on_assumption=("rests_on_assumption", "any"),
    ).reset_index()
    out["kind"] = kind_of_rank(out["rank"])
    return out.drop(columns="rank")
