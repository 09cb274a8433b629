"""Merged ingest: jobs in one transaction behave as if they ran one after another."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fitwatch_server import schemas
from fitwatch_server.db import session_scope
from fitwatch_server.errors import NotFound
from fitwatch_server.store import point_data, runs
from fitwatch_server.store.point_data import IngestJob, rollups
from tests.helpers.factories import series_body


def _batch(*series: dict[str, object]) -> schemas.PointBatchIn:
    return schemas.PointBatchIn.model_validate({"series": list(series)})


def _run(session, name: str) -> str:  # type: ignore[no-untyped-def]
    run, _ = runs.create_run(session, data=schemas.RunCreate(project="i", name=name))
    return run.id


def test_a_step_written_by_several_jobs_keeps_the_last_jobs_value(factory):
    with session_scope(factory) as session:
        a, b = _run(session, "a"), _run(session, "b")
        results = point_data.ingest_jobs(session, [
            IngestJob(a, _batch(series_body("loss", "batch", [0, 1, 2], [3.0, 2.0, 1.0]))),
            IngestJob(b, _batch(series_body("loss", "batch", [0], [9.0]))),
            IngestJob(a, _batch(series_body("loss", "batch", [1, 3], [0.5, 0.25]))),
            IngestJob("gone", _batch(series_body("loss", "batch", [0], [1.0]))),
        ])
    assert [r.points if isinstance(r, schemas.IngestResult) else type(r) for r in results] == [3, 1, 2, NotFound]
    with session_scope(factory) as session:
        series = point_data.get_series(session, run_id=a, key="loss", scope="batch")
        points = point_data.read_points(session, series=series)
        assert (points.steps, points.values) == ([0, 1, 2, 3], [3.0, 0.5, 1.0, 0.25])
        assert (series.count, series.min_value, series.min_step) == (4, 0.25, 3)
        assert point_data.check_run(session, run_id=a) == []
        assert point_data.check_run(session, run_id=b) == []


def test_a_repeated_step_in_one_request_counts_once(factory):
    with session_scope(factory) as session:
        run_id = _run(session, "r")
        result = point_data.ingest_points(session, run_id=run_id, batch=_batch(
            series_body("loss", "epoch", [1, 0, 1], [1.0, 2.0, 3.0]),
            series_body("loss", "epoch", [2], [4.0]),
        ))
    assert (result.points, result.series) == (3, 1)


def test_the_scan_notices_a_summary_that_disagrees_with_the_points(factory):
    with session_scope(factory) as session:
        run_id = _run(session, "s")
        point_data.ingest_points(session, run_id=run_id, batch=_batch(
            series_body("loss", "batch", list(range(100)), [float(i) for i in range(100)])
        ))
    with session_scope(factory) as session:
        series = point_data.get_series(session, run_id=run_id, key="loss", scope="batch")
        series.count, series.last_step = 50, 49  # the shape of issue 8's lost appends
    with session_scope(factory) as session:
        problems = point_data.check_run(session, run_id=run_id)
    assert len(problems) == 1 and "summary" in problems[0]


_values = st.one_of(
    st.sampled_from([0.0, 1.0, 1.0, -1.0, math.nan, math.inf, -math.inf]),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
)
_batches = st.lists(
    st.lists(st.tuples(st.integers(0, 5000), _values), min_size=1, max_size=60),
    min_size=1, max_size=6,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=_batches, merged=st.booleans())
def test_any_writes_leave_summaries_and_rollups_equal_to_a_scan(factory, batches, merged):
    """Appends, gaps filled out of order, resends, overwrites, ties, NaN and Inf, one by one or merged."""
    jobs = []
    with session_scope(factory) as session:
        run_id = _run(session, "prop")
    for points in batches:
        steps = [s for s, _ in points]
        values = ["NaN" if v != v else "Infinity" if v == math.inf else "-Infinity" if v == -math.inf else v
                  for _, v in points]
        jobs.append(IngestJob(run_id, _batch(series_body("loss", "batch", steps, values))))
    jobs += jobs[: len(jobs) // 2]  # resends of earlier batches
    groups = [jobs] if merged else [[job] for job in jobs]
    for group in groups:
        with session_scope(factory) as session:
            point_data.ingest_jobs(session, group)
    with session_scope(factory) as session:
        assert point_data.check_run(session, run_id=run_id) == []


def test_a_resend_changes_nothing_and_a_changed_value_is_stored(factory):
    body = series_body("loss", "batch", list(range(200)), [float(i % 17) for i in range(200)])
    with session_scope(factory) as session:
        run_id = _run(session, "resend")
        point_data.ingest_points(session, run_id=run_id, batch=_batch(body))
    with session_scope(factory) as session:
        before = point_data.series_public(point_data.get_series(session, run_id=run_id, key="loss", scope="batch"))
        point_data.ingest_points(session, run_id=run_id, batch=_batch(body))
    with session_scope(factory) as session:
        series = point_data.get_series(session, run_id=run_id, key="loss", scope="batch")
        assert point_data.series_public(series) == before
        changed = dict(body, values=[-1.0 if i == 150 else float(i % 17) for i in range(200)])
        point_data.ingest_points(session, run_id=run_id, batch=_batch(changed))
    with session_scope(factory) as session:
        series = point_data.get_series(session, run_id=run_id, key="loss", scope="batch")
        assert (series.count, series.min_value, series.min_step) == (200, -1.0, 150)
        assert point_data.check_run(session, run_id=run_id) == []


def _derived(session, run_id: str) -> tuple[object, list[tuple[object, ...]]]:  # type: ignore[no-untyped-def]
    """A series' summary and rollup rows, without its id."""
    series = point_data.get_series(session, run_id=run_id, key="loss", scope="batch")
    rows = session.connection().exec_driver_sql(
        "SELECT bucket_size, bucket, count, min_value, min_step, max_value, max_step, nan_step "
        f"FROM point_rollups WHERE series_id = {series.id} ORDER BY bucket_size, bucket"
    ).all()
    return point_data.series_public(series).model_dump(exclude={"run_id"}), [tuple(r) for r in rows]


def test_the_numpy_and_the_plain_python_rollups_store_the_same_rows(factory):
    """One transaction past `rollups.PLAIN_PYTHON_MAX_POINTS` (NumPy) and the same points in
    small transactions (plain Python) leave the same summary and rollups."""
    total = rollups.PLAIN_PYTHON_MAX_POINTS * 2
    values = ["NaN" if i % 97 == 5 else float((i * 7919) % 1000) - 500.0 for i in range(total)]
    steps = [i * 3 for i in range(total)]  # spans every bucket level
    with session_scope(factory) as session:
        large, small = _run(session, "large"), _run(session, "small")
    with session_scope(factory) as session:
        point_data.ingest_points(session, run_id=large, batch=_batch(series_body("loss", "batch", steps, values)))
    for start in range(0, total, 100):
        with session_scope(factory) as session:
            body = series_body("loss", "batch", steps[start : start + 100], values[start : start + 100])
            point_data.ingest_points(session, run_id=small, batch=_batch(body))
    with session_scope(factory) as session:
        assert _derived(session, large) == _derived(session, small)
        assert point_data.check_run(session, run_id=large) == []
        assert point_data.check_run(session, run_id=small) == []


def test_only_rollup_rows_at_or_before_the_stored_last_steps_bucket_may_meet_a_stored_row():
    """`split_new`: per level, a bucket after the one holding the stored last step is new."""
    rows: list[tuple[object, ...]] = [
        (1, 64, 0, 1, 0.0, 0, 0.0, 0, None),  # holds stored step 63: stored
        (1, 64, 1, 1, 0.0, 64, 0.0, 64, None),  # starts at 64, after 63: new
        (1, 1024, 0, 2, 0.0, 0, 0.0, 0, None),  # holds 63: stored
        (2, 64, 3, 1, 0.0, 200, 0.0, 200, None),  # before series 2's last step 5000: may be
        (2, 16384, 0, 1, 0.0, 200, 0.0, 200, None),
        (3, 64, 0, 1, 0.0, 0, 0.0, 0, None),  # series 3 has no stored points: new
    ]
    fresh, merged = rollups.split_new(rows, {1: 63, 2: 5000})
    assert fresh == [rows[1], rows[5]]
    assert merged == [rows[0], rows[2], rows[3], rows[4]]


@given(
    cuts=st.lists(st.integers(1, 40_000), min_size=1, max_size=5, unique=True),
    gap=st.booleans(),
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_appends_across_bucket_edges_of_every_level_leave_the_rollups_of_a_scan(factory, cuts, gap):
    """Appended batches that end and start anywhere relative to the 64, 1,024 and 16,384-step
    buckets (rows after the stored last step's bucket are inserted without a merge), and with
    `gap` a batch that then fills steps left out earlier (every one of its rows may meet a
    stored bucket): the rollups and summaries equal a scan of the points."""
    edges = sorted(cuts)
    ranges = list(zip([0, *edges], [*edges, edges[-1] + 700], strict=True))
    skipped = {step for step in range(0, edges[-1] + 700) if step % 5 == 3} if gap else set()
    with session_scope(factory) as session:
        run_id = _run(session, "edges")
    for start, stop in ranges:
        steps = [s for s in range(start, stop) if s not in skipped]
        if not steps:
            continue
        with session_scope(factory) as session:
            point_data.ingest_points(session, run_id=run_id, batch=_batch(series_body(
                "loss", "batch", steps, [float((s * 7919) % 1009) for s in steps]
            )))
    if skipped:
        steps = sorted(skipped)
        with session_scope(factory) as session:
            point_data.ingest_points(session, run_id=run_id, batch=_batch(series_body(
                "loss", "batch", steps, [-float(s % 13) for s in steps]
            )))
    with session_scope(factory) as session:
        assert point_data.check_run(session, run_id=run_id) == []
