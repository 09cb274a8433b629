"""Bands from real Keras fits: /series/groups over seeds equals NumPy over History and the stored batches."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

from fitwatch.keras import FitWatchCallback  # noqa: E402
from tests.client_sdk.conftest import Stored  # noqa: E402
from tests.client_sdk.test_keras import regression_data  # noqa: E402

pytestmark = pytest.mark.keras


def wire(values: list) -> np.ndarray:
    names = {"NaN": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}
    return np.array([names[v] if isinstance(v, str) else v for v in values], dtype=np.float64)


def test_seed_bands_equal_numpy_over_history_and_batches(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    x, y = regression_data(96)
    histories: dict[float, list[dict[str, list[float]]]] = {}
    run_ids: dict[float, list[str]] = {}
    for lr in (0.05, 0.01):
        for seed in range(3):
            keras.utils.set_random_seed(seed)
            model = keras.Sequential(
                [keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)]
            )
            model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse", metrics=["mae"])
            callback = FitWatchCallback(
                project="bands",
                name=f"lr{lr}-s{seed}",
                url=live_server,
                update_freq="batch",
                config={"lr": lr, "seed": seed},
            )
            history = model.fit(
                x, y, epochs=4, batch_size=8, validation_split=0.25, verbose=0, callbacks=[callback]
            )
            histories.setdefault(lr, []).append(history.history)
            run_ids.setdefault(lr, []).append(callback.run.id)

    with httpx.Client(base_url=live_server + "/api/v1", timeout=30) as http:
        epoch = http.get(
            "/series/groups",
            params={
                "project": "bands",
                "group_by": "-config.seed",
                "keys": "loss,val_mae",
                "scope": "epoch",
            },
        ).json()
        batch = http.get(
            "/series/groups",
            params={
                "project": "bands",
                "group_by": "config.lr",
                "keys": "loss",
                "scope": "batch",
                "max_points": 10,
            },
        ).json()

    # Leaving the seed out groups by the learning rate (the compile config follows it).
    assert [sorted(g["run_ids"]) for g in epoch["groups"]] == [
        sorted(run_ids[0.01]),
        sorted(run_ids[0.05]),
    ]
    for group in epoch["groups"]:
        lr = group["values"]["config.lr"]
        assert set(group["values"]) == {"config.lr", "config.optimizer.learning_rate"}
        for series in group["series"]:
            table = np.array([h[series["key"]] for h in histories[lr]])  # runs x epochs
            assert series["steps"] == [0, 1, 2, 3] and series["count"] == [3] * 4
            np.testing.assert_allclose(wire(series["mean"]), table.mean(axis=0), rtol=1e-12)
            np.testing.assert_allclose(
                wire(series["std"]), table.std(axis=0), rtol=1e-9, atol=1e-15
            )
            np.testing.assert_array_equal(wire(series["min"]), table.min(axis=0))
            np.testing.assert_array_equal(wire(series["max"]), table.max(axis=0))

    # Batches: 9 steps an epoch x 4 = 36 steps into at most 10 buckets of 4 steps.
    assert batch["step_width"] == 4
    for group in batch["groups"]:
        (series,) = group["series"]
        runs = []
        for run_id in run_ids[group["values"]["config.lr"]]:
            points = stored.points(run_id, "loss", "batch")
            values = np.array([points[s] for s in sorted(points)])
            runs.append(values.reshape(-1, 4).mean(axis=1))  # each run's mean per bucket
        table = np.array(runs)
        assert series["steps"] == [4 * b for b in range(9)] and series["count"] == [3] * 9
        np.testing.assert_allclose(wire(series["mean"]), table.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(wire(series["std"]), table.std(axis=0), rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(wire(series["min"]), table.min(axis=0), rtol=1e-12)
        np.testing.assert_allclose(wire(series["max"]), table.max(axis=0), rtol=1e-12)
