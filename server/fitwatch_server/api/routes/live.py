"""The live websocket `/api/v1/live`: one connection, one hub subscriber, one writer task.

The protocol is documented in docs/api.md ("Live updates") and modelled in
`live/protocol.py`. The connection reads client messages in one task and writes its
subscriber's queue in another, so a client that stops reading never blocks the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from fastapi import APIRouter, WebSocket
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from fitwatch_server.api.auth import Authenticator
from fitwatch_server.api.deps import HubDep, PrincipalDep
from fitwatch_server.auth.principal import Principal
from fitwatch_server.db import session_scope
from fitwatch_server.live import protocol, replay
from fitwatch_server.live.hub import Hub, points_messages
from fitwatch_server.live.subscriber import SlowClient, Subscriber
from fitwatch_server.settings import Settings
from fitwatch_server.store.runs import projects_of_runs

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/live", tags=["live"])
# What the credential watcher returns when the connection must close.
_REVOKED = "revoked"
# What the stall watcher returns when a client has read nothing for too long.
_STALLED = "stalled"


@router.get("/status")
def live_status(hub: HubDep) -> dict[str, object]:
    """This worker's live hub: backend, state, connected subscribers and their queue states."""
    return hub.status()


def _query_list(websocket: WebSocket, name: str) -> list[str]:
    """`?run=a&run=b,c` → ["a", "b", "c"]."""
    return [item for raw in websocket.query_params.getlist(name) for item in raw.split(",") if item]


@router.websocket("")
async def live(websocket: WebSocket, principal: PrincipalDep) -> None:
    """Subscribe to runs and projects and receive their points, status and summaries."""
    hub: Hub = websocket.app.state.hub
    settings: Settings = websocket.app.state.settings
    await websocket.accept()
    subscriber = hub.connect()
    connection = _Connection(websocket, hub, subscriber, settings, principal)
    try:
        await connection.run()
    finally:
        hub.disconnect(subscriber)


class _Connection:
    def __init__(
        self, websocket: WebSocket, hub: Hub, subscriber: Subscriber, settings: Settings, principal: Principal
    ) -> None:
        self.websocket = websocket
        self.hub = hub
        self.subscriber = subscriber
        self.principal = principal
        subscriber.bound_project = principal.project
        self.authenticator: Authenticator = websocket.app.state.authenticator
        self.ping_interval_s = settings.live_ping_interval_s
        # A write that cannot reach the socket for this long means a stuck client; uvicorn's
        # keepalive would close it after interval + timeout, but cannot while its buffer is full.
        self.send_stall_s = 2 * settings.live_ping_interval_s
        self._sending_since: float | None = None  # loop time the current send began
        self.factory: sessionmaker[Session] = hub.factory
        hello = protocol.Hello(coalesce_s=settings.live_coalesce_s, ping_interval_s=self.ping_interval_s)
        subscriber.offer_control(protocol.encode(hello))
        # ?batch=1: the client takes a JSON array of messages in one frame (docs/api.md).
        batch = websocket.query_params.get("batch", "0")
        if batch not in ("0", "1"):
            self._error(
                f"'batch' must be 1 (several messages per frame) or 0. Received: batch={batch!r}",
                batch[: protocol.QUOTE_CHARS],
            )
        self.frame_messages = protocol.MAX_FRAME_MESSAGES if batch == "1" else 1

    async def run(self) -> None:
        writer = asyncio.create_task(self._write())
        reader = asyncio.create_task(self._read())
        tasks: set[asyncio.Task[object]] = {writer, reader, asyncio.create_task(self._watch_stall())}
        if self.principal.token_id is not None:
            tasks.add(asyncio.create_task(self._watch_credential()))
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for task in done:
            error = task.exception()
            if error is not None and not isinstance(error, WebSocketDisconnect | SlowClient):
                logger.error("live connection failed", exc_info=error)
        revoked = any(t.exception() is None and t.result() == _REVOKED for t in done)
        if revoked or any(isinstance(t.exception(), SlowClient) for t in done):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.websocket.close(code=1008), timeout=1.0)

    async def _watch_credential(self) -> object:
        """A revoked token (or an ended session) closes its open websockets within one ping
        interval; new requests with it are refused at once."""
        while True:
            await asyncio.sleep(self.ping_interval_s)
            try:
                valid = await run_in_threadpool(self.authenticator.still_valid, self.principal)
            except Exception:  # noqa: BLE001 - a database hiccup is not a revocation
                logger.warning("live: could not re-check a connection's token", exc_info=True)
                continue
            if not valid:
                self.subscriber.offer_control(
                    protocol.encode(protocol.Error(detail="your token was revoked or your session ended", received=""))
                )
                return _REVOKED

    async def _write(self) -> None:
        while True:
            if await self.subscriber.wait(timeout=self.ping_interval_s):
                items = self.subscriber.take_ready(max_items=self.frame_messages, max_chars=protocol.MAX_FRAME_CHARS)
                # Pre-serialised objects joined with commas are a JSON array of them.
                text = items[0].text if len(items) == 1 else "[" + ",".join(item.text for item in items) + "]"
            else:
                items, text = [], protocol.encode(protocol.Ping(time=time.time()))
            self._sending_since = asyncio.get_running_loop().time()
            try:
                await self.websocket.send_text(text)
            except (WebSocketDisconnect, RuntimeError, OSError):
                return  # closed underneath us; the reader sees it too
            finally:
                self._sending_since = None
            for item in items:
                self.subscriber.sent(item)

    async def _watch_stall(self) -> object:
        """Close a client that reads nothing: a send still waiting for room in the socket's
        buffer after `send_stall_s`. One timer per connection, not a timeout per send (most
        sends never wait: uvicorn only makes them wait while the transport is paused)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.send_stall_s / 4)
            since = self._sending_since
            if since is not None and loop.time() - since >= self.send_stall_s:
                logger.warning("live: closing a client that read nothing for %.0f s", self.send_stall_s)
                return _STALLED

    async def _read(self) -> None:
        # Start-up subscription from the query string (?run=..&project=..) goes through the
        # same validation as a message, so a bad id gets the same error.
        runs, projects = _query_list(self.websocket, "run"), _query_list(self.websocket, "project")
        if runs or projects:
            await self._handle(protocol.json_subscribe(runs, projects))
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                received = repr(message.get("bytes", b""))[:protocol.QUOTE_CHARS]
                self._error("send messages as JSON text frames, not binary frames", received)
                continue
            await self._handle(text)

    async def _handle(self, text: str) -> None:
        try:
            message = protocol.parse_client_message(text)
        except protocol.ProtocolError as error:
            self._error(error.detail, error.received)
            return
        if isinstance(message, protocol.ClientPing):
            self.subscriber.offer_control(protocol.encode(protocol.Pong()))
        elif isinstance(message, protocol.Unsubscribe):
            self.hub.unsubscribe(self.subscriber, runs=message.runs, projects=message.projects, layouts=message.layouts)
            self.subscriber.offer_control(await self._ack([]))
        else:
            await self._subscribe(message)

    async def _visible(self, message: protocol.Subscribe) -> tuple[protocol.Subscribe, list[str]]:
        """The subscribe limited to what the caller may see, and the runs refused.

        A token bound to a project gets no other project, and only runs that exist in its
        project: an unknown run id could be created later in another project.
        """
        bound = self.principal.project
        if bound is None:
            return message, []
        projects = [p for p in message.projects if p == bound]
        layouts = [p for p in message.layouts if p == bound]
        if len(projects) < len(message.projects) or len(layouts) < len(message.layouts):
            self._error(
                f"{self.principal.describe()} is bound to project {bound!r}; it cannot subscribe to others",
                message.model_dump_json()[: protocol.QUOTE_CHARS],
            )
        wanted = list(dict.fromkeys([*message.runs, *message.resume]))

        def lookup() -> dict[str, str]:
            with session_scope(self.factory) as session:
                return projects_of_runs(session, run_ids=wanted)

        found = await run_in_threadpool(lookup) if wanted else {}
        allowed = {r for r in wanted if found.get(r) == bound}
        refused = [r for r in wanted if r not in allowed]
        visible = message.model_copy(
            update={
                "runs": [r for r in message.runs if r in allowed],
                "projects": projects,
                "layouts": layouts,
                "resume": {r: c for r, c in message.resume.items() if r in allowed},
            }
        )
        return visible, refused

    async def _subscribe(self, message: protocol.Subscribe) -> None:
        message, refused = await self._visible(message)
        runs = list(dict.fromkeys([*message.runs, *message.resume]))
        total_runs = len(self.subscriber.runs | set(runs))
        total_projects = max(
            len(self.subscriber.projects | set(message.projects)), len(self.subscriber.layouts | set(message.layouts))
        )
        if total_runs > protocol.MAX_RUNS or total_projects > protocol.MAX_PROJECTS:
            self._error(
                f"a connection may subscribe to at most {protocol.MAX_RUNS} runs and "
                f"{protocol.MAX_PROJECTS} projects. Received: this subscribe would make "
                f"{total_runs} runs and {total_projects} projects",
                message.model_dump_json()[: protocol.QUOTE_CHARS],
            )
            return
        # Register first, then read: whatever commits from here on is queued (held back until
        # the replay is in front of it), so a resume leaves no gap.
        self.subscriber.hold()
        self.hub.subscribe(self.subscriber, runs=runs, projects=message.projects, layouts=message.layouts)
        replay_texts: list[str] = []
        try:
            for run_id, cursors in message.resume.items():
                last_steps = {(c.key, c.scope.value): c.last_step for c in cursors}
                found = await run_in_threadpool(
                    replay.read_replay, self.factory, run_id=run_id, last_steps=last_steps
                )
                for key, scope, rows, has_epochs in found:
                    replay_texts.extend(
                        points_messages(run_id, key, scope, rows, has_epochs=has_epochs, replay_=True)
                    )
            ack = await self._ack(runs, refused)
        except Exception as error:
            # The database failed us, not the client: say so and keep the connection.
            logger.exception("live: answering a subscribe failed")
            self.subscriber.release([], [])
            self.subscriber.resync(f"the server could not read what you missed ({type(error).__name__}); refetch over REST")
            return
        except BaseException:
            self.subscriber.release([], [])
            raise
        self.subscriber.release([ack], replay_texts)

    async def _ack(self, new_runs: list[str], refused: list[str] | None = None) -> str:
        unknown = await run_in_threadpool(replay.unknown_runs, self.factory, run_ids=new_runs)
        return protocol.encode(
            protocol.Subscribed(
                runs=sorted(self.subscriber.runs),
                projects=sorted(self.subscriber.projects),
                layouts=sorted(self.subscriber.layouts),
                # Refused runs are reported as unknown: to this caller they do not exist.
                unknown_runs=sorted({*unknown, *(refused or [])}),
            )
        )

    def _error(self, detail: str, received: str) -> None:
        self.subscriber.offer_control(protocol.encode(protocol.Error(detail=detail, received=received)))
