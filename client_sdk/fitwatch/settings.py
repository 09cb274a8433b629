"""Client settings: where the server is, how the sender batches, where journals live.

Read once, in `init()`, from arguments first and `FITWATCH_*` environment variables second
(no pydantic-settings in the SDK: it goes into people's training environments).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from fitwatch.limits import DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_DOCUMENT_DEPTH

DEFAULT_URL = "http://127.0.0.1:8000"
# A short interval keeps the dashboard live (the goal is < 300 ms from a batch to the
# REST API) while batching hundreds of steps per request at ~1.5 ms per step.
FLUSH_INTERVAL_S = 0.1
MAX_POINTS_PER_REQUEST = 20_000
HEARTBEAT_INTERVAL_S = 15.0
FINISH_TIMEOUT_S = 15.0
# Longer than the server ever takes to answer a write: the ingest writer refuses a batch
# that waited 10 s for it (503, Retry-After), and SQLite waits 5 s for its lock, so ~16 s
# at worst. A client that gave up first would resend a batch the server is still about to
# store (issue 8: both were 10 s). docs/scale.md, "How long a write may take".
REQUEST_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 2.0
RETRY_BASE_S = 0.25
RETRY_MAX_S = 15.0
GZIP_MIN_BYTES = 16 * 1024
SYSTEM_METRICS_INTERVAL_S = 5.0
_OFF = ("0", "off", "false", "no")


class Mode(StrEnum):
    """`online` streams to the server (journal on disk as the safety net); `offline`
    only writes the journal, for `fitwatch sync` later."""

    online = "online"
    offline = "offline"


def default_journal_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "fitwatch" / "journal"


@dataclass(frozen=True)
class ClientSettings:
    url: str = DEFAULT_URL
    token: str | None = None
    mode: Mode = Mode.online
    journal_dir: Path = field(default_factory=default_journal_dir)
    flush_interval_s: float = FLUSH_INTERVAL_S
    max_points_per_request: int = MAX_POINTS_PER_REQUEST
    heartbeat_interval_s: float = HEARTBEAT_INTERVAL_S
    finish_timeout_s: float = FINISH_TIMEOUT_S
    request_timeout_s: float = REQUEST_TIMEOUT_S
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    retry_base_s: float = RETRY_BASE_S
    retry_max_s: float = RETRY_MAX_S
    # The `system` scope (fitwatch/system_metrics.py); FITWATCH_SYSTEM_METRICS=off turns it off.
    system_metrics: bool = True
    system_metrics_interval_s: float = SYSTEM_METRICS_INTERVAL_S
    # The server's limits on a run's config and summary (fitwatch/limits.py): its defaults,
    # replaced by what the server says in `GET /auth/whoami` when a run starts (access.py).
    max_document_depth: int = DEFAULT_MAX_DOCUMENT_DEPTH
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://. Received: url={self.url!r}")
        for name in (
            "flush_interval_s",
            "heartbeat_interval_s",
            "request_timeout_s",
            "connect_timeout_s",
            "retry_base_s",
            "retry_max_s",
            "system_metrics_interval_s",
        ):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be a positive number. Received: {name}={value!r}")
        if self.finish_timeout_s < 0:
            raise ValueError(
                f"finish_timeout_s must be >= 0. Received: finish_timeout_s={self.finish_timeout_s!r}"
            )
        if self.token is not None and (
            not self.token.isascii() or not self.token.isprintable() or " " in self.token
        ):
            raise ValueError(
                "token must be one word of printable ASCII (as `fitwatch token create` prints it). "
                f"Received a token of {len(self.token)} characters starting with {self.token[:3]!r}"
            )
        for name in ("max_points_per_request", "max_document_depth", "max_document_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int. Received: {name}={value!r}")

    @classmethod
    def load(
        cls,
        *,
        url: str | None = None,
        mode: str | None = None,
        journal_dir: str | os.PathLike[str] | None = None,
        token: str | None = None,
        **overrides: Any,
    ) -> ClientSettings:
        """Arguments win over `FITWATCH_URL`, `FITWATCH_MODE`, `FITWATCH_DIR`, `FITWATCH_TOKEN`."""
        env = os.environ
        raw_mode = mode if mode is not None else env.get("FITWATCH_MODE", Mode.online.value)
        try:
            parsed_mode = Mode(raw_mode)
        except ValueError:
            raise ValueError(f"mode must be 'online' or 'offline'. Received: mode={raw_mode!r}")
        directory = journal_dir if journal_dir is not None else env.get("FITWATCH_DIR")
        settings = cls(
            url=(url or env.get("FITWATCH_URL") or DEFAULT_URL).rstrip("/"),
            token=(token or env.get("FITWATCH_TOKEN") or "").strip() or None,
            mode=parsed_mode,
            journal_dir=Path(directory) if directory else default_journal_dir(),
            system_metrics=env.get("FITWATCH_SYSTEM_METRICS", "on").strip().lower() not in _OFF,
        )
        return replace(settings, **overrides) if overrides else settings
