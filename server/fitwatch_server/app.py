"""`create_app(settings)`: engine and sessions on app.state, migrations, live hub, routers, static files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from fitwatch_server import schemas
from fitwatch_server.api.body_limit import BodyLimitMiddleware
from fitwatch_server.api.errors import install_error_handlers
from fitwatch_server.api.routes import export, live, points, projects, runs, series
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
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    write_factory = make_write_sessionmaker(engine)
    hub = make_hub(settings, factory)
    writer = IngestWriter(write_factory)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            upgrade_engine(engine)
        writer.start()
        await hub.start()
        try:
            yield
        finally:
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

    api = APIRouter(prefix=API_PREFIX)
    for module in (runs, points, series, export, projects, live):
        api.include_router(module.router)
    app.include_router(api)
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    mount_dashboard(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
