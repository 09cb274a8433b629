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


def test_run_documents_stored_before_the_limits_are_repaired(database_url):
    """0004: a bare NaN (SQLite) or a config nested past what responses can serialise,
    stored by an earlier version, no longer breaks the runs list (issue 8)."""
    import json

    from alembic import command
    from sqlalchemy import text
    from starlette.testclient import TestClient

    from fitwatch_server.app import create_app
    from fitwatch_server.migrate import alembic_config
    from fitwatch_server.settings import Settings

    url = Settings(database_url=database_url).database_url
    engine = make_engine(url)
    deep: object = {"leaf": 1.5}
    for _ in range(300):
        deep = {"a": deep}
    try:
        # The PostgreSQL test database is already at head: step back to before the repair.
        command.upgrade(alembic_config(engine), "head")
        command.downgrade(alembic_config(engine), "0003")
        postgres = engine.dialect.name == "postgresql"
        as_json = "CAST(:config AS JSONB)" if postgres else ":config"
        # PostgreSQL's jsonb never took a bare NaN; SQLite stored it as invalid JSON.
        nan_config = '{"lr": 0.1}' if postgres else '{"lr": NaN, "clip": [Infinity]}'
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO projects (id, name, created_at) VALUES (1, 'p', :t)"),
                               {"t": "2026-01-01 00:00:00"})
            for run_id, config in [("nan", nan_config), ("deep", json.dumps({"model": deep}))]:
                connection.execute(
                    text(
                        "INSERT INTO runs (id, project_id, name, status, config, summary, notes, "
                        f"created_at, heartbeat_at) VALUES (:id, 1, :id, 'finished', {as_json}, "
                        f"{as_json.replace(':config', ':summary')}, '', :t, :t)"
                    ),
                    {"id": run_id, "config": config, "summary": '{"best": NaN}' if not postgres else "{}",
                     "t": "2026-01-01 00:00:00"},
                )
        command.upgrade(alembic_config(engine), "head")
    finally:
        engine.dispose()
    with TestClient(create_app(Settings(database_url=url)), base_url="http://localhost") as client:
        for params in ({"sort": "name"}, {"sort": "config.lr"}, {"filter": "config.lr > 0"}):
            listed = client.get("/api/v1/runs", params=params)
            assert listed.status_code == 200, listed.text
        deep_run, nan_run = client.get("/api/v1/runs", params={"sort": "name"}).json()["runs"]
    if not postgres:
        assert nan_run["config"] == {"lr": "NaN", "clip": ["Infinity"]}
        assert nan_run["summary"] == {"best": "NaN"}
    # Nothing is lost: what lay deeper than 128 levels is kept as its own JSON text.
    kept, original = deep_run["config"]["model"], deep
    for _ in range(126):
        kept, original = kept["a"], original["a"]  # type: ignore[index]
    assert json.loads(kept["a"]) == original["a"]  # type: ignore[index]


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


def test_postgresql_point_rollups_leave_room_on_each_page_for_updates(postgres_url):
    """Migration 0010: fillfactor 70, so the ingest's updates of the latest buckets are HOT."""
    import psycopg

    from tests.conftest import PG_ADMIN_URL, require

    require(postgres_url is not None, f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        (options,) = conn.execute(
            "SELECT reloptions FROM pg_class WHERE relname = 'point_rollups'"
        ).fetchone()
    assert options == ["fillfactor=70"]
