"""CRMA Article 5 tracker: where the EU stands against the 2030 benchmarks.

For each strategic raw material (Regulation (EU) 2024/1252, Annex I) and each of the four
benchmarks of Art. 5(1) (METHODS.md §2.1): EU extraction >= 10 %, processing >= 40 %,
recycling >= 25 % of EU annual consumption, and no single third country above 65 % of EU
consumption at any relevant stage. Each value says what it rests on (METHODS.md §2.5,
:class:`critmat.vocab.BenchmarkBasis`):

* ``tonnes``: your EU consumption and production figures (``consumption=``): EU output over
  EU consumption at the stage, the largest third country's tonnes over EU consumption;
* ``share_proxy``: the EU 2023 study (``crma_eu_sourcing_2023``): the EU27 members' share of
  EU sourcing at the stage (1 - import reliance where the study gives no EU27 share), the
  end-of-life recycling input rate for recycling, and the largest non-EU supplier's share of
  EU sourcing, the maximum over the stages, for the 65 % test. The denominator is EU
  sourcing (domestic supply plus imports), the closest public proxy of EU consumption;
  never China's share of *global* supply;
* ``no_data``: neither; the status is ``unknown``.

Where tonnes exist, the 2030 gap in tonnes (floor: tonnes to add; cap: tonnes to source
elsewhere), and the published capacities of the CRMA Strategic Projects (content tonnes per
year, ``crma_project_capacities``) with your own projects counted against it.

:func:`single_country_test` is the 65 % test the assessment uses (``critmat assess``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.data.cache import memoised
from critmat.errors import ParameterError
from critmat.methods.policy import benchmark_status, gap_tonnes
from critmat.params import Selection
from critmat.policy.events import ancestors
from critmat.policy.inputs import read_consumption, read_projects
from critmat.provenance import attach
from critmat.vocab import BenchmarkBasis as Basis

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "BENCHMARK_SETS",
    "TRACKER_COLUMNS",
    "benchmarks",
    "single_country_test",
    "strategic_materials",
]

#: ``--benchmark-set`` names and the ``crma_benchmarks`` version each stands for.
BENCHMARK_SETS = {"final": "final_2024", "2023-proposal": "proposal_2023"}

#: The four Art. 5(1) benchmarks in order, with the stage each applies to.
_BENCHMARKS = (
    ("extraction", "extraction"),
    ("processing", "processing"),
    ("recycling", "recycling"),
    ("single_third_country_cap", "all"),
)

#: Columns of :func:`benchmarks`, in order.
TRACKER_COLUMNS = [
    "srm",
    "material",
    "benchmark",
    "stage",
    "version",
    "threshold",
    "comparison",
    "value",
    "basis",
    "basis_detail",
    "third_country",
    "third_country_stage",
    "reference_years",
    "status",
    "eu_consumption_t",
    "eu_output_t",
    "target_2030_t",
    "gap_2030_t",
    "projects_t_yr",
    "n_projects",
    "n_projects_not_quantified",
    "projects",
    "user_projects_t_yr",
    "gap_after_projects_t",
    "source_id",
]


def strategic_materials(kb: KnowledgeBase) -> pd.DataFrame:
    """The strategic raw materials of Annex I as ``srm, material`` rows.

    The bauxite/alumina/aluminium entry is one row, ``aluminium`` (the EU 2023 study's EU
    sourcing rows for it cover bauxite at extraction and alumina/aluminium at processing).
    """
    a = kb.table("crma_2024")
    a = a[(a["annex"] == "I") & (a["material"] != "bauxite")]
    return (
        a[["listed_name", "material"]]
        .rename(columns={"listed_name": "srm"})
        .drop_duplicates("material")
        .reset_index(drop=True)
    )


def _version(kb: KnowledgeBase, benchmark_set: str) -> tuple[str, pd.DataFrame]:
    table = kb.table("crma_benchmarks")
    version = BENCHMARK_SETS.get(benchmark_set, benchmark_set)
    rows = table[table["version"] == version]
    if rows.empty:
        names = [*BENCHMARK_SETS, *sorted(set(table["version"]))]
        raise ParameterError(
            f"--benchmark-set {benchmark_set!r} is not a version of crma_benchmarks; expected "
            f"one of {', '.join(names)}"
        )
    return version, rows


def _sourcing_by_material(sourcing: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """The EU 2023 study's sourcing rows per material, in table order, as plain records."""
    cols = [
        "material",
        "stage",
        "eu27_share",
        "self_supply_proxy",
        "eol_rir",
        "largest_third_country",
        "largest_third_country_share",
        "year_from",
        "year_to",
    ]
    by: dict[str, list[dict[str, Any]]] = {}
    for rec in sourcing[cols].to_dict("records"):
        if pd.notna(rec["material"]):
            by.setdefault(rec["material"], []).append(rec)
    return by


def _proxy_value(g: list[dict[str, Any]], bench: str, stage: str) -> dict[str, Any]:
    """The proxy value of one benchmark from one material's sourcing rows (``g``)."""
    years = f"{int(min(r['year_from'] for r in g))}-{int(max(r['year_to'] for r in g))}"
    if bench in ("extraction", "processing"):
        at = [r for r in g if r["stage"] == stage]
        if not at:
            return {"basis_detail": f"the 2023 study did not assess {stage} for it"}
        if pd.notna(at[0]["eu27_share"]):
            return {
                "value": float(at[0]["eu27_share"]),
                "basis": Basis.SHARE_PROXY.value,
                "reference_years": years,
                "basis_detail": f"EU27 share of EU sourcing at {stage} (EU 2023 study)",
            }
        if pd.notna(at[0]["self_supply_proxy"]):
            return {
                "value": float(at[0]["self_supply_proxy"]),
                "basis": Basis.SHARE_PROXY.value,
                "reference_years": years,
                "basis_detail": f"1 - import reliance at {stage} (EU 2023 "
                "study; no EU27 sourcing share)",
            }
        return {"basis_detail": f"no EU27 share or import reliance at {stage}"}
    if bench == "recycling":
        rir = [r["eol_rir"] for r in g if pd.notna(r["eol_rir"])]
        if not rir:
            return {"basis_detail": "no EoL-RIR"}
        return {
            "value": float(rir[0]),
            "basis": Basis.SHARE_PROXY.value,
            "reference_years": years,
            "basis_detail": "end-of-life recycling input rate (EoL-RIR, EU 2023 study)",
        }
    listed = [r for r in g if pd.notna(r["largest_third_country_share"])]
    if not listed:
        return {"basis_detail": "no non-EU supplier share listed (>= 1 %)"}
    # the largest share; of equal shares the first row (a stable descending sort)
    top = max(listed, key=lambda r: float(r["largest_third_country_share"]))
    return {
        "value": float(top["largest_third_country_share"]),
        "basis": Basis.SHARE_PROXY.value,
        "reference_years": years,
        "third_country": top["largest_third_country"],
        "third_country_stage": top["stage"],
        "basis_detail": "largest non-EU supplier's share of EU sourcing, "
        "maximum over the stages assessed (EU 2023 study)",
    }


def _proxy(sourcing: pd.DataFrame, mats: pd.DataFrame) -> pd.DataFrame:
    """Proxy values of the four benchmarks per material (share_proxy or no_data)."""
    by = _sourcing_by_material(sourcing)
    rows: list[dict[str, Any]] = []
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
            else:
                rec.update(_proxy_value(g, bench, stage))
            rows.append(rec)
    return pd.DataFrame(rows)


def _tonnes(cons: pd.DataFrame) -> pd.DataFrame:
    """Tonnes-basis values from your consumption figures (latest year per material, stage)."""
    c = cons.sort_values("year").drop_duplicates(["material", "stage"], keep="last")
    rows: list[dict[str, Any]] = []
    for r in c.itertuples(index=False):
        if pd.notna(r.eu_output_t):
            rows.append(
                {
                    "material": r.material,
                    "benchmark": r.stage,
                    "value": r.eu_output_t / r.eu_consumption_t,
                    "basis": Basis.TONNES.value,
                    "basis_detail": f"EU {r.stage} output / EU consumption (your data: {r.source})",
                    "reference_years": str(r.year),
                    "eu_consumption_t": r.eu_consumption_t,
                    "eu_output_t": r.eu_output_t,
                    "third_country": pd.NA,
                    "third_country_stage": pd.NA,
                }
            )
    cap = c.dropna(subset=["largest_third_country_t"])
    if not cap.empty:
        cap = cap.assign(share=cap["largest_third_country_t"] / cap["eu_consumption_t"])
        top = cap.sort_values("share", ascending=False).drop_duplicates("material")
        for r in top.itertuples(index=False):
            rows.append(
                {
                    "material": r.material,
                    "benchmark": "single_third_country_cap",
                    "value": r.share,
                    "basis": Basis.TONNES.value,
                    "basis_detail": "largest third country's tonnes / EU consumption, maximum "
                    f"over the stages you gave (your data: {r.source})",
                    "reference_years": str(r.year),
                    "eu_consumption_t": r.eu_consumption_t,
                    "eu_output_t": r.largest_third_country_t,
                    "third_country": r.largest_third_country,
                    "third_country_stage": r.stage,
                }
            )
    return pd.DataFrame(rows)


def _projects(kb: KnowledgeBase, user: pd.DataFrame | None) -> pd.DataFrame:
    """Project capacities (content t/yr) by material, stage and in/outside the EU."""
    cap = kb.table("crma_project_capacities")
    sp = kb.table("crma_strategic_projects")[["project_id", "project_name", "in_eu", "status"]]
    p = cap.merge(sp, on="project_id", how="left").dropna(subset=["material"])
    p = p.assign(user=False, label=p["project_id"])
    if user is not None and not user.empty:
        u = user.rename(columns={"project": "project_name", "capacity_t_yr": "content_t_yr"})
        u = u.assign(
            project_id=u["project_name"], label="user: " + u["project_name"].astype(str), user=True
        )
        add = u[
            [
                "project_id",
                "project_name",
                "material",
                "stage",
                "content_t_yr",
                "in_eu",
                "status",
                "user",
                "label",
            ]
        ]
        # all-NA columns of your rows (e.g. no status given) are left out of the
        # concatenation (pandas 2.2 warns that they will count for the dtypes) and come
        # back through the reindex
        add = add.loc[:, add.notna().any().to_numpy(dtype=bool)]
        p = pd.concat([p, add], ignore_index=True).reindex(columns=p.columns)
    return p


def _imported(kb: KnowledgeBase) -> pd.DataFrame | None:
    """Your imported ``eu_consumption`` rows (``critmat data import --table eu_consumption``)."""
    from critmat.errors import UnknownTableError

    try:
        rows = kb.table("eu_consumption")
    except UnknownTableError:
        return None  # a dataset built before the table existed
    if rows.empty:
        return None
    out = rows.copy()
    for c in ("eu_consumption_t", "eu_output_t", "largest_third_country_t"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    out["year"] = out["year"].astype(int)
    out["stage"] = out["stage"].astype(str)
    out.attrs["source"] = "imported table eu_consumption"
    return out


def _nansum(values: np.ndarray) -> float:
    """``Series.sum(min_count=1)`` of a float array: NaN when it has no number."""
    known = ~np.isnan(values)
    return float(np.where(known, values, 0.0).sum()) if known.any() else float("nan")


def _project_columns(
    t: pd.DataFrame, p: pd.DataFrame, up: dict[str, set[str]]
) -> dict[str, list[Any]]:
    """The projects that count against each benchmark row of ``t`` (one matrix, no loop).

    EU projects at the row's stage count against a floor; projects outside the EU (and,
    for the cap, not in the dominant supplier) against the cap; a project of a group
    material (``lree``) counts for its members, its tonnes only for itself.

    Returns
    -------
    dict
        ``projects_t_yr, n_projects, n_projects_not_quantified, projects,
        user_projects_t_yr``, one value per row of ``t``.
    """
    mats = [str(m) for m in t["material"]]
    p_mat = p["material"].astype(object).to_numpy()
    in_eu = p["in_eu"].fillna(True).astype(bool).to_numpy(dtype=bool)
    user = p["user"].astype(bool).to_numpy(dtype=bool)
    content = p["content_t_yr"].astype("float64").to_numpy()
    keys = [{m, *up.get(m, set())} for m in mats]
    sel = np.array([[pm in k for pm in p_mat] for k in keys], dtype=bool).reshape(len(t), len(p))
    cap = (t["benchmark"] == "single_third_country_cap").to_numpy(dtype=bool)
    stage_ok = np.zeros_like(sel)
    for stage in pd.unique(t["stage"]):
        rows = (t["stage"] == stage).to_numpy(dtype=bool)
        stage_ok[rows] = p["stage"].eq(stage).to_numpy(dtype=bool, na_value=False)
    other = np.ones_like(sel)  # not a project of the dominant third country
    third = t["third_country"].to_numpy(dtype=object)
    for country in {c for c in third if isinstance(c, str)}:
        rows = np.array([isinstance(c, str) and c == country for c in third], dtype=bool)
        outside = p["project_id"].str.contains(country) == False  # noqa: E712
        other[rows] = outside.to_numpy(dtype=bool, na_value=False)
    sel &= np.where(cap[:, None], ~in_eu[None, :] & other, in_eu[None, :] & stage_ok)
    own = sel & (p_mat[None, :] == np.array(mats, dtype=object)[:, None])
    quantified = own & ~np.isnan(content)[None, :]
    labels = [
        f"{x.label} ({'n/q' if pd.isna(x.content_t_yr) else f'{x.content_t_yr:,.0f} t/yr'}"
        f"{', ' + str(x.status) if isinstance(x.status, str) and x.status else ''})"
        for x in p.itertuples(index=False)
    ]
    n_proj = sel.sum(axis=1)
    return {
        # the sums of each row's own projects, in table order (as Series.sum)
        "projects_t_yr": [_nansum(content[own[i] & ~user]) for i in range(len(t))],
        "n_projects": [int(v) for v in n_proj],
        "n_projects_not_quantified": [int(v) for v in n_proj - quantified.sum(axis=1)],
        "projects": ["; ".join(labels[j] for j in np.flatnonzero(row)) for row in sel],
        "user_projects_t_yr": [_nansum(content[own[i] & user]) for i in range(len(t))],
    }


def _own_files_uncached(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    """Your consumption or project files (a path or a frame) are read afresh: not cached."""
    for name in ("consumption", "projects"):
        if args.get(name) is not None:
            raise TypeError(f"{name}= is a file or frame whose contents may change")
    return args


@memoised("policy.crma_benchmarks", normalise=_own_files_uncached)  # assess and the report
def benchmarks(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    benchmark_set: str = "final",
    consumption: pd.DataFrame | str | Path | None = None,
    projects: pd.DataFrame | str | Path | None = None,
) -> pd.DataFrame:
    """The strategic raw materials against the four CRMA Article 5 benchmarks.

    Parameters
    ----------
    kb
        Knowledge base.
    materials
        Strategic raw materials to show (default all of Annex I); a material outside Annex
        I is an error.
    benchmark_set
        ``final`` (Regulation (EU) 2024/1252: 10/40/25 %, 65 %) or ``2023-proposal``
        (COM(2023) 160: recycling 15 %), or a ``crma_benchmarks`` version id.
    consumption
        Your EU consumption and production figures (file or frame,
        :func:`critmat.policy.inputs.read_consumption`); where given they replace the
        proxies (basis ``tonnes``) and give the 2030 gap in tonnes. Default: the rows you
        imported into ``eu_consumption`` (``critmat data import FILE --table
        eu_consumption``), if any.
    projects
        Your projects (file or frame, :func:`critmat.policy.inputs.read_projects`): content
        tonnes per year by material and stage, counted against the gap next to the CRMA
        Strategic Projects.

    Returns
    -------
    pandas.DataFrame
        One row per material and benchmark (:data:`TRACKER_COLUMNS`).

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> t = kb.policy.crma_benchmarks(materials="gallium")
    >>> row = t.set_index("benchmark").loc["single_third_country_cap"]
    >>> float(row["value"]), row["status"], row["third_country"]
    (0.69, 'not_met', 'CHN')
    """
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
    t = _proxy(sourcing, mats)
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
    for col, values in _project_columns(t, p, ancestors(kb)).items():
        t[col] = values
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


@memoised("policy.single_country_test", normalise=_own_files_uncached)
def single_country_test(
    kb: KnowledgeBase,
    *,
    materials: Selection = None,
    consumption: pd.DataFrame | str | Path | None = None,
) -> pd.DataFrame:
    """The CRMA 65 % single-third-country test per material, on EU consumption.

    Strategic materials use the tracker (:func:`benchmarks`); every other material with EU
    sourcing rows in the EU 2023 study (``eu_crm_2023``) is tested the same way: the
    largest non-EU supplier's share of EU sourcing, the maximum over the stages.

    Returns
    -------
    pandas.DataFrame
        ``material, crma_single_country, crma_single_country_country,
        crma_single_country_stage, crma_single_country_basis, crma_single_country_status``.
    """
    mats = kb.select.materials(materials)
    strategic = set(strategic_materials(kb)["material"])
    tr = benchmarks(kb, consumption=consumption)
    tr = tr[tr["benchmark"] == "single_third_country_cap"]
    out = tr[["material", "value", "third_country", "third_country_stage", "basis", "status"]]
    rest = kb.eu_crm_2023()
    if "mix" in rest.columns:
        eu = rest[(rest["mix"] == "eu_sourcing") & ~rest["material"].isin(strategic)]
        eu = eu[~eu["country"].isin(set(kb.select.countries("EU27") or []))]
        eu = eu.dropna(subset=["share"]).sort_values("share", ascending=False)
        top = eu.drop_duplicates("material")
        extra = pd.DataFrame(
            {
                "material": top["material"],
                "value": top["share"].astype("float64"),
                "third_country": top["country"],
                "third_country_stage": top["stage"],
                "basis": Basis.SHARE_PROXY.value,
            }
        )
        extra["status"] = benchmark_status(extra["value"].to_numpy(), 0.65, "at_most")
        out = pd.concat([out, extra], ignore_index=True)
    out = out.rename(
        columns={
            "value": "crma_single_country",
            "third_country": "crma_single_country_country",
            "third_country_stage": "crma_single_country_stage",
            "basis": "crma_single_country_basis",
            "status": "crma_single_country_status",
        }
    )
    if mats is not None:
        out = out[out["material"].isin(mats)]
    return out.reset_index(drop=True)
