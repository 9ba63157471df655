"""`critmat defence ...`: defence systems, exposure, capability at risk, criticality.

Every command runs on your imported ``bom``/``build_rates`` tables, on files passed with
``--bom``/``--build-rates`` (validated like an import, nothing written), or else on the
cited reference data (CRS 2013 rare earths per F-35, DDG-51 and SSN-774 and published US
build rates).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from critmat.cli.common import (
    DataDirOpt,
    FormatOpt,
    MaterialsOpt,
    NoUserDataOpt,
    OutOpt,
    StageOpt,
    emit,
    open_kb,
    reports_errors,
)
from critmat.params import ParameterError

__all__ = ["app", "register"]

app = typer.Typer(
    help="Defence layer: systems, uses, exposure, capability at risk, "
    "criticality, energy transition.",
    no_args_is_help=True,
)

BomOpt = Annotated[
    Path | None,
    typer.Option(
        "--bom",
        help="Bill-of-materials file (CSV/XLSX/Parquet: system, component, material, "
        "kg_per_unit, kind, source), validated like an import, nothing written [default: your "
        "bom table, else the cited reference data].",
        dir_okay=False,
        exists=True,
    ),
]
RatesOpt = Annotated[
    Path | None,
    typer.Option(
        "--build-rates",
        help="Build-rate file (programme, system, units_per_year, priority, "
        "kind, source) [default: your build_rates table, else the published rates].",
        dir_okay=False,
        exists=True,
    ),
]
WhichOpt = Annotated[
    str,
    typer.Option(
        "--which",
        help="auto (your tables if they have rows, else the reference data), user, "
        "reference or both.",
    ),
]
DefaultKgOpt = Annotated[
    float | None,
    typer.Option(
        "--default-intensity",
        help="Placeholder kg per unit for cited uses without a published "
        "quantity (reference data; flagged assumption).",
    ),
]
DefaultRateOpt = Annotated[
    float | None,
    typer.Option(
        "--default-build-rate",
        help="Placeholder units per year for named systems without a "
        "published rate (reference data; flagged assumption).",
    ),
]
PairsOpt = Annotated[list[str] | None, typer.Option(help="MATERIAL=VALUE (repeatable).")]


def _shown(
    frame: pd.DataFrame, fmt: str | None, out: Path | None, columns: list[str]
) -> pd.DataFrame:
    """All columns for files and machine formats; the readable subset for the terminal."""
    if fmt not in (None, "table") or out is not None:
        return frame
    return frame[[c for c in columns if c in frame.columns]]


def _pairs(values: list[str] | None, option: str) -> dict[str, float] | None:
    """Parse ``MATERIAL=number`` items (repeatable option, or comma-separated)."""
    if not values:
        return None
    out: dict[str, float] = {}
    for item in (x for v in values for x in v.split(",") if x.strip()):
        name, sep, num = item.partition("=")
        try:
            value = float(num)
        except ValueError:
            value = math.nan
        if not sep or not name.strip() or math.isnan(value):
            raise ParameterError(
                f"{option} entry '{item}' is not MATERIAL=number (e.g. {option} gallium=0.05)"
            )
        out[name.strip()] = value
    return out


@app.command("systems")
@reports_errors
def systems_cmd(
    fmt: FormatOpt = None,
    out: OutOpt = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
) -> None:
    """Defence systems named by the cited sources, with published build rates."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.defence.systems()
    shown = (
        frame
        if (fmt not in (None, "table") or out is not None)
        else frame[
            [
                "system",
                "system_class",
                "country",
                "units_per_year",
                "rate_kind",
                "materials",
                "n_uses",
            ]
        ]
    )
    emit(shown, fmt, out, title="defence systems (defence_systems)")


@app.command("uses")
@reports_errors
def uses_cmd(
    materials: MaterialsOpt = None,
    system_class: Annotated[
        str | None,
        typer.Option(help="System classes, comma-separated (e.g. 'guided missile,radar')."),
    ] = None,
    fmt: FormatOpt = None,
    out: OutOpt = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
) -> None:
    """Cited uses: material -> application -> component -> system, with quantities."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.defence.uses(materials=materials, system_classes=system_class)
    shown = (
        frame
        if (fmt not in (None, "table") or out is not None)
        else frame[
            [
                "use_id",
                "material",
                "application",
                "component",
                "system_class",
                "system",
                "quantity",
                "unit",
                "kind",
                "substitutability",
                "secondary_source",
            ]
        ]
    )
    emit(shown, fmt, out, title="defence uses (defence_uses)", max_rows=100)


@app.command("demand")
@reports_errors
def demand_cmd(
    materials: MaterialsOpt = None,
    by: Annotated[str, typer.Option(help="system, programme or material.")] = "system",
    bom: BomOpt = None,
    build_rates: RatesOpt = None,
    which: WhichOpt = "auto",
    default_intensity: DefaultKgOpt = None,
    default_build_rate: DefaultRateOpt = None,
    fmt: FormatOpt = None,
    out: OutOpt = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
) -> None:
    """Annual material demand from bills of materials x build rates (t per year)."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.defence.demand(
        bom=bom,
        build_rates=build_rates,
        materials=materials,
        by=by,
        which=which,
        default_intensity_kg=default_intensity,
        default_build_rate=default_build_rate,
    )
    emit(frame, fmt, out, title=f"defence demand by {by}")


@app.command("exposure")
@reports_errors
def exposure_cmd(
    materials: MaterialsOpt = None,
    stage: StageOpt = None,
    mix: Annotated[
        str,
        typer.Option(
            help="eu_sourcing (EU 2023 EU sourcing shares, else "
            "global), global, or imports (BACI extra-EU imports)."
        ),
    ] = "eu_sourcing",
    adversaries: Annotated[
        str, typer.Option(help="Countries or groups counted as adversaries.")
    ] = "CHN,RUS",
    by: Annotated[str, typer.Option(help="system, programme or material.")] = "system",
    countries: Annotated[
        bool,
        typer.Option("--countries", help="One row per supplier country instead of the summary."),
    ] = False,
    bom: BomOpt = None,
    build_rates: RatesOpt = None,
    which: WhichOpt = "auto",
    default_intensity: DefaultKgOpt = None,
    default_build_rate: DefaultRateOpt = None,
    fmt: FormatOpt = None,
    out: OutOpt = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
) -> None:
    """Defence demand exposed to supplier countries, China and adversaries, by stage."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.defence.exposure(
        bom=bom,
        build_rates=build_rates,
        materials=materials,
        stage=stage,
        mix=mix,
        adversaries=adversaries,
        by=by,
        countries=countries,
        which=which,
        default_intensity_kg=default_intensity,
        default_build_rate=default_build_rate,
    )
    cols = [
        "programme",
        "system",
        "material",
        "stage",
        "country",
        "share",
        "exposed_t",
        "demand_t_per_year",
        "china_share",
        "adversary_share",
        "top_supplier",
        "top_supplier_share",
        "mix_used",
        "proxy",
        "kind",
        "rests_on_assumption",
    ]
    emit(
        _shown(frame, fmt, out, cols),
        fmt,
        out,
        title=f"defence exposure by {by} ({mix})",
        max_rows=100,
    )


@app.command("capability-at-risk")
@reports_errors
def capability_cmd(
    supplier: Annotated[str, typer.Option(help="Supplier country or group cut off.")] = "CHN",
    materials: MaterialsOpt = None,
    cut: Annotated[
        float, typer.Option(help="Share of the supplier's deliveries lost (0-1).")
    ] = 1.0,
    months: Annotated[int, typer.Option(help="Duration of the cut in months.")] = 12,
    stage: StageOpt = None,
    mix: Annotated[str, typer.Option(help="eu_sourcing or global.")] = "eu_sourcing",
    stock_months: Annotated[
        float, typer.Option(help="Defence stock in months of defence demand.")
    ] = 0.0,
    defence_share: PairsOpt = None,
    eu_demand: PairsOpt = None,
    substitution_lead: Annotated[
        int, typer.Option(help="Months before substitutes take effect.")
    ] = 0,
    monthly: Annotated[
        bool, typer.Option("--monthly", help="One row per system and month.")
    ] = False,
    bom: BomOpt = None,
    build_rates: RatesOpt = None,
    which: WhichOpt = "auto",
    default_intensity: DefaultKgOpt = None,
    default_build_rate: DefaultRateOpt = None,
    fmt: FormatOpt = None,
    out: OutOpt = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
) -> None:
    """Systems that cannot be built in a supply cut: fixed recipe vs mitigated.

    Mitigated = substitution (BOM substitutable_share) + defence-first supply; defence-first
    needs --defence-share MAT=share or --eu-demand MAT=t per year.
    """
    kb = open_kb(data_dir, no_user_data)
    frame = kb.defence.capability_at_risk(
        supplier=supplier,
        materials=materials,
        cut=cut,
        months=months,
        stage=stage,
        mix=mix,
        stock_months=stock_months,
        defence_share=_pairs(defence_share, "--defence-share"),
        eu_demand_t=_pairs(eu_demand, "--eu-demand"),
        substitution_lead_months=substitution_lead,
        monthly=monthly,
        bom=bom,
        build_rates=build_rates,
        which=which,
        default_intensity_kg=default_intensity,
        default_build_rate=default_build_rate,
    )
    cols = [
        "system",
        "month",
        "units_per_month",
        "planned_units",
        "not_built_fixed",
        "not_built_mitigated",
        "share_lost_fixed",
        "share_lost_mitigated",
        "limiting_material_fixed",
        "defence_first",
        "kind",
        "rests_on_assumption",
    ]
    emit(
        _shown(frame, fmt, out, cols),
        fmt,
        out,
        title=f"capability at risk: {supplier} cuts {cut:.0%} for {months} months",
        max_rows=120,
    )


@app.command("criticality")
@reports_errors
def criticality_cmd(
    materials: MaterialsOpt = None,
    supply_risk: Annotated[
        str,
        typer.Option(
            help="Supply-risk axis: eu_sr, published_sr, hhi, china_processing or geopolrisk."
        ),
    ] = "eu_sr",
    scheme: Annotated[str, typer.Option(help="eu (two thresholds) or doe (levels 1-4).")] = "eu",
    risk_threshold: Annotated[
        float | None,
        typer.Option(help="Supply-risk threshold [default: 1 for SR, 0.25 HHI, 0.65 China share]."),
    ] = None,
    basis: Annotated[
        str, typer.Option(help="Importance breadth from cited uses, your bom, or auto.")
    ] = "auto",
    bom: BomOpt = None,
    build_rates: RatesOpt = None,
    fmt: FormatOpt = None,
    out: OutOpt = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
) -> None:
    """Defence criticality: defence importance x supply risk, ranked, on the matrix."""
    kb = open_kb(data_dir, no_user_data)
    th = {"supply_risk": risk_threshold} if risk_threshold is not None else None
    frame = kb.defence.criticality(
        materials=materials,
        supply_risk=supply_risk,
        scheme=scheme,
        thresholds=th,
        basis=basis,
        bom=bom,
        build_rates=build_rates,
    )
    cols = [
        "rank",
        "material",
        "defence_importance",
        "supply_risk_score",
        "category",
        "eu_sr",
        "china_processing",
        "hhi",
        "geopolrisk",
        "proxy",
        "nato_2024",
        "crma_strategic",
        "crma_critical",
    ]
    shown = frame if (fmt not in (None, "table") or out is not None) else frame[cols]
    emit(shown, fmt, out, title=f"defence criticality ({supply_risk}, {scheme})", max_rows=120)


@app.command("compare-lists")
@reports_errors
def compare_cmd(
    fmt: FormatOpt = None,
    out: OutOpt = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
) -> None:
    """Where critmat's defence criticality, NATO 2024 and the CRMA lists disagree, and why."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.defence.compare_lists()
    shown = (
        frame
        if (fmt not in (None, "table") or out is not None)
        else frame[
            ["material", "nato_2024", "crma_critical", "critmat_category", "agree", "reason"]
        ]
    )
    emit(shown, fmt, out, title="NATO 2024 / CRMA / critmat defence criticality", max_rows=120)


@app.command("energy")
@reports_errors
def energy_cmd(
    materials: MaterialsOpt = None,
    eu_demand: PairsOpt = None,
    world_demand: PairsOpt = None,
    years: Annotated[
        str, typer.Option(help="Years averaged for EU and world demand.")
    ] = "2018-2022",
    shortfall: Annotated[
        float | None,
        typer.Option(help="Share of EU supply lost: show who is served first under --rule."),
    ] = None,
    rule: Annotated[
        str, typer.Option(help="defence_first, energy_first or pro_rata.")
    ] = "defence_first",
    defence_share: PairsOpt = None,
    bom: BomOpt = None,
    build_rates: RatesOpt = None,
    which: WhichOpt = "auto",
    fmt: FormatOpt = None,
    out: OutOpt = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
) -> None:
    """Defence vs energy transition: demand shares and who is served first in a shortfall."""
    kb = open_kb(data_dir, no_user_data)
    opts = {
        "materials": materials,
        "bom": bom,
        "build_rates": build_rates,
        "which": which,
        "years": years,
        "eu_demand_t": _pairs(eu_demand, "--eu-demand"),
        "world_demand_t": _pairs(world_demand, "--world-demand"),
    }
    if shortfall is None:
        frame = kb.defence.energy(**opts)
        frame = _shown(
            frame,
            fmt,
            out,
            [
                "material",
                "defence_demand_t",
                "eu_demand_t",
                "world_demand_t",
                "defence_share_eu",
                "defence_share_world",
                "energy_transition_share",
                "magnets_share",
                "aerospace_defence_share",
                "end_use_proxy",
                "published_defence_share_upper",
                "kind",
            ],
        )
        title = "defence and the energy transition"
    else:
        frame = kb.defence.shortfall(
            shortfall=shortfall,
            rule=rule,
            defence_share=_pairs(defence_share, "--defence-share"),
            **opts,
        )
        title = f"shortfall {shortfall:.0%} of EU supply, {rule}"
    emit(frame, fmt, out, title=title, max_rows=120)


def register(main: typer.Typer) -> None:
    """Add the `defence` sub-app to the main app."""
    main.add_typer(app, name="defence")
