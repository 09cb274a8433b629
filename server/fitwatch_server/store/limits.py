"""Ceilings on what one caller can make the server hold: points per request, series per run,
runs per project (`Settings.max_*`; 0 means no ceiling). Each refusal names its limit.

Series per run is checked by the ingest writer inside its transaction, with the run locked
(`point_data/ingest.py`), so it is exact. Runs per project is read in the creating
transaction: two concurrent creates can each pass it and overshoot the ceiling by one each;
that ceiling bounds growth, it is not an exact quota.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fitwatch_server import models, schemas
from fitwatch_server.errors import LimitExceeded, PayloadTooLarge


def check_points_per_request(batch: schemas.PointBatchIn, *, limit: int) -> None:
    if limit <= 0:
        return
    total = sum(len(s.steps) for s in batch.series)
    if total > limit:
        raise PayloadTooLarge(
            f"this request carries {total} points; the limit is {limit} points per request "
            "(FITWATCH_MAX_POINTS_PER_REQUEST): send smaller batches"
        )


def check_series_ceiling(
    run_id: str, stored: set[tuple[str, str]], batch: schemas.PointBatchIn, *, limit: int
) -> set[tuple[str, str]]:
    """The series `batch` would add to `stored`; raises LimitExceeded past the ceiling."""
    new = {(s.key, s.scope.value) for s in batch.series} - stored
    if limit > 0 and new and len(stored) + len(new) > limit:
        raise LimitExceeded(
            f"run {run_id!r} has {len(stored)} series and this request would add {len(new)}; the "
            f"limit is {limit} series per run (FITWATCH_MAX_SERIES_PER_RUN)"
        )
    return new


def check_new_run(session: Session, *, project: str, run_id: str | None, limit: int) -> None:
    if limit <= 0:
        return
    if run_id is not None and session.get(models.Run, run_id) is not None:
        return  # an idempotent re-create adds nothing
    count = session.scalar(
        select(func.count())
        .select_from(models.Run)
        .join(models.Project, models.Project.id == models.Run.project_id)
        .where(models.Project.name == project)
    ) or 0
    if count >= limit:
        raise LimitExceeded(
            f"project {project!r} has {count} runs; the limit is {limit} runs per project "
            "(FITWATCH_MAX_RUNS_PER_PROJECT): delete old runs or use another project"
        )
