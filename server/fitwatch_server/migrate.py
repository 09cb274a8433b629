"""Schema migrations: run Alembic's upgrade to head, on start or by `fitwatch db upgrade`."""

from __future__ import annotations

import re

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from fitwatch_server.db import make_engine
from fitwatch_server.paths import shipped_dir

# Hash partitions of `points` on PostgreSQL, made by revision 0008 (`Settings.point_partitions`).
DEFAULT_POINT_PARTITIONS = 16
# Tables the migrations make that models.py does not declare: the partitions of `points`
# (`points_p000` …). Autogenerate and the models-vs-migrations test skip them.
_PARTITION = re.compile(r"^points_p\d+$")


def include_name(name: str | None, type_: str, _parents: dict[str, str | None]) -> bool:
    """Alembic `include_name` hook: everything but the partitions of `points`."""
    return not (type_ == "table" and name is not None and _PARTITION.match(name))


def alembic_config(engine: Engine, *, point_partitions: int = DEFAULT_POINT_PARTITIONS) -> Config:
    config = Config()
    config.set_main_option("script_location", str(shipped_dir("migrations")))
    # env.py uses this engine instead of building its own from a URL.
    config.attributes["engine"] = engine
    config.attributes["point_partitions"] = point_partitions
    return config


# Any constant both replicas agree on: the key of the advisory lock that serialises upgrades.
_UPGRADE_LOCK_KEY = 0x66697477  # "fitw"


def upgrade_engine(engine: Engine, *, point_partitions: int = DEFAULT_POINT_PARTITIONS) -> None:
    """Upgrade to head. On PostgreSQL under an advisory lock, because several replicas start
    at once (docker-compose.yml runs two): the second waits, then finds nothing to do,
    instead of racing the first to create the same tables."""
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine, point_partitions=point_partitions), "head")
        return
    with engine.connect() as lock:
        lock.exec_driver_sql(f"SELECT pg_advisory_lock({_UPGRADE_LOCK_KEY})")
        try:
            command.upgrade(alembic_config(engine, point_partitions=point_partitions), "head")
        finally:
            lock.exec_driver_sql(f"SELECT pg_advisory_unlock({_UPGRADE_LOCK_KEY})")
            lock.commit()


def upgrade_database(database_url: str, *, point_partitions: int = DEFAULT_POINT_PARTITIONS) -> None:
    engine = make_engine(database_url)
    try:
        upgrade_engine(engine, point_partitions=point_partitions)
    finally:
        engine.dispose()
