"""`critmat scenario ...` end to end (Typer CliRunner, an isolated user data folder)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from critmat.cli.app import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_presets_list_and_export(tmp_path: Path) -> None:
    code, out = run("scenario", "presets", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert {r["preset"] for r in rows} >= {"china-ga-ge-2023", "china-full-cut", "russia-ti-ni-pd"}
    assert next(r for r in rows if r["preset"] == "china-antimony-2024")["event_id"] == "CN-2024-33"
    code, out = run("scenario", "presets")
    assert code == 0 and "CN-2023-39" in out
    code, out = run("scenario", "presets", "china-ga-ge-2023")
    assert code == 0 and "CN-2023-23" in out and "lognormal" in out
    spec = tmp_path / "ga.yaml"
    code, _ = run("scenario", "presets", "china-ga-ge-2023", "--out", str(spec))
    assert code == 0 and spec.exists()
    code, out = run("scenario", "validate", str(spec))
    assert code == 0 and "gallium" in out and "valid" in out
    code, out = run("scenario", "presets", "china-ga-ge")
    assert code == 2 and "did you mean 'china-ga-ge-2023'" in out


def test_run_list_show_compare(tmp_path: Path) -> None:
    code, out = run("scenario", "list")
    assert code == 0 and "no stored runs" in out
    code, out = run(
        "scenario",
        "run",
        "--preset",
        "china-ga-ge-2023",
        "--samples",
        "60",
        "--seed",
        "3",
        "--quiet",
    )
    assert code == 0 and "germanium" in out and "stored run" in out
    code, out = run(
        "scenario",
        "run",
        "--preset",
        "china-ga-ge-2023",
        "-n",
        "60",
        "--seed",
        "3",
        "--stock-months",
        "3",
        "-q",
        "--format",
        "json",
    )
    rows = json.loads(out[out.index("[") :])
    assert code == 0 and {r["material"] for r in rows} == {"gallium", "germanium"}
    assert all(r["stock_months"] == 3 for r in rows)
    code, out = run("scenario", "list", "--format", "csv")
    runs = pd.read_csv(pd.io.common.StringIO(out))
    assert code == 0 and len(runs) == 2
    newest, oldest = runs["run_id"].tolist()
    code, out = run(
        "scenario", "show", "latest", "--table", "monthly", "--out", str(tmp_path / "m.parquet")
    )
    assert code == 0 and len(pd.read_parquet(tmp_path / "m.parquet")) == 2 * 60 * 3
    html = tmp_path / "run.html"
    code, out = run("scenario", "show", oldest[:-2], "--html", str(html))
    assert code == 0 and "CN-2023-23" in out
    assert "plotly" in html.read_text(encoding="utf-8")
    code, out = run("scenario", "compare", oldest, newest, "--format", "json")
    cmp = json.loads(out)
    assert code == 0 and all(r["shortfall_mean_delta"] < 0 for r in cmp)
    code, out = run("scenario", "show", "nope")
    assert code == 2 and "unknown run 'nope'" in out
    code, out = run("scenario", "show", "2")
    assert code == 2 and "ambiguous" in out


def test_run_from_file_and_errors(tmp_path: Path) -> None:
    spec = tmp_path / "ga.yaml"
    spec.write_text(
        """
name: Ga cut
horizon_months: 24
shocks:
  - {exporter: CHN, material: gallium, duration: 12, severity: 0.5}
""",
        encoding="utf-8",
    )
    code, out = run("scenario", "run", "--spec", str(spec), "--no-save", "-q", "--format", "csv")
    assert code == 0
    frame = pd.read_csv(pd.io.common.StringIO(out[out.index("material") :]))
    assert frame["shortfall_mean"].iloc[0] == 0.69 * 0.5 * 12
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        """
shocks:
  - {exporter: CHN, material: galium, duration: -2, severity: 1.5}
""",
        encoding="utf-8",
    )
    code, out = run("scenario", "run", "--spec", str(bad), "-q")
    assert code == 2
    assert "shocks[0].severity" in out and "shocks[0].duration" in out
    assert "did you mean 'gallium'" in out and "nothing was computed" in out
    code, out = run("scenario", "run", "-q")
    assert code == 2 and "--preset NAME or --spec FILE" in out
    code, out = run(
        "scenario",
        "run",
        "--preset",
        "china-antimony-2024",
        "--dask",
        "somewhere:1",
        "-q",
        "--no-save",
    )
    assert code == 1 and "tcp://host:port" in out
