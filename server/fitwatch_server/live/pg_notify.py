"""Live fan-out across workers and hosts through PostgreSQL LISTEN/NOTIFY (no extra broker).

Every worker runs a `PgNotifyHub`: it delivers what it publishes to its own subscribers at
once, and sends a notice on the channel `fitwatch_live`; every other worker LISTENs and
delivers the notice to its subscribers. PostgreSQL caps a payload at 8000 bytes, so:

- a small batch travels inside the notice (points in the REST wire format, chunked by series);
- a series too large for one notice is sent as a step range, and the receiving worker reads
  those points from the database (only if someone there subscribes to the run);
- a run change travels whole when it fits, else as its id (the receiver reads the run).

Notices are sent by one task that batches whatever is waiting into one statement, so an
ingest never waits for PostgreSQL a second time. If notices are lost (the LISTEN connection
dropped, or sending failed) the affected workers send `resync` to their connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from enum import StrEnum
from typing import Any

import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from fitwatch_server import schemas
from fitwatch_server.live import replay
from fitwatch_server.live.hub import Hub, SeriesPoints, series_from_batch
from fitwatch_server.settings import Settings
from fitwatch_server.values import from_wire, to_wire

logger = logging.getLogger(__name__)

CHANNEL = "fitwatch_live"
# PostgreSQL refuses payloads of 8000 bytes or more; keep a margin. Payloads are ASCII
# (json.dumps escapes the rest), so characters are bytes.
MAX_PAYLOAD_BYTES = 7900
START_TIMEOUT_S = 15.0
# Notices waiting to be sent; beyond this (PostgreSQL unreachable) they are dropped and the
# other workers are told to resync once the connection is back.
OUTBOX_SIZE = 10_000
MAX_NOTICES_PER_STATEMENT = 500
# A batch of more points than this travels as step ranges, whatever its series' sizes: a
# bulk upload (`fitwatch sync`, an import, 10,000-point requests) cost the sending worker
# ~1 us of CPU per point to encode inline (a 10,000-point batch is ~50 notices, 400 kB, that
# every worker, the sender too, receives and parses), more than storing the points. A
# receiving worker reads ranges from the database only if one of its clients charts the run.
# Live training sends small batches (a few points per series every 0.1 s): those stay inline.
MAX_INLINE_POINTS = 2_000
RECONNECT_MAX_DELAY_S = 5.0


class ListenerState(StrEnum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    LISTENING = "listening"
    RECONNECTING = "reconnecting"


def libpq_url(database_url: str) -> str:
    """`postgresql+psycopg://...` (SQLAlchemy) → `postgresql://...` (libpq)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _pack(head: str, entries: list[str]) -> list[str]:
    """Join entries into as few payloads `head + [e1,e2,...]}` as fit the limit."""
    payloads: list[str] = []
    current: list[str] = []
    size = len(head) + 2
    for entry in entries:
        if current and size + len(entry) + 1 > MAX_PAYLOAD_BYTES:
            payloads.append(head + "[" + ",".join(current) + "]}")
            current, size = [], len(head) + 2
        current.append(entry)
        size += len(entry) + 1
    if current:
        payloads.append(head + "[" + ",".join(current) + "]}")
    return payloads


def points_notices(worker_id: str, run_id: str, series: list[SeriesPoints]) -> list[str]:
    """Notices for one committed batch: inline points where they fit, step ranges elsewhere."""
    inline_head = _dumps({"w": worker_id, "t": "p", "r": run_id})[:-1] + ',"s":'
    range_head = _dumps({"w": worker_id, "t": "pr", "r": run_id})[:-1] + ',"s":'
    inline: list[str] = []
    ranges: list[str] = []
    bulk = sum(len(s.steps) for s in series) > MAX_INLINE_POINTS
    for s in series:
        if bulk and s.steps:
            ranges.append(_dumps([s.key, s.scope, min(s.steps), max(s.steps)]))
            continue
        entry = _dumps([s.key, s.scope, s.steps, [to_wire(v) for v in s.values], s.times, s.epochs])
        if len(inline_head) + len(entry) + 3 <= MAX_PAYLOAD_BYTES:
            inline.append(entry)
        else:
            ranges.append(_dumps([s.key, s.scope, min(s.steps), max(s.steps)]))
    return _pack(inline_head, inline) + _pack(range_head, ranges)


# Points notices begin `{"w":…,"t":"p"|"pr","r":…` and go on `,"s":[…]}` (`points_notices`).
# The first `,"s":` ends the head: inside a JSON string a quote is escaped, so none of the ids
# can hold that sequence.
_SERIES_FIELD = ',"s":'


def points_notice_run(payload: str) -> str | None:
    """The run of a points notice, read from its head without parsing its points; None for
    any other notice (and for anything unexpected: the caller then parses it whole)."""
    end = payload.find(_SERIES_FIELD)
    if end < 0:
        return None
    try:
        head = json.loads(payload[:end] + "}")
    except ValueError:
        return None
    if not isinstance(head, dict) or head.get("t") not in ("p", "pr"):
        return None
    run_id = head.get("r")
    return run_id if isinstance(run_id, str) else None


def run_notice(
    worker_id: str, run: schemas.RunPublic, *, previous_project: str | None = None
) -> str:
    moved = {"pp": previous_project} if previous_project is not None else {}
    whole = _dumps(
        {"w": worker_id, "t": "r", "r": run.id, "run": run.model_dump(mode="json"), **moved}
    )
    if len(whole) <= MAX_PAYLOAD_BYTES:
        return whole
    return _dumps({"w": worker_id, "t": "r", "r": run.id, **moved})


class PgNotifyHub(Hub):
    """The live hub of one worker among several on one PostgreSQL database."""

    backend = "postgres"

    def __init__(self, settings: Settings, factory: sessionmaker[Session]) -> None:
        super().__init__(settings, factory)
        self.worker_id = uuid.uuid4().hex[:12]
        # Every notice begins so (`_dumps` of a dict whose first key is "w"): this worker's
        # own are recognised without parsing them.
        self._own_prefix = _dumps({"w": self.worker_id})[:-1]
        self.conninfo = libpq_url(settings.database_url)
        self.listener_state = ListenerState.STOPPED
        self.notices_sent = 0
        self.notices_received = 0
        self._listening = asyncio.Event()
        self._outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=OUTBOX_SIZE)
        self._lost_notices = False
        self._background: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await super().start()
        self._background = [
            asyncio.create_task(self._listen_forever(), name="fitwatch-live-listen"),
            asyncio.create_task(self._send_forever(), name="fitwatch-live-notify"),
        ]
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                await self._listening.wait()
        except TimeoutError:
            await self.stop()
            raise RuntimeError(
                f"the live hub could not LISTEN on PostgreSQL within {START_TIMEOUT_S:.0f} s; "
                f"check that the database is reachable. Received: "
                f"{make_url(self.settings.database_url).render_as_string(hide_password=True)}"
            )

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._background = []
        self.listener_state = ListenerState.STOPPED
        await super().stop()

    def status(self) -> dict[str, object]:
        return {
            **super().status(),
            "worker": self.worker_id,
            "listener": self.listener_state.value,
            "notices_sent": self.notices_sent,
            "notices_received": self.notices_received,
        }

    # --- publishing: local delivery now, a notice for the other workers ---

    async def publish_points(self, run_id: str, batch: schemas.PointBatchIn) -> None:
        series = series_from_batch(batch)
        self.deliver_points(run_id, series)
        self._queue_notices(points_notices(self.worker_id, run_id, series))

    async def publish_run(
        self, run: schemas.RunPublic, *, previous_project: str | None = None
    ) -> None:
        self.deliver_run(run, previous_project=previous_project)
        self._queue_notices([run_notice(self.worker_id, run, previous_project=previous_project)])

    async def publish_run_deleted(self, run_id: str, project: str) -> None:
        self.deliver_run_deleted(run_id, project)
        self._queue_notices([_dumps({"w": self.worker_id, "t": "d", "r": run_id, "p": project})])

    async def publish_layout(self, layout: schemas.ProjectLayoutPublic) -> None:
        self.deliver_layout(layout)
        whole = _dumps({"w": self.worker_id, "t": "l", "layout": layout.model_dump(mode="json")})
        if len(whole) > MAX_PAYLOAD_BYTES:  # the other workers read it from the database
            whole = _dumps(
                {"w": self.worker_id, "t": "l", "p": layout.project, "g": layout.page.value}
            )
        self._queue_notices([whole])

    def _queue_notices(self, payloads: list[str]) -> None:
        for payload in payloads:
            try:
                self._outbox.put_nowait(payload)
            except asyncio.QueueFull:
                self._lost_notices = True

    async def _send_forever(self) -> None:
        delay = 0.1
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as conn:
                    delay = 0.1
                    if self._lost_notices:
                        await self._send(conn, [_dumps({"w": self.worker_id, "t": "lost"})])
                        self._lost_notices = False
                    while True:
                        batch = [await self._outbox.get()]
                        while len(batch) < MAX_NOTICES_PER_STATEMENT and not self._outbox.empty():
                            batch.append(self._outbox.get_nowait())
                        try:
                            await self._send(conn, batch)
                        except psycopg.Error:
                            self._lost_notices = True
                            raise
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any failure: reconnect, others resync
                logger.warning(
                    "live: sending notices to PostgreSQL failed (%s); retrying in %.1f s",
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY_S)

    async def _send(self, conn: psycopg.AsyncConnection[Any], payloads: list[str]) -> None:
        # One round trip for everything waiting; notices of one statement keep their order.
        await conn.execute(
            "SELECT pg_notify(%s, payload) FROM unnest(%s::text[]) WITH ORDINALITY AS t(payload, n) ORDER BY n",
            (CHANNEL, payloads),
        )
        self.notices_sent += len(payloads)

    # --- receiving ---

    async def _listen_forever(self) -> None:
        delay = 0.1
        listened_before = False
        while True:
            self.listener_state = (
                ListenerState.RECONNECTING if listened_before else ListenerState.CONNECTING
            )
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listener_state = ListenerState.LISTENING
                    if listened_before:
                        self.resync_all(
                            "this worker's LISTEN connection to PostgreSQL was re-established; "
                            "updates from other workers may have been missed"
                        )
                    listened_before = True
                    delay = 0.1
                    self._listening.set()
                    async for notify in conn.notifies():
                        await self._on_notice(notify.payload)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any failure: reconnect
                logger.warning(
                    "live: LISTEN connection to PostgreSQL lost (%s); retrying in %.1f s",
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY_S)

    async def _on_notice(self, payload: str) -> None:
        if payload.startswith(self._own_prefix) and payload[len(self._own_prefix)] in ",}":
            return  # delivered locally when published
        run_id = points_notice_run(payload)
        if run_id is not None and not (self.wants_points(run_id) or self.wants_summaries(run_id)):
            # Nobody here watches the run: its points are not parsed. With two workers each
            # receives every point the other stores; parsing them all for no one was CPU
            # the worker's own requests needed (bench/pg_workers.py, docs/scale.md).
            self.notices_received += 1
            return
        try:
            notice = json.loads(payload)
            if notice.get("w") == self.worker_id:
                return  # delivered locally when published
            self.notices_received += 1
            await self._apply(notice)
        except Exception:
            # A bad notice (another version of fitwatch?) must not stop the listener.
            logger.exception("live: could not apply a notice: %.200s", payload)

    async def _apply(self, notice: dict[str, Any]) -> None:
        kind, run_id = notice["t"], notice.get("r", "")
        if kind == "p":
            series = [
                SeriesPoints(key, scope, steps, [from_wire(v) for v in values], times, epochs)
                for key, scope, steps, values, times, epochs in notice["s"]
            ]
            self.deliver_points(run_id, series)
        elif kind == "pr":
            ranges = [(key, scope, int(lo), int(hi)) for key, scope, lo, hi in notice["s"]]
            if self.wants_points(run_id):
                found = await run_in_threadpool(
                    replay.read_ranges, self.factory, run_id=run_id, ranges=ranges
                )
                series = [
                    SeriesPoints(
                        key,
                        scope,
                        [r[0] for r in rows],
                        [r[1] for r in rows],
                        [r[2] for r in rows],
                        [r[3] for r in rows] if has_epochs else None,
                    )
                    for key, scope, rows, has_epochs in found
                ]
            else:  # nobody here charts it; summaries may still be wanted
                series = [SeriesPoints(key, scope, [], [], [], None) for key, scope, _, _ in ranges]
            self.deliver_points(run_id, series)
        elif kind == "r":
            run = (
                schemas.RunPublic.model_validate(notice["run"])
                if "run" in notice
                else await run_in_threadpool(
                    replay.read_run,
                    self.factory,
                    run_id=run_id,
                    heartbeat_timeout_s=self.settings.heartbeat_timeout_s,
                )
            )
            if run is not None:
                self.deliver_run(run, previous_project=notice.get("pp"))
        elif kind == "d":
            self.deliver_run_deleted(run_id, notice["p"])
        elif kind == "l":
            layout = (
                schemas.ProjectLayoutPublic.model_validate(notice["layout"])
                if "layout" in notice
                else await run_in_threadpool(
                    replay.read_layout, self.factory, project=notice["p"], page=notice["g"]
                )
            )
            if layout is not None:
                self.deliver_layout(layout)
        elif kind == "lost":
            self.resync_all("another worker could not send its updates to PostgreSQL for a while")
        else:
            logger.warning("live: unknown notice type %r", kind)
