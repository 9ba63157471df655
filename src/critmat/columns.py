"""Metadata of every result column: name, unit, description, allowed statuses (STYLE S3).

One table, per result family (the frames one function returns), drives

* the units in each result's provenance (:func:`units`: one spelling, from
  :mod:`critmat.units`),
* the column descriptions written next to CSV/JSON/Parquet/XLSX files in the provenance
  sidecar (:func:`describe`, used by :func:`critmat.output.write_frame`),
* the generated reference ``docs/results.md`` (:func:`results_markdown`, kept current by a
  test), and
* the API's response schemas (:func:`json_schema`: JSON-schema-ready properties with type,
  description, unit and the allowed values of status columns).

A column name may hold a placeholder in braces (``top{n}_share``, ``shortfall_p{q}``): it
stands for every column that matches with a number in its place.

Examples
--------
>>> family("geopolrisk").column("score").unit
'fraction'
>>> units("concentration", ["material", "hhi", "top3_share"])
{'hhi': 'fraction', 'top3_share': 'fraction'}
>>> json_schema("concentration")["properties"]["status"]["enum"]
['ok', 'no_supply']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from critmat import units as u
from critmat.errors import UnknownNameError, closest
from critmat.vocab import (
    BacktestStatus,
    BacktestVerdict,
    BenchmarkBasis,
    BenchmarkStatus,
    CapabilitySupplyStatus,
    ConcentrationStatus,
    CriticalBasis,
    CriticalityCategory,
    DecisionInputStatus,
    DefenceDemandStatus,
    DependencyStatus,
    EuCrmStatus,
    GeoPolRiskStatus,
    Kind,
    NirStatus,
    PhysicalDemandStatus,
    PriceStatus,
    SupplyMixStatus,
    Vocabulary,
)
from critmat.vocab import describe as describe_vocabulary

__all__ = [
    "FAMILIES",
    "Column",
    "Family",
    "describe",
    "family",
    "family_of",
    "json_schema",
    "results_markdown",
    "units",
]

_JSON_TYPES = {"number": "number", "integer": "integer", "string": "string", "boolean": "boolean"}


@dataclass(frozen=True)
class Column:
    """One result column.

    Attributes
    ----------
    name
        Column name; ``{...}`` marks a number that varies (``top{n}_share``).
    description
        What the column holds (one sentence; shown in sidecars, docs and the API schema).
    unit
        Unit (a constant of :mod:`critmat.units`), ``None`` for text, flags and ids.
    dtype
        JSON type: ``number``, ``integer``, ``string`` or ``boolean``.
    label
        Short heading for tables (default: the name).
    statuses
        The vocabulary of a status or category column (:mod:`critmat.vocab`).
    free_text
        The column may hold text beyond the vocabulary (e.g. the EU study's own notes).
    """

    name: str
    description: str
    unit: str | None = None
    dtype: str = "number"
    label: str | None = None
    statuses: type[Vocabulary] | None = None
    free_text: bool = False

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if "{" not in self.name:
            return None
        parts = re.split(r"\{[^}]*\}", self.name)
        return re.compile(r"\d+(?:\.\d+)?".join(re.escape(p) for p in parts) + r"\Z")

    def matches(self, name: str) -> bool:
        """Whether a frame column ``name`` is this column."""
        pattern = self._pattern
        return name == self.name if pattern is None else bool(pattern.match(name))

    def schema(self) -> dict[str, Any]:
        """JSON-schema property of the column (nullable: absence is not zero)."""
        prop: dict[str, Any] = {
            "type": [_JSON_TYPES[self.dtype], "null"],
            "description": self.description,
        }
        if self.unit:
            prop["x-unit"] = self.unit
        if self.statuses is not None:
            allowed = [m.value for m in self.statuses]
            if self.free_text:
                prop["examples"] = allowed
            else:
                prop["enum"] = allowed
        return prop


@dataclass(frozen=True)
class Family:
    """The columns of one kind of result.

    Attributes
    ----------
    name
        Family id (``geopolrisk``, ``defence.exposure``, ``scenario.summary``, ...).
    title
        What the result is.
    call
        The Python call that returns it.
    methods
        Provenance method names of the frames of this family.
    columns
        Its columns, in output order.
    """

    name: str
    title: str
    call: str
    methods: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        """The metadata of column ``name``.

        Raises
        ------
        critmat.errors.UnknownNameError
            With the closest column names of the family.
        """
        for c in self.columns:
            if c.matches(name):
                return c
        names = [c.name for c in self.columns]
        raise UnknownNameError(
            "result column", name, suggestions=closest(name, names), where=f"family {self.name}"
        )

    def find(self, name: str) -> Column | None:
        """Like :meth:`column`, ``None`` for an unknown name."""
        return next((c for c in self.columns if c.matches(name)), None)


# ----------------------------------------------------------------------------- columns
# columns shared by several families, defined once


def _c(name: str, description: str, unit: str | None = None, **kw: Any) -> Column:
    return Column(name, description, unit, **kw)


def _t(name: str, description: str, **kw: Any) -> Column:
    return Column(name, description, None, "string", **kw)


def _b(name: str, description: str, **kw: Any) -> Column:
    return Column(name, description, None, "boolean", **kw)


def _i(name: str, description: str, unit: str | None = None, **kw: Any) -> Column:
    return Column(name, description, unit, "integer", **kw)


MATERIAL = _t("material", "canonical material id (materials table)", label="Material")
NAME = _t("name", "display name of the material")
STAGE = _t("stage", "supply-chain stage: extraction or processing")
YEAR = _i("year", "data year", u.YEAR)
IMPORTER = _t("importer", "importer unit: ISO-3 code, EU27 or a group (one economic unit)")
CRMA_STRATEGIC = _b("crma_strategic", "strategic raw material, CRMA Annex I")
CRMA_CRITICAL = _b("crma_critical", "critical raw material, CRMA Annex II")
NATO = _b("nato_2024", "on NATO's 2024 list of defence-critical raw materials")
KIND = _t("kind", "least certain kind of the inputs", statuses=Kind)
ASSUMED = _b("rests_on_assumption", "at least one input is an assumption (placeholder)")
SOURCE_ID = _t("source_id", "source ids of the inputs, ';'-separated")
PROGRAMME = _t("programme", "build programme (build_rates)")
SYSTEM = _t("system", "defence system")
CHINA = "share of China (CHN)"


def _family(name: str, title: str, call: str, methods: Iterable[str], *columns: Column) -> Family:
    return Family(name, title, call, tuple(methods), tuple(columns))


_EU_SCORE_NOTE = "rounded half up to one decimal before the thresholds"

_EU_COLUMNS = (
    MATERIAL,
    _t("stage_used", "stage of the SR: the bottleneck (maximum) or the stage= asked for"),
    _c("sr", f"EU supply risk computed by critmat; critical from 1.0 ({_EU_SCORE_NOTE})", u.SCORE),
    _c("sr_extraction", "EU supply risk at extraction", u.SCORE),
    _c("sr_processing", "EU supply risk at processing", u.SCORE),
    _c("ei", "EU economic importance computed by critmat; critical from 2.8", u.SCORE_0_10),
    _b("critical", "SR >= 1 and EI >= 2.8 (EU thresholds); <NA> where undecidable"),
    _c("published_sr", "SR published by the assessment (at its bottleneck stage)", u.SCORE),
    _c("published_ei", "EI published by the assessment", u.SCORE_0_10),
    _t("published_stage_used", "bottleneck stage of the published SR"),
    _c("published_sr_extraction", "published SR at extraction", u.SCORE),
    _c("published_sr_processing", "published SR at processing", u.SCORE),
    _b("agrees_sr", "computed and published SR agree to one decimal (<NA>: one is missing)"),
    _b("agrees_sr_extraction", "SR at extraction agrees with the published value"),
    _b("agrees_sr_processing", "SR at processing agrees with the published value"),
    _b("agrees_ei", "EI agrees with the published value to one decimal"),
    _t("reason", "curated reason of every disagreement (eu_crm_2023_reproduction_notes)"),
    _t("mix_extraction", "supply mix rule at extraction: GS+EU, GSonly or EUonly"),
    _t("mix_processing", "supply mix rule at processing"),
    _t("published_mix_extraction", "mix rule of the published SR at extraction"),
    _t("published_mix_processing", "mix rule of the published SR at processing"),
    _t("eu_mix_of_extraction", "material whose EU-sourcing mix stands in at extraction"),
    _t("eu_mix_of_processing", "material whose EU-sourcing mix stands in at processing"),
    _c("hhi_gs_extraction", "HHI x scaled WGI x t of global supply, extraction", u.SCORE),
    _c("hhi_eu_extraction", "HHI x scaled WGI x t of EU sourcing, extraction", u.SCORE),
    _c("hhi_gs_processing", "HHI x scaled WGI x t of global supply, processing", u.SCORE),
    _c("hhi_eu_processing", "HHI x scaled WGI x t of EU sourcing, processing", u.SCORE),
    _c("ir_extraction", "EU import reliance at extraction (as used)", u.FRACTION),
    _c("ir_processing", "EU import reliance at processing (as used)", u.FRACTION),
    _c("eol_rir", "end-of-life recycling input rate", u.FRACTION),
    _c("si_sr", "substitution index of the supply risk", u.FACTOR),
    _c("si_ei", "substitution index of the economic importance", u.FACTOR),
    _c("ei_unscaled_meur", "sum of end-use share x sector value added", u.MEUR),
    _c("ei_share_unallocated", "share of end uses without a NACE sector (count 0)", u.FRACTION),
    _c("reference_va_meur", "largest sector value added (C28), the EI scale", u.MEUR),
    _b("is_group", "a group material (HREE, LREE, PGM): mean of its members"),
    CRMA_STRATEGIC,
    CRMA_CRITICAL,
    _t(
        "status",
        "'ok' or the reasons values are missing, '; '-joined",
        statuses=EuCrmStatus,
        free_text=True,
    ),
)

_DEFENCE_IMPORTANCE = (
    MATERIAL,
    NAME,
    _c(
        "defence_importance",
        "defence importance DI = 10 B / (B + k), B = sum over system classes of the most "
        "critical use's component weight x non-substitutability; critmat's own indicator",
        u.SCORE_0_10,
        label="Defence imp.",
    ),
    _t("basis", "breadth from the cited uses (uses) or your BOMs (bom)"),
    _c(
        "breadth",
        "weighted breadth B (uses), or priority-weighted BOM systems x s (bom)",
        u.SCORE,
    ),
    _t(
        "class_weights",
        "weight of each system class (component weight x non-substitutability), '; '-joined",
    ),
    _i("n_system_classes", "system classes with a cited use", u.COUNT, label="System classes"),
    _t("system_classes", "those system classes, '; '-separated"),
    _i("n_named_systems", "named systems with a cited use", u.COUNT),
    _t("named_systems", "those systems, '; '-separated"),
    _i("n_bom_systems", "systems whose BOM holds the material", u.COUNT),
    _i("n_uses", "cited uses (defence_uses rows, group materials include members)", u.COUNT),
    _i("n_essential", "cited uses in an essential component", u.COUNT),
    _c(
        "curation_share",
        "part of B resting on critmat's component judgement (criticality_basis = curation)",
        u.FRACTION,
    ),
    _i("n_sources", "distinct sources of those uses", u.COUNT),
    _i("n_secondary", "uses cited from secondary sources only", u.COUNT),
    _t("substitutability", "least substitutable use: none, limited, possible, unknown"),
    _c("substitutability_score", "non-substitutability s in (0, 1]", u.FRACTION),
    _t("substitutability_basis", "where s comes from: defence source, EU 2023 SI_EI, none"),
    _c(
        "defence_demand_share",
        "defence share of the material's demand where a source gives one (not a DI weight)",
        u.FRACTION,
    ),
    _t("defence_demand_share_scope", "scope and source of that share"),
    _b(
        "is_aggregate",
        "a group (lree, hree, pgm) whose members are ranked themselves: not ranked",
    ),
    NATO,
    CRMA_STRATEGIC,
    CRMA_CRITICAL,
)

_CATEGORY = _t(
    "category", "place on the importance x supply-risk matrix", statuses=CriticalityCategory
)


def _build() -> dict[str, Family]:
    fams = [
        _family(
            "concentration",
            "Supply concentration: HHI, top-n share, China and adversary share",
            "kb.indicators.concentration()",
            ["concentration"],
            MATERIAL,
            STAGE,
            YEAR,
            _t(
                "source",
                "supply data: wmd_bmf (World Mining Data), eu_crm_2023 (EU study) or the "
                "supply_shares vintage (usgs_mcs2026, iea_gcmo_2025, ...)",
            ),
            _i("n_countries", "supplier countries", u.COUNT),
            _c(
                "total",
                "total supply: t (wmd_bmf) or the sum of the published shares (eu_crm_2023)",
            ),
            _c("hhi", "Herfindahl-Hirschman index of supplier shares", u.FRACTION, label="HHI"),
            _c("hhi_pct", "HHI in anti-trust points (10,000 x hhi)", u.HHI_POINTS),
            _t("top1_country", "largest supplier (ISO-3)"),
            _c("top1_share", "share of the largest supplier", u.FRACTION),
            _c("top{n}_share", "combined share of the n largest suppliers", u.FRACTION),
            _c("china_share", CHINA, u.FRACTION),
            _c("adversary_share", "combined share of the adversaries= countries", u.FRACTION),
            _t("status", "row status", statuses=ConcentrationStatus),
            _t("reference_years", "years the supply_shares vintage describes (2025, 2016-2020)"),
            _t(
                "check_flags",
                "flags of the supply-input checks on the mix (share_sum_deviates: partial mix, "
                "HHI a lower bound)",
            ),
        ),
        _family(
            "dependency",
            "Import dependency by origin, with net import reliance",
            "kb.indicators.dependency()",
            ["dependency"],
            MATERIAL,
            STAGE,
            YEAR,
            IMPORTER,
            _c("imports_t", "imports from outside the unit (BACI quantity)", u.TONNES),
            _c("imports_kusd", "value of those imports", u.KUSD),
            _i("n_origins", "origin countries with a quantity", u.COUNT),
            _c("import_hhi", "HHI of the origins' shares of import tonnage", u.FRACTION),
            _t("top_origin", "largest origin (ISO-3)"),
            _c("top_origin_share", "share of the largest origin", u.FRACTION),
            _c("top3_share", "combined share of the three largest origins", u.FRACTION),
            _c("china_share", f"{CHINA} in import tonnage", u.FRACTION),
            _c("exporters_share", "combined share of the exporters= origins", u.FRACTION),
            _t("status", "row status", statuses=DependencyStatus),
            _c("exports_t", "exports to outside the unit", u.TONNES),
            _c("production_t", "production of the unit's members (World Mining Data)", u.TONNES),
            _c("nir", "net import reliance (I - E) / (P + I - E)", u.FRACTION),
            _b("net_exporter", "exports exceed imports (nir = 0)"),
            _t("nir_status", "status of the net import reliance", statuses=NirStatus),
        ),
        _family(
            "net_import_reliance",
            "Net import reliance per stage",
            "kb.indicators.net_import_reliance()",
            ["net_import_reliance"],
            MATERIAL,
            STAGE,
            YEAR,
            IMPORTER,
            _c("imports_t", "imports from outside the unit", u.TONNES),
            _c("exports_t", "exports to outside the unit", u.TONNES),
            _c("production_t", "production of the unit's members at the stage", u.TONNES),
            _c("apparent_consumption_t", "production + imports - exports", u.TONNES),
            _b("net_exporter", "exports exceed imports (nir = 0)"),
            _c("nir", "net import reliance (I - E) / (P + I - E)", u.FRACTION),
            _t("status", "row status", statuses=NirStatus),
        ),
        _family(
            "geopolrisk",
            "GeoPolRisk score, midpoint and characterisation factors",
            "kb.indicators.geopolrisk()",
            ["geopolrisk"],
            MATERIAL,
            IMPORTER,
            YEAR,
            _c("hhi", "HHI of world production (World Mining Data)", u.FRACTION),
            _c(
                "import_risk",
                "sum_i g_i f_i / (p + F): instability-weighted import share",
                u.FRACTION,
            ),
            _c("score", "GeoPolRisk score = hhi x import_risk", u.FRACTION, label="GeoPolRisk"),
            _c("price", "unit value of the importer's imports", u.KUSD_PER_T),
            _c("midpoint", "score x price", u.USD_PER_KG),
            _c(
                "cf",
                "characterisation factor, reference implementation (copper 0.409412948)",
                u.KG_CU_EQ_PER_KG,
            ),
            _c(
                "cf_paper",
                "characterisation factor: midpoint / copper's midpoint",
                u.KG_CU_EQ_PER_KG,
            ),
            _c("numerator", "sum_i g_i f_i", u.TONNES_WEIGHTED),
            _c("imports_t", "F: imports from outside the unit", u.TONNES),
            _c("imports_kusd", "value of those imports", u.KUSD),
            _c("domestic_production_t", "p: production of the unit's members", u.TONNES),
            _c(
                "governance_coverage", "share of import tonnage with a governance value", u.FRACTION
            ),
            _c("quantity_coverage", "share of import value with a reported quantity", u.FRACTION),
            _t("status", "row status (first that applies)", statuses=GeoPolRiskStatus),
        ),
        _family(
            "eu_supply_risk",
            "EU supply risk and economic importance next to the published values",
            "kb.indicators.eu_supply_risk()",
            ["eu_supply_risk"],
            *_EU_COLUMNS,
        ),
        _family(
            "criticality",
            "Criticality matrix: importance x supply risk (EU or DOE-style)",
            "kb.indicators.criticality()",
            ["criticality"],
            MATERIAL,
            NAME,
            _c("importance_score", "importance axis (EI, or the axis given)", u.SCORE_0_10),
            _c("supply_risk_score", "supply-risk axis (SR, or the axis given)", u.SCORE),
            _i("importance_level", "DOE scheme: importance level 1-4", u.COUNT),
            _i("supply_risk_level", "DOE scheme: supply-risk level 1-4", u.COUNT),
            _CATEGORY,
            CRMA_STRATEGIC,
            CRMA_CRITICAL,
            NATO,
            *_EU_COLUMNS[1:-3],
            _t("status", "status of the EU result", statuses=EuCrmStatus, free_text=True),
        ),
        _family(
            "defence.demand",
            "Annual defence demand from bills of materials x build rates",
            "kb.defence.demand()",
            ["defence.demand"],
            PROGRAMME,
            SYSTEM,
            MATERIAL,
            _c("kg_per_unit", "material per unit, summed over components", u.KG_PER_UNIT),
            _c("units_per_year", "build rate", u.UNITS_PER_YEAR),
            _c("units_per_month", "build rate", u.UNITS_PER_MONTH),
            _c(
                "demand_t_per_year",
                "units_per_year x kg_per_unit / 1000",
                u.T_PER_YEAR,
                label="Defence t/yr",
            ),
            _c("demand_t_per_month", "demand per month", u.T_PER_MONTH),
            _c("priority", "programme priority (build_rates)"),
            _c("substitutable_share", "kg-weighted substitutable share of the BOM", u.FRACTION),
            _i("n_systems", "systems summed", u.COUNT),
            _i("n_programmes", "programmes summed", u.COUNT),
            KIND,
            ASSUMED,
            _t("status", "row status", statuses=DefenceDemandStatus),
            SOURCE_ID,
        ),
        _family(
            "defence.exposure",
            "Defence demand exposed to supplier countries, China and adversaries",
            "kb.defence.exposure()",
            ["defence.exposure"],
            PROGRAMME,
            SYSTEM,
            MATERIAL,
            STAGE,
            _t("country", "supplier country (detail=True)"),
            _c("share", "supplier's share in the mix", u.FRACTION),
            _c("exposed_t", "demand x (1 - eol_rir) x share", u.T_PER_YEAR),
            _c("demand_t_per_year", "defence demand", u.T_PER_YEAR),
            _c("shares_covered", "sum of the listed supplier shares", u.FRACTION),
            _c("china_t", "demand exposed to China", u.T_PER_YEAR),
            _c(
                "china_share",
                "China's part of the demand (exposed / demand)",
                u.FRACTION,
                label="China P (def.)",
            ),
            _c("adversary_t", "demand exposed to the adversaries", u.T_PER_YEAR),
            _c("adversary_share", "adversaries' part of the demand", u.FRACTION),
            _t("top_supplier", "supplier with the largest exposure"),
            _c("top_supplier_share", "its part of the demand", u.FRACTION),
            _t(
                "mix_used",
                "supply mix used: eu_sourcing, global_ir_split (flagged EU sourcing: global "
                "mix split by EU import reliance), global or imports",
            ),
            _t(
                "mix_status",
                "why this mix: ok, eu_sourcing_inconsistent or global_mix_fallback",
                statuses=SupplyMixStatus,
            ),
            _t("supply_vintage", "vintage of the supply shares (eu_crm_2023, usgs_mcs2026, ...)"),
            _t("reference_years", "years the supply shares describe (2016-2020, 2025, ...)"),
            _t("proxy", "material whose shares stand in (critmat assumption)"),
            _c("eol_rir", "recycling input rate deducted", u.FRACTION),
            KIND,
            ASSUMED,
            _b("adversary", "the supplier is an adversary (detail=True)"),
            _t("status", "row status", statuses=CapabilitySupplyStatus),
        ),
        _family(
            "defence.capability_at_risk",
            "Systems not built in a supply cut, fixed recipe and mitigated",
            "kb.defence.capability_at_risk()",
            ["defence.capability_at_risk"],
            PROGRAMME,
            SYSTEM,
            _i("month", "month of the cut (monthly=True), 1 = first", u.MONTHS),
            _c("units_per_month", "build rate", u.UNITS_PER_MONTH),
            _i("months", "duration of the cut", u.MONTHS),
            _c("planned_units", "units planned during the cut", u.UNITS),
            _c("not_built_fixed", "units not built: fixed recipe, pro-rata supply", u.UNITS),
            _c(
                "not_built_mitigated",
                "units not built with substitution and defence-first",
                u.UNITS,
            ),
            _c("share_lost_fixed", "not_built_fixed / planned_units", u.FRACTION),
            _c("share_lost_mitigated", "not_built_mitigated / planned_units", u.FRACTION),
            _t("limiting_material_fixed", "material limiting the builds (worst month)"),
            _t("limiting_material_mitigated", "limiting material, mitigated case"),
            _b("defence_first", "a defence share was known: defence served first"),
            _t("producer_country", "lead producer country of the system (defence_systems)"),
            _c(
                "not_built_pro_rata",
                "units not built, pro-rata allocation, no substitution",
                u.UNITS,
            ),
            _c(
                "not_built_defence_first",
                "units not built, defence-first allocation, no substitution",
                u.UNITS,
            ),
            _t("allocation", "rule of the mitigated case: defence_first or pro_rata"),
            KIND,
            ASSUMED,
            _t(
                "assumptions",
                "what the result rests on: allocation rule, supply mix, proxy, stage, "
                "defence-share basis, stock",
            ),
        ),
        _family(
            "defence.capability_materials",
            "Per material of a capability-at-risk run (attrs['critmat_materials'])",
            "kb.defence.capability_at_risk().attrs['critmat_materials']",
            ["defence.capability_materials"],
            MATERIAL,
            _c("supplier_share", "(1 - eol_rir) x the cut exporters' share", u.FRACTION),
            _c("lost_share", "cut x supplier_share", u.FRACTION),
            STAGE,
            _t("mix_used", "supply mix used"),
            _t("proxy", "material whose shares stand in"),
            _c("defence_share", "defence share of EU demand (defence-first)", u.FRACTION),
            _c("served_fixed", "served share of defence demand, pro rata", u.FRACTION),
            _c("served_mitigated", "served share, defence first", u.FRACTION),
            _c("stock_months", "defence stock", u.MONTHS_OF_DEFENCE_DEMAND),
            _t("status", "supplier share status", statuses=CapabilitySupplyStatus),
        ),
        _family(
            "defence.importance",
            "Defence importance of each material",
            "kb.defence.importance()",
            ["defence.importance"],
            *_DEFENCE_IMPORTANCE,
        ),
        _family(
            "defence.criticality",
            "Defence criticality: defence importance x supply risk, ranked",
            "kb.defence.criticality()",
            ["defence.criticality"],
            _i(
                "rank",
                "rank: category, then rank score (or importance, rank_by); empty for aggregates",
                u.COUNT,
            ),
            MATERIAL,
            NAME,
            _c("defence_importance", "defence importance", u.SCORE_0_10),
            _c("supply_risk_score", "supply-risk axis", u.SCORE),
            _t(
                "category",
                "place on the defence matrix",
                statuses=CriticalityCategory,
                label="Defence matrix",
            ),
            _c("rank_score", "(DI / DI threshold) x (risk / risk threshold)", u.SCORE),
            _c("eu_sr", "EU SR computed by critmat (2023 inputs)", u.SCORE),
            _c("published_sr", "EU SR as published", u.SCORE),
            _c("hhi", "HHI of global supply at the bottleneck stage", u.FRACTION),
            _c("china_processing", f"{CHINA} in global processing", u.FRACTION),
            _c("china_extraction", f"{CHINA} in global extraction", u.FRACTION),
            _c("geopolrisk", "GeoPolRisk score of the importer", u.FRACTION),
            _t("stage_used", "bottleneck stage of the EU SR"),
            _t("proxy", "material whose EU supply data stand in"),
            *[
                c
                for c in _DEFENCE_IMPORTANCE
                if c.name not in ("material", "name", "defence_importance")
            ],
            _c("eu_ei", "EU EI computed by critmat", u.SCORE_0_10),
            _b("eu_critical", "EU critical flag"),
            _c("importance_score", "importance axis (the defence importance)", u.SCORE_0_10),
        ),
        _family(
            "defence.compare_lists",
            "critmat's defence criticality against the NATO 2024 and CRMA lists",
            "kb.defence.compare_lists()",
            ["defence.compare_lists"],
            MATERIAL,
            NAME,
            NATO,
            _t("nato_listed_as", "the NATO entry as listed"),
            CRMA_STRATEGIC,
            CRMA_CRITICAL,
            _b("eu_critical_2023", "EU critical by critmat's 2023 computation"),
            _t("critmat_category", "defence matrix category", statuses=CriticalityCategory),
            _b("critmat_critical", "critical for defence in critmat"),
            _c("defence_importance", "defence importance", u.SCORE_0_10),
            _t("class_weights", "weight of each system class behind the defence importance"),
            _c("eu_sr", "EU SR computed by critmat", u.SCORE),
            _c("eu_ei", "EU EI computed by critmat", u.SCORE_0_10),
            _c("published_sr", "EU SR as published in the 2023 study", u.SCORE),
            _c("published_ei", "EU EI as published in the 2023 study", u.SCORE_0_10),
            _i("n_uses", "cited defence uses", u.COUNT),
            _b("agree", "NATO, CRMA and critmat agree"),
            _t("reason", "why they disagree, from the data"),
        ),
        _family(
            "defence.energy_competition",
            "Defence demand against EU and world demand and the energy transition",
            "kb.defence.energy()",
            ["defence.energy_competition"],
            MATERIAL,
            _c("defence_demand_t", "defence demand", u.T_PER_YEAR),
            _c("eu_demand_t", "EU demand", u.T_PER_YEAR),
            _t("eu_demand_basis", "where the EU demand comes from"),
            _c("world_demand_t", "world demand", u.T_PER_YEAR),
            _t("world_demand_basis", "where the world demand comes from"),
            _t("defence_demand_scope", "producer countries of the programmes behind the demand"),
            _c(
                "defence_share_eu",
                "demand of EU-built programmes / EU demand",
                u.FRACTION,
            ),
            _t("defence_share_eu_basis", "what defence_share_eu divides (or why it is empty)"),
            _c("defence_share_world", "defence share of world demand", u.FRACTION),
            _c(
                "energy_transition_share",
                "EU 2023 end-use share of energy-transition uses",
                u.FRACTION,
            ),
            _c("magnets_share", "EU 2023 end-use share of permanent magnets", u.FRACTION),
            _c(
                "aerospace_defence_share",
                "EU 2023 end-use share of aerospace and defence",
                u.FRACTION,
            ),
            _t("end_use_proxy", "material whose end uses stand in"),
            _c(
                "published_defence_share_upper",
                "published upper bound of the defence share",
                u.FRACTION,
            ),
            _t("published_share_scope", "scope of that published share"),
            KIND,
            ASSUMED,
        ),
        _family(
            "defence.shortfall_allocation",
            "Who is served first in a shortfall of EU supply",
            "kb.defence.shortfall()",
            ["defence.shortfall_allocation"],
            MATERIAL,
            _t("sector", "defence, energy transition or other"),
            _c("priority", "order of service (1 first)"),
            _c("demand", "the sector's demand", u.SHARE_OF_EU_DEMAND),
            _c("served", "served", u.SHARE_OF_EU_DEMAND),
            _c("unserved", "not served", u.SHARE_OF_EU_DEMAND),
            _c("served_share", "served / demand", u.FRACTION),
            _t("rule", "allocation rule"),
        ),
        _family(
            "assess",
            "The EU defence raw-materials assessment (critmat assess)",
            "critmat.assess.assess(kb).table",
            ["assess"],
            MATERIAL,
            NAME,
            _t(
                "crma",
                "CRMA Annex I strategic (S) / Annex II critical (C); empty: NATO only",
                label="CRMA",
            ),
            _b("nato", "on NATO's 2024 defence-critical list", label="NATO"),
            _c(
                "china_extraction",
                f"{CHINA} in global supply at extraction (supply_vintage: newest per material "
                "and stage by default; see the supply_vintage column)",
                u.FRACTION,
                label="China E",
            ),
            _c(
                "china_processing",
                f"{CHINA} in global supply at processing (supply_vintage, as China E)",
                u.FRACTION,
                label="China P",
            ),
            _c(
                "hhi",
                "HHI of global supply at the EU bottleneck stage (supply_vintage shares)",
                u.FRACTION,
                label="HHI",
            ),
            _c(
                "crma_single_country",
                "largest third country's share of EU consumption at any stage (CRMA 65 % "
                "test; EU-sourcing proxy)",
                u.FRACTION,
                label="CRMA 1-country",
            ),
            _t("crma_single_country_country", "that third country (ISO-3)"),
            _t(
                "crma_single_country_basis",
                "what the CRMA single-country value rests on",
                statuses=BenchmarkBasis,
            ),
            _c(
                "import_reliance",
                "EU import reliance at the bottleneck stage (EU 2023 study)",
                u.FRACTION,
                label="IR",
            ),
            _c(
                "geopolrisk",
                "GeoPolRisk score of the importer (Koyamparambath et al. 2024)",
                u.FRACTION,
                label="GeoPolRisk",
            ),
            _t("geopolrisk_status", "status of the GeoPolRisk score", statuses=GeoPolRiskStatus),
            _t("stage_used", "EU bottleneck stage"),
            _c(
                "sr",
                "EU supply risk computed by critmat (2017 Guidelines, 2023 inputs)",
                u.SCORE,
                label="EU SR",
            ),
            _c("ei", "EU economic importance computed by critmat", u.SCORE_0_10, label="EU EI"),
            _b(
                "critical",
                "SR >= 1 and EI >= 2.8 (EU thresholds); see critical_basis",
                label="Critical",
            ),
            _c("published_sr", "SR published by the EU 2023 study", u.SCORE),
            _c("published_ei", "EI published by the EU 2023 study", u.SCORE_0_10),
            _t("critical_basis", "what the critical flag rests on", statuses=CriticalBasis),
            _t(
                "supply_vintage",
                "vintage and reference years of the supply shares behind China E/P and HHI, "
                "per stage (e.g. 'processing usgs_mcs2026 (2025)')",
            ),
        ),
        _family(
            "assess.defence",
            "Defence summary of the assessment (one row per assessed material)",
            "critmat.assess.assess(kb).defence",
            ["assess.defence"],
            MATERIAL,
            _c(
                "defence_importance",
                "defence importance (critmat indicator)",
                u.SCORE_0_10,
                label="Defence imp.",
            ),
            _i(
                "n_system_classes",
                "system classes with a cited use",
                u.COUNT,
                label="System classes",
            ),
            _c(
                "defence_demand_t",
                "annual defence demand of the named programmes (your BOMs x build rates, or "
                "the cited US reference systems): not EU27 demand",
                u.T_PER_YEAR,
                label="Programme t/yr",
            ),
            _t(
                "demand_programmes",
                "programmes behind the demand: programme / system [producer country]: t/yr (kind)",
                label="Programmes",
            ),
            _c(
                "china_share_processing",
                "China's part of that demand at processing",
                u.FRACTION,
                label="China P (def.)",
            ),
            _t(
                "defence_category",
                "defence matrix category",
                statuses=CriticalityCategory,
                label="Defence matrix",
            ),
            _b(
                "rests_on_assumption",
                "a number rests on an assumption (an assumed BOM or rate, a proxy's shares)",
                label="Assumption",
            ),
        ),
        _family(
            "scenario.summary",
            "Per material statistics of a scenario ensemble",
            "kb.scenarios.run(spec).summary",
            ["scenario_ensemble:summary"],
            MATERIAL,
            STAGE,
            _t("mix", "supply mix simulated: eu_sourcing or global"),
            _c("stock_months", "initial stock", u.MONTHS_OF_DEMAND),
            _c("defence_share", "defence share of demand", u.FRACTION),
            _c(
                "p_shortfall",
                "probability of any shortfall",
                u.PROBABILITY,
                label="P(any shortfall)",
            ),
            _c("shortfall_mean", "expected cumulative shortfall", u.MONTHS_OF_DEMAND),
            _c("shortfall_p{q}", "percentile q of the cumulative shortfall", u.MONTHS_OF_DEMAND),
            _c("shortfall_var{a}", "value at risk at level a", u.MONTHS_OF_DEMAND),
            _c(
                "shortfall_cvar{a}",
                "mean of the worst (100 - a) % of scenarios",
                u.MONTHS_OF_DEMAND,
            ),
            _c(
                "shortfall_t_mean", "expected shortfall in tonnes (where demand is known)", u.TONNES
            ),
            _c("shortfall_t_cvar{a}", "CVaR in tonnes", u.TONNES),
            _c(
                "supply_gap_mean",
                "expected cumulative supply gap before stocks",
                u.MONTHS_OF_DEMAND,
            ),
            _c("release_mean", "expected stock released", u.MONTHS_OF_DEMAND),
            _c("defence_shortfall_mean", "expected defence shortfall", u.MONTHS_OF_DEFENCE_DEMAND),
            _c(
                "defence_shortfall_cvar{a}",
                "CVaR of the defence shortfall",
                u.MONTHS_OF_DEFENCE_DEMAND,
            ),
            _c("p_stockout", "probability that the stock runs out", u.PROBABILITY),
            _c("months_to_stockout_p{q}", "months from onset to stock-out, percentile q", u.MONTHS),
            _c("first_shortfall_p{q}", "month of the first shortfall, percentile q", u.MONTHS),
            _c("peak_price_p{q}", "peak price relative to before, percentile q", u.RATIO),
            _c("annual_demand_t", "EU baseline demand (NaN where unknown)", u.T_PER_YEAR),
        ),
        _family(
            "scenario.monthly",
            "Monthly percentiles of a scenario ensemble",
            "kb.scenarios.run(spec).monthly",
            ["scenario_ensemble:monthly"],
            MATERIAL,
            _i("month", "month from the start (0 = first)", u.MONTHS),
            _t("variable", "shortfall (share of monthly demand), stock (months), price (ratio)"),
            _c("mean", "mean over the scenarios"),
            _c("prob_positive", "share of scenarios with a positive value", u.PROBABILITY),
            _c("p{q}", "percentile q over the scenarios"),
            _c(
                "percentile_error",
                "largest error of the percentiles (0 where exact; half a bin of the monthly "
                "sketch beyond the exact regime), in the variable's unit",
            ),
        ),
        # decisions (issue 13)
        _family(
            "optimize.baseline",
            "Physical baseline of a decision: EU demand in tonnes, price per tonne in EUR",
            "kb.optimize.baseline(materials=..., stage=...)",
            ["physical_baseline"],
            MATERIAL,
            STAGE,
            _c(
                "annual_demand_t",
                "EU annual demand: yours, else EU27 apparent consumption at extraction; NaN "
                "where neither",
                u.T_PER_YEAR,
            ),
            _t("demand_status", "where the demand came from", statuses=PhysicalDemandStatus),
            _t("demand_basis", "the demand's source and method in words"),
            _c("price_usd_t", "price as published, converted to USD per tonne", u.USD_PER_T),
            _c("price_eur_t", "price in EUR of eur_year per tonne", u.EUR_PER_T),
            _i("price_year", "year of the price", u.YEAR),
            _i("eur_year", "year of the euros (the price year)", u.YEAR),
            _c("usd_per_eur", "exchange rate used (ECB annual average or yours)", u.USD_PER_EUR),
            _t("fx_source", "source of the exchange rate"),
            _t("price_status", "where the price came from", statuses=PriceStatus),
            _t("price_series", "the USGS series (indicator) or BACI basis used"),
            _t("price_basis", "the price's source, market, year and content basis in words"),
            _t("price_source", "source id of the price"),
            _t("status", "whether a decision can use the row", statuses=DecisionInputStatus),
        ),
        # ------------------------------------------------------------ policy (issue 14)
        _family(
            "policy.events",
            "Events of the policy record, filtered",
            "kb.policy.events(actors=..., types=..., materials=..., years=...)",
            ["policy.events"],
            _t(
                "event_id",
                "event id (SEED-* seed timeline, EXT-* added, LINK-CN-* export controls)",
            ),
            _t("date", "date of the event (1st of the month/year at lower precision)"),
            _t("date_precision", "what the date is known to: day, month, year, period"),
            _i("year", "calendar year of the date", u.YEAR),
            _t("actor", "acting actor (first of actors)"),
            _t("actors", "every actor, ';'-separated"),
            _t("instrument_type", "kind of instrument (13-term vocabulary)"),
            _t("materials", "canonical material ids the event names, ';'-separated"),
            _t("materials_unresolved", "named materials the knowledge base does not hold"),
            _t("materials_status", "resolved, partial, unresolved, general or none"),
            _t(
                "matched_by",
                "how the --materials filter matched (id, via a group, unresolved name)",
            ),
            _t("summary", "what happened (English)"),
            _b("in_seed", "event of the seed timeline"),
            _t("evidence", "primary, secondary, linked_record or seed_only"),
            _t("record_issue", "known problem of the record (date_conflict, ...)"),
            _t("verification_note", "what checking against the sources found"),
            _t("primary_source_url", "primary document"),
            _t("secondary_source_url", "secondary source"),
            _t("linked_table", "table with the full record (export_controls, nato_2024)"),
            _t("linked_project_event_id", "export_controls event the row stands for"),
            SOURCE_ID,
        ),
        _family(
            "policy.compare",
            "Policy toolkits per actor and instrument type",
            "kb.policy.compare().table",
            ["policy.compare"],
            _t("actor", "acting actor"),
            _t("instrument_type", "kind of instrument"),
            _i("n_events", "events in the record (0: none recorded)", u.COUNT),
            _t("first_date", "first event of the type"),
            _t("latest_date", "latest event of the type"),
            _i("before 2008", "events before 2008", u.COUNT),
            _i("2008-2012", "events 2008-2012", u.COUNT),
            _i("2013-2017", "events 2013-2017", u.COUNT),
            _i("2018-2022", "events 2018-2022", u.COUNT),
            _i("2023-2025", "events 2023-2025", u.COUNT),
            _i(
                "defence_specific",
                "events whose summary or body names defence (keyword rule)",
                u.COUNT,
            ),
            _t("examples", "latest events of the type: date id: summary"),
        ),
        _family(
            "policy.backtest",
            "Export-control events against trade and against the presets",
            "kb.policy.backtest()",
            ["policy.backtest"],
            _t("event_id", "export_controls event id"),
            _t("date_effective", "effective date (announcement where none)"),
            MATERIAL,
            STAGE,
            _t("flow", "eu_from_china, world_from_china or eu_from_extra_eu"),
            _t("hs6", "HS 1992 codes summed (trade in every window year)"),
            _i("event_year", "calendar year of the effective date", u.YEAR),
            _t("before_years", "the two years before"),
            _t("after_years", "the years after that the trade table covers"),
            _c("q_before_t", "mean annual tonnes in the years before", u.T_PER_YEAR),
            _c("q_year_of_t", "tonnes in the year of the event (partly treated)", u.T_PER_YEAR),
            _c("q_after_t", "mean annual tonnes in the years after", u.T_PER_YEAR),
            _c("change", "q_after / q_before - 1", u.FRACTION),
            _c("change_year_of", "q_year_of / q_before - 1", u.FRACTION),
            _c("baseline_mean", "mean year-to-year change 2011..(d-1)", u.FRACTION),
            _c("baseline_sd", "sample sd of the year-to-year changes", u.FRACTION),
            _i("n_baseline", "year-to-year changes in the baseline", u.COUNT),
            _c("z", "(change - baseline_mean) / baseline_sd", u.SCORE),
            _c("z_year_of", "z of change_year_of", u.SCORE),
            _c("value_before_kusd", "mean annual value before", u.KUSD),
            _c("value_after_kusd", "mean annual value after", u.KUSD),
            _c("uv_before_kusd_t", "unit value before (price proxy)", u.KUSD_PER_T),
            _c("uv_after_kusd_t", "unit value after (price proxy)", u.KUSD_PER_T),
            _c("uv_change", "unit value after / before - 1", u.FRACTION),
            _t("status", "why a change is missing", statuses=BacktestStatus),
            _b("significant", "|z| >= 2"),
            _t("preset", "scenario preset of the event"),
            _c("p_shortfall", "the preset's probability of any shortfall", u.PROBABILITY),
            _c(
                "predicted_shortfall_months",
                "the preset's expected shortfall over its horizon",
                u.MONTHS_OF_DEMAND,
            ),
            _c(
                "predicted_window_months",
                "the preset's expected shortfall in the after years",
                u.MONTHS_OF_DEMAND,
            ),
            _c(
                "observed_gap_months",
                "fall of EU extra-EU imports in the after years, in months of the before level",
                u.MONTHS,
            ),
            _c(
                "implied_severity",
                "fall of EU imports from China (the record's severity)",
                u.FRACTION,
            ),
            _t("verdict", "prediction against the record", statuses=BacktestVerdict),
            _t("verdict_text", "the comparison in words"),
        ),
        _family(
            "crma.benchmarks",
            "The strategic raw materials against the CRMA Article 5 benchmarks",
            "kb.policy.crma_benchmarks()",
            ["crma.benchmarks"],
            _t("srm", "CRMA Annex I entry"),
            MATERIAL,
            _t("benchmark", "extraction, processing, recycling or single_third_country_cap"),
            _t("stage", "stage the benchmark applies to (all: the maximum over stages)"),
            _t("version", "crma_benchmarks version"),
            _c("threshold", "the benchmark", u.FRACTION),
            _t("comparison", "at_least (floor) or at_most (cap)"),
            _c(
                "value",
                "the material's value (fraction of EU consumption, or its proxy)",
                u.FRACTION,
            ),
            _t("basis", "what the value rests on", statuses=BenchmarkBasis),
            _t("basis_detail", "the proxy or data used, in words"),
            _t("third_country", "the largest third country (cap)"),
            _t("third_country_stage", "the stage of that share"),
            _t("reference_years", "years the value refers to"),
            _t("status", "met, not_met or unknown", statuses=BenchmarkStatus),
            _c("eu_consumption_t", "EU annual consumption (your data)", u.T_PER_YEAR),
            _c(
                "eu_output_t",
                "EU output at the stage, or the third country's tonnes (cap)",
                u.T_PER_YEAR,
            ),
            _c("target_2030_t", "threshold x EU consumption", u.T_PER_YEAR),
            _c("gap_2030_t", "tonnes missing to the benchmark (tonnes basis only)", u.T_PER_YEAR),
            _c(
                "projects_t_yr",
                "published content capacity of CRMA Strategic Projects",
                u.T_PER_YEAR,
            ),
            _i("n_projects", "projects counted (quantified or not)", u.COUNT),
            _i("n_projects_not_quantified", "projects without a content tonnage", u.COUNT),
            _t("projects", "the projects with capacity and status"),
            _c("user_projects_t_yr", "your projects' capacity", u.T_PER_YEAR),
            _c("gap_after_projects_t", "gap left if every counted project is built", u.T_PER_YEAR),
            SOURCE_ID,
        ),
    ]
    return {f.name: f for f in fams}


#: Every result family by name.
FAMILIES: dict[str, Family] = _build()

_BY_METHOD = {m: f for f in FAMILIES.values() for m in f.methods}


def family(name: str) -> Family:
    """The family ``name``.

    Raises
    ------
    critmat.errors.UnknownNameError
        With the closest family names.
    """
    if name in FAMILIES:
        return FAMILIES[name]
    raise UnknownNameError("result family", name, suggestions=closest(name, list(FAMILIES)))


def family_of(method: str) -> Family | None:
    """The family of a provenance ``method`` (``"eu_supply_risk (EU CRM ...)"`` included).

    Examples
    --------
    >>> family_of("eu_supply_risk (EU CRM method, 2017 Guidelines; METHODS.md §1)").name
    'eu_supply_risk'
    >>> family_of("table:trade") is None
    True
    """
    key = str(method).split(" (")[0].strip()
    return _BY_METHOD.get(key)


def units(name: str, columns: Iterable[str]) -> dict[str, str]:
    """``{column: unit}`` of the given frame columns that have a unit (for provenance)."""
    fam = family(name)
    out: dict[str, str] = {}
    for col in columns:
        c = fam.find(str(col))
        if c is not None and c.unit:
            out[str(col)] = c.unit
    return out


def describe(name: str, columns: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Description, unit and allowed values of each given column (for file sidecars).

    Columns the family does not describe are left out.
    """
    fam = family(name)
    out: dict[str, dict[str, Any]] = {}
    for col in columns:
        c = fam.find(str(col))
        if c is None:
            continue
        entry: dict[str, Any] = {"description": c.description}
        if c.unit:
            entry["unit"] = c.unit
        if c.statuses is not None:
            entry["values"] = describe_vocabulary(c.statuses)
        out[str(col)] = entry
    return out


def json_schema(name: str) -> dict[str, Any]:
    """JSON schema of one row of a family's result (ready for an OpenAPI response model)."""
    fam = family(name)
    return {
        "title": fam.name,
        "description": fam.title,
        "type": "object",
        "properties": {c.name: c.schema() for c in fam.columns},
    }


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def results_markdown() -> str:
    """The Markdown reference of every result family (``docs/results.md``)."""
    lines = [
        "# Result columns",
        "",
        "Generated from `critmat.columns` by `python -m critmat.columns`. Do not edit by hand.",
        "Every result frame carries the units below in its provenance "
        '(`frame.attrs["critmat"]["units"]`); files written with `--out` get these '
        "descriptions in their `.provenance.json` sidecar. Missing values are empty (NaN or "
        "<NA>) with a status saying why, never 0. `{n}`, `{q}`, `{a}` in a name stand for a "
        "number (top-n, percentile, CVaR level).",
        "",
        "| family | what | Python |",
        "|---|---|---|",
    ]
    for f in FAMILIES.values():
        anchor = f.name.replace(".", "").replace("_", "-")
        lines.append(f"| [{f.name}](#{anchor}) | {_cell(f.title)} | `{f.call}` |")
    vocabularies: dict[str, type[Vocabulary]] = {}
    for f in FAMILIES.values():
        lines += ["", f"## {f.name}", "", f"{_cell(f.title)}: `{f.call}`.", ""]
        lines += ["| column | unit | type | description |", "|---|---|---|---|"]
        for c in f.columns:
            desc = _cell(c.description)
            if c.statuses is not None:
                vocabularies[c.statuses.__name__] = c.statuses
                anchor = c.statuses.__name__.lower()
                desc += f" (values: [{c.statuses.__name__}](#{anchor})"
                desc += ", or other text)" if c.free_text else ")"
            lines.append(f"| `{c.name}` | {c.unit or ''} | {c.dtype} | {desc} |")
    lines += ["", "## Vocabularies", "", "Status, category and kind values (`critmat.vocab`)."]
    for vname, vocab in vocabularies.items():
        lines += ["", f"### {vname}", "", _cell((vocab.__doc__ or "").strip().splitlines()[0])]
        lines += ["", "| value | meaning |", "|---|---|"]
        lines += [f"| `{k}` | {_cell(v)} |" for k, v in describe_vocabulary(vocab).items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - used by developers
    import sys
    from pathlib import Path

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/results.md")
    target.write_text(results_markdown(), encoding="utf-8")
    print(f"wrote {target}")
