"""store/limits.py: ceilings that name their limit."""

from __future__ import annotations

import pytest

from fitwatch_server import schemas
from fitwatch_server.db import session_scope
from fitwatch_server.errors import LimitExceeded, PayloadTooLarge
from fitwatch_server.store import limits
from fitwatch_server.store.point_data import IngestJob, ingest_jobs, ingest_points
from fitwatch_server.store.runs import create_run


def _batch(*keys: str, points: int = 1) -> schemas.PointBatchIn:
    return schemas.PointBatchIn.model_validate({"series": [
        {"key": k, "scope": "epoch", "steps": list(range(points)), "values": [1.0] * points,
         "times": [1.0] * points} for k in keys]})


def test_points_per_request(factory):
    limits.check_points_per_request(_batch("a", "b", points=5), limit=10)
    limits.check_points_per_request(_batch("a", points=10**4), limit=0)  # 0: no ceiling
    with pytest.raises(PayloadTooLarge, match="carries 12 points; the limit is 10 points per request"):
        limits.check_points_per_request(_batch("a", "b", points=6), limit=10)


def test_series_per_run_counts_only_new_series(factory):
    with session_scope(factory) as session:
        create_run(session, data=schemas.RunCreate(project="p", id="r1"))
        ingest_points(session, run_id="r1", batch=_batch("a", "b"))
    with session_scope(factory) as session:
        ingest_points(session, run_id="r1", batch=_batch("a", "b"), max_series_per_run=2)  # resend
        with pytest.raises(LimitExceeded, match="has 2 series and this request would add 2; the limit is 3 series per run"):
            ingest_points(session, run_id="r1", batch=_batch("a", "c", "d"), max_series_per_run=3)
        ingest_points(session, run_id="r1", batch=_batch("a", "b", "c"), max_series_per_run=3)


def test_runs_per_project_ignores_idempotent_recreates(factory):
    with session_scope(factory) as session:
        create_run(session, data=schemas.RunCreate(project="p", id="r1"))
        create_run(session, data=schemas.RunCreate(project="p", id="r2"))
    with session_scope(factory) as session:
        limits.check_new_run(session, project="p", run_id="r1", limit=2)
        limits.check_new_run(session, project="q", run_id=None, limit=2)
        with pytest.raises(LimitExceeded, match="project 'p' has 2 runs; the limit is 2 runs per project"):
            limits.check_new_run(session, project="p", run_id=None, limit=2)


def test_series_per_run_is_exact_for_requests_merged_into_one_transaction(factory):
    with session_scope(factory) as session:
        create_run(session, data=schemas.RunCreate(project="p", id="r1"))
        results = ingest_jobs(session, [
            IngestJob("r1", _batch("a", "b")), IngestJob("r1", _batch("c")), IngestJob("r1", _batch("b", "a")),
        ], max_series_per_run=2)
    assert [type(r).__name__ for r in results] == ["IngestResult", "LimitExceeded", "IngestResult"]
    assert "has 2 series and this request would add 1; the limit is 2 series per run" in str(results[1])
