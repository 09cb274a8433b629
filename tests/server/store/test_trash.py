"""store/trash.py on each backend: what `fitwatch runs purge` will call (trashed before a
time, one project, listed runs), and that a purge leaves no point data behind."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from fitwatch_server import schemas
from fitwatch_server.db import session_scope
from fitwatch_server.errors import InvalidInput, NotFound
from fitwatch_server.store import point_data, trash
from fitwatch_server.store import runs as run_store


def _make(factory: sessionmaker[Session], project: str, n: int) -> list[str]:
    ids = []
    with session_scope(factory) as session:
        for _ in range(n):
            run, _ = run_store.create_run(session, data=schemas.RunCreate(project=project))
            batch = schemas.PointBatchIn.model_validate(
                {
                    "series": [
                        {
                            "key": "loss",
                            "scope": "batch",
                            "steps": [0, 1, 2],
                            "values": [1.0, "NaN", 0.5],
                            "times": [1.0, 2.0, 3.0],
                        }
                    ]
                }
            )
            point_data.ingest_points(session, run_id=run.id, batch=batch)
            ids.append(run.id)
    return ids


def test_purge_by_age_project_and_ids(factory: sessionmaker[Session]) -> None:
    old, recent = _make(factory, "p", 2)
    (other,) = _make(factory, "q", 1)
    with session_scope(factory) as session:
        trash.trash_runs(session, run_ids=[old, recent, other])
        run_store.get_run(session, run_id=old).deleted_at = run_store.utcnow() - timedelta(days=40)
    with session_scope(factory) as session:
        cutoff = run_store.utcnow() - timedelta(days=30)
        assert trash.purge_trash(session, trashed_before=cutoff) == [(old, "p")]
    with session_scope(factory) as session:
        assert trash.purge_trash(session, project="q") == [(other, "q")]
        assert trash.purge_trash(session, run_ids=[recent]) == [(recent, "p")]
        assert not any(point_data.orphans(session).values())  # no point or rollup left behind
        with pytest.raises(NotFound, match=f"no run with id {old!r}"):
            run_store.get_run(session, run_id=old)


def test_purge_refuses_runs_outside_the_trash_before_deleting_anything(
    factory: sessionmaker[Session],
) -> None:
    inside, outside = _make(factory, "p", 2)
    with session_scope(factory) as session:
        trash.trash_runs(session, run_ids=[inside])
    with session_scope(factory) as session, pytest.raises(InvalidInput, match="not in the trash"):
        trash.purge_trash(session, run_ids=[inside, outside])
    with session_scope(factory) as session:
        assert run_store.get_run(session, run_id=inside).deleted_at is not None
        assert len(point_data.list_series(session, run_id=outside)) == 1
