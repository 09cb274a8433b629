"""Point rollups: per-bucket min/max/NaN of each series, kept on ingest, read for downsampling.

Also home of `group_extremes` (vectorised min/max/first NaN per group: the finest rollups) and
`combine` (coarser rollups and the summaries of new points, from the finer rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Table

from fitwatch_server import models
from fitwatch_server.store.point_data import bulk, sqlite_rows

# Coarsest first when reading. 64 keeps raw reads of a downsampled range under ~32k points
# per 1,000 requested; 16384 keeps a 100M-step series to ~6k rollup rows.
BUCKET_SIZES = (64, 1024, 16384)
_ROLLUPS = cast(Table, models.PointRollup.__table__)
_NO_STEP = np.iinfo(np.int64).max

Int64s = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

_COLUMNS = (
    "series_id, bucket_size, bucket, count, min_value, min_step, max_value, max_step, nan_step"
)
# Merging new points into a bucket: counts add, the smaller minimum (and on a tie the earlier
# step) wins, likewise the maximum and the first NaN. Correct for any new steps, in any order,
# as long as none of them overwrites a stored one (then `rebuild_rollups`).
_NEW_MIN = (
    "(point_rollups.min_value IS NULL OR excluded.min_value < point_rollups.min_value "
    "OR (excluded.min_value = point_rollups.min_value AND excluded.min_step < point_rollups.min_step))"
)
_NEW_MAX = (
    "(point_rollups.max_value IS NULL OR excluded.max_value > point_rollups.max_value "
    "OR (excluded.max_value = point_rollups.max_value AND excluded.max_step < point_rollups.max_step))"
)
_ON_CONFLICT_MERGE = (
    "ON CONFLICT (series_id, bucket_size, bucket) DO UPDATE SET "
    "count = point_rollups.count + excluded.count, "
    f"min_step = CASE WHEN {_NEW_MIN} THEN excluded.min_step ELSE point_rollups.min_step END, "
    f"min_value = CASE WHEN {_NEW_MIN} THEN excluded.min_value ELSE point_rollups.min_value END, "
    f"max_step = CASE WHEN {_NEW_MAX} THEN excluded.max_step ELSE point_rollups.max_step END, "
    f"max_value = CASE WHEN {_NEW_MAX} THEN excluded.max_value ELSE point_rollups.max_value END, "
    "nan_step = CASE WHEN point_rollups.nan_step IS NULL OR excluded.nan_step < point_rollups.nan_step "
    "THEN excluded.nan_step ELSE point_rollups.nan_step END"
)
_MERGE_HEAD = f"INSERT INTO point_rollups ({_COLUMNS})"
_WIDTH = len(_COLUMNS.split(", "))
_INSERT_ROLLUPS = f"INSERT INTO point_rollups ({_COLUMNS}) VALUES ({{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}})"


def placeholder(connection: Connection) -> str:
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


@dataclass(slots=True)
class Extremes:
    """Per group (in input order): size, first/last index, min/max (NaN ignored), first NaN."""

    starts: Int64s
    counts: Int64s
    last_index: Int64s
    min_index: Int64s
    min_valid: npt.NDArray[np.bool_]
    max_index: Int64s
    max_valid: npt.NDArray[np.bool_]
    nan_step: Int64s  # _NO_STEP where the group has no NaN


def group_extremes(keys: list[Int64s], steps: Int64s, values: Floats) -> Extremes:
    """Extremes of each run of equal `keys` rows; rows are sorted by (keys..., step).

    Ties go to the earliest step, so "best epoch" is the first epoch that reached the best value.
    """
    n = len(steps)
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for key in keys:
        change[1:] |= key[1:] != key[:-1]
    starts = np.flatnonzero(change)
    counts = np.diff(np.append(starts, n))
    isnan = np.isnan(values)
    index = np.arange(n)
    # reduceat gives each group's min; the first row equal to it is the earliest such step.
    low = np.where(isnan, np.inf, values)
    high = np.where(isnan, -np.inf, values)
    at_min = low == np.repeat(np.minimum.reduceat(low, starts), counts)
    at_max = high == np.repeat(np.maximum.reduceat(high, starts), counts)
    # A group of only NaN has min inf at a NaN row: min_valid turns that into "no minimum".
    min_index = np.minimum.reduceat(np.where(at_min & ~isnan, index, n), starts)
    max_index = np.minimum.reduceat(np.where(at_max & ~isnan, index, n), starts)
    min_valid = min_index < n
    max_valid = max_index < n
    min_index = np.where(min_valid, min_index, starts)
    max_index = np.where(max_valid, max_index, starts)
    nan_step = np.minimum.reduceat(np.where(isnan, steps, _NO_STEP), starts)
    return Extremes(
        starts=starts,
        counts=counts,
        last_index=starts + counts - 1,
        min_index=min_index,
        min_valid=min_valid,
        max_index=max_index,
        max_valid=max_valid,
        nan_step=nan_step,
    )


def rollup_rows(
    series_ids: Int64s, steps: Int64s, values: Floats, bucket_size: int
) -> list[tuple[object, ...]]:
    buckets = steps // bucket_size
    ext = group_extremes([series_ids, buckets], steps, values)
    start = ext.starts
    return list(
        zip(
            series_ids[start].tolist(),
            [bucket_size] * len(start),
            buckets[start].tolist(),
            ext.counts.tolist(),
            [
                float(v) if ok else None
                for v, ok in zip(values[ext.min_index].tolist(), ext.min_valid, strict=True)
            ],
            [
                int(s) if ok else None
                for s, ok in zip(steps[ext.min_index].tolist(), ext.min_valid, strict=True)
            ],
            [
                float(v) if ok else None
                for v, ok in zip(values[ext.max_index].tolist(), ext.max_valid, strict=True)
            ],
            [
                int(s) if ok else None
                for s, ok in zip(steps[ext.max_index].tolist(), ext.max_valid, strict=True)
            ],
            [None if s == _NO_STEP else s for s in ext.nan_step.tolist()],
            strict=True,
        )
    )


def combine(children: list[tuple[object, ...]], bucket_size: int) -> list[tuple[object, ...]]:
    """Rollup rows of `bucket_size` from finer rows sorted by (series, bucket).

    Children come in step order, so keeping the first of equal extremes keeps the earliest
    step, as a scan of the points would; the first NaN likewise.
    """
    parents: dict[tuple[int, int], list[object]] = {}
    for (
        series_id,
        size,
        bucket,
        count,
        min_value,
        min_step,
        max_value,
        max_step,
        nan_step,
    ) in children:
        key = (series_id, bucket * size // bucket_size)  # type: ignore[operator]
        row = parents.get(key)  # type: ignore[arg-type]
        if row is None:
            parents[key] = [count, min_value, min_step, max_value, max_step, nan_step]  # type: ignore[index]
            continue
        row[0] += count  # type: ignore[operator]
        if min_value is not None and (row[1] is None or min_value < row[1]):  # type: ignore[operator]
            row[1], row[2] = min_value, min_step
        if max_value is not None and (row[3] is None or max_value > row[3]):  # type: ignore[operator]
            row[3], row[4] = max_value, max_step
        if row[5] is None:
            row[5] = nan_step
    return [(series_id, bucket_size, bucket, *row) for (series_id, bucket), row in parents.items()]


# Up to this many new points in a transaction, `batch_rollups_plain` builds the rollup rows:
# on what the SDK sends (a few hundred points per merged transaction) it takes about a
# third of the time of the NumPy path, whose fixed cost per array call dominates there
# (docs/scale.md). From 10,000 to 100,000 points the two were within ~25% of each other
# (plain Python ahead), so large transactions stay on the NumPy path, the one the
# consistency scan (`scan.py`) also uses.
PLAIN_PYTHON_MAX_POINTS = 2048


def finest_rows(
    out: list[tuple[object, ...]], series_id: int, steps: list[int], values: list[float]
) -> None:
    """Append the finest rollup rows of one series' new points (steps sorted, each once):
    `rollup_rows` in plain Python, by the same rules (NaN ignored by min/max, ties to the
    earliest step, the first NaN's step); the two are tested against each other."""
    bucket_size = BUCKET_SIZES[0]
    bucket = steps[0] // bucket_size
    count = 0
    low: float | None = None
    high: float | None = None
    low_step: int | None = None
    high_step: int | None = None
    nan_step: int | None = None
    for step, value in zip(steps, values, strict=True):
        if step // bucket_size != bucket:
            out.append(
                (series_id, bucket_size, bucket, count, low, low_step, high, high_step, nan_step)
            )
            bucket = step // bucket_size
            count = 0
            low = high = low_step = high_step = nan_step = None
        count += 1
        if value != value:  # NaN
            if nan_step is None:
                nan_step = step
            continue
        if low is None or value < low:
            low, low_step = value, step
        if high is None or value > high:
            high, high_step = value, step
    out.append((series_id, bucket_size, bucket, count, low, low_step, high, high_step, nan_step))


def batch_rollups_plain(
    series: list[tuple[int, list[int], list[float]]],
) -> list[tuple[object, ...]]:
    """`batch_rollups` of `(series_id, steps, values)` per series (steps sorted, each once),
    in plain Python: the same rows in the same order."""
    finest: list[tuple[object, ...]] = []
    for series_id, steps, values in series:
        finest_rows(finest, series_id, steps, values)
    return _with_coarser_levels(finest)


def batch_rollups(series_ids: Int64s, steps: Int64s, values: Floats) -> list[tuple[object, ...]]:
    """Rollup rows of new points (sorted by series, step) at every bucket size: the finest from
    the points in one vectorised pass, each coarser one from the level below."""
    return _with_coarser_levels(rollup_rows(series_ids, steps, values, BUCKET_SIZES[0]))


def _with_coarser_levels(finest: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """The finest level's rows, then each coarser level's, combined from the level below."""
    level, rows = finest, list(finest)
    for bucket_size in BUCKET_SIZES[1:]:
        level = combine(level, bucket_size)
        rows += level
    return rows


def merge_rollups(connection: Connection, rows: list[tuple[object, ...]]) -> None:
    """Fold rollup rows of new points (steps not stored before, in any order) into the table:
    multi-row `INSERT … ON CONFLICT`s on SQLite (`sqlite_rows`), one `INSERT … SELECT … ON
    CONFLICT` on PostgreSQL."""
    if not rows:
        return
    if not bulk.is_postgresql(connection):
        sqlite_rows.insert_rows(
            connection, _MERGE_HEAD, rows, width=_WIDTH, tail=_ON_CONFLICT_MERGE
        )
        return
    bulk.execute_together(connection, [merge_statement(rows)])


def merge_statement(rows: list[tuple[object, ...]]) -> bulk.Statement | None:
    """PostgreSQL: `merge_rollups` as one statement with the rows inline (`bulk.unnest_rows`),
    for `bulk.execute_together`; None without rows."""
    return _insert_select(rows, f" {_ON_CONFLICT_MERGE}")


def split_new(
    rows: list[tuple[object, ...]], last_steps: dict[int, int]
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Rollup rows of new points as (rows no stored bucket can hold, the others).

    `last_steps` is each series' stored last step, read with its run locked (absent: the
    series has no points yet). A bucket row exists only where a stored point lies (rows are
    written with their points and deleted only with their series), and every stored point is
    at or before the last step, so a bucket that starts after it cannot be stored yet: its
    row may be inserted without `ON CONFLICT`. Only a series' bucket holding the last step,
    per level, and earlier ones (steps filling a gap) can meet a stored row.
    """
    fresh: list[tuple[object, ...]] = []
    merged: list[tuple[object, ...]] = []
    for row in rows:
        series_id, bucket_size, bucket = cast(tuple[int, int, int], row[:3])
        last = last_steps.get(series_id)
        if last is None or bucket > last // bucket_size:
            fresh.append(row)
        else:
            merged.append(row)
    return fresh, merged


def insert_statement(rows: list[tuple[object, ...]]) -> bulk.Statement | None:
    """PostgreSQL: a plain `INSERT … SELECT` of rollup rows that meet no stored row
    (`split_new`), for `bulk.execute_together`; None without rows. No `ON CONFLICT`: a
    speculative insertion costs PostgreSQL an index probe and a confirmation record per row
    more than a plain one (docs/scale.md)."""
    return _insert_select(rows, "")


def _insert_select(rows: list[tuple[object, ...]], tail: str) -> bulk.Statement | None:
    """`INSERT … SELECT` of rollup rows inline as arrays (`bulk.unnest_rows`), then `tail`."""
    if not rows:
        return None
    source, params = bulk.unnest_rows(_ROLLUPS, _COLUMNS.split(", "), rows)
    return f"{_MERGE_HEAD} SELECT {_COLUMNS} FROM {source}{tail}", params


def _ranges(buckets: list[int]) -> list[tuple[int, int]]:
    """Sorted bucket numbers as (first, last) runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for bucket in buckets:
        if runs and bucket == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], bucket)
        else:
            runs.append((bucket, bucket))
    return runs


def rebuild_rollups(connection: Connection, series_id: int, steps: list[int]) -> None:
    """Recompute the buckets that hold `steps`, after those stored steps were overwritten (an
    overwritten minimum cannot be merged away): the finest buckets from the points, each
    coarser level from the level below, so a resend of 10 points reads about 64 points and a
    few dozen rollup rows, however long the series."""
    p = placeholder(connection)
    delete = (
        f"DELETE FROM point_rollups WHERE series_id = {p} AND bucket_size = {p} "
        f"AND bucket BETWEEN {p} AND {p}"
    )
    finest = BUCKET_SIZES[0]
    buckets = sorted({step // finest for step in steps})
    rows: list[tuple[object, ...]] = []
    for low, high in _ranges(buckets):
        points = connection.exec_driver_sql(
            f"SELECT step, value FROM points WHERE series_id = {p} AND step BETWEEN {p} AND {p} "
            "ORDER BY step",
            (series_id, low * finest, (high + 1) * finest - 1),
        ).all()
        connection.exec_driver_sql(delete, (series_id, finest, low, high))
        if points:
            found = np.array([r[0] for r in points], dtype=np.int64)
            values = np.array([np.nan if r[1] is None else r[1] for r in points], dtype=np.float64)
            rows += rollup_rows(
                np.full(len(found), series_id, dtype=np.int64), found, values, finest
            )
    if rows:
        connection.exec_driver_sql(_INSERT_ROLLUPS.format(p=p), rows)
    below = finest
    for bucket_size in BUCKET_SIZES[1:]:
        factor = bucket_size // below
        buckets = sorted({bucket // factor for bucket in buckets})
        rows = []
        for low, high in _ranges(buckets):
            children = connection.exec_driver_sql(
                f"SELECT {_COLUMNS} FROM point_rollups WHERE series_id = {p} AND bucket_size = {p} "
                f"AND bucket BETWEEN {p} AND {p} ORDER BY bucket",
                (series_id, below, low * factor, (high + 1) * factor - 1),
            ).all()
            connection.exec_driver_sql(delete, (series_id, bucket_size, low, high))
            rows += combine([tuple(c) for c in children], bucket_size)
        if rows:
            connection.exec_driver_sql(_INSERT_ROLLUPS.format(p=p), rows)
        below = bucket_size


def choose_bucket_size(span: int, max_points: int) -> int | None:
    """The coarsest bucket size that still yields enough candidates, or None: read raw points."""
    for bucket_size in reversed(BUCKET_SIZES):
        if (span // bucket_size) * 2 >= max_points:
            return bucket_size
    return None
