"""Schema migrations: run Alembic's upgrade to head, on start or by `fitwatch db upgrade`."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from fitwatch_server.db import make_engine
from fitwatch_server.paths import shipped_dir


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(shipped_dir("migrations")))
    # env.py uses this engine instead of building its own from a URL.
    config.attributes["engine"] = engine
    return config


# Any constant both replicas agree on: the key of the advisory lock that serialises upgrades.
_UPGRADE_LOCK_KEY = 0x66697477  # "fitw"


def upgrade_engine(engine: Engine) -> None:
    """Upgrade to head. On PostgreSQL under an advisory lock, because several replicas start
    at once (docker-compose.yml runs two): the second waits, then finds nothing to do,
    instead of racing the first to create the same tables."""
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), "head")
        return
    with engine.connect() as lock:
        lock.exec_driver_sql(f"SELECT pg_advisory_lock({_UPGRADE_LOCK_KEY})")
        try:
            command.upgrade(alembic_config(engine), "head")
        finally:
            lock.exec_driver_sql(f"SELECT pg_advisory_unlock({_UPGRADE_LOCK_KEY})")
            lock.commit()


def upgrade_database(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade_engine(engine)
    finally:
        engine.dispose()
