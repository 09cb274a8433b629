"""What the server accepts in a run's fields, its documents and its points: the one copy.

Read by the server (`fitwatch_server.schemas` for the fields and the points' `Key`, `Step`
and epochs, `models` for the column widths, `settings` and `store/documents.py` for the
document limits) and by the SDK, so the two cannot drift:

- A run's fields: `fitwatch.init()` and the Keras callback's constructor check them. A
  create the server refuses (a name of 256 characters, a tag with a newline, a config nested
  100 deep) used to be found out by the sender thread only, which set the create aside;
  every later record then got 404 and the whole run was lost while `finish()` returned
  True. At `init()` the user is there to read a `ValueError`. Later updates
  (`update_config`, `update_summary`) are checked with `document_problem` too, and skipped
  with a warning.
- A point's key, step and epoch: checked before a point is queued (`valid_points`), since
  the sender ships a whole flush interval as one request: a bad key is skipped on the
  client, alone, not sent.

The document limits are the server's defaults here; a server can be configured otherwise
(`FITWATCH_MAX_DOCUMENT_DEPTH`, `FITWATCH_MAX_DOCUMENT_BYTES`) and says so in
`GET /api/v1/auth/whoami` (`limits`), which the SDK reads when it starts a run.
tests/client_sdk/test_run_fields.py and test_limits.py check that both sides agree.
"""

from __future__ import annotations

import json
import operator
import re
import reprlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fitwatch.codec import json_safe
from fitwatch.scopes import SCOPES

# Keys, names, projects and tags (VARCHAR(255) on the server).
KEY_MAX_CHARS = 255
RUN_ID_MAX_CHARS = 64
MAX_TAGS = 256
NOTES_MAX_CHARS = 100_000
DEFAULT_MAX_DOCUMENT_DEPTH = 64
DEFAULT_MAX_DOCUMENT_BYTES = 1024 * 1024
# `\Z`, not `$`: `$` also matches before a trailing newline, so "run\n" passed.
RUN_ID_PATTERN = re.compile(rf"^[A-Za-z0-9_-]{{1,{RUN_ID_MAX_CHARS}}}\Z")
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
NUL = "\x00"
# The containers `codec.json_safe` turns into JSON objects and arrays.
_CONTAINERS = (dict, list, tuple, set, frozenset)


def text_problem(value: str) -> str | None:
    """Why the server refuses `value` as a name, project, tag or key (None: it does not),
    apart from its length (`KEY_MAX_CHARS`, which the wire models check as a field limit)."""
    if not value.strip():
        return "must not be empty or blank"
    if CONTROL_CHARS.search(value):
        return "must not contain control characters"
    return None


def check_name(value: object, field: str) -> str:
    """`value` as the server takes a project, name or tag; else `ValueError` naming `field`."""
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string. Received: {field}={value!r}")
    problem = text_problem(value)
    if problem is None and len(value) > KEY_MAX_CHARS:
        problem = f"must be at most {KEY_MAX_CHARS} characters (it has {len(value)})"
    if problem is not None:
        raise ValueError(f"{field} {problem}. Received: {field}={_shown(value)}")
    return value


def check_run_id(value: object) -> str:
    if not isinstance(value, str) or not RUN_ID_PATTERN.match(value):
        raise ValueError(
            f"id must be 1-{RUN_ID_MAX_CHARS} characters of A-Z, a-z, 0-9, '_' and '-'. "
            f"Received: id={value!r}"
        )
    return value


def check_tags(tags: object) -> list[str]:
    if isinstance(tags, str | bytes) or not isinstance(tags, Iterable):
        raise ValueError(f"tags must be a list of strings. Received: tags={_shown(tags)}")
    tags = list(tags)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"a run has at most {MAX_TAGS} tags. Received: {len(tags)} tags")
    for tag in tags:
        check_name(tag, "tag")
    return tags


def check_notes(notes: object) -> str:
    if not isinstance(notes, str):
        raise ValueError(f"notes must be a string. Received: notes={_shown(notes)}")
    if len(notes) > NOTES_MAX_CHARS:
        raise ValueError(
            f"notes must be at most {NOTES_MAX_CHARS} characters (they have {len(notes)}). "
            f"Received: notes={_shown(notes)}"
        )
    if NUL in notes:
        raise ValueError(
            f"notes must not contain the NUL character (\\u0000). Received: notes={_shown(notes)}"
        )
    return notes


def document_problem(
    document: Mapping[str, Any],
    *,
    what: str,
    max_depth: int = DEFAULT_MAX_DOCUMENT_DEPTH,
    max_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
) -> str | None:
    """Why the server would refuse `document` as a run's config or summary, as the SDK sends
    it (`json_safe`); None if it would not. The rules of `store/documents.py`: the top-level
    object is level 1 and every object or array inside one more, no NUL in a key or a text,
    at most `max_bytes` as compact UTF-8 JSON."""
    # Depth first, on the object as given and without recursion: json_safe recurses, so a
    # structure thousands deep (or one that contains itself) would raise RecursionError.
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            return (
                f"{what} nests deeper than {max_depth} levels, the server's limit: flatten it, "
                "or store the deep part as a JSON string"
            )
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, _CONTAINERS))
    safe = json_safe(dict(document))
    texts: list[Any] = [safe]
    while texts:
        value = texts.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                if NUL in key:
                    return f"{what} has the NUL character (\\u0000) in the key {_shown(key)}"
                texts.append(child)
        elif isinstance(value, list):
            texts.extend(value)
        elif isinstance(value, str) and NUL in value:
            return f"{what} has the NUL character (\\u0000) in the text {_shown(value)}"
    try:
        size = json_bytes(safe)
    except UnicodeEncodeError:
        # A lone surrogate (a file name decoded with surrogateescape) is not UTF-8 text.
        return f"{what} holds text that is not valid Unicode (a lone surrogate)"
    if size > max_bytes:
        return (
            f"{what} takes {size} bytes as JSON; the server's limit is {max_bytes} bytes: keep "
            "large artefacts (model files, full logs) out of it"
        )
    return None


def check_document(
    document: object, *, field: str, max_depth: int, max_bytes: int
) -> Mapping[str, Any]:
    """`document` if the server would take it as a run's `field` (config), else `ValueError`."""
    if not isinstance(document, Mapping):
        raise ValueError(f"{field} must be a dict. Received: {field}={_brief(document)}")
    problem = document_problem(document, what=field, max_depth=max_depth, max_bytes=max_bytes)
    if problem is not None:
        raise ValueError(f"{problem}. Received: {field}={_brief(document)}")
    return document


def json_bytes(document: Any) -> int:
    """The size the server measures a document by: compact JSON, UTF-8."""
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())


_BRIEF = reprlib.Repr()  # (keyword arguments only from Python 3.12)
_BRIEF.maxlevel, _BRIEF.maxdict, _BRIEF.maxlist, _BRIEF.maxstring = 3, 6, 6, 60


def _brief(value: object) -> str:
    # reprlib: a plain repr of a document nested thousands deep raises RecursionError, and
    # one of megabytes would fill the screen.
    return _BRIEF.repr(value)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 300 else f"{text[:300]}... ({len(text)} characters)"


# -- points ---------------------------------------------------------------------------
# Steps are BIGINT, but the rollups bucket steps with arithmetic that must stay inside 64 bits.
STEP_MAX = 2**62
# `points.epoch` is an INTEGER: 32 bits on PostgreSQL (SQLite's 64), so both take the smaller range.
EPOCH_MAX = 2**31 - 1
# Entries in `series` of one POST /runs/{id}/points (a series may take several: wire.py).
SERIES_PER_REQUEST_MAX = 10_000

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


# Wall-clock seconds; far beyond any real time, but finite (JSON has no NaN or Inf).
TIME_MAX = 1e15


def _as_float(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    try:
        return float(raw)  # NumPy floats and ints too
    except (TypeError, ValueError, OverflowError):
        return None


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
    for key, scope, step, value, time, epoch in points:
        if not (
            key in known_keys
            and type(step) is int  # not bool, not 1.0 (a set of steps would merge those into 1)
            and 0 <= step <= STEP_MAX
            and (epoch is None or (type(epoch) is int and 0 <= epoch <= EPOCH_MAX))
            and scope in _SCOPES
            and type(value) is float  # NaN and Inf are values (the codec names them)
            and type(time) is float
            and -TIME_MAX <= time <= TIME_MAX  # False for NaN: a time must be finite
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
        checked_value, checked_time = _as_float(value), _as_float(time)
        if checked_value is None:
            warn("value", f"a value must be a number; the point is skipped. Received: {key}={value!r}")
            continue
        if checked_time is None or not -TIME_MAX <= checked_time <= TIME_MAX:
            warn(
                "time",
                "a point's time must be a finite number of seconds; the point is skipped. "
                f"Received: time={time!r}",
            )
            continue
        if (
            checked_step is not step
            or checked_epoch is not epoch
            or type(value) is not float
            or type(time) is not float
        ):
            # A NumPy number would not survive json.dumps: the point carries plain Python ones.
            point = type(point)(key, scope, checked_step, checked_value, checked_time, checked_epoch)
        kept.append(point)
    return kept
