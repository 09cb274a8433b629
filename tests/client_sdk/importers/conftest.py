"""Files written by Keras's own callbacks (TensorBoard, CSVLogger, a dumped History) in
two tiny real fits: one that validates every second epoch, one whose loss diverges."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class KerasLogs:
    """One fit's History and the files Keras's callbacks wrote beside it."""

    history: dict[str, list[float]]
    epochs: list[int]
    validation_freq: int
    csv: Path
    history_json: Path
    tensorboard: Path  # the run directory (holds train/ and validation/)


def _fit(root: Path, name: str, *, learning_rate: float, validation_freq: int) -> KerasLogs:
    import keras
    import numpy as np

    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 3)).astype("float32")
    y = (x @ np.array([[1.5], [-2.0], [0.5]], dtype="float32") + 3.0).astype("float32")
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.SGD(learning_rate), "mse", metrics=["mae"])
    logdir = root / "tb" / name
    csv_path = root / f"{name}.csv"
    history = model.fit(
        x,
        y,
        epochs=4,
        batch_size=16,
        validation_split=0.25,
        validation_freq=validation_freq,
        verbose=0,
        callbacks=[
            keras.callbacks.TensorBoard(str(logdir), update_freq="batch"),
            keras.callbacks.CSVLogger(str(csv_path)),
        ],
    )
    history_json = root / f"{name}.json"
    history_json.write_text(json.dumps(history.history))  # NaN as the bare token, like json.dump
    return KerasLogs(
        history.history, list(history.epoch), validation_freq, csv_path, history_json, logdir
    )


@pytest.fixture(scope="session")
def keras_logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KerasLogs]:
    """`steady` (validation_freq=2) and `diverged` (SGD with lr=100: inf and NaN)."""
    pytest.importorskip("keras")
    root = tmp_path_factory.mktemp("keras-logs")
    return {
        "steady": _fit(root, "steady", learning_rate=0.01, validation_freq=2),
        "diverged": _fit(root, "diverged", learning_rate=100.0, validation_freq=1),
    }


def history_by_epoch(logs: KerasLogs) -> dict[str, dict[int, float]]:
    """History keyed by epoch (val_ lists are shorter with validation_freq > 1)."""
    out: dict[str, dict[int, float]] = {}
    validated = [e for e in logs.epochs if (e + 1) % logs.validation_freq == 0]
    for key, values in logs.history.items():
        epochs = validated if key.startswith("val_") else logs.epochs
        assert len(epochs) == len(values), key
        out[key] = dict(zip(epochs, values, strict=True))
    return out


def stored_equals_history(stored: Any, run_id: str, logs: KerasLogs) -> None:
    from tests.helpers.stored import same

    for key, expected in history_by_epoch(logs).items():
        points = stored.points(run_id, key, "epoch")
        assert sorted(points) == sorted(expected), key
        for epoch, value in expected.items():
            assert same(points[epoch], value), (key, epoch, points[epoch], value)
