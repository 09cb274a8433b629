"""The metric manifest of runs: stored as the Keras callback sends it, served with catalog
entries for the keys it does not cover (runs logged without the callback, older runs).

The catalog is the SDK's (`fitwatch.metrics.catalog`): one owner of which spelling means
which metric and which way is better. The server reads it; the pages ask the server.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from fitwatch.metrics import catalog
from fitwatch_server import models, schemas

_FIELDS = ("metric", "canonical", "direction", "aggregation", "output", "pair", "validation")


def merge_manifest(
    session: Session, *, run: models.Run, entries: list[schemas.MetricEntry]
) -> None:
    """Add or replace the manifest entries of `run`, by key."""
    found = {m.key: m for m in run.metrics}
    for entry in entries:
        row = found.get(entry.key)
        if row is None:
            row = models.RunMetric(key=entry.key)
            run.metrics.append(row)
            found[entry.key] = row
        for name in _FIELDS:
            setattr(row, name, getattr(entry, name))
    session.flush()


def _from_catalog(key: str, keys: set[str], outputs: list[str]) -> schemas.MetricPublic | None:
    info = catalog.lookup(key, outputs)
    if info is None:
        return None
    # `val_` + a logged key is its validation twin; a key named `val_x` alone is not.
    validation = key.startswith("val_") and key[4:] in keys
    pair = key[4:] if validation else ("val_" + key if "val_" + key in keys else None)
    output = next((o for o in outputs if key.removeprefix("val_").startswith(o + "_")), None)
    return schemas.MetricPublic(
        key=key,
        canonical=info.canonical,
        direction=info.direction,
        aggregation=info.aggregation,
        output=output,
        pair=pair,
        validation=validation,
        source="catalog",
    )


def metrics_public(run: models.Run, series_keys: Iterable[str] = ()) -> list[schemas.MetricPublic]:
    """The run's manifest, plus a catalog entry for each of `series_keys` it lacks."""
    public = [
        schemas.MetricPublic(key=m.key, source="keras", **{n: getattr(m, n) for n in _FIELDS})
        for m in run.metrics
    ]
    covered = {m.key for m in public}
    keys = set(series_keys)
    outputs = sorted({m.output for m in public if m.output}, key=len, reverse=True)
    for key in sorted(keys - covered):
        entry = _from_catalog(key, keys, outputs)
        if entry is not None:
            public.append(entry)
    return public


def aligned_key(entry: schemas.MetricPublic) -> str:
    """The name under which a key lines up across runs: what Keras computed (canonical name,
    its output, `val_` for validation), whatever the run spelled (`acc`, `accuracy`). The
    dashboard names its charts the same way (`alignedKey` in web/js/metrics.js)."""
    if not entry.canonical:
        return entry.key
    return f"{'val_' if entry.validation else ''}{entry.output + '_' if entry.output else ''}{entry.canonical}"


def aligned_keys(run: models.Run, series_keys: Iterable[str]) -> dict[str, str]:
    """Each of the run's `series_keys` -> its aligned name (the key itself when neither the
    manifest nor the catalog knows it)."""
    keys = list(series_keys)
    found = {m.key: aligned_key(m) for m in metrics_public(run, keys)}
    return {key: found.get(key, key) for key in keys}


def catalog_public() -> schemas.CatalogPublic:
    return schemas.CatalogPublic(
        metrics=[
            schemas.CatalogEntry(
                canonical=info.canonical,
                direction=info.direction,
                aggregation=info.aggregation,
                aliases=list(info.aliases),
            )
            for info in catalog.METRICS
        ]
    )
