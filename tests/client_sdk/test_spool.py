"""The on-disk journal: append, ack, ordered replay, torn lines, the run lock."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from fitwatch.spool import Journal, list_journals
from tests.client_sdk.conftest import Stored
from tests.helpers.server import ServerProcess
from tests.helpers.wait import wait_until


def test_pending_records_come_back_in_order_until_acked(tmp_path: Path) -> None:
    journal = Journal.for_run(tmp_path, "run1")
    journal.append("create", {"id": "run1"})
    journal.append("points", {"series": [1]})
    journal.append("update", {"status": "finished"})
    journal.ack(1)
    journal.close()
    reopened = Journal.for_run(tmp_path, "run1")
    assert [(r.seq, r.op) for r in reopened.pending()] == [(2, "points"), (3, "update")]
    assert reopened.run_body() == {"id": "run1"}
    # New records continue the sequence after a reopen.
    assert reopened.append("points", {"series": []}).seq == 4


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    journal = Journal.for_run(tmp_path, "run1")
    journal.append("create", {"id": "run1"})
    journal.close()
    with open(journal.path, "a") as handle:
        handle.write('{"seq": 2, "op": "poi')
    assert [r.seq for r in Journal.for_run(tmp_path, "run1").pending()] == [1]


def test_unknown_ops_are_refused_with_what_was_received(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"Received: op='delete'"):
        Journal.for_run(tmp_path, "run1").append("delete", {})


def test_a_locked_journal_cannot_be_locked_twice(tmp_path: Path) -> None:
    first = Journal.for_run(tmp_path, "run1")
    second = Journal.for_run(tmp_path, "run1")
    assert first.lock()
    assert not second.lock()
    first.unlock()
    assert second.lock()
    second.unlock()


def test_journals_are_listed_and_deleted(tmp_path: Path) -> None:
    for run_id in ("a", "b"):
        Journal.for_run(tmp_path, run_id).append("create", {"id": run_id})
    assert sorted(j.directory.name for j in list_journals(tmp_path)) == ["a", "b"]
    Journal.for_run(tmp_path, "a").delete()
    assert [j.directory.name for j in list_journals(tmp_path)] == ["b"]
    assert list(list_journals(tmp_path / "missing")) == []


def test_a_fully_acked_journal_is_compacted_to_its_create_record(tmp_path: Path) -> None:
    journal = Journal.for_run(tmp_path, "run1")
    journal.append("create", {"id": "run1"})
    journal.append("points", {"series": ["x" * 100]})
    assert not journal.compact({"id": "run1"}, min_bytes=10)  # record 2 not acked yet
    journal.ack(2)
    assert not journal.compact({"id": "run1"}, min_bytes=10_000)  # small enough to keep
    assert journal.compact({"id": "run1"}, min_bytes=10)
    assert journal.append("update", {"status": "finished"}).seq == 2
    reopened = Journal.for_run(tmp_path, "run1")
    assert reopened.run_body() == {"id": "run1"}
    assert [(r.seq, r.op) for r in reopened.pending()] == [(2, "update")]


# A training process, as a user would run it: logs one batch point every PACE_S seconds and
# prints each step once `log()` has returned.
_TRAINING = """
import sys, time
import fitwatch

url, run_id, journal_dir, flush_interval_s, pace_s = sys.argv[1:6]
run = fitwatch.init(project="killed", id=run_id, url=url, journal_dir=journal_dir,
                    flush_interval_s=float(flush_interval_s))
start, step = time.monotonic(), 0
while True:
    run.log({"loss": 1.0 / (step + 1)}, step=step, scope="batch", epoch=0)
    print(step, flush=True)
    step += 1
    time.sleep(max(0.0, start + step * float(pace_s) - time.monotonic()))
"""
FLUSH_INTERVAL_S = 0.1
PACE_S = 0.005


def test_a_client_killed_with_sigkill_loses_at_most_its_last_flush_interval(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path
) -> None:
    # Issue 8. The journal is written every flush interval whatever the network does, so a
    # SIGKILL loses only what was logged since the last write, even while the server is
    # slow to answer (here: SQLite's write lock is held elsewhere, each request waits out
    # the busy timeout). What was journaled but not acknowledged, `fitwatch sync` uploads.
    path = tmp_path / "killed.db"
    server = server_process(f"sqlite:///{path}").start()
    stored = Stored(server.url)
    run_id = uuid.uuid4().hex
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _TRAINING,
            server.url,
            run_id,
            str(journal_dir),
            str(FLUSH_INTERVAL_S),
            str(PACE_S),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    logged: list[int] = []
    reader = threading.Thread(
        target=lambda: logged.extend(int(line) for line in child.stdout or ())
    )
    reader.start()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        wait_until(lambda: stored.series_counts(run_id).get(("loss", "batch"), 0) >= 50, timeout=60)
        holder.execute("BEGIN IMMEDIATE")  # from now on the server answers slowly
        slow_from = logged[-1]
        wait_until(lambda: logged[-1] >= slow_from + 400, timeout=60)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        reader.join(timeout=10)
    finally:
        holder.rollback()
        holder.close()
        if child.poll() is None:
            child.kill()
    last_logged = logged[-1]
    before = stored.points(run_id, "loss", "batch")
    assert sorted(before) == list(range(len(before)))  # what arrived is a prefix, no gap
    assert len(before) <= slow_from + 50  # the slow server stored little of the rest

    synced = subprocess.run(
        [sys.executable, "-m", "fitwatch", "sync", "--url", server.url, "--dir", str(journal_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert synced.returncode == 0, synced.stdout + synced.stderr
    after = stored.points(run_id, "loss", "batch")
    assert sorted(after) == list(range(len(after)))
    assert after == {step: 1.0 / (step + 1) for step in range(len(after))}
    # Lost: what was logged after the journal's last write, at most one flush interval of
    # logging (plus one interval of slack for a shared, busy machine).
    per_interval = FLUSH_INTERVAL_S / PACE_S
    lost = last_logged + 1 - len(after)
    assert lost <= 2 * per_interval, (lost, last_logged, len(before), len(after))
    # No `finish` was ever journaled: the run stays running until its heartbeat lapses.
    assert stored.run(run_id)["status"] in ("running", "crashed")
    stored.close()
