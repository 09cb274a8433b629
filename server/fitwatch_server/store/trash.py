"""The trash: runs moved there are hidden from listings until restored or purged (issue 11).

A run in the trash keeps every point (`runs.deleted_at` is set, nothing else changes), so a
restore is instant and exact. Purging deletes runs for good, their point data through
`store.point_data` (the one owner of those tables).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fitwatch_server import models
from fitwatch_server.errors import InvalidInput, NotFound
from fitwatch_server.store import point_data
from fitwatch_server.store.runs import utcnow


def _require_runs(session: Session, run_ids: list[str]) -> dict[str, models.Run]:
    """Every run asked for, or NotFound naming the first missing one (nothing is changed)."""
    wanted = list(dict.fromkeys(run_ids))
    found = {
        r.id: r
        for r in session.scalars(select(models.Run).where(models.Run.id.in_(wanted))).unique()
    }
    for run_id in wanted:
        if run_id not in found:
            raise NotFound(f"no run with id {run_id!r}")
    return {run_id: found[run_id] for run_id in wanted}


def trash_runs(session: Session, *, run_ids: list[str]) -> list[models.Run]:
    """Move runs to the trash; runs already there keep their time. Raises NotFound."""
    runs = _require_runs(session, run_ids)
    now = utcnow()
    for run in runs.values():
        if run.deleted_at is None:
            run.deleted_at = now
    session.flush()
    return list(runs.values())


def restore_runs(session: Session, *, run_ids: list[str]) -> list[models.Run]:
    """Take runs out of the trash; a run not in it is left as it is (a retry is harmless).
    Raises NotFound."""
    runs = _require_runs(session, run_ids)
    for run in runs.values():
        run.deleted_at = None
    session.flush()
    return list(runs.values())


def purge_trash(
    session: Session,
    *,
    project: str | None = None,
    run_ids: list[str] | None = None,
    trashed_before: datetime | None = None,
) -> list[tuple[str, str]]:
    """Delete runs in the trash for good: all of them, one project's, the ones listed, or
    those trashed before a time. Returns (run id, project) of each purged run.

    A listed run that is not in the trash is refused (InvalidInput) before anything is
    deleted: purging is only ever of what someone put in the trash.
    """
    query = (
        select(models.Run.id, models.Project.name)
        .join(models.Project, models.Project.id == models.Run.project_id)
        .where(models.Run.deleted_at.is_not(None))
    )
    if project is not None:
        query = query.where(models.Project.name == project)
    if trashed_before is not None:
        query = query.where(models.Run.deleted_at < trashed_before)
    if run_ids is not None:
        listed = _require_runs(session, run_ids)
        for run in listed.values():
            if run.deleted_at is None:
                raise InvalidInput(
                    f"run {run.id!r} is not in the trash; move it there before purging it"
                )
        query = query.where(models.Run.id.in_(list(listed)))
    found = [(str(run_id), str(name)) for run_id, name in session.execute(query).all()]
    delete_runs(session, run_ids=[run_id for run_id, _ in found])
    return found


def delete_runs(session: Session, *, run_ids: list[str]) -> None:
    """Delete runs for good with everything derived from them (no check of the trash)."""
    if not run_ids:
        return
    point_data.delete_runs_data(session, run_ids=run_ids)
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        session.execute(delete(models.RunTag).where(models.RunTag.run_id.in_(chunk)))
        session.execute(delete(models.Run).where(models.Run.id.in_(chunk)))


def delete_project(session: Session, *, name: str) -> list[str]:
    """Delete a project with every run in it (in the trash or not), for good.

    Returns the ids of the deleted runs. Raises NotFound for an unknown project.
    """
    project = session.scalar(select(models.Project).where(models.Project.name == name))
    if project is None:
        raise NotFound(f"no project named {name!r}")
    run_ids = list(
        session.scalars(select(models.Run.id).where(models.Run.project_id == project.id))
    )
    delete_runs(session, run_ids=run_ids)
    session.execute(delete(models.Project).where(models.Project.id == project.id))
    return run_ids
