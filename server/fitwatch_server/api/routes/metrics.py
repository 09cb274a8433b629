"""Metrics: the catalog of canonical metrics (spellings, direction, aggregation)."""

from __future__ import annotations

from fastapi import APIRouter

from fitwatch_server import schemas
from fitwatch_server.store import metric_manifest

router = APIRouter(prefix="/metrics", tags=["metrics"])


@router.get("/catalog", response_model=schemas.CatalogPublic)
def read_catalog() -> schemas.CatalogPublic:
    """Every metric the catalog knows: canonical name, aliases, direction, aggregation."""
    return metric_manifest.catalog_public()
