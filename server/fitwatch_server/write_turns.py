"""First come, first served turns at SQLite's write lock for the threads of one server.

SQLite answers a writer that finds the lock taken with a busy handler that sleeps and
polls (1, 2, 5, ... 100 ms). The ingest writer begins its next transaction a few
microseconds after committing the last one, so under steady load a poller almost never
finds the lock free: a run create or a heartbeat waited out the whole lock timeout and was
answered 503 while the points kept flowing (seen in bench/soak.py on a slow machine).
Taking a turn here before `BEGIN IMMEDIATE` queues the threads of this process in order
instead; SQLite's own lock still guards against other processes (the CLI, a second server),
and its busy timeout still bounds that wait.

SQLite is for one server process (docs/scale.md), so one queue per database file is all
the fairness there is to give. The queue is keyed by the file name as the database URL spells
it, so the lookup on every write transaction is a dict read; two spellings of one file would
get two queues, which costs fairness only (SQLite's lock still serialises them). PostgreSQL
takes row locks in the store and needs none.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class TurnTimeout(Exception):
    """No turn came within the lock timeout (another thread held the write lock that long)."""


class WriteTurns:
    """A FIFO lock: a released turn goes to the thread that has waited longest."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._guard = threading.Lock()
        self._held = False
        self._waiting: deque[threading.Event] = deque()

    @contextmanager
    def turn(self) -> Iterator[None]:
        self._acquire()
        try:
            yield
        finally:
            self._release()

    def _acquire(self) -> None:
        with self._guard:
            if not self._held:
                self._held = True
                return
            mine = threading.Event()
            self._waiting.append(mine)
        if mine.wait(self.timeout_s):
            return
        with self._guard:
            if mine.is_set():  # handed over between the timeout and taking the guard
                return
            self._waiting.remove(mine)
        raise TurnTimeout(f"another writer held the write lock for more than {self.timeout_s:g} s")

    def _release(self) -> None:
        with self._guard:
            if self._waiting:
                # Hand the turn over while still held, so a thread arriving now queues behind.
                self._waiting.popleft().set()
            else:
                self._held = False


_BY_DATABASE: dict[str, WriteTurns] = {}
_REGISTRY_GUARD = threading.Lock()


def for_database(path: str, timeout_s: float) -> WriteTurns:
    """The one queue of write turns for the SQLite file at `path` in this process."""
    with _REGISTRY_GUARD:
        turns = _BY_DATABASE.get(path)
        if turns is None:
            turns = _BY_DATABASE[path] = WriteTurns(timeout_s)
        return turns


def lookup(path: str) -> WriteTurns | None:
    return _BY_DATABASE.get(path)
