"""Keras's `RemoteMonitor`: one POST per epoch, as a form field `data` or as JSON.

`keras.callbacks.RemoteMonitor(root=URL, path=...)` works with nothing else installed on
the training side. The run is chosen by the path (`/api/v1/keras/remote-monitor/{project}/{name}`)
or, on Keras's default path `/publish/epoch/end/`, by the headers `X-Fitwatch-Project` and
`X-Fitwatch-Run` (default: project `default`, name `remote-monitor`). docs/keras.md says how,
docs/security.md why this is the one write that may be a form (api/edge.py).
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from fitwatch_server import schemas
from fitwatch_server.api.deps import (
    HubDep,
    PrincipalDep,
    SettingsDep,
    WriterDep,
    WriteSessionmakerDep,
    in_transaction,
)
from fitwatch_server.api.errors import NESTED_TOO_DEEP
from fitwatch_server.errors import InvalidInput, NestedTooDeep
from fitwatch_server.store import remote_monitor
from fitwatch_server.store import runs as run_store
from fitwatch_server.values import to_wire

router = APIRouter(tags=["keras"])

PREFIX = "/keras/remote-monitor"
KERAS_DEFAULT_PATH = "/publish/epoch/end/"
DEFAULT_FIELD = "data"
DEFAULT_PROJECT = "default"
DEFAULT_NAME = "remote-monitor"
PROJECT_HEADER = "x-fitwatch-project"
RUN_HEADER = "x-fitwatch-run"


class RemoteMonitorEpoch(BaseModel):
    """What RemoteMonitor sends: `{"epoch": <0-based int>, <key>: <number>, ...}` (as JSON, or
    as the JSON string in the form field `data`, where a diverged loss is a bare `NaN`)."""

    epoch: int


class RemoteMonitorResult(BaseModel):
    run_id: str
    project: str
    name: str
    epoch: int
    points: int
    new_run: bool
    skipped: list[str]


BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/RemoteMonitorEpoch"}},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {"data": {"type": "string", "description": "the epoch's JSON"}},
                    "required": ["data"],
                }
            },
        },
    }
}


def _payload_text(body: bytes, content_type: str) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the body must be UTF-8 text (RemoteMonitor's JSON or form)") from None
    if content_type.split(";", 1)[0].strip().lower() != "application/x-www-form-urlencoded":
        return text
    form = parse_qs(text, keep_blank_values=True)
    if DEFAULT_FIELD in form:
        return form[DEFAULT_FIELD][-1]
    if len(form) == 1:  # RemoteMonitor(field=...) names the one field something else
        return next(iter(form.values()))[-1]
    raise InvalidInput(
        "the form needs one field holding the epoch's JSON (RemoteMonitor's default field is "
        f"'data'). Received fields: {sorted(form)[:10]}"
    )


def parse_epoch(body: bytes, content_type: str) -> tuple[int, dict[str, float], list[str]]:
    """(epoch, numeric logs, skipped keys); 400/422 for anything that is not an epoch's logs."""
    text = _payload_text(body, content_type)
    try:
        # Python's json reads the bare NaN/Infinity that RemoteMonitor's form mode sends.
        logs = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"the epoch's logs are not JSON: {exc}. Received: {text[:100]!r}"
        ) from None
    except RecursionError:
        raise NestedTooDeep(NESTED_TOO_DEEP) from None
    if not isinstance(logs, dict):
        raise InvalidInput(f"the epoch's logs must be a JSON object. Received: {text[:100]!r}")
    try:
        epoch = RemoteMonitorEpoch.model_validate({"epoch": logs.get("epoch")}, strict=True).epoch
    except ValidationError:
        raise InvalidInput(
            f"the logs need 'epoch', an int >= 0 (RemoteMonitor sends it). Received: epoch={logs.get('epoch')!r}"
        ) from None
    if epoch < 0:
        raise InvalidInput(f"the epoch must be >= 0. Received: epoch={epoch}")
    values: dict[str, float] = {}
    skipped: list[str] = []
    for key, value in logs.items():
        if key == "epoch":
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            skipped.append(str(key))  # a list or string put into the logs by another callback
            continue
        values[str(key)] = float(value)
    return epoch, values, skipped


def _batch(epoch: int, values: dict[str, float], now: float) -> schemas.PointBatchIn | None:
    if not values:
        return None
    body = {
        "series": [
            {"key": key, "scope": "epoch", "steps": [epoch], "values": [to_wire(v)], "times": [now]}
            for key, v in values.items()
        ]
    }
    try:
        return schemas.PointBatchIn.model_validate(body)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        )


async def _ingest(
    request: Request,
    *,
    project: str,
    name: str,
    factory: sessionmaker[Session],
    writer: WriterDep,
    hub: HubDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> RemoteMonitorResult:
    principal.require_project(project, "create runs in")
    try:
        schemas.RunCreate(project=project, name=name)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("path", *e["loc"])} for e in error.errors(include_url=False)]
        )
    epoch, values, skipped = parse_epoch(
        await request.body(), request.headers.get("content-type", "")
    )
    batch = _batch(epoch, values, time.time())

    def work(session: Session) -> tuple[str, bool, list[schemas.RunPublic]]:
        target = remote_monitor.run_for_epoch(
            session,
            project=project,
            name=name,
            epoch=epoch,
            max_runs_per_project=settings.max_runs_per_project,
        )
        public = [
            run_store.run_public(r, heartbeat_timeout_s=settings.heartbeat_timeout_s)
            for r in target.changed
        ]
        return target.run.id, target.created, public

    run_id, new_run, changed = await in_transaction(factory, work)
    for public in changed:
        await hub.publish_run(public)
    if batch is not None:
        await writer.ingest(run_id, batch)
        await hub.publish_points(run_id, batch)
    return RemoteMonitorResult(
        run_id=run_id,
        project=project,
        name=name,
        epoch=epoch,
        points=len(values),
        new_run=new_run,
        skipped=skipped,
    )


@router.post(PREFIX + "/{project}/{name}", response_model=RemoteMonitorResult, openapi_extra=BODY)
async def post_epoch(
    project: str,
    name: str,
    request: Request,
    factory: WriteSessionmakerDep,
    writer: WriterDep,
    hub: HubDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> RemoteMonitorResult:
    """Store one epoch sent by keras.callbacks.RemoteMonitor into the run named by the path."""
    return await _ingest(
        request,
        project=project,
        name=name,
        factory=factory,
        writer=writer,
        hub=hub,
        settings=settings,
        principal=principal,
    )


# Keras's default path, outside /api/v1: `RemoteMonitor(root="http://host:8000")` as it is.
keras_default_router = APIRouter(tags=["keras"])


@keras_default_router.post(
    KERAS_DEFAULT_PATH, response_model=RemoteMonitorResult, openapi_extra=BODY
)
async def post_epoch_default_path(
    request: Request,
    factory: WriteSessionmakerDep,
    writer: WriterDep,
    hub: HubDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> RemoteMonitorResult:
    """Store one epoch sent by RemoteMonitor to its default path (run chosen by X-Fitwatch-* headers)."""
    return await _ingest(
        request,
        project=request.headers.get(PROJECT_HEADER) or DEFAULT_PROJECT,
        name=request.headers.get(RUN_HEADER) or DEFAULT_NAME,
        factory=factory,
        writer=writer,
        hub=hub,
        settings=settings,
        principal=principal,
    )
