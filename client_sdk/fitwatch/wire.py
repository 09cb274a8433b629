"""The wire format of points: columnar batches, the same as the server's schemas (docs/api.md).

Values go through the one NaN/Inf codec (`fitwatch.codec`); the scopes are `fitwatch.scopes`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from fitwatch.codec import JsonValue, decode_value, encode_value
from fitwatch.scopes import SCOPES

__all__ = [
    "SCOPES",
    "JsonValue",
    "Point",
    "count_points",
    "decode_points",
    "decode_value",
    "encode_points",
    "encode_value",
    "halves",
    "merge_bodies",
]


class Point(NamedTuple):
    """One point of one series; `epoch` is set for batch points only."""

    key: str
    scope: str
    step: int
    value: float
    time: float
    epoch: int | None = None


def encode_points(points: Iterable[Point]) -> dict[str, Any]:
    """Group points by series into the columnar body of POST /runs/{id}/points.

    Series keep the order in which they first appear; within a series points keep their
    order, so a repeated step resolves to the last one, as on the server.

    The `epochs` column holds no nulls (an entry carries an epoch for every point or for
    none), so a series whose points mix epoch and no epoch is sent as several entries of
    one key and scope: a new one starts wherever the series switches, and the server joins
    the entries of a series in request order, so every point keeps exactly its epoch (or
    none) and the last value logged for a step still wins.
    """
    series: list[dict[str, Any]] = []
    # (key, scope) -> the series' latest entry, and whether that entry carries epochs.
    current: dict[tuple[str, str], tuple[dict[str, Any], bool]] = {}
    for key, scope, step, value, time, epoch in points:
        has_epoch = epoch is not None
        found = current.get((key, scope))
        if found is None or found[1] is not has_epoch:
            entry: dict[str, Any] = {
                "key": key, "scope": scope, "steps": [], "values": [], "times": []
            }
            if has_epoch:
                entry["epochs"] = []
            series.append(entry)
            current[(key, scope)] = (entry, has_epoch)
        else:
            entry = found[0]
        entry["steps"].append(step)
        entry["values"].append(encode_value(value))
        entry["times"].append(time)
        if has_epoch:
            entry["epochs"].append(epoch)
    return {"series": series}


def decode_points(body: dict[str, Any]) -> list[Point]:
    """The inverse of `encode_points`."""
    points: list[Point] = []
    for entry in body["series"]:
        epochs = entry.get("epochs") or [None] * len(entry["steps"])
        for step, raw, time, epoch in zip(
            entry["steps"], entry["values"], entry["times"], epochs, strict=True
        ):
            points.append(Point(entry["key"], entry["scope"], step, decode_value(raw), time, epoch))
    return points


def merge_bodies(bodies: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Merge several point bodies into one, keeping order (later points win)."""
    points: list[Point] = []
    for body in bodies:
        points.extend(decode_points(body))
    return encode_points(points)


def count_entries(body: dict[str, Any]) -> int:
    """The entries of `body` (the server takes at most limits.SERIES_PER_REQUEST_MAX)."""
    return len(body["series"])


def split_body(body: dict[str, Any], max_entries: int) -> list[dict[str, Any]]:
    """`body` in pieces of at most `max_entries` entries, in order (so each series' points
    stay in order across the pieces, and the last value of a step still wins)."""
    entries = body["series"]
    if len(entries) <= max_entries:
        return [body]
    return [
        {"series": entries[i : i + max_entries]} for i in range(0, len(entries), max_entries)
    ]


def count_points(body: dict[str, Any]) -> int:
    return sum(len(entry["steps"]) for entry in body["series"])


def halves(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A points body in two halves, in order (by series, else a series' points by step
    position), or None for a single point: how the sender finds the part a server refuses."""
    series = body["series"]
    if len(series) > 1:
        middle = len(series) // 2
        return [{"series": series[:middle]}, {"series": series[middle:]}]
    [entry] = series
    count = len(entry["steps"])
    if count < 2:
        return None
    middle = count // 2
    columns = [c for c in ("steps", "values", "times", "epochs") if entry.get(c) is not None]
    return [
        {"series": [{**entry, **{c: entry[c][:middle] for c in columns}}]},
        {"series": [{**entry, **{c: entry[c][middle:] for c in columns}}]},
    ]
