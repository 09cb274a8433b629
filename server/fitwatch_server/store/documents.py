"""Run documents (a run's config and summary): their limits, and storing them as valid JSON.

A document is refused whole, before anything is stored, when it nests deeper than
`Settings.max_document_depth`, is larger than `Settings.max_document_bytes` as compact
JSON, or holds the NUL character in a key or a text. Why: a config nested 256 deep used to
be stored, and from then on every response carrying it failed to serialise, so the runs
list answered 500 for good (issue 8); PostgreSQL's jsonb cannot store `\\u0000` at all, and
SQLite refuses it too so that a database can move from one to the other.

Non-finite floats (bare `NaN`/`Infinity`, which Python's `json` emits and the API accepts)
are stored as the codec's names "NaN", "Infinity", "-Infinity" (`values.to_wire`), the
spelling the SDK already sends. Stored bare, SQLite kept invalid JSON that made its JSON
functions (every `config.*` filter and sort) fail for all runs, and PostgreSQL refused the
row. They read back as those names, and filters treat them as text: `config.lr > 0` does
not match a NaN, and a sort puts it last.

The walk is iterative, so no input depth can exhaust Python's recursion limit here.

The SDK checks a config or summary by the same rules before it sends one
(`fitwatch.limits.document_problem`; the size and the defaults are shared from there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fitwatch.limits import NUL, json_bytes
from fitwatch_server.errors import InvalidInput, LimitExceeded, PayloadTooLarge
from fitwatch_server.settings import DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_DOCUMENT_DEPTH
from fitwatch_server.values import to_wire

_PATH_SHOWN_CHARS = 80


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    """`Settings.max_document_depth` and `Settings.max_document_bytes`."""

    max_depth: int = DEFAULT_MAX_DOCUMENT_DEPTH
    max_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES


def _shown(path: str) -> str:
    return path if len(path) <= _PATH_SHOWN_CHARS else path[:_PATH_SHOWN_CHARS] + "..."


def _check_text(text: str, path: str) -> None:
    if NUL in text:
        raise InvalidInput(
            f"{_shown(path)} contains the NUL character (\\u0000), which PostgreSQL cannot store "
            f"in JSON: remove it or replace it. Received: {text[:60]!r}"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(
            f"{_shown(path)} is not valid Unicode text (it holds a lone surrogate, which UTF-8 "
            f"cannot encode). Received: {text[:60]!r}"
        ) from None


def encode_document(
    document: dict[str, Any], *, what: str, limits: DocumentLimits
) -> dict[str, Any]:
    """A copy of `document` that is valid JSON (non-finite floats as names).

    Raises LimitExceeded (too deep), PayloadTooLarge (too large) or InvalidInput (NUL).
    """
    root: dict[str, Any] = {}
    # (source container, its copy, its depth, its path)
    stack: list[tuple[dict[str, Any] | list[Any], dict[str, Any] | list[Any], int, str]] = [
        (document, root, 1, what)
    ]
    while stack:
        source, target, depth, path = stack.pop()
        if depth > limits.max_depth:
            raise LimitExceeded(
                f"{what} nests deeper than {limits.max_depth} levels (at {_shown(path)}); the limit "
                f"is {limits.max_depth} levels (FITWATCH_MAX_DOCUMENT_DEPTH): flatten it, or store "
                "the deep part as a JSON string"
            )
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in items:
            if isinstance(key, str):
                _check_text(key, f"{path} key {key!r}")
                child_path = f"{path}.{key}"
            else:
                child_path = f"{path}[{key}]"
            copy: Any
            if isinstance(value, dict):
                copy = {}
                stack.append((value, copy, depth + 1, child_path))
            elif isinstance(value, list | tuple):
                copy = [None] * len(value)
                stack.append((list(value), copy, depth + 1, child_path))
            elif isinstance(value, float) and not math.isfinite(value):
                copy = to_wire(value)
            else:
                if isinstance(value, str):
                    _check_text(value, child_path)
                copy = value
            target[key] = copy  # type: ignore[index]
    size = json_bytes(root)
    if size > limits.max_bytes:
        raise PayloadTooLarge(
            f"{what} takes {size} bytes as JSON; the limit is {limits.max_bytes} bytes "
            "(FITWATCH_MAX_DOCUMENT_BYTES): keep large artefacts (model files, full logs) out "
            "of it"
        )
    return root
