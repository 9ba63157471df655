"""End to end: the supply tables through the real console script (subprocess, real files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import write_csv


def critmat(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "critmat", *args], capture_output=True, text=True, check=False
    )


def test_export_prices_fx_and_vintages(tmp_path: Path) -> None:
    out = tmp_path / "prices.csv"
    proc = critmat("data", "export", "prices", "--materials", "gallium", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    p = pd.read_csv(out).set_index("year")
    # USGS MCS 2026 gallium: average unit value of imports 2025e $580/kg
    assert p.loc[2025, "price_usd_t"] == 580_000 and p.loc[2025, "price_unit"] == "usd_per_kg"
    prov = json.loads((tmp_path / "prices.csv.provenance.json").read_text())
    assert "usgs_mcs2026" in json.dumps(prov)
    fx = tmp_path / "fx.json"
    assert critmat("data", "export", "fx_rates", "--out", str(fx)).returncode == 0
    rates = pd.read_json(fx).set_index("year")["rate"]
    assert rates[2024] == 1.0824  # ECB annual average USD per EUR
    proc = critmat("data", "describe", "supply_shares")
    assert proc.returncode == 0 and "reference_years" in proc.stdout and "check_flag" in proc.stdout


def test_user_vintage_of_supply_shares(tmp_path: Path, data_dir: Path) -> None:
    good = write_csv(
        tmp_path / "survey.csv",
        """
        vintage,material,stage,mix,country,share,reference_years,reference_year,basis
        survey_2025,Gallium,processing,global,China,0.97,2025,2025,industry survey
        survey_2025,Gallium,processing,global,Japan,0.03,2025,2025,industry survey
        """,
    )
    proc = critmat("data", "import", str(good), "--table", "supply_shares")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "imported 2 rows" in proc.stdout
    out = tmp_path / "ga.csv"
    proc = critmat("data", "export", "supply_shares", "--materials", "gallium", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    s = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert set(s["vintage"]) == {"eu_crm_2023", "usgs_mcs2026", "survey_2025"}
    user = s[s["vintage"] == "survey_2025"].set_index("country")
    assert user.loc["CHN", "share"] == 0.97 and user.loc["JPN", "share_bound"] == "exact"


def test_bad_supply_shares_are_refused_with_every_problem(tmp_path: Path, data_dir: Path) -> None:
    bad = write_csv(
        tmp_path / "bad.csv",
        """
        vintage,material,stage,mix,country,share,reference_years,reference_year,basis
        Survey 2025,gallium,processing,world,Chnia,1.4,2025,2025,survey
        """,
    )
    report = tmp_path / "report.json"
    proc = critmat("data", "import", str(bad), "--table", "supply_shares", "--report", str(report))
    assert proc.returncode == 2
    assert "nothing was imported" in proc.stdout + proc.stderr
    problems = json.loads(report.read_text())["problems"]
    columns = {p["column"] for p in problems}
    assert {"vintage", "mix", "country", "share"} <= columns
    country = next(p for p in problems if p["column"] == "country")
    assert "CHN" in " ".join(country["suggestions"])
    assert not data_dir.exists()


def test_supply_vintage_option(tmp_path: Path) -> None:
    # issue 12 item 4: one ParamDef, --supply-vintage on hhi, assess and defence exposure
    out = tmp_path / "ga.csv"
    proc = critmat(
        "hhi", "-m", "gallium", "--stage", "processing", "--format", "csv", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    c = pd.read_csv(out)
    row = c[c["source"] == "usgs_mcs2026"].iloc[0]  # newest: USGS MCS 2026, 2025e
    assert row["china_share"] == pytest.approx(0.990099, abs=1e-6)
    old = tmp_path / "ga_old.csv"
    proc = critmat(
        "hhi", "-m", "gallium", "--stage", "processing", "--source", "supply_shares",
        "--supply-vintage", "eu_crm_2023", "--format", "csv", "--out", str(old),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert pd.read_csv(old)["china_share"].iloc[0] == pytest.approx(0.938)
    prov = json.loads((tmp_path / "ga_old.csv.provenance.json").read_text())
    assert prov["parameters"]["supply_vintage"] == "eu_crm_2023"
    bad = critmat("hhi", "-m", "gallium", "--supply-vintage", "usgs_2026")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "usgs_mcs2026" in bad.stdout + bad.stderr  # the closest vintage is suggested
    exp = tmp_path / "exp.csv"
    proc = critmat("defence", "exposure", "--by", "material", "--format", "csv", "--out", str(exp))
    assert proc.returncode == 0, proc.stderr
    e = pd.read_csv(exp)
    assert {"mix_status", "supply_vintage", "reference_years"} <= set(e.columns)
