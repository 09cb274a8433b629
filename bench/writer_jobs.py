"""The ingest writer's CPU per small request, in process, without HTTP (issue 8).

One merged transaction as the writer runs it (`db.transaction_scope` on one held connection,
then `ingest_jobs`) of 8 jobs over 2 runs, each job 10 new points over 5 series: what the
writer sees under bench/small_requests.py (2 wrk threads, one run each, 8 keep-alive
connections, so about 8 requests merge into each commit). Prints the thread CPU
per job, and with `--profile` the top of a cProfile of the same loop.

Which code runs is whatever `fitwatch_server` PYTHONPATH finds, so the same script measures
two checkouts: run it alternately with PYTHONPATH pointing at each.

    python bench/writer_jobs.py [--commits 2000] [--rounds 3] [--jobs 8] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from fitwatch_server import schemas
from fitwatch_server.db import (
    make_engine,
    make_write_sessionmaker,
    session_scope,
    transaction_scope,
)
from fitwatch_server.migrate import upgrade_engine
from fitwatch_server.store import runs
from fitwatch_server.store.point_data import IngestJob, ingest_jobs

SERIES = ("loss", "accuracy", "mae", "lr", "val_loss")


def _batch(base: int) -> schemas.PointBatchIn:
    steps = list(range(base, base + 10))
    return schemas.PointBatchIn.model_validate(
        {
            "series": [
                {
                    "key": key,
                    "scope": "batch",
                    "steps": steps,
                    "values": [1.0 / (s + 1) for s in steps],
                    "times": [1_700_000_000 + s * 0.01 for s in steps],
                }
                for key in SERIES
            ]
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    import fitwatch_server

    print(f"fitwatch_server from {Path(fitwatch_server.__file__).parent}; load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade_engine(engine)
        factory = make_write_sessionmaker(engine)
        with session_scope(factory) as session:
            run_ids = [
                runs.create_run(session, data=schemas.RunCreate(project="b", name=f"r{i}"))[0].id
                for i in range(args.runs)
            ]
        # Batches are validated up front: the writer gets them validated by the route.
        per_run = -(-args.jobs // args.runs)
        total = (args.commits * args.rounds + 1) * per_run
        batches = [_batch(c * 10) for c in range(total)]
        connection = factory.kw["bind"].connect()
        commit = 0

        def run(n: int) -> None:
            nonlocal commit
            for _ in range(n):
                jobs = [
                    IngestJob(run_ids[j % args.runs], batches[commit * per_run + j // args.runs])
                    for j in range(args.jobs)
                ]
                with transaction_scope(connection):
                    ingest_jobs(connection, jobs)
                commit += 1

        run(1)  # series created outside the measurement
        for _ in range(args.rounds):
            started = time.thread_time()
            wall = time.perf_counter()
            if args.profile:
                # CPU, not wall time: the writer waits on disk and on the GIL too.
                profile = cProfile.Profile(time.thread_time)
                profile.runcall(run, args.commits)
            else:
                run(args.commits)
            cpu = time.thread_time() - started
            wall = time.perf_counter() - wall
            per_job = cpu / (args.commits * args.jobs) * 1e6
            print(
                f"{per_job:7.1f} us CPU per job, {cpu / args.commits * 1e6:7.1f} us per commit "
                f"(wall {wall:.2f} s), load {os.getloadavg()[0]:.2f}"
            )
            if args.profile:
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
                sys.stdout.write(out.getvalue())
        connection.close()
        engine.dispose()


if __name__ == "__main__":
    main()
