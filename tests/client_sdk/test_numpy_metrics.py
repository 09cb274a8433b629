"""NumPy metrics give the numbers keras.metrics gives, on the same data."""

from __future__ import annotations

from typing import Any

import pytest

np = pytest.importorskip("numpy")
keras = pytest.importorskip("keras")

from fitwatch.metrics import numpy_metrics  # noqa: E402

RNG = np.random.default_rng(0)
N = 64
REGRESSION = (RNG.normal(size=(N, 3)) + 2.0, RNG.normal(size=(N, 3)) + 2.0)
POSITIVE = (RNG.uniform(0.1, 3.0, size=(N, 1)), RNG.uniform(0.1, 3.0, size=(N, 1)))
BINARY = ((RNG.uniform(size=(N, 1)) > 0.5).astype("float32"), RNG.uniform(size=(N, 1)))
_logits = RNG.normal(size=(N, 10))
PROBS = np.exp(_logits) / np.exp(_logits).sum(axis=1, keepdims=True)
SPARSE = RNG.integers(0, 10, size=(N,))
ONE_HOT = np.eye(10)[SPARSE]
WEIGHTS = RNG.uniform(0.1, 2.0, size=(N,))

CASES: list[tuple[str, Any, dict[str, Any], tuple[Any, Any]]] = [
    ("mean_squared_error", keras.metrics.MeanSquaredError, {}, REGRESSION),
    ("mae", keras.metrics.MeanAbsoluteError, {}, REGRESSION),
    ("mape", keras.metrics.MeanAbsolutePercentageError, {}, REGRESSION),
    ("msle", keras.metrics.MeanSquaredLogarithmicError, {}, POSITIVE),
    ("log_cosh_error", keras.metrics.LogCoshError, {}, REGRESSION),
    ("cosine_similarity", keras.metrics.CosineSimilarity, {}, REGRESSION),
    ("root_mean_squared_error", keras.metrics.RootMeanSquaredError, {}, REGRESSION),
    ("binary_accuracy", keras.metrics.BinaryAccuracy, {}, BINARY),
    ("acc", keras.metrics.BinaryAccuracy, {}, BINARY),
    ("binary_crossentropy", keras.metrics.BinaryCrossentropy, {}, BINARY),
    ("hinge", keras.metrics.Hinge, {}, BINARY),
    ("squared_hinge", keras.metrics.SquaredHinge, {}, BINARY),
    ("categorical_accuracy", keras.metrics.CategoricalAccuracy, {}, (ONE_HOT, PROBS)),
    ("accuracy", keras.metrics.SparseCategoricalAccuracy, {}, (SPARSE, PROBS)),
    ("sparse_categorical_accuracy", keras.metrics.SparseCategoricalAccuracy, {}, (SPARSE, PROBS)),
    ("top_k_categorical_accuracy", keras.metrics.TopKCategoricalAccuracy, {"k": 3}, (ONE_HOT, PROBS)),
    ("sparse_top_k_categorical_accuracy", keras.metrics.SparseTopKCategoricalAccuracy, {"k": 3}, (SPARSE, PROBS)),
    ("categorical_crossentropy", keras.metrics.CategoricalCrossentropy, {}, (ONE_HOT, PROBS)),
    ("sparse_categorical_crossentropy", keras.metrics.SparseCategoricalCrossentropy, {}, (SPARSE, PROBS)),
    ("kl_divergence", keras.metrics.KLDivergence, {}, (ONE_HOT * 0.9 + 0.01, PROBS)),
    ("poisson", keras.metrics.Poisson, {}, POSITIVE),
]


@pytest.mark.parametrize(("name", "keras_class", "options", "data"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_numpy_metric_equals_keras(name: str, keras_class: Any, options: dict[str, Any], data: tuple[Any, Any], weighted: bool) -> None:
    y_true, y_pred = data
    weights = WEIGHTS if weighted else None
    metric = keras_class(**options)
    metric.update_state(y_true.astype("float32"), y_pred.astype("float32"), sample_weight=weights)
    expected = float(keras.ops.convert_to_numpy(metric.result()))
    got = numpy_metrics.compute(name, y_true.astype("float32"), y_pred.astype("float32"), sample_weight=weights, **options)
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize(("name", "keras_class"), [
    ("r2_score", keras.metrics.R2Score),
    ("precision", keras.metrics.Precision),
    ("recall", keras.metrics.Recall),
])
def test_state_metrics_equal_keras(name: str, keras_class: Any) -> None:
    y_true, y_pred = (REGRESSION[0][:, :1], REGRESSION[1][:, :1]) if name == "r2_score" else BINARY
    metric = keras_class()
    metric.update_state(y_true.astype("float32"), y_pred.astype("float32"))
    expected = float(keras.ops.convert_to_numpy(metric.result()))
    assert numpy_metrics.compute(name, y_true, y_pred) == pytest.approx(expected, rel=1e-5)


def test_binary_accuracy_threshold_matches_keras() -> None:
    metric = keras.metrics.BinaryAccuracy(threshold=0.7)
    metric.update_state(*BINARY)
    expected = float(keras.ops.convert_to_numpy(metric.result()))
    assert numpy_metrics.compute("binary_accuracy", *BINARY, threshold=0.7) == pytest.approx(expected)


def test_top_k_counts_ties_at_the_boundary_like_keras() -> None:
    y_pred = np.array([[0.3, 0.3, 0.3, 0.1]], dtype="float32")
    labels = np.array([2])
    metric = keras.metrics.SparseTopKCategoricalAccuracy(k=1)
    metric.update_state(labels, y_pred)
    expected = float(keras.ops.convert_to_numpy(metric.result()))
    assert numpy_metrics.compute("sparse_top_k_categorical_accuracy", labels, y_pred, k=1) == expected


def test_unknown_metrics_are_refused_quoting_the_name() -> None:
    with pytest.raises(ValueError, match=r"Received: name='auc'"):
        numpy_metrics.compute("auc", BINARY[0], BINARY[1])
