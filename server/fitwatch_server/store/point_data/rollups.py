"""Point rollups: per-bucket min/max/NaN of each series, kept on ingest, read for downsampling.

Also home of `group_extremes`, the vectorised min/max/first/last per group that both the
rollups and the series summaries are computed with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

# Coarsest first when reading. 64 keeps raw reads of a downsampled range under ~32k points
# per 1,000 requested; 16384 keeps a 100M-step series to ~6k rollup rows.
BUCKET_SIZES = (64, 1024, 16384)
_NO_STEP = np.iinfo(np.int64).max

Int64s = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

_MERGE_ROLLUPS = (
    "INSERT INTO point_rollups (series_id, bucket_size, bucket, count, min_value, min_step, "
    "max_value, max_step, nan_step) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}) "
    "ON CONFLICT (series_id, bucket_size, bucket) DO UPDATE SET "
    "count = point_rollups.count + excluded.count, "
    "min_step = CASE WHEN point_rollups.min_value IS NULL OR excluded.min_value < point_rollups.min_value "
    "THEN excluded.min_step ELSE point_rollups.min_step END, "
    "min_value = CASE WHEN point_rollups.min_value IS NULL OR excluded.min_value < point_rollups.min_value "
    "THEN excluded.min_value ELSE point_rollups.min_value END, "
    "max_step = CASE WHEN point_rollups.max_value IS NULL OR excluded.max_value > point_rollups.max_value "
    "THEN excluded.max_step ELSE point_rollups.max_step END, "
    "max_value = CASE WHEN point_rollups.max_value IS NULL OR excluded.max_value > point_rollups.max_value "
    "THEN excluded.max_value ELSE point_rollups.max_value END, "
    "nan_step = COALESCE(point_rollups.nan_step, excluded.nan_step)"
)


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
            [float(v) if ok else None for v, ok in zip(values[ext.min_index].tolist(), ext.min_valid, strict=True)],
            [int(s) if ok else None for s, ok in zip(steps[ext.min_index].tolist(), ext.min_valid, strict=True)],
            [float(v) if ok else None for v, ok in zip(values[ext.max_index].tolist(), ext.max_valid, strict=True)],
            [int(s) if ok else None for s, ok in zip(steps[ext.max_index].tolist(), ext.max_valid, strict=True)],
            [None if s == _NO_STEP else s for s in ext.nan_step.tolist()],
            strict=True,
        )
    )


def merge_rollups(connection: Connection, series_ids: Int64s, steps: Int64s, values: Floats) -> None:
    """Fold new points (steps after every stored step of their series) into the rollups."""
    p = placeholder(connection)
    for bucket_size in BUCKET_SIZES:
        connection.exec_driver_sql(
            _MERGE_ROLLUPS.format(p=p), rollup_rows(series_ids, steps, values, bucket_size)
        )


def rebuild_rollups(connection: Connection, series_id: int, first_step: int, last_step: int) -> None:
    """Recompute every bucket touching [first_step, last_step] from the stored points.

    Needed when a batch overwrote stored steps: an overwritten minimum cannot be merged away.
    """
    coarsest = BUCKET_SIZES[-1]
    low = first_step // coarsest * coarsest
    high = (last_step // coarsest + 1) * coarsest - 1
    p = placeholder(connection)
    rows = connection.exec_driver_sql(
        f"SELECT step, value FROM points WHERE series_id = {p} AND step BETWEEN {p} AND {p} ORDER BY step",
        (series_id, low, high),
    ).all()
    for bucket_size in BUCKET_SIZES:
        connection.exec_driver_sql(
            f"DELETE FROM point_rollups WHERE series_id = {p} AND bucket_size = {p} "
            f"AND bucket BETWEEN {p} AND {p}",
            (series_id, bucket_size, low // bucket_size, high // bucket_size),
        )
    if not rows:
        return
    steps = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    values = np.fromiter((np.nan if r[1] is None else r[1] for r in rows), dtype=np.float64, count=len(rows))
    ids = np.full(len(rows), series_id, dtype=np.int64)
    merge_rollups(connection, ids, steps, values)


def choose_bucket_size(span: int, max_points: int) -> int | None:
    """The coarsest bucket size that still yields enough candidates, or None: read raw points."""
    for bucket_size in reversed(BUCKET_SIZES):
        if (span // bucket_size) * 2 >= max_points:
            return bucket_size
    return None


def read_candidates(
    connection: Connection, *, series_id: int, bucket_size: int, first_bucket: int, last_bucket: int
) -> tuple[list[int], list[float]]:
    """Min, max and NaN points of each bucket in [first_bucket, last_bucket]."""
    p = placeholder(connection)
    rows = connection.exec_driver_sql(
        f"SELECT min_step, min_value, max_step, max_value, nan_step FROM point_rollups "
        f"WHERE series_id = {p} AND bucket_size = {p} AND bucket BETWEEN {p} AND {p}",
        (series_id, bucket_size, first_bucket, last_bucket),
    ).all()
    steps: list[int] = []
    values: list[float] = []
    for min_step, min_value, max_step, max_value, nan_step in rows:
        if min_step is not None:
            steps += (min_step, max_step)
            values += (min_value, max_value)
        if nan_step is not None:
            steps.append(nan_step)
            values.append(np.nan)
    return steps, values
