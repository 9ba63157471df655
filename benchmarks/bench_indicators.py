"""Benchmark: supply-risk indicators over the whole material x importer x year cube.

Sections (``--only NAME`` runs one): ``geopolrisk`` and ``eu_supply_risk`` (the EU CRM
method for every material of the 2023 study: SR per stage, bottleneck SR, EI, thresholds,
published values and reasons).

* ``geopolrisk``: the full GeoPolRisk cube, every material with an HS mapping or World
  Mining Data production x every importing economy plus EU27 x 2018-2024, through
  ``kb.indicators.geopolrisk()``. Prints the cube size, seconds and results per second:
  once in a fresh process (import, load, DuckDB start and the cube) and warm (median of
  ``--runs``). Targets: the whole cube in under 5 s, warm within 3x one DuckDB pass over
  its inputs, and at least 1,000x the reference implementation per result. The pass reads
  what the cube reads (the trade rows of the mapped HS codes in 2018-2024, joined to their
  material and the exporter's governance, summed per material x importer x year; world
  production for the HHI); cube, pass, input selection and method run in turn (so that all
  see the same load of the shared machine) and are printed as wall and CPU time (all
  threads, DuckDB's included) with the load average.

  When geopolrisk-py 2.0.1 is installed in its own virtual environment (README "Comparing
  with geopolrisk-py"; ``--peer-python`` or ``$CRITMAT_PEER_PYTHON``, default
  ``peer-venv/bin/python``), it runs on a subset in the same run (default 6 materials x 6
  countries x 2 years) and critmat runs on the same subset. The peer's per-result rate is
  measured on ``gprs_calc``'s loop alone, i.e. without its fixed costs (the ~50 s import
  and the ~25 s trade table that every ``gprs_calc`` call rebuilds), which is the most
  favourable measure for the peer; the rate over the whole call is printed too. Single
  countries only by default: the peer computes EU27 about 20x slower per result
  (``--peer-include-eu`` adds it).

New sections register a function in ``SECTIONS``.

Usage::

    python benchmarks/bench_indicators.py [--runs 3] [--peer-python PATH] [--only geopolrisk]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import critmat
from critmat.knowledge_base import KnowledgeBase
from peer_geopolrisk import find_peer_python, run_peer

CUBE: dict[str, Any] = {"materials": "all", "importers": "all", "years": "2018-2024"}
PEER_SUBSET: dict[str, list[Any]] = {
    "materials": ["nickel", "manganese", "graphite", "cobalt", "copper", "lithium"],
    "importers": ["USA", "DEU", "FRA", "JPN", "CHN", "KOR"],
    "years": [2021, 2022],
}

_COLD = r"""
import json, time
t0 = time.perf_counter()
import critmat
kb = critmat.load(user_data=False)
t1 = time.perf_counter()
r = kb.indicators.geopolrisk(materials="all", importers="all", years="2018-2024")
t2 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "cube": t2 - t1, "rows": len(r)}))
"""


def _timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def bench_geopolrisk(kb: KnowledgeBase, args: argparse.Namespace) -> None:
    """The full GeoPolRisk cube, and the peer side by side when it is installed."""
    print("== GeoPolRisk: all mapped materials x all importers (incl. EU27) x 2018-2024")
    proc = subprocess.run([sys.executable, "-c", _COLD], capture_output=True, text=True, check=True)
    cold = json.loads(proc.stdout.strip().splitlines()[-1])
    seconds, frame = _timed(lambda: kb.indicators.geopolrisk(**CUBE), args.runs)
    n = len(frame)
    n_m, n_i, n_y = (frame[c].nunique() for c in ("material", "importer", "year"))
    rate = n / seconds
    counts = frame["status"].value_counts()
    print(
        f"  cube: {n_m} materials x {n_i} importers x {n_y} years = {n:,} results "
        f"({counts.get('ok', 0):,} ok; statuses: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        + ")"
    )
    print(
        f"  fresh process: import + load {cold['load']:.2f} s, first cube "
        f"{cold['cube']:.2f} s ({cold['rows'] / cold['cube']:,.0f} results/s)"
    )
    print(
        f"  warm (median of {args.runs}): {seconds:.3f} s, {rate:,.0f} results/s  "
        f"(target: whole cube < 5 s: {'met' if cold['cube'] < 5 else 'NOT met'})"
    )
    _cube_vs_duckdb(kb, args)

    python = find_peer_python(args.peer_python)
    if python is None:
        print(
            f"  geopolrisk-py: not measured (no interpreter at "
            f"{args.peer_python or 'peer-venv/bin/python'}; see README)"
        )
        return
    sub = dict(PEER_SUBSET)
    if args.peer_include_eu:
        sub["importers"] = [*sub["importers"], "EU27"]
    n_sub = len(sub["materials"]) * len(sub["importers"]) * len(sub["years"])
    print(
        f"  geopolrisk-py ({python}): {len(sub['materials'])} materials x "
        f"{len(sub['importers'])} importers x {len(sub['years'])} years = {n_sub} results "
        "(about 2 minutes) ...",
        flush=True,
    )
    peer = run_peer(
        python, materials=sub["materials"], importers=sub["importers"], years=sub["years"]
    )
    t = peer.timings
    ours_sub, _ = _timed(
        lambda: kb.indicators.geopolrisk(
            materials=sub["materials"], importers=sub["importers"], years=sub["years"]
        ),
        args.runs,
    )
    print(
        f"    peer: import {t['import_seconds']:.1f} s; gprs_calc {t['call_seconds']:.1f} s"
        f" = trade table {t['mapped_baci_seconds']:.1f} s + loop {t['loop_seconds']:.2f} s"
        f" + Excel/SQLite writes; {t['n_results']} results"
    )
    print(
        f"    peer per result: {peer.loop_rate:,.1f} results/s over its loop (fixed costs "
        f"excluded), {peer.call_rate:,.2f} results/s over the whole call"
    )
    print(
        f"    critmat on the same {n_sub} results: {ours_sub:.3f} s "
        f"({n_sub / ours_sub:,.0f} results/s; fixed costs dominate such a small selection)"
    )
    ratio = rate / peer.loop_rate
    print(
        f"  ratio per result (critmat's whole cube vs the peer's loop): {ratio:,.0f}x  "
        f"(target >= 1,000x: {'met' if ratio >= 1000 else 'NOT met'}); vs the peer's "
        f"whole call: {rate / peer.call_rate:,.0f}x"
    )
    print(
        f"  same work, wall time: peer gprs_calc {t['call_seconds']:.1f} s (+ "
        f"{t['import_seconds']:.0f} s import) vs critmat {ours_sub:.3f} s: "
        f"{t['call_seconds'] / ours_sub:,.0f}x"
    )
    print(
        f"  the whole cube at the peer's loop rate would take "
        f"{n / peer.loop_rate / 3600:.1f} h (single-country rate; EU27 is slower)"
    )


#: One DuckDB pass over the cube's inputs: every trade row of the cube's years read once,
#: joined to its material (HS mapping) and its exporter's instability (governance), summed
#: per material x importer x year (imports, value, instability-weighted imports), with the
#: world HHI per material x year from production. The cube does this and more (importer
#: groups such as EU27, intra-group flows, coverage, statuses, the copper CF).
_DUCKDB_PASS = """
with t as (
    select h.material, t.importer, t.year,
           sum(t.quantity_t) as imports_t,
           sum(t.value_kusd) as imports_kusd,
           sum(t.quantity_t * g.pv_normalised) as numerator
    from trade t
    join hs_codes h on h.hs6 = t.hs6
    left join governance g
        on g.country = t.exporter and g.year = t.year and g.vintage = 'wgi_pv_geopolrisk'
    where t.year between 2018 and 2024
    group by all
), p as (
    select material, year, sum(quantity_t) as world_t, sum(quantity_t * quantity_t) as sq
    from production where year between 2018 and 2024
    group by all
)
select t.*, p.sq / (p.world_t * p.world_t) as hhi
from t left join p on p.material = t.material and p.year = t.year
"""


def _interleaved(fns: dict[str, Callable[[], Any]], runs: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of each function, the functions run in turn.

    Running them in turn (a, b, c, a, b, c, ...) lets every figure see the same load of the
    shared machine, so their ratios hold even when the absolute times move. CPU time is
    the process's (every thread: DuckDB's workers included).
    """
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():  # warm every path once
        fn()
    for _ in range(runs):
        for name, fn in fns.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            cpu[name].append(time.process_time() - c)
            wall[name].append(time.perf_counter() - t)
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in fns}


def _cube_vs_duckdb(kb: KnowledgeBase, args: argparse.Namespace) -> None:
    """The warm cube next to one DuckDB pass over its inputs, and where the time goes."""
    from critmat.indicators.geopolrisk import geopolrisk_inputs
    from critmat.methods.geopolrisk import geopolrisk_cube

    inp = geopolrisk_inputs(kb, **CUBE)
    agg = kb.sql(_DUCKDB_PASS)

    def method() -> Any:
        return geopolrisk_cube(
            inp.trade,
            inp.production,
            inp.governance,
            dict(sorted(inp.units.items())),
            materials=sorted(inp.materials),
            years=inp.years,
            assessable=inp.assessable,
            exporters=inp.exporters,
            reference_trade=inp.reference_trade,
        )

    runs = max(args.runs, 5)
    m = _interleaved(
        {
            "pass": lambda: kb.sql(_DUCKDB_PASS),
            "cube": lambda: kb.indicators.geopolrisk(**CUBE),
            "inputs": lambda: geopolrisk_inputs(kb, **CUBE),
            "method": method,
        },
        runs,
    )
    (pass_s, pass_c), (cube_w, cube_c) = m["pass"], m["cube"]
    (inputs_s, inputs_c), (method_s, method_c) = m["inputs"], m["method"]
    ratio, ratio_cpu = cube_w / pass_s, cube_c / pass_c
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"  one DuckDB pass over the inputs (trade rows of 2018-2024 joined to materials and "
        f"governance, summed per material x importer x year, + HHI): {pass_s:.3f} s wall, "
        f"{pass_c:.3f} s CPU ({len(agg):,} groups)"
    )
    print(
        f"  warm cube, measured in turn with the pass (median of {runs}): {cube_w:.3f} s wall, "
        f"{cube_c:.3f} s CPU; load average {load}"
    )
    print(
        f"  warm cube / DuckDB pass: {ratio:.1f}x wall, {ratio_cpu:.1f}x CPU  (target <= 3x: "
        f"{'met' if ratio <= 3 else 'NOT met'})"
    )
    print(
        f"    of the cube: input selection (indicators.geopolrisk_inputs) {inputs_s:.3f} s = "
        f"{inputs_s / pass_s:.1f}x the pass ({inputs_c / pass_c:.1f}x CPU), method "
        f"(methods.geopolrisk_cube) {method_s:.3f} s = {method_s / pass_s:.1f}x "
        f"({method_c / pass_c:.1f}x CPU), rest (provenance, columns) "
        f"{max(cube_w - inputs_s - method_s, 0):.3f} s"
    )


_COLD_EU = r"""
import json, time
t0 = time.perf_counter()
import critmat
kb = critmat.load(user_data=False)
t1 = time.perf_counter()
r = kb.indicators.eu_supply_risk()
t2 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "sr": t2 - t1, "rows": len(r)}))
"""


def bench_eu_supply_risk(kb: KnowledgeBase, args: argparse.Namespace) -> None:
    """EU supply risk and economic importance of every material of the 2023 study."""
    print("== EU CRM method: SR per stage, bottleneck SR and EI for every assessed material")
    proc = subprocess.run(
        [sys.executable, "-c", _COLD_EU], capture_output=True, text=True, check=True
    )
    cold = json.loads(proc.stdout.strip().splitlines()[-1])

    def computed() -> Any:
        kb.cache.clear()  # eu_supply_risk is memoised per kb and arguments: compute it again
        return kb.indicators.eu_supply_risk()

    seconds, frame = _timed(computed, args.runs)
    again, _ = _timed(kb.indicators.eu_supply_risk, args.runs)
    n = len(frame)
    print(f"  {n} materials (x 2 stages x 2 supply mixes, with published values and reasons)")
    print(f"  fresh process: import + load {cold['load']:.2f} s, first call {cold['sr']:.2f} s")
    print(
        f"  warm, computed (kb.cache cleared; median of {args.runs}): {seconds:.3f} s, "
        f"{n / seconds:,.0f} materials/s; memoised (same kb and arguments, a copy of the "
        f"cached result): {again * 1000:.1f} ms"
    )


#: Benchmark sections in the order they run.
SECTIONS: dict[str, Callable[[KnowledgeBase, argparse.Namespace], None]] = {
    "geopolrisk": bench_geopolrisk,
    "eu_supply_risk": bench_eu_supply_risk,
}


def main() -> int:
    """Run the benchmark sections and print their figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="warm runs per measurement")
    ap.add_argument("--only", choices=sorted(SECTIONS), default=None)
    ap.add_argument(
        "--peer-python",
        default=None,
        help="geopolrisk-py's interpreter [$CRITMAT_PEER_PYTHON, peer-venv/bin/python]",
    )
    ap.add_argument("--peer-include-eu", action="store_true", help="add EU27 to the peer's subset")
    args = ap.parse_args()
    kb = critmat.load(user_data=False)
    print(f"critmat {critmat.__version__}, dataset {kb.version} ({kb.catalog.content_hash})")
    for name, section in SECTIONS.items():
        if args.only in (None, name):
            section(kb, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
