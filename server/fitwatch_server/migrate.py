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


def upgrade_engine(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), "head")


def upgrade_database(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade_engine(engine)
    finally:
        engine.dispose()
