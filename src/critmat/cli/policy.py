"""`critmat policy ...`: the policy event record, the toolkit comparison and the back-tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from critmat.cli.common import (
    console,
    emit,
    emit_report,
    err_console,
    is_screen,
    open_kb,
    reports_errors,
    shown,
)
from critmat.cli.options import App, DataDir, Force, Format, Materials, NoUserData, Out, Years, opt

__all__ = ["app", "register"]

app = App(
    help="Policy record 2008-2025 (EU, US, Japan, China, NATO): events, timeline, toolkit "
    "comparison, back-tests of export controls against trade.",
    no_args_is_help=True,
)

Actors = Annotated[str | None, opt("actors")]
Types = Annotated[str | None, opt("types")]
AnyActor = Annotated[bool, opt("any_actor")]
TimelineHtml = Annotated[Path | None, opt("timeline_html")]

_EVENT_COLS = [
    "event_id",
    "date",
    "date_precision",
    "actor",
    "instrument_type",
    "materials",
    "materials_unresolved",
    "matched_by",
    "summary",
    "record_issue",
]


@app.command("events")
@reports_errors
def events_cmd(
    actors: Actors = None,
    types: Types = None,
    materials: Materials = None,
    years: Years = None,
    any_actor: AnyActor = False,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Events of the policy record (policy_events), filtered; sources in csv/json output."""
    kb = open_kb(data_dir, no_user_data)
    frame = kb.policy.events(
        actors=actors, types=types, materials=materials, years=years, any_actor=any_actor
    )
    if is_screen(fmt, out):
        frame = frame.copy()
        frame["summary"] = frame["summary"].str.slice(0, 70)
        if frame["matched_by"].isna().all():
            frame = frame.drop(columns=["matched_by"])
    emit(shown(frame, fmt, out, _EVENT_COLS), fmt, out, title="policy events", max_rows=200)
    unresolved = frame["materials_unresolved"].notna().sum()
    if unresolved:
        err_console.print(
            f"{unresolved} event(s) name materials the knowledge base does not hold "
            "(materials_unresolved, kept verbatim)"
        )


@app.command("timeline")
@reports_errors
def timeline_cmd(
    html: TimelineHtml = None,
    force: Force = False,
    actors: Actors = None,
    types: Types = None,
    materials: Materials = None,
    years: Years = None,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Timeline of the events: one lane per actor, markers by instrument type (--html FILE)."""
    kb = open_kb(data_dir, no_user_data)
    ev = kb.policy.events(actors=actors, types=types, materials=materials, years=years)
    if html is None:
        from critmat.errors import ParameterError

        raise ParameterError(
            "give --html FILE to write the timeline (a self-contained HTML page); "
            "`critmat policy events` prints the same events as a table"
        )
    if ev.empty:
        from critmat.errors import ParameterError

        raise ParameterError("no events match the filters: nothing to draw")
    from critmat.report.policy import timeline_report

    comp = kb.policy.compare(actors=actors) if actors else kb.policy.compare()
    emit_report(timeline_report(kb, ev, comp), html, what="--html")


@app.command("compare")
@reports_errors
def compare_cmd(
    actors: Actors = None,
    html: TimelineHtml = None,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Toolkit comparison: instruments per actor, first/latest use, counts by period, examples.

    Prints the table and a short text per actor pair generated from it; --html FILE also
    writes the heat map and the timeline.
    """
    kb = open_kb(data_dir, no_user_data)
    comp = kb.policy.compare(actors=actors)
    table = comp.table
    if is_screen(fmt, out):
        table = table[table["n_events"] > 0].drop(columns=["examples"])
        table.attrs = comp.table.attrs
    emit(table, fmt, out, title="policy toolkits (events in the record)", max_rows=100)
    if is_screen(fmt, out):
        for (a, b), text in comp.texts.items():
            console.print(f"[bold]{a} vs {b}[/bold]: {text}")
    if html is not None:
        from critmat.report.policy import timeline_report

        ev = kb.policy.events(actors=",".join(comp.matrix.index))
        emit_report(timeline_report(kb, ev, comp), html, what="--html")


_BT_COLS = [
    "event_id",
    "material",
    "stage",
    "flow",
    "q_before_t",
    "q_year_of_t",
    "q_after_t",
    "change",
    "z",
    "uv_change",
    "status",
    "preset",
    "predicted_window_months",
    "observed_gap_months",
    "verdict",
]


@app.command("backtest")
@reports_errors
def backtest_cmd(
    events: Annotated[str | None, opt("events")] = None,
    presets: Annotated[bool, opt("with_presets")] = True,
    samples: Annotated[int, opt("backtest_samples")] = 500,
    fmt: Format = None,
    out: Out = None,
    force: Force = False,
    data_dir: DataDir = None,
    no_user_data: NoUserData = False,
) -> None:
    """Export controls against trade: imports from China before vs after, with z-scores.

    For events with a scenario preset, the preset's predicted EU shortfall next to what
    the trade shows, and a verdict (agree / disagree / not_testable).
    """
    kb = open_kb(data_dir, no_user_data)
    frame = kb.policy.backtest(events=events, presets=presets, samples=samples)
    emit(shown(frame, fmt, out, _BT_COLS), fmt, out, title="back-test (BACI)", max_rows=100)
    if is_screen(fmt, out):
        for text in dict.fromkeys(frame["verdict_text"].dropna()):
            if text:
                console.print(f"- {text}")


def register(main: typer.Typer) -> None:
    """Add the `policy` sub-app to the main app."""
    main.add_typer(app, name="policy")
