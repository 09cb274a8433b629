"""Admin operations: retention (purge old runs)."""

from __future__ import annotations

from fastapi import APIRouter

from fitwatch_server import schemas
from fitwatch_server.api import retention
from fitwatch_server.api.deps import ADMIN_ONLY, HubDep, PrincipalDep, WriteSessionmakerDep

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[ADMIN_ONLY])


@router.post("/purge", response_model=schemas.PurgeResult)
async def purge_runs(
    data: schemas.PurgeRequest, factory: WriteSessionmakerDep, hub: HubDep, principal: PrincipalDep
) -> schemas.PurgeResult:
    """Delete the runs with no activity for `older_than_days` (of one project, or all)."""
    if data.project is None:
        principal.require_every_project("purging runs of every project")
    else:
        principal.require_project(data.project, "purge runs of")
    return await retention.purge(
        factory, hub, older_than_days=data.older_than_days, project=data.project
    )
