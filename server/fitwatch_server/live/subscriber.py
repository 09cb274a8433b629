"""One live connection's subscriber: what it watches, its bounded queue, its resync state.

The hub offers serialised messages; the connection's writer takes them with `next()`. Offers
never block: a full queue is emptied and replaced by one `resync` message, and live messages
are dropped until that resync has been written (issue 4, docs/api.md "Backpressure").
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from fitwatch_server.live import protocol

# Control messages (acks, errors, pongs) bypass the bound so a client is always answered; a
# client that keeps sending while never reading is closed once this many are waiting.
MAX_CONTROL_BACKLOG = 1000


class SubscriberState(StrEnum):
    """Where one connection's queue stands."""

    LIVE = "live"  # messages flow
    HOLDING = "holding"  # a subscribe is being answered (resume read); queued messages wait
    RESYNC_PENDING = "resync_pending"  # overflowed: a resync is queued, live messages dropped
    CLOSED = "closed"


@dataclass(slots=True)
class Outgoing:
    """One queued message, already serialised (shared by every subscriber it goes to)."""

    text: str
    resync: bool = False
    control: bool = False


class SlowClient(Exception):
    """A client that sends but never reads: its control backlog overflowed."""


class Subscriber:
    """One websocket connection: what it subscribes to and its bounded outgoing queue."""

    def __init__(self, *, queue_size: int) -> None:
        self.runs: set[str] = set()
        self.projects: set[str] = set()
        self.layouts: set[str] = set()  # projects whose chart layouts it follows
        # The one project its token may see (None: every project); a run moved out of it
        # stops reaching it (Hub.deliver_run).
        self.bound_project: str | None = None
        self.state = SubscriberState.LIVE
        self.queue_size = queue_size
        self.overflows = 0
        self._queue: deque[Outgoing] = deque()
        self._live_count = 0
        self._held_from = 0
        self._ready = asyncio.Event()

    # --- called by the hub (never blocks) ---

    def offer(self, text: str) -> None:
        """Queue a live message, or resync if the queue is full."""
        if self.state in (SubscriberState.RESYNC_PENDING, SubscriberState.CLOSED):
            return
        if self._live_count >= self.queue_size:
            self._overflow()
            return
        self._queue.append(Outgoing(text))
        self._live_count += 1
        self._update_ready()

    def offer_control(self, text: str) -> None:
        """Queue an answer to the client (ack, error, pong): never dropped by a resync."""
        if self.state is SubscriberState.CLOSED:
            return
        if len(self._queue) - self._live_count >= MAX_CONTROL_BACKLOG:
            raise SlowClient(f"{MAX_CONTROL_BACKLOG} answers are waiting for a client that does not read")
        self._queue.append(Outgoing(text, control=True))
        self._update_ready()

    def resync(self, reason: str) -> None:
        """Drop what is queued and tell the client to refetch (queue overflow, lost notifications)."""
        if self.state is SubscriberState.CLOSED:
            return
        controls = [item for item in self._queue if item.control]
        self._queue.clear()
        self._queue.extend(controls)
        self._live_count = 0
        message = protocol.Resync(reason=reason, runs=sorted(self.runs), projects=sorted(self.projects))
        self._queue.append(Outgoing(protocol.encode(message), resync=True, control=True))
        self.state = SubscriberState.RESYNC_PENDING
        self._update_ready()

    def _overflow(self) -> None:
        self.overflows += 1
        self.resync(f"queue overflow: {self.queue_size} messages were waiting")

    # --- called by the connection ---

    def hold(self) -> None:
        """Keep queued messages back while a subscribe is answered (they follow its replay)."""
        if self.state is SubscriberState.LIVE:
            self.state = SubscriberState.HOLDING
            # What is queued now (e.g. `hello`) still goes first; nothing is popped while holding.
            self._held_from = len(self._queue)
            self._update_ready()

    def release(self, first: Iterable[str], replay_texts: Iterable[str]) -> None:
        """Put the ack and the replay in front of what was queued meanwhile, then flow again.

        After an overflow the replay is dropped (the client is refetching anyway)."""
        front = [Outgoing(text, control=True) for text in first]
        at = 0
        if self.state is SubscriberState.HOLDING:
            front.extend(Outgoing(text, control=True) for text in replay_texts)
            self.state = SubscriberState.LIVE
            at = min(self._held_from, len(self._queue))
        queued = list(self._queue)
        self._queue = deque(queued[:at] + front + queued[at:])
        self._update_ready()

    async def wait(self, timeout: float) -> bool:
        """Whether a message is ready to write within `timeout` s."""
        # Under load a message is usually waiting: say so without arming a timeout (creating
        # and cancelling one per message was a visible share of the event loop's time).
        if self._ready.is_set():
            return True
        try:
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        except TimeoutError:
            return False
        return True

    async def next(self, timeout: float) -> Outgoing | None:
        """The next message to write, or None after `timeout` s with nothing to send."""
        return self._pop() if await self.wait(timeout) else None

    def take_ready(self, *, max_items: int, max_chars: int) -> list[Outgoing]:
        """The messages ready to write now, in order, without waiting (empty if none): at most
        `max_items`, and no more than `max_chars` of text together unless the first alone is."""
        taken: list[Outgoing] = []
        chars = 0
        while len(taken) < max_items and self._ready.is_set():
            size = len(self._queue[0].text)
            if taken and chars + size > max_chars:
                break
            taken.append(self._pop())
            chars += size
        return taken

    def _pop(self) -> Outgoing:
        item = self._queue.popleft()
        if not item.control:
            self._live_count -= 1
        self._update_ready()
        return item

    def sent(self, item: Outgoing) -> None:
        """`item` was written to the socket: after a resync, live messages may flow again."""
        if item.resync and self.state is SubscriberState.RESYNC_PENDING:
            self.state = SubscriberState.LIVE

    def close(self) -> None:
        self.state = SubscriberState.CLOSED
        self._queue.clear()
        self._live_count = 0

    def _update_ready(self) -> None:
        if self._queue and self.state is not SubscriberState.HOLDING:
            self._ready.set()
        else:
            self._ready.clear()
