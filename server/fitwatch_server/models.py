"""SQLAlchemy ORM tables: projects (and their chart layouts), runs, run tags, series (with their
summary), points, tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Shared with the SDK, which checks a run's fields and every point against them before
# sending (fitwatch/limits.py; EPOCH_MAX because `points.epoch` is a 32-bit INTEGER on
# PostgreSQL).
from fitwatch.limits import EPOCH_MAX as EPOCH_MAX
from fitwatch.limits import KEY_MAX_CHARS as KEY_MAX_CHARS
from fitwatch.limits import RUN_ID_MAX_CHARS as RUN_ID_MAX_CHARS

# BIGINT on both backends: a step, count or offset beyond it cannot even be a query parameter.
BIGINT_MAX = 2**63 - 1

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(KEY_MAX_CHARS), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    runs: Mapped[list[Run]] = relationship(back_populates="project", passive_deletes=True)


class ProjectLayout(Base):
    """The chart layout of one page kind of a project (issue 11): which charts, in which
    order, which are hidden. One row per (project, page); `document` is the validated
    `schemas.LayoutDocument`. Keyed by the project's row, so deleting the project (the
    foreign key cascades on both backends) takes its layouts with it."""

    __tablename__ = "project_layouts"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    page: Mapped[str] = mapped_column(String(16), primary_key=True)  # run, compare
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_project_created", "project_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(RUN_ID_MAX_CHARS), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(KEY_MAX_CHARS))
    # Stored: running, finished, failed. `crashed` is derived from heartbeat_at when read.
    status: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # In the trash since then (issue 11): hidden from listings, restorable until purged.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    project: Mapped[Project] = relationship(back_populates="runs", lazy="joined")
    tags: Mapped[list[RunTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin", order_by="RunTag.tag"
    )
    metrics: Mapped[list[RunMetric]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
        order_by="RunMetric.key",
    )


class RunTag(Base):
    """One tag of one run; a table (not a JSON list) so `tags in (...)` is an indexed join."""

    __tablename__ = "run_tags"
    __table_args__ = (Index("ix_run_tags_tag", "tag"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(KEY_MAX_CHARS), primary_key=True)


class RunMetric(Base):
    """The metric manifest: what Keras computed for one logged key of a run, as the callback
    read it from the compiled model (the key alone cannot tell: `acc` is binary, categorical
    or sparse categorical accuracy by the loss and the output's shape)."""

    __tablename__ = "run_metrics"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX_CHARS), primary_key=True)
    # The Keras class (BinaryAccuracy) or function (a custom metric's __name__); for losses
    # the loss as compiled (binary_crossentropy).
    metric: Mapped[str | None] = mapped_column(String(KEY_MAX_CHARS), nullable=True)
    canonical: Mapped[str | None] = mapped_column(String(KEY_MAX_CHARS), nullable=True)
    direction: Mapped[str | None] = mapped_column(String(8), nullable=True)  # min, max
    aggregation: Mapped[str | None] = mapped_column(String(8), nullable=True)  # mean, state
    output: Mapped[str | None] = mapped_column(String(KEY_MAX_CHARS), nullable=True)
    # The other key of the train/validation pair (`val_acc` for `acc` and back).
    pair: Mapped[str | None] = mapped_column(String(KEY_MAX_CHARS), nullable=True)
    validation: Mapped[bool] = mapped_column(Boolean, default=False)


class Series(Base):
    """One metric of one run at one cadence, with a summary kept up to date on ingest.

    The summary columns let the runs table and the filter language read last/min/max
    without scanning points. `last_value` NULL means NaN (a series always has a point);
    `min_value`/`max_value` ignore NaN and are NULL when every value is NaN.
    """

    __tablename__ = "series"
    # AUTOINCREMENT: SQLite would otherwise hand a deleted series' id to the next series, and
    # any row left keyed by the old id would join the new series (issue 8). PostgreSQL's
    # sequence never reuses ids.
    __table_args__ = (
        UniqueConstraint("run_id", "key", "scope", name="uq_series_run_key_scope"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(KEY_MAX_CHARS))
    scope: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    first_step: Mapped[int] = mapped_column(BigInteger)
    last_step: Mapped[int] = mapped_column(BigInteger)
    last_value: Mapped[float | None] = mapped_column(Double, nullable=True)
    last_wall_time: Mapped[float] = mapped_column(Double)
    min_value: Mapped[float | None] = mapped_column(Double, nullable=True)
    min_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    max_value: Mapped[float | None] = mapped_column(Double, nullable=True)
    max_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Point(Base):
    """A point keyed by (series, step): writing it again overwrites it (idempotent resends).

    `value` NULL encodes NaN: SQLite turns NaN into NULL anyway, so one encoding serves both
    backends. No foreign key: it would cost a parent lookup per inserted row on the hottest
    path; `store.point_data.deletes` removes points with their series. On SQLite the table is
    WITHOUT ROWID, so the primary key is the table (no second b-tree, fewer bytes per point).
    On PostgreSQL the table is partitioned by hash of `series_id` (issue 13).
    """

    __tablename__ = "points"
    # PostgreSQL: partitioned by hash of the series id (migration 0008, `point_partitions`
    # partitions), so a read of one series touches one partition.
    __table_args__ = {"sqlite_with_rowid": False, "postgresql_partition_by": "HASH (series_id)"}

    series_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    step: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    value: Mapped[float | None] = mapped_column(Double, nullable=True)
    wall_time: Mapped[float] = mapped_column(Double)
    epoch: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PointRollup(Base):
    """Min, max and a NaN marker per bucket of steps of a series, kept up to date on ingest.

    Reading a long series downsampled would otherwise mean reading every point (about 0.5 s
    per million rows on SQLite). These buckets are MinMaxLTTB's min/max preselection done
    ahead of time: a read takes the min and max point of each bucket and runs LTTB on those.
    `bucket_size` is one of `store.point_data.rollups.BUCKET_SIZES`; `bucket` is `step // bucket_size`.
    On PostgreSQL the table has fillfactor 70 (migration 0010), so the ingest's updates of the
    latest buckets stay on their page (HOT, no new index entry).
    """

    __tablename__ = "point_rollups"
    __table_args__ = {"sqlite_with_rowid": False}

    series_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    bucket_size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)
    min_value: Mapped[float | None] = mapped_column(Double, nullable=True)
    min_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    max_value: Mapped[float | None] = mapped_column(Double, nullable=True)
    max_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The first NaN in the bucket, so a downsampled chart still shows the gap.
    nan_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Token(Base):
    """An API token: only its SHA-256 is kept (the token itself is shown once, at creation).

    `scope` is read, write or admin; `project` NULL means every project. A revoked token
    keeps its row (so listings show it and the audit trail stays) with `revoked_at` set.
    """

    __tablename__ = "tokens"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_tokens_token_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(KEY_MAX_CHARS))
    scope: Mapped[str] = mapped_column(String(16))
    project: Mapped[str | None] = mapped_column(String(KEY_MAX_CHARS), nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    # The first characters of the token, so a listing can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebSession(Base):
    """A dashboard sign-in: the cookie holds a random secret, this row its SHA-256.

    A session acts with its token's scope and project; revoking the token ends its sessions.
    """

    __tablename__ = "web_sessions"

    secret_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
