"""What the token may do, asked once when a run starts (`GET /api/v1/auth/whoami`).

A read-only token, a token for another project or a wrong token would otherwise be found
out only when the first batch is refused, deep inside `fit()` where fitwatch must not
raise. Asking first lets `init()` and the Keras callback's constructor raise a clear
`ValueError` while the user is still there to read it. An unreachable server is not an
error here: the run journals to disk as usual and is sent when the server is back. Nor is
a server that takes the request and does not answer: after `ACCESS_CHECK_TIMEOUT_S` the run
starts as if it were unreachable, instead of holding `init()` (and the start of training)
for the whole request timeout.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeGuard

from fitwatch.client import Client
from fitwatch.errors import ServerError, TransportError
from fitwatch.settings import ClientSettings, Mode

ACCESS_CHECK_TIMEOUT_S = 5.0


def check_access(settings: ClientSettings, *, project: str) -> ClientSettings:
    """Raise `ValueError` if this token cannot log runs to `project`; returns the settings,
    with `max_points_per_request` lowered to the server's ceiling when that is smaller, and
    `max_document_depth`/`max_document_bytes` the server's."""
    if settings.mode is not Mode.online:
        return settings
    timeout = min(settings.request_timeout_s, ACCESS_CHECK_TIMEOUT_S)
    try:
        with Client(replace(settings, request_timeout_s=timeout)) as client:
            me = client.whoami()
    except TransportError:
        return settings  # offline for now: the journal keeps everything
    except ServerError as exc:
        if exc.status_code == 401:
            source = "a token" if settings.token else "no token (set FITWATCH_TOKEN or pass token=...)"
            raise ValueError(
                f"the fitwatch server at {settings.url} refused {source}: {exc.detail or exc}"
            ) from None
        return settings  # an older server without /auth/whoami, or a passing error
    scope, bound, name = me.get("scope"), me.get("project"), me.get("name")
    if scope == "read":
        raise ValueError(
            f"token {name!r} is read-only: it can watch runs but not log them. Use a write token "
            "(fitwatch token create --name NAME --scope write). Received: a read token"
        )
    if bound is not None and bound != project:
        raise ValueError(
            f"token {name!r} may only log to project {bound!r}. Received: project={project!r}"
        )
    return _within_limits(settings, me.get("limits") or {})


def server_limits(settings: ClientSettings, client: Client) -> ClientSettings:
    """`settings` within the limits the server reports (`fitwatch sync`, which has no run to
    check access for); unchanged when it cannot say (unreachable, an older server)."""
    try:
        me = client.whoami()
    except (TransportError, ServerError):
        return settings
    return _within_limits(settings, me.get("limits") or {})


def _within_limits(settings: ClientSettings, limits: dict[str, Any]) -> ClientSettings:
    changes: dict[str, Any] = {}
    ceiling = limits.get("max_points_per_request")
    if _positive_int(ceiling) and ceiling < settings.max_points_per_request:
        changes["max_points_per_request"] = ceiling
    # The server's own document limits, whichever way they differ from the defaults: init()
    # and update_config()/update_summary() check against what this server will take. An
    # older server that does not say keeps the defaults.
    for name in ("max_document_depth", "max_document_bytes"):
        value = limits.get(name)
        if _positive_int(value):
            changes[name] = value
    return replace(settings, **changes) if changes else settings


def _positive_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
