"""Runs: create, search, read, update, delete, heartbeat."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from fitwatch_server import schemas
from fitwatch_server.api.deps import (
    HubDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    WriteSessionmakerDep,
    in_transaction,
)
from fitwatch_server.auth.principal import Principal
from fitwatch_server.errors import Conflict, InvalidInput
from fitwatch_server.models import BIGINT_MAX
from fitwatch_server.settings import Settings
from fitwatch_server.store import limits, point_data, run_groups, search
from fitwatch_server.store import runs as run_store
from fitwatch_server.store.documents import DocumentLimits

router = APIRouter(prefix="/runs", tags=["runs"])


def _document_limits(settings: Settings) -> DocumentLimits:
    return DocumentLimits(
        max_depth=settings.max_document_depth, max_bytes=settings.max_document_bytes
    )


@router.post("", status_code=201, response_model=schemas.RunPublic)
async def create_run(
    data: schemas.RunCreate,
    response: Response,
    factory: WriteSessionmakerDep,
    settings: SettingsDep,
    hub: HubDep,
    principal: PrincipalDep,
) -> schemas.RunPublic:
    """Create a run (idempotent when the client chooses its id)."""
    principal.require_project(data.project, "create runs in")

    def work(session: Session) -> tuple[schemas.RunPublic, bool]:
        if data.id is not None and principal.project is not None:
            found = run_store.projects_of_runs(session, run_ids=[data.id]).get(data.id)
            if found is not None and not principal.sees(found):
                # Say the id is taken, never where: the other project stays invisible.
                raise Conflict(f"the run id {data.id!r} is taken; choose another id")
        limits.check_new_run(session, project=data.project, run_id=data.id, limit=settings.max_runs_per_project)
        run, created = run_store.create_run(session, data=data, limits=_document_limits(settings))
        return run_store.run_public(run, heartbeat_timeout_s=settings.heartbeat_timeout_s), created

    public, created = await in_transaction(factory, work)
    if created:
        await hub.publish_run(public)
    else:
        response.status_code = 200
    return public


def runs_page(
    session: Session,
    *,
    settings: Settings,
    principal: Principal,
    project: str | None,
    filter_text: str,
    sort: str,
    limit: int,
    offset: int,
    include: str,
    trashed: bool,
    group_by: run_groups.GroupBy | None = None,
) -> schemas.RunsPublic | schemas.RunsGroupedPublic:
    """One page of runs (outside the trash, or in it) with their series if asked, and with
    `group_by` the groups they fall into (InvalidInput unless the page holds every match)."""
    runs, total = search.search_runs(
        session,
        project=principal.project_filter(project),
        filter_text=filter_text,
        sort=sort,
        limit=limit,
        offset=offset,
        heartbeat_timeout_s=settings.heartbeat_timeout_s,
        trashed=trashed,
    )
    by_run = (
        point_data.series_by_run(session, run_ids=[r.id for r in runs])
        if include == "series"
        else {}
    )
    public = [
        run_store.run_public(r, heartbeat_timeout_s=settings.heartbeat_timeout_s, series=by_run.get(r.id))
        for r in runs
    ]
    if group_by is None:
        return schemas.RunsPublic(runs=public, total=total)
    # A group's figures are over all of its runs, so the page must hold every match.
    if offset > 0 or total > len(runs):
        raise InvalidInput(
            f"group_by needs every matching run in one page: the filter matches {total} runs, "
            f"this page holds {len(runs)} from offset {offset}; raise limit (at most "
            f"{search.MAX_LIMIT}) or narrow the filter"
        )
    groups = [
        schemas.RunGroupMembers(label=g.label, values=g.values, run_ids=g.run_ids)
        for g in run_groups.group_runs(runs, group_by)
    ]
    return schemas.RunsGroupedPublic(runs=public, total=total, group_by=group_by.text, groups=groups)


FilterQuery = Annotated[str, Query(description="filter expression, see docs/api.md")]
SortQuery = Annotated[str, Query(description="comma-separated fields, '-' for descending")]
LimitQuery = Annotated[int, Query(ge=1, le=search.MAX_LIMIT)]
OffsetQuery = Annotated[int, Query(ge=0, le=BIGINT_MAX)]
IncludeQuery = Annotated[str, Query(pattern="^(|series)$")]


@router.get("", response_model=schemas.RunsGroupedPublic | schemas.RunsPublic)
def list_runs(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    project: str | None = None,
    filter: FilterQuery = "",
    sort: SortQuery = "-created_at",
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
    include: IncludeQuery = "",
    group_by: Annotated[
        str, Query(description="group the runs as /series/groups does (config.lr, -config.seed, tags...)")
    ] = "",
) -> schemas.RunsPublic | schemas.RunsGroupedPublic:
    """Search runs (outside the trash) with the filter language, sorted and paginated.

    With `group_by`, also the groups the runs fall into (the grouping of the bands): then the
    page must hold every matching run, so that a group's figures are over all its runs.
    """
    return runs_page(
        session, settings=settings, principal=principal, project=project, filter_text=filter,
        sort=sort, limit=limit, offset=offset, include=include, trashed=False,
        group_by=run_groups.parse_group_by(group_by) if group_by.strip() else None,
    )


@router.get("/{run_id}", response_model=schemas.RunPublic)
def get_run(run_id: str, session: SessionDep, settings: SettingsDep) -> schemas.RunPublic:
    """One run with its series summaries."""
    run = run_store.get_run(session, run_id=run_id)
    return run_store.run_public(
        run,
        heartbeat_timeout_s=settings.heartbeat_timeout_s,
        series=point_data.list_series(session, run_id=run_id),
    )


@router.patch("/{run_id}", response_model=schemas.RunPublic)
async def update_run(
    run_id: str,
    data: schemas.RunUpdate,
    factory: WriteSessionmakerDep,
    settings: SettingsDep,
    hub: HubDep,
    principal: PrincipalDep,
) -> schemas.RunPublic:
    """Update status, name, notes, tags, project (a move); merge into summary and config."""
    if data.project is not None:
        principal.require_project(data.project, "move runs to")

    def work(session: Session) -> tuple[schemas.RunPublic, str]:
        previous = run_store.get_run(session, run_id=run_id).project.name
        run = run_store.update_run(session, run_id=run_id, data=data, limits=_document_limits(settings))
        return run_store.run_public(run, heartbeat_timeout_s=settings.heartbeat_timeout_s), previous

    public, previous = await in_transaction(factory, work)
    # A moved run leaves its old project's pages too (they drop the row).
    await hub.publish_run(public, previous_project=previous if previous != public.project else None)
    return public


@router.delete("/{run_id}", status_code=204)
async def delete_run(run_id: str, factory: WriteSessionmakerDep, hub: HubDep) -> None:
    """Delete a run for good with all its series and points (the page uses the trash first)."""

    def work(session: Session) -> str:
        project = run_store.get_run(session, run_id=run_id).project.name
        run_store.delete_run(session, run_id=run_id)
        return project

    project = await in_transaction(factory, work)
    await hub.publish_run_deleted(run_id, project)


@router.post("/{run_id}/heartbeat", status_code=204)
async def heartbeat(run_id: str, factory: WriteSessionmakerDep) -> None:
    """Tell the server the run is alive (a running run without heartbeats becomes `crashed`)."""

    def work(session: Session) -> None:
        run_store.heartbeat(session, run_id=run_id)

    await in_transaction(factory, work)
