"""The ingest writer: one thread per server process that merges concurrent point requests
into one transaction (group commit) and answers each request after the commit.

Why: the SDK sends many small batches (every 0.1 s per run). One transaction per request
spends most of its time opening, locking and committing; SQLite has one writer anyway, so
requests that arrive together would only queue on its lock. Taking everything pending at
once and committing it together costs one transaction for the lot (docs/scale.md has the
figures), and the lock is never contended inside a process.

A job that cannot be stored (an unknown run) fails alone: `ingest_jobs` reports it without
touching the others. If the merged transaction fails as a whole (a full disk, a lost
connection), each job is retried in a transaction of its own, so one bad job cannot fail a
neighbour and every caller gets its own answer.

A job that waited in the queue longer than `MAX_QUEUE_WAIT_S` is answered 503 (ServerBusy,
Retry-After) without being stored: under overload the server sheds load instead of letting
answers grow later than the SDK's request timeout (docs/scale.md, "How long a write may
take").

The thread holds one database connection for its life (a new one after a failed
transaction): a Session and a pool check-out per transaction cost about a quarter of this
thread's CPU on small requests.

The answers of one transaction reach the event loop in one `call_soon_threadsafe`: a
`concurrent.futures.Future` per job wakes the loop once per job (a self-pipe write and a
callback each), which was a quarter of this thread's CPU on small requests
(bench/small_requests.py, docs/scale.md).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from fitwatch_server import schemas
from fitwatch_server.db import transaction_scope
from fitwatch_server.errors import FitwatchError, ServerBusy
from fitwatch_server.store.point_data.ingest import IngestJob, ingest_jobs

logger = logging.getLogger(__name__)

# One merged transaction takes at most this many points: bounds its memory and how long a
# request at the back of the queue waits behind the ones before it.
MAX_POINTS_PER_COMMIT = 100_000
# The longest a job waits for the writer before it is refused (see the module docstring).
# With `db.DEFAULT_LOCK_TIMEOUT_S` this bounds the answer time the SDK's timeout must exceed.
MAX_QUEUE_WAIT_S = 10.0
BUSY_RETRY_AFTER_S = 1


class WriterState(StrEnum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


@dataclass(slots=True)
class _Pending:
    job: IngestJob
    points: int
    # Created on, and only ever settled on, the event loop of the request (`_settle`).
    future: asyncio.Future[schemas.IngestResult]
    queued_at: float = field(default_factory=time.monotonic)


Answer = tuple[_Pending, schemas.IngestResult | BaseException]


class IngestWriter:
    """Queue of ingest jobs drained by one thread; `await writer.ingest(run_id, batch)`.

    `factory` gives the engine (its bind: for SQLite, one whose transactions begin
    IMMEDIATE, `db.make_write_sessionmaker`).
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        max_series_per_run: int = 0,
        max_queue_wait_s: float = MAX_QUEUE_WAIT_S,
    ) -> None:
        bind = factory.kw["bind"]
        assert isinstance(bind, Engine), f"the writer needs an engine-bound sessionmaker: {bind!r}"
        self._engine: Engine = bind
        self._connection: Connection | None = None  # the writer thread's own
        self._max_queue_wait_s = max_queue_wait_s
        self._max_series_per_run = max_series_per_run
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.state = WriterState.NEW
        self.commits = 0  # merged transactions committed (for tests and status)

    @property
    def queued(self) -> int:
        """Jobs waiting for the next transaction."""
        return self._queue.qsize()

    def start(self) -> None:
        """Start the thread (again, after `stop`: an app's lifespan may run more than once)."""
        if self.state is WriterState.RUNNING:
            return
        self._thread = threading.Thread(
            target=self._run, name="fitwatch-ingest-writer", daemon=True
        )
        self.state = WriterState.RUNNING
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop the thread."""
        if self.state is not WriterState.RUNNING:
            return
        self.state = WriterState.STOPPED
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    async def ingest(self, run_id: str, batch: schemas.PointBatchIn) -> schemas.IngestResult:
        """Store a batch; returns after the transaction holding it committed."""
        if self.state is not WriterState.RUNNING:
            raise RuntimeError(f"the ingest writer is {self.state.value}, not running")
        future: asyncio.Future[schemas.IngestResult] = asyncio.get_running_loop().create_future()
        points = sum(len(s.steps) for s in batch.series)
        self._queue.put(_Pending(IngestJob(run_id, batch), points, future))
        return await future

    def _run(self) -> None:
        try:
            self._drain()
        finally:
            self._close_connection()
            # A request that slipped in while stopping must still get an answer.
            while True:
                try:
                    late = self._queue.get_nowait()
                except queue.Empty:
                    break
                if late is not None:
                    _answer([(late, RuntimeError("the server is stopping; send the batch again"))])

    def _drain(self) -> None:
        carry: _Pending | None = None
        while True:
            first = carry if carry is not None else self._queue.get()
            carry = None
            if first is None:
                return
            if self._refused_as_stale(first):
                continue
            group, points = [first], first.points
            while points < MAX_POINTS_PER_COMMIT:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._commit(group)
                    return
                if self._refused_as_stale(nxt):
                    continue
                if points + nxt.points > MAX_POINTS_PER_COMMIT:
                    carry = nxt
                    break
                group.append(nxt)
                points += nxt.points
            self._commit(group)

    def _refused_as_stale(self, pending: _Pending) -> bool:
        """Answer 503 to a job that waited past the queue bound; True if it was refused."""
        waited = time.monotonic() - pending.queued_at
        if waited <= self._max_queue_wait_s:
            return False
        busy = ServerBusy(
            f"the server is busy: this batch waited {waited:.1f} s to be written "
            f"(the limit is {self._max_queue_wait_s:g} s) and was not stored; send it again",
            retry_after_s=BUSY_RETRY_AFTER_S,
        )
        _answer([(pending, busy)])
        return True

    def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - a connection that is already gone
                logger.debug("closing the ingest writer's connection failed", exc_info=True)

    def _commit(self, group: list[_Pending]) -> None:
        try:
            if self._connection is None:
                self._connection = self._engine.connect()
            with transaction_scope(self._connection) as connection:
                results = ingest_jobs(
                    connection, [p.job for p in group], max_series_per_run=self._max_series_per_run
                )
        except Exception as error:  # noqa: BLE001 - every caller must get an answer
            # The connection may be what failed (a restarted PostgreSQL): the next
            # transaction, the per-job retries below too, opens a fresh one.
            self._close_connection()
            if len(group) > 1:
                for pending in group:
                    self._commit([pending])
                return
            _answer([(group[0], error)])
            return
        self.commits += 1
        _answer(list(zip(group, results, strict=True)))


def _answer(answers: list[Answer]) -> None:
    """Hand the answers to their event loops: one wake-up per loop, not one per job."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Answer]] = {}
    for pending, result in answers:
        if isinstance(result, BaseException) and not isinstance(result, FitwatchError):
            logger.error("ingest of run %r failed", pending.job.run_id, exc_info=result)
        by_loop.setdefault(pending.future.get_loop(), []).append((pending, result))
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, settled)
        except RuntimeError:  # the loop closed: nobody is waiting for these answers
            pass


def _settle(answers: list[Answer]) -> None:
    """On the event loop: resolve each request's future (a cancelled request is skipped)."""
    for pending, result in answers:
        if pending.future.done():
            continue
        if isinstance(result, BaseException):
            pending.future.set_exception(result)
        else:
            pending.future.set_result(result)
