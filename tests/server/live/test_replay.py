"""The hub's database reads: resume replays, notified step ranges, summaries, unknown runs."""

from __future__ import annotations

import math

from sqlalchemy.orm import Session, sessionmaker

from fitwatch_server import schemas
from fitwatch_server.db import make_engine, make_sessionmaker, session_scope
from fitwatch_server.live import replay
from fitwatch_server.migrate import upgrade_engine
from fitwatch_server.settings import Settings
from fitwatch_server.store import runs as run_store
from fitwatch_server.store.point_data import ingest_points


def _factory_with_run(settings: Settings) -> tuple[sessionmaker[Session], str]:
    engine = make_engine(settings.database_url)
    upgrade_engine(engine)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        run, _ = run_store.create_run(session, data=schemas.RunCreate(project="live"))
        run_id = run.id
        batch = schemas.PointBatchIn.model_validate({"series": [
            {"key": "loss", "scope": "batch", "steps": list(range(10)), "values": [1.0] * 9 + ["NaN"],
             "times": [1.0] * 10, "epochs": [0] * 10},
            {"key": "val_loss", "scope": "epoch", "steps": [0, 1], "values": [2.0, 1.0], "times": [1.0, 2.0]},
        ]})
        ingest_points(session, run_id=run_id, batch=batch)
    return factory, run_id


def test_replay_sends_what_follows_each_cursor_and_unlisted_series_whole(settings: Settings) -> None:
    factory, run_id = _factory_with_run(settings)
    found = replay.read_replay(factory, run_id=run_id, last_steps={("loss", "batch"): 6})
    by_key = {key: (scope, rows, has_epochs) for key, scope, rows, has_epochs in found}
    scope, rows, has_epochs = by_key["loss"]
    assert [r[0] for r in rows] == [7, 8, 9] and math.isnan(rows[-1][1]) and has_epochs
    assert [r[0] for r in by_key["val_loss"][1]] == [0, 1] and not by_key["val_loss"][2]
    up_to_date = replay.read_replay(
        factory, run_id=run_id, last_steps={("loss", "batch"): 9, ("val_loss", "epoch"): 1}
    )
    assert up_to_date == []


def test_ranges_summaries_and_unknown_runs(settings: Settings) -> None:
    factory, run_id = _factory_with_run(settings)
    found = replay.read_ranges(
        factory, run_id=run_id, ranges=[("loss", "batch", 2, 4), ("gone", "epoch", 0, 9)]
    )
    assert [(key, [r[0] for r in rows]) for key, _, rows, _ in found] == [("loss", [2, 3, 4])]
    summary = replay.read_summaries(factory, run_id=run_id, keys={("val_loss", "epoch")})
    assert summary is not None
    project, series = summary
    assert project == "live" and [(s.key, s.last_value, s.min_value) for s in series] == [("val_loss", 1.0, 1.0)]
    assert replay.read_summaries(factory, run_id="nope", keys=set()) is None
    assert replay.unknown_runs(factory, run_ids=[run_id, "nope"]) == ["nope"]
