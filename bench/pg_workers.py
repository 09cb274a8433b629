"""Two workers against one on PostgreSQL: small requests from 16 clients (issue 13).

`fitwatch server` on the same PostgreSQL database with `--workers 1` and `--workers 2`,
rounds alternating so a noisy neighbour hits both. `wrk` (Debian package `wrk`) runs 16
threads with one keep-alive connection each; every connection writes its own run and each
request appends 10 points to 5 series (the SDK's shape, as in bench/small_requests.py).
Prints requests/s, p50/p99 per round and the ratio (goal: 2 workers >= 1.6x one), and where
the CPU of a request goes: the fitwatch server processes, the PostgreSQL backends serving them
and wrk. On a machine whose cores also run PostgreSQL and the load generator, that bounds what
a second worker can add: all cores busy give at most `cores / CPU per request` requests/s.

    python bench/pg_workers.py --postgres postgresql://postgres@127.0.0.1:5432/scratch \
        [--seconds 10] [--rounds 2] [--clients 16]

The database should be a scratch one: the bench creates runs `bench-0` … in project `bench`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.small_requests import LUA, start, wrk  # noqa: E402
from tests.helpers.server import free_port  # noqa: E402


def serve(database_url: str, workers: int, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "fitwatch.cli",
        "server",
        "--port",
        str(port),
        "--database-url",
        database_url,
        "--workers",
        str(workers),
    ]
    return start(command, port, log), port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="a scratch PostgreSQL database URL")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/pg_workers.py needs wrk: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="fitwatch-pg-workers-"))
    script = tmp / "points.lua"
    script.write_text(LUA)
    results: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    offset = 0
    for n in range(args.rounds):
        for workers in (1, 2):
            process, port = serve(args.postgres, workers, tmp / f"server-{workers}.log")
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                    for tid in range(args.clients):
                        client.post(
                            "/api/v1/runs", json={"project": "bench", "id": f"bench-{tid}"}
                        ).raise_for_status()
                offset += 100_000_000  # every round appends after the steps of the rounds before
                before = _cpu(process, args.postgres)
                result = wrk_threads(port, script, args.seconds, args.clients, offset)
                used = _used(before, _cpu(process, args.postgres))
                results[workers].append(result)
                per_request = {k: v * 1000 / max(result["requests"], 1) for k, v in used.items()}
                total = sum(per_request.values())
                print(
                    f"round {n + 1}, {workers} worker{'s' if workers > 1 else ' '}: {result['rps']:7.0f} req/s  "
                    f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  errors {result['errors']:.0f}  "
                    f"CPU ms/request: server {per_request['server']:.2f}, PostgreSQL "
                    f"{per_request['postgres']:.2f}, wrk {per_request['wrk']:.2f} "
                    f"(all {os.cpu_count()} cores busy: at most {os.cpu_count() * 1000 / total:,.0f} req/s)",
                    flush=True,
                )
            finally:
                process.terminate()
                process.wait(30)
    one = sum(r["rps"] for r in results[1]) / args.rounds
    two = sum(r["rps"] for r in results[2]) / args.rounds
    print(
        f"2 workers / 1 worker on PostgreSQL, {args.clients} clients: {two / one:.2f}x   (goal >= 1.6x)"
    )


def _cpu(server: subprocess.Popen[bytes], database_url: str) -> dict[str, float]:
    """CPU seconds used so far by the server (its worker processes included), by each
    PostgreSQL backend connected to the bench's database (by pid: a backend opened during the
    round counts from zero), and by this process's finished children (wrk)."""
    import psycopg

    def seconds(pid: int) -> float:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            return 0.0
        return times.user + times.system

    root = psutil.Process(server.pid)
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        ]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = {f"postgres {pid}": seconds(pid) for pid in pids}
    used["server"] = seconds(root.pid) + sum(seconds(c.pid) for c in root.children(recursive=True))
    used["wrk"] = children.ru_utime + children.ru_stime
    return used


def _used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What `_cpu` counted between two readings, the backends summed as "postgres"."""
    used = {"server": 0.0, "postgres": 0.0, "wrk": 0.0}
    for name, seconds in after.items():
        used[name.split()[0]] += seconds - before.get(name, 0.0)
    return used


def wrk_threads(
    port: int, script: Path, seconds: int, clients: int, offset: int
) -> dict[str, float]:
    """`wrk` with one thread per client: the script names a run per thread, so each client
    writes its own run, as separate training jobs do."""
    return wrk(port, script, seconds, clients, offset, threads=clients)


if __name__ == "__main__":
    main()
