"""Chart layouts saved per project and page kind (issue 11): which charts a project's run
or compare pages show, in which order, and which are hidden.

One row per (project, page) in `project_layouts`; a project's layouts go when the project
is deleted (the foreign key cascades). A project that never saved one reads as the empty
layout, so a page keeps its own order until someone changes it.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fitwatch_server import models, schemas
from fitwatch_server.errors import NotFound, PayloadTooLarge
from fitwatch_server.store.runs import utcnow


def _project(session: Session, name: str) -> models.Project:
    project = session.scalar(select(models.Project).where(models.Project.name == name))
    if project is None:
        raise NotFound(f"no project named {name!r}")
    return project


def _public(
    name: str, page: schemas.LayoutPage, row: models.ProjectLayout | None
) -> schemas.ProjectLayoutPublic:
    if row is None:
        return schemas.ProjectLayoutPublic(project=name, page=page, updated_at=None)
    return schemas.ProjectLayoutPublic(
        project=name, page=page, updated_at=row.updated_at, **row.document
    )


def read_layout(
    session: Session, *, project: str, page: schemas.LayoutPage
) -> schemas.ProjectLayoutPublic:
    """The saved layout, or the empty one if none was saved. Raises NotFound (project)."""
    found = _project(session, project)
    return _public(project, page, session.get(models.ProjectLayout, (found.id, page.value)))


def save_layout(
    session: Session,
    *,
    project: str,
    page: schemas.LayoutPage,
    document: schemas.LayoutDocument,
) -> schemas.ProjectLayoutPublic:
    """Replace the layout of one page kind of a project (the last write wins).

    Raises NotFound (project) and PayloadTooLarge (over `schemas.MAX_LAYOUT_BYTES`).
    """
    data = document.model_dump(mode="json")
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    if size > schemas.MAX_LAYOUT_BYTES:
        raise PayloadTooLarge(
            f"a layout takes at most {schemas.MAX_LAYOUT_BYTES} bytes as compact JSON; "
            f"this one takes {size}: name fewer charts"
        )
    found = _project(session, project)
    now = utcnow()
    values = {"project_id": found.id, "page": page.value, "document": data, "updated_at": now}
    # An upsert: two pages saving the first layout at once must not collide on the key.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(models.ProjectLayout).values(**values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["project_id", "page"],
            set_={
                "document": statement.excluded.document,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )
    return schemas.ProjectLayoutPublic(project=project, page=page, updated_at=now, **data)
