"""Migrations: upgrade an empty database, and the models and the migrations agree.

HOW TO FIX a failure of `test_models_match_migrations`: you changed `fitwatch_server/models.py`
without a migration. Add a revision in `migrations/versions/` (one per change, descriptive
slug, upgrade and downgrade, batch mode for SQLite); see migrations/README.md.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from fitwatch_server.db import make_engine
from fitwatch_server.migrate import include_name, upgrade_database
from fitwatch_server.models import Base


def test_upgrade_creates_every_table(database_url):
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"projects", "runs", "run_tags", "series", "points", "point_rollups", "tokens", "web_sessions"} <= tables


def test_models_match_migrations(database_url):
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": include_name}
            )
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], (
        "models.py and migrations/ disagree. HOW TO FIX: add a migration revision for your "
        f"model change (see migrations/README.md). Differences: {diff}"
    )


def test_upgrade_is_repeatable(database_url):
    upgrade_database(database_url)
    upgrade_database(database_url)


def test_the_tokens_revision_downgrades_and_upgrades_again(database_url):
    from alembic import command

    from fitwatch_server.migrate import alembic_config

    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        command.downgrade(alembic_config(engine), "0001")
        assert "tokens" not in set(inspect(engine).get_table_names())
        command.upgrade(alembic_config(engine), "head")
        assert {"tokens", "web_sessions"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_replicas_upgrading_an_empty_postgresql_at_once_all_succeed(postgres_url):
    """docker-compose.yml starts two replicas together; both upgrade on start."""
    import threading
    import uuid

    import psycopg

    from tests.conftest import PG_ADMIN_URL, require

    require(postgres_url is not None, f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    name = f"fitwatch_race_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = "postgresql+psycopg://" + PG_ADMIN_URL.split("://", 1)[1].rsplit("/", 1)[0] + f"/{name}"
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def upgrade() -> None:
        barrier.wait()
        try:
            upgrade_database(url)
        except BaseException as error:  # noqa: BLE001 - reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=upgrade) for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        engine = make_engine(url)
        try:
            assert "points" in set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
