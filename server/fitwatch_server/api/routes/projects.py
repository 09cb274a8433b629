"""Projects: the named groups of runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from fitwatch_server import schemas
from fitwatch_server.api.deps import (
    HubDep,
    PrincipalDep,
    SessionDep,
    WriteSessionmakerDep,
    in_transaction,
)
from fitwatch_server.errors import NotFound
from fitwatch_server.store import layouts
from fitwatch_server.store import trash as trash_store
from fitwatch_server.store.runs import list_projects

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get("", response_model=schemas.ProjectsPublic)
def get_projects(session: SessionDep, principal: PrincipalDep) -> schemas.ProjectsPublic:
    """Every project with its run count and latest run time."""
    return schemas.ProjectsPublic(projects=[p for p in list_projects(session) if principal.sees(p.name)])


@router.delete("/{project}", response_model=schemas.RunIdsPublic)
async def delete_project(
    project: str, factory: WriteSessionmakerDep, hub: HubDep, principal: PrincipalDep
) -> schemas.RunIdsPublic:
    """Delete a project with every run in it (trash included), for good; lists the runs deleted."""
    if not principal.sees(project):
        raise NotFound(f"no project named {project!r}")

    def work(session: Session) -> list[str]:
        return trash_store.delete_project(session, name=project)

    run_ids = await in_transaction(factory, work)
    for run_id in run_ids:
        await hub.publish_run_deleted(run_id, project)
    return schemas.RunIdsPublic(runs=run_ids)


PageQuery = Annotated[schemas.LayoutPage, Query(description="the page kind: run or compare")]


@router.get("/{project}/layout", response_model=schemas.ProjectLayoutPublic)
def get_layout(
    project: str,
    session: SessionDep,
    principal: PrincipalDep,
    page: PageQuery = schemas.LayoutPage.run,
) -> schemas.ProjectLayoutPublic:
    """The chart layout a project's pages of that kind share (empty if never saved)."""
    if not principal.sees(project):
        raise NotFound(f"no project named {project!r}")
    return layouts.read_layout(session, project=project, page=page)


@router.put("/{project}/layout", response_model=schemas.ProjectLayoutPublic)
async def put_layout(
    project: str,
    document: schemas.LayoutDocument,
    factory: WriteSessionmakerDep,
    hub: HubDep,
    principal: PrincipalDep,
    page: PageQuery = schemas.LayoutPage.run,
) -> schemas.ProjectLayoutPublic:
    """Replace the chart layout of a page kind of the project; open pages of it follow live."""
    if not principal.sees(project):
        raise NotFound(f"no project named {project!r}")

    def work(session: Session) -> schemas.ProjectLayoutPublic:
        return layouts.save_layout(session, project=project, page=page, document=document)

    saved = await in_transaction(factory, work)
    await hub.publish_layout(saved)
    return saved
