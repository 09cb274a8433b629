"""The metric manifest from real Keras fits: what `acc` resolved to, by loss and output shape.

Each resolution is checked against the numbers: the NumPy implementation of the metric the
manifest names (fitwatch.metrics.numpy_metrics) reproduces what Keras logged under the key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

from fitwatch.keras import FitWatchCallback  # noqa: E402
from fitwatch.metrics import numpy_metrics  # noqa: E402
from tests.client_sdk.conftest import Stored  # noqa: E402

pytestmark = pytest.mark.keras


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def manifest(stored: Stored, run_id: str) -> dict[str, dict[str, Any]]:
    return {m["key"]: m for m in stored.run(run_id)["metrics"] if m["source"] == "keras"}


CASES = [
    # loss, output units, labels, the class `acc` resolves to
    ("binary_crossentropy", 1, "binary", "BinaryAccuracy"),
    ("categorical_crossentropy", 4, "one_hot", "CategoricalAccuracy"),
    ("sparse_categorical_crossentropy", 4, "sparse", "SparseCategoricalAccuracy"),
]


@pytest.mark.parametrize(("loss", "units", "labels", "resolved"), CASES)
def test_acc_resolves_by_loss_and_output_shape(
    live_server: str,
    journal_dir: Path,
    stored: Stored,
    loss: str,
    units: int,
    labels: str,
    resolved: str,
) -> None:
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(96, 5)).astype("float32")
    classes = rng.integers(0, units if units > 1 else 2, 96)
    if labels == "binary":
        y = classes.reshape(-1, 1).astype("float32")
    elif labels == "one_hot":
        y = np.eye(units, dtype="float32")[classes]
    else:
        y = classes
    activation = "sigmoid" if units == 1 else "softmax"
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(units, activation=activation)])
    model.compile(optimizer="adam", loss=loss, metrics=["acc"])
    callback = FitWatchCallback(project="manifest", url=live_server)
    model.fit(x, y, epochs=2, batch_size=32, validation_split=0.25, verbose=0, callbacks=[callback])

    found = manifest(stored, callback.run.id)
    assert sorted(found) == ["acc", "loss", "val_acc", "val_loss"]
    assert found["acc"] == {
        "key": "acc",
        "metric": resolved,
        "canonical": "accuracy",
        "direction": "max",
        "aggregation": "mean",
        "output": None,
        "pair": "val_acc",
        "validation": False,
        "source": "keras",
    }
    assert found["val_acc"]["validation"] is True and found["val_acc"]["pair"] == "acc"
    assert found["val_acc"]["metric"] == resolved
    assert found["loss"]["metric"] == loss and found["loss"]["direction"] == "min"

    # The class the manifest names computes what Keras logged under `acc`.
    logged = model.evaluate(x, y, verbose=0, return_dict=True)["acc"]
    predictions = model.predict(x, verbose=0)
    assert numpy_metrics.compute(snake(resolved), y, predictions) == pytest.approx(logged, abs=1e-6)


def test_two_output_model_names_each_output(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(64, 3)).astype("float32")
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4, activation="relu")(inputs)
    cls = keras.layers.Dense(1, activation="sigmoid", name="cls")(hidden)
    reg = keras.layers.Dense(1, name="reg")(hidden)
    model = keras.Model(inputs, {"cls": cls, "reg": reg})

    def mean_pred(y_true: Any, y_pred: Any) -> Any:
        return keras.ops.mean(y_pred)

    model.compile(
        optimizer="adam",
        loss={"cls": "binary_crossentropy", "reg": "mse"},
        metrics={
            "cls": ["accuracy"],
            "reg": ["mae", "mae", keras.metrics.RootMeanSquaredError(), mean_pred],
        },
    )
    callback = FitWatchCallback(project="manifest", url=live_server, update_freq="batch")
    y = {
        "cls": (rng.random((64, 1)) > 0.5).astype("float32"),
        "reg": rng.normal(size=(64, 1)).astype("float32"),
    }
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[callback])

    found = manifest(stored, callback.run.id)
    brief = {
        k: (m["metric"], m["canonical"], m["direction"], m["aggregation"], m["output"])
        for k, m in found.items()
    }
    assert brief == {
        "cls_accuracy": ("BinaryAccuracy", "accuracy", "max", "mean", "cls"),
        "cls_loss": ("binary_crossentropy", "loss", "min", "mean", "cls"),
        "loss": ("sum of the weighted output losses", "loss", "min", "mean", None),
        "reg_loss": ("mse", "loss", "min", "mean", "reg"),
        "reg_mae": ("MeanAbsoluteError", "mean_absolute_error", "min", "mean", "reg"),
        "reg_mae_1": ("MeanAbsoluteError", "mean_absolute_error", "min", "mean", "reg"),
        "reg_mean_pred": ("mean_pred", None, None, "mean", "reg"),  # a custom function: no guess
        "reg_root_mean_squared_error": (
            "RootMeanSquaredError",
            "root_mean_squared_error",
            "min",
            "state",
            "reg",
        ),
    }
    # Every logged key is described, and only those.
    assert set(found) == set(stored.run(callback.run.id)["config"]["metric_names"])
