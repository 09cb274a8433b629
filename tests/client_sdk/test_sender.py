"""The sender against a server that goes away: journal, backoff, ordered replay, exactly once."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from pathlib import Path

import pytest

import fitwatch
from fitwatch import wire
from fitwatch.access import ACCESS_CHECK_TIMEOUT_S
from fitwatch.spool import Journal
from tests.client_sdk.conftest import Stored
from tests.helpers.server import ServerProcess, free_port
from tests.helpers.wait import wait_until

FAST_RETRY = {"retry_base_s": 0.05, "retry_max_s": 0.2}


def test_a_server_that_is_down_at_start_gets_everything_when_it_comes_up(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path
) -> None:
    server = server_process(f"sqlite:///{tmp_path / 'late.db'}", free_port())
    with pytest.warns(RuntimeWarning, match="cannot reach the server") as warned:
        run = fitwatch.init(project="outage", url=server.url, **FAST_RETRY)
        for step in range(100):
            run.log({"loss": float(step)}, step=step, scope="batch", epoch=0)
        # Nothing reached a server: it is all in the journal, in order.
        wait_until(lambda: sum(r.op == "points" for r in Journal.for_run(journal_dir, run.id).pending()) > 0)
        # The sender thread warns at its first failed attempt, which may come after the
        # journal has the points: leaving the block before it was the flake.
        wait_until(lambda: any("cannot reach the server" in str(w.message) for w in warned))
    server.start()
    stored = Stored(server.url)
    assert run.finish(timeout=30) is True
    assert stored.points(run.id, "loss", "batch") == {s: float(s) for s in range(100)}
    assert stored.run(run.id)["status"] == "finished"
    assert not (journal_dir / run.id).exists()


def test_stopping_the_server_mid_run_loses_and_duplicates_nothing(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path
) -> None:
    server = server_process(f"sqlite:///{tmp_path / 'restart.db'}").start()
    stored = Stored(server.url)
    run = fitwatch.init(project="outage", url=server.url, **FAST_RETRY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for step in range(50):
            run.log({"loss": float(step)}, step=step, scope="batch", epoch=0)
        wait_until(lambda: stored.series_counts(run.id).get(("loss", "batch")) == 50)
        server.stop()
        for step in range(50, 150):
            run.log({"loss": float(step)}, step=step, scope="batch", epoch=1)
        run.log({"val_loss": 0.5}, step=0)
        wait_until(lambda: run._sender.pending_records > 0)
        server.start()
        assert run.finish(timeout=30) is True
    series = stored.series(run.id, "loss", "batch")
    assert series["count"] == 150
    assert series["steps"] == list(range(150))
    assert series["values"] == [float(s) for s in range(150)]
    assert series["epochs"] == [0] * 50 + [1] * 100
    assert stored.points(run.id, "val_loss", "epoch") == {0: 0.5}


def test_finish_waits_a_bounded_time_and_keeps_the_journal(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path
) -> None:
    server = server_process(f"sqlite:///{tmp_path / 'never.db'}", free_port())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = fitwatch.init(project="outage", url=server.url, **FAST_RETRY)
        run.log({"loss": 1.0})
        wait_until(lambda: run._sender._failures >= 1)
        assert run.finish(timeout=0.3) is False
    [message] = [str(w.message) for w in caught if "fitwatch sync" in str(w.message)]
    assert "within 0.3 s (the last attempt failed: POST /runs failed: ConnectError" in message
    pending = Journal.for_run(journal_dir, run.id).pending()
    assert [r.op for r in pending] == ["create", "points", "update"]
    assert pending[-1].body == {"status": "finished"}


def test_finish_says_so_when_the_server_took_a_request_and_never_answered(journal_dir: Path) -> None:
    # A listening socket nobody accepts from: the kernel takes the connection and the
    # request, and no answer ever comes (a hung server, a stuck proxy).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            started = time.monotonic()
            run = fitwatch.init(project="silent", url=f"http://127.0.0.1:{silent.getsockname()[1]}")
            # The access check gives up well before the 30 s request timeout: training starts.
            assert time.monotonic() - started < ACCESS_CHECK_TIMEOUT_S + 5
            run.log({"loss": 1.0})
            assert run.finish(timeout=1.0) is False
            silent.close()  # the stuck request fails now; its warning is caught here
            assert run._sender._shipper is not None
            run._sender._shipper.join(timeout=10)
    [message] = [str(w.message) for w in caught if "fitwatch sync" in str(w.message)]
    assert "within 1 s (a request has waited " in message, message
    assert [r.op for r in Journal.for_run(journal_dir, run.id).pending()][-1] == "update"


def test_a_burst_over_the_rate_limit_waits_out_429s_and_loses_no_point(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path
) -> None:
    from tests.helpers.auth import ADMIN_TOKEN

    server = server_process(
        f"sqlite:///{tmp_path / 'burst.db'}",
        env={
            "FITWATCH_AUTH": "on",
            "FITWATCH_ADMIN_TOKEN": ADMIN_TOKEN,
            "FITWATCH_RATE_LIMIT_PER_S": "3",
        },
    ).start()
    admin = Stored(
        server.url, ADMIN_TOKEN
    )  # its own rate bucket: the reader is never limited by the writer
    made = admin.http.post("/tokens", json={"name": "burst", "scope": "write"})
    token = made.json()["token"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = fitwatch.init(project="burst", url=server.url, token=token, flush_interval_s=0.01)
        # 30 chunks, each waited for until the sender has tried to send it: 30+ requests in a
        # few seconds, ten times what the server allows.
        for chunk in range(30):
            tried = run._sender.sent_requests
            for step in range(chunk * 100, (chunk + 1) * 100):
                run.log(
                    {"loss": float(step), "accuracy": step / 3000},
                    step=step,
                    scope="batch",
                    epoch=chunk,
                )
            wait_until(lambda tried=tried: run._sender.sent_requests > tried)
        done = run.finish(timeout=60)
        assert done is True, (
            [str(w.message) for w in caught],
            run._sender.pending_records,
            run._sender.rate_limited,
        )
    assert run._sender.rate_limited > 0
    # A 429 is not an outage: fitwatch warns nothing (other warnings, e.g. a ResourceWarning
    # of an earlier test collected now, are not ours).
    assert [str(w.message) for w in caught if str(w.message).startswith("fitwatch")] == []
    assert admin.points(run.id, "loss", "batch") == {s: float(s) for s in range(3000)}
    assert admin.points(run.id, "accuracy", "batch") == {s: s / 3000 for s in range(3000)}
    assert admin.run(run.id)["status"] == "finished"
    admin.close()


LOAD_RUNS = 50
LOAD_STEPS = 120
LOAD_KEYS = ("loss", "accuracy", "val_loss", "lr", "grad_norm")


def test_fifty_runs_under_load_all_finish_true_with_every_point_stored(
    server_process: type[ServerProcess], database_url: str, journal_dir: Path
) -> None:
    # Issue 8: under load 2-6 of 50 finish() calls returned False with the server up (the
    # sender saw an empty queue and no unacknowledged record while a batch was between the
    # two). 50 runs at the SDK's defaults log at once against one real server process, and
    # each finish() gets the default, bounded wait.
    server = server_process(database_url).start()
    stored = Stored(server.url)
    results: dict[str, bool] = {}
    errors: list[BaseException] = []

    def train(index: int) -> None:
        try:
            run = fitwatch.init(project="load", name=f"run-{index}", url=server.url)
            for step in range(LOAD_STEPS):
                run.log(
                    {key: step + i / 10 for i, key in enumerate(LOAD_KEYS)},
                    step=step,
                    scope="batch",
                    epoch=0,
                )
                time.sleep(0.01)
            results[run.id] = run.finish()
        except BaseException as error:  # noqa: BLE001 - reported below, not lost in a thread
            errors.append(error)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=train, args=(i,)) for i in range(LOAD_RUNS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert errors == []
    assert len(results) == LOAD_RUNS
    failed = [run_id for run_id, done in results.items() if not done]
    assert failed == [], [str(w.message) for w in caught if str(w.message).startswith("fitwatch")]
    for run_id in results:
        run = stored.run(run_id)
        assert run["status"] == "finished"
        assert {(s["key"], s["count"]) for s in run["series"]} == {
            (key, LOAD_STEPS) for key in LOAD_KEYS
        }
        assert stored.points(run_id, "grad_norm", "batch") == {
            s: s + 0.4 for s in range(LOAD_STEPS)
        }
        assert not (journal_dir / run_id).exists()


def test_a_503_with_retry_after_is_not_retried_sooner(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path
) -> None:
    import sqlite3
    import time

    path = tmp_path / "locked.db"
    server = server_process(f"sqlite:///{path}", env={"FITWATCH_LOCK_TIMEOUT_S": "0.2"}).start()
    stored = Stored(server.url)
    # Another writer holds SQLite's write lock: every write waits 0.2 s, then gets 503 with
    # Retry-After: 1. Without it the sender's own backoff would try again within 0.2 s.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = fitwatch.init(project="locked", url=server.url, **FAST_RETRY)
            run.log({"loss": 1.0}, step=0)
            wait_until(lambda: run._sender._failures >= 1)
            wait = run._sender._retry_at - time.monotonic()
            assert wait > 0.5, wait
            assert any("locked by another writer" in str(w.message) for w in caught)
    finally:
        holder.rollback()
        holder.close()
    assert run.finish(timeout=30) is True
    assert stored.points(run.id, "loss", "epoch") == {0: 1.0}
    stored.close()


def test_no_journal_record_holds_more_points_than_a_request_may_carry(journal_dir: Path) -> None:
    # One log() of 600 keys, ten times: records were closed only once they held at least the
    # ceiling, so one could hold 1,599 points, which the server refuses (413 or 422).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        run = fitwatch.init(project="ceiling", mode="offline", max_points_per_request=1000)
        for step in range(10):
            run.log({f"layer{k}/norm": float(k) for k in range(600)}, step=step)
        run.finish()
    sizes = [wire.count_points(r.body) for r in Journal.for_run(journal_dir, run.id).pending() if r.op == "points"]
    assert sum(sizes) == 6000 and max(sizes) <= 1000, sizes


JOURNAL_DISK_FULL = """
import resource, signal, sys, time, warnings
import fitwatch
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
warnings.simplefilter("ignore")
run = fitwatch.init(project="disk-full", url=sys.argv[1], flush_interval_s=0.05)
for step in range(100):
    run.log({"loss": float(step)}, step=step)
assert run.flush(30)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
# No file of this process may grow now: the journal's writes fail as on a full disk.
resource.setrlimit(resource.RLIMIT_FSIZE, (run.journal.path.stat().st_size, hard))
for step in range(100, 200):
    run.log({"loss": float(step)}, step=step)
time.sleep(0.5)
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space again
for step in range(200, 300):
    run.log({"loss": float(step)}, step=step)
print(run.id, run.finish(timeout=30))
"""


def test_a_journal_that_cannot_be_written_costs_no_point(live_server: str, journal_dir: Path) -> None:
    # In a child process: a file size limit on the test process would hit pytest's own files.
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", JOURNAL_DISK_FULL, live_server], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    run_id, finished = done.stdout.split()
    assert finished == "True"
    stored = Stored(live_server)
    assert stored.points(run_id, "loss", "epoch") == {s: float(s) for s in range(300)}
    assert stored.run(run_id)["status"] == "finished"
    stored.close()


def test_an_offline_run_keeps_its_records_on_disk_not_in_memory(journal_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        run = fitwatch.init(project="offline", mode="offline")
        for step in range(2000):
            run.log({"loss": float(step)}, step=step, scope="batch", epoch=0)
            if step % 500 == 0:
                assert run.flush(timeout=30)
        assert run.flush(timeout=30)
        assert run._sender.pending_records == 0
        run.finish()
    pending = Journal.for_run(journal_dir, run.id).pending()
    assert sum(wire.count_points(r.body) for r in pending if r.op == "points") == 2000
