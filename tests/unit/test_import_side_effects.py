"""`import critmat` must have no side effects (STYLE S13)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_import_creates_nothing_prints_nothing_opens_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import logging, sys, json\n"
        "before = set(sys.modules)\n"
        "import critmat\n"
        "print(json.dumps({'handlers': len(logging.getLogger().handlers),"
        " 'duckdb': 'duckdb' in sys.modules, 'pandera': 'pandera' in sys.modules,"
        " 'version': critmat.__version__}))\n"
    )
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "xdg"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    out = json.loads(proc.stdout)
    assert proc.stderr == ""
    assert out == {"handlers": 0, "duckdb": False, "pandera": False, "version": out["version"]}
    assert list(home.iterdir()) == []  # no folder, no file created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_load_is_lazy_and_reading_user_dir_creates_nothing(tmp_path: Path) -> None:
    import critmat

    target = tmp_path / "not-yet"
    kb = critmat.load(target)
    assert "store" not in kb.__dict__  # no database opened yet
    repr(kb)
    kb.tables()
    assert not target.exists()
