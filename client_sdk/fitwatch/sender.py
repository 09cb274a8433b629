"""The background sender: batches points, journals them, ships them, retries, heartbeats.

The training thread only appends to an in-memory deque (`add_points`, `add_update`); it
never waits on the network and never sees an exception from here. Two threads do the rest:

- the journal thread wakes every `flush_interval_s` (or sooner when many points are
  queued) and writes what it found to the run's journal (write-ahead: a record is on disk
  before it is sent). It never touches the network, so however slow the server is, a
  process killed with SIGKILL loses at most what was logged since its last wake-up
  (issue 8: with one thread, a request waiting on a busy server held up the journal too,
  and a kill lost seconds of points);
- the shipper thread (online only) sends every unacknowledged record in order, merging
  small ones, and acknowledges each in the journal once the server stored it; it retries
  with backoff and sends the heartbeats.

Points are idempotent on the server by (run, key, scope, step), so resending after any
doubt (a timeout after the server committed) is harmless.

When is the sender done? One counter answers it: `_in_flight` counts every item handed to
the sender (a `log()`'s points, an update, the journal's records at start) until it is
*settled*: acknowledged by the server (online) or written to the journal (offline). The
training thread raises it before the item is queued, and the sender thread lowers it only
after the ack, both under one condition that `flush()` waits on. There is no moment in
which an item is counted nowhere (issue 8: `flush()` once looked at the queue and the
unacknowledged records separately, saw both empty while a batch moved from one to the
other, and `finish()` returned False with the server up).
"""

from __future__ import annotations

import collections
import itertools
import logging
import random
import threading
import time
import warnings
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from fitwatch import limits, refusals, wire
from fitwatch.client import Client
from fitwatch.codec import json_safe
from fitwatch.errors import FitwatchError, JournalError, RejectedError, ServerError, TransportError
from fitwatch.settings import ClientSettings, Mode
from fitwatch.spool import Journal, Record

logger = logging.getLogger("fitwatch")


class Warner:
    """`warnings.warn` once per cause, so a long outage prints one line, not thousands."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def warn(self, cause: str, message: str) -> None:
        with self._lock:
            if cause in self._seen:
                logger.debug("fitwatch: %s", message)
                return
            self._seen.add(cause)
        warnings.warn(f"fitwatch: {message}", RuntimeWarning, stacklevel=3)

    def forget(self, cause: str) -> None:
        with self._lock:
            self._seen.discard(cause)


class SenderState(StrEnum):
    created = "created"
    running = "running"
    closing = "closing"
    closed = "closed"


class Sender:
    """Ships one run's records to the server (or only to the journal when offline)."""

    def __init__(
        self,
        *,
        run_id: str,
        create_body: dict[str, Any],
        settings: ClientSettings,
        journal: Journal,
        warner: Warner,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.settings = settings
        self.journal = journal
        self.warner = warner
        self.state = SenderState.created
        self._create_body = json_safe(create_body)
        self._on_tick = on_tick
        self._queue: collections.deque[tuple[str, Any]] = collections.deque()
        self._queued_points = 0
        # Journaled records not yet acknowledged, each with the number of items it settles.
        self._unacked: collections.deque[tuple[Record, int]] = collections.deque()
        # Serialises the journal and `_unacked` between the two threads (and `close()`).
        self._journal_lock = threading.Lock()
        self._wake = threading.Event()  # the journal thread's
        self._ship_wake = threading.Event()  # the shipper's
        # Guards `_in_flight` only, never held across I/O, so `log()` never waits on a disk
        # write or a request.
        self._settled = threading.Condition()
        self._in_flight = 0
        self._client: Client | None = Client(settings) if settings.mode is Mode.online else None
        self._failures = 0
        self._retry_at = 0.0
        # Set by a 429's Retry-After; unlike `_retry_at`, an explicit flush does not skip it.
        self._rate_limited_until = 0.0
        self._next_heartbeat = 0.0
        self._stop = False
        self._thread = threading.Thread(
            target=self._loop, name=f"fitwatch-journal-{run_id[:8]}", daemon=True
        )
        self._shipper: threading.Thread | None = None
        if self._client is not None:
            self._shipper = threading.Thread(
                target=self._ship_loop, name=f"fitwatch-sender-{run_id[:8]}", daemon=True
            )
        self.sent_requests = 0
        # Why records still wait, for the warning when `close()` gives up on them.
        self._last_error: str | None = None
        self._request_started: float | None = None
        # Sequence numbers of records kept in memory only (the journal could not be written).
        self._in_memory: set[int] = set()
        # 429 answers: each one delays the next send by the server's Retry-After; what waits
        # stays in the journal and goes out merged into fewer, larger requests.
        self.rate_limited = 0

    # -- training-thread side (must stay cheap and never raise) -------------------
    def add_points(self, points: list[wire.Point]) -> None:
        self._hand_over()
        self._queue.append(("points", points))
        self._queued_points += len(points)
        if self._queued_points >= self.settings.max_points_per_request:
            self._wake.set()

    def add_update(self, body: dict[str, Any]) -> None:
        self._hand_over()
        self._queue.append(("update", json_safe(body)))
        self._wake.set()

    def _hand_over(self, items: int = 1) -> None:
        # Counted before it is queued: the sender thread cannot settle what is not counted.
        with self._settled:
            self._in_flight += items

    def _settle(self, items: int) -> None:
        with self._settled:
            self._in_flight -= items
            if self._in_flight == 0:
                self._settled.notify_all()

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, *, journal_create: bool = True) -> None:
        """Start the thread; the run's `create` record goes first into the journal."""
        for record in self.journal.pending():
            self._hand_over()
            self._journaled(record, 1)
        if journal_create:
            self._hand_over()
            with self._journal_lock:
                self._journaled(self._append("create", self._create_body), 1)
        self.state = SenderState.running
        self._thread.start()
        if self._shipper is not None:
            self._shipper.start()

    def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` s until everything queued is journaled and (online) acked."""
        deadline = time.monotonic() + timeout
        self._retry_at = 0.0  # an explicit flush retries now rather than after the backoff
        with self._settled:
            while self._in_flight:
                # Keep the threads from sleeping a whole flush interval between steps.
                self._wake.set()
                self._ship_wake.set()
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._alive():
                    return False
                self._settled.wait(min(remaining, 0.05))
        return True

    def _alive(self) -> bool:
        return self._thread.is_alive() and (self._shipper is None or self._shipper.is_alive())

    def close(self, timeout: float) -> bool:
        """Flush with a bounded wait, stop the thread; True if the server has everything."""
        if self.state in (SenderState.closing, SenderState.closed):
            return self._idle()
        self.state = SenderState.closing
        done = self.flush(timeout) if self._alive() else False
        self._stop = True
        self._wake.set()
        self._ship_wake.set()
        join_s = max(0.1, min(timeout, 1.0))
        self._thread.join(timeout=join_s)
        # Whatever is still queued is journaled here, so nothing is dropped.
        self._drain_to_journal()
        if self._shipper is not None:
            # It may be stuck in a slow request; it is a daemon and stops after that.
            self._shipper.join(timeout=join_s)
        if self._client is not None and self._shipper is not None and not self._shipper.is_alive():
            self._client.close()
        self.state = SenderState.closed
        return done and self._idle()

    @property
    def pending_records(self) -> int:
        return len(self._unacked)

    @property
    def pending_in_memory(self) -> int:
        """Pending records the journal could not hold: lost when the process ends."""
        return sum(1 for record, _ in self._unacked if record.seq in self._in_memory)

    def waiting_on(self) -> str:
        """What the records still pending wait for, in words (for the finish warning)."""
        started = self._request_started
        if started is not None:
            return f"a request has waited {time.monotonic() - started:.1f} s for the server's answer"
        if self._last_error is not None:
            return f"the last attempt failed: {self._last_error}"
        return "the sender stopped before it sent them"

    def _idle(self) -> bool:
        with self._settled:
            return self._in_flight == 0

    # -- journal thread ------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop:
            self._wake.wait(self.settings.flush_interval_s)
            self._wake.clear()
            try:
                if self._drain_to_journal():
                    self._ship_wake.set()
                if self._on_tick is not None:
                    self._on_tick()  # watchdogs run offline too
            except Exception as exc:  # noqa: BLE001 - the thread must survive anything
                self._warn_thread_error(exc)

    def _warn_thread_error(self, exc: Exception) -> None:
        self.warner.warn(
            f"sender:{type(exc).__name__}",
            f"sender error (data kept in the journal): {exc!r}",
        )

    # -- shipper thread -------------------------------------------------------------------
    def _ship_loop(self) -> None:
        assert self._client is not None
        while not self._stop:
            self._ship_wake.wait(self.settings.flush_interval_s)
            self._ship_wake.clear()
            try:
                self._ship_step(self._client)
            except Exception as exc:  # noqa: BLE001 - the thread must survive anything
                self._warn_thread_error(exc)

    def _ship_step(self, client: Client) -> None:
        now = time.monotonic()
        if self._unacked and now >= max(self._retry_at, self._rate_limited_until):
            self._ship(client)
        if now >= self._next_heartbeat and self._failures == 0:
            self._next_heartbeat = now + self.settings.heartbeat_interval_s
            try:
                client.heartbeat(self.run_id)
            except FitwatchError as exc:
                logger.debug("fitwatch: heartbeat failed: %s", exc)

    def _drain_to_journal(self) -> bool:
        """Journal everything queued; True if a record was written."""
        with self._journal_lock:
            before = len(self._unacked)
            points: list[wire.Point] = []
            items = 0  # queue items merged into `points`
            while self._queue:
                kind, payload = self._queue.popleft()
                if kind == "points":
                    self._queued_points -= len(payload)
                    points.extend(payload)
                    items += 1
                    if len(points) >= self.settings.max_points_per_request:
                        self._journal_points(points, items)
                        points, items = [], 0
                else:
                    self._journal_points(points, items)
                    points, items = [], 0
                    self._journaled(self._append("update", payload), 1)
            self._journal_points(points, items)
            return len(self._unacked) > before

    def _journal_points(self, points: list[wire.Point], items: int) -> None:
        # No record holds more points than a request may carry (the server's ceiling, from
        # whoami): one log() of many keys would otherwise make a record the server refuses.
        ceiling = self.settings.max_points_per_request
        while len(points) > ceiling:
            self._journaled(self._append("points", wire.encode_points(points[:ceiling])), 0)
            points = points[ceiling:]
        if points:
            # More entries than the server takes in one request (one log() of 10,001 keys)
            # would be refused whole: journaled in pieces. The items settle with the last of
            # their records: records are acked in order.
            pieces = wire.split_body(wire.encode_points(points), limits.SERIES_PER_REQUEST_MAX)
            for i, body in enumerate(pieces):
                last = i == len(pieces) - 1
                self._journaled(self._append("points", body), items if last else 0)
        elif items:
            self._settle(items)  # only empty lists: nothing to send

    def _append(self, op: str, body: dict[str, Any]) -> Record:
        """Journal a record; if the disk refuses it (full, read-only), keep it in memory only.

        The record is still sent: a journal that cannot be written costs the crash safety of
        what is logged meanwhile, never the points themselves (issue 8: they were taken off
        the queue, then lost with the failed write).
        """
        try:
            return self.journal.append(op, body)
        except (JournalError, TypeError, ValueError) as exc:
            # TypeError/ValueError: a body json cannot write (a value of a foreign type from
            # `add_points`); the request's own encoding then refuses it, and it is set aside.
            self.warner.warn(
                "journal-write",
                f"cannot write the journal ({exc}); points are still sent, but what is logged "
                "until the disk has room is lost if this process is killed or ends first",
            )
            record = self.journal.append_in_memory(op, body)
            self._in_memory.add(record.seq)
            return record

    def _journaled(self, record: Record, items: int) -> None:
        """`record` is on disk: offline that settles it; online it waits for the server's ack."""
        if self.settings.mode is Mode.offline:
            # Not kept in memory: nothing will send it from here, and a long offline run
            # held every record it logged until the process ended.
            self._settle(items)
            return
        self._unacked.append((record, items))

    def _next_batch(self) -> list[Record]:
        """The oldest unacknowledged record, with the points records after it that fit."""
        with self._journal_lock:  # the journal thread appends meanwhile
            if not self._unacked:
                return []
            first = self._unacked[0][0]
            # After an outage many small records wait: send them as one request.
            batch = [first]
            if first.op == "points":
                total = wire.count_points(first.body)
                entries = wire.count_entries(first.body)
                for record, _ in itertools.islice(self._unacked, 1, None):
                    if record.op != "points":
                        break
                    total += wire.count_points(record.body)
                    # Merging never makes more entries than the records have together.
                    entries += wire.count_entries(record.body)
                    if (
                        total > self.settings.max_points_per_request
                        or entries > limits.SERIES_PER_REQUEST_MAX
                    ):
                        break
                    batch.append(record)
            return batch

    def _ship(self, client: Client) -> None:
        while not self._stop:
            batch = self._next_batch()
            if not batch:
                return
            self._request_started = time.monotonic()
            try:
                refused = self._send(client, batch)
            except RejectedError as exc:
                self._failed(exc)
                # A refused token (revoked, expired) or a refused create (every record needs
                # the run) is fixed by a person, not by dropping the data: it stays in the
                # journal for `fitwatch sync`, and finish() says it was not sent.
                self._back_off(exc)
                return
            except ServerError as exc:
                self._failed(exc)
                # A 503 (busy, locked or read-only database) waits at least its Retry-After
                # in `_back_off` and warns once: a read-only database needs a person.
                if exc.status_code != 429:
                    self._back_off(exc)
                    return
                self.rate_limited += 1
                wait = (
                    exc.retry_after_s
                    if exc.retry_after_s is not None
                    else self.settings.retry_base_s
                )
                self._rate_limited_until = time.monotonic() + wait
                logger.debug("fitwatch: rate limited by the server; sending again in %.1f s", wait)
                return
            except TransportError as exc:
                self._failed(exc)
                self._back_off(exc)
                return
            self._request_started = None
            self._last_error = None
            if refused:
                self._set_aside(batch[0], refused)
            self._ack(batch)
            if self._failures:
                logger.info("fitwatch: the server at %s is back", self.settings.url)
                self._failures = 0
                self.warner.forget("offline")

    def _failed(self, exc: FitwatchError) -> None:
        self._request_started = None
        self._last_error = str(exc)

    def _back_off(self, exc: FitwatchError) -> None:
        """The server is unreachable or failing: wait longer after each failure, warn once."""
        self._failures += 1
        delay = min(self.settings.retry_max_s, self.settings.retry_base_s * 2 ** (self._failures - 1))
        delay *= random.uniform(0.5, 1.5)
        # A 503's Retry-After (the server's database is locked or read-only) says when trying
        # again can help: never sooner.
        retry_after = exc.retry_after_s if isinstance(exc, ServerError) else None
        self._retry_at = time.monotonic() + max(delay, retry_after or 0.0)
        if isinstance(exc, ServerError):
            problem = f"the server at {self.settings.url} cannot take points now"
        else:
            problem = f"cannot reach the server at {self.settings.url}"
        self.warner.warn(
            "offline",
            f"{problem} ({exc}); points are kept in {self.journal.directory} and sent when it is back",
        )

    def _send(self, client: Client, batch: list[Record]) -> refusals.Refused:
        """Send `batch` as one request; returns the parts the server refused, with its
        reasons (`refusals.py`: one bad point must not cost the points sent with it).

        Errors other than a refusal of the data (the server down or busy, a refused token)
        propagate: the whole batch stays in the journal and is sent again later, which is
        harmless (points are idempotent by step).
        """
        body = batch[0].body if len(batch) == 1 else wire.merge_bodies(r.body for r in batch)
        return refusals.send(lambda op, part: self._request(client, op, part), batch[0].op, body)

    def _request(self, client: Client, op: str, body: dict[str, Any], *, created: bool = False) -> None:
        self.sent_requests += 1
        try:
            if op == "create":
                client.create_run(body)
            elif op == "points":
                client.post_points(self.run_id, body)
            else:
                client.update_run(self.run_id, body)
        except ServerError as exc:
            if exc.status_code != 404 or op == "create" or created:
                raise
            # The server does not know the run (it was down when we created it, or its
            # database was replaced): create it again, idempotently, and resend.
            try:
                client.create_run(self._create_body)
            except RejectedError as refused:
                # Not this record's fault: it stays in the journal, not set aside.
                raise ServerError(
                    f"the server refuses to create run {self.run_id} again: {refused}",
                    status_code=refused.status_code,
                    detail=refused.detail,
                ) from refused
            self._request(client, op, body, created=True)

    def _ack(self, batch: list[Record]) -> None:
        with self._journal_lock:
            items = sum(self._unacked.popleft()[1] for _ in batch)
            try:
                self.journal.ack(batch[-1].seq)
                if not self._unacked:
                    self.journal.compact(self._create_body)
            except JournalError as exc:
                # The server has the records: an ack line that cannot be written only means
                # they are sent again after a crash, which is harmless (idempotent).
                self.warner.warn("journal-ack", f"{exc}; sending goes on")
        self._settle(items)

    def _set_aside(self, first: Record, refused: refusals.Refused) -> None:
        """Keep what the server refused beside the journal, for a person (never resent)."""
        with self._journal_lock:
            for body, reason in refused:
                self.journal.set_aside(Record(first.seq, first.op, body), reason)
        self.warner.warn(
            f"rejected:{first.op}",
            f"the server refused {refusals.describe(first.op, refused)} (the rest of the request "
            f"was stored); they are kept in {self.journal.rejected_path}, with its answer: "
            f"{refused[0][1]}",
        )
