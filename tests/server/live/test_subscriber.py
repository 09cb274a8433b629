"""One connection's bounded queue: overflow becomes a resync; a subscribe's answer goes first."""

from __future__ import annotations

import asyncio
import json

from fitwatch_server.live.subscriber import Subscriber, SubscriberState


def test_full_queue_is_replaced_by_one_resync_and_flows_again_once_it_is_sent() -> None:
    async def scenario() -> None:
        subscriber = Subscriber(queue_size=3)
        subscriber.runs.add("r1")
        subscriber.offer_control('{"type": "subscribed"}')
        for i in range(5):
            subscriber.offer(f'{{"n": {i}}}')
        assert subscriber.state is SubscriberState.RESYNC_PENDING and subscriber.overflows == 1
        ack = await subscriber.next(timeout=1)
        assert ack is not None and ack.text == '{"type": "subscribed"}'  # answers survive a resync
        resync = await subscriber.next(timeout=1)
        assert resync is not None and json.loads(resync.text)["type"] == "resync"
        assert json.loads(resync.text)["runs"] == ["r1"]
        subscriber.offer('{"n": "dropped"}')  # not yet written: still dropped
        subscriber.sent(resync)
        assert subscriber.state is SubscriberState.LIVE
        subscriber.offer('{"n": "kept"}')
        kept = await subscriber.next(timeout=1)
        assert kept is not None and kept.text == '{"n": "kept"}'
        assert await subscriber.next(timeout=0.01) is None

    asyncio.run(scenario())


def test_held_messages_follow_the_ack_and_replay() -> None:
    async def scenario() -> None:
        subscriber = Subscriber(queue_size=10)
        subscriber.offer_control("hello")
        subscriber.hold()
        subscriber.offer("live")
        assert await subscriber.next(timeout=0.01) is None  # held back
        subscriber.release(["ack"], ["replay-1", "replay-2"])
        texts = [(await subscriber.next(timeout=1)) for _ in range(5)]
        assert [t.text for t in texts if t] == ["hello", "ack", "replay-1", "replay-2", "live"]

    asyncio.run(scenario())


def test_take_ready_gives_queued_messages_in_order_within_the_frame_limits() -> None:
    async def scenario() -> None:
        subscriber = Subscriber(queue_size=10)
        for text in ("a" * 10, "b" * 10, "c" * 10, "d" * 50, "e"):
            subscriber.offer(text)
        assert [i.text[0] for i in subscriber.take_ready(max_items=2, max_chars=1000)] == ["a", "b"]
        # The characters limit stops before a message that would pass it...
        assert [i.text[0] for i in subscriber.take_ready(max_items=10, max_chars=30)] == ["c"]
        # ...but a first message longer than the limit still goes, alone.
        assert [i.text[0] for i in subscriber.take_ready(max_items=10, max_chars=20)] == ["d"]
        assert [i.text for i in subscriber.take_ready(max_items=10, max_chars=20)] == ["e"]
        assert subscriber.take_ready(max_items=10, max_chars=20) == []
        # Taken messages left the bound: the queue holds its full size again.
        for n in range(10):
            subscriber.offer(str(n))
        assert subscriber.state is SubscriberState.LIVE

    asyncio.run(scenario())


def test_take_ready_gives_nothing_while_a_subscribe_is_answered() -> None:
    async def scenario() -> None:
        subscriber = Subscriber(queue_size=10)
        subscriber.offer_control("hello")
        subscriber.hold()
        subscriber.offer("live")
        assert subscriber.take_ready(max_items=10, max_chars=1000) == []
        subscriber.release(["ack"], ["replay"])
        taken = subscriber.take_ready(max_items=10, max_chars=1000)
        assert [i.text for i in taken] == ["hello", "ack", "replay", "live"]

    asyncio.run(scenario())
