"""`critmat assess`: the EU defence raw-materials assessment (the main job)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.table import Table

from critmat.cli.common import (
    DataDirOpt,
    FormatOpt,
    MaterialsOpt,
    NoUserDataOpt,
    OutOpt,
    console,
    emit,
    err_console,
    fail,
    open_kb,
)
from critmat.errors import CritmatError

if TYPE_CHECKING:
    from critmat.scenarios.report import WhatIf

__all__ = ["register"]


def _cell(value: object, unit: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, bool):
        return "[bold red]yes[/]" if value else "no"
    if isinstance(value, float):
        if unit == "fraction":
            return f"{value:.0%}"
        if unit == "0-1":
            return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"
        if unit == "t":
            return f"{value:,.1f}"
        return f"{value:.1f}"
    return str(value)


def _print_whatif(w: WhatIf) -> None:
    """Print one line per preset: the material with the largest expected shortfall."""
    table = w.table
    if table.empty:
        return
    top = table.sort_values("expected shortfall (months)", ascending=False).drop_duplicates(
        "scenario"
    )
    t = Table(
        title=f"What if (presets, {w.samples} draws each, seed {w.seed}; stocks "
        f"{w.stock_months:.1f} months of demand)",
        header_style="bold",
    )
    for c in (
        "preset",
        "event",
        "worst material",
        "P(shortfall)",
        "E[shortfall] mo",
        "CVaR95 mo",
        "stock lasts mo",
    ):
        t.add_column(
            c,
            justify="left" if c in ("preset", "event", "worst material") else "right",
            no_wrap=c == "preset",
        )
    for rec in top.to_dict("records"):
        t.add_row(
            rec["preset"],
            rec["event"],
            rec["material"],
            f"{rec['P(any shortfall)']:.0%}",
            f"{rec['expected shortfall (months)']:.2f}",
            f"{rec['CVaR95 (months)']:.2f}",
            _cell(rec["stock lasts (median, months)"], ""),
        )
    t.caption = (
        "material with the largest expected shortfall per preset (`critmat scenario "
        "presets`); shortfall in months of EU demand, CVaR95 = mean of the worst 5 %; "
        "stock lasts: median months until the stock is used up; tables and fan charts "
        "in --report, full ensembles with `critmat scenario run --preset NAME`"
    )
    console.print(t)


def assess(
    materials: MaterialsOpt = None,
    importer: Annotated[str, typer.Option(help="Importer unit (ISO-3 or a group).")] = "EU27",
    year: Annotated[int | None, typer.Option(help="GeoPolRisk year [default: latest].")] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            help="Write a self-contained HTML report with charts and sources.", dir_okay=False
        ),
    ] = None,
    whatif_samples: Annotated[
        int,
        typer.Option(
            "--whatif-samples",
            help="Monte Carlo draws per preset for the 'what if' section (0 to skip).",
        ),
    ] = 300,
    fmt: FormatOpt = None,
    out: OutOpt = None,
    data_dir: DataDirOpt = None,
    no_user_data: NoUserDataOpt = False,
) -> None:
    """EU defence raw-materials assessment (China shares, HHI, IR, GeoPolRisk, SR, EI).

    For the CRMA strategic and critical raw materials: China share at extraction and
    processing, HHI, import reliance, GeoPolRisk score, EU supply risk and economic
    importance, critical yes/no; --report writes a self-contained HTML report.
    """
    from critmat.assess import assess as run

    try:
        kb = open_kb(data_dir, no_user_data)
        with console.status("assessing ..."):
            result = run(kb, materials=materials, importer=importer, year=year)
        if fmt not in (None, "table") or out is not None:
            emit(result.table, fmt, out, title="assessment")
        else:
            t = Table(
                title=f"Defence raw materials, importer {result.importer} "
                f"(GeoPolRisk {result.year}; EU method 2023 inputs)",
                header_style="bold",
            )
            cols = list(result.columns)
            for c in cols:
                left = c == "material"
                t.add_column(
                    result.columns[c][0], justify="left" if left else "right", no_wrap=left
                )
            for rec in result.table.to_dict("records"):
                cells = [_cell(rec[c], result.columns[c][1]) for c in cols]
                if rec.get("critical_basis") == "computed SR, published EI":
                    cells[cols.index("critical")] += "*"
                t.add_row(*cells)
            t.caption = (
                "China E/P: share of global supply (EU 2023); HHI at the bottleneck "
                "stage; IR: EU import reliance; SR/EI: EU method computed by critmat "
                "(* EI not computable from the public tables, published EI used); "
                "GeoPolRisk – = not assessable (no HS code) or no data; sources: "
                "`critmat assess --report FILE`"
            )
            console.print(t)
            if result.defence is not None:
                from critmat.defence.report import ASSESS_COLUMNS

                d = Table(
                    title="Defence: importance, demand and its exposure (critmat "
                    "indicator; see docs/defence.md)",
                    header_style="bold",
                )
                for c, (label, _unit) in ASSESS_COLUMNS.items():
                    d.add_column(
                        label,
                        justify="left" if c == "material" else "right",
                        no_wrap=c == "material",
                    )
                shown = result.defence[result.defence["defence_category"] != "no cited defence use"]
                for rec in shown.to_dict("records"):
                    d.add_row(*[_cell(rec[c], unit) for c, (_l, unit) in ASSESS_COLUMNS.items()])
                d.caption = (
                    f"{len(result.defence) - len(shown)} assessed materials have no "
                    "cited defence use; demand from your BOMs, else the cited CRS "
                    "2013 reference systems"
                )
                console.print(d)
        computed = None
        if whatif_samples > 0:
            from critmat.scenarios.report import whatif

            with console.status("what-if ensembles of the presets ..."):
                computed = whatif(kb, samples=whatif_samples)
            if fmt in (None, "table") and out is None:
                _print_whatif(computed)
        if report is not None:
            from critmat.defence.report import defence_section
            from critmat.report.html import write_assessment_report
            from critmat.scenarios.report import whatif_section

            sections = [defence_section(kb, result)]
            if computed is not None:
                sections.append(whatif_section(kb, computed=computed))
            path = write_assessment_report(kb, result, report, extra_sections=sections)
            err_console.print(f"wrote report {path}")
    except CritmatError as exc:
        raise fail(exc) from None


def register(app: typer.Typer) -> None:
    """Add `assess` to the main app."""
    app.command("assess")(assess)
