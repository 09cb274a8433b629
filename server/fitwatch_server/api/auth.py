"""Authentication and authorisation dependencies: who is calling, and may they do this.

`get_principal` finds the caller (a bearer token, a dashboard session cookie, the
bootstrap admin token, or the local user when auth is off) and counts the request
against the caller's rate limit. `authorize`, a dependency of the whole API router, then
checks the scope the request needs: the HTTP method's (GET and the websocket: read;
POST, PUT, PATCH: write; DELETE: admin) or a wider one declared with
`Security(authorize, scopes=[...])`. A route under `{run_id}` also checks that a
project-bound caller may see that run. Being on the router, a new route is protected
the moment it exists (tests/server/test_auth_matrix.py fails on a route it does not know).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import threading
import time
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from fitwatch_server.auth import secrets
from fitwatch_server.auth.principal import BOOTSTRAP, LOCAL, Principal, Via, widest
from fitwatch_server.auth.rate_limit import RateLimiter
from fitwatch_server.db import session_scope
from fitwatch_server.errors import StorageBusy, StorageFull, StorageUnavailable, Unauthorized
from fitwatch_server.schemas import TokenScope
from fitwatch_server.settings import Settings
from fitwatch_server.store import runs as run_store
from fitwatch_server.store import tokens as token_store

logger = logging.getLogger(__name__)

SESSION_COOKIE = "fitwatch_session"
# `last_used_at` is written at most this often per token and process: a write per request
# would put a database write on every ingest.
LAST_USED_EVERY_S = 60.0
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

NO_CREDENTIAL = (
    "this server needs a token (FITWATCH_AUTH=on): send 'Authorization: Bearer <token>' "
    "(FITWATCH_TOKEN for the SDK and the CLI), or sign in on the dashboard at /signin.html"
)

# Declared for OpenAPI (the /docs "Authorize" button); `get_principal` reads both.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A fitwatch token (`fitwatch token create`), as `Authorization: Bearer fw_...`.",
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="The dashboard's session cookie, set by POST /api/v1/auth/session.",
)


class Authenticator:
    """One per app: turns credentials into principals, rate-limits, records last use."""

    def __init__(
        self, settings: Settings, factory: sessionmaker[Session], write_factory: sessionmaker[Session]
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.write_factory = write_factory
        self.limiter = RateLimiter(settings.rate_limit_per_s)
        self._used: dict[int, float] = {}
        self._used_lock = threading.Lock()

    def from_token(self, raw: str) -> Principal:
        admin = self.settings.admin_token
        if admin is not None and secrets.same_secret(raw, admin.get_secret_value()):
            return BOOTSTRAP
        with session_scope(self.factory) as session:
            token = token_store.find_token(session, raw=raw)
            if token is None:
                raise Unauthorized(
                    "the token is unknown or revoked; check FITWATCH_TOKEN, or ask an admin for a "
                    "new one (fitwatch token create)"
                )
            principal = token_store.principal_of(token)
        self._touch(token.id)
        return principal

    def from_session(self, secret: str) -> Principal:
        with session_scope(self.factory) as session:
            found = token_store.find_web_session(session, secret=secret)
            if found is None:
                raise Unauthorized("your dashboard session has expired or was ended; sign in again at /signin.html")
            token, session_hash = found
            principal = token_store.principal_of(token, via=Via.session, session_hash=session_hash)
        self._touch(token.id)
        return principal

    def still_valid(self, principal: Principal) -> bool:
        with session_scope(self.factory) as session:
            return token_store.still_valid(session, principal=principal)

    def _touch(self, token_id: int) -> None:
        """Record the token's use, in a transaction of its own: a database that cannot take
        the write (read-only, locked) must not fail the request it authenticates (issue 8)."""
        now = time.monotonic()
        with self._used_lock:
            if now - self._used.get(token_id, -LAST_USED_EVERY_S) < LAST_USED_EVERY_S:
                return
            self._used[token_id] = now
        try:
            with session_scope(self.write_factory) as session:
                token_store.mark_used(session, token_id=token_id)
        except (StorageUnavailable, StorageFull, StorageBusy) as error:
            logger.warning("fitwatch: the last use of token %d was not recorded: %s", token_id, error.detail)


def warn_if_no_way_in(settings: Settings, factory: sessionmaker[Session]) -> None:
    """With auth on, no admin token and no token at all, nobody can do anything: say how to start."""
    if not settings.auth or settings.admin_token is not None:
        return
    try:
        with session_scope(factory) as session:
            if token_store.list_tokens(session):
                return
    except SQLAlchemyError:
        return  # not migrated (FITWATCH_MIGRATE_ON_START=false): the first request will say so
    logger.warning(
        "fitwatch: FITWATCH_AUTH is on and there is no token yet. Make the first one on this host: "
        "fitwatch token create --name admin --scope admin (same FITWATCH_DATABASE_URL), or start "
        "with FITWATCH_ADMIN_TOKEN set; see docs/security.md"
    )


def _authenticator(conn: HTTPConnection) -> Authenticator:
    authenticator: Authenticator = conn.app.state.authenticator
    return authenticator


def _client(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


@functools.lru_cache(maxsize=1024)
def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def get_principal(
    conn: HTTPConnection,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal:
    """The caller of this request (401 without a valid credential; 429 over the rate limit)."""
    cached: Principal | None = getattr(conn.state, "principal", None)
    if cached is not None:
        return cached
    authenticator = _authenticator(conn)
    if not authenticator.settings.auth:
        principal = LOCAL
        # Auth off is one person's machine: the SDK runs of a sweep all come from loopback and
        # must not throttle each other (50 runs flush 500 requests/s). An address from
        # elsewhere (a server started with --insecure) is still limited.
        if not _is_loopback(_client(conn)):
            authenticator.limiter.check(f"addr:{_client(conn)}", who=f"this client ({_client(conn)})")
    else:
        header = conn.headers.get("authorization")
        try:
            if header is not None and bearer is None:
                raise Unauthorized(
                    "the Authorization header must be 'Bearer <token>'. Received scheme: "
                    f"{header.split(' ', 1)[0][:20]!r}"
                )
            if bearer is not None:
                principal = await run_in_threadpool(authenticator.from_token, bearer.credentials)
            elif cookie:
                principal = await run_in_threadpool(authenticator.from_session, cookie)
            else:
                raise Unauthorized(NO_CREDENTIAL)
        except Unauthorized:
            # Failed attempts count against the address, so guessing costs the guesser.
            authenticator.limiter.check(f"addr:{_client(conn)}", who=f"this client ({_client(conn)})")
            raise
        authenticator.limiter.check(principal.rate_key, who=principal.describe())
    conn.state.principal = principal
    return principal


def needed_scope(conn: HTTPConnection, declared: list[str]) -> TokenScope:
    if conn.scope["type"] == "websocket":
        base = TokenScope.read
    elif conn.scope["method"] in READ_METHODS:
        base = TokenScope.read
    elif conn.scope["method"] == "DELETE":
        base = TokenScope.admin
    else:
        base = TokenScope.write
    return widest(base, *(TokenScope(s) for s in declared))


def _action(conn: HTTPConnection) -> str:
    route = conn.scope.get("route")
    path = getattr(route, "path", conn.url.path)
    if conn.scope["type"] == "websocket":
        return f"the websocket {path}"
    return f"{conn.scope['method']} {path}"


async def authorize(
    security_scopes: SecurityScopes,
    conn: HTTPConnection,
    principal: Annotated[Principal, Depends(get_principal)],
) -> Principal:
    """403 unless the caller's scope covers the request; 404 for a run it may not see."""
    needed = needed_scope(conn, security_scopes.scopes)
    if not principal.allows(needed):  # the message (route, URL) is built only for a refusal
        principal.require(needed, _action(conn))
    run_id = conn.path_params.get("run_id")
    if isinstance(run_id, str) and principal.project is not None:
        factory = _authenticator(conn).factory

        def lookup() -> dict[str, str]:
            with session_scope(factory) as session:
                return run_store.projects_of_runs(session, run_ids=[run_id])

        principal.require_run(run_id, (await run_in_threadpool(lookup)).get(run_id))
    return principal
