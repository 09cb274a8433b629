"""Runs fed by Keras's `RemoteMonitor`: which run an epoch belongs to (docs/keras.md).

RemoteMonitor sends one POST per epoch and nothing else: no run id, no start, no end. The
run is named by the path or headers (project and name); within that name, a new run starts
whenever epoch 0 comes again (a new `fit()`), and the one before is marked finished, since
nothing else will ever end it. A fit resumed with `initial_epoch` > 0 continues the latest run.

Run ids are `rm-<hash of project and name>-<n>`, n counting from 1, so two requests that
start the same new run at once insert the same id and the create stays idempotent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fitwatch_server import models, schemas
from fitwatch_server.store import limits, point_data
from fitwatch_server.store import runs as run_store

SOURCE = "keras.callbacks.RemoteMonitor"
TAG = "remote-monitor"


def id_prefix(project: str, name: str) -> str:
    digest = hashlib.sha256(f"{project}\0{name}".encode()).hexdigest()[:16]
    return f"rm-{digest}-"


def _latest(session: Session, prefix: str) -> tuple[int, models.Run] | None:
    ids = session.scalars(select(models.Run.id).where(models.Run.id.startswith(prefix))).all()
    numbered = [(int(i[len(prefix) :]), i) for i in ids if i[len(prefix) :].isascii() and i[len(prefix) :].isdigit()]
    if not numbered:
        return None
    n, run_id = max(numbered)
    return n, run_store.get_run(session, run_id=run_id)


def _has_epochs(session: Session, run_id: str) -> bool:
    return any(s.scope == "epoch" for s in point_data.list_series(session, run_id=run_id))


@dataclass
class Target:
    """The run that takes the epoch; `changed`: runs created, finished or revived for it."""

    run: models.Run
    created: bool
    changed: list[models.Run] = field(default_factory=list)


def run_for_epoch(
    session: Session, *, project: str, name: str, epoch: int, max_runs_per_project: int
) -> Target:
    """The run that takes `epoch` (see the module docstring)."""
    prefix = id_prefix(project, name)
    latest = _latest(session, prefix)
    if latest is not None:
        _n, run = latest
        if not (epoch == 0 and _has_epochs(session, run.id)):
            if run.status != schemas.RunStatus.running.value:
                # An epoch after the run was finished by hand: it is alive again.
                run = run_store.update_run(
                    session, run_id=run.id, data=schemas.RunUpdate(status=schemas.RunStatus.running)
                )
                return Target(run, created=False, changed=[run])
            return Target(run, created=False)
    changed: list[models.Run] = []
    if latest is not None and latest[1].status == schemas.RunStatus.running.value:
        changed.append(
            run_store.update_run(
                session,
                run_id=latest[1].id,
                data=schemas.RunUpdate(status=schemas.RunStatus.finished),
            )
        )
    run_id = f"{prefix}{(latest[0] if latest else 0) + 1}"
    limits.check_new_run(session, project=project, run_id=run_id, limit=max_runs_per_project)
    run, created = run_store.create_run(
        session,
        data=schemas.RunCreate(
            project=project, name=name, id=run_id, config={"source": SOURCE}, tags=[TAG]
        ),
    )
    changed.append(run)
    return Target(run, created=created, changed=changed)
