"""Benchmark: the time a user waits for the ``critmat`` command.

Every figure is measured in this run, in fresh processes, next to its target and as a
ratio to a floor measured in the same run (so that a loaded machine moves both):

* ``critmat --version`` and ``critmat --help`` (target < 0.3 s) against ``python -c pass``
  (the interpreter alone) and ``python -c "import typer"`` (the CLI framework alone);
* the main job, ``critmat assess`` (terminal view and ``--format csv``: target < 2 s) and
  ``critmat assess --report FILE`` (target < 3 s), in a fresh user data directory, twice:
  *computed* (``CRITMAT_CACHE=off``: every number computed, after one untimed run that warms
  the file cache) and *warm* (the results kept by the previous run read back, which is what
  a second run on unchanged data does; see ``critmat.data.results``).

Each figure is the median wall time of ``--runs`` runs, with the child's CPU time (user +
system) and peak memory from ``os.wait4``. The load average is printed before and after:
on a shared machine compare the ratios, and the CPU time, rather than the wall times.

Usage::

    python benchmarks/bench_cli.py [--runs 5] [--assess-runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple


class Timing(NamedTuple):
    """Median wall time, median CPU time (user + system) and peak RSS of a command."""

    wall: float
    cpu: float
    rss_mb: float


def _once(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measure(cmd: list[str], runs: int, warm: int = 1, env: dict[str, str] | None = None) -> Timing:
    """Run ``cmd`` ``warm`` times untimed, then ``runs`` times; medians."""
    for _ in range(warm):
        _once(cmd, env)
    got = [_once(cmd, env) for _ in range(runs)]
    return Timing(
        statistics.median(g[0] for g in got),
        statistics.median(g[1] for g in got),
        max(g[2] for g in got),
    )


def _critmat() -> list[str]:
    """The console script next to this interpreter (else ``python -m critmat``)."""
    script = shutil.which("critmat", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "critmat"]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min; {os.cpu_count()} CPUs)"


def _row(label: str, t: Timing, target: float | None, *ratios: tuple[str, Timing]) -> None:
    goal = ""
    if target is not None:
        ok = {True: "met", False: "NOT met"}
        goal = f"  target < {target:g} s: wall {ok[t.wall < target]}, CPU {ok[t.cpu < target]}"
    rel = "".join(f"; {t.wall / r.wall:.1f}x {name}" for name, r in ratios)
    print(f"  {label:<36} {t.wall:6.3f} s wall, {t.cpu:6.3f} s CPU, {t.rss_mb:6.0f} MB{goal}{rel}")


def main() -> int:
    """Measure the CLI's start and the main job; print each figure next to its target."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="timed runs of the quick commands")
    ap.add_argument("--assess-runs", type=int, default=3, help="timed runs of critmat assess")
    args = ap.parse_args()

    import critmat

    py = sys.executable
    cm = _critmat()
    print(
        f"critmat {critmat.__version__}; Python {platform.python_version()} on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; {' '.join(cm)}"
    )
    print(f"load average before: {_load()}")
    print("== start-up (median of", args.runs, "runs)")
    base = measure([py, "-c", "pass"], args.runs)
    typer_t = measure([py, "-c", "import typer"], args.runs)
    rich_help = measure([py, "-c", "import typer.rich_utils"], args.runs)
    version = measure([*cm, "--version"], args.runs)
    help_t = measure([*cm, "--help"], args.runs)
    _row("python -c pass", base, None)
    _row('python -c "import typer"', typer_t, None, ("python", base))
    _row('python -c "import typer.rich_utils"', rich_help, None, ("python", base))
    _row("critmat --version", version, 0.3, ("python -c pass", base), ("import typer", typer_t))
    _row(
        "critmat --help",
        help_t,
        0.3,
        ("import typer", typer_t),
        ("import typer.rich_utils (Typer's help renderer)", rich_help),
    )
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CRITMAT_DATA_DIR": str(Path(tmp) / "data"), "COLUMNS": "80"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python keeps its bytecode
        html = str(Path(tmp) / "report.html")
        jobs = {
            "critmat assess": [*cm, "assess"],
            "critmat assess --format csv": [*cm, "assess", "--format", "csv"],
            "critmat assess --report FILE": [*cm, "assess", "--report", html, "--force"],
        }
        targets = {"critmat assess --report FILE": 3.0}
        for title, extra in (
            ("computed (CRITMAT_CACHE=off; after one untimed run)", {"CRITMAT_CACHE": "off"}),
            ("warm (results kept by the previous run read back)", {}),
        ):
            print(f"== the main job, {title}; median of {args.assess_runs} runs")
            got = {k: measure(c, args.assess_runs, env={**env, **extra}) for k, c in jobs.items()}
            for label, t in got.items():
                _row(label, t, targets.get(label, 2.0), ("python -c pass", base))
    print(f"load average after:  {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
