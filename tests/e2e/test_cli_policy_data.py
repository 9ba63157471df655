"""End-to-end: import policy events with the real console script, then read them back."""

from __future__ import annotations

import os
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


def test_import_policy_event_round_trip(tmp_path: Path, data_dir: Path) -> None:
    bad = write_csv(
        tmp_path / "bad.csv",
        """
        event_id,date,date_precision,actors,instrument_type,materials,summary
        USR-9,2026-04-31,day,EU,embargo,gallium,bad date and type
        """,
    )
    proc = _critmat(data_dir, "data", "import", str(bad), "--table", "policy_events")
    assert proc.returncode == 2
    assert (
        "embargo" in proc.stdout + proc.stderr and "not a valid date" in proc.stdout + proc.stderr
    )
    good = write_csv(
        tmp_path / "good.csv",
        """
        event_id,date,date_precision,actors,instrument_type,materials,summary,primary_source_url
        USR-9,2026-04-30,day,EU;Japan,dialogue,Ga;germanium,EU-Japan dialogue,https://example.org/a
        """,
    )
    proc = _critmat(data_dir, "data", "import", str(good), "--table", "policy_events")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "events.csv"
    proc = _critmat(data_dir, "data", "export", "policy_events", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    events = pd.read_csv(out).set_index("event_id")
    assert len(events) == 169
    row = events.loc["USR-9"]
    assert (row["materials"], row["actor"], row["year"]) == ("gallium;germanium", "EU", 2026)
    assert int(events["in_seed"].sum()) == 75
