"""Keras's own RemoteMonitor, with nothing of fitwatch on the training side: stored == History."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")
pytest.importorskip("requests")  # RemoteMonitor needs it (a TensorFlow dependency)

from fitwatch_server.store.remote_monitor import id_prefix  # noqa: E402
from tests.client_sdk.conftest import Stored, same  # noqa: E402

pytestmark = pytest.mark.keras


def _fit(callback: Any, *, learning_rate: float, epochs: int = 3) -> dict[str, list[float]]:
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x @ np.array([[1.5], [-2.0], [0.5]], dtype="float32") + 3.0).astype("float32")
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.SGD(learning_rate), "mse", metrics=["mae"])
    history = model.fit(
        x, y, epochs=epochs, batch_size=16, validation_split=0.25, verbose=0, callbacks=[callback]
    )
    return dict(history.history)


def _assert_stored(stored: Stored, run_id: str, history: dict[str, list[float]]) -> None:
    for key, values in history.items():
        points = stored.points(run_id, key, "epoch")
        assert sorted(points) == list(range(len(values))), key
        for epoch, value in enumerate(values):
            assert same(points[epoch], value), (key, epoch, points[epoch], value)


def test_remote_monitor_form_mode_with_nan_epochs_and_a_second_fit(
    live_server: str, stored: Stored
) -> None:
    path = "/api/v1/keras/remote-monitor/keras-rm/sgd"
    steady = _fit(keras.callbacks.RemoteMonitor(root=live_server, path=path), learning_rate=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warns when a send fails: none may
        diverged = _fit(
            keras.callbacks.RemoteMonitor(root=live_server, path=path), learning_rate=100.0
        )
    assert any(v != v for v in diverged["loss"])  # NaN epochs, sent as the bare token
    first, second = id_prefix("keras-rm", "sgd") + "1", id_prefix("keras-rm", "sgd") + "2"
    _assert_stored(stored, first, steady)
    _assert_stored(stored, second, diverged)  # epoch 0 again: a new run
    assert stored.run(first)["status"] == "finished" and stored.run(second)["status"] == "running"


def test_remote_monitor_json_mode_on_keras_default_path(live_server: str, stored: Stored) -> None:
    callback = keras.callbacks.RemoteMonitor(
        root=live_server,
        send_as_json=True,
        headers={"X-Fitwatch-Project": "keras-rm", "X-Fitwatch-Run": "json"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = _fit(callback, learning_rate=0.01)
    _assert_stored(stored, id_prefix("keras-rm", "json") + "1", history)
