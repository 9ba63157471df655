"""End-to-end (real console, subprocess): the European example BOM under the installed pandas.

Regression for issue 12: after ``critmat data import examples/defence_bom_eu.csv --table bom``
``critmat assess``, ``critmat defence criticality`` and ``critmat defence compare-lists``
crashed under pandas 3.1 (``TypeError: Invalid value ... for dtype 'float64'`` at
``defence/criticality.py``: a string-typed empty selection assigned to a float column).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _critmat(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRITMAT_DATA_DIR": str(data_dir), "COLUMNS": "250"}
    return subprocess.run(
        [sys.executable, "-m", "critmat", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )


def test_european_bom_import_then_assess_criticality_compare_lists(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    for name, table in (
        ("defence_bom_eu.csv", "bom"),
        ("defence_build_rates_eu.csv", "build_rates"),
    ):
        proc = _critmat(data_dir, "data", "import", str(EXAMPLES / name), "--table", table)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    crit = _critmat(data_dir, "defence", "criticality", "-f", "json")
    assert crit.returncode == 0, crit.stderr
    rows = {r["material"]: r for r in json.loads(crit.stdout)}
    # the imported BOM (rare earths only) does not zero the importance of other materials
    assert rows["manganese"]["defence_importance"] > 2.8
    assert rows["titanium_metal"]["nato_2024"] is True
    cmp = _critmat(data_dir, "defence", "compare-lists", "-f", "json")
    assert cmp.returncode == 0, cmp.stderr
    reasons = {r["material"]: r["reason"] for r in json.loads(cmp.stdout)}
    assert "EI 3.5" in reasons["erbium"]
    out = tmp_path / "assess.csv"
    a = _critmat(data_dir, "assess", "--whatif-samples", "0", "--format", "csv", "--out", str(out))
    assert a.returncode == 0, a.stdout + a.stderr
    assert "Traceback" not in a.stdout + a.stderr
    assert out.exists()
    term = _critmat(data_dir, "assess", "--whatif-samples", "0")
    assert term.returncode == 0, term.stderr
    # the demand is labelled by programme and country, never as EU27 demand
    assert "Rafale" in term.stdout and "FRA" in term.stdout
