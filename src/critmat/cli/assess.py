"""`critmat assess`: the EU defence raw-materials assessment (the main job).

The command asks the library for the assessment (:func:`critmat.assess.assess`), prints
its tables (:func:`critmat.report.assessment.terminal_tables`) or writes the table, and
asks for the report (:func:`critmat.report.assessment.assessment_report`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from critmat.cli.common import (
    check_out,
    console,
    emit,
    emit_report,
    is_screen,
    open_kb,
    reports_errors,
)
from critmat.cli.options import DataDir, Force, Format, GroupBy, NoUserData, Out, opt

__all__ = ["register"]


@reports_errors
def assess(
    materials: Annotated[
        str | None, opt("materials", default_text="CRMA Annex I and II and NATO 2024")
    ] = None,
    importers: Annotated[
        str | None,
        opt(
            "importers", default="EU27", help="The importer unit of GeoPolRisk (ISO-3 or a group)."
        ),
    ] = "EU27",
    years: Annotated[
        str | None,
        opt("years", help="The year of the GeoPolRisk score.", default_text="latest"),
    ] = None,
    groupby: GroupBy = None,
    report: Annotated[Path | None, opt("report")] = None,
    previous: Annotated[Path | None, opt("previous")] = None,
    whatif_samples: Annotated[int, opt("whatif_samples")] = 300,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
    supply_vintage: Annotated[str, opt("supply_vintage")] = "newest",
) -> None:
    """EU defence raw-materials assessment (China shares, HHI, IR, GeoPolRisk, SR, EI).

    For the CRMA strategic and critical raw materials: China share at extraction and
    processing, HHI, import reliance, GeoPolRisk score, EU supply risk and economic
    importance, critical yes/no; the defence summary and a "what if" from the presets;
    --report writes the report (FILE.html or FILE.pdf) opening with an executive summary;
    --previous FILE.json (an earlier report's data) adds what changed since.
    With --format or --out (and no --report) only the table is computed and written.
    """
    from critmat.assess import assess as run
    from critmat.report.assessment import assessment_report, terminal_tables

    check_out(out)
    check_out(report, what="--report", report=True)  # an unknown suffix stops before the work
    before = None
    if previous is not None:
        from critmat.report.executive import read_previous

        before = read_previous(previous)
    kb = open_kb(data_dir, no_user_data)
    screen = is_screen(fmt, out)
    # a file or --format without --report holds the table only: the defence summary,
    # capability at risk and the what-if ensembles are computed only where they are shown
    sections = screen or report is not None
    with console.status("assessing ..."):
        result = run(
            kb,
            materials=materials,
            importers=importers,
            years=years,
            groupby=groupby,
            defence=sections,
            whatif_samples=whatif_samples if sections else 0,
            supply_vintage=supply_vintage,
        )
    if screen:
        for table in terminal_tables(result, width=console.width):
            console.print(table)
    else:
        emit(result.table, fmt, out, title="assessment")
    if report is not None:
        with console.status("writing the report ..."):
            emit_report(assessment_report(kb, result, previous=before), report)


def register(app: typer.Typer) -> None:
    """Add `assess` to the main app."""
    app.command("assess")(assess)
