"""What a Keras model and a running `fit()` tell about themselves, for the run's config.

Split from `fitwatch.keras` (which owns the callback's hooks): describing the optimizer,
loss and layers, finding `fit()`'s frame (its arguments, and the watchdog's anchor) and
flattening compiled metrics. Every function here tolerates models it does not know.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from types import FrameType
from typing import Any

from fitwatch.codec import json_safe

KERAS_DEFAULT_BATCH_SIZE = 32


def as_typed(value: Any) -> Any:
    """Floats that are exactly float32 (what Keras keeps hyperparameters in) as the shortest
    decimal that reads back as the same float32: `Adam(0.01)` reports 0.009999999776482582,
    and is stored as 0.01, so the page shows what the user typed and `= 0.01` matches (issue
    10). A float64 that happens to be a float32 (0.5) prints the same either way; any other
    float is left alone. Applied to dicts and lists inside `value`, too."""
    if isinstance(value, float):
        import numpy as np

        single = np.float32(value)
        if not math.isfinite(value) or float(single) != value:
            return value
        return float(np.format_float_positional(single, unique=True))
    if isinstance(value, dict):
        return {k: as_typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_typed(v) for v in value]
    return value


def describe(obj: Any) -> Any:
    """A JSON-ready description of a loss/metric/optimizer spec as passed to compile()."""
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): describe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [describe(v) for v in obj]
    get_config = getattr(obj, "get_config", None)
    if callable(get_config):
        try:
            return {"class_name": type(obj).__name__, "config": json_safe(get_config())}
        except Exception:  # noqa: BLE001 - a user class may not implement it
            return {"class_name": type(obj).__name__}
    return getattr(obj, "__name__", type(obj).__name__)


def model_summary(model: Any) -> dict[str, Any]:
    layers = []
    for layer in getattr(model, "layers", []):
        try:
            shape: Any = list(layer.output.shape)
        except Exception:  # noqa: BLE001 - subclassed models have no symbolic outputs
            shape = None
        try:
            params = int(layer.count_params())
        except Exception:  # noqa: BLE001 - unbuilt layers cannot count
            params = None
        layers.append({"name": layer.name, "class_name": type(layer).__name__,
                       "output_shape": shape, "params": params})
    trainable = sum(int(math.prod(w.shape)) for w in model.trainable_weights)
    total = int(model.count_params())
    return {"name": model.name, "class_name": type(model).__name__, "layers": layers,
            "total_params": total, "trainable_params": trainable,
            "non_trainable_params": total - trainable}


def find_fit_frame() -> FrameType | None:
    """The outermost frame of Keras's `fit()` on this thread's stack."""
    found = None
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == "fit" and "keras" in frame.f_code.co_filename:
            found = frame
        frame = frame.f_back
    return found


def fit_arguments(frame: FrameType | None, batch_size: int | None) -> dict[str, Any]:
    """The arguments of the running `fit()` call, read from its frame, with the batch size."""
    args: dict[str, Any] = {}
    local = frame.f_locals if frame is not None else {}
    for name in ("batch_size", "epochs", "initial_epoch", "shuffle", "steps_per_epoch",
                 "validation_split", "validation_freq", "validation_steps",
                 "validation_batch_size", "class_weight"):
        if name in local:
            args[name] = json_safe(local[name])
    x = local.get("x")
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape) > 0 and shape[0] is not None:
        args["samples"] = int(shape[0])
    if batch_size is not None:
        args["batch_size"], args["batch_size_source"] = batch_size, "callback argument"
    elif args.get("batch_size") is not None:
        args["batch_size_source"] = "fit argument"
    elif "samples" in args and not args.get("steps_per_epoch"):
        # Keras batches array data by 32 when fit() gets no batch_size.
        args["batch_size"], args["batch_size_source"] = KERAS_DEFAULT_BATCH_SIZE, "keras default"
    else:
        args["batch_size_source"] = "unknown (dataset or generator)"
    return args


def model_config(model: Any) -> dict[str, Any]:
    """Optimizer class and config, loss, compile settings and a summary of `model`."""
    config: dict[str, Any] = {}
    optimizer = model.optimizer
    # The optimizer's config beside its class name, not under a "config" key: one path per
    # hyperparameter, `config.optimizer.learning_rate`, in filters and on the pages alike.
    config["optimizer"] = {**as_typed(json_safe(optimizer.get_config())),
                           "class_name": type(optimizer).__name__}
    config["loss"] = as_typed(describe(model.loss))
    try:
        compile_config = model.get_compile_config() or {}
        config["compile"] = as_typed(json_safe({k: v for k, v in compile_config.items() if k != "optimizer"}))
    except Exception:  # noqa: BLE001 - models compiled without a config
        pass
    try:
        config["model"] = model_summary(model)
    except Exception as exc:  # noqa: BLE001 - exotic layers must not stop training
        config["model"] = {"error": repr(exc)}
    return config


def flat_metrics(model: Any) -> list[Any]:
    found: list[Any] = []
    stack = list(getattr(model, "metrics", []))
    while stack:
        metric = stack.pop()
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, list) and inner and type(metric).__name__ == "CompileMetrics":
            stack.extend(inner)
        else:
            found.append(metric)
    return found
