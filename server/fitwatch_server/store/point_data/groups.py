"""Group statistics: per group of runs and step bucket, count, mean, std, min and max.

A band across seeds needs every run on the same steps. Runs are put on one grid of step
buckets shared by every run and every group of the request: bucket `b` holds steps
`b * width` to `(b + 1) * width - 1`, `width` a power of two (so buckets nest inside the
rollup buckets of `rollups.BUCKET_SIZES`, and epoch data, whose spans are short, gets
width 1: every epoch is its own bucket). A run's value in a bucket is the mean of its
points there (NaN ignored); the group's figures are over those run values, one per run.
The database does the per-run averaging (one grouped query for every series), NumPy the
rest, so a chart of 20 runs costs one request and one scan of their points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from fitwatch_server import models
from fitwatch_server.store.point_data import rollups

# Series per query: SQLite allows 32,766 bound parameters, PostgreSQL 65,535.
_SERIES_PER_QUERY = 500


@dataclass(frozen=True, slots=True)
class KeyStats:
    """One key of one group: the buckets where at least one run has a value."""

    key: str
    logged_keys: list[str]  # the runs' own keys in these figures (`acc`, `accuracy`)
    steps: list[int]  # each bucket's first step
    count: list[int]
    mean: list[float]
    std: list[float]
    min: list[float]
    max: list[float]


@dataclass(frozen=True, slots=True)
class GroupStats:
    step_width: int
    low: int | None
    high: int | None
    # group label -> key -> stats (keys no run of the group has are left out)
    groups: dict[str, dict[str, KeyStats]]


def step_width(span: int, max_points: int | None) -> int:
    """The smallest power of two that puts `span` steps into at most `max_points` buckets."""
    if max_points is None or span <= max_points:
        return 1
    width = 1
    while -(-span // width) > max_points:
        width *= 2
    return width


def _run_means(
    session: Session, series_ids: list[int], width: int, low: int, high: int
) -> list[tuple[int, int, float | None]]:
    """(series id, bucket, mean of the series' values in the bucket) for every bucket with a point.

    The mean is clamped between the bucket's smallest and largest value: SQLite's AVG of one
    value repeated (a constant learning rate) is off by a unit in the last place most of the
    time, and a band of such means is drawn as noise on an axis that zooms into it."""
    connection = session.connection()
    p = rollups.placeholder(connection)
    rows: list[tuple[int, int, float | None]] = []
    for i in range(0, len(series_ids), _SERIES_PER_QUERY):
        chunk = series_ids[i : i + _SERIES_PER_QUERY]
        marks = ", ".join([p] * len(chunk))
        # NaN is NULL in the points table (values.py): AVG skips it, so a run whose bucket holds
        # only NaN has no value there, and one NaN does not erase a bucket's other points.
        # `width` is an int computed here, written as a literal so that both engines see the
        # same grouping expression in SELECT and GROUP BY.
        rows += [
            (int(r[0]), int(r[1]), r[2] if r[2] is None else min(max(r[2], r[3]), r[4]))
            for r in connection.exec_driver_sql(
                f"SELECT series_id, step / {int(width)} AS bucket, AVG(value), MIN(value), MAX(value) FROM points "
                f"WHERE series_id IN ({marks}) AND step BETWEEN {p} AND {p} "
                "GROUP BY 1, 2",
                (*chunk, low, high),
            )
        ]
    return rows


def group_stats(
    session: Session,
    *,
    groups: dict[str, list[str]],
    keys: list[str],
    scope: str,
    start: int | None,
    end: int | None,
    max_points: int | None,
    run_keys: dict[str, dict[str, str]] | None = None,
) -> GroupStats:
    """Statistics across the runs of each group, for each key, on one shared bucket grid.

    `groups` maps a label to its run ids. Series that do not exist are skipped; a bucket
    where no run of a group has a value is left out of that group's key.

    `run_keys` (run id -> {the run's own key: one of `keys`}) reads each run's series under
    another name: runs that logged `acc` and runs that logged `accuracy` form one figure for
    the metric both computed. Without it every run is read under `keys` themselves. A run
    with two of its keys under one name gives the figure the first of them (by name), so
    that a run counts once.
    """
    run_group = {run_id: label for label, run_ids in groups.items() for run_id in run_ids}
    if run_keys is None:
        run_keys = {run_id: {key: key for key in keys} for run_id in run_group}
    wanted = set(keys)
    chosen: dict[tuple[str, str], str] = {}  # (run, reported key) -> the run's own key
    for run_id, mapping in run_keys.items():
        for own, reported in sorted(mapping.items()):
            if reported in wanted and run_id in run_group:
                chosen.setdefault((run_id, reported), own)
    reported_as = {(run_id, own): reported for (run_id, reported), own in chosen.items()}
    own_keys = sorted({own for _, own in reported_as})
    found = (
        list(
            session.execute(
                select(
                    models.Series.id,
                    models.Series.run_id,
                    models.Series.key,
                    models.Series.first_step,
                    models.Series.last_step,
                ).where(
                    models.Series.run_id.in_(list(run_group)),
                    models.Series.key.in_(own_keys),
                    models.Series.scope == scope,
                )
            )
        )
        if run_group and own_keys
        else []
    )
    found = [s for s in found if (s.run_id, s.key) in reported_as]
    if not found:
        return GroupStats(step_width=1, low=None, high=None, groups={label: {} for label in groups})
    low = max(min(s.first_step for s in found), start if start is not None else 0)
    high = min(max(s.last_step for s in found), end if end is not None else 2**62)
    if low > high:
        return GroupStats(step_width=1, low=low, high=high, groups={label: {} for label in groups})
    width = step_width(high - low + 1, max_points)
    # Align the grid to multiples of the width (like the rollups), not to `low`.
    by_series = {s.id: (s.run_id, s.key) for s in found}
    rows = _run_means(session, list(by_series), width, low, high)
    # (group, reported key) -> bucket -> run values, and the runs' own keys behind them
    cells: dict[tuple[str, str], dict[int, list[float]]] = {}
    logged: dict[tuple[str, str], set[str]] = {}
    for series_id, bucket, mean in rows:
        if mean is None or mean != mean:
            continue  # only NaN there (or +Inf and -Inf, which PostgreSQL averages to NaN)
        run_id, own = by_series[series_id]
        cell = (run_group[run_id], reported_as[(run_id, own)])
        cells.setdefault(cell, {}).setdefault(bucket, []).append(float(mean))
        logged.setdefault(cell, set()).add(own)
    result: dict[str, dict[str, KeyStats]] = {label: {} for label in groups}
    for (label, key), buckets in cells.items():
        result[label][key] = _stats(key, sorted(logged[(label, key)]), buckets, width)
    for label in result:
        result[label] = {k: result[label][k] for k in keys if k in result[label]}
    return GroupStats(step_width=width, low=low, high=high, groups=result)


def _stats(
    key: str, logged_keys: list[str], buckets: dict[int, list[float]], width: int
) -> KeyStats:
    order = sorted(buckets)
    counts = np.array([len(buckets[b]) for b in order], dtype=np.int64)
    # One row per bucket, padded with NaN to the largest group, so NumPy reduces them at once.
    table = np.full((len(order), int(counts.max())), np.nan)
    for row, bucket in enumerate(order):
        table[row, : counts[row]] = buckets[bucket]
    # Every row holds one value at least, so the NaN padding never empties a reduction.
    # Infinite run values stay in: a diverged seed makes the mean infinite, as NumPy would.
    with np.errstate(invalid="ignore", over="ignore"):
        mean = np.nanmean(table, axis=1)
        std = np.nanstd(table, axis=1)  # population std (ddof=0), as np.std
        low = np.nanmin(table, axis=1)
        high = np.nanmax(table, axis=1)
        # A mean lies between the values and equal values have no spread, but the float sums
        # round (seven runs at 0.1: mean 0.1 + 1 ulp, std 1.4e-17). Exact where it is exact.
        mean = np.clip(mean, low, high)
        std = np.where(low == high, 0.0, std)
    return KeyStats(
        key=key,
        logged_keys=logged_keys,
        steps=[b * width for b in order],
        count=counts.tolist(),
        mean=mean.tolist(),
        std=std.tolist(),
        min=low.tolist(),
        max=high.tolist(),
    )
