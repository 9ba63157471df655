"""`critmat geopolrisk`: GeoPolRisk for every material x importer x year of a selection."""

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
def geopolrisk(
    materials: MaterialsOpt = None,
    importers: ImportersOpt = None,
    exporters: ExportersOpt = None,
    years: YearsOpt = None,
    stage: StageOpt = None,
    groupby: GroupByOpt = None,
    governance_vintage: Annotated[
        str,
        typer.Option(
            help="Governance release for the exporters' political instability: "
            "wgi_pv_geopolrisk, wgi_2023, wgi_2024 or a user vintage."
        ),
    ] = "wgi_pv_geopolrisk",
    missing_governance: Annotated[
        str,
        typer.Option(
            help="nan: imports from an exporter without governance value give NaN "
            "(status missing_governance); fill: use --fill-value (status "
            "governance_filled); exclude: leave such imports out when they are at most "
            "1 - --min-coverage of the tonnage (status governance_partial)."
        ),
    ] = "nan",
    min_coverage: Annotated[
        float,
        typer.Option(
            help="Least share of import tonnage with a governance value, with "
            "--missing-governance exclude."
        ),
    ] = 0.99,
    fill_value: Annotated[
        float,
        typer.Option(
            help="Instability g for exporters without governance value with "
            "--missing-governance fill."
        ),
    ] = 0.5,
    intra_region: Annotated[
        str,
        typer.Option(
            help="zero_risk: a group's imports from its members count with g = 0; exclude: "
            "they are domestic and left out."
        ),
    ] = "zero_risk",
    price_basis: Annotated[
        str,
        typer.Option(
            help="reported_quantity: value / quantity of flows with a quantity; all_value: "
            "all values / reported quantities (geopolrisk-py)."
        ),
    ] = "reported_quantity",
    peer_compatible: Annotated[
        bool,
        typer.Option(
            "--peer-compatible",
            help="Follow geopolrisk-py 2.0.1 where it has a choice: --missing-governance fill "
            "--fill-value 0.5 --price-basis all_value.",
        ),
    ] = False,
    detail: Annotated[
        bool,
        typer.Option(
            "--detail",
            help="Add midpoint, cf_paper, numerator, imports_t, imports_kusd, "
            "domestic_production_t, governance_coverage, quantity_coverage.",
        ),
    ] = False,
    fmt: FormatOpt = None,
    out: OutOpt = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
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
        missing_governance=missing_governance,
        fill_value=fill_value,
        min_coverage=min_coverage,
        intra_region=intra_region,
        price_basis=price_basis,
        detail=detail,
    )
    emit(frame, fmt, out, title="GeoPolRisk")


def register(app: typer.Typer) -> None:
    """Add the ``geopolrisk`` command to the main app."""
    app.command("geopolrisk")(geopolrisk)
