"""Benchmark of the scenario ensemble: speed, and memory against the ensemble size.

Sections (``--only NAME``):

* ``throughput``: 10,000 scenarios x 34 materials x 120 months (seed 1) in one process and
  on a 2-worker LocalCluster (one thread per worker process), each in a fresh child
  process so that peak memory is measured cleanly: wall time, throughput, peak memory
  (resident set size; for the cluster the client process and the largest worker).
* ``memory``: peak memory of 5,000 and 50,000 scenarios in one process, as a ratio
  (target: within 1.2x, i.e. memory independent of the number of scenarios beyond the
  ``[S, M]`` per-scenario totals). With ``--million``, also 1,000,000 scenarios in one
  process and on a 2-worker LocalCluster (target: under 2 GB; the client's and the
  largest worker's peak against those of 50,000 scenarios; several minutes each).

The scenario exercises every engine path: a China cut of all 34 materials and a Russian cut
(both with uncertain onset, duration, severity, leakage; the Russian one happens with
probability 0.3), stocks with a release cap and delay, partners, substitution, extra
recycling, demand restraint, defence-first priority and two defence systems. The defence
inputs are constructed for the benchmark (not data).

Usage::

    python benchmarks/bench_scenarios.py [--only throughput|memory] [--million]
                                         [--samples 10000] [--months 120] [--materials 34]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any


def build_spec(kb: Any, n_materials: int, months: int, samples: int) -> Any:
    """The benchmark ensemble."""
    from critmat.scenarios.baseline import supply_options
    from critmat.scenarios.spec import EnsembleSpec

    opts = supply_options(kb)
    with_data = set(opts["material"])
    crma = kb.table("crma_2024")
    mats = [m for m in dict.fromkeys(crma["material"]) if m in with_data]
    eu = sorted(set(opts.loc[opts["mix"] == "eu_sourcing", "material"]))
    mats += [m for m in eu if m not in mats]
    mats = mats[:n_materials]
    uncertain = {
        "onset": {"dist": "uniform", "low": 0, "high": 12},
        "duration": {"dist": "lognormal", "median": 18, "sigma": 0.6, "high": months},
        "severity": {"dist": "uniform", "low": 0.5, "high": 1.0},
        "leakage": {"dist": "uniform", "low": 0.0, "high": 0.2},
        "ramp": 1.0,
    }
    scenario = {
        "name": "benchmark",
        "horizon_months": months,
        "materials": mats,
        "shocks": [
            {"exporter": "CHN", "material": "all", **uncertain},
            {"exporter": "RUS", "material": "all", "probability": 0.3, **uncertain},
        ],
        "mitigations": {
            "stocks": [
                {"material": "all", "initial_months": 2, "release_cap": 0.5, "release_delay": 1}
            ],
            "partners": [
                {
                    "country": "AUS",
                    "material": mats[:10],
                    "capacity": 0.1,
                    "lead_time": 6,
                    "ramp": 12,
                },
                {
                    "country": "CAN",
                    "material": mats[:10],
                    "capacity": 0.05,
                    "lead_time": 3,
                    "ramp": 6,
                },
            ],
            "substitution": [{"material": "all", "max_share": 0.1, "lead_time": 6, "ramp": 18}],
            "recycling": [{"material": "all", "max_share": 0.05, "lead_time": 12, "ramp": 24}],
            "demand_restraint": [{"material": "all", "share": 0.1, "lead_time": 1, "ramp": 3}],
            "defence_first": True,
        },
        "defence": {
            "share": dict.fromkeys(mats, 0.05),
            "systems": [
                {
                    "name": "system A (constructed)",
                    "build_rate": 4,
                    "kg_per_unit": dict.fromkeys(mats[:5], 1.0),
                },
                {
                    "name": "system B (constructed)",
                    "build_rate": 10,
                    "kg_per_unit": dict.fromkeys(mats[3:9], 1.0),
                },
            ],
        },
    }
    return EnsembleSpec.model_validate({"scenario": scenario, "samples": samples, "seed": 1})


def child(mode: str, samples: int, months: int, n_materials: int) -> dict[str, Any]:
    """Run once in this (fresh) process and return the figures."""
    import critmat
    from critmat.scenarios.plan import validate
    from critmat.scenarios.runner import run

    kb = critmat.load(user_data=False)
    spec = build_spec(kb, n_materials, months, samples)
    plan = validate(kb, spec)
    plan.inputs()
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out: dict[str, Any] = {"mode": mode, "before_mb": before_mb, "worker_peak_rss_mb": None}
    if mode == "local":
        t0 = time.perf_counter()
        result = run(plan, kb)
        out["wall_s"] = time.perf_counter() - t0
    else:
        # a cluster as critmat starts one; the same run counted with and without its
        # start-up, and the workers' peak memory (VmHWM of the worker processes)
        import dask
        from distributed import Client, LocalCluster

        t0 = time.perf_counter()
        with (
            dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}),
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=50,
            ) as cluster,
            Client(cluster) as client,
        ):
            client.submit(sum, [1, 2]).result()
            t1 = time.perf_counter()
            result = run(plan, kb, dask=client)
            t2 = time.perf_counter()
            out["wall_running_cluster_s"] = t2 - t1
            out["wall_s"] = t2 - t0
            out["worker_peak_rss_mb"] = max(client.run(_vm_hwm_mb).values())
            out["task_scenarios"] = result.meta.get("task_scenarios")
    out.update(
        {
            "samples": result.samples,
            "materials": len(result.summary),
            "months": months,
            "simulate_s": result.meta["simulate_s"],
            "chunks": result.meta["chunks"],
            "chunk_size": result.meta["chunk_size"],
            "statistics": result.meta["statistics"],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "p_shortfall_max": float(result.summary["p_shortfall"].max()),
        }
    )
    return out


def _vm_hwm_mb() -> float:
    """Peak resident memory of this process (MB), from /proc (Linux)."""
    with open("/proc/self/status", encoding="ascii") as fh:  # noqa: PTH123
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _child(mode: str, samples: int, months: int, materials: int) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--samples",
            str(samples),
            "--months",
            str(months),
            "--materials",
            str(materials),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def throughput(args: argparse.Namespace) -> None:
    """One process vs a 2-worker LocalCluster on the same ensemble."""
    print(
        f"== throughput: {args.samples:,} scenarios x {args.materials} materials x "
        f"{args.months} months"
    )
    walls = {}
    for mode in ("local", "dask"):
        r = _child(mode, args.samples, args.months, args.materials)
        sm = r["samples"] * r["months"]
        label = "one process" if mode == "local" else "LocalCluster, 2 workers x 1 thread"
        worker = (
            f", worker peak {r['worker_peak_rss_mb']:,.0f} MB" if r["worker_peak_rss_mb"] else ""
        )
        walls[mode] = r["wall_s"]
        print(
            f"  {label:<36} wall {r['wall_s']:6.2f} s (simulation {r['simulate_s']:.2f} s, "
            f"{r['chunks']} chunks of {r['chunk_size']}); "
            f"{sm / r['wall_s']:,.0f} scenario-months/s = "
            f"{sm * r['materials'] / r['wall_s']:,.0f} scenario-material-months/s; "
            f"peak RSS {r['peak_rss_mb']:,.0f} MB{worker}"
        )
        if "wall_running_cluster_s" in r:
            w = r["wall_running_cluster_s"]
            walls["running"] = w
            print(
                f"  {'  same, cluster already running':<36} wall {w:6.2f} s; "
                f"{sm / w:,.0f} scenario-months/s = "
                f"{sm * r['materials'] / w:,.0f} scenario-material-months/s"
            )
    print(
        f"  cluster / one process: {walls['dask'] / walls['local']:.2f}x with its start-up, "
        f"{walls['running'] / walls['local']:.2f}x already running (< 1: the cluster is "
        "faster; see bench_dask.py for the pay-back size and the scaling)"
    )


def memory(args: argparse.Namespace) -> None:
    """Peak memory against the number of scenarios."""
    m, t = args.materials, args.months
    print(f"== memory: peak resident memory against the ensemble size ({m} materials x {t} months)")
    small = _child("local", 5_000, t, m)
    large = _child("local", 50_000, t, m)
    ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    print(
        f"  one process: 5,000 scenarios {small['peak_rss_mb']:,.0f} MB, 50,000 scenarios "
        f"{large['peak_rss_mb']:,.0f} MB (process before the run: "
        f"{small['before_mb']:,.0f} MB): {ratio:.2f}x  (target <= 1.2x: "
        f"{'met' if ratio <= 1.2 else 'NOT met'}); monthly statistics "
        f"{large['statistics']['monthly']}, totals {large['statistics']['totals_dtype']}"
    )
    if not args.million:
        print("  (1,000,000 scenarios: --million, several minutes)")
        return
    for mode in ("local", "dask"):
        big = _child(mode, 1_000_000, t, m)
        ok = big["peak_rss_mb"] < 2048
        line = (
            f"  1,000,000 scenarios, {'one process' if mode == 'local' else '2-worker cluster'}:"
            f" wall {big['wall_s']:,.0f} s, peak {big['peak_rss_mb']:,.0f} MB  (target < 2 GB: "
            f"{'met' if ok else 'NOT met'}); {big['peak_rss_mb'] / large['peak_rss_mb']:.2f}x "
            "the 50,000-scenario run in one process"
        )
        if mode == "dask":
            ref = _child("dask", 50_000, t, m)
            line += (
                f"; client {big['peak_rss_mb'] / ref['peak_rss_mb']:.2f}x and largest worker "
                f"{big['worker_peak_rss_mb']:,.0f} MB = "
                f"{big['worker_peak_rss_mb'] / ref['worker_peak_rss_mb']:.2f}x those of 50,000 "
                f"on the cluster (tasks of {big['task_scenarios']:,} scenarios)"
            )
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=10_000, help="throughput section")
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--materials", type=int, default=34)
    ap.add_argument("--only", choices=["throughput", "memory"], default=None)
    ap.add_argument("--million", action="store_true", help="memory: add 1,000,000 scenarios")
    ap.add_argument("--child", choices=["local", "dask"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.samples, args.months, args.materials)))
        return
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    if args.only in (None, "throughput"):
        throughput(args)
    if args.only in (None, "memory"):
        memory(args)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
