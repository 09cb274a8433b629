"""Serve the dashboard (`web/`) at `/` and Plotly.js from the `plotly` package (no CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

from fitwatch_server.paths import shipped_dir


def plotly_bundle() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"the plotly package has no bundled plotly.min.js at {path}")
    return path


def mount_dashboard(app: FastAPI) -> None:
    bundle = plotly_bundle()

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(bundle, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    app.mount("/", StaticFiles(directory=shipped_dir("web"), html=True), name="web")
