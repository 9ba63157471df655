"""`critmat eu-sr`: EU CRM supply risk and economic importance next to the published values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from critmat.cli.common import emit, err_console, is_screen, open_kb, reports_errors
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
from critmat.indicators.eu_crm_contract import (
    CONTRACT_COLUMNS,
    DEFAULT_WGI_VINTAGE,
    DEFAULT_WGI_YEARS,
    MEASURES,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DETAIL_COLUMNS", "eu_sr", "register"]

#: Columns added by ``--detail``.
DETAIL_COLUMNS = [
    *CONTRACT_COLUMNS,
    "published_stage_used",
    "published_sr_extraction",
    "published_sr_processing",
    *[f"agrees_{m}" for m in MEASURES],
    "mix_extraction",
    "mix_processing",
    "published_mix_extraction",
    "published_mix_processing",
    "status",
    "reason",
]


_LABEL = {"sr_extraction": "SR_E", "sr_processing": "SR_P", "sr": "SR", "ei": "EI"}


def _summary(frame: pd.DataFrame) -> str:
    prov = frame.attrs.get("critmat", {})
    params = prov.get("parameters", {})
    parts = []
    for m in MEASURES:
        col = frame.get(f"agrees_{m}")
        if col is not None and col.notna().any():
            parts.append(f"{_LABEL[m]} {int(col.sum())}/{int(col.notna().sum())}")
    gov = next((n for n in prov.get("notes", []) if n.startswith("governance:")), "")
    corr = ", ".join(params.get("corrections", [])) or "none"
    agree = "; agree with the published value to one decimal: " + ", ".join(parts) if parts else ""
    return f"{gov}; corrections: {corr}{agree}"


@reports_errors
def eu_sr(
    year: Annotated[int, opt("year")] = 2023,
    materials: Materials = None,
    stage: Stage = None,
    governance_vintage: Annotated[
        str, opt("governance_vintage", default=DEFAULT_WGI_VINTAGE)
    ] = DEFAULT_WGI_VINTAGE,
    wgi_years: Annotated[str, opt("wgi_years")] = str(DEFAULT_WGI_YEARS),
    wgi_measure: Annotated[str, opt("wgi_measure")] = "auto",
    corrections: Annotated[str, opt("corrections")] = "none",
    detail: Annotated[
        bool,
        opt(
            "detail",
            help="Add published stage values, agreement flags, mixes, status and reasons.",
        ),
    ] = False,
    importers: Importers = None,
    exporters: Exporters = None,
    years: Years = None,
    groupby: GroupBy = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """EU supply risk and economic importance, computed next to the published values.

    SR per stage and at the bottleneck stage, EI, the criticality flag (SR >= 1 and
    EI >= 2.8) and the reason for each value that does not agree to one decimal.

    --importers, --exporters, --years and --groupby do not apply to the EU method (an
    error if given): use --year for the assessment and --wgi-years for governance.
    """
    kb = open_kb(data_dir, no_user_data)
    frame = kb.indicators.eu_supply_risk(
        materials=materials,
        year=year,
        stage=stage,
        governance_vintage=governance_vintage,
        wgi_years=wgi_years,
        wgi_measure=wgi_measure,
        corrections=corrections,
        importers=importers,
        exporters=exporters,
        years=years,
        groupby=groupby,
    )
    to_screen = is_screen(fmt, out)
    if detail:
        cols = DETAIL_COLUMNS
    elif to_screen:
        cols = [*CONTRACT_COLUMNS, "reason"]
    else:
        cols = CONTRACT_COLUMNS
    shown = frame.loc[:, [c for c in cols if c in frame.columns]]
    if to_screen:
        numeric = shown.select_dtypes("float").columns
        shown = shown.assign(**{c: shown[c].round(2) for c in numeric})
    shown.attrs = dict(frame.attrs)
    title = f"EU supply risk and economic importance, {year} assessment"
    emit(shown, fmt, out, title=title, max_rows=200)
    if to_screen:
        err_console.print(_summary(frame), highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``critmat eu-sr`` to the main app."""
    app.command("eu-sr")(eu_sr)
