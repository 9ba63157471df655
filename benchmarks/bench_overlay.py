"""Benchmark: the GeoPolRisk cube with and without user data overlaid.

The user data directory overlays the embedded tables (user rows replace embedded rows with
the same primary key). This benchmark measures what that costs a query: the whole GeoPolRisk
cube (every mapped material x every importer plus EU27 x 2018-2024, as in
``bench_indicators.py``), warm, on

* the embedded dataset alone (``user_data=False``), the peer of every other figure;
* a user data directory with rows in the three tables the cube reads (``trade``: Germany's
  whole 2022 imports with values changed plus 50 new rows; ``production``: 300 rows;
  ``governance``: 100 rows; replacing embedded rows and adding new ones), so every query of
  the cube goes through the overlay;
* a user data directory with a bill of materials only (no overlay on the cube's tables).

It also times one pass over the whole trade table through each store (the overlay's own cost,
with little else in it) and opening the knowledge base (the first query, which materialises
the overlay) in each case. Target (issue 11, item 4): the cube with user data present takes
no more than 1.2x the time without, measured in the same run.

Usage::

    python benchmarks/bench_overlay.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

import critmat
from critmat.knowledge_base import KnowledgeBase

CUBE: dict[str, Any] = {"materials": "all", "importers": "all", "years": "2018-2024"}


def _timed(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _populate(root: Path, work: Path, *, cube_tables: bool) -> None:
    """Import realistic user rows into ``root`` (taken from the embedded data and changed)."""
    base = critmat.load(user_data=False)
    kb = critmat.load(root)
    if cube_tables:
        trade = base.trade(years=2022, importers="DEU").copy()
        trade["value_kusd"] = trade["value_kusd"] * 1.1
        extra = trade.head(50).copy()
        extra["year"] = 2024
        trade = pd.concat([trade, extra]).drop_duplicates(["year", "exporter", "importer", "hs6"])
        trade.drop(columns=["source_id"]).to_csv(work / "trade.csv", index=False)
        kb.import_file(work / "trade.csv", "trade", note="bench")
        prod = base.production(years=2022).head(300).copy()
        prod["quantity"] = prod["quantity"] * 0.9
        prod[["material", "country", "year", "quantity", "unit"]].to_csv(
            work / "production.csv", index=False
        )
        kb.import_file(work / "production.csv", "production", note="bench")
        gov = base.governance(vintage="wgi_2024", years=2023).head(100).copy()
        gov[["country", "year", "vintage", "va", "pv", "ge", "rq", "rl", "cc"]].to_csv(
            work / "governance.csv", index=False
        )
        kb.import_file(work / "governance.csv", "governance", note="bench")
    (work / "bom.csv").write_text(
        "system,component,material,kg_per_unit\nF-35,airframe,titanium,1000\n", encoding="utf-8"
    )
    kb.import_file(work / "bom.csv", "bom", note="bench")
    kb.close()
    base.close()


def _open_time(make: Callable[[], KnowledgeBase], runs: int) -> float:
    times = []
    for _ in range(runs):
        kb = make()
        t = time.perf_counter()
        kb.sql("select count(*) from trade")
        times.append(time.perf_counter() - t)
        kb.close()
    return statistics.median(times)


def _cube_times(kbs: list[KnowledgeBase], runs: int) -> list[tuple[float, float]]:
    """Warm cube wall and CPU time of each knowledge base, runs interleaved (fair on a
    shared machine)."""
    for kb in kbs:
        kb.indicators.geopolrisk(**CUBE)  # warm-up
    wall: list[list[float]] = [[] for _ in kbs]
    cpu: list[list[float]] = [[] for _ in kbs]
    for _ in range(runs):
        for i, kb in enumerate(kbs):
            t, c = time.perf_counter(), time.process_time()
            kb.indicators.geopolrisk(**CUBE)
            cpu[i].append(time.process_time() - c)
            wall[i].append(time.perf_counter() - t)
    return [(statistics.median(w), statistics.median(c)) for w, c in zip(wall, cpu, strict=True)]


def _scan_times(kbs: list[KnowledgeBase], runs: int) -> list[float]:
    """One pass over the whole trade table through each store (the overlay's own cost)."""
    sql = "select importer, sum(value_kusd) as v from trade group by importer"
    times: list[list[float]] = [[] for _ in kbs]
    for _ in range(runs):
        for i, kb in enumerate(kbs):
            t = time.perf_counter()
            kb.sql(sql)
            times[i].append(time.perf_counter() - t)
    return [statistics.median(t) for t in times]


def main() -> int:
    """Measure and print the cube with and without user data."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="warm runs per measurement")
    args = ap.parse_args()
    print(f"critmat {critmat.__version__}")
    print("== GeoPolRisk cube (warm median) with and without user data")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        full, bom_only = work / "user-full", work / "user-bom"
        _populate(full, work, cube_tables=True)
        _populate(bom_only, work, cube_tables=False)
        makers: list[Callable[[], KnowledgeBase]] = [
            lambda: critmat.load(user_data=False),
            lambda: critmat.load(full),
            lambda: critmat.load(bom_only),
        ]
        o0, o1, o2 = (_open_time(m, args.runs) for m in makers)
        kbs = [m() for m in makers]
        user_rows = {t: e["rows"] for t, e in kbs[1].store.user_tables.items()}
        s0, s1, s2 = _scan_times(kbs, 4 * args.runs)
        c0, c1, c2 = _cube_times(kbs, args.runs)
        for kb in kbs:
            kb.close()
    print("  user rows: " + ", ".join(f"{t} {n:,}" for t, n in sorted(user_rows.items())))
    print(
        f"  embedded only:{'':29}cube {c0[0]:.3f} s ({c0[1]:.3f} s CPU); trade scan "
        f"{s0 * 1e3:.0f} ms; first query {o0:.3f} s"
    )
    for label, o, s, c in (
        ("user rows in trade+production+governance", o1, s1, c1),
        ("user BOM only", o2, s2, c2),
    ):
        ratio, ratio_cpu = c[0] / c0[0], c[1] / c0[1]
        print(
            f"  {label + ':':<43}cube {c[0]:.3f} s = {ratio:.2f}x embedded, {ratio_cpu:.2f}x "
            f"CPU (target <= 1.2x: {'met' if ratio <= 1.2 else 'NOT met'}); trade scan "
            f"{s * 1e3:.0f} ms = {s / s0:.2f}x; first query {o:.3f} s"
        )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"  load average {load} (2-core machine shared with other jobs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
