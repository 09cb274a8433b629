"""The background sender: batches points, journals them, ships them, retries, heartbeats.

The training thread only appends to an in-memory deque (`add_points`, `add_update`); it
never waits on the network and never sees an exception from here. The sender thread
wakes every `flush_interval_s` (or sooner when many points are queued), writes what
it found to the run's journal (write-ahead: a record is on disk before it is sent, so a
crash or an outage loses nothing), then sends every unacknowledged record in order and
acknowledges it. Points are idempotent on the server by (run, key, scope, step), so
resending after any doubt (a timeout after the server committed) is harmless.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
import warnings
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from fitwatch import wire
from fitwatch.client import Client, json_safe
from fitwatch.errors import FitwatchError, RejectedError, ServerError, TransportError
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
        self._unacked: collections.deque[Record] = collections.deque()
        self._journal_lock = threading.Lock()
        self._wake = threading.Event()
        self._progress = threading.Condition()
        self._client: Client | None = Client(settings) if settings.mode is Mode.online else None
        self._failures = 0
        self._retry_at = 0.0
        # Set by a 429's Retry-After; unlike `_retry_at`, an explicit flush does not skip it.
        self._rate_limited_until = 0.0
        self._next_heartbeat = 0.0
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name=f"fitwatch-sender-{run_id[:8]}", daemon=True)
        self.sent_requests = 0
        # 429 answers: each one delays the next send by the server's Retry-After; what waits
        # stays in the journal and goes out merged into fewer, larger requests.
        self.rate_limited = 0

    # -- training-thread side (must stay cheap and never raise) -------------------
    def add_points(self, points: list[wire.Point]) -> None:
        self._queue.append(("points", points))
        self._queued_points += len(points)
        if self._queued_points >= self.settings.max_points_per_request:
            self._wake.set()

    def add_update(self, body: dict[str, Any]) -> None:
        self._queue.append(("update", json_safe(body)))
        self._wake.set()

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, *, journal_create: bool = True) -> None:
        """Start the thread; the run's `create` record goes first into the journal."""
        for record in self.journal.pending():
            self._unacked.append(record)
        if journal_create:
            with self._journal_lock:
                self._unacked.append(self.journal.append("create", self._create_body))
        self.state = SenderState.running
        self._thread.start()

    def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` s until everything queued is journaled and (online) acked."""
        deadline = time.monotonic() + timeout
        self._retry_at = 0.0  # an explicit flush retries now rather than after the backoff
        self._wake.set()
        with self._progress:
            while not self._idle():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return self._idle()
                self._progress.wait(min(remaining, 0.05))
                self._wake.set()
        return True

    def close(self, timeout: float) -> bool:
        """Flush with a bounded wait, stop the thread; True if the server has everything."""
        if self.state in (SenderState.closing, SenderState.closed):
            return self._idle()
        self.state = SenderState.closing
        done = self.flush(timeout) if self._thread.is_alive() else False
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=max(0.1, min(timeout, 1.0)))
        # Whatever the thread could not journal (it may be stuck in a slow request) is
        # journaled here, so nothing is dropped.
        self._drain_to_journal()
        if self._client is not None and not self._thread.is_alive():
            self._client.close()
        self.state = SenderState.closed
        return done and self._idle()

    @property
    def pending_records(self) -> int:
        return len(self._unacked)

    def _idle(self) -> bool:
        # Under the journal lock: `_drain_to_journal` pops a record off the queue before it
        # is in `_unacked`, and in between both look empty (a flush then returned early and
        # left the run's last record unsent).
        with self._journal_lock:
            if self._queue:
                return False
            return self.settings.mode is Mode.offline or not self._unacked

    # -- sender thread -------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop:
            self._wake.wait(self.settings.flush_interval_s)
            self._wake.clear()
            try:
                self._step()
            except Exception as exc:  # noqa: BLE001 - the thread must survive anything
                self.warner.warn(f"sender:{type(exc).__name__}", f"sender error (data kept in the journal): {exc!r}")
            with self._progress:
                self._progress.notify_all()

    def _step(self) -> None:
        self._drain_to_journal()
        if self._on_tick is not None:
            self._on_tick()  # watchdogs run offline too
        if self._client is None:
            return
        now = time.monotonic()
        if self._unacked and now >= max(self._retry_at, self._rate_limited_until):
            self._ship(self._client)
        if now >= self._next_heartbeat and self._failures == 0:
            self._next_heartbeat = now + self.settings.heartbeat_interval_s
            try:
                self._client.heartbeat(self.run_id)
            except FitwatchError as exc:
                logger.debug("fitwatch: heartbeat failed: %s", exc)

    def _drain_to_journal(self) -> None:
        with self._journal_lock:
            points: list[wire.Point] = []
            while self._queue:
                kind, payload = self._queue.popleft()
                if kind == "points":
                    self._queued_points -= len(payload)
                    points.extend(payload)
                    if len(points) >= self.settings.max_points_per_request:
                        self._journal_points(points)
                        points = []
                else:
                    self._journal_points(points)
                    points = []
                    self._unacked.append(self.journal.append("update", payload))
            self._journal_points(points)

    def _journal_points(self, points: list[wire.Point]) -> None:
        if points:
            self._unacked.append(self.journal.append("points", wire.encode_points(points)))

    def _ship(self, client: Client) -> None:
        while self._unacked and not self._stop:
            first = self._unacked[0]
            # After an outage many small records wait: send them as one request.
            batch = [first]
            if first.op == "points":
                total = wire.count_points(first.body)
                for record in list(self._unacked)[1:]:
                    if record.op != "points":
                        break
                    total += wire.count_points(record.body)
                    if total > self.settings.max_points_per_request:
                        break
                    batch.append(record)
            try:
                self._send(client, first.op, batch)
            except RejectedError as exc:
                # Resending cannot fix a malformed request; keep it beside the journal
                # for a human rather than block every later record behind it.
                self.warner.warn(
                    f"rejected:{exc.status_code}",
                    f"the server rejected a request; it is kept in {self.journal.directory}: {exc}",
                )
                self._keep_rejected(batch, str(exc))
            except ServerError as exc:
                if exc.status_code != 429:
                    self._back_off(exc)
                    return
                self.rate_limited += 1
                wait = exc.retry_after_s if exc.retry_after_s is not None else self.settings.retry_base_s
                self._rate_limited_until = time.monotonic() + wait
                logger.debug("fitwatch: rate limited by the server; sending again in %.1f s", wait)
                return
            except TransportError as exc:
                self._back_off(exc)
                return
            self._ack(batch)
            if self._failures:
                logger.info("fitwatch: the server at %s is back", self.settings.url)
                self._failures = 0
                self.warner.forget("offline")

    def _back_off(self, exc: FitwatchError) -> None:
        """The server is unreachable or failing: wait longer after each failure, warn once."""
        self._failures += 1
        delay = min(self.settings.retry_max_s, self.settings.retry_base_s * 2 ** (self._failures - 1))
        delay *= random.uniform(0.5, 1.5)
        # A 503's Retry-After (the server's database is locked or read-only) says when trying
        # again can help: never sooner.
        retry_after = exc.retry_after_s if isinstance(exc, ServerError) else None
        self._retry_at = time.monotonic() + max(delay, retry_after or 0.0)
        self.warner.warn(
            "offline",
            f"cannot reach the server at {self.settings.url} ({exc}); points are kept in "
            f"{self.journal.directory} and sent when it is back",
        )

    def _send(self, client: Client, op: str, batch: list[Record]) -> None:
        self.sent_requests += 1
        try:
            if op == "create":
                client.create_run(batch[0].body)
            elif op == "points":
                body = batch[0].body if len(batch) == 1 else wire.merge_bodies(r.body for r in batch)
                client.post_points(self.run_id, body)
            else:
                client.update_run(self.run_id, batch[0].body)
        except ServerError as exc:
            if exc.status_code != 404 or op == "create":
                raise
            # The server does not know the run (it was down when we created it, or its
            # database was replaced): create it again, idempotently, and resend.
            client.create_run(self._create_body)
            self._send(client, op, batch)

    def _ack(self, batch: list[Record]) -> None:
        with self._journal_lock:
            self.journal.ack(batch[-1].seq)
            for _ in batch:
                self._unacked.popleft()
            if not self._unacked:
                self.journal.compact(self._create_body)

    def _keep_rejected(self, batch: list[Record], reason: str) -> None:
        import json

        path = self.journal.directory / "rejected.jsonl"
        with open(path, "a", encoding="utf-8") as handle:
            for record in batch:
                handle.write(json.dumps({"reason": reason, "seq": record.seq, "op": record.op, "body": record.body}) + "\n")
        self._ack(batch)
