"""The live hub's interface as the REST routes use it (publish after commit)."""

from __future__ import annotations

from fitwatch_server import schemas


class Hub:
    """Receives committed changes; the websocket layer subscribes to it."""

    async def publish_points(self, run_id: str, batch: schemas.PointBatchIn) -> None:
        """Called after an ingest transaction committed."""

    async def publish_run(self, run: schemas.RunPublic) -> None:
        """Called after a run was created or changed."""

    async def publish_run_deleted(self, run_id: str, project: str) -> None:
        """Called after a run was deleted."""

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
