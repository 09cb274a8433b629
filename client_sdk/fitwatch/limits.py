"""What the server accepts in a point's key, step and epoch: the one copy of those rules.

The server's schemas (`fitwatch_server.schemas`: `Key`, `Step`, the epochs column) are built
from these constants, and the SDK checks every point against them before it is queued: the
sender ships a whole flush interval as one request, and a request the server refuses costs
every point in it, so one bad key must be skipped on the client, not sent.
tests/client_sdk/test_limits.py checks that both sides agree on the edge cases.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from typing import Any

from fitwatch.scopes import SCOPES

# Keys, names and tags: a VARCHAR(255) on both backends (counted in characters).
KEY_MAX_CHARS = 255
# Steps are BIGINT, but the rollups bucket steps with arithmetic that must stay inside 64 bits.
STEP_MAX = 2**62
# `points.epoch` is an INTEGER: 32 bits on PostgreSQL (SQLite's 64), so both take the smaller range.
EPOCH_MAX = 2**31 - 1
# Entries in `series` of one POST /runs/{id}/points (a series may take several: wire.py).
SERIES_PER_REQUEST_MAX = 10_000
# Control characters break the pages, logs and CSV exports; NUL cannot be stored by PostgreSQL.
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")

_SCOPES = frozenset(SCOPES)


def key_problem(key: str) -> str | None:
    """Why the server would refuse `key` (what to fix), or None when it is a valid key."""
    if not isinstance(key, str):
        return "a key must be a string"
    if not key.strip():
        return "a key must not be empty or blank"
    if len(key) > KEY_MAX_CHARS:
        return f"a key must be at most {KEY_MAX_CHARS} characters (this one has {len(key)})"
    if CONTROL_CHARS.search(key):
        return "a key must not contain control characters (tabs, newlines, NUL, ...)"
    try:
        # A lone surrogate (e.g. from a badly decoded file name) cannot be encoded as UTF-8:
        # neither the journal nor the request could hold it.
        key.encode("utf-8")
    except UnicodeEncodeError:
        return "a key must be valid Unicode text (it holds a lone surrogate)"
    return None


def as_step(step: Any) -> int | None:
    """`step` as an int when it is one the server takes (0..STEP_MAX; NumPy ints too), else None."""
    return _as_bounded_int(step, STEP_MAX)


def as_epoch(epoch: Any) -> int | None:
    """`epoch` as an int when it is one the server takes (0..EPOCH_MAX; NumPy ints too), else None."""
    return _as_bounded_int(epoch, EPOCH_MAX)


def _as_bounded_int(raw: Any, maximum: int) -> int | None:
    if isinstance(raw, bool):
        return None  # True is an int to Python, but no one means step 1 by it
    try:
        value = operator.index(raw)  # ints and NumPy integers; not 1.5, not "3"
    except Exception:  # noqa: BLE001 - whatever a foreign __index__ raises, it is not a step
        return None
    return value if 0 <= value <= maximum else None


STEP_RULE = f"step must be an int from 0 to {STEP_MAX} (2**62)"
EPOCH_RULE = f"epoch must be None or an int from 0 to {EPOCH_MAX} (2**31 - 1)"


def valid_points(
    points: list[Any], known_keys: set[str], warn: Callable[[str, str], None]
) -> list[Any]:
    """`points` (wire.Point) without those the server would refuse; `warn(cause, message)`
    once per cause for each one left out.

    The hot path (the Keras callback, every logged batch) costs a set lookup per point for
    the key and two comparisons for the step and epoch: `known_keys` holds the keys checked
    already (the caller keeps it between calls).
    """
    for key, scope, step, _value, _time, epoch in points:
        if not (
            key in known_keys
            and type(step) is int  # not bool, not 1.0 (a set of steps would merge those into 1)
            and 0 <= step <= STEP_MAX
            and (epoch is None or (type(epoch) is int and 0 <= epoch <= EPOCH_MAX))
            and scope in _SCOPES
        ):
            return _filtered(points, known_keys, warn)
    return points


# Bounded, so a run that logs a fresh key at every step cannot grow the cache without end.
_KNOWN_KEYS_MAX = 100_000


def _filtered(
    points: Iterable[Any], known_keys: set[str], warn: Callable[[str, str], None]
) -> list[Any]:
    kept = []
    for point in points:
        key, scope, step, value, time, epoch = point
        if key not in known_keys:
            problem = key_problem(key)
            if problem is not None:
                warn(f"key:{problem}", f"{problem}; points of it are skipped. Received: key={key!r}")
                continue
            if len(known_keys) >= _KNOWN_KEYS_MAX:
                known_keys.clear()
            known_keys.add(key)
        if scope not in _SCOPES:
            warn(f"scope:{scope}", f"scope must be one of {SCOPES}. Received: scope={scope!r}")
            continue
        checked_step = as_step(step)
        if checked_step is None:
            warn("step", f"{STEP_RULE}; the point is skipped. Received: step={step!r}")
            continue
        checked_epoch = None if epoch is None else as_epoch(epoch)
        if epoch is not None and checked_epoch is None:
            warn("epoch", f"{EPOCH_RULE}; the point is skipped. Received: epoch={epoch!r}")
            continue
        if checked_step is not step or checked_epoch is not epoch:
            # A NumPy int would not survive json.dumps: the point carries a plain int.
            point = type(point)(key, scope, checked_step, value, time, checked_epoch)
        kept.append(point)
    return kept
