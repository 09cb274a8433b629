"""Points partitioned by hash of the series id on PostgreSQL; one table on SQLite (issue 13)."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from alembic import command
from sqlalchemy import inspect

from fitwatch_server import schemas
from fitwatch_server.db import make_engine, session_scope
from fitwatch_server.migrate import DEFAULT_POINT_PARTITIONS, alembic_config
from fitwatch_server.store import point_data, runs
from tests.conftest import PG_ADMIN_URL
from tests.helpers.factories import series_body


def _run_with_series(session, n_series: int, points: int) -> str:  # type: ignore[no-untyped-def]
    run, _ = runs.create_run(session, data=schemas.RunCreate(project="part", name="r"))
    batch = schemas.PointBatchIn.model_validate(
        {
            "series": [
                series_body(
                    f"m{i}", "batch", list(range(points)), [float(s) for s in range(points)]
                )
                for i in range(n_series)
            ]
        }
    )
    point_data.ingest_points(session, run_id=run.id, batch=batch)
    return run.id


def test_points_is_one_table_on_sqlite_and_hash_partitions_on_postgresql(factory, backend):
    engine = factory.kw["bind"]
    tables = set(inspect(engine).get_table_names())
    partitions = sorted(t for t in tables if t.startswith("points_p"))
    if backend == "sqlite":
        assert partitions == []
        return
    assert partitions == [f"points_p{i:03d}" for i in range(DEFAULT_POINT_PARTITIONS)]
    with session_scope(factory) as session:
        strategy = (
            session.connection()
            .exec_driver_sql("SELECT pg_get_partkeydef('points'::regclass)")
            .scalar()
        )
    assert strategy == "HASH (series_id)"


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_read_of_one_series_touches_one_partition(factory):
    with session_scope(factory) as session:
        run_id = _run_with_series(session, n_series=8, points=500)
    with session_scope(factory) as session:
        series = point_data.get_series(session, run_id=run_id, key="m3", scope="batch")
        connection = session.connection()
        # The plan of the read's statement shape: one partition, chosen at plan time.
        plan = connection.exec_driver_sql(
            "EXPLAIN (FORMAT JSON) SELECT step, value, wall_time, epoch FROM points "
            "WHERE series_id = %s AND step BETWEEN %s AND %s ORDER BY step",
            (series.id, 0, 499),
        ).scalar()
        scanned = {node for node in _relations(plan) if node.startswith("points")}
        assert len(scanned) == 1 and scanned.pop().startswith("points_p")
        # And what the read really did, counted by PostgreSQL for this transaction.
        read = point_data.read_points(session, series=series)
        touched = (
            connection.exec_driver_sql(
                "SELECT relname FROM pg_stat_xact_user_tables "
                "WHERE relname LIKE 'points_p%%' AND coalesce(seq_scan, 0) + coalesce(idx_scan, 0) > 0"
            )
            .scalars()
            .all()
        )
    assert read.steps == list(range(500))
    assert len(touched) == 1


def _relations(plan: object) -> list[str]:
    if isinstance(plan, dict):
        found = [plan["Relation Name"]] if "Relation Name" in plan else []
        return found + [name for value in plan.values() for name in _relations(value)]
    if isinstance(plan, list):
        return [name for item in plan for name in _relations(item)]
    return []


def test_the_partitioning_revision_keeps_every_point_both_ways(postgres_url):
    from tests.conftest import require

    require(postgres_url is not None, f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    name = f"fitwatch_part_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = "postgresql+psycopg://" + PG_ADMIN_URL.split("://", 1)[1].rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(engine), "0003")
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO points (series_id, step, value, wall_time, epoch) "
                "SELECT s, g, CASE WHEN g = 7 THEN NULL ELSE g * 0.5 END, 1.7e9 + g, NULL "
                "FROM generate_series(1, 20) AS s, generate_series(0, 99) AS g"
            )
        command.upgrade(alembic_config(engine, point_partitions=4), "head")
        partitions = sorted(
            t for t in inspect(engine).get_table_names() if t.startswith("points_p")
        )
        assert partitions == ["points_p000", "points_p001", "points_p002", "points_p003"]
        with engine.connect() as connection:
            assert connection.exec_driver_sql(
                "SELECT count(*), count(value) FROM points"
            ).one() == (2000, 1980)
        command.downgrade(alembic_config(engine), "0003")
        assert not [t for t in inspect(engine).get_table_names() if t.startswith("points_p")]
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*), sum(step) FROM points").one() == (
                2000,
                20 * 4950,
            )
    finally:
        engine.dispose()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
