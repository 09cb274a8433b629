"""Point ingest: hand the batch to the process's ingest writer, then publish to live subscribers.

`store_points` is the one implementation. The FastAPI route below declares it (OpenAPI, the
auth matrix, requests that arrive another way); `api/points_fast_path.py` calls the same
function for the SDK's hot path without FastAPI's routing and dependency solving.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from fitwatch_server import schemas
from fitwatch_server.api.errors import nested_too_deep
from fitwatch_server.live.hub import Hub
from fitwatch_server.settings import Settings
from fitwatch_server.store import limits
from fitwatch_server.store.point_data.writer import IngestWriter

router = APIRouter(prefix="/runs", tags=["points"])

PATH = "/runs/{run_id}/points"

# The body is parsed and validated in one pass by pydantic-core (`model_validate_json`)
# instead of FastAPI's json.loads + validate: 1 ms instead of 13 ms per 10,000 points, which
# is what keeps the API near plain sqlite3's insert rate (bench/ingest.py). The schema is
# still published in OpenAPI through `openapi_extra` (see app.py's `_openapi`).
POINTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PointBatchIn"}}},
    }
}


def parse_batch(body: bytes) -> schemas.PointBatchIn:
    try:
        return schemas.PointBatchIn.model_validate_json(body)
    except ValidationError as error:
        too_deep = nested_too_deep(error)
        if too_deep is not None:
            raise too_deep from None
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        )


async def store_points(
    run_id: str, body: bytes, *, writer: IngestWriter, hub: Hub, settings: Settings
) -> schemas.IngestResult:
    """Validate, store (merged with concurrent requests into one transaction), publish."""
    batch = parse_batch(body)
    limits.check_points_per_request(batch, limit=settings.max_points_per_request)
    # The writer merges this with the requests that arrive at the same time into one
    # transaction and answers after it committed (store/point_data/writer.py); it checks
    # the series-per-run ceiling there, with the run locked.
    result = await writer.ingest(run_id, batch)
    await hub.publish_points(run_id, batch)
    return result


@router.post("/{run_id}/points", response_model=schemas.IngestResult, openapi_extra=POINTS_BODY)
async def post_points(run_id: str, request: Request) -> schemas.IngestResult:
    """Store points of many series of one run; resending a batch is a no-op."""
    state = request.app.state
    return await store_points(
        run_id, await request.body(), writer=state.writer, hub=state.hub, settings=state.settings
    )
