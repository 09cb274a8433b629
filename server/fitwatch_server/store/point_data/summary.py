"""Series summaries: count, first/last step, last value, min/max with their steps.

`Summary` is the one declaration of the summary fields: the SQL that writes them is built
from its fields and the `series` table, and `series_public` copies them by name. A summary
is a function of the series' points; it is only ever written inside the transaction that
wrote those points, with the run locked (see `ingest.py`), so it cannot fall behind them.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, fields
from functools import cache
from typing import cast

from sqlalchemy import Connection, Table

from fitwatch_server import models
from fitwatch_server.store.point_data import bulk, rollups, sqlite_rows


@dataclass(slots=True)
class Summary:
    """NaN-aware summary of one series. `last_value` None is NaN; min/max ignore NaN."""

    count: int
    first_step: int
    last_step: int
    last_value: float | None
    last_wall_time: float
    min_value: float | None = None
    min_step: int | None = None
    max_value: float | None = None
    max_step: int | None = None

    def merge_extremes(self, other: Summary) -> None:
        """Take `other`'s min/max where they beat ours; on a tie the earlier step wins, as in
        a scan of the points ("best epoch" is the first epoch that reached the best value)."""
        if other.min_value is not None and (
            self.min_value is None
            or (other.min_value, other.min_step) < (self.min_value, self.min_step)
        ):
            self.min_value, self.min_step = other.min_value, other.min_step
        if other.max_value is not None and (
            self.max_value is None
            or (-other.max_value, other.max_step) < (-self.max_value, self.max_step)
        ):
            self.max_value, self.max_step = other.max_value, other.max_step


SUMMARY_FIELDS = tuple(f.name for f in fields(Summary))
_series = cast(Table, models.Series.__table__)
# Fails at import, not at the first write, if a field has no column.
assert all(name in _series.c for name in SUMMARY_FIELDS), SUMMARY_FIELDS


@cache
def update_sql(placeholder: str) -> str:
    """`UPDATE series SET <every summary field> WHERE id`, for raw executemany with tuples."""
    assignments = ", ".join(f"{name} = {placeholder}" for name in SUMMARY_FIELDS)
    return f"UPDATE {_series.name} SET {assignments} WHERE {_series.c.id.name} = {placeholder}"


def write_summaries(connection: Connection, rows: list[tuple[object, ...]]) -> None:
    """Write `update_row` rows: an executemany on SQLite; on PostgreSQL one `UPDATE … FROM`
    the rows inline, instead of one statement per series."""
    if not rows:
        return
    if not bulk.is_postgresql(connection):
        sqlite_rows.execute_many(connection, update_sql("?"), rows)
        return
    bulk.execute_together(connection, [write_statement(rows)])


def write_statement(rows: list[tuple[object, ...]]) -> bulk.Statement | None:
    """PostgreSQL: `write_summaries` as one statement (`bulk.unnest_rows`), for
    `bulk.execute_together`; None without rows."""
    if not rows:
        return None
    source, params = bulk.unnest_rows(_series, (*SUMMARY_FIELDS, _series.c.id.name), rows)
    assignments = ", ".join(f"{name} = staged.{name}" for name in SUMMARY_FIELDS)
    sql = (
        f"UPDATE {_series.name} SET {assignments} FROM {source} "
        f"WHERE {_series.name}.{_series.c.id.name} = staged.{_series.c.id.name}"
    )
    return sql, params


_summary_values = operator.attrgetter(*SUMMARY_FIELDS)


def update_row(series_id: int, summary: Summary) -> tuple[object, ...]:
    # Not dataclasses.astuple (it deep-copies), and one attrgetter rather than a getattr per
    # field: this runs once per series per ingest.
    return (*_summary_values(summary), series_id)


@cache
def select_sql(placeholder: str, runs: int) -> str:
    """`SELECT id, run_id, key, scope, <summary fields> FROM series WHERE run_id IN (…)`."""
    marks = ", ".join([placeholder] * runs)
    return f"SELECT id, run_id, key, scope, {', '.join(SUMMARY_FIELDS)} FROM {_series.name} WHERE run_id IN ({marks})"


def from_values(values: tuple[object, ...]) -> Summary:
    """A summary from the summary fields' values in `SUMMARY_FIELDS` order."""
    return Summary(*values)  # type: ignore[arg-type]


def from_row(row: object) -> Summary:
    """A summary from a `series` row (any object with the summary fields as attributes)."""
    mapping = getattr(row, "_mapping", None)
    if mapping is not None:  # a Row: `row.count` would be tuple.count
        return Summary(**{name: mapping[name] for name in SUMMARY_FIELDS})
    return Summary(**{name: getattr(row, name) for name in SUMMARY_FIELDS})


def extend(stored: Summary, batch: Summary) -> Summary:
    """Merge a batch of steps the series did not have yet (appended, or filling a gap)."""
    later = batch if batch.last_step > stored.last_step else stored
    merged = Summary(
        count=stored.count + batch.count,
        first_step=min(stored.first_step, batch.first_step),
        last_step=later.last_step,
        last_value=later.last_value,
        last_wall_time=later.last_wall_time,
        min_value=stored.min_value,
        min_step=stored.min_step,
        max_value=stored.max_value,
        max_step=stored.max_step,
    )
    merged.merge_extremes(batch)
    return merged


def recompute(connection: Connection, series_id: int) -> Summary:
    """Rebuild a summary after stored steps were overwritten, from the primary key and the
    coarsest rollups (which `rollups.rebuild_rollups` has just brought up to date), so it
    never scans the series' points."""
    p = rollups.placeholder(connection)
    first_step, last_step = connection.exec_driver_sql(
        f"SELECT min(step), max(step) FROM points WHERE series_id = {p}", (series_id,)
    ).one()
    last_value, last_wall_time = connection.exec_driver_sql(
        f"SELECT value, wall_time FROM points WHERE series_id = {p} AND step = {p}",
        (series_id, last_step),
    ).one()
    buckets = connection.exec_driver_sql(
        f"SELECT count, min_value, min_step, max_value, max_step FROM point_rollups "
        f"WHERE series_id = {p} AND bucket_size = {p} ORDER BY bucket",
        (series_id, rollups.BUCKET_SIZES[-1]),
    ).all()
    summary = Summary(
        count=sum(b[0] for b in buckets),
        first_step=first_step,
        last_step=last_step,
        last_value=last_value,
        last_wall_time=last_wall_time,
    )
    for _, min_value, min_step, max_value, max_step in buckets:
        summary.merge_extremes(
            Summary(0, 0, 0, None, 0.0, min_value, min_step, max_value, max_step)
        )
    return summary
