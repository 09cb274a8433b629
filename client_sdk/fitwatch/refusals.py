"""What to do when the server refuses a request: find the part it refuses, keep the rest.

A request the server refuses (a 4xx that resending cannot fix) is sent again in halves
(points: by series, then a series' points by position; an update: by field), down to the
parts the server refuses. Those are returned, to be set aside in the run's
`rejected.jsonl`; everything else is stored. Without it, one bad point cost every point
sent with it: a whole flush interval, or a whole backlog merged after an outage (issue 8).
Halves go in order, so a step repeated in both keeps its last value, as it would have.

The search is bounded: after `MAX_PARTS` requests the parts still refused are set aside
whole (still on disk, in `rejected.jsonl`). Finding one bad point among 20,000 takes ~30
requests, a few dozen bad points a few hundred; a server (or a proxy) that refuses
everything would otherwise be asked once per point.

Not a refusal of the data: a refused token (401, 403) is fixed by a person, and the
records wait in the journal meanwhile, so it propagates like any other error. Used by the
sender and by `fitwatch sync`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fitwatch import wire
from fitwatch.errors import RejectedError

Request = Callable[[str, dict[str, Any]], object]  # (op, body) -> the server's answer
Refused = list[tuple[dict[str, Any], str]]  # (the refused part, the server's reason)

MAX_PARTS = 1024


def refuses_the_caller(exc: RejectedError) -> bool:
    """401/403: the token, not the data, is what the server refuses."""
    return exc.status_code in (401, 403)


def send(request: Request, op: str, body: dict[str, Any]) -> Refused:
    """`request(op, body)`; on a refusal of the data, the parts the server refuses."""
    try:
        request(op, body)
    except RejectedError as exc:
        if op == "create" or refuses_the_caller(exc):
            raise
        budget = [MAX_PARTS]
        return _narrow(request, op, body, exc, budget)
    return []


def _narrow(
    request: Request, op: str, body: dict[str, Any], exc: RejectedError, budget: list[int]
) -> Refused:
    parts = wire.halves(body) if op == "points" else update_halves(body)
    if parts is None or budget[0] < len(parts):
        return [(body, str(exc))]
    budget[0] -= len(parts)
    refused: Refused = []
    for part in parts:
        try:
            request(op, part)
        except RejectedError as again:
            if refuses_the_caller(again):
                raise
            refused.extend(_narrow(request, op, part, again, budget))
    return refused


def update_halves(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    """An update's fields in two halves, or None for a single field."""
    keys = list(body)
    if len(keys) < 2:
        return None
    middle = len(keys) // 2
    return [{k: body[k] for k in keys[:middle]}, {k: body[k] for k in keys[middle:]}]


def describe(op: str, refused: Refused) -> str:
    """What was refused, for a warning: "12 points" or "an update of summary"."""
    if op == "points":
        return f"{sum(wire.count_points(body) for body, _ in refused)} points"
    return "an update of " + ", ".join(sorted({key for body, _ in refused for key in body}))
