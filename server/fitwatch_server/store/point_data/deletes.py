"""Deleting point data: a run's or one series' points, rollups and summary row, together."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fitwatch_server import models
from fitwatch_server.errors import NotFound
from fitwatch_server.store.point_data.locks import lock_run_for_delete

# SQLite allows 32,766 bound parameters per statement; stay far below on both backends.
_IDS_PER_STATEMENT = 500


@dataclass(frozen=True, slots=True)
class Freed:
    """What a delete removed: series rows and the points they held."""

    series: int = 0
    points: int = 0


def _delete_series_ids(session: Session, series_ids: list[int]) -> None:
    # Rollups and points carry no foreign key (it would cost a parent lookup per inserted
    # point), so they go first, explicitly; series ids are never reused (AUTOINCREMENT on
    # SQLite, a sequence on PostgreSQL), so nothing stale could ever meet a new series.
    for start in range(0, len(series_ids), _IDS_PER_STATEMENT):
        chunk = series_ids[start : start + _IDS_PER_STATEMENT]
        session.execute(delete(models.PointRollup).where(models.PointRollup.series_id.in_(chunk)))
        session.execute(delete(models.Point).where(models.Point.series_id.in_(chunk)))
        session.execute(delete(models.Series).where(models.Series.id.in_(chunk)))


def delete_run_data(session: Session, *, run_id: str) -> Freed:
    """Delete every series of a run with its points and rollups; raises NotFound. Returns what
    it freed (the point count is the summaries' sum: no scan of the points)."""
    if not lock_run_for_delete(session, run_id=run_id):
        raise NotFound(f"no run with id {run_id!r}")
    rows = session.execute(
        select(models.Series.id, models.Series.count).where(models.Series.run_id == run_id)
    ).all()
    if rows:
        _delete_series_ids(session, [row[0] for row in rows])
    # By index: `row.count` is tuple.count on a Row.
    return Freed(series=len(rows), points=sum(row[1] for row in rows))


def delete_runs_data(session: Session, *, run_ids: list[str]) -> None:
    """Delete every series of several runs with their points and rollups (purge, project delete).

    The runs are locked in id order first (as `locks.py` explains), so a purge never
    deadlocks with an ingest; runs that do not exist are skipped.
    """
    for run_id in sorted(set(run_ids)):
        lock_run_for_delete(session, run_id=run_id)
    for start in range(0, len(run_ids), _IDS_PER_STATEMENT):
        chunk = run_ids[start : start + _IDS_PER_STATEMENT]
        ids = list(session.scalars(select(models.Series.id).where(models.Series.run_id.in_(chunk))))
        if ids:
            _delete_series_ids(session, ids)


def delete_series(session: Session, *, run_id: str, key: str, scope: str) -> None:
    """Delete one series with its points and rollups; raises NotFound."""
    if not lock_run_for_delete(session, run_id=run_id):
        raise NotFound(f"no run with id {run_id!r}")
    series_id = session.scalar(
        select(models.Series.id).where(
            models.Series.run_id == run_id, models.Series.key == key, models.Series.scope == scope
        )
    )
    if series_id is None:
        raise NotFound(f"run {run_id!r} has no series {key!r} in scope {scope!r}")
    _delete_series_ids(session, [series_id])
