"""`critmat crma ...`: the CRMA Article 5 benchmark tracker."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from critmat.cli.common import console, emit, is_screen, open_kb, reports_errors, shown
from critmat.cli.options import App, DataDir, Force, Format, Materials, NoUserData, Out, opt
from critmat.params import param

__all__ = ["app", "register"]

app = App(
    help="Critical Raw Materials Act: the strategic raw materials against the Art. 5 "
    "benchmarks (2030).",
    no_args_is_help=True,
)

_COLS = [
    "material",
    "benchmark",
    "threshold",
    "value",
    "basis",
    "third_country",
    "reference_years",
    "status",
    "gap_2030_t",
    "n_projects",
    "projects_t_yr",
    "user_projects_t_yr",
    "gap_after_projects_t",
]


@app.command("benchmarks")
@reports_errors
def benchmarks_cmd(
    materials: Materials = None,
    benchmark_set: Annotated[str, opt("benchmark_set")] = "final",
    consumption: Annotated[Path | None, opt("consumption")] = None,
    projects: Annotated[
        Path | None,
        opt(
            "projects",
            help="Your projects (project, material, stage, capacity_t_yr, status, in_eu, "
            "source), counted against the 2030 gaps.",
            default_text="none (CRMA Strategic Projects only)",
        ),
    ] = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Extraction >= 10 %, processing >= 40 %, recycling >= 25 %, no third country > 65 %.

    Each value with its basis (tonnes from --consumption, share_proxy from the EU 2023
    study, no_data), reference years and status; the 2030 gap in tonnes where tonnes exist,
    and the CRMA Strategic Projects (and --projects) counted against it.
    """
    param("benchmark_set").check(benchmark_set)
    kb = open_kb(data_dir, no_user_data)
    frame = kb.policy.crma_benchmarks(
        materials=materials,
        benchmark_set=benchmark_set,
        consumption=consumption,
        projects=projects,
    )
    if is_screen(fmt, out):
        view = shown(frame, fmt, out, _COLS)
        if view["gap_2030_t"].isna().all():
            view = view.drop(columns=["gap_2030_t", "gap_after_projects_t"])
        if view["user_projects_t_yr"].isna().all():
            view = view.drop(columns=["user_projects_t_yr"])
        view.attrs = frame.attrs
        version = frame["version"].iloc[0] if len(frame) else benchmark_set
        emit(view, fmt, out, title=f"CRMA Art. 5 benchmarks ({version})", max_rows=120)
        counts = frame.groupby("status").size()
        console.print(
            ", ".join(f"{int(n)} {s}" for s, n in counts.items())
            + "; share_proxy = EU 2023 study shares (2016-2020), not tonnes: "
            "--consumption FILE gives the tonnes basis"
        )
        return
    emit(frame, fmt, out, title="CRMA Art. 5 benchmarks")


def register(main: typer.Typer) -> None:
    """Add the `crma` sub-app to the main app."""
    main.add_typer(app, name="crma")
