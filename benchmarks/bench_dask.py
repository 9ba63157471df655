"""Benchmark: when a Dask LocalCluster pays back for the scenario ensemble, and how it scales.

Two parts, on the ensemble of ``bench_scenarios.py`` (a China and a Russian cut of every
material with stocks, partners, substitution, recycling, restraint and two defence
systems; seed 1):

1. **Pay-back**: ensembles of growing size run in this process and on a 2-worker
   LocalCluster (one thread per worker process), both with the cluster already running
   and counting its start-up (as ``run(..., dask="local")`` does). Prints each time next
   to the one-process time as a ratio, and the smallest size at which the cluster wins.
2. **Scaling**: 100,000 and 1,000,000 scenarios on 1, 2, 3 and 4 local workers (one
   thread each), each in a fresh process, with the speed-up over one process, the
   efficiency per core of this machine, the client's peak memory and the largest worker
   peak (workers hold one chunk and one block's totals, whatever the ensemble size).

To keep the whole script within a few minutes on a 2-core machine, the scaling part
simulates fewer materials and months by default (``--scaling-materials 8
--scaling-months 36``, about 14x less work per scenario than 34 x 120); ``--scaling-materials
34 --scaling-months 120`` runs the full model (about half an hour on 2 cores).

Usage::

    python benchmarks/bench_dask.py [--only payback|scaling] [--max-workers 4]
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

from bench_scenarios import build_spec

PAYBACK_SIZES = (500, 1_000, 2_000, 5_000, 10_000, 20_000)
SCALING_SIZES = (100_000, 1_000_000)


def _vm_hwm_mb() -> float:
    """Peak resident memory of this process (MB), from /proc (Linux)."""
    with open("/proc/self/status", encoding="ascii") as fh:  # noqa: PTH123
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _cluster(workers: int) -> tuple[Any, Any, float]:
    """A LocalCluster as critmat starts one (1 thread per worker process), and its start-up."""
    import dask
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=50,
        )
    client = Client(cluster)
    client.submit(sum, [1, 2]).result()
    startup = time.perf_counter() - t0
    # a running cluster has critmat imported on its workers (about a second per worker)
    client.run(_warm)
    return cluster, client, startup


def _warm() -> None:
    import critmat.scenarios.runner  # noqa: F401


def payback(args: argparse.Namespace) -> None:
    """One process vs a 2-worker LocalCluster over ensemble sizes."""
    import critmat
    from critmat.scenarios.plan import validate
    from critmat.scenarios.runner import run

    kb = critmat.load(user_data=False)
    print(
        f"== pay-back: one process vs LocalCluster (2 workers x 1 thread), "
        f"{args.materials} materials x {args.months} months"
    )
    cluster, client, startup = _cluster(2)
    # start-up and shut-down of a cluster, as run(dask="local") pays it every call
    t0 = time.perf_counter()
    c2, cl2, _ = _cluster(2)
    cl2.close()
    c2.close()
    own = time.perf_counter() - t0
    print(f"  cluster start-up + shut-down: {own:.2f} s (first start {startup:.2f} s)")
    found_running = found_own = None
    try:
        for n in PAYBACK_SIZES:
            spec = build_spec(kb, args.materials, args.months, n)
            plan = validate(kb, spec)
            plan.inputs()
            t = time.perf_counter()
            local = run(plan, kb)
            t_local = time.perf_counter() - t
            t = time.perf_counter()
            remote = run(plan, kb, dask=client)
            t_dask = time.perf_counter() - t
            assert remote.summary.equals(local.summary)
            t_own = t_dask + own
            print(
                f"  {n:>7,} scenarios: one process {t_local:6.2f} s; cluster running "
                f"{t_dask:6.2f} s ({t_local / t_dask:4.2f}x); started for the run "
                f"{t_own:6.2f} s ({t_local / t_own:4.2f}x)"
            )
            if found_running is None and t_dask < t_local:
                found_running = n
            if found_own is None and t_own < t_local:
                found_own = n
    finally:
        client.close()
        cluster.close()
    print(
        "  the 2-worker cluster beats one process from "
        + (f"{found_running:,} scenarios" if found_running else "no size measured")
        + " when it is already running, from "
        + (f"{found_own:,} scenarios" if found_own else "no size measured")
        + " when started for the run"
        + f" (sizes measured up to {PAYBACK_SIZES[-1]:,})"
    )


def child(workers: int, samples: int, materials: int, months: int) -> dict[str, Any]:
    """One scaling measurement in a fresh process: 0 workers = this process."""
    import critmat
    from critmat.scenarios.plan import validate
    from critmat.scenarios.runner import run

    kb = critmat.load(user_data=False)
    plan = validate(kb, build_spec(kb, materials, months, samples))
    plan.inputs()
    out: dict[str, Any] = {"workers": workers, "samples": samples}
    if workers == 0:
        t = time.perf_counter()
        res = run(plan, kb)
        out["wall_s"] = time.perf_counter() - t
        out["worker_peak_mb"] = None
    else:
        cluster, client, startup = _cluster(workers)
        try:
            t = time.perf_counter()
            res = run(plan, kb, dask=client)
            out["wall_s"] = time.perf_counter() - t
            out["startup_s"] = startup
            out["worker_peak_mb"] = max(client.run(_vm_hwm_mb).values())
            out["tasks_scenarios"] = res.meta.get("task_scenarios")
        finally:
            client.close()
            cluster.close()
    out["client_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["p_shortfall_max"] = float(res.summary["p_shortfall"].max())
    return out


def scaling(args: argparse.Namespace) -> None:
    """100k and 1M scenarios on 1..max workers, each in a fresh process."""
    cores = os.cpu_count() or 1
    print(
        f"== scaling: {args.scaling_materials} materials x {args.scaling_months} months, "
        f"1 thread per worker process, {cores} cores on this machine"
    )
    for n in SCALING_SIZES:
        base = None
        for workers in range(args.max_workers + 1):
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    str(workers),
                    str(n),
                    str(args.scaling_materials),
                    str(args.scaling_months),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            if base is None:
                base = r["wall_s"]
                print(
                    f"  {n:>9,} scenarios, one process: {r['wall_s']:7.2f} s "
                    f"({n / r['wall_s']:,.0f} scenarios/s), peak {r['client_peak_mb']:,.0f} MB"
                )
                continue
            speedup = base / r["wall_s"]
            ideal = min(workers, cores)
            print(
                f"  {n:>9,} scenarios, {workers} workers: {r['wall_s']:7.2f} s, speed-up "
                f"{speedup:4.2f}x over one process (ideal on {cores} cores: {ideal}x, "
                f"efficiency {speedup / ideal:4.0%}); client peak "
                f"{r['client_peak_mb']:,.0f} MB, largest worker peak "
                f"{r['worker_peak_mb']:,.0f} MB; tasks of {r['tasks_scenarios']:,} "
                f"scenarios; cluster start {r['startup_s']:.1f} s (not in the time)"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["payback", "scaling"], default=None)
    ap.add_argument("--materials", type=int, default=34, help="pay-back part")
    ap.add_argument("--months", type=int, default=120, help="pay-back part")
    ap.add_argument("--scaling-materials", type=int, default=8)
    ap.add_argument("--scaling-months", type=int, default=36)
    ap.add_argument("--max-workers", type=int, default=4)
    ap.add_argument("--child", nargs=4, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} (other processes share the {os.cpu_count()} cores)")
    if args.only in (None, "payback"):
        payback(args)
    if args.only in (None, "scaling"):
        scaling(args)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
