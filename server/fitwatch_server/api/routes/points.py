"""Point ingest: one request, one transaction, then publish to live subscribers."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from fitwatch_server import schemas
from fitwatch_server.api.deps import HubDep, SessionmakerDep, in_transaction
from fitwatch_server.store.points import ingest_points

router = APIRouter(prefix="/runs", tags=["points"])


@router.post("/{run_id}/points", response_model=schemas.IngestResult)
async def post_points(
    run_id: str, batch: schemas.PointBatchIn, factory: SessionmakerDep, hub: HubDep
) -> schemas.IngestResult:
    """Store points of many series of one run; resending a batch is a no-op."""

    def work(session: Session) -> schemas.IngestResult:
        return ingest_points(session, run_id=run_id, batch=batch)

    result = await in_transaction(factory, work)
    await hub.publish_points(run_id, batch)
    return result
