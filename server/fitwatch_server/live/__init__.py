"""Live updates: publish what was committed, fan it out to websocket subscribers.

`make_hub(settings, factory)` picks the backend: the in-process `Hub` for SQLite (one
worker), `PgNotifyHub` (LISTEN/NOTIFY across workers and hosts) for PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from fitwatch_server.live.hub import Hub
from fitwatch_server.settings import Settings

__all__ = ["Hub", "make_hub"]


def make_hub(settings: Settings, factory: sessionmaker[Session]) -> Hub:
    if settings.is_sqlite:
        return Hub(settings, factory)
    # Imported here: psycopg is only needed (and installed, via the `postgres` extra) for PostgreSQL.
    from fitwatch_server.live.pg_notify import PgNotifyHub

    return PgNotifyHub(settings, factory)
