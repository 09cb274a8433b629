"""Live-update latency: ingest request sent → point received on a websocket (issue 4).

50 simulated runs each log 20 points/s, batched like the SDK (one request every 0.1 s), for
60 s, while 10 websocket subscribers watch them; prints p50/p99/max latency for one worker on
SQLite and for two workers on PostgreSQL (a temporary database, dropped afterwards).

Latency is measured from just before the ingest request is sent (its points carry that time
as their `times` value) to the subscriber parsing the message: it includes the HTTP request,
the database commit, the coalescing window, NOTIFY between workers and the websocket.
The load generator and the subscribers run in two separate processes on the same machine.

    python bench/live_latency.py                      # both backends, 60 s each
    python bench/live_latency.py --duration 10 --backend sqlite
    python bench/live_latency.py --watch 50           # every subscriber watches every run

Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

PG_ADMIN_URL = os.environ.get("FITWATCH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(database_url: str, workers: int):  # type: ignore[no-untyped-def]
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fitwatch.cli", "server", "--host", "127.0.0.1", "--port", str(port),
         "--database-url", database_url, "--workers", str(workers)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/api/v1/projects", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start (exit code {process.poll()})")
        time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def temp_postgres(synchronous_commit: str = "on"):  # type: ignore[no-untyped-def]
    import psycopg

    name = f"fitwatch_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        if synchronous_commit != "on":
            # Trades the last few hundred ms of commits on a PostgreSQL crash for not waiting
            # on the WAL flush per ingest; a deployment choice, measured here.
            admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = {synchronous_commit}')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- subscriber process ---------------------------------------------------------------


async def _subscribe_and_measure(
    url: str, watch: list[list[str]], ready: Any, stop_at: Any, results: Any
) -> None:
    import websockets

    latencies: list[float] = []
    arrivals: list[tuple[str, int, float]] = []  # (run_id, step, received at)
    counts = {"messages": 0, "resyncs": 0}

    async def one(runs: list[str]) -> None:
        ws_url = url.replace("http://", "ws://") + "/api/v1/live"
        async with websockets.connect(ws_url, max_queue=None, max_size=None) as ws:
            await ws.send(json.dumps({"type": "subscribe", "runs": runs}))
            async for raw in ws:
                now = time.time()
                message = json.loads(raw)
                counts["messages"] += 1
                kind = message["type"]
                if kind == "subscribed":
                    ready.release()
                elif kind == "points":
                    latencies.extend(now - t for t in message["times"])
                    arrivals.extend((message["run_id"], s, now) for s in message["steps"])
                elif kind == "resync":
                    counts["resyncs"] += 1
                if stop_at.value and now > stop_at.value:
                    return

    tasks = [asyncio.create_task(one(runs)) for runs in watch]
    while not (stop_at.value and time.time() > stop_at.value):
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # let the last messages arrive
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    results.put({"latencies": latencies, "arrivals": arrivals, **counts})


def subscriber_main(url: str, watch: list[list[str]], ready: Any, stop_at: Any, results: Any) -> None:
    asyncio.run(_subscribe_and_measure(url, watch, ready, stop_at, results))


# --- load process -----------------------------------------------------------------------


class _HttpConnection:
    """A minimal keep-alive HTTP/1.1 client for the load side.

    httpx costs about a millisecond of CPU per request; 500 requests/s of it took most of a
    core on this 2-CPU machine, stolen from the server being measured. The real SDKs run on
    other machines, so the simulated ones here should cost as little as possible."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post_json(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])


async def _log_points(url: str, run_ids: list[str], rate: float, flush_s: float, duration: float, results: Any) -> None:
    per_request = max(1, round(rate * flush_s))
    request_times: list[float] = []
    answered: dict[tuple[str, int], float] = {}  # (run_id, first step) -> response received at
    errors = 0
    host, port = url.removeprefix("http://").split(":")
    end = time.monotonic() + duration

    async def one(run_id: str, offset: float) -> None:
        nonlocal errors
        connection = _HttpConnection(host, int(port))  # one keep-alive connection per run, like an SDK
        await asyncio.sleep(offset)  # spread the runs over one flush interval
        step = 0
        next_at = time.monotonic()
        while time.monotonic() < end:
            sent = time.time()
            body = {"series": [{
                "key": "loss", "scope": "batch",
                "steps": list(range(step, step + per_request)),
                "values": [1.0 / (1 + s) for s in range(step, step + per_request)],
                "times": [sent] * per_request, "epochs": [0] * per_request,
            }]}
            started = time.perf_counter()
            status = await connection.post_json(f"/api/v1/runs/{run_id}/points", json.dumps(body).encode())
            request_times.append(time.perf_counter() - started)
            answered[(run_id, step)] = time.time()
            if status != 200:
                errors += 1
            step += per_request
            next_at += flush_s
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    await asyncio.gather(*(one(r, i * flush_s / len(run_ids)) for i, r in enumerate(run_ids)))
    results.put({"request_times": request_times, "answered": answered, "errors": errors})


def load_main(url: str, run_ids: list[str], rate: float, flush_s: float, duration: float, results: Any) -> None:
    asyncio.run(_log_points(url, run_ids, rate, flush_s, duration, results))


# --- one scenario -----------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def keepalive_probe(url: str, requests: int = 300) -> list[float]:
    """Sequential GETs of a tiny endpoint on one keep-alive connection: about 1 ms each, or
    about 40 ms each when accepted sockets lack TCP_NODELAY (the uvicorn --workers trap in
    docs/scale.md). No database work, so the figure isolates the network path."""
    with httpx.Client(base_url=url) as client:
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get("/api/v1/live/status").raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return times


def scenario(label: str, url: str, args: argparse.Namespace) -> None:
    probe = keepalive_probe(url)
    with httpx.Client(base_url=url) as client:
        run_ids = [
            client.post("/api/v1/runs", json={"project": "bench", "name": f"run-{i}"}).json()["id"]
            for i in range(args.runs)
        ]
    watch = [
        [run_ids[(s * args.watch + k) % len(run_ids)] for k in range(args.watch)]
        for s in range(args.subscribers)
    ]
    ctx = mp.get_context("spawn")
    ready = ctx.Semaphore(0)
    stop_at = ctx.Value("d", 0.0)
    sub_results, load_results = ctx.Queue(), ctx.Queue()
    subscriber = ctx.Process(target=subscriber_main, args=(url, watch, ready, stop_at, sub_results))
    subscriber.start()
    for _ in watch:
        if not ready.acquire(timeout=60):
            raise RuntimeError("a subscriber did not get its 'subscribed' reply")
    stop_at.value = time.time() + args.duration + 2.0
    load = ctx.Process(target=load_main, args=(url, run_ids, args.rate, args.flush_interval, args.duration, load_results))
    load.start()
    loaded = load_results.get(timeout=args.duration + 120)
    measured = sub_results.get(timeout=args.duration + 120)
    load.join()
    subscriber.join()

    ms = [x * 1000 for x in measured["latencies"]]
    req = [x * 1000 for x in loaded["request_times"]]
    points_sent = len(req) * max(1, round(args.rate * args.flush_interval))
    print(f"\n{label}")
    print(f"  idle keep-alive GET /api/v1/live/status (TCP_NODELAY check): p50 {percentile(probe, 0.5):.1f} ms, "
          f"p99 {percentile(probe, 0.99):.1f} ms")
    print(f"  ingest: {len(req)} requests ({len(req) / args.duration:.0f}/s), {points_sent} points, "
          f"{loaded['errors']} errors; request p50 {percentile(req, 0.5):.1f} ms, "
          f"p99 {percentile(req, 0.99):.1f} ms")
    print(f"  received: {len(ms)} point deliveries over {measured['messages']} messages, "
          f"{measured['resyncs']} resyncs (expected deliveries: {points_sent * args.subscribers * args.watch // args.runs})")
    if ms:
        print(f"  latency send→receive: p50 {percentile(ms, 0.5):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
              f"max {max(ms):.1f} ms, mean {statistics.fmean(ms):.1f} ms")
        # The live path alone: from the ingest response reaching the SDK to the point reaching
        # the browser (negative: the point arrived before the HTTP response did).
        per_request = max(1, round(args.rate * args.flush_interval))
        after = [
            (received - loaded["answered"][(run_id, step - step % per_request)]) * 1000
            for run_id, step, received in measured["arrivals"]
            if (run_id, step - step % per_request) in loaded["answered"]
        ]
        print(f"  latency response→receive (live path only): p50 {percentile(after, 0.5):.1f} ms, "
              f"p99 {percentile(after, 0.99):.1f} ms, max {max(after):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of logging per scenario (default 60)")
    parser.add_argument("--runs", type=int, default=50, help="concurrent simulated runs (default 50)")
    parser.add_argument("--rate", type=float, default=20.0, help="points per second per run (default 20)")
    parser.add_argument("--flush-interval", type=float, default=0.1, help="seconds between a run's requests (SDK default 0.1)")
    parser.add_argument("--subscribers", type=int, default=10, help="websocket subscribers (default 10)")
    parser.add_argument("--watch", type=int, default=5, help="runs each subscriber watches (default 5: every run watched once)")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-workers", type=int, default=2, help="workers for the PostgreSQL scenario (default 2)")
    parser.add_argument("--pg-synchronous-commit", choices=["on", "off"], default="on",
                        help="synchronous_commit of the temporary database (default on, PostgreSQL's default)")
    args = parser.parse_args()
    print(f"live latency: {args.runs} runs x {args.rate:g} points/s (a request every {args.flush_interval:g} s), "
          f"{args.subscribers} subscribers watching {args.watch} runs each, {args.duration:g} s; "
          f"{os.cpu_count()} CPUs")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp, server(f"sqlite:///{Path(tmp) / 'bench.db'}", 1) as url:
            scenario("SQLite, 1 worker", url, args)
    if args.backend in ("postgres", "both"):
        with temp_postgres(args.pg_synchronous_commit) as pg_url, server(pg_url, args.pg_workers) as url:
            scenario(f"PostgreSQL, {args.pg_workers} workers, synchronous_commit={args.pg_synchronous_commit}", url, args)


if __name__ == "__main__":
    main()
