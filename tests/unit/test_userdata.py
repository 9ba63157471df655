"""User imports overlay the embedded data, land all-or-nothing and survive being killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import critmat
from critmat.errors import DataValidationError
from critmat.knowledge_base import KnowledgeBase
from tests.conftest import write_csv

GOOD = """
    material,country,year,quantity,unit,data_flag
    Gallium,Germany,2023,12,t,e
    germanium,FRA,2023,5000,kg,r
    tungsten,CHN,2022,1,kt,r
    """


def _wmd_w_chn_2022(kb: KnowledgeBase) -> float:
    frame = kb.production(materials="tungsten", countries="CHN", years=2022)
    return float(frame["quantity_t"].iloc[0])


def test_import_overlays_embedded_rows(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    embedded = _wmd_w_chn_2022(user_kb)
    assert embedded > 1000
    res = user_kb.import_file(write_csv(tmp_path / "p.csv", GOOD), "production", note="stats")
    assert res.rows_in_file == 3 and res.user_rows == 3
    assert _wmd_w_chn_2022(user_kb) == 1000.0  # 1 kt replaces the embedded row (upsert)
    prod = user_kb.production(materials=["gallium"], years=2023)
    assert "DEU" in set(prod["country"]) and "CHN" in set(prod["country"])
    prov = prod.attrs["critmat"]
    assert prov["user_data"] == [res.import_id] and "wmd_bmf" in prov["sources"]
    src = user_kb.sources()
    assert res.import_id in set(src["id"])
    # a fresh KnowledgeBase on the same folder sees the same data
    again = critmat.load(user_kb.user.root)  # type: ignore[union-attr]
    assert _wmd_w_chn_2022(again) == 1000.0
    assert user_kb.remove_user_table("production")
    assert _wmd_w_chn_2022(user_kb) == embedded


def test_merge_and_replace_modes(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    user_kb.import_file(write_csv(tmp_path / "a.csv", GOOD), "production")
    b = write_csv(
        tmp_path / "b.csv",
        """
        material,country,year,quantity
        gallium,DEU,2023,20
        cobalt,FIN,2023,1500
        """,
    )
    res = user_kb.import_file(b, "production")  # merge: DEU gallium updated, cobalt added
    assert res.user_rows == 4 and res.replaced_rows == 1
    user = user_kb.user.read_table("production")  # type: ignore[union-attr]
    assert float(user.query("material == 'gallium'")["quantity"].iloc[0]) == 20.0
    res = user_kb.import_file(b, "production", mode="replace")
    assert res.user_rows == 2
    res = user_kb.import_file(b, "production", mode="replace", combine="replace")
    assert len(user_kb.production()) == 2  # the embedded table is hidden entirely


def test_failed_import_writes_nothing(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    user_kb.import_file(write_csv(tmp_path / "a.csv", GOOD), "production")
    root = user_kb.user.root  # type: ignore[union-attr]
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    bad = write_csv(
        tmp_path / "bad.csv",
        """
        material,country,year,quantity
        gallium,DEU,2024,1
        galium,DEU,2024,1
        """,
    )
    with pytest.raises(DataValidationError) as err:
        user_kb.import_file(bad, "production")
    assert err.value.problems[0].row == 3
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before


def test_source_id_column_is_kept(user_kb: KnowledgeBase, tmp_path: Path) -> None:
    p = write_csv(
        tmp_path / "s.csv",
        """
        material,country,year,quantity,source_id
        gallium,DEU,2023,1,Destatis table 42
        gallium,FRA,2023,2,
        """,
    )
    res = user_kb.import_file(p, "production")
    rows = user_kb.user.read_table("production")  # type: ignore[union-attr]
    assert list(rows["source_id"]) == ["Destatis table 42", res.import_id]


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


_KILL_AT_COMMIT = """
import os, signal, sys
import critmat.data.userdata as ud
def boom(tmp, path):
    os.kill(os.getpid(), signal.SIGKILL)
ud._replace_manifest = boom
import critmat
kb = critmat.load(sys.argv[1])
kb.import_file(sys.argv[2], "production", mode="replace")
"""


def test_killed_at_commit_point_leaves_previous_state(
    user_kb: KnowledgeBase, tmp_path: Path
) -> None:
    user_kb.import_file(write_csv(tmp_path / "a.csv", GOOD), "production")
    root = user_kb.user.root  # type: ignore[union-attr]
    manifest = _manifest(root)
    new = write_csv(
        tmp_path / "n.csv",
        """
        material,country,year,quantity
        cobalt,FIN,2023,1500
        """,
    )
    proc = subprocess.run(
        [sys.executable, "-c", _KILL_AT_COMMIT, str(root), str(new)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL
    assert _manifest(root) == manifest
    kb2 = critmat.load(root)
    assert len(kb2.user.read_table("production")) == 3  # type: ignore[union-attr]
    assert _wmd_w_chn_2022(kb2) == 1000.0
    # an orphan table file was left; the next successful write removes it, and retires (keeps
    # for readers that still hold the previous manifest) the file it supersedes
    current = root / manifest["tables"]["production"]["file"]
    (orphan,) = [p for p in (root / "tables").iterdir() if p != current]
    kb2.import_file(new, "production")
    after = _manifest(root)
    assert not orphan.exists()
    assert [r["file"] for r in after["retired"]] == [manifest["tables"]["production"]["file"]]
    assert {p.name for p in (root / "tables").iterdir()} == {
        current.name,
        Path(after["tables"]["production"]["file"]).name,
    }


_SLOW_IMPORT = """
import sys
import critmat
kb = critmat.load(sys.argv[1])
kb.import_file(sys.argv[2], "trade", mode="replace")
"""


def test_killed_at_random_moments_state_is_old_or_new(tmp_path: Path) -> None:
    root = tmp_path / "user"
    big = tmp_path / "trade.csv"
    n = 40_000
    pd.DataFrame(
        {
            "year": 2020,
            "exporter": ["CHN", "USA", "AUS", "BRA"] * (n // 4),
            "importer": [f"{c}" for c in ["DEU", "FRA", "ITA", "ESP"] * (n // 4)],
            "hs6": [f"{250000 + i:06d}" for i in range(n)],
            "value_kusd": 1.0,
        }
    ).to_csv(big, index=False)
    small = write_csv(
        tmp_path / "small.csv",
        """
        year,exporter,importer,hs6,value_kusd
        2020,CHN,DEU,250410,5
        """,
    )
    kb = critmat.load(root)
    kb.import_file(small, "trade")
    states = set()
    for delay in (0.3, 0.8, 1.2, 1.6, 2.0, 2.5):
        proc = subprocess.Popen([sys.executable, "-c", _SLOW_IMPORT, str(root), str(big)])
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        entry = _manifest(root)["tables"]["trade"]
        rows = len(pd.read_parquet(root / entry["file"]))
        assert rows == entry["rows"] and rows in (1, n)
        states.add(rows)
        if rows == n:  # it finished: go back to the small table for the next round
            kb.import_file(small, "trade", mode="replace")
    assert 1 in states
