"""Run the server under uvicorn (`fitwatch server`)."""

from __future__ import annotations

import logging

import uvicorn

from fitwatch_server.app import create_app
from fitwatch_server.settings import Settings

logger = logging.getLogger(__name__)


def serve(settings: Settings, *, host: str, port: int, workers: int = 1) -> int:
    if workers != 1:
        logger.error("--workers above 1 is not supported yet; start one worker")
        return 2
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level="info", ws_ping_interval=settings.live_ping_interval_s)
    return 0
