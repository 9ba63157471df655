"""End-to-end: `critmat policy ...` and `critmat crma benchmarks` with the console script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.conftest import write_csv


def _critmat(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRITMAT_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "critmat", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )


def test_events_filters_and_files(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "events.csv"
    proc = _critmat(
        data_dir, "policy", "events", "--actors", "EU,US", "--types", "stockpile,list",
        "--years", "2008-2015", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ev = pd.read_csv(out)
    assert set(ev["actor"]) <= {"EU", "US"} and set(ev["instrument_type"]) <= {"stockpile", "list"}
    assert ev["year"].between(2008, 2015).all() and len(ev) >= 5
    assert "SEED-EU-03" in set(ev["event_id"]) or len(ev) > 0
    assert (tmp_path / "events.csv.provenance.json").is_file()
    proc = _critmat(data_dir, "policy", "events", "--materials", "coke", "--format", "csv")
    assert proc.returncode == 0 and "unresolved name 'coke'" in proc.stdout
    assert "materials_unresolved" in proc.stderr
    proc = _critmat(data_dir, "policy", "events", "--types", "embargo")
    assert proc.returncode != 0 and "embargo" in proc.stderr and "Traceback" not in proc.stderr


def test_imported_events_show_in_the_query(tmp_path: Path, data_dir: Path) -> None:
    mine = write_csv(
        tmp_path / "mine.csv",
        """
        event_id,date,date_precision,actors,instrument_type,materials,summary
        USR-1,2026-03-01,day,EU,stockpile,gallium,EU joint gallium purchase (constructed)
        """,
    )
    assert (
        _critmat(data_dir, "data", "import", str(mine), "--table", "policy_events").returncode == 0
    )
    proc = _critmat(
        data_dir, "policy", "events", "--materials", "Ga", "--types", "stockpile",
        "--format", "json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["event_id"] for r in rows] == ["USR-1"]


def test_timeline_html_is_self_contained(tmp_path: Path, data_dir: Path) -> None:
    page = tmp_path / "timeline.html"
    proc = _critmat(data_dir, "policy", "timeline", "--html", str(page))
    assert proc.returncode == 0, proc.stderr
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=\"https?:", text)  # plotly inlined, no CDN
    for lane in ("EU", "US", "Japan", "China", "NATO"):
        assert f'"{lane}"' in text
    assert "SEED-EU-01" in text and "export control" in text  # hover and legend
    proc = _critmat(data_dir, "policy", "timeline")
    assert proc.returncode != 0 and "--html FILE" in proc.stderr


def test_compare_table_and_texts(tmp_path: Path, data_dir: Path) -> None:
    proc = _critmat(data_dir, "policy", "compare")
    assert proc.returncode == 0, proc.stderr
    assert "EU vs US" in proc.stdout and "Stockpile events" in proc.stdout
    out = tmp_path / "compare.json"
    assert _critmat(data_dir, "policy", "compare", "--out", str(out)).returncode == 0
    rows = pd.DataFrame(json.loads(out.read_text()))
    assert len(rows) == 5 * 13 and {"first_date", "examples", "2023-2025"} <= set(rows.columns)


def test_backtest_trade_only(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "bt.csv"
    proc = _critmat(
        data_dir, "policy", "backtest", "--events", "CN-2023-39", "--no-presets", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    bt = pd.read_csv(out)
    assert set(bt["flow"]) == {"eu_from_china", "world_from_china", "eu_from_extra_eu"}
    assert bt["change"].notna().all() and bt["z"].notna().all()


def test_crma_benchmarks_with_user_tonnes_and_projects(tmp_path: Path, data_dir: Path) -> None:
    cons = write_csv(
        tmp_path / "cons.csv",
        """
        material,stage,year,eu_consumption_t,eu_output_t,largest_third_country,largest_third_country_t,source
        tungsten,processing,2024,10000,1500,CHN,7000,constructed
        """,
    )
    proj = write_csv(
        tmp_path / "proj.csv",
        """
        project,material,stage,capacity_t_yr,status,in_eu,source
        W refinery,tungsten,processing,1000,feasibility,true,constructed
        """,
    )
    out = tmp_path / "crma.csv"
    proc = _critmat(
        data_dir, "crma", "benchmarks", "-m", "tungsten", "--consumption", str(cons),
        "--projects", str(proj), "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    t = pd.read_csv(out).set_index("benchmark")
    assert t.loc["processing", "basis"] == "tonnes" and t.loc["processing", "status"] == "not_met"
    assert t.loc["processing", "gap_2030_t"] == 4000 - 1500
    assert t.loc["processing", "gap_after_projects_t"] == 4000 - 1500 - 1000
    assert t.loc["single_third_country_cap", "value"] == 0.7
    assert t.loc["recycling", "basis"] == "share_proxy"  # no tonnes given: the proxy stays
    proc = _critmat(data_dir, "crma", "benchmarks", "--benchmark-set", "2023-proposal")
    assert proc.returncode == 0 and "proposal_2023" in proc.stdout
    bad = write_csv(
        tmp_path / "bad.csv",
        """
        material,stage,year,eu_consumption_t,source
        unobtainium,processing,2024,-5,x
        """,
    )
    proc = _critmat(data_dir, "crma", "benchmarks", "--consumption", str(bad))
    assert proc.returncode != 0 and "unobtainium" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_imported_eu_consumption_replaces_the_proxies(tmp_path: Path, data_dir: Path) -> None:
    cons = write_csv(
        tmp_path / "cons.csv",
        """
        material,stage,year,eu_consumption_t,eu_output_t,largest_third_country,largest_third_country_t,source
        Ga,processing,2024,40,2,China,30,constructed
        """,
    )
    proc = _critmat(data_dir, "data", "import", str(cons), "--table", "eu_consumption")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "crma.json"
    proc = _critmat(data_dir, "crma", "benchmarks", "-m", "gallium", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    t = pd.DataFrame(json.loads(out.read_text())).set_index("benchmark")
    assert t.loc["processing", "basis"] == "tonnes"
    assert t.loc["processing", "gap_2030_t"] == 14.0  # 40 % of 40 t - 2 t
    assert t.loc["single_third_country_cap", "value"] == 0.75
    assert t.loc["single_third_country_cap", "third_country"] == "CHN"
    proc = _critmat(
        data_dir, "crma", "benchmarks", "-m", "gallium", "--no-user-data", "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    assert "tonnes" not in {r["basis"] for r in json.loads(proc.stdout)}  # proxies without it
