"""Upload an `ImportedRun` through the server's API (so tokens, scopes and limits apply).

The run id is derived from what was imported (kind, project and the file's absolute path),
so importing the same file again finds the same run: the create is idempotent, the points
are the same points (the server drops points stored exactly so already), and nothing is
duplicated. A file that grew since (training went on) adds its new epochs to that run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from fitwatch import wire
from fitwatch.access import check_access
from fitwatch.client import Client
from fitwatch.errors import ServerError
from fitwatch.importers.model import ImportedRun, ImportedSeries
from fitwatch.settings import ClientSettings


@dataclass(frozen=True)
class UploadReport:
    run_id: str
    name: str
    created: bool  # False: the run was there already (a re-import)
    series: int
    points: int
    url: str


def import_run_id(run: ImportedRun, *, project: str) -> str:
    """A stable id for `run` in `project`: the same file imported again is the same run."""
    identity = f"{run.kind}\0{project}\0{run.source.resolve()}"
    if run.part > 1:  # the first fit of a file keeps the id a file of one fit has
        identity += f"\0{run.part}"
    return f"import-{run.kind}-" + hashlib.sha256(identity.encode()).hexdigest()[:24]


def _bodies(series: list[ImportedSeries], max_points: int) -> list[dict[str, Any]]:
    """Columnar point bodies of at most `max_points` points each (long series are split)."""
    bodies: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    room = max_points
    for s in series:
        start = 0
        while start < len(s.steps):
            take = min(room, len(s.steps) - start)
            end = start + take
            current.append(
                {
                    "key": s.key,
                    "scope": s.scope,
                    "steps": s.steps[start:end],
                    "values": [wire.encode_value(v) for v in s.values[start:end]],
                    "times": s.times[start:end],
                }
            )
            start, room = end, room - take
            if room == 0:
                bodies.append({"series": current})
                current, room = [], max_points
    if current:
        bodies.append({"series": current})
    return bodies


def upload_run(
    run: ImportedRun,
    *,
    project: str,
    settings: ClientSettings,
    run_id: str | None = None,
    name: str | None = None,
    tags: list[str] | None = None,
) -> UploadReport:
    """Create (or find) the run, send its points, mark it finished.

    Raises:
        ValueError: the token may not write to `project` (asked before anything is sent).
        fitwatch.errors.FitwatchError: the server refused a request or is unreachable.
    """
    settings = check_access(settings, project=project)
    ident = run_id or import_run_id(run, project=project)
    shown = name or run.name
    config = {**run.config, "imported_from": {"kind": run.kind, "path": str(run.source.resolve())}}
    with Client(settings) as client:
        try:
            client.get_run(ident)
            created = False
        except ServerError as exc:
            if exc.status_code != 404:
                raise
            created = True
        client.create_run(
            {
                "id": ident,
                "project": project,
                "name": shown,
                "config": config,
                "tags": tags if tags is not None else ["imported", run.kind],
            }
        )
        for body in _bodies(run.series, settings.max_points_per_request):
            client.post_points(ident, body)
        client.update_run(ident, {"status": "finished"})
    return UploadReport(
        run_id=ident,
        name=shown,
        created=created,
        series=len(run.series),
        points=run.points,
        url=f"{settings.url}/run.html?id={ident}",
    )
