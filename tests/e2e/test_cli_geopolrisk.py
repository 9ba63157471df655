"""End-to-end tests of `critmat geopolrisk` (Typer CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from critmat.cli.app import app

runner = CliRunner()

CONTRACT = ["material", "importer", "year", "hhi", "import_risk", "score", "price", "cf", "status"]


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_contract_all_materials_all_importers(tmp_path: Path) -> None:
    out = tmp_path / "gpr.csv"
    code, text = run(
        "geopolrisk",
        "--materials",
        "all",
        "--importers",
        "all",
        "--years",
        "2018-2022",
        "--format",
        "csv",
        "--out",
        str(out),
        "--no-user-data",
    )
    assert code == 0, text
    frame = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert list(frame.columns) == CONTRACT
    assert not frame.duplicated(["material", "importer", "year"]).any()
    n_m, n_i = frame["material"].nunique(), frame["importer"].nunique()
    assert len(frame) == n_m * n_i * 5
    assert set(frame["year"]) == set(range(2018, 2023))
    assert "EU27" in set(frame["importer"])
    assert frame["importer"].str.fullmatch(r"[A-Z0-9]{3}|EU27").all()
    ge = frame[(frame["material"] == "germanium") & (frame["year"] == 2022)]
    assert (ge["status"] == "not_assessable").all()
    assert (frame.loc[frame["material"] == "gallium", "status"] == "not_assessable").all()
    ok = frame[frame["status"] == "ok"]
    assert ok["score"].between(0, 1).all() and ok["cf"].notna().all()
    side = json.loads((tmp_path / "gpr.csv.provenance.json").read_text())
    assert side["method"] == "geopolrisk" and side["units"]["cf"] == "kg Cu-eq/kg"
    assert side["parameters"]["years"] == "2018-2022"


def test_detail_table_and_json() -> None:
    code, text = run(
        "geopolrisk", "-m", "graphite", "-i", "USA,EU27", "-y", "2022", "--detail", "-f", "json"
    )
    assert code == 0, text
    rows = json.loads(text)
    assert len(rows) == 2
    assert {"cf_paper", "midpoint", "governance_coverage", "domestic_production_t"} <= set(rows[0])
    code, text = run("geopolrisk", "-m", "nickel", "-i", "USA", "-y", "2022")
    assert code == 0 and "GeoPolRisk" in text and "nickel" in text


def test_groupby_and_peer_compatible() -> None:
    code, text = run(
        "geopolrisk",
        "-m",
        "manganese",
        "-i",
        "EU27,AUKUS",
        "-y",
        "2022",
        "-g",
        "AUKUS=AUS,GBR,USA",
        "--peer-compatible",
        "-f",
        "csv",
    )
    assert code == 0, text
    frame = pd.read_csv(pd.io.common.StringIO(text))
    assert set(frame["importer"]) == {"EU27", "AUKUS"}
    assert frame.set_index("importer").loc["EU27", "status"] == "governance_filled"


def test_errors_name_what_is_valid() -> None:
    code, text = run("geopolrisk", "-m", "galium", "-y", "2022")
    assert code == 2 and "did you mean" in text and "gallium" in text
    code, text = run(
        "geopolrisk", "-m", "nickel", "-i", "USA", "-y", "2022", "--missing-governance", "zero"
    )
    assert code == 2 and "'nan', 'fill'" in text
    code, text = run("geopolrisk", "-m", "nickel", "-y", "20x2")
    assert code == 2 and "not a year" in text
