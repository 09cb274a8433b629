"""Point data reads: series with summaries, range reads with downsampling, multi-run reads, export rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from sqlalchemy import Connection, ScalarSelect, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from fitwatch.scopes import carries_epochs
from fitwatch_server import models, schemas
from fitwatch_server.downsample import select_indices
from fitwatch_server.errors import NotFound
from fitwatch_server.store.point_data import bulk, rollups
from fitwatch_server.store.point_data.summary import SUMMARY_FIELDS
from fitwatch_server.values import from_db

EXPORT_CHUNK_ROWS = 10_000


def series_public(series: models.Series) -> schemas.SeriesPublic:
    fields = {name: getattr(series, name) for name in SUMMARY_FIELDS}
    fields["last_value"] = from_db(series.last_value)  # NULL is NaN (values.py)
    return schemas.SeriesPublic(key=series.key, scope=schemas.Scope(series.scope), **fields)


# The summary columns the run filter language can compare and sort by (`max(val_loss)`).
_AGGREGATE_COLUMNS = {
    "min": models.Series.min_value,
    "max": models.Series.max_value,
    "last": models.Series.last_value,
    "count": models.Series.count,
}


def aggregate_subquery(
    aggregate: str, *, key: str, scope: str, run_id: InstrumentedAttribute[str]
) -> ScalarSelect[Any]:
    """A correlated scalar subquery: `aggregate` of series (`run_id`, `key`, `scope`)."""
    return (
        select(_AGGREGATE_COLUMNS[aggregate])
        .where(
            models.Series.run_id == run_id, models.Series.key == key, models.Series.scope == scope
        )
        .scalar_subquery()
    )


def list_series(session: Session, *, run_id: str) -> list[models.Series]:
    return list(
        session.scalars(
            select(models.Series)
            .where(models.Series.run_id == run_id)
            .order_by(models.Series.key, models.Series.scope)
        )
    )


def series_by_run(session: Session, *, run_ids: list[str]) -> dict[str, list[models.Series]]:
    """Every series of several runs in one query (for listing runs with their metrics)."""
    found: dict[str, list[models.Series]] = {run_id: [] for run_id in run_ids}
    if run_ids:
        for series in session.scalars(
            select(models.Series)
            .where(models.Series.run_id.in_(run_ids))
            .order_by(models.Series.key, models.Series.scope)
        ):
            found[series.run_id].append(series)
    return found


def get_series(session: Session, *, run_id: str, key: str, scope: str) -> models.Series:
    series = session.scalar(
        select(models.Series).where(
            models.Series.run_id == run_id, models.Series.key == key, models.Series.scope == scope
        )
    )
    if series is None:
        raise NotFound(f"run {run_id!r} has no series {key!r} in scope {scope!r}")
    return series


Rows = list[tuple[int, float | None, float, int | None]]


def _raw_rows(connection: Connection, series_id: int, low: int, high: int) -> Rows:
    p = rollups.placeholder(connection)
    return _fetch(
        connection,
        "SELECT step, value, wall_time, epoch FROM points "
        f"WHERE series_id = {p} AND step BETWEEN {p} AND {p} ORDER BY step",
        (series_id, low, high),
    )


def _rows_at(connection: Connection, series_id: int, steps: list[int]) -> Rows:
    """The stored rows at `steps` (sorted, distinct), in step order: one statement."""
    if not steps:
        return []
    if bulk.is_postgresql(connection):
        return _rows_at_postgresql(connection, series_id, steps)
    p = rollups.placeholder(connection)
    found: Rows = []
    for i in range(0, len(steps), 900):  # SQLite's default limit is 999 parameters
        chunk = steps[i : i + 900]
        marks = ", ".join([p] * len(chunk))
        found += _fetch(
            connection,
            f"SELECT step, value, wall_time, epoch FROM points "
            f"WHERE series_id = {p} AND step IN ({marks})",
            (series_id, *chunk),
        )
    found.sort()
    return found


# One index probe per chosen step on (series_id, step), whatever the statistics say. Not
# `step = ANY(%s)` or `IN (…)`: a series grown since its partition was last analysed is
# estimated at one row, and the planner then scans the whole series by `series_id` and
# filters the steps (11 s for 900 steps of a 1M-point series, docs/scale.md). `OFFSET 0`
# keeps the subquery from being flattened into a join the planner may turn the same way; as
# a correlated subquery it can only be an index lookup of both key columns.
_ROWS_AT_PG = (
    "SELECT p.step, p.value, p.wall_time, p.epoch FROM unnest(%s::bigint[]) AS chosen(step) "
    "CROSS JOIN LATERAL (SELECT step, value, wall_time, epoch FROM points "
    "WHERE series_id = %s AND step = chosen.step OFFSET 0) AS p ORDER BY p.step"
)


def _rows_at_postgresql(connection: Connection, series_id: int, steps: list[int]) -> Rows:
    # The array as its text literal: psycopg's list adapter inspects every element in Python
    # (a few ms for 2,000 steps); `str.join` of ints is one C loop.
    return _fetch(connection, _ROWS_AT_PG, ("{" + ",".join(map(str, steps)) + "}", series_id))


def _fetch(connection: Connection, sql: str, params: tuple[object, ...]) -> list[Any]:
    # The driver's own cursor: its rows are already tuples, and a full read of a long series
    # spends most of its time turning rows into Python objects (docs/scale.md).
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _candidates_sql(p: str) -> str:
    """Every candidate of a downsampled read in one statement (one round trip): the rollup
    rows of the whole buckets, the raw points of the partial buckets at both edges, and the
    first and last stored points of the range. Points come back as (step, value, NULL, NULL,
    NULL), so a row is always (min_step, min_value, max_step, max_value, nan_step)."""
    # Typed NULLs: PostgreSQL types a bare NULL in a subquery as text, which no UNION with
    # the rollup columns accepts.
    none_step, none_value = "CAST(NULL AS BIGINT)", "CAST(NULL AS DOUBLE PRECISION)"
    points = (
        f"SELECT step, value, {none_step}, {none_value}, {none_step} FROM points "
        f"WHERE series_id = {p} "
    )
    return (
        f"SELECT min_step, min_value, max_step, max_value, nan_step FROM point_rollups "
        f"WHERE series_id = {p} AND bucket_size = {p} AND bucket BETWEEN {p} AND {p} "
        f"UNION ALL {points}AND step BETWEEN {p} AND {p} "
        f"UNION ALL {points}AND step BETWEEN {p} AND {p} "
        f"UNION ALL SELECT * FROM ({points}AND step >= {p} ORDER BY step LIMIT 1) AS first_point "
        f"UNION ALL SELECT * FROM ({points}AND step <= {p} ORDER BY step DESC LIMIT 1) AS last_point"
    )


def _downsampled_rows(
    connection: Connection, series: models.Series, low: int, high: int, max_points: int
) -> Rows | None:
    """Rows chosen from the rollups (MinMaxLTTB on bucket extremes), or None to read raw.

    Two statements on either backend: the candidates (`_candidates_sql`), then the chosen
    rows. The same SQL and the same selection on SQLite and PostgreSQL, so both answer alike.
    """
    bucket_size = rollups.choose_bucket_size(high - low + 1, max_points)
    if bucket_size is None:
        return None
    # Whole buckets inside [low, high] come from the rollups; the partial edges are read raw.
    first_bucket = -(-low // bucket_size)
    last_bucket = (high + 1) // bucket_size - 1
    sid = series.id
    rollup_rows = (sid, bucket_size, first_bucket, last_bucket)
    low_edge = (sid, low, first_bucket * bucket_size - 1)
    high_edge = (sid, (last_bucket + 1) * bucket_size, high)
    sql = _candidates_sql(rollups.placeholder(connection))
    rows = _fetch(connection, sql, (*rollup_rows, *low_edge, *high_edge, sid, low, sid, high))
    steps: list[int] = []
    values: list[float] = []
    for min_step, min_value, max_step, max_value, nan_step in rows:
        if min_step is not None:  # a point's value NULL is NaN (values.py)
            steps.append(min_step)
            values.append(from_db(min_value))
        if max_step is not None:
            steps.append(max_step)
            values.append(max_value)
        if nan_step is not None:
            steps.append(nan_step)
            values.append(np.nan)
    step_array = np.array(steps, dtype=np.int64)
    value_array = np.array(values, dtype=np.float64)
    order = np.argsort(step_array, kind="stable")
    step_array, value_array = step_array[order], value_array[order]
    unique = np.concatenate(([True], step_array[1:] != step_array[:-1]))
    step_array, value_array = step_array[unique], value_array[unique]
    keep = select_indices(step_array, value_array, max_points)
    return _rows_at(connection, sid, step_array[keep].tolist())


def read_points(
    session: Session,
    *,
    series: models.Series,
    start: int | None = None,
    end: int | None = None,
    max_points: int | None = None,
) -> schemas.SeriesPointsPublic:
    """Points of one series between `start` and `end` (inclusive), downsampled above `max_points`.

    Long ranges read the rollups (bucket min/max) instead of every point, so a 1M-point series
    comes back downsampled in tens of milliseconds; short ranges read the points themselves.
    """
    connection = session.connection()
    low = max(start if start is not None else 0, series.first_step)
    high = min(end if end is not None else series.last_step, series.last_step)
    rows: list[tuple[int, float | None, float, int | None]] = []
    downsampled = False
    if low <= high:
        chosen = None
        if max_points is not None:
            chosen = _downsampled_rows(connection, series, low, high, max_points)
        if chosen is not None:
            rows, downsampled = chosen, True
        else:
            rows = _raw_rows(connection, series.id, low, high)
            if max_points is not None and len(rows) > max_points:
                step_array = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                value_array = np.fromiter(
                    (from_db(r[1]) for r in rows), dtype=np.float64, count=len(rows)
                )
                keep = select_indices(step_array, value_array, max_points)
                rows = [rows[i] for i in keep.tolist()]
                downsampled = True
    has_epochs = carries_epochs(series.scope)
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[], [], [], []]
    steps, values, times, epochs = columns
    # model_construct: the rows come from the database, already valid; validating 100k-point
    # columns again would cost more than reading them.
    return schemas.SeriesPointsPublic.model_construct(
        run_id=series.run_id,
        key=series.key,
        scope=schemas.Scope(series.scope),
        steps=steps,
        values=[from_db(v) for v in values] if None in values else values,
        times=times,
        epochs=epochs if has_epochs else None,
        count=series.count,
        downsampled=downsampled,
    )


def export_rows(
    session: Session, *, run_id: str
) -> Iterator[tuple[str, str, int, int | None, float, float]]:
    """Every point of a run as (key, scope, step, epoch, value, wall_time), in chunks.

    Reads by keyset pagination so memory stays flat however large the run is.
    """
    for series in list_series(session, run_id=run_id):
        last_step = -1
        while True:
            chunk = session.execute(
                select(
                    models.Point.step,
                    models.Point.epoch,
                    models.Point.value,
                    models.Point.wall_time,
                )
                .where(models.Point.series_id == series.id, models.Point.step > last_step)
                .order_by(models.Point.step)
                .limit(EXPORT_CHUNK_ROWS)
            ).all()
            if not chunk:
                break
            for step, epoch, value, wall_time in chunk:
                yield series.key, series.scope, step, epoch, from_db(value), wall_time
            last_step = chunk[-1][0]


def read_many(
    session: Session,
    *,
    run_ids: list[str],
    keys: list[str] | None,
    scope: str,
    start: int | None,
    end: int | None,
    max_points: int | None,
) -> list[schemas.SeriesPointsPublic]:
    """The same keys across several runs; missing series are skipped. `keys` None: every
    key the runs logged in `scope`, in key order.

    When downsampling, every run gets the same step width per output point: a run that
    covers half the global step range gets half the points. Runs normally start at step 0,
    so their MinMaxLTTB buckets then line up across the comparison.
    """
    found = list(
        session.scalars(
            select(models.Series).where(
                models.Series.run_id.in_(run_ids),
                models.Series.scope == scope,
                *([] if keys is None else [models.Series.key.in_(keys)]),
            )
        )
    )
    if not found:
        return []
    low = max(min(s.first_step for s in found), start if start is not None else -1)
    high = min(max(s.last_step for s in found), end if end is not None else 2**62)
    span = max(high - low, 1)
    order = {run_id: i for i, run_id in enumerate(run_ids)}
    rank = {key: i for i, key in enumerate(keys or sorted({s.key for s in found}))}
    found.sort(key=lambda s: (order[s.run_id], rank[s.key]))
    results = []
    for series in found:
        budget = max_points
        if max_points is not None:
            own_low = max(series.first_step, low)
            own_high = min(series.last_step, high)
            share = max(own_high - own_low, 1) / span
            budget = max(int(round(max_points * share)), 3)
        results.append(read_points(session, series=series, start=start, end=end, max_points=budget))
    return results
