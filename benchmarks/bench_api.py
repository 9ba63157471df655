"""Benchmark: the REST API under load (loopback only, bounded in time).

Starts ``critmat serve`` (uvicorn, one process) in a subprocess on a free port of 127.0.0.1
over a temporary data directory, creates one viewer token per client, warms the server
(every distinct request once: the first computation of a result is reported separately as
the cold latency, and each token's first request, which verifies its argon2 hash), then
runs ``--clients`` concurrent clients (one keep-alive connection and one token each, closed
loop: the next request as soon as the answer arrived, but never more than ``--client-rate``
requests per second, 90 % of the server's per-token rate limit: clients that keep within
their limit) for ``--duration`` seconds on the indicator endpoints, with the server's
default rate limit (50 requests/s per token) in force. Prints p50/p95/p99 latency,
throughput and errors (any status other than 200, including 429, and any transport error)
next to the targets: p95 < 50 ms and 0 errors. (Without the ceiling, a fast server would
be measured by its rate limiter: 50 clients at more than 50 requests/s each get 429s.)

The load generator shares the machine's cores with the server, so it must cost little:

* ``python`` (always available, the default): asyncio streams speaking HTTP/1.1 directly
  (prepared request bytes, ``Content-Length`` framing), tens of microseconds per request;
* ``wrk`` (``--generator wrk``, if the ``wrk`` program is installed, e.g. ``apt-get install
  wrk``): the C load generator, with a Lua script giving each connection's requests the
  tokens in turn; wrk cannot hold a rate ceiling, so each connection waits ``1 /
  client-rate`` seconds between answer and next request (think time: a lighter load).

``--generator auto`` uses wrk when it is on the PATH, else the Python one; the output says
which ran. The CPU seconds of the server and of the generator over the run are
printed with the load average before and after: on a shared machine, compare those.

Usage::

    python benchmarks/bench_api.py [--clients 50] [--duration 60] [--generator auto]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

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


@dataclass
class Result:
    """What a load generator measured."""

    requests: int
    errors: int
    kinds: dict[str, int]
    p: list[float]  # p50, p95, p99 latency (ms) of the answered requests
    wall: float
    cpu: float  # CPU seconds of the generator


def _target(path: str, params: dict[str, str]) -> str:
    return path + ("?" + urlencode(params) if params else "")


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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------- python


async def _client(
    port: int,
    token: str,
    offset: int,
    stop: float,
    rate: float,
    lat: list[float],
    errors: list[str],
) -> None:
    """One closed-loop client on one keep-alive connection (reconnects after an error).

    A request starts when the previous answer arrived, but at least ``1 / rate`` seconds
    after the previous request started (``rate`` 0: no ceiling).
    """
    interval = 1.0 / rate if rate > 0 else 0.0
    due = 0.0
    head = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\nAccept: application/json"
    prepared = [
        (path, f"GET {_target(path, params)} HTTP/1.1\r\n{head}\r\n\r\n".encode())
        for path, params in REQUESTS
    ]
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    clock = time.perf_counter
    try:
        for path, raw in itertools.islice(itertools.cycle(prepared), offset, None):
            if interval:
                wait = due - clock()
                if wait > 0:
                    await asyncio.sleep(wait)
            if clock() >= stop:
                return
            t0 = clock()
            due = t0 + interval
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                assert reader is not None
                writer.write(raw)
                header = await reader.readuntil(b"\r\n\r\n")
                status = int(header[9:12])
                length = 0
                close = False
                for line in header.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection" and value.strip().lower() == b"close":
                        close = True
                if length:
                    await reader.readexactly(length)
                if close:
                    writer.close()
                    writer = None
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                errors.append(f"{type(exc).__name__} {path}")
                if writer is not None:
                    writer.close()
                writer = None
                continue
            if status == 200:
                lat.append(clock() - t0)
            else:
                errors.append(f"{status} {path}")
    finally:
        if writer is not None:
            writer.close()


async def _python_load(
    port: int, tokens: list[str], duration: float, rate: float
) -> tuple[list[float], list[str]]:
    lat: list[float] = []
    errors: list[str] = []
    stop = time.perf_counter() + duration
    await asyncio.gather(
        *(_client(port, t, i * 7, stop, rate, lat, errors) for i, t in enumerate(tokens))
    )
    return lat, errors


def run_python(port: int, tokens: list[str], duration: float, rate: float) -> Result:
    """The Python generator: latencies (ms), errors, requests, wall and CPU seconds."""
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    lat, errors = asyncio.run(_python_load(port, tokens, duration, rate))
    wall = time.perf_counter() - t0
    ms = np.array(lat) * 1e3
    pct = [float(np.percentile(ms, q)) for q in (50, 95, 99)] if len(ms) else [0.0] * 3
    kinds: dict[str, int] = {}
    for e in errors:
        kinds[e] = kinds.get(e, 0) + 1
    return Result(len(ms) + len(errors), len(errors), kinds, pct, wall, time.process_time() - cpu0)


# ----------------------------------------------------------------------------- wrk

_WRK_LUA = """
local tokens = {TOKENS}
local targets = {TARGETS}
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  local mine = {}
  for i, t in ipairs(tokens) do
    if (i - 1) % {NTHREADS} == id then table.insert(mine, t) end
  end
  if #mine == 0 then mine = tokens end
  requests = {}
  for i, t in ipairs(mine) do
    for j, target in ipairs(targets) do
      local k = ((i * 7 + j) % #targets) + 1
      table.insert(requests, wrk.format("GET", targets[k],
        {["Authorization"] = "Bearer " .. t, ["Accept"] = "application/json"}))
    end
  end
end
function delay()
  return {DELAY_MS}
end
function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50": %d, "p95": %d, "p99": %d, '
    .. '"status": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def run_wrk(
    wrk: str, port: int, tokens: list[str], duration: float, rate: float, tmp: Path
) -> Result:
    """The wrk generator (2 threads, one connection per client, closed loop, think time)."""
    threads = max(1, min(2, len(tokens)))
    lua = (
        _WRK_LUA.replace("{TOKENS}", "{" + ",".join(json.dumps(t) for t in tokens) + "}")
        .replace("{TARGETS}", "{" + ",".join(json.dumps(_target(*r)) for r in REQUESTS) + "}")
        .replace("{NTHREADS}", str(threads))
        .replace("{DELAY_MS}", str(round(1000 / rate)) if rate > 0 else "0")
    )
    script = tmp / "bench_api.lua"
    script.write_text(lua)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{len(tokens)}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}")
    res = json.loads(line[len("WRKJSON ") :])
    kinds = {k: int(res[k]) for k in ("status", "connect", "read", "write", "timeout") if res[k]}
    return Result(
        requests=int(res["requests"]),
        errors=sum(kinds.values()),
        kinds={("non-200 status" if k == "status" else k): v for k, v in kinds.items()},
        p=[res[k] / 1e3 for k in ("p50", "p95", "p99")],
        wall=res["duration_us"] / 1e6 or wall,
        cpu=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    )


# ----------------------------------------------------------------------------- main


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    ap.add_argument(
        "--generator",
        choices=("auto", "python", "wrk"),
        default="python",
        help="load generator: the built-in Python one (default), wrk, or auto (wrk if "
        "installed, else Python)",
    )
    ap.add_argument(
        "--client-rate",
        type=float,
        default=None,
        help="most requests per second of one client (default 90 %% of the server's "
        "per-token rate limit; 0: no ceiling, the rate limiter then answers 429)",
    )
    args = ap.parse_args()
    from critmat.params import PARAMS

    limit = float(PARAMS["rate_limit"].default)
    rate = 0.9 * limit if args.client_rate is None else float(args.client_rate)
    if args.clients < 1 or not 0 < args.duration <= 3600:
        raise SystemExit("--clients must be at least 1 and --duration between 0 and 3600 s")
    wrk = shutil.which("wrk")
    if args.generator == "wrk" and wrk is None:
        raise SystemExit("--generator wrk: the wrk program is not installed (apt-get install wrk)")
    generator = "wrk" if (args.generator == "auto" and wrk) else args.generator
    generator = "python" if generator == "auto" else generator
    from critmat.api.auth import TokenStore

    print(f"load average before: {_load()}")
    with tempfile.TemporaryDirectory(prefix="critmat-bench-api-") as tmp:
        data_dir = Path(tmp) / "data"
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
            pace = (
                f"{'think time' if generator == 'wrk' else 'at most'} "
                + (f"{1000 / rate:.0f} ms" if generator == "wrk" else f"{rate:g} requests/s")
                + f" per client (server limit {limit:g}/s per token)"
                if rate > 0
                else f"no ceiling per client (server limit {limit:g}/s per token)"
            )
            print(
                f"load generator: {generator}"
                + (f" ({wrk})" if generator == "wrk" else "")
                + f"; {pace}"
            )
            server_cpu0 = _cpu_seconds(proc.pid)
            if generator == "wrk":
                assert wrk is not None
                res = run_wrk(wrk, port, tokens, args.duration, rate, Path(tmp))
            else:
                res = run_python(port, tokens, args.duration, rate)
            server_cpu = _cpu_seconds(proc.pid) - server_cpu0
            alive = proc.poll() is None
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    n, wall, errors = res.requests, res.wall, res.errors
    p50, p95, p99 = res.p
    print(f"{args.clients} clients x {args.duration:.0f} s: {n:,} requests, {n / wall:,.0f} req/s")
    print(
        f"latency p50 {p50:.1f} ms, p95 {p95:.1f} ms (target < {TARGET_P95_MS:.0f} ms: "
        f"{'met' if p95 < TARGET_P95_MS else 'NOT met'}), p99 {p99:.1f} ms"
    )
    kinds = res.kinds
    print(
        f"errors: {errors} (target 0: {'met' if not errors else 'NOT met'})"
        + (f" {dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:5])}" if errors else "")
    )
    per = f", {server_cpu / n * 1e3:.2f} ms per request" if n else ""
    print(
        f"CPU over the run: server {server_cpu:.1f} s{per}; "
        f"load generator ({generator}) {res.cpu:.1f} s"
    )
    print(f"server alive after the run: {alive}")
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
