"""The floor for bench/small_requests.py: a bare FastAPI route that parses the same body.

    uvicorn bench.bare_app:app
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from fitwatch_server import schemas

app = FastAPI()


@app.post("/api/v1/runs/{run_id}/points")
async def post_points(run_id: str, request: Request) -> dict[str, int]:  # noqa: ARG001 - parsed like fitwatch's route
    batch = schemas.PointBatchIn.model_validate_json(await request.body())
    return {"points": sum(len(s.steps) for s in batch.series), "series": len(batch.series)}
