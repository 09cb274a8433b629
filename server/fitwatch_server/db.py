"""Database engine and session scope: one engine per app, made from `Settings`.

`session_scope` is also where a database that cannot take a write (full, locked past the
lock timeout, read-only) becomes a domain error (`errors.Storage*`) with the driver's
message as its cause, so every route, the ingest writer and the auth layer answer it alike.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from fitwatch_server import write_turns
from fitwatch_server.errors import (
    FitwatchError,
    StorageBusy,
    StorageFull,
    StorageReadOnly,
    StorageUnavailable,
)

# Execution option that marks a connection for write transactions (see `_begin_sqlite`).
WRITE_OPTION = "fitwatch_write"
# How long a statement waits for a lock another writer holds before it fails (SQLite's
# busy_timeout, PostgreSQL's lock_timeout); `Settings.lock_timeout_s` overrides it. With the
# ingest writer's queue bound (`point_data.writer.MAX_QUEUE_WAIT_S`) it bounds how long the
# server takes to answer; the SDK's request timeout is longer than both together, so a
# client never gives up (and resends) while the server is still about to answer (issue 8:
# both were 10 s, and the timeout-then-retry fed a race). docs/scale.md.
DEFAULT_LOCK_TIMEOUT_S = 5.0
# SQLite reads the database through a memory map of this many bytes (`PRAGMA mmap_size`)
# instead of a read() into its page cache for every page: a compare page's downsampled
# series read touches ~400 scattered pages per line, far more than the 2 MB page cache holds,
# and spent a quarter of its CPU copying them (docs/scale.md). Only reads are mapped; writes
# still go through write(). `Settings.sqlite_mmap_bytes` overrides it; 0 turns it off.
DEFAULT_SQLITE_MMAP_BYTES = 1 << 30
# Retry-After of a 503: a lock is usually free again within a second; a read-only or
# unreachable database needs a person, so clients may wait longer between attempts.
BUSY_RETRY_AFTER_S = 1
READ_ONLY_RETRY_AFTER_S = 30

# SQLite primary result codes (the low byte of extended codes such as SQLITE_BUSY_SNAPSHOT).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_FULL = 5, 6, 8, 13
# PostgreSQL SQLSTATEs: disk_full, lock_not_available, deadlock_detected,
# read_only_sql_transaction (a read-only replica or session), insufficient_privilege (a
# database user granted SELECT only); class 08 is a lost or refused connection.
_PG_FULL, _PG_LOCK_TIMEOUT, _PG_DEADLOCK = "53100", "55P03", "40P01"
_PG_READ_ONLY = ("25006", "42501")


def _json_serializer(value: Any) -> str:
    # Refuse NaN/Infinity rather than write invalid JSON (SQLite would store it, and its
    # JSON functions then fail for every row; issue 8). Run documents reach this with
    # non-finite floats already spelled as names (`store/documents.py`).
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def _configure_sqlite(
    lock_timeout_s: float, mmap_bytes: int, dbapi_connection: Any, _record: Any
) -> None:
    # SQLAlchemy emits BEGIN itself (`_begin_sqlite`), instead of the driver's implicit one,
    # so that write transactions can begin IMMEDIATE.
    dbapi_connection.isolation_level = None
    # WAL lets the dashboard read while a fit writes; NORMAL is durable across
    # application crashes (not power loss), which is the trade-off SQLite documents for WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout_s * 1000)}")
    cursor.execute(f"PRAGMA mmap_size={int(mmap_bytes)}")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    # A write transaction takes SQLite's write lock before its first read, so what it reads
    # (series summaries) cannot change before it writes (issue 8: a deferred transaction
    # read a summary another one was about to overwrite). Reads stay DEFERRED: WAL lets
    # them run beside a writer.
    immediate = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(
    database_url: str,
    *,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    sqlite_mmap_bytes: int = DEFAULT_SQLITE_MMAP_BYTES,
) -> Engine:
    """Create the engine; for SQLite, create the file's folder and set WAL (and the memory
    map) on every connection."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            write_turns.for_database(url.database, lock_timeout_s)
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, json_serializer=_json_serializer
        )
        event.listen(
            engine,
            "connect",
            functools.partial(_configure_sqlite, lock_timeout_s, sqlite_mmap_bytes),
        )
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    # A write waiting on another transaction's lock fails after this, and is answered 503
    # with Retry-After, instead of holding the client past its own timeout. Added to any
    # `options` the URL carries (connect_args would replace them).
    options = " ".join(
        filter(None, [str(url.query.get("options", "")), f"-c lock_timeout={int(lock_timeout_s * 1000)}"])
    )
    try:
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=20,
            json_serializer=_json_serializer,
            connect_args={"options": options},
        )
    except ModuleNotFoundError as exc:
        raise MissingDriver(
            f"{url.get_backend_name()} needs its driver, which is not installed ({exc}). "
            "Install it with: pip install 'fitwatch[postgres]'"
        ) from exc


class MissingDriver(ImportError):
    """The database URL names a database whose Python driver is not installed."""


def storage_error(error: BaseException) -> FitwatchError | None:
    """The domain error for a database that cannot take a write now, or None."""
    if not isinstance(error, DBAPIError) or error.orig is None:
        return None
    cause = f"{type(error.orig).__module__}.{type(error.orig).__name__}: {str(error.orig).strip()}"
    sqlite_code = getattr(error.orig, "sqlite_errorcode", None)
    sqlstate = getattr(error.orig, "sqlstate", None)
    code = sqlite_code & 0xFF if isinstance(sqlite_code, int) else None
    if code == _SQLITE_FULL or sqlstate == _PG_FULL:
        return StorageFull(
            f"the database is full ({cause}); nothing of this request was stored. Free disk space "
            "on the server (or raise the database's size limit), then send it again"
        )
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or sqlstate in (_PG_LOCK_TIMEOUT, _PG_DEADLOCK):
        return StorageBusy(
            f"the database stayed locked by another writer past the lock timeout ({cause}); "
            "nothing of this request was stored: send it again",
            retry_after_s=BUSY_RETRY_AFTER_S,
        )
    if code == _SQLITE_READONLY or sqlstate in _PG_READ_ONLY:
        return StorageReadOnly(
            f"the database is read-only ({cause}): reads work, writes cannot be stored until "
            "the server may write to it again (file permissions, a read-only mount, a read-only "
            "PostgreSQL replica or user); nothing of this request was stored",
            retry_after_s=READ_ONLY_RETRY_AFTER_S,
        )
    if isinstance(sqlstate, str) and sqlstate.startswith("08"):
        return StorageUnavailable(
            f"the database cannot be reached ({cause}); nothing of this request was stored",
            retry_after_s=BUSY_RETRY_AFTER_S,
        )
    return None


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reads (and writes that read nothing they then overwrite)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def make_write_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose transactions hold the write lock from their start (SQLite: BEGIN
    IMMEDIATE; PostgreSQL takes row locks in the store instead, so the option is inert)."""
    return sessionmaker(
        bind=engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
    )


def _write_turn(bind: Engine | Connection) -> AbstractContextManager[None]:
    """This process's turn at SQLite's write lock for a write transaction (`write_turns`)."""
    if not bind.get_execution_options().get(WRITE_OPTION, False):
        return nullcontext()
    url = (bind.engine if isinstance(bind, Connection) else bind).url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return nullcontext()
    turns = write_turns.lookup(url.database)
    return turns.turn() if turns is not None else nullcontext()


def _busy(error: write_turns.TurnTimeout) -> StorageBusy:
    return StorageBusy(
        f"the database stayed locked by another writer past the lock timeout ({error}); "
        "nothing of this request was stored: send it again",
        retry_after_s=BUSY_RETRY_AFTER_S,
    )


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error.

    A database that cannot take the transaction (full, locked, read-only) raises the
    matching `errors.Storage*` instead of the driver's error. A write transaction on SQLite
    first waits for its turn among this process's writers (`write_turns`).
    """
    bind = factory.kw.get("bind")
    try:
        turn = _write_turn(bind) if bind is not None else nullcontext()
        with turn:
            session = factory()
            try:
                yield session
                session.commit()
            except BaseException as error:
                session.rollback()
                translated = storage_error(error)
                if translated is not None:
                    raise translated from error
                raise
            finally:
                session.close()
    except write_turns.TurnTimeout as error:
        raise _busy(error) from error


@contextmanager
def transaction_scope(connection: Connection) -> Iterator[Connection]:
    """`session_scope` for a connection the caller holds (the ingest writer's): one
    transaction on it, committed on success, rolled back on any error, with the same
    `errors.Storage*` in place of the driver's error."""
    try:
        with _write_turn(connection), connection.begin():
            yield connection
    except write_turns.TurnTimeout as error:
        raise _busy(error) from error
    except BaseException as error:
        translated = storage_error(error)
        if translated is not None:
            raise translated from error
        raise
