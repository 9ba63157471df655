"""End-to-end tests of `critmat eu-sr` (Typer CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from critmat.cli.app import app

runner = CliRunner()

CONTRACT = [
    "material",
    "stage_used",
    "sr",
    "sr_extraction",
    "sr_processing",
    "ei",
    "critical",
    "published_sr",
    "published_ei",
]


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_contract_csv_with_provenance_sidecar(tmp_path: Path) -> None:
    out = tmp_path / "eu.csv"
    code, text = run("eu-sr", "--year", "2023", "--format", "csv", "--out", str(out))
    assert code == 0, text
    frame = pd.read_csv(out)
    assert list(frame.columns) == CONTRACT
    assert len(frame) == 90 and frame["material"].is_unique
    w = frame.set_index("material").loc["tungsten"]
    assert (round(w["sr"], 1), w["stage_used"], round(w["ei"], 1), w["published_sr"]) == (
        1.2,
        "processing",
        8.7,
        1.2,
    )
    prov = json.loads((tmp_path / "eu.csv.provenance.json").read_text(encoding="utf-8"))
    assert prov["parameters"]["wgi_measure"] == "mean"
    assert any("six-dimension WGI mean" in n for n in prov["notes"])
    assert "eu_crm_2023_results" in prov["sources"]


@pytest.mark.parametrize("fmt", ["json", "parquet", "xlsx"])
def test_other_formats(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"eu.{fmt}"
    code, text = run("eu-sr", "-m", "gallium,tungsten", "--out", str(out))
    assert code == 0, text
    reader = {"json": pd.read_json, "parquet": pd.read_parquet, "xlsx": pd.read_excel}[fmt]
    frame = reader(out)
    assert list(frame.columns) == CONTRACT and len(frame) == 2


def test_table_shows_computed_published_and_reasons() -> None:
    code, text = run("eu-sr", "-m", "gallium,tungsten,kaolin")
    assert code == 0, text
    assert "published_sr" in text and "reason" in text
    assert "EoL-RIR of 31" in text  # kaolin's documented reason
    assert "governance: six-dimension WGI mean" in text and "corrections: none" in text


def test_detail_and_corrections(tmp_path: Path) -> None:
    out = tmp_path / "d.csv"
    code, text = run(
        "eu-sr",
        "-m",
        "kaolin,titanium_metal",
        "--corrections",
        "all",
        "--detail",
        "--out",
        str(out),
    )
    assert code == 0, text
    frame = pd.read_csv(out).set_index("material")
    assert {"agrees_sr", "reason", "mix_extraction", "published_mix_extraction", "status"} <= set(
        frame.columns
    )
    assert bool(frame.loc["kaolin", "agrees_sr_extraction"])
    assert round(frame.loc["titanium_metal", "ei"], 1) == 6.3
    prov = json.loads((tmp_path / "d.csv.provenance.json").read_text(encoding="utf-8"))
    assert "kaolin_eol" in prov["parameters"]["corrections"]


def test_published_only_year_and_wgi_options(tmp_path: Path) -> None:
    out = tmp_path / "y.csv"
    code, text = run("eu-sr", "--year", "2020", "-m", "gallium", "--out", str(out))
    assert code == 0, text
    row = pd.read_csv(out).iloc[0]
    assert (row["published_sr"], row["published_ei"]) == (1.3, 3.5) and pd.isna(row["sr"])
    code, text = run("eu-sr", "-m", "tungsten", "--wgi-years", "2016-2020", "--format", "json")
    assert code == 0, text
    assert json.loads(text)[0]["material"] == "tungsten"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--importers", "EU27"), "importers= does not apply"),
        (("--years", "2022"), "years= does not apply"),
        (("--year", "2019"), "computed: 2023"),
        (("--corrections", "kaolin"), "did you mean 'kaolin_eol'"),
        (("--wgi-years", "2030"), "not in WGI vintage 'wgi_2023'"),
        (("--governance-vintage", "wgi_2025"), "did you mean"),
        (
            ("--governance-vintage", "wgi_pv_geopolrisk", "--wgi-measure", "mean"),
            "use wgi_measure='pv'",
        ),
        (("-m", "galium"), "did you mean 'gallium'"),
    ],
)
def test_bad_input_is_explained(args: tuple[str, ...], message: str) -> None:
    code, text = run("eu-sr", *args)
    assert code == 2
    assert message in " ".join(text.split())
