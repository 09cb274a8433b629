"""The run lock that serialises every writer of a run's point data (ingest and deletes).

PostgreSQL: a row lock on the run, taken before anything derived is read. Ingests take
`FOR NO KEY UPDATE` (they only touch `heartbeat_at`), deletes `FOR UPDATE`; the two conflict,
so a delete waits for an ingest in flight and an ingest after a delete finds no run. Several
runs are locked in id order, so two transactions can never wait on each other in a cycle.

SQLite: no row locks; write transactions begin with `BEGIN IMMEDIATE` (`db.py`), which takes
the database's write lock up front, so the same reasoning holds.
"""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from fitwatch_server import models
from fitwatch_server.store.point_data import sqlite_rows


def lock_runs_for_points(connection: Connection, *, run_ids: list[str]) -> set[str]:
    """Lock these runs for writing their points; returns the ids that exist.

    Raw SQL: this runs once per ingest transaction, and building the statement with
    SQLAlchemy's expression language costs more than executing it.
    """
    sql, params = lock_for_points_statement(connection, run_ids)
    if connection.dialect.name == "sqlite":  # the driver's cursor: see `sqlite_rows`
        return {row[0] for row in sqlite_rows.execute(connection, sql, params)}
    return {row[0] for row in connection.exec_driver_sql(sql, params)}


def lock_for_points_statement(
    connection: Connection, run_ids: list[str]
) -> tuple[str, tuple[str, ...]]:
    """The statement `lock_runs_for_points` runs (`SELECT id …`, the ids that exist)."""
    p = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    lock = " FOR NO KEY UPDATE" if connection.dialect.name == "postgresql" else ""
    marks = ", ".join([p] * len(run_ids))
    sql = f"SELECT id FROM runs WHERE id IN ({marks}) ORDER BY id{lock}"
    return sql, tuple(sorted(run_ids))


def lock_run_for_delete(session: Session, *, run_id: str) -> bool:
    """Lock a run before deleting it or its series; False if it does not exist."""
    query = select(models.Run.id).where(models.Run.id == run_id).with_for_update()
    return session.scalar(query) is not None
