"""Bulk transfer on PostgreSQL (binary COPY, staging tables) stores exactly what was sent (issue 13)."""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import pytest
from sqlalchemy import Table

from fitwatch_server import models, schemas
from fitwatch_server.db import session_scope
from fitwatch_server.store import point_data, runs
from fitwatch_server.store.point_data import bulk
from tests.helpers.factories import series_body

POINTS = cast(Table, models.Point.__table__)


def _batch(*series: dict[str, object]) -> schemas.PointBatchIn:
    return schemas.PointBatchIn.model_validate({"series": list(series)})


def _run(session, name: str) -> str:  # type: ignore[no-untyped-def]
    run, _ = runs.create_run(session, data=schemas.RunCreate(project="bulk", name=name))
    return run.id


# Binary COPY is PostgreSQL's (SQLite takes executemany): this test runs on PostgreSQL only.
@pytest.mark.parametrize("backend", ["postgres"])
def test_binary_copy_keeps_nulls_nan_infinities_and_wide_integers(factory):
    steps = np.array([0, 1, 2**40, 2**62], dtype=np.int64)
    values = np.array([1.5, math.inf, -math.inf, 5e-324])
    epochs = np.array([0, 7, 0, 2**31 - 1], dtype=np.int64)
    data = bulk.encode_rows(
        [
            ("integer", np.full(4, 2**31 - 1, dtype=np.int64), None),
            ("bigint", steps, None),
            ("double precision", values, np.array([False, False, True, False])),
            ("double precision", values[::-1].copy(), None),
            ("integer", epochs, np.array([True, False, False, False])),
        ]
    )
    with session_scope(factory) as session:
        connection = session.connection()
        bulk.copy_encoded(
            connection, POINTS, ("series_id", "step", "value", "wall_time", "epoch"), data
        )
        rows = connection.exec_driver_sql(
            "SELECT series_id, step, value, wall_time, epoch FROM points ORDER BY step"
        ).all()
        session.rollback()
    assert [tuple(r) for r in rows] == [
        (2**31 - 1, 0, 1.5, 5e-324, None),
        (2**31 - 1, 1, math.inf, -math.inf, 7),
        (2**31 - 1, 2**40, None, math.inf, 0),
        (2**31 - 1, 2**62, 5e-324, 1.5, 2**31 - 1),
    ]


def test_one_request_mixing_nan_and_series_with_and_without_epochs_reads_back_exactly(factory):
    with session_scope(factory) as session:
        run_id = _run(session, "mixed")
        point_data.ingest_points(
            session,
            run_id=run_id,
            batch=_batch(
                series_body(
                    "loss", "batch", [0, 1, 2], [math.nan, 2.0, math.inf], epochs=[0, 0, 1]
                ),
                series_body("lr", "batch", [0, 1, 2], [0.1, -math.inf, math.nan]),
                series_body("loss", "epoch", [0, 1], [3.0, 1.0], epochs=[0, 1]),
            ),
        )
    with session_scope(factory) as session:
        read = {
            (s.key, s.scope): point_data.read_points(
                session,
                series=point_data.get_series(session, run_id=run_id, key=s.key, scope=s.scope),
            )
            for s in point_data.list_series(session, run_id=run_id)
        }
        assert point_data.check_run(session, run_id=run_id) == []
    loss = read[("loss", "batch")]
    assert (
        loss.steps == [0, 1, 2]
        and math.isnan(loss.values[0])
        and loss.values[1:] == [2.0, math.inf]
    )
    lr = read[("lr", "batch")]
    assert lr.values[:2] == [0.1, -math.inf] and math.isnan(lr.values[2])
    assert read[("loss", "epoch")].values == [3.0, 1.0]


def test_staged_overwrites_twice_in_one_transaction_leave_no_rows_behind(factory):
    with session_scope(factory) as session:
        run_id = _run(session, "twice")
        point_data.ingest_points(
            session,
            run_id=run_id,
            batch=_batch(
                series_body("loss", "batch", list(range(200)), [float(i) for i in range(200)]),
            ),
        )
        # Two overwrites in the same transaction: each must merge only its own staged rows.
        for value in (-1.0, 7.0):
            point_data.ingest_points(
                session,
                run_id=run_id,
                batch=_batch(
                    series_body("loss", "batch", [10, 150, 250], [value, value, value]),
                ),
            )
    with session_scope(factory) as session:
        series = point_data.get_series(session, run_id=run_id, key="loss", scope="batch")
        points = point_data.read_points(session, series=series)
        assert point_data.check_run(session, run_id=run_id) == []
    assert (series.count, series.last_step, series.max_value) == (201, 250, 199.0)
    assert (points.values[10], points.values[150], points.values[200]) == (7.0, 7.0, 7.0)


@pytest.mark.parametrize("backend", ["postgres"])
def test_rows_inline_as_arrays_keep_nulls_nan_infinities_and_exact_floats(factory):
    """`bulk.unnest_rows` sends rows as array literals (the rollup and summary merges)."""
    rollups_table = cast(Table, models.PointRollup.__table__)
    columns = ("series_id", "bucket", "min_value", "min_step")
    rows = [
        (2**31 - 1, 2**62, 0.1, None),
        (1, 0, math.inf, 5),
        (2, -3, -math.inf, 2**40),
        (3, 4, 5e-324, 0),
        (4, 5, 1 / 3, -1),
        (5, 6, None, 7),
        (6, 7, math.nan, 8),
    ]
    source, params = bulk.unnest_rows(rollups_table, columns, rows)
    with session_scope(factory) as session:
        found = (
            session.connection()
            .exec_driver_sql(f"SELECT {', '.join(columns)} FROM {source}", tuple(params))
            .all()
        )
    assert [tuple(r) for r in found[:-1]] == rows[:-1]
    assert found[-1][:2] == (6, 7) and math.isnan(found[-1][2])


@pytest.mark.parametrize("backend", ["postgres"])
def test_statements_run_together_each_run_once(factory):
    with session_scope(factory) as session:
        run_id = _run(session, "together")
        connection = session.connection()
        bulk.execute_together(
            connection,
            [
                ("UPDATE projects SET name = name || 'a' WHERE name = %s", ["bulk"]),
                None,
                ("UPDATE runs SET name = name || %s WHERE id = %s", ["b", run_id]),
            ],
        )
        row = connection.exec_driver_sql(
            "SELECT projects.name, runs.name FROM runs JOIN projects ON projects.id = runs.project_id "
            "WHERE runs.id = %s",
            (run_id,),
        ).one()
    # Each part ran once, with its own parameters in order.
    assert tuple(row) == ("bulka", "togetherb")
