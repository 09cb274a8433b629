"""Consistency scan: recompute summaries and rollups from the points and compare.

The derived state is maintained incrementally on ingest; this module is the slow, obviously
correct definition it must always equal (tests run it after concurrent writes and deletes).
"""

from __future__ import annotations

from typing import cast

import numpy as np
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from fitwatch_server import models
from fitwatch_server.store.point_data import rollups, summary
from fitwatch_server.store.point_data.summary import Summary


def _scanned_summary(steps: rollups.Int64s, values: rollups.Floats, last_wall_time: float) -> Summary:
    ext = rollups.group_extremes([np.zeros(len(steps), dtype=np.int64)], steps, values)
    last = float(values[-1])
    found = Summary(
        count=len(steps), first_step=int(steps[0]), last_step=int(steps[-1]),
        last_value=None if np.isnan(last) else last, last_wall_time=last_wall_time,
    )
    if ext.min_valid[0]:
        found.min_value, found.min_step = float(values[ext.min_index[0]]), int(steps[ext.min_index[0]])
        found.max_value, found.max_step = float(values[ext.max_index[0]]), int(steps[ext.max_index[0]])
    return found


def _stored_rollups(session: Session, series_id: int) -> set[tuple[object, ...]]:
    table = models.PointRollup.__table__
    rows = session.execute(select(table).where(table.c.series_id == series_id)).all()
    return {tuple(row) for row in rows}


def check_run(session: Session, *, run_id: str) -> list[str]:
    """What differs between a run's derived state and a scan of its points (empty: consistent)."""
    problems = []
    for series in session.scalars(select(models.Series).where(models.Series.run_id == run_id)):
        rows = session.execute(
            select(models.Point.step, models.Point.value, models.Point.wall_time)
            .where(models.Point.series_id == series.id)
            .order_by(models.Point.step)
        ).all()
        name = f"{series.key!r}/{series.scope}"
        if not rows:
            problems.append(f"{name}: a series row without points")
            continue
        steps = np.array([r[0] for r in rows], dtype=np.int64)
        values = np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=np.float64)
        expected = _scanned_summary(steps, values, rows[-1][2])
        stored = summary.from_row(series)
        if stored != expected:
            problems.append(f"{name}: summary {stored} but the points give {expected}")
        ids = np.full(len(steps), series.id, dtype=np.int64)
        scanned = {
            tuple(row)
            for bucket_size in rollups.BUCKET_SIZES
            for row in rollups.rollup_rows(ids, steps, values, bucket_size)
        }
        if _stored_rollups(session, series.id) != scanned:
            problems.append(f"{name}: rollups differ from the points")
    return problems


def orphans(session: Session) -> dict[str, int]:
    """Rows of points and rollups whose series no longer exists (must always be zero)."""
    series_ids = select(models.Series.id)
    return {
        table.name: session.scalar(
            select(func.count()).select_from(table).where(table.c.series_id.not_in(series_ids))
        ) or 0
        for table in (cast(Table, models.Point.__table__), cast(Table, models.PointRollup.__table__))
    }
