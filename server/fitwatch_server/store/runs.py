"""Projects and runs: create, read, update, delete, heartbeat, and the derived `crashed` status."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fitwatch.names import memorable_name
from fitwatch_server import models, schemas
from fitwatch_server.errors import InvalidInput, NotFound
from fitwatch_server.store import metric_manifest, point_data
from fitwatch_server.store.documents import DocumentLimits, encode_document


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def effective_status(run: models.Run, *, heartbeat_timeout_s: float, now: datetime) -> str:
    """`crashed` when a running run has sent no heartbeat for `heartbeat_timeout_s`."""
    if run.status == "running" and now - _aware(run.heartbeat_at) > timedelta(
        seconds=heartbeat_timeout_s
    ):
        return "crashed"
    return run.status


def run_public(
    run: models.Run,
    *,
    heartbeat_timeout_s: float,
    series: list[models.Series] | None = None,
    now: datetime | None = None,
) -> schemas.RunPublic:
    return schemas.RunPublic(
        id=run.id,
        project=run.project.name,
        name=run.name,
        status=schemas.RunStatus(
            effective_status(run, heartbeat_timeout_s=heartbeat_timeout_s, now=now or utcnow())
        ),
        config=run.config,
        summary=run.summary,
        tags=[t.tag for t in run.tags],
        notes=run.notes,
        created_at=_aware(run.created_at),
        ended_at=_aware(run.ended_at) if run.ended_at else None,
        heartbeat_at=_aware(run.heartbeat_at),
        deleted_at=_aware(run.deleted_at) if run.deleted_at else None,
        series=[point_data.series_public(s) for s in series] if series is not None else None,
        metrics=metric_manifest.metrics_public(run, [s.key for s in series or []]),
    )


def _insert_ignoring_duplicates(
    session: Session, table: Any, row: dict[str, Any], keys: list[str]
) -> bool:
    """`INSERT … ON CONFLICT DO NOTHING`: simultaneous creates of one name never fail (issue 8).

    Returns whether this call inserted the row (a skipped insert returns no row).
    """
    make_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        make_insert(table)
        .values(row)
        .on_conflict_do_nothing(index_elements=keys)
        .returning(*(table.c[key] for key in keys))
    )
    return session.execute(statement).first() is not None


def get_or_create_project(session: Session, *, name: str) -> models.Project:
    _insert_ignoring_duplicates(
        session, models.Project.__table__, {"name": name, "created_at": utcnow()}, ["name"]
    )
    project = session.scalar(select(models.Project).where(models.Project.name == name))
    assert project is not None
    return project


def get_run(session: Session, *, run_id: str) -> models.Run:
    run = session.get(models.Run, run_id)
    if run is None:
        raise NotFound(f"no run with id {run_id!r}")
    return run


def create_run(
    session: Session, *, data: schemas.RunCreate, limits: DocumentLimits = DocumentLimits()
) -> tuple[models.Run, bool]:
    """Create a run; returns (run, created). An existing `data.id` returns that run unchanged.

    A client-chosen id makes the create idempotent, also when the SDK's retry arrives while
    the first request is still running: the second insert is a no-op, not a 500. A config
    over `limits` is refused before anything is written (`store/documents.py`).
    """
    config = encode_document(data.config, what="config", limits=limits)
    project = get_or_create_project(session, name=data.project)
    run_id = data.id or uuid.uuid4().hex
    now = utcnow()
    created = _insert_ignoring_duplicates(
        session,
        models.Run.__table__,
        {
            "id": run_id, "project_id": project.id, "name": data.name or memorable_name(),
            "status": "running", "config": config, "summary": {}, "notes": data.notes,
            "created_at": now, "heartbeat_at": now,
        },
        ["id"],
    )
    if created and data.tags:
        session.execute(
            insert(models.RunTag), [{"run_id": run_id, "tag": t} for t in dict.fromkeys(data.tags)]
        )
    run = get_run(session, run_id=run_id)
    if not created and run.project.name != data.project:
        raise InvalidInput(
            f"run {run_id!r} already exists in project {run.project.name!r}, not {data.project!r}"
        )
    return run, created


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    merged.update(update)
    return merged


def update_run(
    session: Session,
    *,
    run_id: str,
    data: schemas.RunUpdate,
    limits: DocumentLimits = DocumentLimits(),
) -> models.Run:
    """Apply an update; summary and config are merged, and the merged document must stay
    within `limits` (checked before anything changes)."""
    # Locked (PostgreSQL; SQLite's write lock is taken already) and read afresh: the merges
    # read, then write the documents, and two PATCHes at once each merged into the summary
    # they read, so the later commit dropped the earlier one's keys (both answered 200).
    # The lock on its own statement: `session.get(..., with_for_update=...)` joins the run's
    # project eagerly, and PostgreSQL takes no row lock on the nullable side of an outer join.
    session.execute(
        select(models.Run.id).where(models.Run.id == run_id).with_for_update(key_share=True)
    )
    run = session.get(models.Run, run_id, populate_existing=True)
    if run is None:
        raise NotFound(f"no run with id {run_id!r}")
    summary = config = None
    if data.summary is not None:
        summary = encode_document(_merge(run.summary, data.summary), what="summary", limits=limits)
    if data.config is not None:
        config = encode_document(_merge(run.config, data.config), what="config", limits=limits)
    if data.name is not None:
        run.name = data.name
    if data.project is not None and data.project != run.project.name:
        run.project = get_or_create_project(session, name=data.project)
    if data.notes is not None:
        run.notes = data.notes
    if summary is not None:
        run.summary = summary
    if config is not None:
        run.config = config
    if data.tags is not None:
        run.tags = [models.RunTag(tag=t) for t in dict.fromkeys(data.tags)]
    if data.metrics is not None:
        metric_manifest.merge_manifest(session, run=run, entries=data.metrics)
    if data.status is not None:
        run.status = data.status.value
        if data.status is schemas.RunStatus.running:
            run.ended_at = None
            run.heartbeat_at = utcnow()
        elif run.ended_at is None:
            run.ended_at = utcnow()
    session.flush()
    return run


def delete_run(session: Session, *, run_id: str) -> point_data.Freed:
    """Delete a run with everything derived from it; raises NotFound. Returns what it freed."""
    freed = point_data.delete_run_data(session, run_id=run_id)
    session.execute(delete(models.Run).where(models.Run.id == run_id))
    return freed


def lock_run_if_inactive(session: Session, *, run_id: str, cutoff: datetime) -> bool:
    """Lock a run for deleting (`FOR UPDATE`, as a delete does) if it exists and its last
    activity is before `cutoff`; False otherwise (gone, or touched since it was chosen)."""
    heartbeat_at = session.scalar(
        select(models.Run.heartbeat_at).where(models.Run.id == run_id).with_for_update()
    )
    return heartbeat_at is not None and _aware(heartbeat_at) < cutoff


def heartbeat(session: Session, *, run_id: str) -> models.Run:
    run = get_run(session, run_id=run_id)
    run.heartbeat_at = utcnow()
    session.flush()
    return run


def list_projects(session: Session) -> list[schemas.ProjectPublic]:
    live = models.Run.deleted_at.is_(None)
    rows = session.execute(
        select(
            models.Project.name,
            func.count(models.Run.id).filter(live),
            func.max(models.Run.created_at).filter(live),
            func.count(models.Run.id).filter(models.Run.deleted_at.is_not(None)),
        )
        .outerjoin(models.Run, models.Run.project_id == models.Project.id)
        .group_by(models.Project.id, models.Project.name)
        .order_by(models.Project.name)
    ).all()
    return [
        schemas.ProjectPublic(
            name=name, run_count=count, last_run_at=_aware(last) if last else None, trashed_count=trashed
        )
        for name, count, last, trashed in rows
    ]


def projects_of_runs(session: Session, *, run_ids: list[str]) -> dict[str, str]:
    """run id -> project name, for the runs that exist (access checks of bound tokens)."""
    if not run_ids:
        return {}
    rows = session.execute(
        select(models.Run.id, models.Project.name)
        .join(models.Project, models.Project.id == models.Run.project_id)
        .where(models.Run.id.in_(run_ids))
    ).all()
    return {str(run_id): str(project) for run_id, project in rows}


def require_runs(session: Session, *, run_ids: list[str]) -> dict[str, str]:
    """run id -> project name for every one of `run_ids`, in one query (not a `get_run` per
    id, which loads each run whole); NotFound names the first id that does not exist."""
    found = projects_of_runs(session, run_ids=run_ids)
    for run_id in run_ids:
        if run_id not in found:
            raise NotFound(f"no run with id {run_id!r}")
    return found
