"""Benchmark: the REST API under load (loopback only, bounded in time).

Starts ``critmat serve`` (uvicorn, one process) in a subprocess on a free port of 127.0.0.1
over a temporary data directory, creates one viewer token per client, warms the server
(every distinct request once: the first computation of a result is reported separately as
the cold latency), then runs ``--clients`` concurrent clients (asyncio + httpx, one
connection and one token each, closed loop: the next request as soon as the answer arrived)
for ``--duration`` seconds on the indicator endpoints, with the server's default rate limit
(50 requests/s per token) in force. Prints p50/p95/p99 latency, throughput and errors (any
status other than 200, including 429, and any transport error) next to the targets:
p95 < 50 ms and 0 errors.

The clients run on the same machine as the server and share its cores; the load average is
printed before and after.

Usage::

    python benchmarks/bench_api.py [--clients 50] [--duration 60]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

TARGET_P95_MS = 50.0

MATERIALS = (
    "gallium",
    "germanium",
    "cobalt",
    "lithium",
    "tungsten",
    "graphite",
    "rare_earths",
    "titanium_metal",
    "antimony",
    "magnesium",
)
#: (path, parameters) of the requests; each client cycles through them from its own offset
REQUESTS: list[tuple[str, dict[str, str]]] = [
    *[("/indicators/concentration", {"materials": m}) for m in MATERIALS],
    *[("/indicators/dependency", {"materials": m, "years": "2020-2022"}) for m in MATERIALS],
    *[
        ("/indicators/geopolrisk", {"materials": m, "importers": "EU27", "years": "2022"})
        for m in MATERIALS
    ],
    ("/indicators/net-import-reliance", {"materials": ",".join(MATERIALS[:5])}),
    ("/indicators/eu-supply-risk", {"materials": ",".join(MATERIALS[:5])}),
    ("/indicators/criticality", {}),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "critmat",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("critmat serve did not start within 90 s")


async def _client(
    url: str, token: str, offset: int, stop: float, lat: list[float], errors: list[str]
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as c:
        for path, params in itertools.islice(itertools.cycle(REQUESTS), offset, None):
            if time.perf_counter() >= stop:
                return
            t0 = time.perf_counter()
            try:
                r = await c.get(path, params=params)
                ok = r.status_code == 200
                if not ok:
                    errors.append(f"{r.status_code} {path}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__} {path}")
                ok = False
            if ok:
                lat.append(time.perf_counter() - t0)


async def _load(url: str, tokens: list[str], duration: float) -> tuple[list[float], list[str]]:
    lat: list[float] = []
    errors: list[str] = []
    stop = time.perf_counter() + duration
    await asyncio.gather(*(_client(url, t, i * 7, stop, lat, errors) for i, t in enumerate(tokens)))
    return lat, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--duration", type=float, default=60.0)
    args = ap.parse_args()
    from critmat.api.auth import TokenStore

    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory(prefix="critmat-bench-api-") as tmp:
        data_dir = Path(tmp)
        store = TokenStore(data_dir)
        tokens = [store.add(f"client{i}", "viewer")[0] for i in range(args.clients)]
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        proc = _start(data_dir, port)
        try:
            cold: list[float] = []
            with httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=300
            ) as c:
                for path, params in REQUESTS:
                    t0 = time.perf_counter()
                    r = c.get(path, params=params)
                    cold.append(time.perf_counter() - t0)
                    if r.status_code != 200:
                        raise SystemExit(f"warm-up {path} {params}: {r.status_code} {r.text[:300]}")
                    time.sleep(0.02)  # stay within the rate limit of this token
            print(
                f"warm-up: {len(REQUESTS)} distinct requests, cold latency median "
                f"{np.median(cold) * 1e3:.0f} ms, max {max(cold) * 1e3:.0f} ms"
            )
            # each token's first request verifies its argon2 hash (memory-hard, tens of ms by
            # design); the server then remembers it: pay that once per client, outside the timing
            t_auth = time.perf_counter()
            for t in tokens:
                assert httpx.get(f"{url}/me", headers={"Authorization": f"Bearer {t}"}).is_success
            auth_ms = (time.perf_counter() - t_auth) / len(tokens) * 1e3
            print(f"first request of a token (argon2 verification): {auth_ms:.0f} ms on average")
            time.sleep(2.5)  # refill the warm-up token's bucket
            t0 = time.perf_counter()
            lat, errors = asyncio.run(_load(url, tokens, args.duration))
            wall = time.perf_counter() - t0
            alive = proc.poll() is None
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    ms = np.array(lat) * 1e3
    n = len(ms) + len(errors)
    p50, p95, p99 = (float(np.percentile(ms, q)) for q in (50, 95, 99)) if len(ms) else (0, 0, 0)
    print(f"{args.clients} clients x {args.duration:.0f} s: {n:,} requests, {n / wall:,.0f} req/s")
    print(
        f"latency p50 {p50:.1f} ms, p95 {p95:.1f} ms (target < {TARGET_P95_MS:.0f} ms: "
        f"{'met' if p95 < TARGET_P95_MS else 'NOT met'}), p99 {p99:.1f} ms"
    )
    kinds: dict[str, int] = {}
    for e in errors:
        kinds[e] = kinds.get(e, 0) + 1
    print(
        f"errors: {len(errors)} (target 0: {'met' if not errors else 'NOT met'})"
        + (f" {dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:5])}" if errors else "")
    )
    print(f"server alive after the run: {alive}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
