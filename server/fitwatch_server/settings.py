"""Server settings: one `Settings` object, read from `FITWATCH_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Re-exported: the SDK checks a run's config against the same defaults (fitwatch/limits.py).
from fitwatch.limits import DEFAULT_MAX_DOCUMENT_BYTES as DEFAULT_MAX_DOCUMENT_BYTES
from fitwatch.limits import DEFAULT_MAX_DOCUMENT_DEPTH as DEFAULT_MAX_DOCUMENT_DEPTH
from fitwatch_server.db import DEFAULT_LOCK_TIMEOUT_S, DEFAULT_SQLITE_MMAP_BYTES

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
# pydantic refuses to serialise JSON nested deeper than about 250 levels (every response
# that carries the run would then be a 500), so the configurable depth stays well below.
MAX_DOCUMENT_DEPTH = 128
# A bootstrap admin token shorter than this is refused: it must be as hard to guess as the
# tokens `fitwatch token create` makes (docs/security.md).
MIN_ADMIN_TOKEN_CHARS = 32


def _comma_list(value: object) -> list[str] | None:
    """`"a, B,"` or `["a", "B"]` -> `["a", "b"]` (lower-case, blanks dropped); None otherwise."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return None
    return [str(item).strip().lower() for item in value if str(item).strip()]


def default_database_url() -> str:
    """SQLite file under the user's data directory (created on demand)."""
    data_dir = Path(user_data_dir("fitwatch", appauthor=False))
    return f"sqlite:///{data_dir / 'fitwatch.db'}"


class Settings(BaseSettings):
    """Everything the server can be configured with.

    Passed explicitly into `create_app(settings)`; nothing else reads the environment.
    """

    model_config = SettingsConfigDict(env_prefix="FITWATCH_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    # A running run with no heartbeat for this long is reported as `crashed`.
    heartbeat_timeout_s: float = Field(default=120.0, gt=0)
    # Decoded request bodies above this size get a 413 (gzip bodies are measured decoded).
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, gt=0)
    # Upgrade the schema on start; `fitwatch db upgrade` does the same by hand.
    migrate_on_start: bool = True
    # Live hub: how long ingests are coalesced before being pushed to subscribers.
    live_coalesce_s: float = Field(default=0.05, ge=0)
    # Live hub: messages queued per subscriber before it is told to resynchronise.
    live_queue_size: int = Field(default=256, gt=0)
    # Live hub: websocket ping interval.
    live_ping_interval_s: float = Field(default=20.0, gt=0)

    # PostgreSQL: `points` is partitioned by hash of the series id into this many tables when
    # migration 0008 runs (docs/scale.md); changing it later does not repartition.
    point_partitions: int = Field(default=16, ge=1, le=1024)
    # Retention (docs/scale.md): runs with no activity for this many days are deleted on a
    # schedule, every `purge_interval_s`; 0 turns it off. `fitwatch runs purge` does it by hand.
    purge_older_than_days: float = Field(default=0, ge=0)
    purge_interval_s: float = Field(default=3600.0, gt=0)

    # --- security (docs/security.md) ---
    # FITWATCH_AUTH=on: every API request and websocket needs a token or a session cookie.
    # Off is for one person's loopback server; `fitwatch server` refuses a non-loopback
    # address with auth off unless started with --insecure.
    auth: bool = False
    # FITWATCH_ADMIN_TOKEN: an admin credential taken from the environment, for making the
    # first tokens of a fresh deployment (docker-compose.yml). Never stored.
    admin_token: SecretStr | None = None
    # Host header names accepted besides loopback names and IP literals (comma-separated,
    # `*.example.com` matches subdomains); anything else gets a 400 (DNS rebinding).
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Browser origins besides the server's own that may call the API and open the websocket
    # (comma-separated `https://host[:port]`); also the CORS allow-list. Empty: CORS closed.
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A dashboard session cookie lasts this long after sign-in.
    session_max_age_s: int = Field(default=14 * 24 * 3600, gt=0)
    # Requests per second per token (per client address with auth off); 0 turns it off.
    rate_limit_per_s: int = Field(default=200, ge=0)
    # Ceilings, each answered with a 4xx that names it; 0 means no ceiling.
    max_runs_per_project: int = Field(default=100_000, ge=0)
    max_series_per_run: int = Field(default=10_000, ge=0)
    max_points_per_request: int = Field(default=100_000, ge=0)
    # A run's config and its summary (each) may nest this deep and take this many bytes as
    # compact JSON; beyond them a create or update gets a 4xx naming the limit and nothing
    # is stored. A Keras model's config nests about 10 deep (docs/api.md, "Limits").
    max_document_depth: int = Field(default=DEFAULT_MAX_DOCUMENT_DEPTH, ge=1, le=MAX_DOCUMENT_DEPTH)
    max_document_bytes: int = Field(default=DEFAULT_MAX_DOCUMENT_BYTES, gt=0)
    # How long a write waits for a lock held by another writer (SQLite's busy timeout,
    # PostgreSQL's lock_timeout) before it is answered 503 with Retry-After.
    lock_timeout_s: float = Field(default=DEFAULT_LOCK_TIMEOUT_S, gt=0)
    # SQLite: bytes of the database file read through a memory map (`PRAGMA mmap_size`);
    # 0 reads every page with read(), as for a database on a network file system.
    sqlite_mmap_bytes: int = Field(default=DEFAULT_SQLITE_MMAP_BYTES, ge=0)

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        """Accept plain `postgresql://` URLs and pick the psycopg 3 driver for them."""
        value = value.strip()
        if not value:
            raise ValueError("database_url must not be empty")
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        if not (value.startswith("sqlite") or value.startswith("postgresql+")):
            raise ValueError(
                "database_url must be a sqlite:/// or postgresql:// URL. "
                f"Received: {value!r}"
            )
        return value

    @field_validator("admin_token", mode="before")
    @classmethod
    def _check_admin_token(cls, value: object) -> object:
        """Empty means unset (compose passes `${FITWATCH_ADMIN_TOKEN:-}`); short is refused."""
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if isinstance(raw, str) and len(raw.strip()) < MIN_ADMIN_TOKEN_CHARS:
            raise ValueError(
                f"FITWATCH_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_CHARS} characters; make one "
                'with: python -c "import secrets; print(secrets.token_urlsafe(32))". '
                f"Received: {len(raw.strip())} characters"
            )
        return raw.strip() if isinstance(raw, str) else raw

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        hosts = _comma_list(value)
        for host in hosts or []:
            if "/" in host or " " in host:
                raise ValueError(
                    "allowed_hosts takes host names (`fitwatch.example.com`, `*.example.com`), "
                    f"not URLs. Received: {host!r}"
                )
        return value if hosts is None else hosts

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        origins = _comma_list(value)
        for origin in origins or []:
            scheme, _, rest = origin.partition("://")
            if scheme not in ("http", "https") or not rest or "/" in rest.rstrip("/"):
                raise ValueError(
                    "allowed_origins takes origins like `https://notebook.example.com:8888` "
                    f"(scheme, host, optional port; no path). Received: {origin!r}"
                )
        return value if origins is None else [o.rstrip("/") for o in origins]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
