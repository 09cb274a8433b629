"""Annotated dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, Request, Security
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from fitwatch_server.api.auth import Authenticator, authorize, get_principal
from fitwatch_server.auth.principal import Principal
from fitwatch_server.db import session_scope
from fitwatch_server.live.hub import Hub
from fitwatch_server.settings import Settings
from fitwatch_server.store.point_data.writer import IngestWriter

T = TypeVar("T")

# The getters below only read `app.state`, so they are `async def`: FastAPI runs a plain
# `def` dependency on the thread pool, and three such hops per request cost more than the
# rest of a small points request (bench/small_requests.py, docs/scale.md).


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_sessionmaker(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    return factory


async def get_write_sessionmaker(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.write_sessionmaker
    return factory


async def get_writer(request: Request) -> IngestWriter:
    writer: IngestWriter = request.app.state.writer
    return writer


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the route returns without error."""
    with session_scope(request.app.state.sessionmaker) as session:
        yield session


def get_write_session(request: Request) -> Iterator[Session]:
    """One write transaction per request. On SQLite it holds the write lock from its start
    (BEGIN IMMEDIATE): a transaction that reads, then writes, fails at once with "database
    is locked" if another connection committed in between (WAL cannot upgrade its stale
    snapshot), and the ingest writer commits every few milliseconds under load."""
    with session_scope(request.app.state.write_sessionmaker) as session:
        yield session


async def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the commit runs before the answer is sent. FastAPI's default for a
# dependency with yield ends it after the response, so a client could be told 201 for a
# write whose commit then failed, and its next request met the late commit as a lock.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
# Routes that write with a session (not `in_transaction`) take this one.
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]
SessionmakerDep = Annotated[sessionmaker[Session], Depends(get_sessionmaker)]
WriteSessionmakerDep = Annotated[sessionmaker[Session], Depends(get_write_sessionmaker)]
WriterDep = Annotated[IngestWriter, Depends(get_writer)]
HubDep = Annotated[Hub, Depends(get_hub)]
# The caller (token, session, bootstrap admin, or the local user with auth off).
PrincipalDep = Annotated[Principal, Depends(get_principal)]

# Router-level guards: the scope the HTTP method needs, or admin whatever the method.
AUTHORIZED = Security(authorize)
ADMIN_ONLY = Security(authorize, scopes=["admin"])


async def get_authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


AuthenticatorDep = Annotated[Authenticator, Depends(get_authenticator)]


async def in_transaction(factory: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    """Run `work(session)` in one transaction on a worker thread (for async routes that
    must publish to the live hub after the commit). Writes pass `WriteSessionmakerDep`."""

    def call() -> T:
        with session_scope(factory) as session:
            return work(session)

    return await run_in_threadpool(call)
