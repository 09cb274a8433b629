"""Rows written many per statement on the SQLite driver's cursor."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from fitwatch_server.db import make_engine, storage_error
from fitwatch_server.errors import StorageReadOnly
from fitwatch_server.store.point_data import sqlite_rows


@pytest.mark.parametrize("count", [0, 1, 5, 127, 128, 129, 300, 1000])
def test_chunks_cover_every_row_in_few_statement_sizes(count):
    sizes = sqlite_rows.chunk_sizes(count, width=5)
    assert sum(sizes) == count
    assert all(size * 5 <= sqlite_rows.MAX_PARAMETERS for size in sizes)
    # Full statements first, then at most one of each smaller power of two.
    most = sqlite_rows.rows_per_statement(5)
    rest = [size for size in sizes if size != most]
    assert len(rest) == len(set(rest)) and rest == sorted(rest, reverse=True)


@pytest.fixture
def connection(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'rows.db'}")
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE t (k INTEGER PRIMARY KEY, v, n INTEGER NOT NULL)")
        connection.commit()
        yield connection
    engine.dispose()


def test_rows_upserted_in_one_statement_match_an_executemany(connection, tmp_path):
    rows = [(k % 150, float(k), k) for k in range(300)]  # every key written twice
    tail = "ON CONFLICT (k) DO UPDATE SET v = excluded.v, n = t.n + excluded.n"
    with connection.begin():
        sqlite_rows.insert_rows(connection, "INSERT INTO t (k, v, n)", rows, width=3, tail=tail)
    plain = sqlite3.connect(tmp_path / "plain.db")
    plain.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v, n INTEGER NOT NULL)")
    plain.executemany(f"INSERT INTO t (k, v, n) VALUES (?, ?, ?) {tail}", rows)
    expected = plain.execute("SELECT k, v, n FROM t ORDER BY k").fetchall()
    assert sqlite_rows.execute(connection, "SELECT k, v, n FROM t ORDER BY k") == expected


def test_a_driver_error_comes_back_as_sqlalchemys_error(connection):
    with pytest.raises(IntegrityError, match="NOT NULL"):
        sqlite_rows.insert_rows(connection, "INSERT INTO t (k, v, n)", [(1, 1.0, None)], width=3)
    with pytest.raises(IntegrityError, match="NOT NULL"):
        sqlite_rows.execute_many(
            connection, "INSERT INTO t (k, v, n) VALUES (?, ?, ?)", [(1, 1.0, None)]
        )


def test_a_read_only_database_maps_to_its_domain_error(connection):
    sqlite_rows.execute(connection, "PRAGMA query_only = ON")  # refuses writes as read-only
    with pytest.raises(OperationalError) as raised:
        sqlite_rows.insert_rows(connection, "INSERT INTO t (k, v, n)", [(1, 1.0, 1)], width=3)
    assert isinstance(storage_error(raised.value), StorageReadOnly)
