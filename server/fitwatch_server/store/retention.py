"""Retention: delete runs whose last activity is older than a cutoff (issue 13).

A run's last activity is its `heartbeat_at`, which every ingest, heartbeat and update moves
forward, so a long run that is still logging is never purged for having started long ago.
Runs go in small transactions (`PURGE_RUNS_PER_TRANSACTION`), each deleted through
`runs.delete_run` (and so through `point_data/deletes.py`, under the run's lock); a run that
an ingest touched after it was chosen is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fitwatch_server import models
from fitwatch_server.store import runs as run_store

# Small enough that a purge never holds many run locks (or a long transaction) at once.
PURGE_RUNS_PER_TRANSACTION = 50


@dataclass(slots=True)
class Purged:
    """Runs deleted by one `purge_runs` call (by id, with their project), and what they freed."""

    runs: dict[str, str] = field(default_factory=dict)
    series: int = 0
    points: int = 0


def purge_runs(
    session: Session,
    *,
    cutoff: datetime,
    project: str | None = None,
    limit: int = PURGE_RUNS_PER_TRANSACTION,
) -> Purged:
    """Delete up to `limit` runs (of `project`, else of any) last active before `cutoff`.

    Call again in a new transaction until it returns no runs. Runs are taken in id order, the
    order ingests lock them in, so a purge and an ingest can never deadlock.
    """
    query = (
        select(models.Run.id, models.Project.name)
        .join(models.Project, models.Run.project_id == models.Project.id)
        .where(models.Run.heartbeat_at < cutoff)
        .order_by(models.Run.id)
        .limit(limit)
    )
    if project is not None:
        query = query.where(models.Project.name == project)
    purged = Purged()
    for run_id, project_name in session.execute(query).all():
        # Locked and re-checked: an ingest may have touched the run since it was chosen.
        if not run_store.lock_run_if_inactive(session, run_id=run_id, cutoff=cutoff):
            continue
        freed = run_store.delete_run(session, run_id=run_id)
        purged.runs[run_id] = project_name
        purged.series += freed.series
        purged.points += freed.points
    return purged
