"""The CLI starts without heavy libraries (docs/design.md, "CLI modules import heavy
libraries inside commands").

``critmat --version`` and ``critmat --help`` must not pay for pandas, numpy, DuckDB, Arrow,
plotly, the solvers or the knowledge base: every module of :mod:`critmat.cli` imports them
inside the command that uses them. Each check runs in a fresh interpreter and looks at
``sys.modules`` (no timing: this test cannot be flaky, and cannot regress silently).
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import critmat.cli

#: Libraries (and critmat modules that pull them in) no CLI module may import at load time.
HEAVY = (
    "pandas",
    "numpy",
    "duckdb",
    "pyarrow",
    "plotly",
    "scipy",
    "dask",
    "distributed",
    "linopy",
    "xarray",
    "highspy",
    "pandera",
    "openpyxl",
    "pydantic",
    "critmat.knowledge_base",
    "critmat.data.store",
    "critmat.output",
)

CLI_MODULES = [
    *sorted(f"critmat.cli.{m.name}" for m in pkgutil.iter_modules(critmat.cli.__path__)),
    "critmat.cli",
    "critmat.__main__",
]


def _loaded_after(code: str) -> list[str]:
    """Heavy modules present in ``sys.modules`` after running ``code`` in a new interpreter."""
    probe = (
        "import sys, json, contextlib, io\n"
        f"{code}\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_every_cli_module_is_listed() -> None:
    # the walk sees the modules other helpers add (policy, serve, ...) without an edit here
    assert {"critmat.cli.app", "critmat.cli.common", "critmat.cli.assess"} <= set(CLI_MODULES)


@pytest.mark.parametrize("module", CLI_MODULES)
def test_importing_a_cli_module_imports_nothing_heavy(module: str) -> None:
    assert _loaded_after(f"import {module}") == [], (
        f"`import {module}` loads heavy libraries: import them inside the command "
        "(docs/design.md, 'CLI modules import heavy libraries inside commands')"
    )


def test_help_imports_nothing_heavy() -> None:
    code = (
        "from critmat.cli.app import app\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        "        app(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'assess' in out.getvalue(), out.getvalue()\n"
    )
    assert _loaded_after(code) == []


def test_version_needs_neither_typer_nor_heavy_libraries() -> None:
    code = (
        "sys.argv = ['critmat', '--version']\n"
        "from critmat.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    main()\n"
        "assert out.getvalue().startswith('critmat '), out.getvalue()\n"
        "assert 'dataset' in out.getvalue() and 'hash' in out.getvalue()\n"
        "assert 'typer' not in sys.modules and 'rich' not in sys.modules\n"
    )
    assert _loaded_after(code) == []


def test_version_agrees_with_typer_version() -> None:
    from typer.testing import CliRunner

    from critmat.cli import version_text
    from critmat.cli.app import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == version_text()
