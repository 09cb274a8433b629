"""The in-process live hub: who subscribes to what, coalescing, and fan-out of committed changes.

The REST routes call `publish_*` after each commit; the websocket route (`api/routes/live.py`)
registers one `Subscriber` per connection and drains its queue. Publishing never awaits a
client: it serialises each message once and offers the text to every interested subscriber,
whose queue is bounded (`subscriber.py`: overflow becomes one `resync` message, issue 4).

One process serves SQLite with this class alone. With PostgreSQL, `pg_notify.PgNotifyHub`
extends it to fan out across workers; both share everything here.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar, cast

import orjson
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from fitwatch.scopes import carries_epochs
from fitwatch_server import schemas
from fitwatch_server.live import protocol, replay
from fitwatch_server.live.subscriber import Subscriber
from fitwatch_server.settings import Settings
from fitwatch_server.values import list_to_wire

logger = logging.getLogger(__name__)

# Series summaries feed a runs table, which needs no more than one update a second; each costs
# a database read, so they are throttled harder than points.
SUMMARY_INTERVAL_S = 1.0
# `crashed` is derived from missing heartbeats, so no request announces it: each worker looks
# this often (at most) for watched runs whose derived status changed.
STATUS_SWEEP_MAX_INTERVAL_S = 5.0
# One points message carries at most this many points (a huge ingest or a replay is chunked).
MAX_POINTS_PER_MESSAGE = 5000

K = TypeVar("K", bound=Hashable)


class HubState(StrEnum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


class Coalescer(Generic[K]):
    """Leading-edge throttle per key: the first touch after a quiet window fires at once; later
    touches within the window fire once, when it ends. Keeps latency low for a quiet series and
    the message rate bounded for a busy one."""

    def __init__(self, window_s: float, fire: Callable[[K], None]) -> None:
        self.window_s = window_s
        self._fire_cb = fire
        self._last: dict[K, float] = {}
        self._scheduled: dict[K, asyncio.TimerHandle] = {}

    def touch(self, key: K) -> None:
        if key in self._scheduled:
            return
        loop = asyncio.get_running_loop()
        due = self._last.get(key, -math.inf) + self.window_s
        if due <= loop.time():
            self._fire(key)
        else:
            self._scheduled[key] = loop.call_at(due, self._fire, key)

    def _fire(self, key: K) -> None:
        self._scheduled.pop(key, None)
        now = asyncio.get_running_loop().time()
        self._last[key] = now
        if len(self._last) > 10_000:
            # Forget keys quiet for longer than the window, so the dict does not grow forever.
            self._last = {k: t for k, t in self._last.items() if now - t < self.window_s}
        try:
            self._fire_cb(key)
        except Exception:
            logger.exception("live hub: flushing %r failed", key)

    def cancel_all(self) -> None:
        for handle in self._scheduled.values():
            handle.cancel()
        self._scheduled.clear()


@dataclass(slots=True)
class SeriesPoints:
    """Points of one series as the hub carries them: floats, NaN as NaN (not yet on the wire)."""

    key: str
    scope: str
    steps: list[int]
    values: list[float]
    times: list[float]
    epochs: list[int | None] | None


def series_from_batch(batch: schemas.PointBatchIn) -> list[SeriesPoints]:
    """The batch's series for the hub. Their lists are the batch's own, not copies: nothing
    changes a batch once validated, and copying (a float() call per value) cost ~2 ms per
    10,000 points on every ingest with PostgreSQL, whose hub always sends what it stores."""
    return [
        SeriesPoints(
            key=s.key,
            scope=s.scope.value,
            steps=s.steps,
            # Validated by WireFloat: floats by now (NaN as float NaN).
            values=cast(list[float], s.values),
            times=s.times,
            epochs=cast(list[int | None], s.epochs),
        )
        for s in batch.series
    ]


SeriesId = tuple[str, str, str]  # (run_id, key, scope)


@dataclass(slots=True)
class _Pending:
    """Points of one series waiting for the end of its coalescing window; a step's last value wins."""

    points: dict[int, tuple[float, float, int | None]] = field(default_factory=dict)
    has_epochs: bool = False


def points_messages(
    run_id: str, key: str, scope: str, rows: list[tuple[int, float, float, int | None]],
    *, has_epochs: bool, replay_: bool = False,
) -> list[str]:
    """Serialised `points` messages for sorted rows (step, value, time, epoch), chunked.

    The JSON is `protocol.Points`'s, field for field, written by orjson with each values
    column encoded once (`values.list_to_wire`): pydantic called the codec's Python function
    per value, and this ran for every series of every ingest (~5% of the event loop in
    `bench/soak.py`). The values came from validated requests or the database."""
    texts = []
    for start in range(0, len(rows), MAX_POINTS_PER_MESSAGE):
        chunk = rows[start : start + MAX_POINTS_PER_MESSAGE]
        message = {
            "type": "points",
            "run_id": run_id,
            "key": key,
            "scope": scope,
            "steps": [r[0] for r in chunk],
            "values": list_to_wire([r[1] for r in chunk]),
            "times": [r[2] for r in chunk],
            "epochs": [r[3] for r in chunk] if has_epochs else None,
            "replay": replay_,
        }
        texts.append(orjson.dumps(message).decode())
    return texts


class Hub:
    """Receives committed changes and fans them out to this process's subscribers."""

    backend = "memory"

    def __init__(self, settings: Settings, factory: sessionmaker[Session]) -> None:
        self.settings = settings
        self.factory = factory
        self.state = HubState.NEW
        self._subscribers: set[Subscriber] = set()
        self._by_run: dict[str, set[Subscriber]] = {}
        self._by_project: dict[str, set[Subscriber]] = {}
        self._by_layout: dict[str, set[Subscriber]] = {}
        self._project_of: dict[str, str] = {}
        self._pending: dict[SeriesId, _Pending] = {}
        self._points = Coalescer[SeriesId](settings.live_coalesce_s, self._flush_points)
        self._summary_keys: dict[str, set[tuple[str, str]]] = {}
        self._summaries = Coalescer[str](SUMMARY_INTERVAL_S, self._flush_summary)
        self._tasks: set[asyncio.Task[None]] = set()
        # Last status each watched running run was reported with (for crashed <-> running).
        self._reported_status: dict[str, str] = {}

    # --- lifecycle ---

    async def start(self) -> None:
        self.state = HubState.RUNNING
        self._spawn(self._sweep_statuses())

    async def stop(self) -> None:
        self.state = HubState.STOPPED
        self._points.cancel_all()
        self._summaries.cancel_all()
        for task in list(self._tasks):
            task.cancel()
        for subscriber in list(self._subscribers):
            subscriber.close()

    def status(self) -> dict[str, object]:
        states: dict[str, int] = {}
        for subscriber in self._subscribers:
            states[subscriber.state.value] = states.get(subscriber.state.value, 0) + 1
        return {
            "backend": self.backend,
            "state": self.state.value,
            "subscribers": len(self._subscribers),
            "subscriber_states": states,
            "overflows": sum(s.overflows for s in self._subscribers),
        }

    # --- publishing (REST routes, after commit) ---

    async def publish_points(self, run_id: str, batch: schemas.PointBatchIn) -> None:
        """Called after an ingest transaction committed."""
        # Copying a 10,000-point batch costs ~2 ms on the ingest path: skip it when nobody
        # in this process listens to the run.
        if self.wants_points(run_id) or self.wants_summaries(run_id):
            self.deliver_points(run_id, series_from_batch(batch))

    async def publish_run(self, run: schemas.RunPublic, *, previous_project: str | None = None) -> None:
        """Called after a run was created or changed (`previous_project`: it moved from there)."""
        self.deliver_run(run, previous_project=previous_project)

    async def publish_run_deleted(self, run_id: str, project: str) -> None:
        """Called after a run was deleted."""
        self.deliver_run_deleted(run_id, project)

    async def publish_layout(self, layout: schemas.ProjectLayoutPublic) -> None:
        """Called after a project's chart layout was saved."""
        self.deliver_layout(layout)

    # --- delivery to this process's subscribers (also used by pg_notify) ---

    def deliver_layout(self, layout: schemas.ProjectLayoutPublic) -> None:
        text = protocol.encode(protocol.LayoutChanged(layout=layout))
        for subscriber in self._by_layout.get(layout.project, ()):
            subscriber.offer(text)

    def wants_points(self, run_id: str) -> bool:
        return bool(self._by_run.get(run_id))

    def wants_summaries(self, run_id: str) -> bool:
        if self._by_run.get(run_id):
            return True
        project = self._project_of.get(run_id)
        # Unknown project: read it with the summary if anyone watches any project.
        return bool(self._by_project.get(project)) if project else bool(self._by_project)

    def deliver_points(self, run_id: str, series: list[SeriesPoints]) -> None:
        wants_points = self.wants_points(run_id)
        if wants_points:
            for s in series:
                sid = (run_id, s.key, s.scope)
                pending = self._pending.setdefault(sid, _Pending())
                epochs: Iterable[int | None] = s.epochs if s.epochs is not None else [None] * len(s.steps)
                pending.has_epochs = pending.has_epochs or carries_epochs(s.scope)
                for step, value, wall_time, epoch in zip(s.steps, s.values, s.times, epochs, strict=True):
                    pending.points[step] = (value, wall_time, epoch)
            for s in series:
                self._points.touch((run_id, s.key, s.scope))
        if self.wants_summaries(run_id):
            self._summary_keys.setdefault(run_id, set()).update((s.key, s.scope) for s in series)
            self._summaries.touch(run_id)

    def deliver_run(self, run: schemas.RunPublic, *, previous_project: str | None = None) -> None:
        self._project_of[run.id] = run.project
        self._reported_status[run.id] = run.status.value
        text = protocol.encode(protocol.RunChanged(run=run.model_copy(update={"series": None})))
        audience = self._audience(run.id, run.project)
        # Connections of a token bound to another project were subscribed to the run while it
        # was in theirs: it is gone for them (no message, point or summary of it any more).
        outsiders: set[Subscriber] = set()
        for subscriber in audience:
            bound = subscriber.bound_project
            if bound is None or bound == run.project:
                continue
            outsiders.add(subscriber)
            self.unsubscribe(subscriber, runs=[run.id], projects=())
            subscriber.offer(protocol.encode(protocol.RunDeleted(run_id=run.id, project=bound)))
        audience -= outsiders
        if previous_project is not None:
            # Pages of the project it left see it go; they learn nothing of where it went
            # (a token bound to that project may not see the new one).
            gone = protocol.encode(protocol.RunDeleted(run_id=run.id, project=previous_project))
            for subscriber in self._audience(run.id, previous_project) - audience - outsiders:
                subscriber.offer(gone)
        for subscriber in audience:
            subscriber.offer(text)

    def deliver_run_deleted(self, run_id: str, project: str) -> None:
        text = protocol.encode(protocol.RunDeleted(run_id=run_id, project=project))
        for subscriber in self._audience(run_id, project):
            subscriber.offer(text)
        self._project_of.pop(run_id, None)
        for sid in [sid for sid in self._pending if sid[0] == run_id]:
            del self._pending[sid]
        self._summary_keys.pop(run_id, None)

    def resync_all(self, reason: str) -> None:
        """Tell every connection to refetch (e.g. notifications from other workers were lost)."""
        for subscriber in self._subscribers:
            subscriber.resync(reason)

    def _audience(self, run_id: str, project: str | None) -> set[Subscriber]:
        audience = set(self._by_run.get(run_id, ()))
        if project is not None:
            audience.update(self._by_project.get(project, ()))
        return audience

    def _flush_points(self, sid: SeriesId) -> None:
        pending = self._pending.pop(sid, None)
        if pending is None or not pending.points:
            return
        run_id, key, scope = sid
        subscribers = self._by_run.get(run_id)
        if not subscribers:
            return
        rows = [(step, *pending.points[step]) for step in sorted(pending.points)]
        for text in points_messages(run_id, key, scope, rows, has_epochs=pending.has_epochs):
            for subscriber in subscribers:
                subscriber.offer(text)

    async def _sweep_statuses(self) -> None:
        """Report runs that turned `crashed` (no heartbeat) or came back to `running`."""
        interval = min(STATUS_SWEEP_MAX_INTERVAL_S, self.settings.heartbeat_timeout_s / 4)
        while True:
            await asyncio.sleep(interval)
            if not self._by_run and not self._by_project:
                self._reported_status.clear()
                continue
            try:
                runs = await run_in_threadpool(
                    replay.read_running_runs, self.factory, run_ids=set(self._by_run),
                    projects=set(self._by_project), heartbeat_timeout_s=self.settings.heartbeat_timeout_s,
                )
            except Exception:
                logger.exception("live hub: reading run statuses failed")
                continue
            seen = {}
            for run in runs:
                seen[run.id] = run.status.value
                before = self._reported_status.get(run.id)
                if before is not None and before != run.status.value:
                    self.deliver_run(run)
            self._reported_status = seen

    def _flush_summary(self, run_id: str) -> None:
        keys = self._summary_keys.pop(run_id, set())
        if keys:
            self._spawn(self._send_summary(run_id, keys))

    async def _send_summary(self, run_id: str, keys: set[tuple[str, str]]) -> None:
        found = await run_in_threadpool(replay.read_summaries, self.factory, run_id=run_id, keys=keys)
        if found is None:
            return
        project, series = found
        self._project_of[run_id] = project
        text = protocol.encode(protocol.SeriesChanged(run_id=run_id, project=project, series=series))
        for subscriber in self._audience(run_id, project):
            subscriber.offer(text)

    def _spawn(self, coroutine: object) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("live hub task failed", exc_info=task.exception())

    # --- subscriptions (websocket route) ---

    def connect(self) -> Subscriber:
        subscriber = Subscriber(queue_size=self.settings.live_queue_size)
        self._subscribers.add(subscriber)
        return subscriber

    def disconnect(self, subscriber: Subscriber) -> None:
        self.unsubscribe(
            subscriber, runs=list(subscriber.runs), projects=list(subscriber.projects), layouts=list(subscriber.layouts)
        )
        subscriber.close()
        self._subscribers.discard(subscriber)

    def subscribe(
        self, subscriber: Subscriber, *, runs: Iterable[str], projects: Iterable[str], layouts: Iterable[str] = ()
    ) -> None:
        for project in layouts:
            subscriber.layouts.add(project)
            self._by_layout.setdefault(project, set()).add(subscriber)
        for run_id in runs:
            subscriber.runs.add(run_id)
            self._by_run.setdefault(run_id, set()).add(subscriber)
        for project in projects:
            subscriber.projects.add(project)
            self._by_project.setdefault(project, set()).add(subscriber)

    def unsubscribe(
        self, subscriber: Subscriber, *, runs: Iterable[str], projects: Iterable[str], layouts: Iterable[str] = ()
    ) -> None:
        for project in layouts:
            subscriber.layouts.discard(project)
            _discard(self._by_layout, project, subscriber)
        for run_id in runs:
            subscriber.runs.discard(run_id)
            _discard(self._by_run, run_id, subscriber)
        for project in projects:
            subscriber.projects.discard(project)
            _discard(self._by_project, project, subscriber)


def _discard(index: dict[str, set[Subscriber]], name: str, subscriber: Subscriber) -> None:
    members = index.get(name)
    if members is not None:
        members.discard(subscriber)
        if not members:
            del index[name]
