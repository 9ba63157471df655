"""Result vocabularies: the statuses, categories and kinds a result column may hold.

Every status column of a critmat result holds members of one of these ``StrEnum``s (one per
result family), so that the values are spelled once, a caller can compare with
``GeoPolRiskStatus.OK`` instead of a string, and the documentation (``docs/results.md``)
and the API schema list the allowed values with their meaning. The values are plain
strings: frames, CSV and JSON outputs hold the same text as before.

Examples
--------
>>> GeoPolRiskStatus.NOT_ASSESSABLE == "not_assessable"
True
>>> GeoPolRiskStatus("ok").description
'computed from complete inputs'
>>> [k.value for k in Kind]
['published', 'derived', 'user', 'assumption']
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

__all__ = [
    "BacktestStatus",
    "BacktestVerdict",
    "BenchmarkBasis",
    "BenchmarkStatus",
    "CapabilitySupplyStatus",
    "ConcentrationStatus",
    "CriticalBasis",
    "CriticalityCategory",
    "DecisionInputStatus",
    "DefenceDemandStatus",
    "DependencyStatus",
    "EuCrmStatus",
    "GeoPolRiskStatus",
    "JobStatus",
    "Kind",
    "NirStatus",
    "PhysicalDemandStatus",
    "PriceStatus",
    "SupplyMixStatus",
    "Vocabulary",
    "describe",
]


class Vocabulary(StrEnum):
    """A ``StrEnum`` whose members carry a description (``Member = "value", "meaning"``)."""

    description: str

    def __new__(cls, value: str, description: str = "") -> Self:
        """Create a member with its value and description."""
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.description = description
        return obj


def describe(vocabulary: type[Vocabulary]) -> dict[str, str]:
    """Return ``{value: description}`` of every member, in order.

    Examples
    --------
    >>> describe(ConcentrationStatus)["no_supply"]
    'the group total is zero or missing: shares and HHI are NaN'
    """
    return {m.value: m.description for m in vocabulary}


class ConcentrationStatus(Vocabulary):
    """Status of a supply-concentration row (``concentration``)."""

    OK = "ok", "computed"
    NO_SUPPLY = "no_supply", "the group total is zero or missing: shares and HHI are NaN"


class DependencyStatus(Vocabulary):
    """Status of an import-dependency row (``dependency``)."""

    OK = "ok", "computed from the importer's extra-unit imports"
    NO_IMPORTS = "no_imports", "no imports with a quantity: shares and import HHI are NaN"
    NO_HS_CODE = (
        "no_hs_code",
        "the material has no HS code (at this stage) in the mapping: trade cannot be attributed",
    )


class NirStatus(Vocabulary):
    """Status of a net-import-reliance row (``net_import_reliance``, ``nir_status``)."""

    OK = "ok", "computed: (imports - exports) / apparent consumption"
    NET_EXPORTER = "net_exporter", "exports exceed imports: nir = 0 (USGS 'E')"
    NO_CONSUMPTION = "no_consumption", "apparent consumption is zero or negative: nir is NaN"
    NO_PRODUCTION_DATA = (
        "no_production_data",
        "no production data for the material at this stage: nir is NaN, never 'no production'",
    )
    NO_HS_CODE = DependencyStatus.NO_HS_CODE.value, DependencyStatus.NO_HS_CODE.description


class GeoPolRiskStatus(Vocabulary):
    """Status of a GeoPolRisk row, in order of precedence (the first that applies)."""

    NOT_ASSESSABLE = (
        "not_assessable",
        "the material has no HS92 code in the mapping (or none at the chosen stage), or no "
        "BACI trade at all in that year (e.g. germanium, HS 811230 ends in 2016); only the HHI "
        "is reported",
    )
    NO_PRODUCTION_DATA = (
        "no_production_data",
        "no production data for the material in that year: HHI and the domestic production "
        "are unknown, so import risk and score are NaN",
    )
    NO_IMPORT_QUANTITY = (
        "no_import_quantity",
        "the importer has imports of the material, but none with a reported quantity: import "
        "risk, score and price are NaN",
    )
    NO_IMPORTS = (
        "no_imports",
        "the importer has no imports of the material: import risk is 0 if it produces the "
        "material (all supply domestic), else NaN; price and CF NaN",
    )
    PRODUCTION_NOT_IN_TONNES = (
        "production_not_in_tonnes",
        "the importer produces the material in a non-mass unit (e.g. natural gas in million "
        "m3) that cannot be added to imports in tonnes: import risk and score are NaN",
    )
    MISSING_GOVERNANCE = (
        "missing_governance",
        "some imports come from exporters without a governance value for that year: import "
        "risk, score and CF are NaN (see governance_coverage; missing_governance='fill' fills "
        "them)",
    )
    GOVERNANCE_FILLED = (
        "governance_filled",
        "computed, with the fill value for exporters without a governance value "
        "(missing_governance='fill')",
    )
    GOVERNANCE_PARTIAL = (
        "governance_partial",
        "computed without the imports from exporters lacking a governance value, which are at "
        "most 1 - min_coverage of the import tonnage (missing_governance='exclude'; see "
        "governance_coverage)",
    )
    OK = "ok", "computed from complete inputs"


class EuCrmStatus(Vocabulary):
    """Parts of the status of an EU supply-risk row (``eu_supply_risk``).

    The status is ``ok`` or the reasons that apply, joined by ``"; "``: the members below
    and the assessment's own notes on the material (``eu_crm_2023_parameters.note``, quoted
    as published). ``{year}`` and ``{stage}`` are filled in.
    """

    OK = "ok", "computed from the assessment's inputs"
    NOT_IN_STUDY = "not assessed in the EU 2023 study", "the study did not assess the material"
    EI_NOT_COMPUTABLE = (
        "no end-use shares in the inputs (EI not computable)",
        "the public tables have no end-use shares of the material: EI is NaN",
    )
    STAGE_NOT_ASSESSED = (
        "{stage} stage not assessed",
        "stage= asks for a stage the study did not assess for the material",
    )
    PUBLISHED_ONLY = (
        "published values only: critmat has no inputs for the {year} assessment",
        "an assessment whose published SR and EI critmat has, but not its inputs",
    )


class CriticalityCategory(Vocabulary):
    """Category of a material on an importance x supply-risk matrix."""

    CRITICAL = "critical", "both axes at or above their thresholds (DOE: both levels >= 3)"
    NEAR_CRITICAL = "near_critical", "DOE scheme: one level >= 3 and the other 2"
    HIGH_IMPORTANCE = "high_importance", "EU scheme: importance high, supply risk below"
    HIGH_SUPPLY_RISK = "high_supply_risk", "EU scheme: supply risk high, importance below"
    NOT_CRITICAL = "not_critical", "neither axis high enough"
    NOT_ASSESSED = "not_assessed", "an axis is missing: the material cannot be placed"
    NO_DEFENCE_USE = (
        "no cited defence use",
        "defence tables: the material has no cited defence use (and is not in your BOMs)",
    )


class CriticalBasis(Vocabulary):
    """What the ``critical`` flag of the assessment rests on (``critical_basis``)."""

    COMPUTED = "computed SR and EI", "critmat's SR and EI, EU thresholds"
    PUBLISHED_EI = (
        "computed SR, published EI",
        "EI not computable from the public tables: critmat's SR with the published EI",
    )
    NOT_ASSESSED = "not assessed", "no SR (or no EI at all): not classified"


class DefenceDemandStatus(Vocabulary):
    """Status of a defence-demand row (``defence.demand`` at ``by="system"``)."""

    OK = "ok", "BOM and build rate: demand computed"
    NO_BUILD_RATE = "no_build_rate", "a BOM without a build rate: demand NaN (absence is not zero)"
    NO_BOM = "no_bom", "a build rate for a system without BOM rows"


class CapabilitySupplyStatus(Vocabulary):
    """Status of a material's supplier share in capability at risk (per-material table)."""

    OK = "ok", "supplier share from the EU 2023 supply shares (or a proxy)"
    NO_SUPPLY_SHARES = "no_supply_shares", "no supply shares: the cut cannot reach the material"


class Kind(Vocabulary):
    """Kind of a number, from most to least certain (defence layer)."""

    PUBLISHED = "published", "as in a cited source"
    DERIVED = "derived", "computed by critmat from published numbers (e.g. 920 lb -> 417.3 kg)"
    USER = "user", "the user's own data (an imported BOM or build rate)"
    ASSUMPTION = "assumption", "a default or placeholder no source gives (flagged in results)"


# ---------------------------------------------------------------- supply mixes (issue 12)


class SupplyMixStatus(Vocabulary):
    """Which supplier mix a material and stage rests on (``mix_status``, issue 12 item 5).

    The supply-input checks (:func:`critmat.checks.flag_supply_shares`) mark EU-sourcing
    mixes that contradict the EU import reliance or copy the global mix; exposure and
    scenarios then use a documented fallback (docs/scenarios.md), never silently.
    """

    OK = "ok", "the preferred mix, as published, passed the supply-input checks"
    EU_SOURCING_INCONSISTENT = (
        "eu_sourcing_inconsistent",
        "the EU-sourcing rows were flagged (non-EU shares contradict the EU import reliance, or "
        "they copy the global rows): the global mix, split by import reliance into EU "
        "producers (1 - IR) and non-EU suppliers (IR), stands in (mix_used global_ir_split; "
        "the global mix as is without an IR; the flagged rows with IR = 0, a net exporter)",
    )
    GLOBAL_MIX_FALLBACK = (
        "global_mix_fallback",
        "no usable EU-sourcing rows (none published, or flagged without an import reliance "
        "to split the global mix): the global supply mix stands in",
    )


# ----------------------------------------------------------------------------- decisions (issue 13)


class PhysicalDemandStatus(Vocabulary):
    """Where a decision's EU annual demand in tonnes came from (``physical_baseline``)."""

    USER = "user", "your value (annual_demand_t)"
    APPARENT_CONSUMPTION = (
        "apparent_consumption",
        "EU27 apparent consumption at extraction (production + extra-EU imports - exports)",
    )
    SCENARIO = "scenario", "the scenario set's baseline demand"
    NO_TONNAGE_AT_STAGE = (
        "no_tonnage_at_stage",
        "no tonnage at this stage (World Mining Data has no processing production): NaN",
    )
    NO_CONSUMPTION_DATA = (
        "no_consumption_data",
        "no production, HS codes or positive apparent consumption: NaN",
    )


class PriceStatus(Vocabulary):
    """Where a decision's price per tonne came from (``physical_baseline``)."""

    USER = "user", "your value (price_eur_t)"
    USGS = "usgs_mcs", "a USGS Mineral Commodity Summaries 2026 price series"
    BACI = "baci_unit_value", "unit value of EU27 extra-EU imports in BACI (fallback)"
    NO_PRICE = "no_price", "no price series and no unit value: NaN, the decision stops"


class DecisionInputStatus(Vocabulary):
    """Whether a material has what a decision in tonnes and euros needs."""

    OK = "ok", "demand in tonnes and a price per tonne"
    NO_DEMAND = "no_demand", "a price but no demand in tonnes (months of cover are NaN)"
    NO_PRICE = "no_price", "demand but no price: a decision on it stops"
    NO_DEMAND_NO_PRICE = "no_demand_no_price", "neither: a decision on it stops"


# ---------------------------------------------------------------- REST API jobs (critmat.api)


class JobStatus(Vocabulary):
    """State of an API job (scenario run or optimisation), ``GET /scenarios/jobs/{id}``."""

    QUEUED = "queued", "waiting for a worker"
    RUNNING = "running", "computing; progress says how far"
    DONE = "done", "finished; the result can be read (and the run is in the run store)"
    FAILED = "failed", "stopped with an error (the error says what and where)"
    CANCELLED = "cancelled", "cancelled by its owner before it finished"


# ----------------------------------------------------------------------------- policy (issue 14)


class BenchmarkBasis(Vocabulary):
    """What a CRMA Article 5 benchmark value rests on (``crma.benchmarks``, ``basis``)."""

    TONNES = "tonnes", "EU tonnes over EU annual consumption in tonnes (your data)"
    SHARE_PROXY = (
        "share_proxy",
        "a share from the EU 2023 study (EU sourcing shares, 1 - import reliance, EoL-RIR): "
        "a proxy, not the Act's ratio",
    )
    NO_DATA = "no_data", "no tonnes and no proxy: the benchmark cannot be evaluated"


class BenchmarkStatus(Vocabulary):
    """Status of a strategic raw material against one CRMA Article 5 benchmark."""

    MET = "met", "the value reaches the floor (or stays within the 65 % cap)"
    NOT_MET = "not_met", "the value misses the floor (or exceeds the 65 % cap)"
    UNKNOWN = "unknown", "no value (basis no_data): not evaluated"


class BacktestStatus(Vocabulary):
    """Status of a back-test row (``policy.backtest``)."""

    OK = "ok", "before and after windows both have trade data"
    NO_AFTER_DATA = (
        "no_after_data",
        "the trade table ends before the year after the event: change not computable",
    )
    NO_BEFORE_DATA = "no_before_data", "no trade in the two years before the event"
    NO_HS_CODES = "no_hs_codes", "the material has no HS codes in hs_codes: no trade series"
    NO_DATE = "no_date", "the event has no effective or announcement date"


class BacktestVerdict(Vocabulary):
    """How a preset's predicted EU shortfall compares with what trade shows."""

    AGREE = "agree", "prediction and trade point the same way"
    DISAGREE = (
        "disagree",
        "the preset predicts a shortfall of a month or more with probability >= 0.5, but EU "
        "imports from all extra-EU suppliers did not fall by a month of supply (or the "
        "reverse)",
    )
    NOT_TESTABLE = "not_testable", "no trade after the event, or no preset for it"
