"""NumPy implementations of Keras's built-in metrics, with Keras's semantics.

Same numbers as `keras.metrics` (checked against it in tests/client_sdk/test_numpy_metrics.py):
the per-sample value is reduced over the last axis, then averaged over samples
(weighted by `sample_weight` like `keras.metrics.Mean`); predictions are clipped with
Keras's epsilon (1e-7); `accuracy` resolves by shape the way `compile()` does; top-k
counts ties at the boundary as in the top k (as `tf.math.in_top_k` does). Lets the server
compute metrics from stored predictions with the numbers Keras would give.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

EPSILON = 1e-7  # keras.config.epsilon()

Array = NDArray[np.float64]
MetricFn = Callable[..., Array]


def _f64(values: Any) -> Array:
    return np.asarray(values, dtype=np.float64)


def _as_arrays(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[Array, Array]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.ndim == p.ndim - 1:
        t = t[..., None]  # Keras expands (n,) labels against (n, 1) predictions
    return t, p


def _weighted_mean(values: Array, sample_weight: ArrayLike | None) -> float:
    if sample_weight is None:
        return float(np.mean(values))
    weights = np.broadcast_to(np.asarray(sample_weight, dtype=np.float64).reshape(values.shape[0], *([1] * (values.ndim - 1))), values.shape)
    return float(np.sum(values * weights) / np.sum(weights))


def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    t, p = _as_arrays(y_true, y_pred)
    return _f64(np.mean(np.square(t - p), axis=-1))


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    t, p = _as_arrays(y_true, y_pred)
    return _f64(np.mean(np.abs(t - p), axis=-1))


def mean_absolute_percentage_error(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    t, p = _as_arrays(y_true, y_pred)
    return _f64(100.0 * np.mean(np.abs(t - p) / np.maximum(np.abs(t), EPSILON), axis=-1))


def mean_squared_logarithmic_error(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    t, p = _as_arrays(y_true, y_pred)
    first = np.log(np.maximum(p, EPSILON) + 1.0)
    second = np.log(np.maximum(t, EPSILON) + 1.0)
    return _f64(np.mean(np.square(first - second), axis=-1))


def log_cosh_error(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    t, p = _as_arrays(y_true, y_pred)
    x = p - t
    # log(cosh(x)) without overflow, as Keras computes it.
    return _f64(np.mean(x + np.logaddexp(0.0, -2.0 * x) - np.log(2.0), axis=-1))


def cosine_similarity(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    t, p = _as_arrays(y_true, y_pred)
    t = t / np.sqrt(np.maximum(np.sum(np.square(t), axis=-1, keepdims=True), 1e-12))
    p = p / np.sqrt(np.maximum(np.sum(np.square(p), axis=-1, keepdims=True), 1e-12))
    return _f64(np.sum(t * p, axis=-1))


def binary_accuracy(y_true: ArrayLike, y_pred: ArrayLike, threshold: float = 0.5) -> Array:
    t, p = _as_arrays(y_true, y_pred)
    return _f64(np.mean((t == (p > threshold)).astype(np.float64), axis=-1))


def categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    t, p = np.asarray(y_true), np.asarray(y_pred)
    return _f64((np.argmax(t, axis=-1) == np.argmax(p, axis=-1)).astype(np.float64))


def _sparse_labels(y_true: ArrayLike, y_pred: NDArray[Any]) -> NDArray[np.int64]:
    labels = np.asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    return labels.astype(np.int64)


def sparse_categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    p = np.asarray(y_pred)
    return _f64((_sparse_labels(y_true, p) == np.argmax(p, axis=-1)).astype(np.float64))


def _in_top_k(labels: NDArray[np.int64], p: NDArray[Any], k: int) -> Array:
    target = np.take_along_axis(p, labels[..., None], axis=-1)
    rank = np.sum(p > target, axis=-1)  # classes strictly better than the target
    return _f64((rank < k).astype(np.float64))


def top_k_categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike, k: int = 5) -> Array:
    p = np.asarray(y_pred, dtype=np.float64)
    return _in_top_k(np.argmax(np.asarray(y_true), axis=-1), p, k)


def sparse_top_k_categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike, k: int = 5) -> Array:
    p = np.asarray(y_pred, dtype=np.float64)
    return _in_top_k(_sparse_labels(y_true, p), p, k)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    """`'accuracy'`/`'acc'` as `compile()` resolves it: binary for one unit, sparse for
    integer labels, categorical for one-hot labels."""
    p = np.asarray(y_pred)
    t = np.asarray(y_true)
    if p.shape[-1] == 1:
        return binary_accuracy(t, p)
    if t.ndim < p.ndim or t.shape[-1] == 1:
        return sparse_categorical_accuracy(t, p)
    return categorical_accuracy(t, p)


def binary_crossentropy(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    t, p = _as_arrays(y_true, y_pred)
    p = np.clip(p, EPSILON, 1.0 - EPSILON)
    return _f64(np.mean(-(t * np.log(p) + (1.0 - t) * np.log(1.0 - p)), axis=-1))


def categorical_crossentropy(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    p = np.clip(p / np.sum(p, axis=-1, keepdims=True), EPSILON, 1.0 - EPSILON)
    return _f64(-np.sum(t * np.log(p), axis=-1))


def sparse_categorical_crossentropy(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    p = np.asarray(y_pred, dtype=np.float64)
    one_hot = np.eye(p.shape[-1])[_sparse_labels(y_true, p)]
    return categorical_crossentropy(one_hot, p)


def kl_divergence(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    t, p = _as_arrays(y_true, y_pred)
    t, p = np.clip(t, EPSILON, 1.0), np.clip(p, EPSILON, 1.0)
    return _f64(np.sum(t * np.log(t / p), axis=-1))


def poisson(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    t, p = _as_arrays(y_true, y_pred)
    return _f64(np.mean(p - t * np.log(p + EPSILON), axis=-1))


def hinge(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    t, p = _as_arrays(y_true, y_pred)
    t = np.where(t == 0, -1.0, t)  # Keras maps {0, 1} labels to {-1, 1}
    return _f64(np.mean(np.maximum(1.0 - t * p, 0.0), axis=-1))


def squared_hinge(y_true: ArrayLike, y_pred: ArrayLike) -> Array:
    t, p = _as_arrays(y_true, y_pred)
    t = np.where(t == 0, -1.0, t)
    return _f64(np.mean(np.square(np.maximum(1.0 - t * p, 0.0)), axis=-1))


MEAN_METRICS: dict[str, MetricFn] = {
    "accuracy": accuracy,
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "mean_squared_error": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "log_cosh_error": log_cosh_error,
    "cosine_similarity": cosine_similarity,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "kl_divergence": kl_divergence,
    "poisson": poisson,
    "hinge": hinge,
    "squared_hinge": squared_hinge,
}


def root_mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
    t, p = _as_arrays(y_true, y_pred)
    return float(np.sqrt(_weighted_mean(np.square(t - p), sample_weight)))


def r2_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Keras's R2Score with the default `uniform_average` over output columns."""
    t, p = _as_arrays(y_true, y_pred)
    t = t.reshape(t.shape[0], -1)
    p = p.reshape(p.shape[0], -1)
    ss_res = np.sum(np.square(t - p), axis=0)
    ss_tot = np.sum(np.square(t - np.mean(t, axis=0)), axis=0)
    return float(np.mean(1.0 - ss_res / ss_tot))


def precision(y_true: ArrayLike, y_pred: ArrayLike, threshold: float = 0.5) -> float:
    t, p = _as_arrays(y_true, y_pred)
    predicted = p > threshold
    tp = float(np.sum(predicted & (t == 1)))
    fp = float(np.sum(predicted & (t != 1)))
    return tp / (tp + fp) if tp + fp else 0.0


def recall(y_true: ArrayLike, y_pred: ArrayLike, threshold: float = 0.5) -> float:
    t, p = _as_arrays(y_true, y_pred)
    predicted = p > threshold
    tp = float(np.sum(predicted & (t == 1)))
    fn = float(np.sum(~predicted & (t == 1)))
    return tp / (tp + fn) if tp + fn else 0.0


def compute(
    name: str, y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None, **kwargs: Any
) -> float:
    """The value Keras's metric `name` would report for these labels and predictions.

    Args:
        name: a canonical name or an alias Keras accepts (`'mse'`, `'acc'`...).
        y_true, y_pred: labels and predictions, as given to `fit()`.
        sample_weight: per-sample weights (mean-type metrics and RMSE).
        **kwargs: metric options (`threshold=`, `k=`).

    Raises:
        ValueError: for a metric without a NumPy implementation.
    """
    from fitwatch.metrics.catalog import lookup

    key = name if name in MEAN_METRICS else None
    if key is None:
        info = lookup(name)
        lowered = name.lower()
        if lowered in ("acc", "accuracy"):
            key = "accuracy"
        elif info is not None and info.canonical in MEAN_METRICS and info.canonical != "accuracy":
            key = info.canonical
        elif info is not None and info.canonical == "accuracy":
            key = lowered if lowered in MEAN_METRICS else "accuracy"
    if key is not None:
        return _weighted_mean(np.asarray(MEAN_METRICS[key](y_true, y_pred, **kwargs)), sample_weight)
    info = lookup(name)
    canonical = info.canonical if info else name
    if canonical == "root_mean_squared_error":
        return root_mean_squared_error(y_true, y_pred, sample_weight)
    if canonical == "r2_score":
        return r2_score(y_true, y_pred)
    if canonical == "precision":
        return precision(y_true, y_pred, **kwargs)
    if canonical == "recall":
        return recall(y_true, y_pred, **kwargs)
    raise ValueError(f"no NumPy implementation for this metric. Received: name={name!r}")
