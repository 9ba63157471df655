"""End-to-end tests of `critmat hhi` and `critmat dependency`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from critmat.cli.app import app

runner = CliRunner()


def test_hhi_csv(tmp_path: Path) -> None:
    out = tmp_path / "hhi.csv"
    r = runner.invoke(
        app,
        [
            "hhi",
            "--materials",
            "gallium,Ge",
            "--years",
            "2022",
            "--adversaries",
            "CHN,RUS",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    f = pd.read_csv(out)
    assert set(f["material"]) == {"gallium", "germanium"}
    assert {"hhi", "china_share", "adversary_share", "source"} <= set(f.columns)
    side = json.loads((tmp_path / "hhi.csv.provenance.json").read_text())
    assert side["method"] == "concentration" and "wmd_bmf" in side["sources"]


def test_hhi_typo_and_bad_stage() -> None:
    r = runner.invoke(app, ["hhi", "--materials", "tungstn"])
    assert r.exit_code == 2 and "did you mean 'tungsten'" in r.output
    r = runner.invoke(app, ["hhi", "--stage", "mining2"])
    assert r.exit_code == 2 and "unknown stage" in r.output


def test_dependency_json() -> None:
    r = runner.invoke(
        app, ["dependency", "-m", "rare earths", "-y", "2022", "-i", "EU27,JPN", "-f", "json"]
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert {row["importer"] for row in rows} == {"EU27", "JPN"}
    assert all(row["stage"] == "processing" for row in rows)  # REE codes are compounds/metals


def test_dependency_groupby() -> None:
    r = runner.invoke(
        app,
        [
            "dependency",
            "-m",
            "tungsten",
            "-y",
            "2022",
            "-i",
            "QUAD",
            "-g",
            "QUAD=USA,JPN,IND,AUS",
            "-f",
            "csv",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "QUAD" in r.output
    r = runner.invoke(app, ["dependency", "-m", "tungsten", "-g", "QUAD"])
    assert r.exit_code == 2 and "NAME=member" in r.output
