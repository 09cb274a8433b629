"""The metric manifest: for every key Keras logs, the metric it computed under that name.

The key alone cannot say: `acc` is binary, categorical or sparse categorical accuracy by the
loss and the output's shape, and a custom function or a metric named `val_x` defeats any
parsing (docs/keras.md, "The metric manifest"). The compiled model knows, so the manifest is read from it
after the first batch (before that, Keras has not built its metrics), naming keys exactly as
Keras's `CompileMetrics.result()` does: `<output>_` prefixes, `_1` dedupe suffixes,
`weighted_` for weighted metrics that collide.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fitwatch.keras_introspection import describe, flat_metrics
from fitwatch.metrics import catalog

_DIRECTIONS = {"up": "max", "down": "min"}


def _compiled_by_key(model: Any) -> dict[str, tuple[Any, str | None]]:
    """{logged key: (metric object, output name)} for the compiled metrics."""
    found: dict[str, tuple[Any, str | None]] = {}
    for compiled in getattr(model, "metrics", []):
        if type(compiled).__name__ != "CompileMetrics":
            continue
        counters: dict[str, int] = {}
        for weighted, lists in (
            (False, getattr(compiled, "_flat_metrics", None) or []),
            (True, getattr(compiled, "_flat_weighted_metrics", None) or []),
        ):
            for metrics_list in lists:
                if not metrics_list:
                    continue
                output = getattr(metrics_list, "output_name", None)
                prefix = f"{output}_" if output else ""
                for metric in metrics_list.metrics:
                    name = prefix + metric.name
                    if name in counters:
                        if weighted:
                            name = f"{prefix}weighted_{metric.name}"
                        if name in counters:
                            index = counters[name]
                            counters[name] += 1
                            name = f"{name}_{index}"
                        else:
                            counters[name] = 1
                    else:
                        counters[name] = 1
                    found[name] = (metric, output)
    if not found:
        # Another Keras layout: match the flat metric names (no output prefixes known).
        for metric in flat_metrics(model):
            found.setdefault(metric.name, (metric, None))
    return found


def _is_mean(metric: Any) -> bool:
    import keras

    return type(metric) is keras.metrics.Mean or isinstance(metric, keras.metrics.MeanMetricWrapper)


def _metric_name(metric: Any) -> str:
    import keras

    if type(metric) is keras.metrics.MeanMetricWrapper:
        fn = getattr(metric, "_fn", None)
        return str(getattr(fn, "__name__", None) or metric.name)  # a custom function
    return type(metric).__name__


def _loss_name(loss: Any) -> str | None:
    described = describe(loss)
    if isinstance(described, str):
        return described
    if isinstance(described, dict) and isinstance(described.get("class_name"), str):
        return str(described["class_name"])
    return None


def metric_entry(model: Any, key: str) -> dict[str, Any]:
    """The manifest entry of one logged train key."""
    output_names = list(getattr(model, "output_names", None) or [])
    entry: dict[str, Any] = {"key": key, "validation": False}
    compiled = _compiled_by_key(model)
    if key in compiled:
        metric, output = compiled[key]
        name = _metric_name(metric)
        builtin = type(metric).__name__ != "MeanMetricWrapper"
        info = catalog.lookup(name) if builtin else None
        direction = _DIRECTIONS.get(getattr(metric, "_direction", None) or "") or (
            info.direction if info else None
        )
        entry.update(
            metric=name,
            canonical=info.canonical if info else None,
            direction=direction,
            aggregation="mean" if _is_mean(metric) else "state",
            output=output,
        )
        return entry
    loss_output = next((o for o in output_names if key == f"{o}_loss"), None)
    if key == "loss" or loss_output is not None:
        loss = model.loss
        if loss_output is not None and isinstance(loss, dict):
            loss = loss.get(loss_output)
        elif loss_output is not None and isinstance(loss, list | tuple):
            loss = loss[output_names.index(loss_output)] if len(loss) == len(output_names) else None
        metric_name = _loss_name(loss)
        if key == "loss" and len(output_names) > 1:
            metric_name = "sum of the weighted output losses"
        entry.update(
            metric=metric_name,
            canonical="loss",
            direction="min",
            aggregation="mean",
            output=loss_output,
        )
        return entry
    # A key the model does not explain (a callback before ours added it): the catalog's word.
    info = catalog.lookup(key, output_names)
    if info is not None:
        entry.update(
            canonical=info.canonical, direction=info.direction, aggregation=info.aggregation
        )
    return entry


def metric_manifest(model: Any, keys: Iterable[str]) -> list[dict[str, Any]]:
    """Entries for logged `keys`: train keys from the model, `val_` twins (present in `keys`
    with their train key) as copies marked `validation` and paired both ways."""
    present = set(keys)
    pairs = catalog.val_pairs(present)
    validation = set(pairs.values())
    entries: list[dict[str, Any]] = []
    for key in sorted(present - validation):
        entry = metric_entry(model, key)
        if key in pairs:
            entry["pair"] = pairs[key]
            entries.append({**entry, "key": pairs[key], "pair": key, "validation": True})
        entries.append(entry)
    return sorted(entries, key=lambda e: str(e["key"]))
