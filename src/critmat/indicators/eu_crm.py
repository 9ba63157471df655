"""EU CRM supply risk and economic importance over the knowledge base (METHODS.md §1).

:func:`eu_supply_risk` pulls the 2023 assessment's inputs (supply shares and t, parameters,
end uses), the chosen WGI vintage and years, applies the requested corrections, calls the
pure methods of :mod:`critmat.methods.eu_crm` and sets the results next to the published
values with the curated reason for every value that does not agree to one decimal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmat.columns import units as column_units
from critmat.data.cache import memoised
from critmat.dims import GROUP_MATERIALS, parse_stage
from critmat.indicators.common import reject
from critmat.indicators.eu_crm_contract import (
    CONTRACT_COLUMNS,
    DEFAULT_WGI_VINTAGE,
    DEFAULT_WGI_YEARS,
    MEASURES,
)
from critmat.methods.eu_crm import (
    CORRECTIONS,
    EI_THRESHOLD,
    SR_THRESHOLD,
    EuCrmInputs,
    agreement,
    apply_corrections,
    eu_crm_scores,
    is_critical,
    resolve_corrections,
    scaled_governance,
)
from critmat.params import GroupBy, ParameterError, Selection, parse_years
from critmat.provenance import attach
from critmat.vocab import EuCrmStatus

if TYPE_CHECKING:
    from critmat.knowledge_base import KnowledgeBase

__all__ = [
    "COMPUTED_YEARS",
    "CONTRACT_COLUMNS",
    "DEFAULT_WGI_VINTAGE",
    "DEFAULT_WGI_YEARS",
    "MEASURES",
    "PUBLISHED_YEARS",
    "eu_supply_risk",
]

#: Assessments critmat has the inputs of (and so computes).
COMPUTED_YEARS = (2023,)
#: Assessments whose published SR/EI are in table ``eu_crm_assessments``.
PUBLISHED_YEARS = (2011, 2014, 2017, 2020, 2023)
# DEFAULT_WGI_VINTAGE, DEFAULT_WGI_YEARS, MEASURES and CONTRACT_COLUMNS live in
# critmat.indicators.eu_crm_contract (the CLI imports them without pandas) and are
# re-exported here.

_LABEL = {"sr_extraction": "SR_E", "sr_processing": "SR_P", "sr": "SR", "ei": "EI"}
_MEASURE_NAMES = {
    "auto": "auto",
    "mean": "mean",
    "six_dimension_mean": "mean",
    "wgi_mean": "mean",
    "pv": "pv",
    "political_stability": "pv",
}
_MEASURE_TEXT = {
    "mean": "six-dimension WGI mean (VA, PV, GE, RQ, RL, CC)",
    "pv": "political stability and absence of violence (PV) only",
}


def _year(year: Any) -> int:
    try:
        value = int(str(year).strip())
    except ValueError:
        value = -1
    if value not in PUBLISHED_YEARS:
        raise ParameterError(
            f"year={year!r} is not an EU assessment critmat knows; computed: "
            f"{', '.join(map(str, COMPUTED_YEARS))}; published values only: "
            f"{', '.join(str(y) for y in PUBLISHED_YEARS if y not in COMPUTED_YEARS)}"
        )
    return value


def _wgi(
    kb: KnowledgeBase, vintage: str, years: Any, measure: str
) -> tuple[pd.DataFrame, pd.DataFrame, list[int], str]:
    """Scaled governance per country for the vintage, years and measure asked for."""
    gov = kb.select.governance(vintage, where="governance_vintage=")
    key = _MEASURE_NAMES.get(str(measure).strip().lower())
    if key is None:
        raise ParameterError(
            f"wgi_measure={measure!r} is not known; expected auto, mean "
            "(six-dimension WGI mean) or pv (political stability only)"
        )
    has_mean = bool(gov["wgi_mean"].notna().any())
    if key == "auto":
        key = "mean" if has_mean else "pv"
    elif key == "mean" and not has_mean:
        raise ParameterError(
            f"WGI vintage '{vintage}' has no six-dimension mean (political "
            "stability only); use wgi_measure='pv' or another vintage "
            "(wgi_2023, wgi_2024)"
        )
    column = "wgi_mean" if key == "mean" else "pv"
    available = sorted(int(y) for y in gov.loc[gov[column].notna(), "year"].unique())
    wanted = parse_years(years)
    if wanted is None:
        raise ParameterError(
            "wgi_years= needs one year or a range (e.g. 2017 or 2016-2020), not all years"
        )
    outside = [y for y in wanted if y not in available]
    if outside:
        raise ParameterError(
            f"wgi_years={years!r}: {', '.join(map(str, outside))} not in WGI vintage "
            f"'{vintage}' (data years {available[0]}-{available[-1]})"
        )
    used = gov[gov["year"].isin(wanted)]
    return scaled_governance(used, wanted, measure=key), used, wanted, key


def _inputs(kb: KnowledgeBase) -> tuple[EuCrmInputs, list[pd.DataFrame]]:
    shares = kb.table("eu_crm_2023")
    params = kb.table("eu_crm_2023_parameters")
    end_use = kb.table("eu_crm_2023_end_use")
    return EuCrmInputs(shares=shares, parameters=params, end_use=end_use), [shares, params, end_use]


def _groups(materials: pd.DataFrame, assessed: Iterable[str]) -> dict[str, list[str]]:
    """``{group material: members}`` for the groups assessed as such (HREE, LREE, PGM)."""
    assessed = set(assessed)
    group_mat = materials["group"].map(GROUP_MATERIALS)
    members = materials.assign(group_material=group_mat)
    members = members[members["group_material"].isin(assessed) & members["material"].isin(assessed)]
    return {str(g): sorted(m) for g, m in members.groupby("group_material")["material"]}


def _reasons(frame: pd.DataFrame, notes: pd.DataFrame) -> pd.Series:
    """One text per material: the curated reason of every measure that disagrees."""
    long = frame.melt(
        id_vars="material",
        value_vars=[f"agrees_{m}" for m in MEASURES],
        var_name="measure",
        value_name="agrees",
    )
    long["measure"] = long["measure"].str.removeprefix("agrees_")
    long = long[long["agrees"].eq(False).fillna(False).astype(bool)]
    long = long.merge(
        notes.loc[:, ["material", "measure", "reason"]], on=["material", "measure"], how="left"
    )
    long["reason"] = long["reason"].fillna("no curated reason for these settings")
    long["order"] = long["measure"].map({m: i for i, m in enumerate(MEASURES)})
    long = long.sort_values(["material", "order"])
    text = long["measure"].map(_LABEL) + ": " + long["reason"]
    return text.groupby(long["material"]).agg(" | ".join)


def _published_only(
    kb: KnowledgeBase, year: int, mats: list[str] | None, params: dict[str, Any]
) -> pd.DataFrame:
    pub = kb.table("eu_crm_assessments", years=year, materials=mats)
    pub = pub[pub["sr"].notna() | pub["ei"].notna()]
    out = pd.DataFrame({"material": pub["material"].to_numpy()})
    out["stage_used"] = pd.Series(None, index=out.index, dtype=object)
    for col in ("sr", "sr_extraction", "sr_processing", "ei"):
        out[col] = np.nan
    out["critical"] = pd.Series(pd.NA, index=out.index, dtype="boolean")
    out["published_sr"] = pub["sr"].to_numpy()
    out["published_ei"] = pub["ei"].to_numpy()
    out["status"] = EuCrmStatus.PUBLISHED_ONLY.format(year=year)
    out["reason"] = None
    out = out.sort_values("material", ignore_index=True)
    prov = kb.provenance("eu_supply_risk", pub, **params)
    prov.units = column_units("eu_supply_risk", out.columns)
    prov.notes = [
        f"the {year} assessment: critmat has its published SR and EI "
        "(eu_crm_assessments) but not its inputs, so nothing is computed; "
        f"computed assessments: {', '.join(map(str, COMPUTED_YEARS))}",
        "the 2011 and 2014 scores come from the earlier methodology and are not on "
        "the scale of 2017-2023",
    ]
    return attach(out, prov)


@memoised("indicators.eu_crm_scores")  # the assessment, defence criticality and reports
def _scored(
    kb: KnowledgeBase, governance_vintage: str, wgi_years: Any, wgi_measure: str, names: list[str]
) -> tuple[Any, ...]:
    """Governance, inputs and scores of the EU method, once per knowledge base and choice."""
    wgi, gov_used, wgi_year_list, measure = _wgi(kb, governance_vintage, wgi_years, wgi_measure)
    inputs, used = _inputs(kb)
    material_table = kb.materials()
    groups = _groups(material_table, inputs.parameters["material"])
    fixed = apply_corrections(inputs, names)
    scores, stages = eu_crm_scores(fixed, wgi, groups=groups)
    return (
        wgi,
        gov_used,
        wgi_year_list,
        measure,
        inputs,
        used,
        material_table,
        fixed,
        scores,
        stages,
    )


@memoised("indicators.eu_crm_known")
def _known(
    kb: KnowledgeBase, governance_vintage: str, wgi_years: Any, wgi_measure: str, names: list[str]
) -> list[str]:
    """The materials with scores or published values (rows of :func:`_all_materials`)."""
    scores = _scored(kb, governance_vintage, wgi_years, wgi_measure, names)[8]
    pub = kb.table("eu_crm_2023_published")
    return sorted(set(scores["material"]) | set(pub["material"]))


@memoised("indicators.eu_supply_risk_all")  # every selection of materials filters it
def _all_materials(
    kb: KnowledgeBase,
    governance_vintage: str,
    wgi_years: Any,
    wgi_measure: str,
    names: list[str],
    st: str | None,
    extra: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[int], str]:
    """SR, EI, published values and inputs of every material (and of ``extra``), one frame.

    Returns the frame, the ``source_id`` of every input row, the governance, its years and
    measure.
    """
    (wgi, gov_used, wgi_year_list, measure, inputs, used, material_table, fixed, scores, stages) = (
        _scored(kb, governance_vintage, wgi_years, wgi_measure, names)
    )

    # published values, agreement and reasons
    pub = kb.table("eu_crm_2023_published")
    notes = kb.table("eu_crm_2023_reproduction_notes")
    used += [pub, notes, gov_used, material_table]
    p = pub.set_index("material")
    out = scores.set_index("material")
    every = sorted(set(out.index) | set(p.index) | set(extra))
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
    sources = pd.concat([f.loc[:, ["source_id"]] for f in used if "source_id" in f.columns])
    return frame, sources, wgi, wgi_year_list, measure


@memoised("indicators.eu_supply_risk")  # once per knowledge base and arguments
def eu_supply_risk(
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
    """EU supply risk (SR) and economic importance (EI) next to the published values.

    Parameters
    ----------
    kb
        Knowledge base (user rows imported into ``eu_crm_2023``, ``eu_crm_2023_parameters``,
        ``eu_crm_2023_end_use`` or ``governance`` are used too).
    materials
        Materials to report (default: every material of the assessment, groups HREE, LREE,
        PGM included). A material the assessment did not cover gets an empty row with a
        ``status`` saying so.
    year
        The assessment. 2023 is computed; for 2011, 2014, 2017 and 2020 critmat has the
        published SR and EI only (table ``eu_crm_assessments``), which are returned with empty
        computed columns.
    stage
        ``None``: SR at the bottleneck stage (the maximum over the assessed stages, as the
        EU method). ``extraction`` or ``processing``: ``sr``, ``stage_used``, ``critical``
        and ``published_sr`` refer to that stage instead.
    governance_vintage
        Governance table vintage: ``wgi_2023`` (default), ``wgi_2024``,
        ``wgi_pv_geopolrisk`` or a user vintage.
    wgi_years
        WGI data year or range averaged (default 2017, the best fit to the published values;
        e.g. ``"2016-2020"`` for the 5-year mean of the assessment period).
    wgi_measure
        ``auto`` (six-dimension mean where the vintage has it, else political stability),
        ``mean`` or ``pv``. The provenance names the one used.
    corrections
        ``False`` (default), ``True`` for all, or names from
        :data:`critmat.methods.eu_crm.CORRECTIONS` (``kaolin_eol``,
        ``titanium_metal_extraction``, ``mix_labels``, ``titanium_metal_end_use``).
    importers, exporters, years, groupby
        Not applicable (the EU method has no importer, and its data years are those of the
        assessment): an error if given. Use ``year=`` and ``wgi_years=``.

    Returns
    -------
    pandas.DataFrame
        One row per material: ``material, stage_used, sr, sr_extraction, sr_processing, ei,
        critical, published_sr, published_ei`` (the CLI contract), then
        ``published_stage_used, published_sr_extraction, published_sr_processing,
        agrees_sr, agrees_sr_extraction, agrees_sr_processing, agrees_ei, reason,
        mix_extraction, mix_processing, published_mix_extraction, published_mix_processing,
        hhi_*, ir_*, eol_rir, si_sr, si_ei, ei_unscaled_meur, ei_share_unallocated,
        is_group, crma_strategic, crma_critical, status``. ``agrees_*`` compare both values
        rounded half up to one decimal (``<NA>`` where one is missing); ``reason`` gives the
        curated reason (table ``eu_crm_2023_reproduction_notes``) of every disagreement.
        Units and provenance (governance measure and years, corrections) are in
        ``attrs["critmat"]``.

    Examples
    --------
    >>> import critmat
    >>> kb = critmat.load(user_data=False)
    >>> w = kb.indicators.eu_supply_risk(materials="tungsten").iloc[0]
    >>> round(float(w["sr"]), 1), w["stage_used"], round(float(w["ei"]), 1), bool(w["critical"])
    (1.2, 'processing', 8.7, True)
    >>> float(w["published_sr"]), float(w["published_ei"]), w["published_stage_used"]
    (1.2, 8.7, 'processing')
    """
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

    # every material of the study and the published table, plus every other material of the
    # knowledge base (empty rows, each independent of the others): one frame shared by every
    # selection, whichever materials it asks for; no selection shows the empty rows it did
    # not ask for
    known = set(_known(kb, governance_vintage, wgi_years, wgi_measure, names))
    extra = sorted(set(kb.materials()["material"]) - known)
    if not set(mats or []) <= known | set(extra):  # not a material of the table: its own
        extra = sorted(set(mats or []) - known)
    frame, sources, wgi, wgi_year_list, measure = _all_materials(
        kb, governance_vintage, wgi_years, wgi_measure, names, st, extra
    )
    frame = frame[frame["material"].isin(known if mats is None else mats)]
    frame = frame.loc[:, _COLUMNS].sort_values("material", ignore_index=True)
    frame["critical"] = frame["critical"].astype("boolean")

    prov = kb.provenance(
        "eu_supply_risk",
        sources,
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


_COLUMNS = [
    *CONTRACT_COLUMNS,
    "published_stage_used",
    "published_sr_extraction",
    "published_sr_processing",
    "agrees_sr",
    "agrees_sr_extraction",
    "agrees_sr_processing",
    "agrees_ei",
    "reason",
    "mix_extraction",
    "mix_processing",
    "published_mix_extraction",
    "published_mix_processing",
    "eu_mix_of_extraction",
    "eu_mix_of_processing",
    "hhi_gs_extraction",
    "hhi_eu_extraction",
    "hhi_gs_processing",
    "hhi_eu_processing",
    "ir_extraction",
    "ir_processing",
    "eol_rir",
    "si_sr",
    "si_ei",
    "ei_unscaled_meur",
    "ei_share_unallocated",
    "reference_va_meur",
    "is_group",
    "crma_strategic",
    "crma_critical",
    "status",
]


def _status(frame: pd.DataFrame, assessed: set[str]) -> pd.Series:
    """Why values are missing: not assessed, stage notes, EI notes (vectorised)."""
    in_study = frame["material"].isin(list(assessed))
    individual = ~frame["is_group"].fillna(False).astype(bool)
    no_ei = frame["ei_note"].fillna(EuCrmStatus.EI_NOT_COMPUTABLE.value)
    parts = [
        pd.Series(EuCrmStatus.NOT_IN_STUDY.value, index=frame.index).where(~in_study),
        frame["note"],
        no_ei.where(in_study & frame["ei"].isna() & individual),
    ]
    joined = pd.Series(pd.NA, index=frame.index, dtype="string")
    for part in parts:  # three columns, each joined over every row at once
        text = part.astype("string")
        joined = (joined + "; " + text).fillna(joined).fillna(text)
    return joined.fillna(EuCrmStatus.OK.value).astype(object)


def _notes(
    vintage: str,
    years: list[int],
    measure: str,
    corrections: list[str],
    wgi: pd.DataFrame,
    stage: str | None,
) -> list[str]:
    span = str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]} (mean)"
    partial = wgi[wgi["n_years"] < len(years)]
    notes = [
        f"governance: {_MEASURE_TEXT[measure]}, WGI vintage {vintage}, data year(s) {span}, "
        "scaled 5 - 2 x value (0 best ... 10 worst); EU members get their own score",
        "governance default (wgi_2023, 2017) is the best fit to the published 2023 values, "
        "not the Commission's documented choice (its WGI release is not available)",
        "SR_k = [HHI_GS x IR_k/2 + HHI_EU x (1 - IR_k/2)] x (1 - EoL_RIR) x SI_SR with "
        "HHI = sum s_c^2 x WGI_c x t_c; GSonly (HHI_GS at full weight) without EU-sourcing "
        "rows or IR; EUonly with EU-sourcing rows only; members of HREE without own EU rows "
        "use the HREE mix; '<0.1%' shares enter at their bound 0.001",
        "SR = maximum over the assessed stages (missing if any assessed stage is); groups "
        "HREE, LREE, PGM = mean of their members",
        "EI = SI_EI x sum(share x sector value added) x 10 / largest sector value added "
        "(C28, over all sectors); application shares without a sector count 0",
        f"critical = SR >= {SR_THRESHOLD} and EI >= {EI_THRESHOLD} on scores rounded half "
        "up to one decimal; CRMA strategic raw materials (crma_strategic) are listed as "
        "critical regardless (Reg. (EU) 2024/1252, METHODS.md §1.5)",
        "agrees_* compare computed and published values rounded half up to one decimal; "
        "reason = eu_crm_2023_reproduction_notes (curated for the default settings)",
    ]
    if stage is not None:
        notes.append(
            f"stage={stage}: sr, stage_used, critical and published_sr refer to the "
            f"{stage} stage, not to the bottleneck"
        )
    if len(partial):
        notes.append(
            f"governance averaged over fewer years for {len(partial)} countries: "
            + ", ".join(partial["country"].head(20))
        )
    if corrections:
        notes += [f"correction {n}: {CORRECTIONS[n].description}" for n in corrections]
    else:
        notes.append(
            "no input corrections applied (corrections=False); see "
            "critmat.methods.eu_crm.CORRECTIONS"
        )
    return notes
