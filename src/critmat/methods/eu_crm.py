"""EU CRM methodology: supply risk (SR) and economic importance (EI), METHODS.md §1.

Pure, vectorised functions over whole frames (every material x stage x mix at once; no Python
loop over materials or countries). The equations follow the 2017 Guidelines as used in the
2017, 2020 and 2023 assessments and codified in Regulation (EU) 2024/1252 Annex II::

    HHI_WGI,t = sum_c s_c^2 * WGI_c * t_c                       (per material, stage and mix)
    SR_k      = [HHI_GS * IR_k/2 + HHI_EU * (1 - IR_k/2)] * (1 - EoL_RIR) * SI_SR
    SR        = max_k SR_k                                       (the bottleneck stage)
    EI        = SI_EI * sum_s A_s * Q_s * 10 / max_s' Q_s'
    critical  = SR >= 1 and EI >= 2.8

with ``s_c`` a country's share (fraction) in the global supply (GS) or EU sourcing (EU) mix
of stage k, ``WGI_c`` its scaled governance (0 best ... 10 worst), ``t_c`` the trade-related
variable, ``IR_k`` the EU import reliance at that stage, ``A_s`` the share of end uses in
NACE sector s and ``Q_s`` the sector's value added. Mix rules at a stage (settled against
the published 2023 values, docs/eu-crm.md): ``GS+EU`` when both mixes and an IR exist;
``GSonly`` (HHI_GS at full weight) when there are no EU-sourcing rows or IR is missing;
``EUonly`` when only EU-sourcing rows exist.

Input corrections suggested by the reproduction study are never applied silently: see
:data:`CORRECTIONS` and :func:`apply_corrections`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from critmat.methods.governance import wgi_scaled

__all__ = [
    "CORRECTIONS",
    "EI_THRESHOLD",
    "MIXES",
    "SR_THRESHOLD",
    "Correction",
    "EuCrmInputs",
    "agreement",
    "apply_corrections",
    "bottleneck",
    "economic_importance",
    "eu_crm_scores",
    "group_means",
    "hhi_wgi_t",
    "is_critical",
    "resolve_corrections",
    "round_half_up",
    "scaled_governance",
    "supply_risk_by_stage",
]

#: Supply-risk threshold of the EU method (Guidelines 2017; CRMA Annex II).
SR_THRESHOLD = 1.0
#: Economic-importance threshold of the EU method.
EI_THRESHOLD = 2.8
#: Mix labels used by the 2023 assessment (and by critmat's results).
MIXES = ("GS+EU", "GSonly", "EUonly")

_GS, _EU = "global", "eu_sourcing"
_STAGES = ("extraction", "processing")


# --------------------------------------------------------------------------- rounding


def round_half_up(values: pd.Series | np.ndarray | float, decimals: int = 1) -> np.ndarray:
    """Round half up (away from zero for the non-negative scores) to ``decimals``.

    The EU assessment reports scores to one decimal; 0.25 -> 0.3, unlike numpy's half-even.
    A guard of 1e-9 absorbs binary representation error (2.65 is stored as 2.6499999...).

    Examples
    --------
    >>> round_half_up([0.25, 2.65, 2.61998, float("nan")]).tolist()
    [0.3, 2.7, 2.6, nan]
    """
    x = np.asarray(values, dtype="float64")
    scale = 10.0**decimals
    return np.floor(x * scale + 0.5 + 1e-9) / scale


def agreement(calculated: pd.Series, published: pd.Series, decimals: int = 1) -> pd.Series:
    """Whether two scores agree once both are rounded half up to ``decimals``.

    Returns a nullable boolean Series: ``<NA>`` where either value is missing (no comparison
    is possible), never ``False`` for a missing value.

    Examples
    --------
    >>> import pandas as pd
    >>> agreement(pd.Series([1.199, 0.46, None]), pd.Series([1.2, 0.4, 0.3])).tolist()
    [True, False, <NA>]
    """
    calc = round_half_up(calculated, decimals)
    pub = round_half_up(published, decimals)
    same = np.abs(calc - pub) < 1e-9
    out = pd.Series(same, index=calculated.index, dtype="boolean")
    out[np.isnan(calc) | np.isnan(pub)] = pd.NA
    return out


def is_critical(
    sr: pd.Series,
    ei: pd.Series,
    *,
    sr_threshold: float = SR_THRESHOLD,
    ei_threshold: float = EI_THRESHOLD,
    decimals: int | None = 1,
) -> pd.Series:
    """EU criticality flag ``SR >= sr_threshold and EI >= ei_threshold``.

    Parameters
    ----------
    sr, ei
        Supply risk and economic importance.
    sr_threshold, ei_threshold
        Thresholds (1.0 and 2.8 in the EU method, METHODS.md §1.5).
    decimals
        Compare the scores rounded half up to this many decimals, as the assessment
        publishes and classifies them (``None`` compares the unrounded values).

    Returns
    -------
    pandas.Series
        Nullable boolean: ``<NA>`` where SR or EI is missing, unless the other score alone
        already rules criticality out.

    Examples
    --------
    >>> import pandas as pd
    >>> is_critical(pd.Series([1.2, 0.96, 0.5, None]), pd.Series([8.7, 3.0, None, 4.0])
    ...             ).tolist()
    [True, True, False, <NA>]
    """
    s = np.asarray(sr, dtype="float64")
    e = np.asarray(ei, dtype="float64")
    if decimals is not None:
        s, e = round_half_up(s, decimals), round_half_up(e, decimals)
    s_ok = s >= sr_threshold - 1e-9
    e_ok = e >= ei_threshold - 1e-9
    out = pd.Series(s_ok & e_ok, index=sr.index, dtype="boolean")
    unknown = (np.isnan(s) & (np.isnan(e) | e_ok)) | (np.isnan(e) & (np.isnan(s) | s_ok))
    out[unknown] = pd.NA
    return out


# --------------------------------------------------------------------------- governance


def scaled_governance(
    governance: pd.DataFrame, years: Sequence[int], *, measure: str = "mean"
) -> pd.DataFrame:
    """EU scaled governance per country, averaged over ``years``.

    Parameters
    ----------
    governance
        Rows of one WGI vintage with ``country, year`` and ``wgi_mean`` (measure ``mean``)
        or ``pv`` (measure ``pv``).
    years
        Data years to average (one year or a range such as 2016-2020).
    measure
        ``mean``: the six-dimension WGI mean (the EU method); ``pv``: political stability
        and absence of violence only (for vintages that carry nothing else).

    Returns
    -------
    pandas.DataFrame
        ``country, wgi_scaled, n_years``: ``wgi_scaled = 5 - 2 * clip(x, -2.5, 2.5)`` per
        year (0 best ... 10 worst), then the mean over the years available for the country
        (``n_years`` of them).

    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({"country": ["A", "A", "B"], "year": [2016, 2017, 2017],
    ...                   "wgi_mean": [0.5, 0.3, -0.2]})
    >>> scaled_governance(g, [2016, 2017]).round(2).to_dict("list")
    {'country': ['A', 'B'], 'wgi_scaled': [4.2, 5.4], 'n_years': [2, 1]}
    """
    column = {"mean": "wgi_mean", "pv": "pv"}[measure]
    rows = governance[governance["year"].isin(list(years))]
    score = wgi_scaled(rows[column]).rename("wgi_scaled")
    g = score.groupby(rows["country"].to_numpy(), sort=True)
    out = pd.DataFrame({"wgi_scaled": g.mean(), "n_years": g.count()})
    out = out[out["n_years"] > 0]
    out.index.name = "country"
    return out.reset_index().astype({"n_years": "int64"})


# --------------------------------------------------------------------------- supply risk


def hhi_wgi_t(
    shares: pd.DataFrame,
    governance: pd.DataFrame,
    *,
    by: Sequence[str] = ("material", "stage", "mix"),
) -> pd.DataFrame:
    """Governance- and trade-weighted concentration ``HHI_WGI,t = sum_c s_c^2 WGI_c t_c``.

    Parameters
    ----------
    shares
        One row per group x supplier ``country`` with ``share`` (fraction) and ``t``.
    governance
        ``country, wgi_scaled`` (see :func:`scaled_governance`).
    by
        Group columns.

    Returns
    -------
    pandas.DataFrame
        ``by..., hhi_wgi_t, share_total, n_countries, missing_governance``. A group with a
        supplier that has no governance score gets NaN (never a silent default), and
        ``missing_governance`` lists those suppliers (comma-separated; empty otherwise).

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"m": ["x", "x"], "country": ["A", "B"], "share": [0.8, 0.2],
    ...                   "t": [1.1, 1.0]})
    >>> w = pd.DataFrame({"country": ["A", "B"], "wgi_scaled": [6.0, 2.0]})
    >>> round(float(hhi_wgi_t(s, w, by=["m"])["hhi_wgi_t"].iloc[0]), 6)
    4.304
    """
    keys = list(by)
    work = shares.loc[:, [*keys, "country", "share", "t"]].merge(
        governance.loc[:, ["country", "wgi_scaled"]],
        on="country",
        how="left",
        validate="many_to_one",
    )
    work["term"] = (
        work["share"].astype("float64") ** 2 * work["wgi_scaled"] * work["t"].astype("float64")
    )
    work["missing"] = work["wgi_scaled"].isna() | work["t"].isna()
    g = work.groupby(keys, observed=True, sort=True, dropna=False)
    out = g.agg(
        hhi_wgi_t=("term", "sum"),
        share_total=("share", "sum"),
        n_countries=("country", "nunique"),
        n_missing=("missing", "sum"),
    )
    missing_rows = work.loc[work["missing"], [*keys, "country"]].drop_duplicates()
    names = (
        missing_rows.sort_values("country")
        .groupby(keys, observed=True, sort=True)["country"]
        .agg(",".join)
    )
    out["missing_governance"] = names.reindex(out.index).fillna("")
    out.loc[out["n_missing"] > 0, "hhi_wgi_t"] = np.nan
    return out.drop(columns="n_missing").reset_index()


def _stage_frame(parameters: pd.DataFrame) -> pd.DataFrame:
    """One row per material x assessed stage with its IR, EoL-RIR and SI_SR."""
    p = parameters.loc[
        :, ["material", "stages_assessed", "ir_extraction", "ir_processing", "eol_rir", "si_sr"]
    ].copy()
    p["stage"] = p["stages_assessed"].astype("string").str.split(";")
    p = p.explode("stage", ignore_index=True)
    p = p[p["stage"].isin(_STAGES)]
    p["ir"] = np.where(
        p["stage"] == "extraction",
        p["ir_extraction"].astype("float64"),
        p["ir_processing"].astype("float64"),
    )
    return p.loc[:, ["material", "stage", "ir", "eol_rir", "si_sr"]].reset_index(drop=True)


def supply_risk_by_stage(
    hhi: pd.DataFrame,
    parameters: pd.DataFrame,
    *,
    group_of: Mapping[str, str] | None = None,
    mix_overrides: Mapping[tuple[str, str], str] | None = None,
) -> pd.DataFrame:
    """Supply risk of every material at every assessed stage, with the mix used.

    Parameters
    ----------
    hhi
        Output of :func:`hhi_wgi_t` grouped by ``material, stage, mix`` (mix ``global`` or
        ``eu_sourcing``).
    parameters
        ``material, stages_assessed`` (';'-separated), ``ir_extraction, ir_processing,
        eol_rir, si_sr`` (fractions).
    group_of
        ``{member: group material}``. A member without EU-sourcing rows at a stage uses its
        group's EU-sourcing mix when the group has one (the 2023 tables give one HREE
        extraction mix for the ten heavy rare earths).
    mix_overrides
        ``{(material, stage): "GSonly" | "EUonly" | "GS+EU"}``: force a mix (applied only where
        the mix's data exist). Used by the ``mix_labels`` correction.

    Returns
    -------
    pandas.DataFrame
        ``material, stage, mix, sr, hhi_gs, hhi_eu, eu_mix_of, ir, eol_rir, si_sr, note``.
        ``mix`` is ``GS+EU``, ``GSonly``, ``EUonly`` or empty (no supply data); ``eu_mix_of``
        names the material whose EU-sourcing rows were used; ``note`` says why ``sr`` is
        missing, if it is.

    Notes
    -----
    ``GS+EU``: ``[HHI_GS * IR/2 + HHI_EU * (1 - IR/2)] * (1 - EoL) * SI_SR``; ``GSonly``:
    ``HHI_GS * (1 - EoL) * SI_SR``; ``EUonly``: ``HHI_EU * (1 - EoL) * SI_SR``.
    """
    st = _stage_frame(parameters)
    present = hhi.loc[:, ["material", "stage", "mix", "hhi_wgi_t", "missing_governance"]]
    gs = (
        present[present["mix"] == _GS]
        .drop(columns="mix")
        .rename(columns={"hhi_wgi_t": "hhi_gs", "missing_governance": "missing_gs"})
    )
    eu = (
        present[present["mix"] == _EU]
        .drop(columns="mix")
        .rename(columns={"hhi_wgi_t": "hhi_eu", "missing_governance": "missing_eu"})
    )
    gs["has_gs"] = True
    eu["has_eu"] = True
    st = st.merge(gs, on=["material", "stage"], how="left").merge(
        eu, on=["material", "stage"], how="left"
    )
    st["has_gs"] = st["has_gs"].astype("boolean").fillna(False).astype(bool)
    st["has_eu"] = st["has_eu"].astype("boolean").fillna(False).astype(bool)
    st["eu_mix_of"] = st["material"].astype(object).where(st["has_eu"], None)
    if group_of:
        st["group"] = st["material"].map(dict(group_of))
        grp = eu.rename(
            columns={
                "material": "group",
                "hhi_eu": "hhi_eu_group",
                "missing_eu": "missing_eu_group",
                "has_eu": "has_eu_group",
            }
        )
        st = st.merge(grp, on=["group", "stage"], how="left")
        use = ~st["has_eu"] & st["has_eu_group"].astype("boolean").fillna(False).astype(bool)
        st.loc[use, "hhi_eu"] = st.loc[use, "hhi_eu_group"]
        st.loc[use, "missing_eu"] = st.loc[use, "missing_eu_group"]
        st.loc[use, "eu_mix_of"] = st.loc[use, "group"]
        st.loc[use, "has_eu"] = True
        st = st.drop(columns=["group", "hhi_eu_group", "missing_eu_group", "has_eu_group"])
    has_ir = st["ir"].notna()
    mix = np.select(
        [st["has_gs"] & st["has_eu"] & has_ir, st["has_gs"], st["has_eu"]],
        ["GS+EU", "GSonly", "EUonly"],
        default="",
    )
    mix = pd.Series(mix, index=st.index, dtype="object")
    if mix_overrides:
        table = pd.DataFrame(
            [(m, s, x) for (m, s), x in mix_overrides.items()],
            columns=["material", "stage", "forced"],
        )
        forced = (
            st[["material", "stage"]]
            .merge(table, how="left", on=["material", "stage"])["forced"]
            .fillna("")
            .set_axis(st.index)
        )
        allowed = (
            ((forced == "GSonly") & st["has_gs"])
            | ((forced == "EUonly") & st["has_eu"])
            | ((forced == "GS+EU") & st["has_gs"] & st["has_eu"] & has_ir)
        )
        mix = mix.where(~allowed, forced)
    st["mix"] = mix
    ir = st["ir"].astype("float64")
    blend = st["hhi_gs"] * ir / 2 + st["hhi_eu"] * (1 - ir / 2)
    core = np.select(
        [mix == "GS+EU", mix == "GSonly", mix == "EUonly"],
        [blend, st["hhi_gs"], st["hhi_eu"]],
        default=np.nan,
    )
    st["sr"] = core * (1 - st["eol_rir"].astype("float64")) * st["si_sr"].astype("float64")
    st["note"] = _stage_notes(st)
    st["mix"] = st["mix"].replace("", None)
    cols = [
        "material",
        "stage",
        "mix",
        "sr",
        "hhi_gs",
        "hhi_eu",
        "eu_mix_of",
        "ir",
        "eol_rir",
        "si_sr",
        "note",
    ]
    return st.loc[:, cols].sort_values(["material", "stage"], ignore_index=True)


def _stage_notes(st: pd.DataFrame) -> pd.Series:
    """Why a stage's SR is missing (vectorised string assembly)."""
    notes = pd.Series("", index=st.index, dtype="object")
    mix = st["mix"]

    def add(mask: pd.Series | np.ndarray, text: pd.Series | str) -> None:
        nonlocal notes
        text_s = text if isinstance(text, pd.Series) else pd.Series(text, index=st.index)
        sep = np.where(notes == "", "", "; ")
        notes = notes.where(~np.asarray(mask), notes + sep + text_s)

    add(mix == "", "no supply shares for this stage")
    uses_gs = mix.isin(["GS+EU", "GSonly"])
    uses_eu = mix.isin(["GS+EU", "EUonly"])
    miss_gs = st["missing_gs"].fillna("").astype(str)
    miss_eu = st["missing_eu"].fillna("").astype(str)
    add(uses_gs & (miss_gs != ""), "no governance score for " + miss_gs + " (global mix)")
    add(uses_eu & (miss_eu != ""), "no governance score for " + miss_eu + " (EU sourcing)")
    add(st["si_sr"].isna(), "SI_SR missing in the inputs")
    add(st["eol_rir"].isna(), "EoL-RIR missing in the inputs")
    return notes.replace("", None)


def _stage_used(sr_e: pd.Series, sr_p: pd.Series, sr: pd.Series) -> pd.Series:
    """The stage with the larger SR (ties and single-stage materials: as available)."""
    extraction_first = sr_p.isna() | (sr_e >= sr_p)
    stage = pd.Series("processing", index=sr.index, dtype=object)
    return stage.mask(extraction_first, "extraction").where(sr.notna(), None)


def bottleneck(stages: pd.DataFrame) -> pd.DataFrame:
    """Supply risk at the bottleneck stage: ``SR = max`` over the assessed stages.

    Parameters
    ----------
    stages
        Output of :func:`supply_risk_by_stage`.

    Returns
    -------
    pandas.DataFrame
        One row per material: ``material, sr, stage_used, sr_extraction, sr_processing,
        mix_extraction, mix_processing, note``. SR is missing when any assessed stage is
        missing (the maximum would otherwise be understated); ties go to extraction.
    """
    wide = stages.pivot(index="material", columns="stage", values=["sr", "mix"])
    out = pd.DataFrame(index=wide.index)
    for stage in _STAGES:
        out[f"sr_{stage}"] = (
            wide[("sr", stage)].astype("float64") if ("sr", stage) in wide.columns else np.nan
        )
        out[f"mix_{stage}"] = wide[("mix", stage)] if ("mix", stage) in wide.columns else None
    assessed = stages.assign(missing=stages["sr"].isna()).groupby("material")["missing"].any()
    sr_e, sr_p = out["sr_extraction"], out["sr_processing"]
    out["sr"] = np.fmax(sr_e, sr_p).where(~assessed.reindex(out.index).astype(bool))
    out["stage_used"] = _stage_used(sr_e, sr_p, out["sr"])
    notes = stages.dropna(subset=["note"])
    joined = (
        (notes["stage"].str.slice(0, 1).str.upper() + ": " + notes["note"])
        .groupby(notes["material"])
        .agg("; ".join)
    )
    out["note"] = joined.reindex(out.index)
    cols = [
        "sr",
        "stage_used",
        "sr_extraction",
        "sr_processing",
        "mix_extraction",
        "mix_processing",
        "note",
    ]
    return out.loc[:, cols].reset_index()


def group_means(
    scores: pd.DataFrame, groups: Mapping[str, Sequence[str]], columns: Sequence[str]
) -> pd.DataFrame:
    """Scores of group materials (HREE, LREE, PGM) as the arithmetic mean of their members.

    The published 2023 group values equal the means of the published member values
    (HREE SR 5.1, LREE 3.7, PGM 2.7). A group value is missing when any member's is.

    Parameters
    ----------
    scores
        One row per material with ``material`` and the ``columns`` to average.
    groups
        ``{group material: [members]}``.
    columns
        Columns to average.

    Returns
    -------
    pandas.DataFrame
        ``material`` (the group), the averaged ``columns``, ``n_members`` and
        ``incomplete``: per column that some members have, the members without a value
        (empty when complete).

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"material": ["a", "b", "c"], "sr": [1.0, 2.0, 4.0],
    ...                   "ei": [3.0, None, 5.0]})
    >>> group_means(s, {"g": ["a", "b"]}, ["sr", "ei"]).to_dict("records")
    [{'material': 'g', 'sr': 1.5, 'ei': nan, 'n_members': 2, 'incomplete': 'ei: b'}]
    """
    members = pd.DataFrame(
        [(g, m) for g, ms in groups.items() for m in ms], columns=["group", "material"]
    )
    merged = members.merge(scores.loc[:, ["material", *columns]], on="material", how="left")
    g = merged.groupby("group", sort=True)
    means = g[list(columns)].mean()
    complete = g[list(columns)].count().eq(g.size(), axis=0)
    out = means.where(complete)
    out["n_members"] = g.size()
    long = merged.melt(
        id_vars=["group", "material"],
        value_vars=list(columns),
        var_name="column",
        value_name="value",
    )
    # a column no member has (a stage not assessed for the group) is not a gap
    some = long.groupby(["group", "column"], sort=False)["value"].transform("count") > 0
    long = long[long["value"].isna() & some]
    per_col = long.groupby(["group", "column"], sort=False)["material"].agg(", ".join)
    text = per_col.index.get_level_values("column") + ": " + per_col.to_numpy()
    incomplete = (
        pd.Series(text, index=per_col.index.get_level_values("group"))
        .groupby(level=0)
        .agg("; ".join)
    )
    out["incomplete"] = incomplete.reindex(out.index).fillna("")
    out.index.name = "material"
    return out.reset_index()


# --------------------------------------------------------------------------- economic importance


def economic_importance(
    end_use: pd.DataFrame, si_ei: pd.Series, *, reference_va: float | None = None
) -> pd.DataFrame:
    """Economic importance ``EI = SI_EI * sum_s A_s Q_s * 10 / max_s' Q_s'`` per material.

    Parameters
    ----------
    end_use
        ``material, share, value_added_meur``: one row per application (x NACE sector) with
        its share of end uses and the sector's value added. Rows without a sector (empty
        value added, the report's unallocated "Other") contribute nothing; the shares are
        used as tabulated (not re-normalised), which reproduces the published values.
    si_ei
        Substitution index for EI, indexed by material.
    reference_va
        Value added of the largest sector (the scaling denominator). ``None`` takes the
        largest ``value_added_meur`` in ``end_use``; pass the full table (all materials),
        since the 2023 scaling runs over every sector, not only a material's own
        (204,200 MEUR, C28 machinery).

    Returns
    -------
    pandas.DataFrame
        ``material, ei, ei_unscaled_meur, share_total, share_unallocated, reference_va_meur,
        note``.
    """
    va = end_use["value_added_meur"].astype("float64")
    share = end_use["share"].astype("float64")
    ref = float(va.max()) if reference_va is None else float(reference_va)
    work = pd.DataFrame(
        {
            "material": end_use["material"].to_numpy(),
            "aq": (share * va.fillna(0.0)).to_numpy(),
            "share": share.to_numpy(),
            "unallocated": share.where(va.isna(), 0.0).to_numpy(),
        }
    )
    g = work.groupby("material", sort=True)
    out = pd.DataFrame(
        {
            "ei_unscaled_meur": g["aq"].sum(),
            "share_total": g["share"].sum(),
            "share_unallocated": g["unallocated"].sum(),
        }
    )
    si = si_ei.astype("float64").reindex(out.index)
    out["ei"] = si * out["ei_unscaled_meur"] * 10.0 / ref
    out["reference_va_meur"] = ref
    out["note"] = pd.Series("SI_EI missing in the inputs", index=out.index, dtype=object).where(
        si.isna(), None
    )
    out.index.name = "material"
    cols = [
        "ei",
        "ei_unscaled_meur",
        "share_total",
        "share_unallocated",
        "reference_va_meur",
        "note",
    ]
    return out.loc[:, cols].reset_index()


# --------------------------------------------------------------------------- corrections


@dataclass(frozen=True)
class EuCrmInputs:
    """The inputs of an EU CRM assessment.

    Attributes
    ----------
    shares
        ``material, stage, mix, country, share, t`` (table ``eu_crm_2023``).
    parameters
        ``material, stages_assessed, si_ei, si_sr, ir_extraction, ir_processing, eol_rir``.
    end_use
        ``material, application, share, value_added_meur`` (``eu_crm_2023_end_use``).
    mix_overrides
        ``{(material, stage): mix}`` forced by corrections.
    """

    shares: pd.DataFrame
    parameters: pd.DataFrame
    end_use: pd.DataFrame
    mix_overrides: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass(frozen=True)
class Correction:
    """An input correction suggested by the reproduction of the published values.

    Attributes
    ----------
    name
        Identifier used in ``corrections=``.
    description
        What it changes.
    evidence
        Why (the numbers that support it).
    """

    name: str
    description: str
    evidence: str


#: Corrections of the public transcriptions of the 2023 inputs (docs/eu-crm.md). None is
#: applied unless asked for. They change inputs only where the transcription is shown to be
#: wrong or misplaced; they never add data that is not in the tables (the missing Finnish
#: share of chromium's EU sourcing, for instance, is *not* added).
CORRECTIONS: dict[str, Correction] = {
    c.name: c
    for c in (
        Correction(
            "kaolin_eol",
            "Kaolin EoL-RIR 31 % -> 0 %.",
            "The transcribed 31 % repeats iron ore's value; with 0 % kaolin's SR_E 0.77 and SR_P "
            "0.48 reproduce the published 0.8 and 0.5 (0.52 and 0.34 with 31 %).",
        ),
        Correction(
            "titanium_metal_extraction",
            "Titanium metal, extraction stage: use titanium's extraction inputs (global and EU "
            "sourcing shares, IR_E 100 %).",
            "Titanium metal is made from the same ores; its own IR_E is blank in the "
            "transcription although the report used the GS+EU mix (SR_E 0.5), which these inputs "
            "reproduce.",
        ),
        Correction(
            "mix_labels",
            "Rhenium, scandium, ytterbium and cerium, processing stage: global mix only, as the "
            "published mix labels (GSonly) say, although the EU-sourcing table has rows for them.",
            "Ytterbium's EU rows duplicate yttrium's and rhenium's read 'Poland 100 %' against an "
            "IR of 92 %; with GSonly the published SR_P of Re 0.5, Sc 2.4, Yb 5.6 and Ce 4.0 "
            "reproduce.",
        ),
        Correction(
            "titanium_metal_end_use",
            "The end-use block transcribed under 'Titanium' (aerospace 45 %, medical 25 %, ...) is "
            "titanium metal's: it is used for titanium metal's EI, and titanium (ores, pigment) "
            "gets no EI.",
            "With SI_EI 1.00 the block gives 6.28 -> 6.3, titanium metal's published EI; with "
            "titanium's SI_EI 0.92 it gives 5.78, not titanium's published 5.4.",
        ),
    )
}

_MIX_LABEL_FIXES = {
    ("rhenium", "processing"): "GSonly",
    ("scandium", "processing"): "GSonly",
    ("ytterbium", "processing"): "GSonly",
    ("cerium", "processing"): "GSonly",
}


def resolve_corrections(value: bool | str | Iterable[str] | None) -> list[str]:
    """Return the correction names requested by ``corrections=``.

    ``True`` or ``"all"`` means every correction; ``False``/``None``/``"none"`` none; a
    comma-separated string or a list selects by name.

    Raises
    ------
    critmat.errors.UnknownNameError
        For an unknown name, with the closest valid ones.
    """
    from critmat.errors import UnknownNameError, closest

    if value is None or value is False:
        return []
    if value is True:
        return list(CORRECTIONS)
    items = [value] if isinstance(value, str) else list(value)
    names = [p.strip() for item in items for p in str(item).split(",") if p.strip()]
    if [n.lower() for n in names] == ["all"]:
        return list(CORRECTIONS)
    if [n.lower() for n in names] in (["none"], []):
        return []
    for n in names:
        if n not in CORRECTIONS:
            raise UnknownNameError(
                "correction",
                n,
                where="corrections=",
                suggestions=closest(n, list(CORRECTIONS)) or list(CORRECTIONS),
            )
    return list(dict.fromkeys(names))


def apply_corrections(inputs: EuCrmInputs, names: Sequence[str]) -> EuCrmInputs:
    """Return the inputs with the named :data:`CORRECTIONS` applied (the input is unchanged)."""
    shares, params, end_use = inputs.shares, inputs.parameters, inputs.end_use
    overrides = dict(inputs.mix_overrides)
    if "kaolin_eol" in names:
        params = params.copy()
        params.loc[params["material"] == "kaolin", "eol_rir"] = 0.0
    if "titanium_metal_extraction" in names:
        ti = shares[(shares["material"] == "titanium") & (shares["stage"] == "extraction")]
        keep = ~((shares["material"] == "titanium_metal") & (shares["stage"] == "extraction"))
        shares = pd.concat([shares[keep], ti.assign(material="titanium_metal")], ignore_index=True)
        params = params.copy()
        ir_e = params.loc[params["material"] == "titanium", "ir_extraction"]
        if len(ir_e):
            params.loc[params["material"] == "titanium_metal", "ir_extraction"] = ir_e.iloc[0]
    if "mix_labels" in names:
        overrides.update(_MIX_LABEL_FIXES)
    if "titanium_metal_end_use" in names:
        end_use = end_use[end_use["material"] != "titanium_metal"].copy()
        end_use.loc[end_use["material"] == "titanium", "material"] = "titanium_metal"
    return replace(
        inputs, shares=shares, parameters=params, end_use=end_use, mix_overrides=overrides
    )


# --------------------------------------------------------------------------- all together


def eu_crm_scores(
    inputs: EuCrmInputs,
    governance: pd.DataFrame,
    *,
    groups: Mapping[str, Sequence[str]] | None = None,
    corrections: Sequence[str] = (),
    reference_va: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SR per stage, SR at the bottleneck, EI and the criticality flag of every material.

    Parameters
    ----------
    inputs
        Shares, parameters and end uses (:class:`EuCrmInputs`).
    governance
        ``country, wgi_scaled`` (:func:`scaled_governance`).
    groups
        ``{group material: [members]}``: groups are scored as member means and members
        without EU-sourcing rows use the group's (:func:`supply_risk_by_stage`).
    corrections
        Names from :data:`CORRECTIONS` to apply first.
    reference_va
        Scaling denominator of EI (default: the largest value added in ``inputs.end_use``).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Per material: ``material, sr, stage_used, sr_extraction, sr_processing, ei,
        critical, mix_extraction, mix_processing, is_group, ...`` and per material x stage
        the output of :func:`supply_risk_by_stage`.
    """
    groups = dict(groups or {})
    fixed = apply_corrections(inputs, list(corrections))
    group_of = {m: g for g, ms in groups.items() for m in ms}
    individual = fixed.parameters[~fixed.parameters["material"].isin(list(groups))]
    hhi = hhi_wgi_t(fixed.shares, governance)
    stages = supply_risk_by_stage(
        hhi, individual, group_of=group_of, mix_overrides=fixed.mix_overrides
    )
    sr = bottleneck(stages)
    si_ei = fixed.parameters.set_index("material")["si_ei"]
    ei = economic_importance(fixed.end_use, si_ei, reference_va=reference_va)
    scores = sr.merge(ei.rename(columns={"note": "ei_note"}), on="material", how="left")
    scores["is_group"] = False
    if groups:
        means = group_means(scores, groups, ["sr", "sr_extraction", "sr_processing", "ei"])
        means["stage_used"] = _stage_used(
            means["sr_extraction"], means["sr_processing"], means["sr"]
        )
        means["is_group"] = True
        means["note"] = (
            "mean of "
            + means["n_members"].astype(str)
            + " members"
            + np.where(
                means["incomplete"] != "", "; members without a value: " + means["incomplete"], ""
            )
        )
        scores = pd.concat(
            [scores, means.drop(columns=["n_members", "incomplete"])], ignore_index=True
        )
    scores["critical"] = is_critical(scores["sr"], scores["ei"])
    return scores.sort_values("material", ignore_index=True), stages
