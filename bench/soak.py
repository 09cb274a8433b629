"""Soak: 50 SDK runs at the SDK's defaults for 60 s with 10 websocket subscribers (issue 8).

One `fitwatch server` (one worker; SQLite by default, `--postgres` for a temporary
PostgreSQL database). Five load processes run ten SDK runs each (`fitwatch.init` with its
default flush interval, 0.1 s), each logging 5 keys at 20 steps/s; ten subscriber
connections watch the project and five runs each. Prints:
- request latency as the SDK saw it (p50/p99/max) and the count of 5xx answers, and the
  server's own part of it (a `Server-Timing` header that only the bench adds, bench/server_timing/);
- how many `finish()` calls returned True;
- points sent == points stored and readable (every series read back whole);
- the server's resident memory at the start, the middle and the end;
- messages the subscribers received, and in how many websocket frames (they connect with
  `?batch=1` unless `--single-frames`; a server without batching sends one message a frame);
- the CPU of the server's event-loop thread (Linux /proc) per point request and per live
  message delivered: a figure that survives a loaded machine better than latency.
Goals: p99 < 100 ms, 0 5xx, sent == stored, RSS flat.

    python bench/soak.py [--seconds 60] [--runs 50] [--postgres] [--single-frames]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.server import ServerProcess  # noqa: E402

KEYS = ("loss", "accuracy", "val_loss", "lr", "grad_norm")
STEPS_PER_S = 20
PG_ADMIN_URL = os.environ.get("FITWATCH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _load(url: str, run_ids: list[str], seconds: float, journal: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """One process: one thread per run, logging like a training loop; reports what it saw."""
    import fitwatch
    from fitwatch import client as client_module

    timings: list[tuple[float, int]] = []
    server_times: list[float] = []  # the server's own share of each answer (Server-Timing)
    original = client_module.Client._request

    def timed(self, method, path, body=None):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        status = 0
        try:
            response = original(self, method, path, body)
            status = response.status_code
            timing = response.headers.get("server-timing", "")
            if path.endswith("/points") and "dur=" in timing:
                server_times.append(float(timing.split("dur=", 1)[1]) / 1000)
            return response
        except client_module.ServerError as error:
            status = error.status_code or 599
            raise
        finally:
            if path.endswith("/points"):
                timings.append((time.perf_counter() - start, status))

    client_module.Client._request = timed  # type: ignore[method-assign]
    sent: dict[str, int] = {}
    finished: dict[str, bool] = {}

    def train(run_id: str) -> None:
        run = fitwatch.init(project="soak", id=run_id, url=url, journal_dir=journal)
        step, start = 0, time.monotonic()
        while time.monotonic() - start < seconds:
            run.log({key: 1.0 / (step + 1 + i) for i, key in enumerate(KEYS)}, step=step, scope="batch")
            step += 1
            time.sleep(max(0.0, start + step / STEPS_PER_S - time.monotonic()))
        sent[run_id] = step * len(KEYS)
        finished[run_id] = run.finish()

    threads = [threading.Thread(target=train, args=(run_id,)) for run_id in run_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put({"timings": timings, "server_times": server_times, "sent": sent, "finished": finished})


def _subscribers(url: str, run_ids: list[str], seconds: float, batch: bool, out: mp.Queue) -> None:  # type: ignore[type-arg]
    import websockets

    counts = [0] * 10
    frames = [0] * 10

    async def watch(n: int) -> None:
        watched = "&".join(f"run={r}" for r in run_ids[n * 5 : n * 5 + 5])
        uri = url.replace("http://", "ws://") + f"/api/v1/live?project=soak&{watched}" + ("&batch=1" if batch else "")
        async with websockets.connect(uri, max_size=None) as socket:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                try:
                    frame = await asyncio.wait_for(socket.recv(), timeout=1.0)
                    frames[n] += 1
                    counts[n] += len(json.loads(frame)) if frame[:1] == "[" else 1
                except TimeoutError:
                    pass

    async def main() -> None:
        await asyncio.gather(*(watch(n) for n in range(10)))

    asyncio.run(main())
    out.put({"messages": counts, "frames": frames})


def _rss_mb(pid: int) -> float:
    """The server's anonymous resident memory (`RssAnon`: what a leak grows). Not `VmRSS`:
    that also counts the pages of the SQLite file SQLite maps for reading (db.py
    DEFAULT_SQLITE_MMAP_BYTES), which grow with the database and are the kernel's to drop."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _loop_cpu_s(pid: int) -> float:
    """User + system CPU of the server's event-loop thread (its main thread: tid == pid)."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _database(postgres: bool, tmp: Path) -> tuple[str, str | None]:
    if not postgres:
        return f"sqlite:///{tmp / 'soak.db'}", None
    import psycopg

    name = f"fitwatch_soak_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}", name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--single-frames", action="store_true", help="subscribers do not ask for ?batch=1")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fitwatch-soak-"))
    database_url, pg_name = _database(args.postgres, tmp)
    # bench/server_timing adds a Server-Timing header (the app's own time) to every answer, so
    # that the latency the SDK saw splits into the server's part and the rest (the client
    # processes, scheduling on a shared machine).
    timing_path = os.pathsep.join(filter(None, [str(ROOT / "bench" / "server_timing"), os.environ.get("PYTHONPATH")]))
    server = ServerProcess(database_url, log_path=tmp / "server.log", env={"PYTHONPATH": timing_path}).start(timeout=120)
    assert server.process is not None
    pid = server.process.pid
    run_ids = [f"soak-{n:03d}" for n in range(args.runs)]
    context = mp.get_context("spawn")
    out = context.Queue()
    processes = [
        context.Process(target=_load, args=(server.url, run_ids[i::5], args.seconds, str(tmp / "journal"), out))
        for i in range(5)
    ] + [context.Process(target=_subscribers, args=(server.url, run_ids, args.seconds + 5, not args.single_frames, out))]
    try:
        loop_cpu = _loop_cpu_s(pid)
        for process in processes:
            process.start()
        rss = [_rss_mb(pid)]
        time.sleep(args.seconds / 2)
        rss.append(_rss_mb(pid))
        reports = [out.get(timeout=args.seconds + 120) for _ in processes]
        for process in processes:
            process.join()
        rss.append(_rss_mb(pid))
        loop_cpu = _loop_cpu_s(pid) - loop_cpu

        timings = [t for r in reports for t in r.get("timings", [])]
        sent = {k: v for r in reports for k, v in r.get("sent", {}).items()}
        finished = {k: v for r in reports for k, v in r.get("finished", {}).items()}
        messages = next(r["messages"] for r in reports if "messages" in r)
        frames = next(r["frames"] for r in reports if "frames" in r)
        latencies = sorted(t for t, _ in timings)
        errors = sum(1 for _, status in timings if status >= 500)
        stored = readable = system = 0
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for run_id in run_ids:
                for series in client.get(f"/api/v1/runs/{run_id}/series").json()["series"]:
                    if series["scope"] == "system":
                        # Sampled by the SDK itself (docs/system-metrics.md), not sent by the load.
                        system += series["count"]
                        continue
                    stored += series["count"]
                    points = client.get(
                        f"/api/v1/runs/{run_id}/series/{series['key']}", params={"scope": series["scope"]}
                    ).json()
                    readable += len(points["steps"])
        p = statistics.quantiles(latencies, n=100)
        print(f"backend {'postgres' if args.postgres else 'sqlite'}, {args.runs} runs, {args.seconds:.0f} s")
        print(f"point requests: {len(latencies)} ({len(latencies) / args.seconds:.0f}/s); "
              f"p50 {1000 * p[49]:.1f} ms, p99 {1000 * p[98]:.1f} ms, max {1000 * latencies[-1]:.1f} ms; "
              f"5xx: {errors}")
        in_server = sorted(t for r in reports for t in r.get("server_times", []))
        if len(in_server) >= 2:
            q = statistics.quantiles(in_server, n=100)
            print(f"  of which in the server (arrival to answer, Server-Timing): p50 {1000 * q[49]:.1f} ms, "
                  f"p99 {1000 * q[98]:.1f} ms")
        print(f"finish() True: {sum(finished.values())} of {len(finished)}")
        print(f"points sent {sum(sent.values())}, stored {stored}, readable {readable} "
              f"(and {system} system-metrics points the SDK sampled)")
        print(f"server RssAnon MB: start {rss[0]:.0f}, middle {rss[1]:.0f}, end {rss[2]:.0f}")
        print(f"subscriber messages: {sum(messages)} ({json.dumps(messages)}) in {sum(frames)} frames")
        print(f"event-loop CPU: {loop_cpu:.1f} s; {1000 * loop_cpu / max(len(latencies), 1):.2f} ms per point request, "
              f"{1e6 * loop_cpu / max(sum(messages), 1):.0f} us per live message delivered")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
        server.stop()
        if pg_name is not None:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
