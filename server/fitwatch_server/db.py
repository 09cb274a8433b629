"""Database engine and session scope: one engine per app, made from `Settings`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

# Execution option that marks a connection for write transactions (see `_begin_sqlite`).
WRITE_OPTION = "fitwatch_write"


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (`_begin_sqlite`), instead of the driver's implicit one,
    # so that write transactions can begin IMMEDIATE.
    dbapi_connection.isolation_level = None
    # WAL lets the dashboard read while a fit writes; NORMAL is durable across
    # application crashes (not power loss), which is the trade-off SQLite documents for WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    # A write transaction takes SQLite's write lock before its first read, so what it reads
    # (series summaries) cannot change before it writes (issue 8: a deferred transaction
    # read a summary another one was about to overwrite). Reads stay DEFERRED: WAL lets
    # them run beside a writer.
    immediate = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(database_url: str) -> Engine:
    """Create the engine; for SQLite, create the file's folder and set WAL on every connection."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    except ModuleNotFoundError as exc:
        raise MissingDriver(
            f"{url.get_backend_name()} needs its driver, which is not installed ({exc}). "
            "Install it with: pip install 'fitwatch[postgres]'"
        ) from exc


class MissingDriver(ImportError):
    """The database URL names a database whose Python driver is not installed."""


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reads (and writes that read nothing they then overwrite)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def make_write_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose transactions hold the write lock from their start (SQLite: BEGIN
    IMMEDIATE; PostgreSQL takes row locks in the store instead, so the option is inert)."""
    return sessionmaker(bind=engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
