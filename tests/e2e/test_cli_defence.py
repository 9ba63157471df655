"""End-to-end tests of `critmat defence ...` and of BOM imports (Typer CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from critmat.cli.app import app
from tests.conftest import write_csv

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_systems_and_uses(tmp_path: Path) -> None:
    code, out = run("defence", "systems", "--no-user-data")
    assert code == 0 and "F-35 Lightning II" in out and "156" in out
    target = tmp_path / "uses.csv"
    code, _ = run("defence", "uses", "-m", "tungsten", "--out", str(target))
    assert code == 0
    uses = pd.read_csv(target)
    assert set(uses["material"]) == {"tungsten"} and "citation" in uses.columns
    assert (tmp_path / "uses.csv.provenance.json").exists()


def test_import_bom_with_unknown_material_writes_nothing(tmp_path: Path, data_dir: Path) -> None:
    bad = write_csv(
        tmp_path / "bom.csv",
        """
        system,component,material,kg_per_unit,kind,source
        Missile X,fin actuator,samarium,0.4,assumption,illustrative
        Missile X,seeker,galium,0.01,assumption,illustrative
        """,
    )
    code, out = run("data", "import", str(bad), "--table", "bom")
    assert code == 2
    assert "galium" in out and "gallium" in out and "nothing was imported" in out
    assert not data_dir.exists()  # all-or-nothing: no folder, no manifest, no file


def test_example_files_import_and_drive_the_commands(tmp_path: Path, data_dir: Path) -> None:
    for name, table in (
        ("defence_bom_crs2013.csv", "bom"),
        ("defence_build_rates_us.csv", "build_rates"),
    ):
        code, out = run("data", "import", str(EXAMPLES / name), "--table", table)
        assert code == 0, out
    code, out = run("defence", "demand", "--by", "programme", "-f", "json")
    assert code == 0, out
    rows = {r["programme"]: r for r in json.loads(out)}
    assert set(rows) == {"F-35 (all customers)", "US Navy shipbuilding"}
    assert abs(rows["US Navy shipbuilding"]["demand_t_per_year"] - 13.06) < 0.01
    code, out = run(
        "defence", "exposure", "--by", "material", "--stage", "processing", "-f", "json"
    )
    assert code == 0, out
    exp = json.loads(out)[0]
    assert exp["material"] == "rare_earths" and exp["proxy"] == "neodymium"
    assert 0.8 < exp["china_share"] <= exp["adversary_share"] < 1


def test_exposure_with_files_and_countries(tmp_path: Path) -> None:
    bom = write_csv(
        tmp_path / "bom.csv",
        """
        system,material,kg_per_unit,kind
        Radar R,gallium,1.5,assumption
        Round W,tungsten,3,user
        """,
    )
    rates = write_csv(
        tmp_path / "rates.csv",
        """
        programme,system,units_per_year
        Plan A,Radar R,20
        Plan A,Round W,1000
        """,
    )
    code, out = run(
        "defence",
        "exposure",
        "--bom",
        str(bom),
        "--build-rates",
        str(rates),
        "--detail",
        "--stage",
        "processing",
        "-f",
        "csv",
    )
    assert code == 0, out
    from io import StringIO

    f = pd.read_csv(StringIO(out))
    ga = f[f["material"] == "gallium"]
    assert abs(ga["exposed_t"].sum() - 0.03 * ga["share"].sum()) < 1e-9  # eol_rir(Ga) = 0
    assert bool(ga["rests_on_assumption"].all())


def test_capability_at_risk_and_options() -> None:
    code, out = run(
        "defence",
        "capability-at-risk",
        "--exporters",
        "CHN",
        "--cut",
        "1",
        "--months",
        "3",
        "--defence-share",
        "rare_earths=0.05",
        "-f",
        "json",
    )
    assert code == 0, out
    rows = json.loads(out)
    assert all(r["not_built_mitigated"] == 0 and r["not_built_fixed"] > 0 for r in rows)
    code, out = run("defence", "capability-at-risk", "--defence-share", "rare_earths:0.05")
    assert code == 2 and "MATERIAL=number" in out
    code, out = run("defence", "capability-at-risk", "--cut", "1.5")
    assert code == 2 and "between 0 and 1" in out
    code, out = run("defence", "capability-at-risk", "--exporters", "Chnia")
    assert code == 2 and "did you mean" in out


def test_criticality_compare_and_energy() -> None:
    code, out = run("defence", "criticality", "-f", "json")
    assert code == 0, out
    rows = json.loads(out)
    assert rows[0]["rank"] == 1 and rows[0]["category"] == "critical"
    code, out = run("defence", "criticality", "--supply-risk", "china_processing")
    assert code == 0 and "china_processing" in out
    code, out = run("defence", "compare-lists", "-f", "csv")
    assert code == 0 and "manganese" in out and "reason" in out
    code, out = run(
        "defence",
        "energy",
        "-m",
        "gallium",
        "--shortfall",
        "0.5",
        "--defence-share",
        "gallium=0.05",
        "-f",
        "json",
    )
    assert code == 0, out
    served = {r["sector"]: r["served_share"] for r in json.loads(out)}
    assert served["defence"] == 1.0 and served["other"] < 1.0
