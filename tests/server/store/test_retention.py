"""Retention: runs last active before a cutoff are deleted whole; the others are untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from fitwatch_server import models, schemas
from fitwatch_server.db import session_scope
from fitwatch_server.store import point_data, retention, runs
from tests.helpers.factories import series_body

NOW = datetime.now(UTC)


def _batch(*series: dict[str, object]) -> schemas.PointBatchIn:
    return schemas.PointBatchIn.model_validate({"series": list(series)})


def _run_with_points(session, project: str, name: str, points: int, days_idle: float) -> str:  # type: ignore[no-untyped-def]
    run, _ = runs.create_run(session, data=schemas.RunCreate(project=project, name=name))
    point_data.ingest_points(
        session,
        run_id=run.id,
        batch=_batch(
            series_body(
                "loss", "batch", list(range(points)), [1.0 / (s + 1) for s in range(points)]
            ),
            series_body("loss", "epoch", [0], [0.5]),
        ),
    )
    session.execute(
        update(models.Run)
        .where(models.Run.id == run.id)
        .values(heartbeat_at=NOW - timedelta(days=days_idle))
    )
    return run.id


def test_purge_deletes_runs_idle_past_the_cutoff_and_says_what_it_freed(factory):
    with session_scope(factory) as session:
        old = _run_with_points(session, "a", "old", 300, days_idle=100)
        old_b = _run_with_points(session, "b", "old-b", 10, days_idle=91)
        recent = _run_with_points(session, "a", "recent", 50, days_idle=89)
    with session_scope(factory) as session:
        purged = retention.purge_runs(session, cutoff=NOW - timedelta(days=90))
    assert sorted(purged.runs) == sorted([old, old_b]) and purged.runs[old] == "a"
    assert (purged.series, purged.points) == (4, 300 + 1 + 10 + 1)
    with session_scope(factory) as session:
        assert session.scalars(select(models.Run.id)).all() == [recent]
        assert session.scalar(select(func.count()).select_from(models.Series)) == 2
        assert point_data.orphans(session) == {"points": 0, "point_rollups": 0}
        assert point_data.check_run(session, run_id=recent) == []
        # Nothing left to do: a second purge frees nothing.
        assert retention.purge_runs(session, cutoff=NOW - timedelta(days=90)).runs == {}


def test_purge_of_one_project_keeps_the_others_and_goes_in_small_transactions(factory):
    with session_scope(factory) as session:
        mine = [_run_with_points(session, "mine", f"r{i}", 5, days_idle=200) for i in range(3)]
        theirs = _run_with_points(session, "theirs", "t", 5, days_idle=200)
    deleted: list[str] = []
    while True:
        with session_scope(factory) as session:
            purged = retention.purge_runs(
                session, cutoff=NOW - timedelta(days=90), project="mine", limit=2
            )
        if not purged.runs:
            break
        assert len(purged.runs) <= 2
        deleted += purged.runs
    assert sorted(deleted) == sorted(mine)
    with session_scope(factory) as session:
        assert session.scalars(select(models.Run.id)).all() == [theirs]


def test_a_run_touched_after_it_was_chosen_is_kept(factory):
    with session_scope(factory) as session:
        run_id = _run_with_points(session, "a", "revived", 5, days_idle=100)
    cutoff = NOW - timedelta(days=90)
    with session_scope(factory) as session:
        runs.heartbeat(session, run_id=run_id)  # activity now: no longer idle
    with session_scope(factory) as session:
        assert runs.lock_run_if_inactive(session, run_id=run_id, cutoff=cutoff) is False
        assert retention.purge_runs(session, cutoff=cutoff).runs == {}
