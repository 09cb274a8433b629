"""Downsampled reads (`point_data/reads.py`): the same answer on both backends, the real first
and last points of a range, and index lookups on PostgreSQL whatever its statistics say
(issue 13)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from fitwatch_server import schemas
from fitwatch_server.db import make_engine, make_write_sessionmaker, session_scope
from fitwatch_server.migrate import upgrade_engine
from fitwatch_server.settings import Settings
from fitwatch_server.store import point_data, runs
from tests.conftest import PG_ADMIN_URL, _truncate, require
from tests.helpers.factories import series_body


def _store(factory: sessionmaker[Session], run_id: str, parts: list[dict]) -> None:  # type: ignore[type-arg]
    with session_scope(factory) as session:
        runs.create_run(session, data=schemas.RunCreate(project="reads", name="r", id=run_id))
    for part in parts:
        with session_scope(factory) as session:
            batch = schemas.PointBatchIn.model_validate({"series": [part]})
            point_data.ingest_points(session, run_id=run_id, batch=batch)


def _long_series_parts() -> list[dict]:  # type: ignore[type-arg]
    """150,000 points in 20,000-point requests: a random walk with a spike, a dip, NaN and
    +/-Inf, a gap of odd steps only, then an overwrite of stored steps (rollups rebuilt)."""
    rng = np.random.default_rng(7)
    steps = list(range(0, 100_000)) + list(range(100_001, 200_001, 2))
    values: list[object] = np.cumsum(rng.normal(0, 1, len(steps))).tolist()
    values[30_000], values[60_000] = 1e6, -1e6
    values[70_000], values[70_010], values[120_000] = "NaN", "Infinity", "-Infinity"
    parts = [
        series_body(
            "loss",
            "batch",
            steps[i : i + 20_000],
            values[i : i + 20_000],
            epochs=[s // 1000 for s in steps[i : i + 20_000]],
        )
        for i in range(0, len(steps), 20_000)
    ]
    parts.append(series_body("loss", "batch", [40_000, 40_001], [-2e6, "NaN"], epochs=[40, 40]))
    return parts


# (start, end, max_points): whole series, ranges not on bucket edges, a range inside the gap,
# a range too short for the rollups, and budgets that pick each bucket size.
_READS = [
    (None, None, 2000),
    (None, None, 500),
    (None, None, 20),
    (1, 150_002, 300),
    (12_345, 98_765, 1000),
    (100_000, 199_999, 400),
    (0, 5_000, 200),
    (40_000, 40_001, 10),
]


def _answer(points: schemas.SeriesPointsPublic) -> str:
    # repr: NaN compares unequal to itself; its repr does not.
    return repr(points.model_dump())


@pytest.fixture
def both_backends(tmp_path, postgres_url) -> Iterator[list[sessionmaker[Session]]]:  # type: ignore[no-untyped-def, type-arg]
    require(postgres_url is not None, f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    assert postgres_url is not None
    _truncate(postgres_url)
    engines = [
        make_engine(Settings(database_url=url).database_url)
        for url in (f"sqlite:///{tmp_path / 'reads.db'}", postgres_url)
    ]
    for engine in engines:
        upgrade_engine(engine)
    yield [make_write_sessionmaker(engine) for engine in engines]
    for engine in engines:
        engine.dispose()
    _truncate(postgres_url)


def test_both_backends_answer_every_downsampled_read_alike(both_backends):
    parts = _long_series_parts()
    answers: list[list[str]] = []
    for factory in both_backends:
        _store(factory, "same-run", parts)
        with session_scope(factory) as session:
            series = point_data.get_series(session, run_id="same-run", key="loss", scope="batch")
            found = [
                _answer(
                    point_data.read_points(
                        session, series=series, start=start, end=end, max_points=max_points
                    )
                )
                for start, end, max_points in _READS
            ]
            found += [
                _answer(p)
                for p in point_data.read_many(
                    session,
                    run_ids=["same-run"],
                    keys=["loss"],
                    scope="batch",
                    start=None,
                    end=None,
                    max_points=700,
                )
            ]
        answers.append(found)
    sqlite, postgres = answers
    # Every read but the two-point one is downsampled (the last answer is read_many's).
    assert ["'downsampled': True" in answer for answer in sqlite] == [True] * 7 + [False, True]
    for read, lite, pg in zip([*_READS, "read_many"], sqlite, postgres, strict=True):
        assert lite == pg, read


def test_a_downsampled_range_starts_and_ends_at_its_real_first_and_last_points(factory):
    """Steps 2, 4, 6, …: a range from an odd step starts at the next stored step, and ends at
    the last stored one, though neither is an extreme of its bucket (values 0.5, 1, -1, …)."""
    steps = list(range(2, 300_002, 2))
    values = [(0.5, 1.0, -1.0)[i % 3] for i in range(len(steps))]
    _store(
        factory,
        "gaps",
        [
            series_body("loss", "batch", steps[i : i + 50_000], values[i : i + 50_000])
            for i in range(0, len(steps), 50_000)
        ],
    )
    with session_scope(factory) as session:
        series = point_data.get_series(session, run_id="gaps", key="loss", scope="batch")
        points = point_data.read_points(
            session, series=series, start=1, end=200_001, max_points=300
        )
    assert points.downsampled is True
    assert (points.steps[0], points.steps[-1]) == (2, 200_000)
    assert (points.values[0], points.values[-1]) == (values[0], values[99_999])


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_downsampled_read_looks_points_up_by_key_when_statistics_are_stale(factory):
    """A live series grows long after its partition was last analysed: PostgreSQL then
    estimates it at a row or two. The read must still fetch about the points it returns,
    not scan the series (1M points: 11 s with `step IN (…)`, docs/scale.md)."""
    _store(factory, "stale", [series_body("loss", "batch", list(range(10)), [1.0] * 10)])
    with session_scope(factory) as session:
        session.connection().exec_driver_sql("ANALYZE points")
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.normal(0, 1, 150_000)).tolist()
    for start in range(10, 150_000, 50_000):
        end = min(start + 50_000, 150_000)
        with session_scope(factory) as session:
            batch = schemas.PointBatchIn.model_validate(
                {
                    "series": [
                        series_body("loss", "batch", list(range(start, end)), values[start:end])
                    ]
                }
            )
            point_data.ingest_points(session, run_id="stale", batch=batch)
    with session_scope(factory) as session:
        series = point_data.get_series(session, run_id="stale", key="loss", scope="batch")
        points = point_data.read_points(session, series=series, max_points=500)
        fetched = (
            session.connection()
            .exec_driver_sql(
                "SELECT coalesce(sum(idx_tup_fetch), 0) + coalesce(sum(seq_tup_read), 0) "
                "FROM pg_stat_xact_user_tables WHERE relname LIKE 'points_p%%'"
            )
            .scalar()
        )
    assert points.downsampled is True and 450 <= len(points.steps) <= 520
    # The candidates read 2 raw points plus the partial last bucket; the chosen rows one each.
    assert fetched < 2 * len(points.steps), fetched
