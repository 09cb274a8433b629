"""Database reads of the live hub: resume replays, notified step ranges, series summaries, runs.

Synchronous functions over a sessionmaker (called on a worker thread with
`run_in_threadpool`); they only read, through the store, and return plain values.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fitwatch.scopes import carries_epochs
from fitwatch_server import models, schemas
from fitwatch_server.db import session_scope
from fitwatch_server.errors import NotFound
from fitwatch_server.store import layouts, point_data
from fitwatch_server.store import runs as run_store

# (step, value, wall_time, epoch), sorted by step; NaN as float NaN.
Rows = list[tuple[int, float, float, int | None]]


def _rows(points: schemas.SeriesPointsPublic) -> Rows:
    epochs: Iterable[int | None] = (
        points.epochs if points.epochs is not None else [None] * len(points.steps)
    )
    return list(zip(points.steps, points.values, points.times, epochs, strict=True))


_has_epochs = carries_epochs


def read_replay(
    factory: sessionmaker[Session], *, run_id: str, last_steps: dict[tuple[str, str], int]
) -> list[tuple[str, str, Rows, bool]]:
    """What a resuming client missed: per series of the run (key, scope, rows, has_epochs).

    Series listed in `last_steps` start after that step; the run's other series are read
    whole, since the client never saw them.
    """
    found = []
    with session_scope(factory) as session:
        for series in point_data.list_series(session, run_id=run_id):
            last = last_steps.get((series.key, series.scope))
            if last is not None and last >= series.last_step:
                continue
            start = None if last is None else last + 1
            points = point_data.read_points(session, series=series, start=start)
            rows = _rows(points)
            if rows:
                found.append((series.key, series.scope, rows, _has_epochs(series.scope)))
    return found


def read_ranges(
    factory: sessionmaker[Session], *, run_id: str, ranges: list[tuple[str, str, int, int]]
) -> list[tuple[str, str, Rows, bool]]:
    """Points of (key, scope, first_step, last_step) ranges named in a notice from another worker."""
    found = []
    with session_scope(factory) as session:
        for key, scope, first, last in ranges:
            try:
                series = point_data.get_series(session, run_id=run_id, key=key, scope=scope)
            except NotFound:
                continue  # deleted since: nothing to send
            rows = _rows(point_data.read_points(session, series=series, start=first, end=last))
            if rows:
                found.append((key, scope, rows, _has_epochs(scope)))
    return found


def read_summaries(
    factory: sessionmaker[Session], *, run_id: str, keys: set[tuple[str, str]]
) -> tuple[str, list[schemas.SeriesPublic]] | None:
    """The run's project and the summaries of the given series; None if the run is gone."""
    with session_scope(factory) as session:
        project = session.scalar(
            select(models.Project.name)
            .join(models.Run, models.Run.project_id == models.Project.id)
            .where(models.Run.id == run_id)
        )
        if project is None:
            return None
        series = [
            point_data.series_public(s)
            for s in point_data.list_series(session, run_id=run_id)
            if (s.key, s.scope) in keys
        ]
        return project, series


def read_run(
    factory: sessionmaker[Session], *, run_id: str, heartbeat_timeout_s: float
) -> schemas.RunPublic | None:
    with session_scope(factory) as session:
        try:
            run = run_store.get_run(session, run_id=run_id)
        except NotFound:
            return None
        return run_store.run_public(run, heartbeat_timeout_s=heartbeat_timeout_s)


def unknown_runs(factory: sessionmaker[Session], *, run_ids: list[str]) -> list[str]:
    """Which of `run_ids` do not exist (yet)."""
    if not run_ids:
        return []
    with session_scope(factory) as session:
        known = set(session.scalars(select(models.Run.id).where(models.Run.id.in_(run_ids))))
    return sorted(set(run_ids) - known)


def read_running_runs(
    factory: sessionmaker[Session], *, run_ids: set[str], projects: set[str], heartbeat_timeout_s: float
) -> list[schemas.RunPublic]:
    """Runs stored as `running` (so possibly `crashed` by now) among these runs and projects."""
    if not run_ids and not projects:
        return []
    with session_scope(factory) as session:
        query = (
            select(models.Run)
            .join(models.Project, models.Run.project_id == models.Project.id)
            .where(models.Run.status == "running")
            .where(models.Run.id.in_(run_ids) | models.Project.name.in_(projects))
        )
        return [
            run_store.run_public(run, heartbeat_timeout_s=heartbeat_timeout_s)
            for run in session.scalars(query)
        ]


def read_layout(
    factory: sessionmaker[Session], *, project: str, page: str
) -> schemas.ProjectLayoutPublic | None:
    """A project's saved chart layout (a notice too large to carry it), or None if the
    project is gone meanwhile."""
    with session_scope(factory) as session:
        try:
            return layouts.read_layout(session, project=project, page=schemas.LayoutPage(page))
        except NotFound:
            return None
