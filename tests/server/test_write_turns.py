"""Writers of one server take turns at SQLite's write lock in arrival order (db.py,
write_turns.py): a run create or heartbeat is not starved by the ingest writer's back-to-back
transactions until it times out (seen as 503s in bench/soak.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from fitwatch_server import write_turns
from fitwatch_server.db import make_engine, make_write_sessionmaker, session_scope
from fitwatch_server.errors import StorageBusy


def test_turns_go_to_the_longest_waiting_thread() -> None:
    turns = write_turns.WriteTurns(timeout_s=5)
    order: list[int] = []
    with turns.turn():
        threads = []
        for i in range(5):
            thread = threading.Thread(target=lambda i=i: _take(turns, order, i))
            thread.start()
            # Each thread is queued before the next one starts.
            deadline = time.monotonic() + 5
            while len(turns._waiting) <= i and time.monotonic() < deadline:
                time.sleep(0.001)
            threads.append(thread)
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]


def _take(turns: write_turns.WriteTurns, order: list[int], i: int) -> None:
    with turns.turn():
        order.append(i)


def test_a_turn_not_given_within_the_timeout_raises_and_leaves_the_queue_usable() -> None:
    turns = write_turns.WriteTurns(timeout_s=0.05)
    with turns.turn():
        with pytest.raises(write_turns.TurnTimeout, match="more than 0.05 s"):
            with turns.turn():
                pass
        assert not turns._waiting
    with turns.turn():  # free again after the holder left
        pass


def test_a_write_is_not_starved_by_back_to_back_write_transactions(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}", lock_timeout_s=0.5)
    factory = make_write_sessionmaker(engine)
    with session_scope(factory) as session:
        session.execute(text("CREATE TABLE t (who TEXT)"))
    stop = threading.Event()

    def hog() -> None:
        # What the ingest writer does under load: the next transaction begins right after
        # the last commit, each holding the lock a few milliseconds.
        while not stop.is_set():
            with session_scope(factory) as session:
                session.execute(text("INSERT INTO t VALUES ('hog')"))
                time.sleep(0.002)

    hogs = [threading.Thread(target=hog)]
    for thread in hogs:
        thread.start()
    try:
        time.sleep(0.1)
        outcomes = []
        for _ in range(10):
            try:
                with session_scope(factory) as session:
                    session.execute(text("INSERT INTO t VALUES ('visitor')"))
                outcomes.append("stored")
            except StorageBusy as error:
                outcomes.append(str(error))
    finally:
        stop.set()
        for thread in hogs:
            thread.join(5)
        engine.dispose()
    assert outcomes == ["stored"] * 10
