"""The websocket protocol of `/api/v1/live`: every message a client sends or receives.

docs/api.md ("Live updates") is the prose for these models; keep both in step. Every
message is a JSON object with a `type`. A websocket frame carries one message, except for a
client that connected with `?batch=1`: when several messages are ready at once the server
sends them, in order, as one frame holding a JSON array of them (at most `MAX_FRAME_MESSAGES`
messages and `MAX_FRAME_CHARS` characters unless one message alone is longer). Nothing waits
to fill a frame; a lone message is still sent as a plain object. Client messages are parsed
with `parse_client_message`, which raises `ProtocolError` with a message that says what to fix
and quotes what was received.

Example (client → server):
    {"type": "subscribe", "runs": ["a1b2"], "projects": ["digits"],
     "resume": {"a1b2": [{"key": "loss", "scope": "batch", "last_step": 1199}]}}

Example (server → client; with `?batch=1` several may come as one array `[{...}, {...}]`):
    {"type": "points", "run_id": "a1b2", "key": "loss", "scope": "batch",
     "steps": [1200, 1201], "values": [0.31, "NaN"], "times": [1732354900.1, 1732354900.2],
     "epochs": [3, 3], "replay": false}
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from fitwatch_server import schemas
from fitwatch_server.values import WireFloat

PROTOCOL_VERSION = 1
MAX_RUNS = 1000
MAX_PROJECTS = 100
MAX_RESUME_CURSORS = 10_000
# Error messages quote at most this much of what was received.
QUOTE_CHARS = 200
# A client message larger than this is refused before parsing.
MAX_CLIENT_MESSAGE_CHARS = 1_000_000
# One frame to a `?batch=1` client holds at most this many messages and, unless its first
# message alone is longer, this many characters (websockets clients refuse frames over 1 MiB
# by default).
MAX_FRAME_MESSAGES = 256
MAX_FRAME_CHARS = 256 * 1024


class ProtocolError(ValueError):
    """A client message the server cannot use; the text is sent back in an `error` message."""

    def __init__(self, detail: str, received: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.received = received[:QUOTE_CHARS]


# --- client → server ---------------------------------------------------------------------


class ResumeCursor(BaseModel):
    """The last step a client has of one series."""

    model_config = ConfigDict(extra="forbid")

    key: schemas.Key
    scope: schemas.Scope
    last_step: Annotated[int, Field(ge=-1, le=2**62)]


class Subscribe(BaseModel):
    """Example: {"type": "subscribe", "runs": ["a1b2"], "projects": ["digits"]}"""

    model_config = ConfigDict(extra="forbid")

    type: Literal["subscribe"]
    runs: list[schemas.RunId] = Field(default_factory=list, max_length=MAX_RUNS)
    projects: list[schemas.Name] = Field(default_factory=list, max_length=MAX_PROJECTS)
    # Projects whose chart layouts to follow (`layout` messages only: no run traffic).
    layouts: list[schemas.Name] = Field(default_factory=list, max_length=MAX_PROJECTS)
    resume: dict[schemas.RunId, list[ResumeCursor]] = Field(default_factory=dict)


class Unsubscribe(BaseModel):
    """Example: {"type": "unsubscribe", "runs": ["a1b2"]}"""

    model_config = ConfigDict(extra="forbid")

    type: Literal["unsubscribe"]
    runs: list[schemas.RunId] = Field(default_factory=list, max_length=MAX_RUNS)
    projects: list[schemas.Name] = Field(default_factory=list, max_length=MAX_PROJECTS)
    # Projects whose chart layouts to follow (`layout` messages only: no run traffic).
    layouts: list[schemas.Name] = Field(default_factory=list, max_length=MAX_PROJECTS)


class ClientPing(BaseModel):
    """Example: {"type": "ping"}; answered with {"type": "pong"}."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["ping"]


ClientMessage = Annotated[Subscribe | Unsubscribe | ClientPing, Field(discriminator="type")]
_CLIENT_ADAPTER: TypeAdapter[Subscribe | Unsubscribe | ClientPing] = TypeAdapter(ClientMessage)
_CLIENT_TYPES = ("subscribe", "unsubscribe", "ping")


def _describe(error: ValidationError) -> str:
    """The first validation problem, phrased as what to fix."""
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"][1:]) or "message"
    hints = {
        "runs": "'runs' must be a list of run ids, e.g. "
        '{"type": "subscribe", "runs": ["a1b2"]}',
        "projects": "'projects' must be a list of project names, e.g. "
        '{"type": "subscribe", "projects": ["digits"]}',
        "resume": "'resume' maps run ids to cursors, e.g. "
        '{"resume": {"a1b2": [{"key": "loss", "scope": "batch", "last_step": 99}]}}',
    }
    top = str(first["loc"][1]) if len(first["loc"]) > 1 else ""
    hint = hints.get(top, "")
    detail = f"{where}: {first['msg']}"
    return f"{hint} ({detail})" if hint else detail


def parse_client_message(text: str) -> Subscribe | Unsubscribe | ClientPing:
    """Parse and validate one client message, or raise `ProtocolError` saying what to fix."""
    if len(text) > MAX_CLIENT_MESSAGE_CHARS:
        raise ProtocolError(
            f"a message may have at most {MAX_CLIENT_MESSAGE_CHARS} characters. "
            f"Received: {len(text)} characters",
            text,
        )
    try:
        raw: Any = json.loads(text)
    except ValueError as error:
        raise ProtocolError(f"a message must be a JSON object: {error}", text)
    if not isinstance(raw, dict):
        raise ProtocolError(
            f"a message must be a JSON object with a 'type'. Received a {type(raw).__name__}", text
        )
    kind = raw.get("type")
    if kind not in _CLIENT_TYPES:
        raise ProtocolError(
            f"'type' must be one of {', '.join(repr(t) for t in _CLIENT_TYPES)}. "
            f"Received: type={kind!r}",
            text,
        )
    try:
        message = _CLIENT_ADAPTER.validate_python(raw)
    except ValidationError as error:
        raise ProtocolError(_describe(error), text)
    if isinstance(message, Subscribe):
        cursors = sum(len(c) for c in message.resume.values())
        if cursors > MAX_RESUME_CURSORS:
            raise ProtocolError(
                f"'resume' may hold at most {MAX_RESUME_CURSORS} cursors. Received: {cursors}",
                text,
            )
    return message


def json_subscribe(runs: list[str], projects: list[str]) -> str:
    """The subscribe message equivalent to `?run=...&project=...` on the websocket URL."""
    return json.dumps({"type": "subscribe", "runs": runs, "projects": projects})


# --- server → client ---------------------------------------------------------------------


class Hello(BaseModel):
    """Example: {"type": "hello", "protocol": 1, "coalesce_s": 0.05, "ping_interval_s": 20.0}"""

    type: Literal["hello"] = "hello"
    protocol: int = PROTOCOL_VERSION
    coalesce_s: float
    ping_interval_s: float


class Subscribed(BaseModel):
    """Example: {"type": "subscribed", "runs": ["a1b2"], "projects": [], "unknown_runs": []}"""

    type: Literal["subscribed"] = "subscribed"
    runs: list[str]
    projects: list[str]
    unknown_runs: list[str]
    layouts: list[str] = Field(default_factory=list)


class Points(BaseModel):
    """New points of one series, columnar like the REST ingest body.

    Example: {"type": "points", "run_id": "a1b2", "key": "loss", "scope": "epoch",
              "steps": [3], "values": [0.29], "times": [1732354901.0], "epochs": null,
              "replay": false}
    """

    type: Literal["points"] = "points"
    run_id: str
    key: str
    scope: schemas.Scope
    steps: list[int]
    values: list[WireFloat]
    times: list[float]
    epochs: list[int | None] | None
    replay: bool = False


class RunChanged(BaseModel):
    """Example: {"type": "run", "run": {"id": "a1b2", "status": "finished", ...}}"""

    type: Literal["run"] = "run"
    run: schemas.RunPublic


class SeriesChanged(BaseModel):
    """Example: {"type": "series", "run_id": "a1b2", "project": "digits", "series": [...]}"""

    type: Literal["series"] = "series"
    run_id: str
    project: str
    series: list[schemas.SeriesPublic]


class RunDeleted(BaseModel):
    """Example: {"type": "run_deleted", "run_id": "a1b2", "project": "digits"}"""

    type: Literal["run_deleted"] = "run_deleted"
    run_id: str
    project: str


class LayoutChanged(BaseModel):
    """Example: {"type": "layout", "layout": {"project": "digits", "page": "run", ...}}"""

    type: Literal["layout"] = "layout"
    layout: schemas.ProjectLayoutPublic


class Resync(BaseModel):
    """Example: {"type": "resync", "reason": "queue overflow", "runs": ["a1b2"], "projects": []}"""

    type: Literal["resync"] = "resync"
    reason: str
    runs: list[str]
    projects: list[str]


class Error(BaseModel):
    """Example: {"type": "error", "detail": "...", "received": "{\\"type\\": \\"subscrib\\"}"}"""

    type: Literal["error"] = "error"
    detail: str
    received: str


class Ping(BaseModel):
    """Example: {"type": "ping", "time": 1732354900.5}"""

    type: Literal["ping"] = "ping"
    time: float


class Pong(BaseModel):
    """Example: {"type": "pong"}"""

    type: Literal["pong"] = "pong"


ServerMessage = (
    Hello | Subscribed | Points | RunChanged | SeriesChanged | RunDeleted | LayoutChanged | Resync | Error
    | Ping | Pong
)


def encode(message: ServerMessage) -> str:
    """JSON text of a server message (non-finite values as "NaN"/"Infinity" strings)."""
    return message.model_dump_json()
