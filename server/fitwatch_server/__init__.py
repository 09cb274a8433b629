"""fitwatch_server: the FastAPI service that stores runs and serves the dashboard."""

from __future__ import annotations

from fitwatch_server.app import create_app
from fitwatch_server.settings import Settings

__all__ = ["Settings", "create_app"]
