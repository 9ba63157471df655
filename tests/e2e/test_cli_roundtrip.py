"""`critmat data export` then `critmat data import` of the same file works, in every format.

Issue 10, class "good input rejected": the round trip failed with "derived column supplied:
quantity_t" (production, and governance's pv_normalised, wgi_mean, wgi_scaled; also from
Parquet), and Namibia's ``NA`` in an xlsx cell was read as missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import critmat

pytestmark = pytest.mark.slow


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "critmat", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "250"},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.parametrize(
    ("table", "fmt", "filters"),
    [
        ("production", "csv", ()),  # the example, the whole table
        ("governance", "parquet", ("--years", "2020-2022")),
        ("countries", "xlsx", ()),  # Namibia's ISO-2 code is NA
        ("trade", "json", ("--years", "2022", "--countries", "DEU")),
    ],
)
def test_export_then_import_unchanged(
    tmp_path: Path, table: str, fmt: str, filters: tuple[str, ...]
) -> None:
    out = tmp_path / f"{table}.{fmt}"
    proc = cli("data", "export", table, "--out", out, "--no-user-data", *filters)
    assert proc.returncode == 0, proc.stderr
    data_dir = tmp_path / "user"
    proc = cli("data", "import", out, "--table", table, "--data-dir", data_dir)
    assert proc.returncode == 0, proc.stderr
    kb = critmat.load(data_dir)
    keys = list(kb.catalog.table(table).primary_key)
    # the user's rows replace the embedded rows they came from: the table is unchanged
    back = kb.table(table).sort_values(keys, ignore_index=True)
    want = critmat.load(user_data=False).table(table).sort_values(keys, ignore_index=True)
    back.attrs, want.attrs = {}, {}
    pd.testing.assert_frame_equal(back, want)
    assert kb.store.user_tables[table]["rows"] == len(want) or filters
    if table == "countries":
        assert back.set_index("country").loc["NAM", "iso2"] == "NA"
