"""Export: every point of a run as CSV or JSON, streamed, never downsampled."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from fitwatch_server.api.deps import SessionDep, SessionmakerDep, SettingsDep
from fitwatch_server.db import session_scope
from fitwatch_server.store.point_data import export_rows
from fitwatch_server.store.runs import get_run, run_public
from fitwatch_server.values import to_wire

router = APIRouter(prefix="/runs", tags=["export"])

CSV_HEADER = ["key", "scope", "step", "epoch", "value", "wall_time"]
ROWS_PER_WRITE = 2_000


def _csv_value(value: float) -> str:
    return str(to_wire(value)) if value != value or value in (float("inf"), float("-inf")) else repr(value)


def _csv_chunks(factory: sessionmaker[Session], run_id: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    with session_scope(factory) as session:
        for n, (key, scope, step, epoch, value, wall_time) in enumerate(
            export_rows(session, run_id=run_id), start=1
        ):
            writer.writerow(
                [key, scope, step, "" if epoch is None else epoch, _csv_value(value), repr(wall_time)]
            )
            if n % ROWS_PER_WRITE == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


def _json_chunks(factory: sessionmaker[Session], run_json: str, run_id: str) -> Iterator[str]:
    yield '{"run": ' + run_json + ', "points": ['
    parts: list[str] = []
    first = True
    with session_scope(factory) as session:
        for key, scope, step, epoch, value, wall_time in export_rows(session, run_id=run_id):
            item = json.dumps(
                {"key": key, "scope": scope, "step": step, "epoch": epoch,
                 "value": to_wire(value), "wall_time": wall_time}
            )
            parts.append(item if first else "," + item)
            first = False
            if len(parts) >= ROWS_PER_WRITE:
                yield "".join(parts)
                parts.clear()
    parts.append("]}")
    yield "".join(parts)


@router.get("/{run_id}/export")
def export_run(
    run_id: str,
    session: SessionDep,
    factory: SessionmakerDep,
    settings: SettingsDep,
    format: Annotated[str, Query(pattern="^(csv|json)$")] = "csv",
) -> StreamingResponse:
    """Every point of the run (CSV or JSON), streamed."""
    run = get_run(session, run_id=run_id)
    filename = f"fitwatch-{run_id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "csv":
        return StreamingResponse(
            _csv_chunks(factory, run_id), media_type="text/csv; charset=utf-8", headers=headers
        )
    run_json = run_public(run, heartbeat_timeout_s=settings.heartbeat_timeout_s).model_dump_json()
    return StreamingResponse(
        _json_chunks(factory, run_json, run_id), media_type="application/json", headers=headers
    )
