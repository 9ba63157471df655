"""`critmat geopolrisk`: GeoPolRisk for every material x importer x year of a selection."""

from __future__ import annotations

from typing import Annotated

import typer

from critmat.cli.common import emit, open_kb, reports_errors
from critmat.cli.options import (
    DataDir,
    Exporters,
    Force,
    Format,
    GroupBy,
    Importers,
    Materials,
    NoUserData,
    Out,
    Stage,
    Years,
    opt,
)

__all__ = ["register"]


@reports_errors
def geopolrisk(
    materials: Materials = None,
    importers: Importers = None,
    exporters: Exporters = None,
    years: Years = None,
    stage: Stage = None,
    groupby: GroupBy = None,
    governance_vintage: Annotated[str, opt("governance_vintage")] = "wgi_pv_geopolrisk",
    missing_governance: Annotated[str, opt("missing_governance")] = "nan",
    min_coverage: Annotated[float, opt("min_coverage")] = 0.99,
    fill_value: Annotated[float, opt("fill_value")] = 0.5,
    intra_region: Annotated[str, opt("intra_region")] = "zero_risk",
    price_basis: Annotated[str, opt("price_basis")] = "reported_quantity",
    peer_compatible: Annotated[bool, opt("peer_compatible")] = False,
    detail: Annotated[
        bool,
        opt(
            "detail",
            help="Add midpoint, cf_paper, numerator, imports_t, imports_kusd, "
            "domestic_production_t, governance_coverage, quantity_coverage.",
        ),
    ] = False,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """GeoPolRisk score, import risk and CF per material x importer x year.

    Columns: material, importer (ISO-3 or a group such as EU27), year,
    hhi, import_risk, score, price (kUSD/t), cf (kg Cu-eq/kg) and status.
    Missing inputs give an empty value with a status, never 0.
    Method: Koyamparambath et al. (2024); see docs/geopolrisk.md.
    """
    if peer_compatible:
        from critmat.indicators.geopolrisk import PEER_COMPATIBLE

        missing_governance = PEER_COMPATIBLE["missing_governance"]
        fill_value = PEER_COMPATIBLE["fill_value"]
        price_basis = PEER_COMPATIBLE["price_basis"]
    kb = open_kb(data_dir, no_user_data)
    frame = kb.indicators.geopolrisk(
        materials=materials,
        importers=importers,
        exporters=exporters,
        years=years,
        stage=stage,
        groupby=groupby,
        governance_vintage=governance_vintage,
        missing_governance=missing_governance,  # type: ignore[arg-type]
        fill_value=fill_value,
        min_coverage=min_coverage,
        intra_region=intra_region,  # type: ignore[arg-type]
        price_basis=price_basis,  # type: ignore[arg-type]
        detail=detail,
    )
    emit(frame, fmt, out, title="GeoPolRisk")


def register(app: typer.Typer) -> None:
    """Add the ``geopolrisk`` command to the main app."""
    app.command("geopolrisk")(geopolrisk)
