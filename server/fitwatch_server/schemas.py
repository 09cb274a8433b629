"""Pydantic wire models for the REST API (kept apart from the ORM models)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictFloat, model_validator

# The field and point rules are fitwatch.limits's, which the SDK checks before it sends:
# a run's fields in init(), every point before it is queued.
from fitwatch.limits import (
    MAX_TAGS,
    NOTES_MAX_CHARS,
    NUL,
    SERIES_PER_REQUEST_MAX,
    STEP_MAX,
    text_problem,
)
from fitwatch.limits import RUN_ID_PATTERN as RUN_ID_PATTERN
from fitwatch.scopes import Scope as Scope  # re-exported: the wire models use it
from fitwatch_server.models import EPOCH_MAX, KEY_MAX_CHARS, RUN_ID_MAX_CHARS
from fitwatch_server.values import WireFloat, WireFloatList


class RunStatus(StrEnum):
    running = "running"
    finished = "finished"
    failed = "failed"
    crashed = "crashed"


def _check_text(value: str, what: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(f"{what} {problem}. Received: {value!r}")
    return value


def _check_key(value: str) -> str:
    return _check_text(value, "a key")


def _check_name(value: str) -> str:
    return _check_text(value, "a name")


def _check_notes(value: str) -> str:
    # PostgreSQL text cannot hold NUL (a 500 there); other control characters (newlines,
    # tabs) belong in notes.
    if NUL in value:
        raise ValueError("notes must not contain the NUL character (\\u0000)")
    return value


def _check_run_id(value: str) -> str:
    if not RUN_ID_PATTERN.match(value):
        raise ValueError(
            f"a run id is 1-{RUN_ID_MAX_CHARS} characters of A-Z, a-z, 0-9, '_' and '-'. "
            f"Received: {value!r}"
        )
    return value


Key = Annotated[str, Field(min_length=1, max_length=KEY_MAX_CHARS), AfterValidator(_check_key)]
Name = Annotated[str, Field(min_length=1, max_length=KEY_MAX_CHARS), AfterValidator(_check_name)]
Tag = Annotated[str, Field(min_length=1, max_length=KEY_MAX_CHARS), AfterValidator(_check_name)]
RunId = Annotated[str, AfterValidator(_check_run_id)]
Notes = Annotated[str, Field(max_length=NOTES_MAX_CHARS), AfterValidator(_check_notes)]
Step = Annotated[int, Field(ge=0, le=STEP_MAX)]


class MetricEntry(BaseModel):
    """One logged key in the metric manifest (what Keras computed under that name)."""

    model_config = ConfigDict(extra="forbid")

    key: Key
    metric: Name | None = Field(
        default=None, description="Keras class or function, e.g. BinaryAccuracy"
    )
    canonical: Name | None = Field(default=None, description="the catalog's name, e.g. accuracy")
    direction: Literal["min", "max"] | None = Field(default=None, description="which way is better")
    aggregation: Literal["mean", "state"] | None = Field(
        default=None,
        description="mean: per-batch values are running means; state: a ratio of state",
    )
    output: Name | None = Field(default=None, description="the model output the key belongs to")
    pair: Key | None = Field(default=None, description="the other key of the train/val_ pair")
    validation: bool = False


class MetricPublic(MetricEntry):
    source: Literal["keras", "catalog"] = Field(
        description="keras: sent by the callback; catalog: looked up from the key's spelling"
    )


class CatalogEntry(BaseModel):
    canonical: str
    direction: Literal["min", "max"]
    aggregation: Literal["mean", "state"]
    aliases: list[str]


class CatalogPublic(BaseModel):
    metrics: list[CatalogEntry]


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: Name = "default"
    name: Name | None = None
    id: RunId | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    notes: Notes = ""


class RunUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    project: Name | None = Field(
        default=None, description="move the run to this project (created if new)"
    )
    status: RunStatus | None = None
    notes: Notes | None = None
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)
    summary: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    # The metric manifest (merged by key); the Keras callback sends it after the first batch.
    metrics: list[MetricEntry] | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _crashed_is_derived(self) -> RunUpdate:
        if self.status is RunStatus.crashed:
            raise ValueError(
                "status 'crashed' is derived from missing heartbeats and cannot be set; "
                "use 'running', 'finished' or 'failed'"
            )
        return self


class SeriesPublic(BaseModel):
    key: str
    scope: Scope
    count: int
    first_step: int
    last_step: int
    last_value: WireFloat
    last_wall_time: float
    min_value: WireFloat | None
    min_step: int | None
    max_value: WireFloat | None
    max_step: int | None


class SeriesList(BaseModel):
    series: list[SeriesPublic]


class RunPublic(BaseModel):
    id: str
    project: str
    name: str
    status: RunStatus
    config: dict[str, Any]
    summary: dict[str, Any]
    tags: list[str]
    notes: str
    created_at: datetime
    ended_at: datetime | None
    heartbeat_at: datetime
    deleted_at: datetime | None = Field(
        default=None, description="set while the run is in the trash"
    )
    series: list[SeriesPublic] | None = None
    # The manifest, and with `series` a catalog entry for every other key it knows.
    metrics: list[MetricPublic] = Field(default_factory=list)


class RunsPublic(BaseModel):
    runs: list[RunPublic]
    total: int


class RunGroupMembers(BaseModel):
    """One group of `GET /runs?group_by=`: the runs whose group_by fields have these values."""

    label: str
    values: dict[str, Any] = Field(description="the group_by fields whose values tell the groups apart")
    run_ids: list[str]


class RunsGroupedPublic(RunsPublic):
    """`GET /runs?group_by=`: every matching run (one page holds them all) and their groups."""

    group_by: list[str]
    groups: list[RunGroupMembers]


class ProjectPublic(BaseModel):
    name: str
    run_count: int = Field(description="runs outside the trash")
    last_run_at: datetime | None
    trashed_count: int = Field(default=0, description="runs of the project in the trash")


class ProjectsPublic(BaseModel):
    projects: list[ProjectPublic]


MAX_RUNS_PER_REQUEST = 1000


class RunIdsIn(BaseModel):
    """Several runs at once (move to the trash, restore, purge)."""

    model_config = ConfigDict(extra="forbid")

    runs: list[RunId] = Field(min_length=1, max_length=MAX_RUNS_PER_REQUEST)


class RunIdsPublic(BaseModel):
    """The runs a bulk request changed."""

    runs: list[str]


class SeriesPointsIn(BaseModel):
    """Points of one series in columnar form: the i-th step, value, time (and epoch) go together."""

    model_config = ConfigDict(extra="forbid")

    key: Key
    scope: Scope
    steps: list[Step]
    values: WireFloatList
    # Wall times are seconds since 1970: a NaN there is a broken clock, not data (unlike
    # values), and the column cannot hold it.
    times: list[Annotated[StrictFloat, Field(allow_inf_nan=False)]]
    epochs: list[Annotated[int, Field(ge=0, le=EPOCH_MAX)]] | None = None

    @model_validator(mode="after")
    def _columns_have_one_length(self) -> SeriesPointsIn:
        count = len(self.steps)
        # The message's dict is built only for a refusal: this runs for every series posted.
        if (
            len(self.values) != count
            or len(self.times) != count
            or (self.epochs is not None and len(self.epochs) != count)
        ):
            lengths = {"steps": count, "values": len(self.values), "times": len(self.times)}
            if self.epochs is not None:
                lengths["epochs"] = len(self.epochs)
            raise ValueError(
                f"steps, values, times and epochs must have the same length. Received lengths: {lengths}"
            )
        if not self.steps:
            raise ValueError("a series in a batch needs at least one point")
        return self


class PointBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    series: list[SeriesPointsIn] = Field(min_length=1, max_length=SERIES_PER_REQUEST_MAX)


class IngestResult(BaseModel):
    points: int
    series: int


class PurgeRequest(BaseModel):
    """Delete every run (of `project`, else of every project) with no activity (no ingest,
    heartbeat or update) for `older_than_days`."""

    model_config = ConfigDict(extra="forbid")

    older_than_days: float = Field(gt=0, le=365_000)
    project: Name | None = None


class PurgeResult(BaseModel):
    """What a purge freed."""

    cutoff: datetime
    runs: int
    series: int
    points: int
    run_ids: list[str]


class SeriesPointsPublic(BaseModel):
    run_id: str
    key: str
    scope: Scope
    steps: list[int]
    values: list[WireFloat]
    times: list[float]
    epochs: list[int | None] | None
    count: int
    downsampled: bool


class MultiSeriesPublic(BaseModel):
    series: list[SeriesPointsPublic]


class GroupSeriesPublic(BaseModel):
    """One key of one group: per step bucket, figures over the runs that have a value there."""

    key: str
    logged_keys: list[str] = Field(
        description="the runs' own keys in these figures (acc and accuracy with align=metric)"
    )
    steps: list[int] = Field(description="each bucket's first step")
    count: list[int] = Field(description="runs with a value in the bucket")
    mean: list[WireFloat]
    std: list[WireFloat] = Field(description="population standard deviation (ddof=0)")
    min: list[WireFloat]
    max: list[WireFloat]


class GroupAlign(StrEnum):
    """How /series/groups reads each run's keys: as named, or by the metric Keras computed."""

    key = "key"
    metric = "metric"


class RunGroupPublic(BaseModel):
    label: str
    values: dict[str, Any] = Field(
        description="the group_by fields whose values tell the groups apart"
    )
    run_ids: list[str]
    series: list[GroupSeriesPublic]


class SeriesGroupsPublic(BaseModel):
    scope: Scope
    group_by: list[str]
    step_width: int = Field(description="steps per bucket (a power of two; 1: every step)")
    runs: int = Field(description="runs the filter matched")
    groups: list[RunGroupPublic]


# --- chart layouts (docs/dashboard.md) ---

# A page rarely has more than a few dozen charts; the bounds keep a layout small enough to
# read on every page open.
MAX_LAYOUT_CHARTS = 500
MAX_LAYOUT_BYTES = 64 * 1024


class LayoutPage(StrEnum):
    """The page kinds that keep a chart layout per project."""

    run = "run"
    compare = "compare"


def _unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"each chart may appear once. Received {value!r} twice")
        seen.add(value)
    return values


ChartIds = Annotated[
    list[Key],
    Field(max_length=MAX_LAYOUT_CHARTS, description="chart ids (a chart's metric key)"),
    AfterValidator(_unique),
]


class LayoutDocument(BaseModel):
    """What a page keeps of its charts: the order people put them in, and the hidden ones.

    Charts are named by their id (the metric key a chart is titled with, `loss` for
    loss/val_loss). A chart not in `order` comes after those that are, in the page's own
    order; ids of charts a page does not have are kept (another run may have them).
    """

    model_config = ConfigDict(extra="forbid")

    order: ChartIds = Field(default_factory=list)
    hidden: ChartIds = Field(default_factory=list)


class ProjectLayoutPublic(LayoutDocument):
    model_config = ConfigDict(extra="ignore")

    project: str
    page: LayoutPage
    updated_at: datetime | None = Field(description="null: never saved (the page's own order)")


# --- tokens and sign-in (docs/security.md) ---


class TokenScope(StrEnum):
    """What a token may do; each scope includes the ones before it."""

    read = "read"
    write = "write"
    admin = "admin"


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    scope: TokenScope
    project: Name | None = None


class TokenPublic(BaseModel):
    id: int
    name: str
    scope: TokenScope
    project: str | None
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    """The one answer that carries the token itself; it cannot be read back later."""

    token: str


class TokensPublic(BaseModel):
    tokens: list[TokenPublic]


class ServerLimits(BaseModel):
    """The server's ceilings (0: none), so clients can stay under them."""

    rate_limit_per_s: int
    max_runs_per_project: int
    max_series_per_run: int
    max_points_per_request: int
    # How deep and how large a run's config or summary may be (`store/documents.py`).
    max_document_depth: int
    max_document_bytes: int


class WhoAmI(BaseModel):
    """Who the caller is to the server and what it may do."""

    auth: bool = Field(
        description="false: the server runs with FITWATCH_AUTH=off (everyone is admin)"
    )
    name: str
    scope: TokenScope
    project: str | None = Field(
        description="the only project this caller sees; null: every project"
    )
    via: str = Field(
        description="token, session, bootstrap (FITWATCH_ADMIN_TOKEN) or local (auth off)"
    )
    limits: ServerLimits
