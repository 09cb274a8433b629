"""Retention as the server runs it: a purge in small transactions, each followed by the live
`run_deleted` messages, on request (`POST /api/v1/admin/purge`) or on a schedule
(`FITWATCH_PURGE_OLDER_THAN_DAYS`, every `FITWATCH_PURGE_INTERVAL_S`)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from fitwatch_server import schemas
from fitwatch_server.api.deps import in_transaction
from fitwatch_server.live.hub import Hub
from fitwatch_server.settings import Settings
from fitwatch_server.store import retention

logger = logging.getLogger(__name__)


async def purge(
    factory: sessionmaker[Session], hub: Hub, *, older_than_days: float, project: str | None
) -> schemas.PurgeResult:
    """Delete every run last active more than `older_than_days` ago; returns what it freed."""
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    result = schemas.PurgeResult(cutoff=cutoff, runs=0, series=0, points=0, run_ids=[])
    while True:
        purged = await in_transaction(
            factory, lambda session: retention.purge_runs(session, cutoff=cutoff, project=project)
        )
        if not purged.runs:
            return result
        for run_id, run_project in purged.runs.items():
            await hub.publish_run_deleted(run_id, run_project)
        result.runs += len(purged.runs)
        result.series += purged.series
        result.points += purged.points
        result.run_ids += purged.runs


async def purge_periodically(settings: Settings, factory: sessionmaker[Session], hub: Hub) -> None:
    """The scheduled purge: first at start, then every `purge_interval_s`. Several replicas
    may run it at once; a run is deleted by whichever locks it first, the others skip it."""
    while True:
        try:
            result = await purge(
                factory, hub, older_than_days=settings.purge_older_than_days, project=None
            )
            if result.runs:
                logger.info(
                    "retention: purged %d runs last active before %s (%d series, %d points)",
                    result.runs,
                    result.cutoff.isoformat(timespec="seconds"),
                    result.series,
                    result.points,
                )
        except Exception:  # noqa: BLE001 - a failed purge must not stop the next one
            logger.exception(
                "retention: the scheduled purge failed; trying again in %.0f s",
                settings.purge_interval_s,
            )
        await asyncio.sleep(settings.purge_interval_s)
