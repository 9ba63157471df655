"""`critmat hhi`, `critmat dependency`, `critmat criticality`: supply-risk indicators."""

from __future__ import annotations

from typing import Annotated

import typer

from critmat.cli.common import emit, open_kb, reports_errors, shown
from critmat.cli.options import (
    DataDir,
    Exporters,
    Force,
    Format,
    GroupBy,
    Materials,
    NoUserData,
    Out,
    Stage,
    Years,
    opt,
)

__all__ = ["register"]


@reports_errors
def hhi(
    materials: Materials = None,
    years: Years = None,
    stage: Stage = None,
    groupby: GroupBy = None,
    adversaries: Annotated[str | None, opt("adversaries")] = None,
    source: Annotated[str | None, opt("source")] = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
    supply_vintage: Annotated[str, opt("supply_vintage")] = "newest",
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
        supply_vintage=supply_vintage,
    )
    emit(frame, fmt, out, title="supply concentration")


@reports_errors
def dependency(
    materials: Materials = None,
    importers: Annotated[str | None, opt("importers", default="EU27")] = "EU27",
    exporters: Exporters = None,
    years: Years = None,
    stage: Stage = None,
    groupby: GroupBy = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
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


_CRITICALITY_SHOWN = [
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
]


@reports_errors
def criticality(
    materials: Materials = None,
    scheme: Annotated[str, opt("scheme")] = "eu",
    importance: Annotated[str, opt("importance")] = "eu_ei",
    supply_risk: Annotated[str, opt("supply_risk")] = "eu_sr",
    year: Annotated[int, opt("year", help="EU assessment year.")] = 2023,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
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
    emit(
        shown(frame, fmt, out, _CRITICALITY_SHOWN),
        fmt,
        out,
        title=f"criticality ({scheme})",
        max_rows=120,
    )


def register(app: typer.Typer) -> None:
    """Add the indicator commands to the main app."""
    app.command("hhi")(hhi)
    app.command("dependency")(dependency)
    app.command("criticality")(criticality)
