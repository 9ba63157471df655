"""Benchmark of the scenario ensemble: 10,000 scenarios x 34 materials x 120 months.

Runs the same ensemble (seed 1) in one process and on a 2-worker LocalCluster (one thread
per worker process), each in a fresh child process so that peak memory is measured cleanly,
and prints wall time, throughput and peak memory (resident set size; for the cluster run
the client process and the largest worker).

The scenario exercises every engine path: a China cut of all 34 materials and a Russian cut
(both with uncertain onset, duration, severity, leakage; the Russian one happens with
probability 0.3), stocks with a release cap and delay, partners, substitution, extra
recycling, demand restraint, defence-first priority and two defence systems. The defence
inputs are constructed for the benchmark (not data).

Usage::

    python benchmarks/bench_scenarios.py [--samples 10000] [--months 120] [--materials 34]
                                         [--mode both|local|dask]
"""

from __future__ import annotations

import argparse
import json
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
    t0 = time.perf_counter()
    result = run(
        plan, kb, dask="local" if mode == "dask" else None, workers=2 if mode == "dask" else None
    )
    wall = time.perf_counter() - t0
    out = {
        "mode": mode,
        "samples": result.samples,
        "materials": len(result.summary),
        "months": months,
        "wall_s": wall,
        "simulate_s": result.meta["simulate_s"],
        "chunks": result.meta["chunks"],
        "chunk_size": result.meta["chunk_size"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_rss_mb": None,
        "p_shortfall_max": float(result.summary["p_shortfall"].max()),
    }
    if mode == "dask":
        # the same on a cluster that is already running (no start-up in the wall time), and
        # the workers' peak memory (VmHWM of the worker process itself)
        import dask
        from distributed import Client, LocalCluster

        with (
            dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}),
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            Client(cluster) as client,
        ):
            client.submit(sum, [1, 2]).result()
            t1 = time.perf_counter()
            again = run(plan, kb, dask=client)
            out["wall_running_cluster_s"] = time.perf_counter() - t1
            assert again.summary.equals(result.summary)
            peaks = client.run(_vm_hwm_mb)
            out["worker_peak_rss_mb"] = max(peaks.values())
    return out


def _vm_hwm_mb() -> float:
    """Peak resident memory of this process (MB), from /proc (Linux)."""
    with open("/proc/self/status", encoding="ascii") as fh:  # noqa: PTH123
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--materials", type=int, default=34)
    ap.add_argument("--mode", choices=["both", "local", "dask"], default="both")
    ap.add_argument("--child", choices=["local", "dask"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.samples, args.months, args.materials)))
        return
    modes = ["local", "dask"] if args.mode == "both" else [args.mode]
    print(
        f"scenario ensemble: {args.samples:,} scenarios x {args.materials} materials x "
        f"{args.months} months"
    )
    for mode in modes:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--samples",
                str(args.samples),
                "--months",
                str(args.months),
                "--materials",
                str(args.materials),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        sm = r["samples"] * r["months"]
        label = "one process" if mode == "local" else "LocalCluster, 2 workers x 1 thread"
        worker = (
            f", worker peak {r['worker_peak_rss_mb']:,.0f} MB" if r["worker_peak_rss_mb"] else ""
        )
        print(
            f"  {label:<36} wall {r['wall_s']:6.2f} s (simulation {r['simulate_s']:.2f} s, "
            f"{r['chunks']} chunks of {r['chunk_size']}); "
            f"{sm / r['wall_s']:,.0f} scenario-months/s = "
            f"{sm * r['materials'] / r['wall_s']:,.0f} scenario-material-months/s; "
            f"peak RSS {r['peak_rss_mb']:,.0f} MB{worker}"
        )
        if "wall_running_cluster_s" in r:
            w = r["wall_running_cluster_s"]
            print(
                f"  {'  same, cluster already running':<36} wall {w:6.2f} s; "
                f"{sm / w:,.0f} scenario-months/s = "
                f"{sm * r['materials'] / w:,.0f} scenario-material-months/s"
            )


if __name__ == "__main__":
    main()
