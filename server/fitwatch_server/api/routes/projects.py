"""Projects: the named groups of runs."""

from __future__ import annotations

from fastapi import APIRouter

from fitwatch_server import schemas
from fitwatch_server.api.deps import PrincipalDep, SessionDep
from fitwatch_server.store.runs import list_projects

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get("", response_model=schemas.ProjectsPublic)
def get_projects(session: SessionDep, principal: PrincipalDep) -> schemas.ProjectsPublic:
    """Every project with its run count and latest run time."""
    return schemas.ProjectsPublic(projects=[p for p in list_projects(session) if principal.sees(p.name)])
