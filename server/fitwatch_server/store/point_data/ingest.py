"""Point ingest: many requests' batches merged into one transaction that upserts points,
rollups and series summaries.

Why it cannot race (issue 8: two simultaneous appends once left a summary that hid 100
acknowledged points): every write of a run's points, rollups and summaries happens with
that run locked *before* anything derived is read.

- PostgreSQL: `SELECT … FROM runs … ORDER BY id FOR NO KEY UPDATE` first, so two
  transactions touching one run (two server processes, or a resend racing the original) queue
  on the run row; in a fixed order, so they cannot deadlock. A run delete takes `FOR UPDATE`
  on the same row (`deletes.py`) and waits for, or is waited on by, any ingest of that run.
- SQLite: write transactions begin with `BEGIN IMMEDIATE` (`db.py`), so they hold the
  database's write lock before their first read; in one process the writer thread
  (`writer.py`) is the only ingest transaction anyway.

Then the summaries read are the committed truth, and appends merge into them while
overwrites rebuild from the rollups.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any, cast

import numpy as np
from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fitwatch_server import models, schemas
from fitwatch_server.errors import FitwatchError, LimitExceeded, NotFound
from fitwatch_server.store import limits
from fitwatch_server.store.point_data import bulk, rollups, sqlite_rows, summary
from fitwatch_server.store.point_data.locks import (
    lock_for_points_statement,
    lock_runs_for_points,
)
from fitwatch_server.store.point_data.summary import Summary

_POINT_COLUMNS = ("series_id", "step", "value", "wall_time", "epoch")
_ON_CONFLICT_POINTS = (
    "ON CONFLICT (series_id, step) DO UPDATE SET "
    "value = excluded.value, wall_time = excluded.wall_time, epoch = excluded.epoch"
)
# SQLite: many rows per statement on the driver's cursor (`sqlite_rows.py`; SQLAlchemy's
# per-row dict processing cost about 40% of the insert rate, docs/scale.md). PostgreSQL:
# binary COPY (`bulk.py`).
_INSERT_POINTS = f"INSERT INTO points ({', '.join(_POINT_COLUMNS)})"
_POINTS = cast(Table, models.Point.__table__)
# PostgreSQL: appended points are copied in pieces of about this many (`_points_stored`).
_COPY_PIECE_POINTS = 2_000

SeriesKey = tuple[str, str, str]  # (run_id, key, scope)


@dataclass(slots=True)
class IngestJob:
    """One request's batch for one run."""

    run_id: str
    batch: schemas.PointBatchIn


@dataclass(slots=True)
class _Columns:
    """One series' points, sorted by step, each step once."""

    steps: list[int]
    values: list[float]
    times: list[float]
    epochs: list[int | None]


def _columns(parts: list[schemas.SeriesPointsIn]) -> _Columns:
    """One series' points from the parts of the merged requests that name it. The lists of a
    lone part are used as they are (nothing here or after changes them): copying 10,000
    points element by element was a tenth of the ingest writer's time (docs/scale.md)."""
    if len(parts) == 1:
        (part,) = parts
        steps = part.steps
        # After validation the names are floats (values.names_to_floats); the type says wire form.
        values = cast(list[float], part.values)
        times = part.times
        epochs = cast(
            list[int | None], part.epochs if part.epochs is not None else [None] * len(steps)
        )
    else:
        # chain.from_iterable walks the lists in C; a comprehension costs a step per value.
        steps = list(chain.from_iterable(part.steps for part in parts))
        values = cast(list[float], list(chain.from_iterable(part.values for part in parts)))
        times = list(chain.from_iterable(part.times for part in parts))
        epochs = list(
            chain.from_iterable(
                part.epochs if part.epochs is not None else [None] * len(part.steps)
                for part in parts
            )
        )
    if all(map(operator.lt, steps, steps[1:])):
        return _Columns(steps, values, times, epochs)
    # Unsorted or repeated steps: the last occurrence of a step wins, as a later write would.
    latest = {step: i for i, step in enumerate(steps)}
    order = [latest[step] for step in sorted(latest)]
    return _Columns(
        [steps[i] for i in order],
        [values[i] for i in order],
        [times[i] for i in order],
        [epochs[i] for i in order],
    )


def _result(batch: schemas.PointBatchIn) -> schemas.IngestResult:
    """What one request stored: distinct points and series (a repeated step counts once)."""
    steps: dict[tuple[str, str], set[int] | int] = {}
    for part in batch.series:
        # str(), not `.value`: the same string for a StrEnum, without the enum property's cost.
        name = (part.key, str(part.scope))
        if name in steps:
            seen = steps[name]
            steps[name] = (seen if isinstance(seen, set) else set()) | set(part.steps)
            continue
        ordered = all(map(operator.lt, part.steps, part.steps[1:]))
        steps[name] = len(part.steps) if ordered else set(part.steps)
    points = sum(v if isinstance(v, int) else len(v) for v in steps.values())
    return schemas.IngestResult(points=points, series=len(steps))


def _batch_summaries(
    order: list[SeriesKey], data: dict[SeriesKey, _Columns], ids: dict[SeriesKey, int]
) -> tuple[dict[SeriesKey, Summary], list[tuple[object, ...]]]:
    """Summaries and rollup rows of each series' new points."""
    sizes = [len(data[k].steps) for k in order]
    total = sum(sizes)
    if total <= rollups.PLAIN_PYTHON_MAX_POINTS:
        rows = rollups.batch_rollups_plain([(ids[k], data[k].steps, data[k].values) for k in order])
    else:
        series_ids = np.repeat(np.array([ids[k] for k in order], dtype=np.int64), sizes)
        steps = np.fromiter(
            chain.from_iterable(data[k].steps for k in order), dtype=np.int64, count=total
        )
        values = np.fromiter(
            chain.from_iterable(data[k].values for k in order), dtype=np.float64, count=total
        )
        rows = rollups.batch_rollups(series_ids, steps, values)
    # One bucket per series holds all of its new points: the coarsest level, combined.
    whole = {
        row[0]: row
        for row in rollups.combine([r for r in rows if r[1] == rollups.BUCKET_SIZES[-1]], 2**64)
    }
    found = {}
    for key in order:
        columns = data[key]
        _, _, _, count, min_value, min_step, max_value, max_step, _ = whole[ids[key]]
        last_value = columns.values[-1]
        found[key] = Summary(
            count=count,  # type: ignore[arg-type]
            first_step=columns.steps[0],
            last_step=columns.steps[-1],
            last_value=None if last_value != last_value else last_value,
            last_wall_time=columns.times[-1],
            min_value=min_value,  # type: ignore[arg-type]
            min_step=min_step,  # type: ignore[arg-type]
            max_value=max_value,  # type: ignore[arg-type]
            max_step=max_step,  # type: ignore[arg-type]
        )
    return found, rows


def _create_series(
    connection: Connection, data: dict[SeriesKey, _Columns], new_keys: list[SeriesKey]
) -> dict[SeriesKey, int]:
    """Insert series rows (`ON CONFLICT DO NOTHING`: a create never fails on a duplicate)."""
    dialect = connection.dialect.name
    make_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = cast(Table, models.Series.__table__)
    statement = (
        make_insert(table)
        .on_conflict_do_nothing(index_elements=["run_id", "key", "scope"])
        .returning(table.c.id, table.c.run_id, table.c.key, table.c.scope)
    )
    rows = [
        {
            "run_id": run_id,
            "key": key,
            "scope": scope,
            "count": 0,
            "first_step": data[(run_id, key, scope)].steps[0],
            "last_step": -1,
            "last_wall_time": 0.0,
        }
        for run_id, key, scope in new_keys
    ]
    created = {(r.run_id, r.key, r.scope): r.id for r in connection.execute(statement, rows)}
    missing = [k for k in new_keys if k not in created]
    if missing:  # cannot happen with the run locked, but a create must never be a 500
        for row in connection.execute(
            select(table.c.id, table.c.run_id, table.c.key, table.c.scope).where(
                table.c.run_id.in_({k[0] for k in missing})
            )
        ):
            created.setdefault((row.run_id, row.key, row.scope), row.id)
    return created


def ingest_jobs(
    db: Session | Connection, jobs: list[IngestJob], *, max_series_per_run: int = 0
) -> list[schemas.IngestResult | FitwatchError]:
    """Store every job's points in the caller's transaction; one result (or error) per job.

    It takes a Connection too: the ingest writer holds one connection for its life and runs
    each merged transaction on it, without a Session and a pool check-out per transaction
    (bench/small_requests.py, docs/scale.md).

    Jobs for unknown runs get `NotFound`, jobs that would take a run past
    `max_series_per_run` (0: no ceiling) get `LimitExceeded`; they store nothing. The others
    are merged: a step written by several jobs keeps the value of the last job, as if they
    ran one after another.
    """
    connection = db.connection() if isinstance(db, Session) else db
    # One read of every series of these runs serves the ceiling check and the merge below.
    present, stored = _lock_and_read(connection, run_ids=sorted({job.run_id for job in jobs}))
    known: dict[str, set[tuple[str, str]]] = {run_id: set() for run_id in present}
    for run_id, key, scope in stored:
        known[run_id].add((key, scope))
    results: list[schemas.IngestResult | FitwatchError] = []
    parts: dict[SeriesKey, list[schemas.SeriesPointsIn]] = {}
    for job in jobs:
        if job.run_id not in present:
            results.append(NotFound(f"no run with id {job.run_id!r}"))
            continue
        if max_series_per_run > 0:
            try:
                keys = known[job.run_id]
                keys |= limits.check_series_ceiling(
                    job.run_id, keys, job.batch, limit=max_series_per_run
                )
            except LimitExceeded as error:
                results.append(error)
                continue
        for series_in in job.batch.series:
            # str(scope) is its value (a StrEnum), and cheaper than `.value` per series.
            parts.setdefault((job.run_id, series_in.key, str(series_in.scope)), []).append(
                series_in
            )
        results.append(_result(job.batch))
    if not parts:
        return results
    data = {key: _columns(group) for key, group in parts.items()}
    _write(connection, data, stored, run_ids=sorted({key[0] for key in data}))
    return results


@dataclass(slots=True)
class _Stored:
    id: int
    summary: Summary


def _lock_and_read(
    connection: Connection, *, run_ids: list[str]
) -> tuple[set[str], dict[SeriesKey, _Stored]]:
    """Lock the runs (the ids that exist), then read every series of them with its summary.

    On PostgreSQL both statements go in one round trip (`bulk.pipelined`), the read still
    after the lock: the server runs them in order, and the read's snapshot is taken once the
    lock is held, so it sees the summaries of whatever transaction the lock waited for.
    """
    if not bulk.is_postgresql(connection):
        present = lock_runs_for_points(connection, run_ids=run_ids)
        return present, _stored_series(connection, run_ids=sorted(present))
    lock, params = lock_for_points_statement(connection, run_ids)
    # Series of a run that does not exist: none (a delete removes them with the run).
    locked, series = bulk.pipelined(
        connection, [(lock, params), (summary.select_sql("%s", len(run_ids)), params)]
    )
    return {row[0] for row in locked}, _stored_from_rows(series)


def _stored_series(connection: Connection, *, run_ids: list[str]) -> dict[SeriesKey, _Stored]:
    """Every series of these runs with its summary (read with the runs locked)."""
    if not run_ids:
        return {}
    # Raw SQL on the driver's cursor: it runs once per transaction, and SQLAlchemy's
    # statement building and execution wrapper cost more than the statement (docs/scale.md).
    return _stored_from_rows(
        sqlite_rows.execute(connection, summary.select_sql("?", len(run_ids)), run_ids)
    )


def _stored_from_rows(rows: Iterable[Sequence[Any]]) -> dict[SeriesKey, _Stored]:
    return {
        (row[1], row[2], row[3]): _Stored(row[0], summary.from_values(tuple(row[4:])))
        for row in rows
    }


def _write(
    connection: Connection,
    data: dict[SeriesKey, _Columns],
    stored: dict[SeriesKey, _Stored],
    *,
    run_ids: list[str],
) -> None:
    p = rollups.placeholder(connection)
    ids = {key: row.id for key, row in stored.items()}
    new_keys = [key for key in data if key not in stored]
    if new_keys:
        ids.update(_create_series(connection, data, new_keys))

    # Points already stored exactly so (a resend) are dropped: a resend is a no-op. New steps
    # (appended, or arriving out of order from concurrent requests) merge into the summaries
    # and rollups; steps that change stored points rebuild the buckets they hit.
    overwritten = _drop_resent(connection, p, data, stored)
    appended = [k for k in data if k not in overwritten and data[k].steps]
    data = {k: v for k, v in data.items() if v.steps}
    touch = _touch_runs(connection, p, run_ids)
    postgresql = bulk.is_postgresql(connection)
    if not data or not postgresql:
        if postgresql:
            connection.exec_driver_sql(*touch)
        else:
            sqlite_rows.execute(connection, *touch)
    if not data:
        return
    updates: list[tuple[object, ...]] = []
    rollup_rows: list[tuple[object, ...]] = []
    merges: list[bulk.Statement | None] = []
    with _points_stored(connection, data, ids, overwritten):
        # On PostgreSQL the server is still storing the copied points here, so this
        # computation (no statement) runs beside it instead of after it (bulk.copy_in).
        if appended:
            batches, rollup_rows = _batch_summaries(appended, data, ids)
            for key in appended:
                merged = (
                    summary.extend(stored[key].summary, batches[key])
                    if key in stored
                    else batches[key]
                )
                updates.append(summary.update_row(ids[key], merged))
            if postgresql:
                # Rows of buckets after a series' stored last step are new (`split_new`):
                # inserted plainly; only the others go through the merge.
                fresh, possibly_stored = rollups.split_new(
                    rollup_rows,
                    {ids[k]: stored[k].summary.last_step for k in appended if k in stored},
                )
                merges = [
                    rollups.insert_statement(fresh),
                    rollups.merge_statement(possibly_stored),
                ]
    if rollup_rows and not postgresql:
        rollups.merge_rollups(connection, rollup_rows)
    for key in overwritten:
        rollups.rebuild_rollups(connection, ids[key], data[key].steps)
        updates.append(summary.update_row(ids[key], summary.recompute(connection, ids[key])))
    if not postgresql:
        summary.write_summaries(connection, updates)
        return
    # PostgreSQL: the rollup merge, the summaries and the heartbeat in one statement, one
    # round trip instead of three (each waits on a server that shares the CPU, docs/scale.md).
    # They may run last and together: appended and overwritten series are disjoint, so the
    # rebuilds above never read what the merge writes, and no two parts write the same rows
    # (the plain rollup insert and the merge take disjoint buckets, `rollups.split_new`).
    touch_sql, touch_params = touch
    bulk.execute_together(
        connection,
        [*merges, summary.write_statement(updates), (touch_sql, list(touch_params))],
    )


def _touch_runs(
    connection: Connection, p: str, run_ids: list[str]
) -> tuple[str, tuple[object, ...]]:
    """The statement that marks the runs alive: any ingest (a resend too) proves a run is
    alive; it does not change a finished run's status."""
    marks = ", ".join([p] * len(run_ids))
    return (
        f"UPDATE runs SET heartbeat_at = {p} WHERE id IN ({marks})",
        (_db_datetime(connection, datetime.now(UTC)), *run_ids),
    )


def _db_datetime(connection: Connection, value: datetime) -> object:
    """`value` as SQLAlchemy would bind it to `runs.heartbeat_at` (SQLite stores text)."""
    process = models.Run.__table__.c.heartbeat_at.type.bind_processor(connection.dialect)
    return process(value) if process is not None else value


# Existing points of many series are read in one statement of up to this many ranges.
_RANGES_PER_READ = 100


def _drop_resent(
    connection: Connection,
    p: str,
    data: dict[SeriesKey, _Columns],
    stored: dict[SeriesKey, _Stored],
) -> set[SeriesKey]:
    """Remove from `data` the points stored exactly so already; return the series whose
    batch changes at least one stored point (read before the upsert)."""
    candidates = [
        key
        for key, columns in data.items()
        if key in stored and columns.steps[0] <= stored[key].summary.last_step
    ]
    if not candidates:
        return set()  # the common case: every step is after the stored ones
    existing: dict[int, dict[int, tuple[object, ...]]] = {stored[key].id: {} for key in candidates}
    for start in range(0, len(candidates), _RANGES_PER_READ):
        chunk = candidates[start : start + _RANGES_PER_READ]
        where = " OR ".join([f"(series_id = {p} AND step BETWEEN {p} AND {p})"] * len(chunk))
        params = [
            v
            for key in chunk
            for v in (
                stored[key].id,
                data[key].steps[0],
                min(data[key].steps[-1], stored[key].summary.last_step),
            )
        ]
        for series_id, step, value, wall_time, epoch in connection.exec_driver_sql(
            f"SELECT series_id, step, value, wall_time, epoch FROM points WHERE {where}",
            tuple(params),
        ):
            existing[series_id][step] = (value, wall_time, epoch)
    changed = set()
    for key in candidates:
        have = existing[stored[key].id]
        if not have:
            continue
        columns = data[key]
        keep = []
        for i, step in enumerate(columns.steps):
            old = have.get(step)
            if old is None:
                keep.append(i)
                continue
            value = columns.values[i]
            same_value = old[0] is None if value != value else old[0] == value
            if not (same_value and old[1] == columns.times[i] and old[2] == columns.epochs[i]):
                changed.add(key)
                break
        if key in changed or len(keep) == len(columns.steps):
            continue
        data[key] = _Columns(
            [columns.steps[i] for i in keep],
            [columns.values[i] for i in keep],
            [columns.times[i] for i in keep],
            [columns.epochs[i] for i in keep],
        )
    return changed


def _point_rows(columns: _Columns, series_id: int) -> Iterator[tuple[object, ...]]:
    return zip(
        [series_id] * len(columns.steps),
        columns.steps,
        [None if v != v else v for v in columns.values],  # NaN -> NULL, inline: hot loop
        columns.times,
        columns.epochs,
        strict=True,
    )


def _encode_points(
    keys: list[SeriesKey], data: dict[SeriesKey, _Columns], ids: dict[SeriesKey, int]
) -> bytes:
    """The points of `keys` as binary COPY rows (NaN and a missing epoch as NULL)."""
    sizes = [len(data[k].steps) for k in keys]
    total = sum(sizes)
    # chain.from_iterable walks the lists in C; a generator expression costs a frame per value.
    values = np.fromiter(
        chain.from_iterable(data[k].values for k in keys), dtype=np.float64, count=total
    )
    epochs = list(chain.from_iterable(data[k].epochs for k in keys))
    missing = (
        np.fromiter((e is None for e in epochs), dtype=bool, count=total)
        if None in epochs
        else np.zeros(total, dtype=bool)
    )
    types = bulk.column_types(_POINTS, _POINT_COLUMNS)
    columns = [
        np.repeat(np.array([ids[k] for k in keys], dtype=np.int64), sizes),
        np.fromiter(chain.from_iterable(data[k].steps for k in keys), dtype=np.int64, count=total),
        values,
        np.fromiter(
            chain.from_iterable(data[k].times for k in keys), dtype=np.float64, count=total
        ),
        np.array([0 if e is None else e for e in epochs], dtype=np.int64)
        if missing.any()
        else np.array(epochs, dtype=np.int64),
    ]
    nulls = [None, None, np.isnan(values), None, missing]
    return bulk.encode_rows(list(zip(types, columns, nulls, strict=True)))


@contextmanager
def _points_stored(
    connection: Connection,
    data: dict[SeriesKey, _Columns],
    ids: dict[SeriesKey, int],
    overwritten: set[SeriesKey],
) -> Iterator[None]:
    """Upsert the points of `data`. On PostgreSQL the block runs while the server is still
    storing the appended points (their COPY is open); it must not use the connection."""
    if not bulk.is_postgresql(connection):
        rows = [row for key, columns in data.items() for row in _point_rows(columns, ids[key])]
        sqlite_rows.insert_rows(
            connection, _INSERT_POINTS, rows, width=len(_POINT_COLUMNS), tail=_ON_CONFLICT_POINTS
        )
        yield
        return
    # PostgreSQL. With the run locked and resent points dropped, a series outside
    # `overwritten` holds only steps that are not stored (the summaries read under the lock
    # are the committed truth), so its rows cannot conflict: they are copied straight into
    # `points`, a piece at a time, so the server stores one piece while the next is encoded.
    # Overwrites are staged and merged with one `INSERT … SELECT … ON CONFLICT`.
    appended = [key for key in data if key not in overwritten]
    if appended:
        with bulk.copy_in(connection, _POINTS, _POINT_COLUMNS) as send:
            for piece in _pieces(appended, data):
                send(_encode_points(piece, data, ids))
            yield
    else:
        yield
    if overwritten:
        staged = bulk.stage_rows(
            connection,
            _POINTS,
            _POINT_COLUMNS,
            (row for key in overwritten for row in _point_rows(data[key], ids[key])),
        )
        names = ", ".join(_POINT_COLUMNS)
        connection.exec_driver_sql(
            f"{staged}INSERT INTO points ({names}) SELECT {names} FROM staged {_ON_CONFLICT_POINTS}"
        )


def _pieces(keys: list[SeriesKey], data: dict[SeriesKey, _Columns]) -> Iterator[list[SeriesKey]]:
    """`keys` in runs of whole series holding at least `_COPY_PIECE_POINTS` points each (the last
    may hold fewer)."""
    piece: list[SeriesKey] = []
    points = 0
    for key in keys:
        piece.append(key)
        points += len(data[key].steps)
        if points >= _COPY_PIECE_POINTS:
            yield piece
            piece, points = [], 0
    if piece:
        yield piece


def ingest_points(
    session: Session, *, run_id: str, batch: schemas.PointBatchIn, max_series_per_run: int = 0
) -> schemas.IngestResult:
    """Store one batch of one run in the caller's transaction (raises NotFound, LimitExceeded)."""
    (result,) = ingest_jobs(
        session, [IngestJob(run_id, batch)], max_series_per_run=max_series_per_run
    )
    if isinstance(result, FitwatchError):
        raise result
    return result
