"""Two workers against one on PostgreSQL: small requests from 16 clients (issue 13).

`fitwatch server` on the same PostgreSQL database with `--workers 1` and `--workers 2`,
rounds alternating so a noisy neighbour hits both. `wrk` (Debian package `wrk`) runs 16
threads with one keep-alive connection each; every connection writes its own run and each
request appends 10 points to 5 series (the SDK's shape, as in bench/small_requests.py).
Prints requests/s, p50/p99 per round and the ratio (goal: 2 workers >= 1.6x one).

    python bench/pg_workers.py --postgres postgresql://postgres@127.0.0.1:5432/scratch \
        [--seconds 10] [--rounds 2] [--clients 16]

The database should be a scratch one: the bench creates runs `bench-0` … in project `bench`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

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
                result = wrk_threads(port, script, args.seconds, args.clients, offset)
                results[workers].append(result)
                print(
                    f"round {n + 1}, {workers} worker{'s' if workers > 1 else ' '}: {result['rps']:7.0f} req/s  "
                    f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  errors {result['errors']:.0f}",
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


def wrk_threads(
    port: int, script: Path, seconds: int, clients: int, offset: int
) -> dict[str, float]:
    """`wrk` with one thread per client: the script names a run per thread, so each client
    writes its own run, as separate training jobs do."""
    return wrk(port, script, seconds, clients, offset, threads=clients)


if __name__ == "__main__":
    main()
