"""Responses that carry many points, serialised without per-value Python work.

pydantic serialises each value of `SeriesPointsPublic.values` through the codec's Python
function (`values.WireFloat`), which made a full read of a 100k-point series cost most of a
second. Here each column is encoded once (`values.list_to_wire`: a finite column passes
through untouched) and orjson writes the JSON. The shape is exactly the schema's
(`schemas.SeriesPointsPublic`), which the routes still declare for OpenAPI.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from fitwatch_server import schemas
from fitwatch_server.store.point_data.groups import GroupStats
from fitwatch_server.store.run_groups import GroupBy, RunGroup
from fitwatch_server.values import list_to_wire


def _points(points: schemas.SeriesPointsPublic) -> dict[str, Any]:
    return {
        "run_id": points.run_id,
        "key": points.key,
        "scope": points.scope.value,
        "steps": points.steps,
        "values": list_to_wire(points.values),  # type: ignore[arg-type]
        "times": points.times,
        "epochs": points.epochs,
        "count": points.count,
        "downsampled": points.downsampled,
    }


def series_points_response(points: schemas.SeriesPointsPublic) -> Response:
    return Response(orjson.dumps(_points(points)), media_type="application/json")


def multi_series_response(found: list[schemas.SeriesPointsPublic]) -> Response:
    return Response(
        orjson.dumps({"series": [_points(p) for p in found]}), media_type="application/json"
    )


def groups_response(
    *, scope: schemas.Scope, group_by: GroupBy, groups: list[RunGroup], stats: GroupStats, runs: int
) -> Response:
    """The shape of `schemas.SeriesGroupsPublic`."""
    body = {
        "scope": scope.value,
        "group_by": group_by.text,
        "step_width": stats.step_width,
        "runs": runs,
        "groups": [
            {
                "label": group.label,
                "values": group.values,
                "run_ids": group.run_ids,
                "series": [
                    {
                        "key": k.key,
                        "logged_keys": k.logged_keys,
                        "steps": k.steps,
                        "count": k.count,
                        "mean": list_to_wire(k.mean),  # type: ignore[arg-type]
                        "std": list_to_wire(k.std),  # type: ignore[arg-type]
                        "min": list_to_wire(k.min),  # type: ignore[arg-type]
                        "max": list_to_wire(k.max),  # type: ignore[arg-type]
                    }
                    for k in stats.groups[group.label].values()
                ],
            }
            for group in groups
        ],
    }
    return Response(orjson.dumps(body, default=str), media_type="application/json")
