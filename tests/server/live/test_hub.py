"""The hub's coalescing and fan-out, in process (the real-server tests are beside it)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from fitwatch_server.db import make_engine, make_sessionmaker
from fitwatch_server.live.hub import Coalescer, Hub, SeriesPoints
from fitwatch_server.migrate import upgrade_engine
from fitwatch_server.settings import Settings


def test_coalescer_fires_the_first_touch_at_once_and_merges_the_rest() -> None:
    async def scenario() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        fired: list[tuple[str, float]] = []
        done = asyncio.Event()

        def fire(key: str) -> None:
            fired.append((key, loop.time()))
            if len(fired) == 2:
                done.set()

        coalescer = Coalescer[str](0.2, fire)
        coalescer.touch("a")
        assert len(fired) == 1
        for _ in range(5):
            coalescer.touch("a")
        assert len(fired) == 1
        await asyncio.wait_for(done.wait(), timeout=10)
        return fired

    fired = asyncio.run(scenario())
    assert [key for key, _ in fired] == ["a", "a"]
    assert fired[1][1] - fired[0][1] >= 0.2 - 1e-3


def test_points_of_several_ingests_become_one_message_per_series(tmp_path: Path) -> None:
    async def scenario() -> list[dict[str, object]]:
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'h.db'}", live_coalesce_s=0.2)
        engine = make_engine(settings.database_url)
        upgrade_engine(engine)  # the hub also reads series summaries for subscribers
        hub = Hub(settings, make_sessionmaker(engine))
        await hub.start()
        subscriber = hub.connect()
        hub.subscribe(subscriber, runs=["r1"], projects=[])
        for i in range(4):
            hub.deliver_points("r1", [SeriesPoints("loss", "epoch", [i], [float(i)], [1.0], None)])
        messages = []
        for _ in range(2):
            item = await subscriber.next(timeout=10)
            assert item is not None
            messages.append(json.loads(item.text))
        await hub.stop()
        return messages

    first, merged = asyncio.run(scenario())
    assert first["steps"] == [0]
    assert merged["steps"] == [1, 2, 3] and merged["values"] == [1.0, 2.0, 3.0]


def test_a_moved_run_reaches_both_projects_and_the_old_one_only_sees_it_go(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from fitwatch_server import schemas

    async def scenario() -> dict[str, list[dict[str, object]]]:
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'h.db'}")
        hub = Hub(settings, make_sessionmaker(make_engine(settings.database_url)))
        await hub.start()
        watchers = {name: hub.connect() for name in ("old", "new", "run")}
        hub.subscribe(watchers["old"], runs=[], projects=["before"])
        hub.subscribe(watchers["new"], runs=[], projects=["after"])
        hub.subscribe(watchers["run"], runs=["r1"], projects=[])
        now = datetime.now(UTC)
        run = schemas.RunPublic(
            id="r1", project="after", name="n", status=schemas.RunStatus.running, config={},
            summary={}, tags=[], notes="", created_at=now, ended_at=None, heartbeat_at=now,
        )
        await hub.publish_run(run, previous_project="before")
        seen = {}
        for name, subscriber in watchers.items():
            item = await subscriber.next(timeout=10)
            assert item is not None
            seen[name] = [json.loads(item.text)]
        await hub.stop()
        return seen

    seen = asyncio.run(scenario())
    assert seen["old"] == [{"type": "run_deleted", "run_id": "r1", "project": "before"}]
    assert seen["new"][0]["type"] == "run" and seen["new"][0]["run"]["project"] == "after"  # type: ignore[index]
    assert seen["run"][0]["type"] == "run"
