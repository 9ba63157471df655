"""Stored runs: DuckDB catalog + Parquet, atomic, surviving a kill at the commit point."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from critmat.errors import UnknownNameError
from critmat.knowledge_base import KnowledgeBase
from critmat.scenarios.result import EnsembleResult
from critmat.scenarios.runner import run
from critmat.scenarios.store import RunStore, compare_runs

SPEC = {
    "scenario": {
        "name": "ga",
        "horizon_months": 24,
        "shocks": [
            {
                "exporter": "CHN",
                "material": "gallium",
                "duration": {"dist": "uniform", "low": 3, "high": 12},
            }
        ],
    },
    "samples": 50,
    "seed": 1,
}


@pytest.fixture
def result(kb: KnowledgeBase) -> EnsembleResult:
    return run(SPEC, kb)


def test_save_list_load_roundtrip(
    tmp_path: Path, result: EnsembleResult, kb: KnowledgeBase
) -> None:
    store = RunStore(tmp_path / "scenarios")
    assert store.list().empty and not (tmp_path / "scenarios").exists()
    first = store.save(result)
    stocked = run(
        {
            **SPEC,
            "scenario": {
                **SPEC["scenario"],
                "name": "ga stocked",
                "mitigations": {"stocks": [{"initial_months": 3}]},
            },
        },
        kb,
    )
    second = store.save(stocked)
    runs = store.list()
    assert list(runs["run_id"]) == [second, first]
    assert runs["samples"].tolist() == [50, 50] and runs["worst_material"].iloc[0] == "gallium"
    back = store.load(first)
    assert back.spec == result.spec and back.run_id == first
    for name, frame in result.frames().items():
        pd.testing.assert_frame_equal(
            back.frame(name).reset_index(drop=True),
            frame.reset_index(drop=True),
            check_dtype=False,
            obj=name,
        )
    assert back.meta["seed"] == 1 and back.meta["critmat_version"]
    assert back.summary.attrs["critmat"]["parameters"]["seed"] == 1
    assert store.resolve("latest") == second and store.resolve(first[:-2]) == first
    assert store.resolve("ga stocked") == second
    with pytest.raises(UnknownNameError, match="unknown run"):
        store.resolve("nope")
    cmp = compare_runs(back, store.load(second))
    row = cmp.iloc[0]
    assert row["material"] == "gallium"
    # a stock of 3 months of demand removes up to 3 months of shortfall (less only in the
    # draws whose whole gap, 0.69 x duration, is below 3)
    assert -3.0 <= row["shortfall_mean_delta"] < -2.9


_KILL_AT_COMMIT = """
import os, signal, sys
import critmat
import critmat.scenarios.store as st
from critmat.scenarios.runner import run
def boom(con):
    os.kill(os.getpid(), signal.SIGKILL)
st._commit = boom
kb = critmat.load(user_data=False)
res = run({"shocks": [{"exporter": "CHN", "material": "germanium", "duration": 6}]}, kb)
st.RunStore(sys.argv[1]).save(res)
"""


def test_killed_at_commit_point_leaves_earlier_runs(tmp_path: Path, result: EnsembleResult) -> None:
    root = tmp_path / "scenarios"
    store = RunStore(root)
    first = store.save(result)
    before = store.list()
    files = {p: p.read_bytes() for p in (root / "runs" / first).iterdir()}
    proc = subprocess.run(
        [sys.executable, "-c", _KILL_AT_COMMIT, str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    again = RunStore(root)
    pd.testing.assert_frame_equal(again.list(), before)
    assert {p: p.read_bytes() for p in (root / "runs" / first).iterdir()} == files
    assert again.load(first).summary["material"].tolist() == ["gallium"]
    # the killed run's folder was renamed into place but never committed: invisible, and
    # removed by the next save
    orphans = [p for p in (root / "runs").iterdir() if p.name != first]
    assert len(orphans) == 1
    third = again.save(result)
    assert sorted(p.name for p in (root / "runs").iterdir()) == sorted([first, third])
    meta = json.loads((root / "runs" / third / "meta.json").read_text())
    assert meta["run_id"] == third


# ----------------------------------------------------------------------------- damaged state


def test_damaged_catalog_is_reported_and_rebuilt_after_removal(
    tmp_path: Path, result: EnsembleResult
) -> None:
    from critmat.errors import CorruptStateError

    root = tmp_path / "scenarios"
    store = RunStore(root)
    first = store.save(result)
    catalog = root / "catalog.duckdb"
    catalog.write_bytes(b"\0" * 100)
    with pytest.raises(CorruptStateError) as err:
        store.list()
    assert str(catalog) in str(err.value) and "rebuilds the catalog" in str(err.value)
    with pytest.raises(CorruptStateError):
        store.save(result)  # a save refuses too (and leaves no folder behind)
    assert sorted(p.name for p in (root / "runs").iterdir()) == [first]
    catalog.unlink()
    assert store.list().empty
    second = store.save(result)
    assert set(store.list()["run_id"]) == {first, second}
    back = store.load(first)
    assert back.run_id == first and back.summary["material"].tolist() == ["gallium"]


def test_missing_or_damaged_run_files(tmp_path: Path, result: EnsembleResult) -> None:
    from critmat.errors import CorruptStateError

    store = RunStore(tmp_path / "scenarios")
    run_id = store.save(result)
    folder = tmp_path / "scenarios" / "runs" / run_id
    (folder / "summary.parquet").unlink()
    with pytest.raises(CorruptStateError, match=r"summary\.parquet is missing"):
        store.load(run_id)
    (folder / "summary.parquet").write_bytes(b"PAR1")
    with pytest.raises(CorruptStateError, match=r"summary\.parquet of run .* is damaged"):
        store.load(run_id)
    (folder / "spec.json").write_text("[1]", encoding="utf-8")
    with pytest.raises(CorruptStateError, match=r"spec\.json of run .* is damaged"):
        store.load(run_id)
    shutil.rmtree(folder)
    with pytest.raises(CorruptStateError, match=r"folder .* is missing"):
        store.load(run_id)


def test_disk_full_during_save_leaves_no_folder(
    tmp_path: Path, result: EnsembleResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from critmat.errors import StorageError

    store = RunStore(tmp_path / "scenarios")
    first = store.save(result)
    before = store.list()
    real = pd.DataFrame.to_parquet
    calls = {"n": 0}

    def fail_third(self: pd.DataFrame, path: object, **kw: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, path, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fail_third)
    with pytest.raises(StorageError, match="no space left on device"):
        store.save(result)
    monkeypatch.undo()
    assert [p.name for p in (tmp_path / "scenarios" / "runs").iterdir()] == [first]
    pd.testing.assert_frame_equal(store.list(), before)


def test_readers_take_no_lock_and_wait_for_a_writer(tmp_path: Path, result: EnsembleResult) -> None:
    root = tmp_path / "scenarios"
    store = RunStore(root)
    run_id = store.save(result)
    (root / ".lock").unlink()
    listed = RunStore(root).list()
    assert listed["run_id"].tolist() == [run_id] and not (root / ".lock").exists()
    # another process holding DuckDB's lock on the catalog for a moment: the reader retries
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            "con = duckdb.connect(sys.argv[1])\n"
            "print('open', flush=True)\n"
            "time.sleep(1.5)\n",
            str(root / "catalog.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
    try:
        assert RunStore(root).list()["run_id"].tolist() == [run_id]
    finally:
        holder.communicate(timeout=60)
