"""End-to-end tests of the `critmat` command (Typer CliRunner and the real console script)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from critmat.cli.app import app
from tests.conftest import write_csv

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_version() -> None:
    code, out = run("--version")
    assert code == 0 and "critmat" in out and "dataset" in out


def test_console_script_help() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "critmat", "--help"], capture_output=True, text=True, check=True
    )
    assert "data" in proc.stdout


def test_summary_and_list() -> None:
    code, out = run("summary")
    assert code == 0 and "trade" in out and "1,264,888" in out
    code, out = run("data", "list", "--format", "json")
    rows = json.loads(out)
    assert {r["table"] for r in rows} >= {"trade", "production", "governance"}


def test_describe_and_typo() -> None:
    code, out = run("data", "describe", "production")
    assert code == 0 and "quantity_t" in out and "World Mining Data" in out
    code, out = run("data", "describe", "prodution")
    assert code == 2 and "did you mean 'production'" in out


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx", "json"])
def test_export_formats(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"nato.{fmt}"
    code, _ = run("data", "export", "nato_2024", "--out", str(out))
    assert code == 0 and out.exists()
    assert (tmp_path / f"nato.{fmt}.provenance.json").exists()
    reader = {
        "csv": pd.read_csv,
        "parquet": pd.read_parquet,
        "xlsx": pd.read_excel,
        "json": pd.read_json,
    }[fmt]
    assert len(reader(out)) == 12


def test_export_filtered(tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    code, _ = run(
        "data",
        "export",
        "production",
        "--materials",
        "gallium",
        "--years",
        "2020-2022",
        "--out",
        str(out),
    )
    frame = pd.read_csv(out)
    assert code == 0 and set(frame["material"]) == {"gallium"}
    assert set(frame["year"]) == {2020, 2021, 2022}


def test_import_good_and_bad(tmp_path: Path, data_dir: Path) -> None:
    bad = write_csv(
        tmp_path / "bad.csv",
        """
        material,country,year,quantity
        galium,DEU,2023,1
        """,
    )
    report = tmp_path / "report.json"
    code, out = run("data", "import", str(bad), "--table", "production", "--report", str(report))
    assert code == 2
    assert "galium" in out and "gallium" in out and "nothing was imported" in out
    assert json.loads(report.read_text())["problems"][0]["row"] == 2
    assert not data_dir.exists()
    good = write_csv(
        tmp_path / "good.csv",
        """
        material,country,year,quantity
        gallium,DEU,2023,1
        """,
    )
    code, out = run("data", "import", str(good), "--table", "production")
    assert code == 0 and "imported 1 rows" in out
    code, out = run("data", "list", "--format", "csv")
    assert "production" in out
    listed = pd.read_csv(pd.io.common.StringIO(out)).set_index("table")
    assert listed.loc["production", "user_rows"] == 1
    code, out = run("data", "remove", "production")
    assert code == 0 and "removed" in out


def test_import_unknown_table_and_options(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "x.csv", "a\n1\n")
    code, out = run("data", "import", str(f), "--table", "prodction")
    assert code == 2 and "did you mean 'production'" in out
    code, out = run("data", "import", str(f), "--table", "production", "--mode", "upsert")
    assert code == 2 and "mode must be one of" in out


def test_query() -> None:
    code, out = run("data", "query", "select count(*) as n from nato_2024", "-f", "csv")
    assert code == 0 and out.strip().splitlines() == ["n", "12"]
    code, out = run("data", "query", "select nope from nato_2024")
    assert code == 2 and "SQL error" in out
