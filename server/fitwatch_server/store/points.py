"""Point ingest: one batch is one transaction that upserts points, rollups and series summaries."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from sqlalchemy import Connection, Row, insert, select, update
from sqlalchemy.orm import Session

from fitwatch_server import models, schemas
from fitwatch_server.errors import NotFound
from fitwatch_server.store import rollups
from fitwatch_server.store.runs import utcnow

# Raw DBAPI executemany with tuples: SQLAlchemy's per-row dict processing costs about
# 40% of the insert rate (perf-notes.md); the statement is the same text on SQLite >= 3.24
# and PostgreSQL, so both backends still share one code path.
_UPSERT_POINTS = (
    "INSERT INTO points (series_id, step, value, wall_time, epoch) VALUES ({p}, {p}, {p}, {p}, {p}) "
    "ON CONFLICT (series_id, step) DO UPDATE SET "
    "value = excluded.value, wall_time = excluded.wall_time, epoch = excluded.epoch"
)
_UPDATE_SUMMARY = (
    "UPDATE series SET count = {p}, first_step = {p}, last_step = {p}, last_value = {p}, "
    "last_wall_time = {p}, min_value = {p}, min_step = {p}, max_value = {p}, max_step = {p} "
    "WHERE id = {p}"
)
_SUMMARY_FIELDS = (
    "count", "first_step", "last_step", "last_value", "last_wall_time",
    "min_value", "min_step", "max_value", "max_step",
)


@dataclass(slots=True)
class _Columns:
    """One series' points in a batch, sorted by step, each step once."""

    steps: list[int]
    values: list[float]
    times: list[float]
    epochs: list[int | None]


@dataclass(slots=True)
class _Summary:
    count: int
    first_step: int
    last_step: int
    last_value: float | None
    last_wall_time: float
    min_value: float | None = None
    min_step: int | None = None
    max_value: float | None = None
    max_step: int | None = None
    id: int = field(default=0)

    def row(self) -> tuple[object, ...]:
        return (*(getattr(self, name) for name in _SUMMARY_FIELDS), self.id)


def _columns(parts: list[schemas.SeriesPointsIn]) -> _Columns:
    steps = [s for part in parts for s in part.steps]
    # After validation the names are floats (values.names_to_floats); the type says wire form.
    values = cast(list[float], [v for part in parts for v in part.values])
    times = [t for part in parts for t in part.times]
    epochs = [
        e for part in parts for e in (part.epochs if part.epochs is not None else [None] * len(part.steps))
    ]
    if all(map(operator.lt, steps, steps[1:])):
        return _Columns(steps, values, times, epochs)
    # Unsorted or repeated steps: the last occurrence of a step wins, as a later write would.
    latest = {step: i for i, step in enumerate(steps)}
    order = [latest[step] for step in sorted(latest)]
    return _Columns(
        [steps[i] for i in order], [values[i] for i in order],
        [times[i] for i in order], [epochs[i] for i in order],
    )


def _db_value(value: float) -> float | None:
    return None if value != value else value


def _batch_summaries(
    order: list[tuple[str, str]], data: dict[tuple[str, str], _Columns], ids: dict[tuple[str, str], int]
) -> tuple[dict[tuple[str, str], _Summary], np.ndarray, np.ndarray, np.ndarray]:
    """Summaries of each series' batch, plus the concatenated (series id, step, value) arrays."""
    sizes = [len(data[k].steps) for k in order]
    series_ids = np.repeat(np.array([ids[k] for k in order], dtype=np.int64), sizes)
    steps = np.fromiter((s for k in order for s in data[k].steps), dtype=np.int64, count=sum(sizes))
    values = np.fromiter((v for k in order for v in data[k].values), dtype=np.float64, count=sum(sizes))
    ext = rollups.group_extremes([series_ids], steps, values)
    summaries = {}
    for g, key in enumerate(order):
        columns = data[key]
        last_value = columns.values[-1]
        summary = _Summary(
            count=int(ext.counts[g]),
            first_step=columns.steps[0],
            last_step=columns.steps[-1],
            last_value=_db_value(last_value),
            last_wall_time=columns.times[-1],
            id=ids[key],
        )
        if ext.min_valid[g]:
            summary.min_value = float(values[ext.min_index[g]])
            summary.min_step = int(steps[ext.min_index[g]])
            summary.max_value = float(values[ext.max_index[g]])
            summary.max_step = int(steps[ext.max_index[g]])
        summaries[key] = summary
    return summaries, series_ids, steps, values


def _extend(stored: Row[Any], batch: _Summary) -> _Summary:
    """Merge a batch that lies wholly after the stored points (the common, append-only case)."""
    merged = _Summary(
        count=stored._mapping["count"] + batch.count,  # Row.count is tuple.count
        first_step=stored.first_step,
        last_step=batch.last_step,
        last_value=batch.last_value,
        last_wall_time=batch.last_wall_time,
        min_value=stored.min_value,
        min_step=stored.min_step,
        max_value=stored.max_value,
        max_step=stored.max_step,
        id=stored.id,
    )
    if batch.min_value is not None and (merged.min_value is None or batch.min_value < merged.min_value):
        merged.min_value, merged.min_step = batch.min_value, batch.min_step
    if batch.max_value is not None and (merged.max_value is None or batch.max_value > merged.max_value):
        merged.max_value, merged.max_step = batch.max_value, batch.max_step
    return merged


def _recompute(connection: Connection, series_id: int) -> _Summary:
    """Rebuild a summary after old steps were overwritten: from the coarsest rollups and the
    primary key, so it never scans the series' points."""
    p = rollups.placeholder(connection)
    first_step, last_step = connection.exec_driver_sql(
        f"SELECT min(step), max(step) FROM points WHERE series_id = {p}", (series_id,)
    ).one()
    last_value, last_wall_time = connection.exec_driver_sql(
        f"SELECT value, wall_time FROM points WHERE series_id = {p} AND step = {p}", (series_id, last_step)
    ).one()
    buckets = connection.exec_driver_sql(
        f"SELECT count, min_value, min_step, max_value, max_step FROM point_rollups "
        f"WHERE series_id = {p} AND bucket_size = {p} ORDER BY bucket",
        (series_id, rollups.BUCKET_SIZES[-1]),
    ).all()
    summary = _Summary(
        count=sum(b[0] for b in buckets), first_step=first_step, last_step=last_step,
        last_value=last_value, last_wall_time=last_wall_time, id=series_id,
    )
    for _, min_value, min_step, max_value, max_step in buckets:
        if min_value is not None and (summary.min_value is None or min_value < summary.min_value):
            summary.min_value, summary.min_step = min_value, min_step
        if max_value is not None and (summary.max_value is None or max_value > summary.max_value):
            summary.max_value, summary.max_step = max_value, max_step
    return summary


def ingest_points(session: Session, *, run_id: str, batch: schemas.PointBatchIn) -> schemas.IngestResult:
    """Upsert every point of `batch`, its rollups and series summaries, in the caller's transaction."""
    if session.scalar(select(models.Run.id).where(models.Run.id == run_id)) is None:
        raise NotFound(f"no run with id {run_id!r}")
    parts: dict[tuple[str, str], list[schemas.SeriesPointsIn]] = {}
    for series_in in batch.series:
        parts.setdefault((series_in.key, series_in.scope.value), []).append(series_in)
    data = {key: _columns(group) for key, group in parts.items()}

    # Plain rows, not ORM objects: loading and expiring 100 Series objects costs ~3 ms a batch.
    series_table = models.Series.__table__
    stored = {
        (s.key, s.scope): s
        for s in session.execute(select(series_table).where(series_table.c.run_id == run_id))
    }
    new_keys = [key for key in data if key not in stored]
    ids = {key: s.id for key, s in stored.items()}
    if new_keys:
        created = session.execute(
            insert(models.Series).returning(models.Series.id, models.Series.key, models.Series.scope),
            [
                {"run_id": run_id, "key": key, "scope": scope, "count": 0,
                 "first_step": data[(key, scope)].steps[0], "last_step": -1, "last_wall_time": 0.0}
                for key, scope in new_keys
            ],
        ).all()
        ids.update({(key, scope): sid for sid, key, scope in created})

    # Appends (every step after the stored ones) merge; overwrites rebuild from the points.
    appended = [k for k in data if k not in stored or data[k].steps[0] > stored[k].last_step]
    overwritten = [k for k in data if k not in set(appended)]
    connection = session.connection()
    p = rollups.placeholder(connection)
    rows: list[tuple[object, ...]] = []
    for key, columns in data.items():
        sid = ids[key]
        rows.extend(
            zip([sid] * len(columns.steps), columns.steps,
                [None if v != v else v for v in columns.values],  # NaN -> NULL, inline: hot loop
                columns.times, columns.epochs, strict=True)
        )
    connection.exec_driver_sql(_UPSERT_POINTS.format(p=p), rows)

    updates: list[tuple[object, ...]] = []
    if appended:
        summaries, series_ids, steps, values = _batch_summaries(appended, data, ids)
        rollups.merge_rollups(connection, series_ids, steps, values)
        for key in appended:
            updates.append((_extend(stored[key], summaries[key]) if key in stored else summaries[key]).row())
    for key in overwritten:
        rollups.rebuild_rollups(connection, ids[key], data[key].steps[0], data[key].steps[-1])
        updates.append(_recompute(connection, ids[key]).row())
    connection.exec_driver_sql(_UPDATE_SUMMARY.format(p=p), updates)
    # Any ingest proves the run is alive; it does not change a finished run's status.
    session.execute(update(models.Run).where(models.Run.id == run_id).values(heartbeat_at=utcnow()))
    return schemas.IngestResult(points=len(rows), series=len(data))
