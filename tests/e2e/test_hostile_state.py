"""Corrupt or hostile state gives a message, not a traceback (CLI in subprocesses, real files).

Issue 10, class "tracebacks instead of messages" (data layer): a corrupted or list-shaped
``manifest.json``, a truncated user Parquet file, a truncated ``catalog.duckdb``, a run folder
without ``summary.parquet``, a full disk (a real 2 MB tmpfs where the machine allows mounting
one) during import or scenario save, and a read-only data directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import critmat
from critmat.scenarios.runner import run as run_ensemble
from critmat.scenarios.store import RunStore

pytestmark = pytest.mark.slow

SPEC = {
    "scenario": {
        "name": "ga",
        "horizon_months": 12,
        "shocks": [{"exporter": "CHN", "material": "gallium", "duration": 6}],
    },
    "samples": 40,
    "seed": 1,
}


def cli(*args: str | Path, check_clean: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "critmat", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "250"},
    )
    if check_clean:
        assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return proc


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def populated(tmp_path: Path) -> Path:
    """A data directory with a user production table and one stored scenario run."""
    root = tmp_path / "data"
    src = tmp_path / "p.csv"
    src.write_text("material,country,year,quantity\ngallium,DEU,2022,12\n", encoding="utf-8")
    kb = critmat.load(root)
    kb.import_file(src, "production")
    RunStore(root / "scenarios").save(run_ensemble(SPEC, critmat.load(user_data=False)))
    kb.close()
    return root


def _user_table(root: Path) -> Path:
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    return root / manifest["tables"]["production"]["file"]


def _run_id(root: Path) -> str:
    return str(RunStore(root / "scenarios").list()["run_id"].iloc[0])


@pytest.mark.parametrize(
    ("content", "words"),
    [('{"format": 1, "tables": {"produ', "not valid JSON"), ("[]", "holds a JSON list")],
)
def test_damaged_manifest(populated: Path, content: str, words: str) -> None:
    manifest = populated / "manifest.json"
    manifest.write_text(content, encoding="utf-8")
    for args in (("data", "list"), ("hhi", "-m", "gallium", "-y", "2022")):
        proc = cli(*args, "--data-dir", populated)
        assert proc.returncode == 1
        msg = _flat(proc.stderr)
        assert words in msg and str(manifest) in msg and "restore" in msg and "remove it" in msg
    # following the advice (removing the manifest) gives a working directory again
    manifest.unlink()
    assert cli("data", "list", "--data-dir", populated).returncode == 0


def test_truncated_user_parquet(populated: Path, tmp_path: Path) -> None:
    table = _user_table(populated)
    table.write_bytes(table.read_bytes()[:200])
    out = tmp_path / "exported.csv"  # p.csv is the imported file: the writer would refuse it
    proc = cli("data", "export", "production", "--out", out, "--data-dir", populated)
    msg = _flat(proc.stderr)
    assert proc.returncode == 1 and str(table) in msg
    assert "critmat data remove production" in msg
    assert cli("data", "remove", "production", "--data-dir", populated).returncode == 0
    assert cli("data", "list", "--data-dir", populated).returncode == 0


def test_truncated_catalog_and_rebuild(populated: Path) -> None:
    catalog = populated / "scenarios" / "catalog.duckdb"
    first = _run_id(populated)
    catalog.write_bytes(catalog.read_bytes()[:1000])
    for args in (("scenario", "list"), ("scenario", "show", "latest")):
        proc = cli(*args, "--data-dir", populated)
        msg = _flat(proc.stderr)
        assert proc.returncode == 1 and str(catalog) in msg and "remove it" in msg
    # the advice: remove the catalog; the next save rebuilds it with the earlier run
    catalog.unlink()
    proc = cli(
        "scenario", "run", "-p", "china-ga-ge-2023", "-n", "30", "-q", "--data-dir", populated
    )
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(cli("scenario", "list", "-f", "json", "--data-dir", populated).stdout)
    assert len(listed) == 2 and first in {r["run_id"] for r in listed}


def test_run_folder_without_summary(populated: Path) -> None:
    run_id = _run_id(populated)
    summary = populated / "scenarios" / "runs" / run_id / "summary.parquet"
    summary.unlink()
    proc = cli("scenario", "show", run_id, "--data-dir", populated)
    msg = _flat(proc.stderr)
    assert proc.returncode == 1 and str(summary) in msg
    assert "summary.parquet is missing" in msg and "restore" in msg
    (summary.parent / "monthly.parquet").write_bytes(b"PAR1 garbage")
    summary.write_bytes(b"")
    msg = _flat(cli("scenario", "show", run_id, "--data-dir", populated).stderr)
    assert "is damaged" in msg


# ----------------------------------------------------------------------------- real mounts


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command on this machine (the ENOSPC unit tests simulate it)")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(
            f"mounting a tmpfs is not permitted here ({proc.stderr.strip()}); the unit tests "
            "cover a full disk with a simulated ENOSPC"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(root: Path, leave: int) -> None:
    """Fill the file system of ``root`` until about ``leave`` bytes are free."""
    st = os.statvfs(root)
    free = st.f_bavail * st.f_frsize
    with (root / "filler.bin").open("wb") as fh:
        fh.write(b"\0" * max(0, free - leave))


def test_disk_full_during_import_and_save(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "small", "2m") as mnt:
        root = mnt / "data"
        small = tmp_path / "small.csv"
        small.write_text("material,country,year,quantity\ngallium,DEU,2022,12\n", encoding="utf-8")
        assert cli("data", "import", small, "-t", "production", "--data-dir", root).returncode == 0
        before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
        big = tmp_path / "big.csv"
        n = 20_000
        pd.DataFrame(
            {
                "year": 2021,
                "exporter": "CHN",
                "importer": "DEU",
                "hs6": [f"{100000 + i:06d}" for i in range(n)],
                "value_kusd": [float(i) * 1.37 for i in range(n)],
            }
        ).to_csv(big, index=False)
        _fill(mnt, 64 * 1024)
        proc = cli("data", "import", big, "-t", "trade", "--data-dir", root)
        msg = _flat(proc.stderr)
        assert proc.returncode == 1 and "no space left on device" in msg
        assert "nothing was changed" in msg
        after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
        assert after == before  # no temporary file, manifest and table untouched
        proc = cli(
            "scenario", "run", "-p", "china-ga-ge-2023", "-n", "400", "-q", "--data-dir", root
        )
        msg = _flat(proc.stderr)
        assert proc.returncode == 1 and "no space left on device" in msg
        runs = root / "scenarios" / "runs"
        assert not runs.exists() or list(runs.iterdir()) == []  # no .tmp- folder left
        (mnt / "filler.bin").unlink()
        assert cli("scenario", "list", "--data-dir", root).returncode == 0
        assert cli("data", "list", "--data-dir", root).returncode == 0


def test_read_only_data_directory(populated: Path, tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "ro", "64m") as mnt:
        root = mnt / "data"
        shutil.copytree(populated, root)
        (root / ".lock").unlink(missing_ok=True)
        (root / "scenarios" / ".lock").unlink(missing_ok=True)
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        out = tmp_path / "out"
        out.mkdir()
        d = ("--data-dir", root)
        for args in (
            ("data", "list", *d),
            ("data", "sources", *d),
            ("data", "describe", "production", *d),
            ("data", "export", "production", "--out", out / "p.csv", *d),
            ("data", "query", "select count(*) as n from production", *d),
            ("hhi", "-m", "gallium", "-y", "2022", *d),
            ("summary", *d),
            ("scenario", "list", *d),
            ("scenario", "show", "latest", *d),
        ):
            proc = cli(*args)
            assert proc.returncode == 0, (args, proc.stderr)
        assert (
            "DEU" in pd.read_csv(out / "p.csv").query("material == 'gallium'")["country"].tolist()
        )
        src = tmp_path / "n.csv"
        src.write_text("material,country,year,quantity\ncobalt,FIN,2022,1\n", encoding="utf-8")
        proc = cli("data", "import", src, "-t", "production", *d)
        msg = _flat(proc.stderr)
        assert proc.returncode == 1 and "read-only file system" in msg
        proc = cli("scenario", "run", "-p", "china-ga-ge-2023", "-n", "20", "-q", *d)
        assert proc.returncode == 1 and "read-only file system" in _flat(proc.stderr)
