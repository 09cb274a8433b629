"""The trash: list the runs in it, move runs in, restore them, purge them for good (issue 11)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session, sessionmaker

from fitwatch_server import models, schemas
from fitwatch_server.api.deps import (
    ADMIN_ONLY,
    HubDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    WriteSessionmakerDep,
    in_transaction,
)
from fitwatch_server.api.routes.runs import (
    FilterQuery,
    IncludeQuery,
    LimitQuery,
    OffsetQuery,
    SortQuery,
    runs_page,
)
from fitwatch_server.auth.principal import Principal
from fitwatch_server.errors import InvalidInput
from fitwatch_server.live.hub import Hub
from fitwatch_server.schemas import MAX_RUNS_PER_REQUEST, RUN_ID_PATTERN
from fitwatch_server.settings import Settings
from fitwatch_server.store import runs as run_store
from fitwatch_server.store import trash as trash_store

router = APIRouter(prefix="/trash", tags=["trash"])


def _require_visible(session: Session, principal: Principal, run_ids: list[str]) -> None:
    """A run of a project the caller may not see is, to it, a run that does not exist."""
    if principal.project is None:
        return
    found = run_store.projects_of_runs(session, run_ids=run_ids)
    for run_id in run_ids:
        principal.require_run(run_id, found.get(run_id))


@router.get("", response_model=schemas.RunsPublic)
def list_trash(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    project: str | None = None,
    filter: FilterQuery = "",
    sort: SortQuery = "-deleted_at",
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
    include: IncludeQuery = "",
) -> schemas.RunsPublic:
    """The runs in the trash, searched, sorted and paginated like GET /runs."""
    return runs_page(
        session,
        settings=settings,
        principal=principal,
        project=project,
        filter_text=filter,
        sort=sort,
        limit=limit,
        offset=offset,
        include=include,
        trashed=True,
    )


async def _change_runs(
    change: Callable[..., list[models.Run]],  # trash_store.trash_runs or restore_runs
    run_ids: list[str],
    *,
    factory: sessionmaker[Session],
    settings: Settings,
    hub: Hub,
    principal: Principal,
) -> schemas.RunIdsPublic:
    """Apply a trash change to runs the caller may see (all or none), then tell the pages."""

    def work(session: Session) -> list[schemas.RunPublic]:
        _require_visible(session, principal, run_ids)
        runs = change(session, run_ids=run_ids)
        return [
            run_store.run_public(r, heartbeat_timeout_s=settings.heartbeat_timeout_s) for r in runs
        ]

    public = await in_transaction(factory, work)
    for run in public:
        await hub.publish_run(run)
    return schemas.RunIdsPublic(runs=[r.id for r in public])


@router.post("", response_model=schemas.RunIdsPublic, dependencies=[ADMIN_ONLY])
async def trash_runs(
    data: schemas.RunIdsIn,
    factory: WriteSessionmakerDep,
    settings: SettingsDep,
    hub: HubDep,
    principal: PrincipalDep,
) -> schemas.RunIdsPublic:
    """Move runs to the trash (all or none: an unknown id changes nothing)."""
    return await _change_runs(
        trash_store.trash_runs, data.runs, factory=factory, settings=settings, hub=hub, principal=principal
    )


@router.post("/restore", response_model=schemas.RunIdsPublic, dependencies=[ADMIN_ONLY])
async def restore_runs(
    data: schemas.RunIdsIn,
    factory: WriteSessionmakerDep,
    settings: SettingsDep,
    hub: HubDep,
    principal: PrincipalDep,
) -> schemas.RunIdsPublic:
    """Take runs out of the trash, as they were."""
    return await _change_runs(
        trash_store.restore_runs, data.runs, factory=factory, settings=settings, hub=hub, principal=principal
    )


def _run_ids(text: str) -> list[str] | None:
    if not text:
        return None
    ids = [part.strip() for part in text.split(",") if part.strip()]
    for run_id in ids:
        if not RUN_ID_PATTERN.match(run_id):
            raise InvalidInput(
                f"runs is a comma-separated list of run ids. Received: {run_id[:80]!r}"
            )
    if len(ids) > MAX_RUNS_PER_REQUEST:
        raise InvalidInput(f"at most {MAX_RUNS_PER_REQUEST} runs per request. Received: {len(ids)}")
    return ids


@router.delete("", response_model=schemas.RunIdsPublic)
async def purge_trash(
    factory: WriteSessionmakerDep,
    hub: HubDep,
    principal: PrincipalDep,
    project: str | None = None,
    runs: Annotated[
        str, Query(description="comma-separated run ids; empty: every run in the trash")
    ] = "",
) -> schemas.RunIdsPublic:
    """Empty the trash: delete its runs for good (all, one project's, or the ones listed)."""
    run_ids = _run_ids(runs)
    scope = principal.project_filter(project)

    def work(session: Session) -> list[tuple[str, str]]:
        if run_ids is not None:
            _require_visible(session, principal, run_ids)
        return trash_store.purge_trash(session, project=scope, run_ids=run_ids)

    purged = await in_transaction(factory, work)
    for run_id, project_name in purged:
        await hub.publish_run_deleted(run_id, project_name)
    return schemas.RunIdsPublic(runs=[run_id for run_id, _ in purged])
