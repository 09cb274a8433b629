"""Resuming a run: `init(id=..., resume=...)` decides, before anything is sent, whether the
id may (or must) name a run the server already has, and where its steps continue.

    "allow" (the default when an id is given): continue the run if the server has it, else
            start it.
    "must": the run must exist; an unknown id (or a server that cannot be asked) is a
            `ValueError` in `init()`, not a surprise an hour into training.
    "never": the id must be new; an existing run is a `ValueError`.

A resumed run is set back to `running`, and `log()` without a step continues each scope
after the last step the server holds, or its journal on this machine (points a killed
process of the run never got acknowledged: they are replayed first), so nothing logged
before is overwritten. Keras's own
epochs (`initial_epoch`, `BackupAndRestore`) carry their numbers already (fitwatch/keras.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fitwatch import wire
from fitwatch.client import Client
from fitwatch.errors import ServerError, TransportError
from fitwatch.settings import ClientSettings, Mode
from fitwatch.spool import Record

RESUME_MODES = ("allow", "must", "never")


def check_resume_mode(resume: str | None) -> str:
    if resume is None:
        return "allow"
    if resume not in RESUME_MODES:
        raise ValueError(
            f"resume must be 'allow', 'must', 'never' or None. Received: resume={resume!r}"
        )
    return resume


def find_run(settings: ClientSettings, *, run_id: str, resume: str) -> dict[str, Any] | None:
    """The server's run `run_id` (with its series), or None when it has none; raises
    `ValueError` when `resume` forbids what the server says."""
    if settings.mode is not Mode.online:
        if resume == "must":
            raise ValueError(
                f"resume='must' needs the server to confirm that run {run_id!r} exists, and "
                "mode is 'offline'. Received: mode='offline'"
            )
        return None
    try:
        with Client(settings) as client:
            found: dict[str, Any] | None = client.get_run(run_id)
    except TransportError as exc:
        if resume == "must":
            raise ValueError(
                f"resume='must': cannot reach the server at {settings.url} to check that run "
                f"{run_id!r} exists ({exc})"
            ) from None
        return None  # offline for now: the journal keeps everything; the create is idempotent
    except ServerError as exc:
        if exc.status_code != 404:
            if exc.status_code in (401, 403):
                return None  # the access check that follows says what is wrong with the token
            raise ValueError(f"cannot look up run {run_id!r}: {exc.detail or exc}") from None
        found = None
    if found is None and resume == "must":
        raise ValueError(
            f"resume='must' but the server at {settings.url} has no run with id {run_id!r}. "
            f"Received: id={run_id!r}"
        )
    if found is not None and resume == "never":
        raise ValueError(
            f"resume='never' but run {run_id!r} already exists (project {found.get('project')!r}); "
            f"choose another id or pass resume='allow'. Received: id={run_id!r}"
        )
    return found


def next_steps(run: dict[str, Any]) -> dict[str, int]:
    """scope -> the first step after everything the server holds in that scope."""
    steps: dict[str, int] = {}
    for series in run.get("series") or []:
        scope, last = series["scope"], int(series["last_step"])
        steps[scope] = max(steps.get(scope, 0), last + 1)
    return steps


def journal_next_steps(records: Iterable[Record]) -> dict[str, int]:
    """scope -> the first step after the points of `records` (a journal's pending records)."""
    steps: dict[str, int] = {}
    for record in records:
        if record.op != "points":
            continue
        for _key, scope, step, *_ in wire.decode_points(record.body):
            steps[scope] = max(steps.get(scope, 0), step + 1)
    return steps
