"""SQLite ingest statements on the driver's cursor, and rows written many per statement
(issue 8): the SQLite counterpart of `bulk.py`.

Why: with Debian's SQLite (built without its lookaside allocator) under Python's sqlite3, an
`executemany` costs ~5 us per row on this machine, most of it stepping and resetting the
statement once per row; the same rows as `INSERT … VALUES (…), (…), …` of 128 rows cost
about a quarter of that. And SQLAlchemy's `exec_driver_sql` adds ~40 us around a driver
call of a few microseconds; an ingest transaction runs about seven statements
(bench/writer_jobs.py, docs/scale.md).

A driver error comes back as SQLAlchemy's `DBAPIError`, as from `exec_driver_sql`, so
`db.storage_error` maps a full disk or a lock timeout to its 4xx/5xx as anywhere else.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import cache
from itertools import chain
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

# SQLite's default limit on parameters per statement before 3.32 (later versions allow
# 32766): a statement of rows stays under it whatever SQLite the server runs on.
MAX_PARAMETERS = 999


class _Cursor:
    """The connection's driver cursor, closed on exit; a driver error leaves it as
    SQLAlchemy's `DBAPIError` carrying the statement that failed."""

    def __init__(self, connection: Connection) -> None:
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection), f"not a SQLite connection: {driver!r}"
        self._connection = connection
        self._cursor = driver.cursor()
        self._sql = ""
        self._params: Sequence[object] = ()

    def __enter__(self) -> _Cursor:
        return self

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        self._cursor.close()
        if isinstance(error, sqlite3.Error):
            raise DBAPIError.instance(
                self._sql, self._params, error, sqlite3.Error, dialect=self._connection.dialect
            ) from error

    def execute(self, sql: str, params: Sequence[object]) -> sqlite3.Cursor:
        self._sql, self._params = sql, params
        return self._cursor.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
        self._sql, self._params = sql, rows
        self._cursor.executemany(sql, rows)


def execute(
    connection: Connection, sql: str, params: Sequence[object] = ()
) -> list[tuple[Any, ...]]:
    """Run one statement on the connection's driver cursor; its rows (none for a write)."""
    with _Cursor(connection) as cursor:
        return cursor.execute(sql, params).fetchall()


def rows_per_statement(width: int) -> int:
    """The most rows of `width` columns one statement takes: a power of two under
    `MAX_PARAMETERS`."""
    rows = 1
    while rows * 2 * width <= MAX_PARAMETERS:
        rows *= 2
    return rows


def chunk_sizes(count: int, width: int) -> list[int]:
    """How `count` rows are split into statements: full ones, then the rest in powers of two,
    so a connection prepares at most a handful of statement texts per table (Python's sqlite3
    keeps 128 prepared per connection) instead of one per batch size."""
    most = rows_per_statement(width)
    sizes = [most] * (count // most)
    rest = count % most
    size = most
    while rest:
        size //= 2
        if rest >= size:
            sizes.append(size)
            rest -= size
    return sizes


@cache
def _values_sql(head: str, tail: str, width: int, rows: int) -> str:
    row = "(" + ", ".join(["?"] * width) + ")"
    return f"{head} VALUES {', '.join([row] * rows)} {tail}".rstrip()


def insert_rows(
    connection: Connection,
    head: str,
    rows: Sequence[tuple[object, ...]],
    *,
    width: int,
    tail: str = "",
) -> None:
    """`{head} VALUES (…), (…), … {tail}` for `rows` (tuples of `width` values), in as few
    statements as `chunk_sizes` gives. Rows go in in order, so an `ON CONFLICT` in `tail`
    sees the rows before it exactly as an `executemany` would."""
    if not rows:
        return
    start = 0
    with _Cursor(connection) as cursor:
        for size in chunk_sizes(len(rows), width):
            cursor.execute(
                _values_sql(head, tail, width, size),
                list(chain.from_iterable(rows[start : start + size])),
            )
            start += size


def execute_many(connection: Connection, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
    """`executemany` on the driver cursor (an UPDATE has no multi-row form)."""
    if rows:
        with _Cursor(connection) as cursor:
            cursor.executemany(sql, rows)
