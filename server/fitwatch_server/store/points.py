"""Point ingest: one batch is one transaction that upserts points and updates series summaries."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fitwatch_server import models, schemas
from fitwatch_server.store.runs import get_run, utcnow
from fitwatch_server.values import to_db

# Raw DBAPI executemany with tuples: SQLAlchemy's per-row dict processing costs about
# 40% of the insert rate (perf-notes.md); the statement is the same text on SQLite >= 3.24
# and PostgreSQL, so both backends still share one code path.
_UPSERT_POINTS = (
    "INSERT INTO points (series_id, step, value, wall_time, epoch) VALUES ({p}, {p}, {p}, {p}, {p}) "
    "ON CONFLICT (series_id, step) DO UPDATE SET "
    "value = excluded.value, wall_time = excluded.wall_time, epoch = excluded.epoch"
)


@dataclass(slots=True)
class _BatchSummary:
    count: int
    first_step: int
    last_step: int
    last_value: float | None
    last_wall_time: float
    min_value: float | None
    min_step: int | None
    max_value: float | None
    max_step: int | None


def _dedupe(series: schemas.SeriesPointsIn) -> dict[int, tuple[float | None, float, int | None]]:
    """step -> (db value, wall time, epoch); a step repeated within one request: the last wins."""
    epochs = series.epochs if series.epochs is not None else [None] * len(series.steps)
    return {
        step: (to_db(value), wall_time, epoch)
        for step, value, wall_time, epoch in zip(
            series.steps, series.values, series.times, epochs, strict=True
        )
    }


def _summarise(rows: dict[int, tuple[float | None, float, int | None]]) -> _BatchSummary:
    steps = sorted(rows)
    first, last = steps[0], steps[-1]
    min_value = max_value = None
    min_step = max_step = None
    for step in steps:
        value = rows[step][0]
        if value is None:
            continue
        if min_value is None or value < min_value:
            min_value, min_step = value, step
        if max_value is None or value > max_value:
            max_value, max_step = value, step
    return _BatchSummary(
        count=len(steps),
        first_step=first,
        last_step=last,
        last_value=rows[last][0],
        last_wall_time=rows[last][1],
        min_value=min_value,
        min_step=min_step,
        max_value=max_value,
        max_step=max_step,
    )


def _extend_summary(series: models.Series, batch: _BatchSummary) -> None:
    """Merge a batch that lies wholly after the stored points (the common, append-only case)."""
    series.count += batch.count
    series.last_step = batch.last_step
    series.last_value = batch.last_value
    series.last_wall_time = batch.last_wall_time
    if batch.min_value is not None and (
        series.min_value is None or batch.min_value < series.min_value
    ):
        series.min_value, series.min_step = batch.min_value, batch.min_step
    if batch.max_value is not None and (
        series.max_value is None or batch.max_value > series.max_value
    ):
        series.max_value, series.max_step = batch.max_value, batch.max_step


def _recompute_summary(session: Session, series: models.Series) -> None:
    """Rebuild the summary from the stored points: needed when a batch overwrote old steps."""
    points = models.Point
    in_series = points.series_id == series.id
    count, first_step, last_step = session.execute(
        select(func.count(), func.min(points.step), func.max(points.step)).where(in_series)
    ).one()
    last_value, last_wall_time = session.execute(
        select(points.value, points.wall_time).where(in_series, points.step == last_step)
    ).one()
    lowest = session.execute(
        select(points.value, points.step)
        .where(in_series, points.value.is_not(None))
        .order_by(points.value.asc(), points.step.asc())
        .limit(1)
    ).first()
    highest = session.execute(
        select(points.value, points.step)
        .where(in_series, points.value.is_not(None))
        .order_by(points.value.desc(), points.step.asc())
        .limit(1)
    ).first()
    series.count = count
    series.first_step = first_step
    series.last_step = last_step
    series.last_value = last_value
    series.last_wall_time = last_wall_time
    series.min_value, series.min_step = lowest if lowest else (None, None)
    series.max_value, series.max_step = highest if highest else (None, None)


def ingest_points(
    session: Session, *, run_id: str, batch: schemas.PointBatchIn
) -> schemas.IngestResult:
    """Upsert every point of `batch` and update the series summaries, in the caller's transaction."""
    run = get_run(session, run_id=run_id)
    # Group by series first so a series listed twice in one request is merged, not raced.
    grouped: dict[tuple[str, str], dict[int, tuple[float | None, float, int | None]]] = {}
    for series_in in batch.series:
        grouped.setdefault((series_in.key, series_in.scope.value), {}).update(_dedupe(series_in))

    existing = {
        (s.key, s.scope): s
        for s in session.scalars(select(models.Series).where(models.Series.run_id == run_id))
    }
    rows: list[tuple[int, int, float | None, float, int | None]] = []
    overlapping: list[models.Series] = []
    for (key, scope), points in grouped.items():
        summary = _summarise(points)
        series = existing.get((key, scope))
        if series is None:
            series = models.Series(run_id=run_id, key=key, scope=scope, **asdict(summary))
            session.add(series)
            session.flush()
        elif summary.first_step > series.last_step:
            _extend_summary(series, summary)
        else:
            overlapping.append(series)
        rows.extend((series.id, step, *values) for step, values in points.items())

    connection = session.connection()
    placeholder = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(_UPSERT_POINTS.format(p=placeholder), rows)
    session.flush()
    for series in overlapping:
        _recompute_summary(session, series)
    # Any ingest proves the run is alive; it does not change a finished run's status.
    session.execute(
        update(models.Run).where(models.Run.id == run.id).values(heartbeat_at=utcnow())
    )
    session.flush()
    return schemas.IngestResult(points=len(rows), series=len(grouped))

