"""Deleting point data: a run's or one series' points, rollups and summary row, together."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fitwatch_server import models
from fitwatch_server.errors import NotFound
from fitwatch_server.store.point_data.locks import lock_run_for_delete


def _delete_series_ids(session: Session, series_ids: list[int]) -> None:
    # Rollups and points carry no foreign key (it would cost a parent lookup per inserted
    # point), so they go first, explicitly; series ids are never reused (AUTOINCREMENT on
    # SQLite, a sequence on PostgreSQL), so nothing stale could ever meet a new series.
    session.execute(delete(models.PointRollup).where(models.PointRollup.series_id.in_(series_ids)))
    session.execute(delete(models.Point).where(models.Point.series_id.in_(series_ids)))
    session.execute(delete(models.Series).where(models.Series.id.in_(series_ids)))


def delete_run_data(session: Session, *, run_id: str) -> None:
    """Delete every series of a run with its points and rollups; raises NotFound."""
    if not lock_run_for_delete(session, run_id=run_id):
        raise NotFound(f"no run with id {run_id!r}")
    ids = list(session.scalars(select(models.Series.id).where(models.Series.run_id == run_id)))
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
