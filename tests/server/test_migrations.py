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
from fitwatch_server.migrate import upgrade_database
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
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], (
        "models.py and migrations/ disagree. HOW TO FIX: add a migration revision for your "
        f"model change (see migrations/README.md). Differences: {diff}"
    )


def test_upgrade_is_repeatable(database_url):
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from fitwatch_server.migrate import alembic_config

    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO projects (name, created_at) VALUES ('kept', CURRENT_TIMESTAMP)"))
        upgrade_database(database_url)  # the second upgrade finds nothing to do ...
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            projects = connection.execute(text("SELECT name FROM projects")).scalars().all()
        head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    finally:
        engine.dispose()
    assert versions == [head]  # ... stays at one head revision ...
    assert projects == ["kept"]  # ... and leaves the data alone


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
