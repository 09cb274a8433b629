"""`create_app(settings)`: engine and sessions on app.state, migrations, live hub, routers, static files."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware.cors import CORSMiddleware

from fitwatch_server import schemas
from fitwatch_server.api.auth import Authenticator, get_principal, warn_if_no_way_in
from fitwatch_server.api.body_limit import BodyLimitMiddleware
from fitwatch_server.api.deps import AUTHORIZED
from fitwatch_server.api.edge import EdgeMiddleware
from fitwatch_server.api.errors import install_error_handlers
from fitwatch_server.api.headers import SecurityHeadersMiddleware
from fitwatch_server.api.points_fast_path import PointsFastPath
from fitwatch_server.api.retention import purge_periodically
from fitwatch_server.api.routes import (
    admin,
    auth,
    export,
    live,
    metrics,
    points,
    projects,
    remote_monitor,
    runs,
    series,
    tokens,
    trash,
)
from fitwatch_server.db import make_engine, make_sessionmaker, make_write_sessionmaker
from fitwatch_server.live import make_hub
from fitwatch_server.migrate import upgrade_engine
from fitwatch_server.settings import Settings
from fitwatch_server.static import mount_dashboard
from fitwatch_server.store.point_data.writer import IngestWriter

API_PREFIX = "/api/v1"


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the models of bodies that routes parse themselves."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        extra = schemas.PointBatchIn.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(extra.pop("$defs", {}))
        components["PointBatchIn"] = extra
        components["RemoteMonitorEpoch"] = remote_monitor.RemoteMonitorEpoch.model_json_schema()
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(
        settings.database_url,
        lock_timeout_s=settings.lock_timeout_s,
        sqlite_mmap_bytes=settings.sqlite_mmap_bytes,
    )
    factory = make_sessionmaker(engine)
    write_factory = make_write_sessionmaker(engine)
    hub = make_hub(settings, factory)
    writer = IngestWriter(write_factory, max_series_per_run=settings.max_series_per_run)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            upgrade_engine(engine, point_partitions=settings.point_partitions)
        writer.start()
        warn_if_no_way_in(settings, factory)
        await hub.start()
        # Retention on a schedule (FITWATCH_PURGE_OLDER_THAN_DAYS; 0 = off).
        purger = (
            asyncio.create_task(purge_periodically(settings, write_factory, hub))
            if settings.purge_older_than_days > 0 else None
        )
        try:
            yield
        finally:
            if purger is not None:
                purger.cancel()
                with suppress(asyncio.CancelledError):
                    await purger
            await hub.stop()
            writer.stop()
            engine.dispose()

    app = FastAPI(
        title="fitwatch",
        summary="Live training metrics for Keras: runs, series and points.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = factory
    app.state.write_sessionmaker = write_factory
    app.state.writer = writer
    app.state.hub = hub
    app.state.authenticator = Authenticator(settings, factory, write_factory)

    # Every route under the API router needs the scope its method implies (api/auth.py),
    # so a new route is protected the moment it is added.
    api = APIRouter(prefix=API_PREFIX, dependencies=[AUTHORIZED])
    for module in (runs, trash, points, series, metrics, export, projects, live, tokens, remote_monitor, admin):
        api.include_router(module.router)
    app.include_router(api)
    # Keras's RemoteMonitor posts to /publish/epoch/end/ by default: the same guard applies.
    app.include_router(remote_monitor.keras_default_router, dependencies=[AUTHORIZED])
    # Signing in and out needs a valid credential of any scope (a read session signs out).
    app.include_router(auth.router, prefix=API_PREFIX, dependencies=[Depends(get_principal)])
    install_error_handlers(app)
    # Innermost first: the points hot path, body limit, CORS (only if configured), the edge
    # checks, headers.
    app.add_middleware(PointsFastPath, prefix=API_PREFIX)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Content-Encoding"],
            # Cookies stay same-origin: other origins authenticate with a bearer token.
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(EdgeMiddleware, settings=settings)
    app.add_middleware(SecurityHeadersMiddleware)
    mount_dashboard(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
