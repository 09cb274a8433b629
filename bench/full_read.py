"""A full read of a 100k-point series over HTTP (issue 8: goal <= 150 ms), against plain sqlite3.

Starts `fitwatch server` (one worker, SQLite), stores one run with a 100,000-point batch
series through the API, then reads it whole (`GET /api/v1/runs/{id}/series/{key}` without
max_points) a few times. Prints, per read, the server's CPU (Linux /proc: it survives a
loaded machine) and the wall time; and, in the same run on the same database file, the
floor: plain sqlite3 fetching the same rows (fetchall), and fetchall plus the columns
encoded as JSON with orjson (what any server must at least do).

    python bench/full_read.py [--points 100000] [--reads 10]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.small_requests import cpu_seconds, start  # noqa: E402
from tests.helpers.server import free_port  # noqa: E402

BATCH = 10_000
ROWS_SQL = (
    "SELECT step, value, wall_time, epoch FROM points WHERE series_id = "
    "(SELECT id FROM series WHERE run_id = ? AND key = ? AND scope = 'batch') ORDER BY step"
)


def fill(client: httpx.Client, run_id: str, points: int) -> None:
    for first in range(0, points, BATCH):
        steps = list(range(first, min(first + BATCH, points)))
        body = {
            "series": [
                {
                    "key": "loss",
                    "scope": "batch",
                    "steps": steps,
                    "values": [1.0 / (s + 1) for s in steps],
                    "times": [1_700_000_000 + s * 0.01 for s in steps],
                }
            ]
        }
        client.post(f"/api/v1/runs/{run_id}/points", json=body, timeout=60).raise_for_status()


def floor(database: Path, run_id: str, reads: int) -> tuple[float, float]:
    """CPU ms of (fetchall, fetchall + columns + orjson) with plain sqlite3, median of `reads`."""
    fetch, encode = [], []
    # As `fitwatch server` does (serve.freeze_gc): long-lived objects out of the collector's way.
    gc.collect()
    gc.freeze()
    connection = sqlite3.connect(database)
    try:
        for _ in range(reads):
            began = time.process_time()
            rows = connection.execute(ROWS_SQL, (run_id, "loss")).fetchall()
            fetched = time.process_time()
            steps, values, times, epochs = (list(c) for c in zip(*rows, strict=True))
            orjson.dumps({"steps": steps, "values": values, "times": times, "epochs": epochs})
            done = time.process_time()
            fetch.append((fetched - began) * 1000)
            encode.append((done - began) * 1000)
    finally:
        connection.close()
    return statistics.median(fetch), statistics.median(encode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fitwatch-full-read-"))
    database = tmp / "fitwatch.db"
    port = free_port()
    server = start(
        [
            sys.executable,
            "-m",
            "fitwatch.cli",
            "server",
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{database}",
        ],
        port,
        tmp / "fitwatch.log",
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            client.post(
                "/api/v1/runs", json={"project": "bench", "id": "full-read"}
            ).raise_for_status()
            fill(client, "full-read", args.points)
            path = "/api/v1/runs/full-read/series/loss"
            client.get(path, params={"scope": "batch"}).raise_for_status()  # warm the caches
            cpu, wall = [], []
            for _ in range(args.reads):
                before, began = cpu_seconds(server), time.perf_counter()
                answer = client.get(path, params={"scope": "batch"}, timeout=60)
                wall.append((time.perf_counter() - began) * 1000)
                cpu.append((cpu_seconds(server) - before) * 1000)
                answer.raise_for_status()
            body = answer.json()
        assert len(body["steps"]) == args.points and body["downsampled"] is False
        fetch_ms, encode_ms = floor(database, "full-read", args.reads)
        load = os.getloadavg()[0]
        print(
            f"full read of {args.points} points over HTTP: server CPU median {statistics.median(cpu):.0f} ms "
            f"(min {min(cpu):.0f}), wall median {statistics.median(wall):.0f} ms (min {min(wall):.0f}; "
            f"load average {load:.1f}); goal <= 150 ms; {len(answer.content) / 1e6:.1f} MB of JSON"
        )
        print(
            f"floor, plain sqlite3 on the same file: fetchall {fetch_ms:.0f} ms CPU; "
            f"fetchall + columns + orjson {encode_ms:.0f} ms CPU"
        )
        print(
            f"fitwatch / floor (fetchall + orjson): {statistics.median(cpu) / encode_ms:.1f}x "
            "(the server's CPU figure has a /proc tick of 10 ms)"
        )
    finally:
        server.terminate()
        server.wait(15)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
