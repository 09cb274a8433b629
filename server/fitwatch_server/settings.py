"""Server settings: one `Settings` object, read from `FITWATCH_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024


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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
