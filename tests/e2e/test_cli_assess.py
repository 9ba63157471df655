"""End-to-end tests of the main job, `critmat assess`, and its HTML report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from critmat.assess import COLUMNS, assess, crma_materials
from critmat.cli.app import app
from critmat.knowledge_base import KnowledgeBase

runner = CliRunner()


def test_assessment_table(kb: KnowledgeBase) -> None:
    a = assess(kb, years=2022, defence=True, whatif_samples=0)
    t = a.table.set_index("material")
    # default selection: CRMA Annex I + II (Regulation (EU) 2024/1252) and NATO 2024
    assert set(crma_materials(kb)) == set(t.index)
    assert {"gallium", "germanium", "tungsten", "rare_earths", "platinum"} <= set(t.index)
    assert set(COLUMNS) <= set(a.table.columns)
    # newest vintage, processing: USGS MCS 2026, China 900 of 909 t of primary gallium (2025e)
    assert t.loc["gallium", "china_processing"] == pytest.approx(0.990099, abs=1e-6)
    assert t.loc["gallium", "supply_vintage"] == "processing usgs_mcs2026 (2025)"
    assert bool(t.loc["tungsten", "critical"]) and t.loc["tungsten", "stage_used"] == "processing"
    assert not bool(t.loc["copper", "critical"])  # SR 0.1 < 1 (METHODS §1.6)
    assert t.loc["dysprosium", "critical_basis"] == "computed SR, published EI"
    assert t.loc["graphite", "geopolrisk"] > 0 and a.importer == "EU27" and a.year == 2022
    prov = a.table.attrs["critmat"]
    assert prov["columns"]["geopolrisk"]["sources"] and prov["inputs"]["geopolrisk"]
    assert a.defence is not None and "rare_earths" in set(a.defence["material"])


def test_assess_cli_table_and_report(tmp_path: Path) -> None:
    report = tmp_path / "assess.html"
    r = runner.invoke(
        app, ["assess", "--years", "2022", "--report", str(report), "--whatif-samples", "60"]
    )
    assert r.exit_code == 0, r.output
    assert "gallium" in r.output and "What if" in r.output and "Defence" in r.output
    html = report.read_text(encoding="utf-8")
    for part in (
        "Criticality matrix",
        "China share by stage",
        "Supply shares by stage",
        "GeoPolRisk",
        "Defence exposure",
        "What if",
        "Sources and method",
        "doi.org/10.2873/725585",
        "baci_hs92_v202401b",
    ):
        assert part in html, part
    assert html.count("plotly.js v") <= 2  # plotly inlined once: self-contained, no CDN
    assert '<script src="http' not in html and "<link " not in html  # nothing external


def test_assess_cli_csv(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    r = runner.invoke(
        app,
        [
            "assess",
            "-m",
            "gallium,tungsten",
            "--years",
            "2022",
            "--whatif-samples",
            "0",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    f = pd.read_csv(out)
    assert set(f["material"]) == {"gallium", "tungsten"}
    side = json.loads((tmp_path / "a.csv.provenance.json").read_text())
    assert side["method"] == "assess" and side["parameters"]["importers"] == "EU27"


def test_the_table_does_not_depend_on_the_sections(kb: KnowledgeBase) -> None:
    # `critmat assess --format/--out` computes the table only (no defence summary, capability
    # or what-if): the table must be the one the full assessment holds
    mats = ["gallium", "tungsten", "rare_earths", "copper"]
    full = assess(kb, materials=mats, years=2022, whatif_samples=20)
    table_only = assess(kb, materials=mats, years=2022, defence=False, whatif_samples=0)
    assert full.defence is not None and full.whatif is not None
    assert table_only.defence is None and table_only.whatif is None
    pd.testing.assert_frame_equal(full.table, table_only.table)
    assert _undated(full.table.attrs["critmat"]) == _undated(table_only.table.attrs["critmat"])


def _undated(prov: object) -> object:
    """Provenance without its creation times (at every level)."""
    if isinstance(prov, dict):
        return {k: _undated(v) for k, v in prov.items() if k != "created"}
    return prov
