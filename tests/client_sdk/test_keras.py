"""FitWatchCallback on real tiny Keras models against a real server: stored == History."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

import fitwatch  # noqa: E402
from fitwatch.keras import LEARNING_RATE_KEY, FitWatchCallback  # noqa: E402
from tests.client_sdk.conftest import Stored, same  # noqa: E402
from tests.helpers.server import ServerProcess  # noqa: E402
from tests.helpers.wait import wait_until  # noqa: E402

pytestmark = pytest.mark.keras


class Recorder(keras.callbacks.Callback):
    """Records what Keras passes to callbacks: the facts the callback builds on."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[tuple[int, int, dict[str, float]]] = []
        self.logs_ids: set[int] = set()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        assert logs is not None
        self.logs_ids.add(id(logs))
        self.batches.append((batch, int(self.model.optimizer.iterations.value), dict(logs)))


def assert_history_stored(stored: Stored, run_id: str, history: keras.callbacks.History,
                          validation_epochs: list[int] | None = None) -> None:
    """Every key of History, at every epoch, equals the stored epoch point exactly."""
    for key, values in history.history.items():
        if key.startswith("val_") and validation_epochs is not None:
            epochs = validation_epochs
        else:
            epochs = history.epoch
        assert len(epochs) == len(values), key
        points = stored.points(run_id, key, "epoch")
        assert sorted(points) == sorted(epochs), key
        for epoch, value in zip(epochs, values, strict=True):
            assert same(points[epoch], value), (key, epoch, points[epoch], value)


def assert_batches_stored(stored: Stored, run_id: str, recorder: Recorder, every: int = 1) -> None:
    """One batch point per logged step, at step = optimizer.iterations - 1, values as logged."""
    logged = [(it - 1, logs) for _, it, logs in recorder.batches if it % every == 0]
    for key in recorder.batches[0][2]:
        points = stored.points(run_id, key, "batch")
        assert sorted(points) == [step for step, _ in logged], key
        for step, logs in logged:
            assert same(points[step], logs[key]), (key, step)


def regression_data(n: int = 80) -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = (x @ np.array([[1.5], [-2.0], [0.5]], dtype="float32") + 3.0).astype("float32")
    return x, y


def label_mean(y_true: Any, y_pred: Any) -> Any:
    """A scalar custom metric whose per-batch value is known from the data alone."""
    return keras.ops.mean(y_true) + 0.0 * keras.ops.mean(y_pred)


def test_regression_with_error_metrics_streams_history_and_every_batch(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    keras.utils.set_random_seed(1)
    x, y = regression_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse",
                  metrics=["mae", "MSE", "mape", keras.metrics.RootMeanSquaredError(), label_mean])
    recorder = Recorder()
    callback = FitWatchCallback(project="keras", name="regression", url=live_server, update_freq="batch")
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.2, shuffle=False,
                        verbose=0, callbacks=[callback, recorder])
    run_id = callback.run.id
    stored_run = stored.run(run_id)
    assert stored_run["status"] == "finished"
    assert_history_stored(stored, run_id, history)
    assert_batches_stored(stored, run_id, recorder)
    # Keras fact pinned: hooks get Python floats (never tensors), so float() is a no-op.
    assert all(type(v) is float for v in recorder.batches[0][2].values())

    counts = stored.series_counts(run_id)
    steps = len(recorder.batches)
    assert steps == 3 * 4  # 64 training samples / 16 per batch, 3 epochs
    for key in ("loss", "mae", "MSE", "mape", "label_mean"):
        assert counts[(key, "batch_derived")] == steps, key
    # RMSE is the root of a running mean: no per-batch value can be recovered from it.
    assert ("root_mean_squared_error", "batch_derived") not in counts
    # Derived values are the batches' own values (here: each batch's mean label).
    derived = stored.points(run_id, "label_mean", "batch_derived")
    for step in range(steps):
        batch = step % 4
        own = float(np.mean(y[:64][batch * 16:(batch + 1) * 16]))
        assert derived[step] == pytest.approx(own, rel=1e-5, abs=1e-5)
    assert stored.series(run_id, "loss", "batch")["epochs"] == [s // 4 for s in range(steps)]

    config = stored_run["config"]
    assert config["batch_size"] == 16 and config["batch_size_source"] == "fit argument"
    assert config["fits"][0]["params"] == {"verbose": 0, "epochs": 3, "steps": 4}
    assert config["optimizer"]["class_name"] == "Adam"
    # Keras holds 0.01 as float32 (0.009999999776482582): stored as typed, under one path.
    assert config["optimizer"]["learning_rate"] == 0.01
    # Keras numbers the names of optimizers made earlier in the process (adam, adam_1, ...).
    assert re.fullmatch(r"adam(_\d+)?", config["optimizer"]["name"])
    assert config["loss"] == "mse"
    assert config["metric_names"] == sorted(recorder.batches[0][2])
    assert [layer["output_shape"] for layer in config["model"]["layers"]] == [[None, 8], [None, 1]]
    assert config["model"]["total_params"] == model.count_params()
    assert config["environment"]["keras"] == keras.__version__
    assert config["environment"]["backend"] == keras.backend.backend()
    lrs = stored.points(run_id, LEARNING_RATE_KEY, "epoch")
    assert lrs == dict.fromkeys(range(3), 0.01)
    assert stored_run["summary"]["best"]["val_loss"]["direction"] == "min"
    # So filters written with the numbers the user typed match.
    for text in (
        "config.optimizer.learning_rate = 0.01",
        "config.optimizer.learning_rate in (0.01, 0.001)",
        'last("fitwatch/learning_rate") = 0.01',
        "config.optimizer.beta_1 = 0.9 and config.optimizer.epsilon = 1e-7",
    ):
        found = stored.http.get("/runs", params={"filter": text}).json()["runs"]
        assert [r["id"] for r in found] == [run_id], text


def test_binary_classification_with_acc_every_third_batch(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(90, 4)).astype("float32")
    y = (x[:, :1] + x[:, 1:2] > 0).astype("float32")
    xv, yv = x[:30], y[:30]
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["acc", keras.metrics.AUC(name="auc")])
    recorder = Recorder()
    callback = FitWatchCallback(project="keras", url=live_server, update_freq=3)
    history = model.fit(x, y, epochs=3, batch_size=10, validation_data=(xv, yv),
                        verbose=0, callbacks=[callback, recorder])
    run_id = callback.run.id
    assert {"acc", "val_acc", "auc", "val_auc"} <= set(history.history)
    assert_history_stored(stored, run_id, history)
    assert_batches_stored(stored, run_id, recorder, every=3)
    assert len(stored.points(run_id, "acc", "batch")) == 9  # 27 steps, every third
    counts = stored.series_counts(run_id)
    assert ("acc", "batch_derived") in counts and ("auc", "batch_derived") not in counts


def test_digits_with_top_k_custom_metric_steps_per_execution_and_validation_freq(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    from sklearn.datasets import load_digits

    keras.utils.set_random_seed(3)
    digits = load_digits()
    x = (digits.data[:600] / 16.0).astype("float32")
    y = digits.target[:600]

    def mean_pred(y_true: Any, y_pred: Any) -> Any:
        return keras.ops.mean(keras.ops.max(y_pred, axis=-1))

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", steps_per_execution=4,
                  metrics=["sparse_categorical_accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=3),
                           mean_pred])
    recorder = Recorder()
    callback = FitWatchCallback(project="keras", url=live_server, update_freq="batch")
    history = model.fit(x[:500], y[:500], epochs=4, batch_size=32, validation_data=(x[500:], y[500:]),
                        validation_freq=2, verbose=0, callbacks=[callback, recorder])
    run_id = callback.run.id
    # Keras fact pinned: with steps_per_execution the batch index can pass steps - 1
    # (16 steps a epoch, hooks every 4 steps: the last index is 15, or 19 if rounded up).
    assert [b for b, _, _ in recorder.batches[:4]] == [3, 7, 11, 15]
    assert len(history.history["val_loss"]) == 2
    assert_history_stored(stored, run_id, history, validation_epochs=[1, 3])
    assert_batches_stored(stored, run_id, recorder)
    assert sorted(stored.points(run_id, "loss", "batch")) == [4 * i - 1 for i in range(1, 17)]
    assert "sparse_top_k_categorical_accuracy" in history.history and "mean_pred" in history.history


def test_two_output_model_keeps_keras_prefixes(live_server: str, journal_dir: Path, stored: Stored) -> None:
    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = {"cls": (x[:, :1] > 0).astype("float32"), "reg": x[:, 1:2] * 2.0}
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, {"cls": keras.layers.Dense(1, activation="sigmoid", name="cls")(hidden),
                                 "reg": keras.layers.Dense(1, name="reg")(hidden)})
    model.compile("adam", loss={"cls": "binary_crossentropy", "reg": "mse"}, loss_weights={"cls": 1.0, "reg": 0.5},
                  metrics={"cls": ["accuracy"], "reg": ["mae", "mse"]})
    recorder = Recorder()
    callback = FitWatchCallback(project="keras", url=live_server, update_freq="batch")
    history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, callbacks=[callback, recorder])
    run_id = callback.run.id
    assert {"cls_accuracy", "reg_mae", "reg_mse", "cls_loss", "reg_loss", "val_reg_mae"} <= set(history.history)
    assert_history_stored(stored, run_id, history)
    assert_batches_stored(stored, run_id, recorder)
    config = stored.run(run_id)["config"]
    assert config["loss"] == {"cls": "binary_crossentropy", "reg": "mse"}


def test_several_fits_on_one_run_with_early_stopping_and_evaluate(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    keras.utils.set_random_seed(5)
    x, y = regression_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.01), "mse", metrics=["mae"])
    run = fitwatch.init(project="keras", name="finetune", url=live_server)
    callback = FitWatchCallback(run, update_freq="batch")
    first = model.fit(x, y, epochs=2, batch_size=20, verbose=0, callbacks=[callback])
    # EarlyStopping with patience 0 on a metric that cannot improve by 10 stops at once.
    stopper = keras.callbacks.EarlyStopping(monitor="loss", min_delta=10.0, patience=0)
    second = model.fit(x, y, initial_epoch=2, epochs=8, batch_size=20, verbose=0,
                       callbacks=[callback, stopper])
    evaluation = model.evaluate(x, y, batch_size=40, verbose=0, callbacks=[callback], return_dict=True)
    run.finish()
    assert second.epoch == [2, 3]
    assert stopper.stopped_epoch == 3
    loss = stored.points(run.id, "loss", "epoch")
    assert loss == {0: first.history["loss"][0], 1: first.history["loss"][1],
                    2: second.history["loss"][0], 3: second.history["loss"][1]}
    assert sorted(stored.points(run.id, "loss", "batch")) == list(range(16))  # 4 epochs x 4 steps
    assert stored.points(run.id, "mae", "eval") == {0: evaluation["mae"]}
    stored_run = stored.run(run.id)
    assert stored_run["status"] == "finished"
    summary = stored_run["summary"]
    assert (summary["stopped_early"], summary["stopped_epoch"], summary["stop_reason"]) == (True, 3, "stop_training")
    assert len(stored_run["config"]["fits"]) == 2
    assert stored_run["config"]["fits"][1]["args"]["initial_epoch"] == 2


def _diverging_model() -> Any:
    keras.utils.set_random_seed(6)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(100.0), "mse", metrics=["mae"])
    return model


def test_nan_loss_is_stored_and_terminate_on_nan_ends_the_run_cleanly(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    x, y = regression_data()
    callback = FitWatchCallback(project="keras", url=live_server, update_freq="batch")
    recorder = Recorder()
    history = _diverging_model().fit(x, y, epochs=3, batch_size=8, verbose=0,
                                     callbacks=[callback, recorder, keras.callbacks.TerminateOnNaN()])
    run_id = callback.run.id
    assert not math.isfinite(history.history["loss"][0])
    assert_history_stored(stored, run_id, history)
    assert_batches_stored(stored, run_id, recorder)
    stored_run = stored.run(run_id)
    assert stored_run["status"] == "finished"
    assert stored_run["summary"]["stop_reason"] == "non_finite_loss"


def test_nan_without_terminate_keeps_training_and_stores_nan(live_server: str, journal_dir: Path, stored: Stored) -> None:
    x, y = regression_data()
    callback = FitWatchCallback(project="keras", url=live_server)
    history = _diverging_model().fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[callback])
    assert not any(math.isfinite(v) for v in history.history["loss"])
    assert_history_stored(stored, callback.run.id, history)
    assert set(stored.series(callback.run.id, "loss", "epoch")["values"]) <= {"NaN", "Infinity"}


def test_terminate_on_nan_raising_still_marks_the_run_failed(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    x, y = regression_data()
    callback = FitWatchCallback(project="keras", url=live_server, update_freq="batch")
    with pytest.raises(RuntimeError, match="NaN or Inf loss") as raised:
        _diverging_model().fit(x, y, epochs=3, batch_size=8, verbose=0,
                               callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True), callback])
    run_id = callback.run.id
    # Keras called neither on_epoch_end nor on_train_end: the watchdog saw fit() leave.
    stored_run = wait_until(lambda: (r := stored.run_or_none(run_id)) and r["status"] == "failed" and r, timeout=20)
    assert "fit() ended by an exception" in stored_run["summary"]["error"]
    # The batches before the one that raised are stored (it never reached our callback).
    failed_batch = int(str(raised.value).split("at batch ")[1].split(".")[0])
    assert sorted(stored.points(run_id, "loss", "batch")) == list(range(failed_batch))
    callback.run.finish()
    assert stored.run(run_id)["status"] == "failed"


def test_a_server_restarted_mid_fit_gets_every_point_exactly_once(
    server_process: type[ServerProcess], tmp_path: Path, journal_dir: Path
) -> None:
    server = server_process(f"sqlite:///{tmp_path / 'restart.db'}").start()

    class Outage(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if epoch == 0:
                server.stop()
            if epoch == 2:
                server.start()

    keras.utils.set_random_seed(7)
    x, y = regression_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("adam", "mse", metrics=["mae"])
    recorder = Recorder()
    callback = FitWatchCallback(project="keras", url=server.url, update_freq="batch",
                                retry_base_s=0.05, retry_max_s=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[recorder, Outage(), callback])
    stored = Stored(server.url)
    run_id = callback.run.id
    assert_history_stored(stored, run_id, history)
    assert_batches_stored(stored, run_id, recorder)
    assert stored.series_counts(run_id)[("loss", "batch")] == len(recorder.batches) == 20
    assert stored.run(run_id)["status"] == "finished"


def test_offline_fit_then_sync_equals_history(live_server: str, journal_dir: Path, stored: Stored) -> None:
    from fitwatch.cli import main

    keras.utils.set_random_seed(8)
    x, y = regression_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("adam", "mse", metrics=["mae"])
    recorder = Recorder()
    callback = FitWatchCallback(project="keras", mode="offline", update_freq="batch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.2, verbose=0,
                            callbacks=[callback, recorder])
    run_id = callback.run.id
    assert stored.run_or_none(run_id) is None
    assert main(["sync", "--url", live_server]) == 0
    assert_history_stored(stored, run_id, history)
    assert_batches_stored(stored, run_id, recorder)
    assert stored.run(run_id)["status"] == "finished"


def test_learning_rate_is_recorded_per_epoch_beside_keras_own_key(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    keras.utils.set_random_seed(9)
    x, y = regression_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    callback = FitWatchCallback(project="keras", url=live_server)
    history = model.fit(x, y, epochs=3, batch_size=40, verbose=0, callbacks=[scheduler, callback])
    run_id = callback.run.id
    assert_history_stored(stored, run_id, history)  # includes Keras's own `learning_rate`
    ours = stored.points(run_id, LEARNING_RATE_KEY, "epoch")
    assert ours == {e: pytest.approx(0.1 / (e + 1)) for e in range(3)}
    assert stored.run(run_id)["config"]["learning_rate_per_epoch"]["2"] == pytest.approx(0.1 / 3)


def test_a_schedule_that_changes_every_step_is_recorded_per_batch(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    """A learning-rate range test: the rate grows each step, and each stored batch point is
    the rate Keras trained that step with (read at the batch's start, before the update)."""

    class RateRecorder(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.rates: dict[int, float] = {}

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            step = int(self.model.optimizer.iterations.value)
            self.rates[step] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    keras.utils.set_random_seed(9)
    x, y = regression_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-4, decay_steps=1, decay_rate=1.5)
    model.compile(keras.optimizers.SGD(schedule), "mse")
    rates = RateRecorder()
    callback = FitWatchCallback(project="keras", url=live_server, update_freq="batch")
    model.fit(x, y, epochs=2, batch_size=40, verbose=0, callbacks=[rates, callback])
    run_id = callback.run.id
    ours = stored.points(run_id, LEARNING_RATE_KEY, "batch")
    assert len(ours) == len(rates.rates) > 2
    assert ours == {step: pytest.approx(rate, rel=1e-6) for step, rate in rates.rates.items()}
    assert ours[1] / ours[0] == pytest.approx(1.5, rel=1e-5)


def test_a_fixed_rate_is_not_recorded_per_batch(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    x, y = regression_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    callback = FitWatchCallback(project="keras", url=live_server, update_freq="batch")
    model.fit(x, y, epochs=1, batch_size=40, verbose=0, callbacks=[callback])
    counts = stored.series_counts(callback.run.id)
    assert (LEARNING_RATE_KEY, "epoch") in counts and (LEARNING_RATE_KEY, "batch") not in counts


def test_logs_are_copied_so_later_callbacks_cannot_change_what_was_stored(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    class Mutator(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            assert logs is not None
            logs["loss"] = -1.0

    keras.utils.set_random_seed(10)
    x, y = regression_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    callback = FitWatchCallback(project="keras", url=live_server)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callback, Mutator()])
    assert stored.points(callback.run.id, "loss", "epoch")[0] > 0
    # Keras fact pinned: fit() without batch_size batches arrays by 32 (3 steps for 80).
    config = stored.run(callback.run.id)["config"]
    assert (config["batch_size"], config["batch_size_source"]) == (32, "keras default")
    assert config["fits"][0]["params"]["steps"] == 3


def test_tf_keras_models_work_too(live_server: str, journal_dir: Path, stored: Stored) -> None:
    tf = pytest.importorskip("tensorflow")
    keras.utils.set_random_seed(12)
    x, y = regression_data()
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    model.compile("adam", "mse", metrics=["mae"])
    callback = FitWatchCallback(project="keras", url=live_server, update_freq="batch")
    history = model.fit(x, y, epochs=2, batch_size=20, verbose=0, callbacks=[callback])
    assert_history_stored(stored, callback.run.id, history)
    assert len(stored.points(callback.run.id, "loss", "batch")) == 8


@pytest.mark.parametrize("update_freq", ["batches", 0, -3, True, 1.5])
def test_update_freq_is_refused_quoting_it(update_freq: Any) -> None:
    with pytest.raises(ValueError, match=r"update_freq must be 'batch', 'epoch' or a positive int\. Received: update_freq="):
        FitWatchCallback(update_freq=update_freq)


def test_an_unreachable_server_never_reaches_the_training_loop(
    journal_dir: Path, server_process: type[ServerProcess], tmp_path: Path
) -> None:
    from tests.helpers.server import free_port

    url = f"http://127.0.0.1:{free_port()}"
    keras.utils.set_random_seed(11)
    x, y = regression_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    callback = FitWatchCallback(project="keras", url=url, update_freq="batch", finish_timeout_s=0.2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[callback])
    messages = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert any("cannot reach the server" in m for m in messages)
    assert any("upload them with `fitwatch sync`" in m for m in messages)
    run_id = callback.run.id
    assert (journal_dir / run_id / "journal.jsonl").exists()
    # The journal holds it all; a server started later gets it through `fitwatch sync`.
    from fitwatch.cli import main

    server = server_process(f"sqlite:///{tmp_path / 'later.db'}", int(url.rsplit(":", 1)[1])).start()
    assert main(["sync", "--url", server.url]) == 0
    stored = Stored(server.url)
    assert_history_stored(stored, run_id, history)
    assert len(stored.points(run_id, "loss", "batch")) == 10


def test_a_script_killed_by_terminate_on_nan_leaves_a_failed_run(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    import os
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import numpy as np, keras
        from fitwatch.keras import FitWatchCallback
        keras.utils.set_random_seed(6)
        x = np.random.default_rng(0).normal(size=(80, 3)).astype("float32")
        y = x.sum(axis=1, keepdims=True) + 3.0
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(100.0), "mse")
        callback = FitWatchCallback(project="keras", update_freq="batch")
        print(callback.__class__.__name__, flush=True)
        try:
            model.fit(x, y, epochs=3, batch_size=8, verbose=0,
                      callbacks=[callback, keras.callbacks.TerminateOnNaN(raise_error=True)])
        finally:
            print(callback.run.id, flush=True)
        """
    )
    env = {**os.environ, "FITWATCH_URL": live_server, "FITWATCH_DIR": str(journal_dir),
           "PYTHONPATH": os.pathsep.join(sys.path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1 and "NaN or Inf loss" in result.stderr
    run_id = result.stdout.split()[-1]
    stored_run = stored.run(run_id)
    # Uncaught: sys.excepthook marked it failed and the exit handler flushed it.
    assert stored_run["status"] == "failed"
    assert "error" in stored_run["summary"]
    assert len(stored.points(run_id, "loss", "batch")) >= 1


def test_a_callback_that_owns_its_run_resumes_it_for_a_second_fit(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    keras.utils.set_random_seed(13)
    x, y = regression_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    callback = FitWatchCallback(project="keras", url=live_server, update_freq="batch")
    first = model.fit(x, y, epochs=2, batch_size=40, verbose=0, callbacks=[callback])
    run_id = callback.run.id
    assert stored.run(run_id)["status"] == "finished"
    second = model.fit(x, y, initial_epoch=2, epochs=3, batch_size=40, verbose=0, callbacks=[callback])
    assert callback.run.id == run_id
    assert stored.run(run_id)["status"] == "finished"
    assert stored.points(run_id, "loss", "epoch") == {
        0: first.history["loss"][0], 1: first.history["loss"][1], 2: second.history["loss"][0],
    }
    assert sorted(stored.points(run_id, "loss", "batch")) == list(range(6))


def test_a_callback_with_a_write_token_streams_history_to_a_server_that_needs_tokens(
    auth_server: Any, journal_dir: Path
) -> None:
    keras.utils.set_random_seed(3)
    x, y = regression_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    token = auth_server.token("write", project="secure")
    recorder = Recorder()
    callback = FitWatchCallback(project="secure", url=auth_server.url, token=token, update_freq="batch")
    history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.2, verbose=0,
                        callbacks=[callback, recorder])
    assert auth_server.stored.run(callback.run.id)["status"] == "finished"
    assert_history_stored(auth_server.stored, callback.run.id, history)
    assert_batches_stored(auth_server.stored, callback.run.id, recorder)


def test_a_callback_with_a_read_token_fails_when_it_is_made_not_after_fit(
    auth_server: Any, journal_dir: Path
) -> None:
    token = auth_server.token("read")
    with pytest.raises(ValueError, match=r"read-only: it can watch runs but not log them"):
        FitWatchCallback(project="secure", url=auth_server.url, token=token)
    other = auth_server.token("write", project="elsewhere")
    with pytest.raises(ValueError, match="may only log to project 'elsewhere'"):
        FitWatchCallback(project="secure", url=auth_server.url, token=other)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [(0.01, 0.01), (3e-4, 3e-4), (0.9, 0.9), (1e-7, 1e-7), (0.5, 0.5), (100.0, 100.0)],
)
def test_float32_hyperparameters_read_back_as_typed(typed: float, stored: float) -> None:
    from fitwatch.keras_introspection import as_typed

    as_float32 = float(np.float32(typed))  # what Keras's get_config() hands over
    assert as_typed(as_float32) == stored
    assert as_typed({"a": [as_float32]}) == {"a": [stored]}


def test_floats_that_are_not_float32_and_non_finite_ones_are_left_alone() -> None:
    from fitwatch.keras_introspection import as_typed

    assert as_typed(0.1) == 0.1 and as_typed(1 / 3) == 1 / 3  # float64s the user typed
    assert math.isnan(as_typed(float("nan"))) and as_typed(float("inf")) == float("inf")
    assert as_typed("0.01") == "0.01" and as_typed(True) is True and as_typed(3) == 3


def test_training_prints_the_run_page_and_names_the_run_after_its_optimizer(
    live_server: str, journal_dir: Path, stored: Stored, capfd: pytest.CaptureFixture[str]
) -> None:
    keras.utils.set_random_seed(3)
    x, y = regression_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.003), loss="mse")
    callback = FitWatchCallback(project="keras", url=live_server)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[callback])
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[callback])  # once per run
    run = callback.run
    assert re.fullmatch(r"adam-lr3e-3-\d{1,2}", run.name)
    assert stored.run(run.id)["name"] == run.name
    printed = [line for line in capfd.readouterr().out.splitlines() if line.startswith("fitwatch")]
    assert printed == [f"fitwatch: run '{run.name}' live at {live_server}/run.html?run={run.id}"]


def test_a_plain_run_gets_an_adjective_noun_name(live_server: str, journal_dir: Path, stored: Stored) -> None:
    run = fitwatch.init(project="names", url=live_server)
    assert run.finish(timeout=30) is True
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d{1,2}", run.name)
    assert stored.run(run.id)["name"] == run.name
