"""`critmat hhi`, `critmat dependency`, `critmat criticality`: supply-risk indicators."""

from __future__ import annotations

from typing import Annotated

import typer

from critmat.cli.common import (
    DataDirOpt,
    ExportersOpt,
    FormatOpt,
    GroupByOpt,
    ImportersOpt,
    MaterialsOpt,
    NoUserDataOpt,
    OutOpt,
    StageOpt,
    YearsOpt,
    emit,
    open_kb,
    reports_errors,
)

__all__ = ["register"]


@reports_errors
def hhi(
    materials: MaterialsOpt = None,
    years: YearsOpt = None,
    stage: StageOpt = None,
    groupby: GroupByOpt = None,
    adversaries: Annotated[
        str | None,
        typer.Option(
            help="Countries or groups whose combined share is reported as adversary_share, "
            "e.g. CHN,RUS."
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            help="wmd (World Mining Data by year, extraction) or eu_crm_2023 (EU 2023 global "
            "shares, extraction and processing); default both."
        ),
    ] = None,
    fmt: FormatOpt = None,
    out: OutOpt = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
) -> None:
    """Supply concentration: HHI, top-n share, China share and adversary share."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.indicators.concentration(
        materials=materials,
        years=years,
        stage=stage,
        groupby=groupby,
        adversaries=adversaries,
        source=source,
    )
    emit(frame, fmt, out, title="supply concentration")


@reports_errors
def dependency(
    materials: MaterialsOpt = None,
    importers: ImportersOpt = "EU27",
    exporters: ExportersOpt = None,
    years: YearsOpt = None,
    stage: StageOpt = None,
    groupby: GroupByOpt = None,
    fmt: FormatOpt = None,
    out: OutOpt = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
) -> None:
    """Import dependency: shares by origin, import HHI, China share, net import reliance."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.indicators.dependency(
        materials=materials,
        importers=importers,
        exporters=exporters,
        years=years,
        stage=stage,
        groupby=groupby,
    )
    emit(frame, fmt, out, title="import dependency")


@reports_errors
def criticality(
    materials: MaterialsOpt = None,
    scheme: Annotated[
        str, typer.Option(help="eu (EI >= 2.8 and SR >= 1) or doe (levels 1-4 per axis).")
    ] = "eu",
    importance: Annotated[
        str, typer.Option(help="Importance axis: eu_ei or published_ei.")
    ] = "eu_ei",
    supply_risk: Annotated[
        str, typer.Option(help="Supply-risk axis: eu_sr or published_sr.")
    ] = "eu_sr",
    year: Annotated[int, typer.Option(help="EU assessment year.")] = 2023,
    fmt: FormatOpt = None,
    out: OutOpt = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
) -> None:
    """Criticality matrix: importance x supply risk with EU or DOE-style cut-offs."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.indicators.criticality(
        materials=materials,
        scheme=scheme,
        importance=importance,
        supply_risk=supply_risk,
        year=year,
    )
    cols = [
        c
        for c in (
            "material",
            "importance_score",
            "supply_risk_score",
            "importance_level",
            "supply_risk_level",
            "category",
            "crma_strategic",
            "crma_critical",
            "nato_2024",
            "stage_used",
        )
        if c in frame.columns
    ]
    shown = frame if (fmt not in (None, "table") or out is not None) else frame[cols]
    emit(shown, fmt, out, title=f"criticality ({scheme})", max_rows=120)


def register(app: typer.Typer) -> None:
    """Add the indicator commands to the main app."""
    app.command("hhi")(hhi)
    app.command("dependency")(dependency)
    app.command("criticality")(criticality)
