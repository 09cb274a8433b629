"""PostgreSQL bulk transfer: rows travel to the server by binary `COPY`, not one parameter set
per row (issue 13).

Why: psycopg's `executemany` sends one `Bind`/`Execute` per row; on this machine that held
ingest on PostgreSQL to about a fifth of SQLite's rate (docs/scale.md). A binary `COPY` of
the same rows costs the server one statement and the client one C-level row encoder.

Rows that cannot meet a stored row (appended points, under the run lock) are copied straight
into their table. The few hundred rollup and summary rows of a batch travel inline as arrays
(`unnest_rows`) and are merged, with the runs' heartbeat, by one statement
(`execute_together`). Overwritten points are copied into a staging table first, and one
`INSERT … SELECT … ON CONFLICT` merges them; staging tables are temporary, one per
connection, created on first use and emptied at every commit (`ON COMMIT DELETE ROWS`), so
nothing outside the transaction ever sees them. Statements that must run in order but need
no answer in between share one round trip (`pipelined`). Each round trip is a wait on a
server process that shares the CPU (docs/scale.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError

from fitwatch_server import models

_STAGE_PREFIX = "fitwatch_in_"


def is_postgresql(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def stage_name(table: Table) -> str:
    """The name of `table`'s staging table (temporary, per connection)."""
    return f"{_STAGE_PREFIX}{table.name}"


@cache
def _types(table_name: str, columns: tuple[str, ...]) -> list[str]:
    """PostgreSQL type names of `columns` (binary COPY needs them exactly), from the model."""
    from sqlalchemy.dialects import postgresql

    table = models.Base.metadata.tables[table_name]
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return [table.c[name].type.compile(dialect=dialect).lower() for name in columns]


def copy_rows(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[tuple[object, ...]],
    *,
    into: str | None = None,
) -> None:
    """Binary `COPY` of `rows` (tuples in `columns` order, None for NULL) into `table`, or into
    the table named `into` with the same column types (a staging table)."""
    names = tuple(columns)
    driver = connection.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(
            f"COPY {into or table.name} ({', '.join(names)}) FROM STDIN (FORMAT binary)"
        ) as copy,
    ):
        copy.set_types(_types(table.name, names))
        for row in rows:
            copy.write_row(row)


# Binary COPY: a signature, flags and header-extension length, then rows, then -1 (PostgreSQL
# docs, "COPY", Binary Format).
_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_TRAILER = (-1).to_bytes(2, "big", signed=True)
_WIRE = {"integer": ">i4", "bigint": ">i8", "double precision": ">f8"}


def encode_rows(
    columns: Sequence[tuple[str, npt.NDArray[np.generic], npt.NDArray[np.bool_] | None]],
) -> bytes:
    """Rows in PostgreSQL's binary COPY format from whole columns `(type, values, nulls)`, in
    a few NumPy passes: `write_row` costs a Python call per row (a third of ingest time).
    Only the rows: `copy_in` sends the format's header and trailer around them.

    Every row is laid out at full width (field count, then per field its length and value);
    a NULL field gets length -1 and its value bytes are masked out of the result.
    """
    n = len(columns[0][1])
    layout: list[tuple[str, str]] = [("fields", ">i2")]
    for i, (type_name, _, _) in enumerate(columns):
        layout += [(f"len{i}", ">i4"), (f"v{i}", _WIRE[type_name])]
    record = np.dtype(layout)
    rows = np.empty(n, dtype=record)
    rows["fields"] = len(columns)
    keep: npt.NDArray[np.bool_] | None = None
    for i, (type_name, values, nulls) in enumerate(columns):
        size = np.dtype(_WIRE[type_name]).itemsize
        rows[f"len{i}"] = size
        rows[f"v{i}"] = values
        if nulls is not None and nulls.any():
            rows[f"len{i}"][nulls] = -1
            if keep is None:
                keep = np.ones((n, record.itemsize), dtype=bool)
            offset = record.fields[f"v{i}"][1]  # type: ignore[index]
            keep[nulls, offset : offset + size] = False
    body = rows.view(np.uint8).reshape(n, record.itemsize)
    return body.tobytes() if keep is None else body[keep].tobytes()


@contextmanager
def copy_in(
    connection: Connection, table: Table, columns: Sequence[str]
) -> Iterator[Callable[[bytes], None]]:
    """An open binary `COPY` into `columns` of `table`; the block gets `send(rows)`, which hands
    the server rows from `encode_rows` as soon as they are encoded. The COPY ends, and the
    server's answer to it is checked, when the block exits (an error inside it aborts the COPY).

    Why open: each `send` is flushed to the socket at once, so PostgreSQL stores those rows on
    its own CPU while this process encodes the next ones or computes what the transaction
    writes next (the rollups and summaries of the same points); the two overlap instead of
    following each other (docs/scale.md). Nothing else may use the connection inside the block.
    """
    from psycopg.copy import LibpqWriter  # the `postgres` extra: not installed with SQLite alone

    driver = connection.connection.driver_connection
    assert driver is not None
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT binary)"
    with driver.cursor() as cursor:
        # flush_threshold=0: every write goes to the server now, not when 1 MiB has piled up.
        with cursor.copy(sql, writer=LibpqWriter(cursor, flush_threshold=0)) as copy:
            copy.write(_HEADER)
            yield copy.write
            copy.write(_TRAILER)


def copy_encoded(connection: Connection, table: Table, columns: Sequence[str], data: bytes) -> None:
    """Send `encode_rows` output for `columns` of `table` in one binary COPY."""
    with copy_in(connection, table, columns) as send:
        send(data)


def column_types(table: Table, columns: Sequence[str]) -> list[str]:
    return _types(table.name, tuple(columns))


def stage_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[tuple[object, ...]]
) -> str:
    """Copy `rows` into `table`'s staging table (made on first use); returns the `WITH staged
    AS (…)` clause that hands them to one statement and empties the staging table again, so a
    second use in the same transaction starts from nothing."""
    name = stage_name(table)
    names = ", ".join(columns)
    # `IF NOT EXISTS` is one catalog lookup; remembering "made" on the Python side would be
    # wrong after a rollback of the transaction that made it.
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {name} ON COMMIT DELETE ROWS AS "
        f"SELECT {names} FROM {table.name} WITH NO DATA"
    )
    copy_rows(connection, table, columns, rows, into=name)
    return f"WITH staged AS (DELETE FROM {name} RETURNING {names}) "


Statement = tuple[str, list[object]]


def unnest_rows(
    table: Table, columns: Sequence[str], rows: Sequence[tuple[object, ...]]
) -> Statement:
    """`unnest(%s::type[], …) AS staged(columns)` and its parameters, one array per column:
    `rows` as a relation inside a statement, with no staging table and no extra round trip.

    The arrays travel as text literals: `repr` of a float reads back exactly (and `inf`,
    `-inf`, `nan` are accepted by PostgreSQL's float input), None is NULL. psycopg's own list
    adapter inspects every element in Python and costs more than this.
    """
    types = _types(table.name, tuple(columns))
    params: list[object] = [
        "{" + ",".join(["NULL" if v is None else repr(v) for v in column]) + "}"
        for column in zip(*rows, strict=True)
    ]
    arrays = ", ".join(f"%s::{type_name}[]" for type_name in types)
    return f"unnest({arrays}) AS staged({', '.join(columns)})", params


def execute_together(connection: Connection, statements: Sequence[Statement | None]) -> None:
    """Run data-modifying statements as one (`WITH s0 AS (…), s1 AS (…) <last>`): one round
    trip. PostgreSQL runs every data-modifying `WITH` part exactly once, all on the same
    snapshot, so the parts must not read what another part writes (here: new rollup rows,
    merged rollup rows of other buckets, summaries, the runs' heartbeat; the two rollup parts
    write disjoint rows of one table, `rollups.split_new`)."""
    parts = [statement for statement in statements if statement is not None]
    if not parts:
        return
    *head, (last_sql, last_params) = parts
    prefix = ", ".join(f"s{i} AS ({sql})" for i, (sql, _) in enumerate(head))
    params = [param for _, part_params in head for param in part_params] + last_params
    connection.exec_driver_sql(f"WITH {prefix} {last_sql}" if head else last_sql, tuple(params))


def pipelined(
    connection: Connection, statements: Sequence[tuple[str, Sequence[object]]]
) -> list[list[Any]]:
    """The rows of each statement, all sent at once (psycopg's pipeline mode): one round trip
    for the lot, and for the `BEGIN` psycopg puts before the first. The server still runs them
    one after the other, each on its own snapshot, so a statement after a lock sees what the
    lock waited for, exactly as if sent one by one.

    A driver error comes back as SQLAlchemy's `DBAPIError`, as from `exec_driver_sql`, so
    `db.storage_error` maps a lock timeout to a 503 as anywhere else.
    """
    import psycopg  # the `postgres` extra: not installed with SQLite alone

    driver = connection.connection.driver_connection
    assert driver is not None
    cursors = []
    try:
        with driver.pipeline():
            for sql, params in statements:
                cursor = driver.cursor()
                cursor.execute(sql, params)
                cursors.append(cursor)
        return [list(cursor.fetchall()) for cursor in cursors]
    except psycopg.Error as error:
        sql, params = statements[len(cursors) - 1 if cursors else 0]
        raise DBAPIError.instance(
            sql, params, error, psycopg.Error, dialect=connection.dialect
        ) from error
    finally:
        for cursor in cursors:
            cursor.close()
