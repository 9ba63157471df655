"""The `critmat` command."""

from __future__ import annotations

from typing import Annotated

import typer

from critmat.cli import (
    assess,
    crma,
    data,
    defence,
    eu_crm,
    geopolrisk,
    indicators,
    policy,
    scenario,
)
from critmat.cli import decide as decide_cli
from critmat.cli import serve as serve_cli
from critmat.cli.common import (
    DataDirOpt,
    NoUserDataOpt,
    console,
    handle_exception,
    open_kb,
    reports_errors,
)
from critmat.cli.options import App

app = App(
    name="critmat",
    help="Critical raw materials supply security for European defence.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(data.app, name="data")
indicators.register(app)
assess.register(app)
eu_crm.register(app)
geopolrisk.register(app)
scenario.register(app)
defence.register(app)
decide_cli.register(app)
serve_cli.register(app)
policy.register(app)
crma.register(app)


def _version(value: bool) -> None:
    if value:
        from critmat.cli import version_text

        console.print(version_text(), highlight=False)
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Show versions and exit."
        ),
    ] = False,
) -> None:
    """critmat: numbers on critical raw materials that can be checked, explained, acted on."""


@app.command()
@reports_errors
def summary(data_dir: DataDirOpt = None, no_user_data: NoUserDataOpt = False) -> None:
    """Summary of the knowledge base: tables, rows, years, sources and your data."""
    kb = open_kb(data_dir, no_user_data)
    console.print(repr(kb))


def main() -> None:
    """Entry point of the `critmat` console script (and the outer error boundary)."""
    import sys

    try:
        app()
    except (Exception, KeyboardInterrupt) as exc:
        sys.exit(handle_exception(exc).exit_code)
