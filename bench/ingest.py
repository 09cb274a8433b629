"""Ingest and read speed of the REST API against plain sqlite3 on the same schema (issues 2, 8).

Prints, from one run on this machine:
- points/s stored through the REST API (one server process, SQLite, batches of 10,000
  points over 100 series), and points/s of plain `sqlite3` `executemany` of the same rows
  into the same file-backed schema (the floor cost of storing them); the ratio (goal >= 40%);
- bytes on disk per stored point (goal <= 40);
- points/s through the API in one-series batches of 1,000 points (MLflow's `log_batch`
  shape; goal >= 150,000);
- time to read one 1,000,000-point series downsampled to 2,000 points, server-side
  (goal < 100 ms), and the same request end to end over HTTP;
- time to read a 100,000-point series whole over HTTP (goal <= 150 ms);
- with `--postgres URL`: points/s through the API on SQLite and on PostgreSQL and of a plain
  psycopg binary `COPY` of the same rows into the same `points` table, interleaved batch by
  batch; PostgreSQL as a share of SQLite (goal >= 100%) and of the COPY floor (goal >= 60%,
  issue 13), with the CPU time per point of each (server process, PostgreSQL backends);
  `--postgres-only` runs just that comparison.

    python bench/ingest.py [--points 1000000] [--read-points 1000000] [--postgres URL [--postgres-only]]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.server import ServerProcess  # noqa: E402

SERIES_PER_BATCH = 100
POINTS_PER_BATCH = 10_000


def make_batches(total_points: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    per_series = POINTS_PER_BATCH // SERIES_PER_BATCH
    batches = []
    t0 = 1_700_000_000.0
    for b in range(total_points // POINTS_PER_BATCH):
        steps = list(range(b * per_series, (b + 1) * per_series))
        series = []
        for s in range(SERIES_PER_BATCH):
            values = rng.normal(1.0, 0.1, per_series).tolist()
            series.append(
                {
                    "key": f"metric_{s:03d}",
                    "scope": "batch",
                    "steps": steps,
                    "values": values,
                    "times": [t0 + step * 0.01 for step in steps],
                    "epochs": [step // 1000 for step in steps],
                }
            )
        batches.append({"series": series})
    return batches


def make_one_series_batches(total_points: int, per_batch: int = 1000) -> list[dict]:
    """Batches of one series, `per_batch` points each: the shape of MLflow's `log_batch`."""
    batches = []
    for b in range(total_points // per_batch):
        steps = list(range(b * per_batch, (b + 1) * per_batch))
        batches.append({"series": [{
            "key": "loss", "scope": "batch", "steps": steps,
            "values": [1.0 / (s + 1) for s in steps], "times": [1_700_000_000.0 + s * 0.01 for s in steps],
        }]})
    return batches


def points_in(batch: dict) -> int:
    return sum(len(series["steps"]) for series in batch["series"])


def db_path_of(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def bench_api(batches: list[dict], workdir: Path, url: str | None = None) -> tuple[float, Path]:
    url = url or f"sqlite:///{workdir / 'api.db'}"
    bodies = [json.dumps(b).encode() for b in batches]
    with ServerProcess(url, log_path=workdir / "server.log") as server, httpx.Client(
        base_url=server.url, timeout=60
    ) as client:
        run_id = client.post("/api/v1/runs", json={"project": "bench", "name": "ingest"}).json()["id"]
        headers = {"content-type": "application/json"}
        # Warm-up batch (creates the series) is not timed, and not counted.
        client.post(f"/api/v1/runs/{run_id}/points", content=bodies[0], headers=headers).raise_for_status()
        start = time.perf_counter()
        for body in bodies[1:]:
            client.post(f"/api/v1/runs/{run_id}/points", content=body, headers=headers).raise_for_status()
        elapsed = time.perf_counter() - start
    return sum(points_in(b) for b in batches[1:]) / elapsed, db_path_of(url)


def bench_plain_sqlite(batches: list[dict], schema_source: Path, workdir: Path) -> float:
    """Plain sqlite3 executemany of the same rows into an empty copy of the same schema."""
    path = workdir / "plain.db"
    source = sqlite3.connect(schema_source)
    ddl = [row[0] for row in source.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'points' AND type = 'table'")]
    source.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statement in ddl:
        conn.execute(statement)
    series_ids = {f"metric_{s:03d}": s + 1 for s in range(SERIES_PER_BATCH)}
    rows_per_batch = []
    for batch in batches[1:]:
        rows = []
        for series in batch["series"]:
            sid = series_ids[series["key"]]
            rows.extend(zip([sid] * len(series["steps"]), series["steps"], series["values"],
                            series["times"], series["epochs"], strict=True))
        rows_per_batch.append(rows)
    start = time.perf_counter()
    for rows in rows_per_batch:
        with conn:
            conn.executemany(
                "INSERT INTO points (series_id, step, value, wall_time, epoch) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
    elapsed = time.perf_counter() - start
    conn.close()
    return sum(len(r) for r in rows_per_batch) / elapsed


def _copy_rows(batch: dict, offset: int) -> list[tuple]:
    rows: list[tuple] = []
    for s, series in enumerate(batch["series"]):
        rows.extend(zip([offset + s] * len(series["steps"]), series["steps"], series["values"],
                        series["times"], series["epochs"], strict=True))
    return rows


def _cpu_s(pids: list[int], *, children: bool = False) -> float:
    """CPU seconds (user + system) used so far by these processes (and their children)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            process = psutil.Process(pid)
            family = [process, *(process.children(recursive=True) if children else [])]
            for member in family:
                times = member.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def bench_postgres_side_by_side(
    batches: list[dict], workdir: Path, database_url: str
) -> tuple[dict[str, float], dict[str, float]]:
    """points/s of the same batches, interleaved batch by batch so a noisy neighbour hits all
    three alike: through the API on SQLite, through the API on PostgreSQL, and a plain psycopg
    binary COPY of the same rows into the same PostgreSQL `points` table (the floor: one COPY
    and one commit per batch, rows as tuples, series ids far above the API's so they meet none
    of its rows; removed afterwards).

    Also CPU microseconds per point, which a loaded machine stretches far less than wall
    time: each server process (with its children), the PostgreSQL backends serving the
    PostgreSQL server, and for the floor this process's COPY work plus its own backend."""
    import psycopg

    offset = 1_000_000_000
    headers = {"content-type": "application/json"}
    bodies = [json.dumps(b).encode() for b in batches]
    rows = [_copy_rows(b, offset) for b in batches]
    elapsed = {"sqlite": 0.0, "postgres": 0.0, "copy": 0.0}
    plain_url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with (
        ServerProcess(f"sqlite:///{workdir / 'side.db'}", log_path=workdir / "side-sqlite.log") as lite,
        ServerProcess(database_url, log_path=workdir / "side-pg.log") as pg,
        httpx.Client(timeout=60) as client,
        psycopg.connect(plain_url) as conn,
    ):
        run_ids = {}
        for name, server in (("sqlite", lite), ("postgres", pg)):
            run_ids[name] = client.post(f"{server.url}/api/v1/runs", json={"project": "bench", "name": "side"}).json()["id"]
            # Warm-up batch (creates the series) is not timed, and not counted.
            client.post(f"{server.url}/api/v1/runs/{run_ids[name]}/points", content=bodies[0],
                        headers=headers).raise_for_status()
        own_backend = conn.info.backend_pid
        conn.commit()

        def api_backends() -> list[int]:
            found = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> %s",
                (own_backend,),
            ).fetchall()
            conn.commit()
            return [row[0] for row in found]

        backends = api_backends()
        servers = {"sqlite": [lite.process.pid], "postgres": [pg.process.pid]}
        cpu_before = {
            "sqlite": _cpu_s(servers["sqlite"], children=True),
            "postgres": _cpu_s(servers["postgres"], children=True),
            "postgres backends": _cpu_s(backends),
            "copy": _cpu_s([own_backend]),
        }
        copy_client_cpu = 0.0
        for body, batch_rows in zip(bodies[1:], rows[1:], strict=True):
            for name, server in (("sqlite", lite), ("postgres", pg)):
                start = time.perf_counter()
                client.post(f"{server.url}/api/v1/runs/{run_ids[name]}/points", content=body,
                            headers=headers).raise_for_status()
                elapsed[name] += time.perf_counter() - start
            start, start_cpu = time.perf_counter(), time.process_time()
            with conn.cursor() as cursor, cursor.copy(
                "COPY points (series_id, step, value, wall_time, epoch) FROM STDIN (FORMAT binary)"
            ) as copy:
                copy.set_types(["int4", "int8", "float8", "float8", "int4"])
                for row in batch_rows:
                    copy.write_row(row)
            conn.commit()
            elapsed["copy"] += time.perf_counter() - start
            copy_client_cpu += time.process_time() - start_cpu
        backends = sorted(set(backends) | set(api_backends()))
        cpu = {
            "sqlite": _cpu_s(servers["sqlite"], children=True) - cpu_before["sqlite"],
            "postgres": _cpu_s(servers["postgres"], children=True) - cpu_before["postgres"],
            "postgres backends": _cpu_s(backends) - cpu_before["postgres backends"],
            "copy": _cpu_s([own_backend]) - cpu_before["copy"] + copy_client_cpu,
        }
        conn.execute("DELETE FROM points WHERE series_id >= %s", (offset,))
        conn.commit()
    points = sum(points_in(b) for b in batches[1:])
    rates = {name: points / seconds for name, seconds in elapsed.items()}
    return rates, {name: seconds / points * 1e6 for name, seconds in cpu.items()}


def bytes_per_point(path: Path) -> float:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    count = conn.execute("SELECT count(*) FROM points").fetchone()[0]
    conn.close()
    return os.path.getsize(path) / count


def bench_read(workdir: Path, n_points: int) -> tuple[float, float, float]:
    """Server-side and end-to-end time of reading a long series downsampled to 2,000 points,
    and of reading a 100,000-point series whole over HTTP."""
    url = f"sqlite:///{workdir / 'read.db'}"
    from starlette.testclient import TestClient

    from fitwatch_server import Settings, create_app  # server-side timing, in process
    from fitwatch_server.db import session_scope
    from fitwatch_server.store.point_data import get_series, read_points

    rng = np.random.default_rng(1)
    app = create_app(Settings(database_url=url))
    with TestClient(app, base_url="http://localhost") as client:
        run_id = client.post("/api/v1/runs", json={"project": "bench", "name": "read"}).json()["id"]
        chunk = 100_000
        values = np.cumsum(rng.normal(0, 1, n_points))
        for start in range(0, n_points, chunk):
            steps = list(range(start, min(start + chunk, n_points)))
            body = {"series": [{"key": "loss", "scope": "batch", "steps": steps,
                                "values": values[start:start + len(steps)].tolist(),
                                "times": [1.7e9 + s for s in steps]}]}
            client.post(f"/api/v1/runs/{run_id}/points", json=body).raise_for_status()
        server_side = []
        for _ in range(7):
            started = time.perf_counter()
            with session_scope(app.state.sessionmaker) as session:
                series = get_series(session, run_id=run_id, key="loss", scope="batch")
                result = read_points(session, series=series, max_points=2000)
            server_side.append(time.perf_counter() - started)
        assert len(result.steps) <= 2100
        full_id = client.post("/api/v1/runs", json={"project": "bench", "name": "full"}).json()["id"]
        for start in range(0, 100_000, 10_000):
            steps = list(range(start, start + 10_000))
            body = {"series": [{"key": "loss", "scope": "batch", "steps": steps,
                                "values": values[start:start + 10_000].tolist(),
                                "times": [1.7e9 + s for s in steps], "epochs": [s // 1000 for s in steps]}]}
            client.post(f"/api/v1/runs/{full_id}/points", json=body).raise_for_status()
    with ServerProcess(url, log_path=workdir / "read-server.log") as server, httpx.Client(
        base_url=server.url, timeout=60
    ) as http:
        end_to_end, full = [], []
        for _ in range(7):
            started = time.perf_counter()
            http.get(f"/api/v1/runs/{run_id}/series/loss",
                     params={"scope": "batch", "max_points": 2000}).raise_for_status()
            end_to_end.append(time.perf_counter() - started)
            started = time.perf_counter()
            response = http.get(f"/api/v1/runs/{full_id}/series/loss", params={"scope": "batch"})
            full.append(time.perf_counter() - started)
            assert len(response.json()["steps"]) == 100_000
    return statistics.median(server_side), statistics.median(end_to_end), statistics.median(full)


def print_side_by_side(batches: list[dict], workdir: Path, database_url: str) -> None:
    rates, cpu = bench_postgres_side_by_side(batches, workdir, database_url)
    load = os.getloadavg()[0]
    print(f"side by side, batch by batch (same batches; load average {load:.1f} at the end):")
    print(f"  ingest via REST API on SQLite:     {rates['sqlite']:,.0f} points/s   "
          f"CPU {cpu['sqlite']:.2f} us/point (server process)")
    print(f"  ingest via REST API on PostgreSQL: {rates['postgres']:,.0f} points/s   "
          f"CPU {cpu['postgres']:.2f} us/point (server process) + {cpu['postgres backends']:.2f} "
          "(its PostgreSQL backends)")
    print(f"  plain psycopg binary COPY, same rows, same PostgreSQL table: {rates['copy']:,.0f} points/s   "
          f"CPU {cpu['copy']:.2f} us/point (client + backend)")
    print(f"  PostgreSQL API / SQLite API: {rates['postgres'] / rates['sqlite']:.0%}   (goal >= 100%)")
    print(f"  PostgreSQL API / plain COPY: {rates['postgres'] / rates['copy']:.0%}   (goal >= 60%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="points to ingest")
    parser.add_argument("--read-points", type=int, default=1_000_000, help="length of the read series")
    parser.add_argument("--postgres", help="also ingest into this (empty, scratch) PostgreSQL database URL")
    parser.add_argument("--postgres-only", action="store_true",
                        help="with --postgres: only the side-by-side PostgreSQL comparison")
    args = parser.parse_args()
    if args.postgres_only:
        if not args.postgres:
            parser.error("--postgres-only needs --postgres URL")
        with tempfile.TemporaryDirectory(prefix="fitwatch-bench-") as tmp:
            print_side_by_side(make_batches(args.points + POINTS_PER_BATCH), Path(tmp), args.postgres)
        return
    batches = make_batches(args.points + POINTS_PER_BATCH)
    with tempfile.TemporaryDirectory(prefix="fitwatch-bench-") as tmp:
        workdir = Path(tmp)
        api_rate, api_db = bench_api(batches, workdir)
        plain_rate = bench_plain_sqlite(batches, api_db, workdir)
        print(f"ingest via REST API (1 server, SQLite, 10k points x 100 series per request): {api_rate:,.0f} points/s")
        print(f"plain sqlite3 executemany, same rows, same schema:                          {plain_rate:,.0f} points/s")
        print(f"API / plain sqlite3: {api_rate / plain_rate:.0%}   (goal >= 40%)")
        print(f"bytes on disk per stored point (API database, after VACUUM): {bytes_per_point(api_db):.1f}   (goal <= 40)")
        one_rate, _ = bench_api(make_one_series_batches(args.points // 4 + 1000), workdir,
                                f"sqlite:///{workdir / 'one.db'}")
        print(f"ingest via REST API, one series, 1,000 points per request:                    {one_rate:,.0f} points/s   (goal >= 150,000)")
        if args.postgres:
            print_side_by_side(batches, workdir, args.postgres)
        server_s, e2e_s, full_s = bench_read(workdir, args.read_points)
        print(f"read {args.read_points:,}-point series downsampled to 2,000: "
              f"server-side {server_s * 1000:.0f} ms (goal < 100 ms), over HTTP {e2e_s * 1000:.0f} ms")
        print(f"read a 100,000-point series whole over HTTP: {full_s * 1000:.0f} ms   (goal <= 150 ms)")


if __name__ == "__main__":
    main()
