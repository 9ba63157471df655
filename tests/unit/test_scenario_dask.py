"""The same ensemble locally and on Dask gives identical results (same seed).

One small 2-worker LocalCluster (processes, one thread each) for the module; closed after.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from critmat.knowledge_base import KnowledgeBase
from critmat.scenarios.runner import DaskError, run

SPEC = {
    "scenario": {
        "name": "ga-ge-w",
        "horizon_months": 36,
        "shocks": [
            {
                "exporter": "CHN",
                "material": ["gallium", "germanium", "tungsten"],
                "onset": {"dist": "uniform", "low": 0, "high": 6},
                "duration": {"dist": "lognormal", "median": 12, "sigma": 0.5, "high": 36},
                "severity": {"dist": "uniform", "low": 0.5, "high": 1},
            }
        ],
        "mitigations": {
            "stocks": [{"initial_months": 2, "release_cap": 0.5}],
            "substitution": [{"material": "all", "max_share": 0.1, "lead_time": 3, "ramp": 6}],
        },
    },
    "samples": 120,
    "seed": 42,
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as c:
        yield c


def _same(a: object, b: object) -> None:
    for name in ("summary", "monthly", "outcomes", "draws"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    for key in a.arrays:  # type: ignore[attr-defined]
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])  # type: ignore[attr-defined]


def test_local_equals_existing_cluster(kb: KnowledgeBase, cluster: object) -> None:
    local = run(SPEC, kb, chunk_size=25, keep_arrays=True)
    remote = run(SPEC, kb, chunk_size=25, keep_arrays=True, dask=cluster.scheduler_address)  # type: ignore[attr-defined]
    assert remote.meta["engine"] == "dask (existing cluster)" and remote.meta["chunks"] == 5
    assert remote.meta["dask_workers"] == 2
    _same(local, remote)
    # chunking does not change results either
    _same(local, run(SPEC, kb, chunk_size=7, keep_arrays=True))


def test_sketch_regime_local_equals_cluster(kb: KnowledgeBase, cluster: object) -> None:
    # monthly statistics from the mergeable sketch: tasks return totals and a compact
    # sketch, merged in completion order; the result equals the local one bit for bit
    local = run(SPEC, kb, samples=400, chunk_size=30, exact_monthly_mb=0)
    remote = run(
        SPEC,
        kb,
        samples=400,
        chunk_size=30,
        exact_monthly_mb=0,
        dask=cluster.scheduler_address,  # type: ignore[attr-defined]
    )
    assert remote.meta["statistics"]["monthly"] == "histogram"
    assert remote.meta["task_scenarios"] % 30 == 0
    for name in ("summary", "monthly", "outcomes", "draws", "systems"):
        pd.testing.assert_frame_equal(getattr(local, name), getattr(remote, name), check_exact=True)


def test_local_cluster_mode(kb: KnowledgeBase) -> None:
    local = run(SPEC, kb, samples=40, keep_arrays=True)
    own = run(SPEC, kb, samples=40, keep_arrays=True, dask="local", workers=2)
    assert own.meta["engine"] == "dask LocalCluster"
    _same(local, own)


def test_bad_address() -> None:
    with pytest.raises(DaskError, match="expected 'local'"):
        run(SPEC, None, dask="localhost:8786")  # type: ignore[arg-type]
