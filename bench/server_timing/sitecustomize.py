"""Bench only (bench/compare_paint_breakdown.py and bench/soak.py put this folder on the server's PYTHONPATH):
a `Server-Timing: app;dur=…` header on every HTTP response, the time from the request's
arrival in the app to the start of its response, so that the browser's resource timings say
how much of a request's wait was the server's."""

from __future__ import annotations

import time
from typing import Any

import fastapi

_call = fastapi.FastAPI.__call__


async def _timed_call(self: fastapi.FastAPI, scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        await _call(self, scope, receive, send)
        return
    started = time.perf_counter()

    async def timed_send(message: Any) -> None:
        if message["type"] == "http.response.start":
            duration = (time.perf_counter() - started) * 1000
            header = (b"server-timing", f"app;dur={duration:.1f}".encode())
            message = {**message, "headers": [*message.get("headers", []), header]}
        await send(message)

    await _call(self, scope, receive, timed_send)


fastapi.FastAPI.__call__ = _timed_call  # type: ignore[method-assign]
