"""GET /series/groups: figures per group and step bucket, checked against NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fitwatch_server.store.point_data.groups import step_width
from tests.helpers.factories import make_run, post_points, series_body


def decode(values: list[float | str]) -> np.ndarray:
    names = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    return np.array([names[v] if isinstance(v, str) else v for v in values], dtype=np.float64)


def expected_figures(
    runs: list[np.ndarray], width: int
) -> dict[int, tuple[int, float, float, float, float]]:
    """Per bucket start: count, mean, std, min, max over the runs' bucket means (NaN skipped)."""
    per_bucket: dict[int, list[float]] = {}
    for values in runs:
        steps = np.arange(len(values))
        for bucket in np.unique(steps // width):
            inside = values[steps // width == bucket]
            inside = inside[~np.isnan(inside)]
            if len(inside):
                per_bucket.setdefault(int(bucket) * width, []).append(float(np.mean(inside)))
    return {
        step: (len(v), float(np.mean(v)), float(np.std(v)), float(np.min(v)), float(np.max(v)))
        for step, v in sorted(per_bucket.items())
    }


def assert_matches(
    series: dict, expected: dict[int, tuple[int, float, float, float, float]]
) -> None:
    assert series["steps"] == list(expected)
    got = np.array(
        [
            series["count"],
            decode(series["mean"]),
            decode(series["std"]),
            decode(series["min"]),
            decode(series["max"]),
        ]
    ).T
    want = np.array(list(expected.values()))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_figures_equal_numpy_per_group_and_bucket(client):
    """Two groups of three runs of different lengths, NaN in places, on a bucketed grid."""
    rng = np.random.default_rng(7)
    data: dict[float, list[np.ndarray]] = {}
    for lr in (0.1, 0.01):
        for seed in range(3):
            length = 3000 + 700 * seed
            values = np.cumsum(rng.normal(0, 1, length)) * lr
            values[rng.choice(length, 40, replace=False)] = np.nan
            # A whole bucket of one run is NaN: that run has no value there.
            values[100:200] = np.nan
            run = make_run(client, name=f"lr{lr}-s{seed}", config={"lr": lr, "seed": seed})
            wire = [("NaN" if math.isnan(v) else v) for v in values.tolist()]
            steps = list(range(length))
            post_points(
                client,
                run["id"],
                series_body("loss", "batch", steps, wire, epochs=[s // 500 for s in steps]),
            )
            data.setdefault(lr, []).append(values)
    body = client.get(
        "/api/v1/series/groups",
        params={
            "project": "test",
            "group_by": "config.lr",
            "keys": "loss",
            "scope": "batch",
            "max_points": 300,
        },
    ).json()
    width = body["step_width"]
    assert width == step_width(3000 + 1400, 300) == 16
    assert body["runs"] == 6 and body["group_by"] == ["config.lr"]
    assert [g["label"] for g in body["groups"]] == ["config.lr=0.01", "config.lr=0.1"]
    for group in body["groups"]:
        (series,) = group["series"]
        assert len(series["steps"]) <= 300
        assert_matches(series, expected_figures(data[group["values"]["config.lr"]], width))


def test_every_step_is_a_bucket_without_max_points_and_infinity_propagates(client):
    runs = [[1.0, 2.0, 3.0], [3.0, "Infinity", 5.0], [2.0, 2.0]]
    for i, values in enumerate(runs):
        run = make_run(client, name=f"r{i}", config={"seed": i})
        post_points(
            client, run["id"], series_body("val_loss", "epoch", list(range(len(values))), values)
        )
    (group,) = client.get("/api/v1/series/groups", params={"keys": "val_loss"}).json()["groups"]
    assert group["label"] == "all runs" and len(group["run_ids"]) == 3
    (series,) = group["series"]
    assert series["steps"] == [0, 1, 2] and series["count"] == [3, 3, 2]
    assert (
        series["mean"][0] == 2.0
        and series["max"][1] == "Infinity"
        and series["mean"][1] == "Infinity"
    )
    assert series["std"][1] == "NaN" and series["min"][1] == 2.0
    assert series["mean"][2] == 4.0 and series["std"][2] == 1.0


def test_a_value_every_run_shares_has_that_mean_and_no_spread(client):
    """Seven runs at a constant learning rate of 0.1: the float sums round (SQLite's AVG of
    one value repeated, NumPy's mean of seven 0.1s), the figures must not."""
    for seed in range(7):
        run = make_run(client, name=f"s{seed}", config={"seed": seed})
        steps = list(range(1000))
        post_points(client, run["id"], series_body("lr", "batch", steps, [0.1] * 1000))
    params = {"keys": "lr", "scope": "batch", "max_points": 100}
    (group,) = client.get("/api/v1/series/groups", params=params).json()["groups"]
    (series,) = group["series"]
    assert set(series["count"]) == {7}
    assert set(series["mean"]) == set(series["min"]) == set(series["max"]) == {0.1}
    assert set(series["std"]) == {0.0}


def test_grouping_by_everything_but_the_seed(client):
    for lr in (0.1, 0.2):
        for seed in range(2):
            run = make_run(
                client,
                name=f"{lr}-{seed}",
                config={
                    "lr": lr,
                    "seed": seed,
                    "optimizer": {"name": "adam"},
                    # Differs between every run and says nothing about the training: ignored.
                    "environment": {"pid": 1000 + seed},
                    "model": {"name": f"sequential_{seed}"},
                },
            )
            post_points(client, run["id"], series_body("loss", "epoch", [0, 1], [lr + seed, lr]))
    body = client.get(
        "/api/v1/series/groups", params={"group_by": "-config.seed", "keys": "loss"}
    ).json()
    assert body["group_by"] == ["-config.seed"]
    assert [(g["label"], g["values"], len(g["run_ids"])) for g in body["groups"]] == [
        ("config.lr=0.1", {"config.lr": 0.1}, 2),
        ("config.lr=0.2", {"config.lr": 0.2}, 2),
    ]
    (series,) = body["groups"][0]["series"]
    assert series["mean"] == pytest.approx([0.6, 0.1])


def test_groups_by_tags_and_honour_the_filter(client):
    for i, tags in enumerate([["a"], ["a"], ["b"], ["c"]]):
        run = make_run(client, name=f"t{i}", tags=tags)
        post_points(client, run["id"], series_body("loss", "epoch", [0], [float(i)]))
    body = client.get(
        "/api/v1/series/groups",
        params={"group_by": "tags", "keys": "loss", "filter": 'name != "t3"'},
    ).json()
    assert body["runs"] == 3
    assert [(g["label"], g["series"][0]["mean"]) for g in body["groups"]] == [
        ("tags=a", [0.5]),
        ("tags=b", [2.0]),
    ]


def test_a_group_without_the_key_has_no_series(client):
    run = make_run(client, name="x", config={"k": 1})
    post_points(client, run["id"], series_body("loss", "epoch", [0], [1.0]))
    make_run(client, name="y", config={"k": 2})
    body = client.get(
        "/api/v1/series/groups", params={"group_by": "config.k", "keys": "loss"}
    ).json()
    assert [(g["label"], len(g["series"])) for g in body["groups"]] == [
        ("config.k=1", 1),
        ("config.k=2", 0),
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"keys": "loss", "group_by": "config.lr,-config.seed"},
            "either names the fields to group by",
        ),
        ({"keys": "loss", "group_by": "-tags"}, "only config fields can be left out"),
        ({"keys": "loss", "group_by": "colour"}, "unknown group_by field 'colour'"),
        ({"keys": "loss", "group_by": "config."}, "name a key inside config"),
        ({"keys": " , "}, "give at least one key"),
        ({"keys": "loss", "filter": "name = "}, "position"),
    ],
)
def test_bad_requests_say_what_to_fix(client, params, message):
    response = client.get("/api/v1/series/groups", params=params)
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


def test_step_width_is_the_smallest_power_of_two_that_fits():
    assert step_width(1000, None) == 1
    assert step_width(1000, 1000) == 1
    assert step_width(1001, 1000) == 2
    assert step_width(100_000, 1000) == 128


@pytest.mark.keras
def test_runs_that_spelled_accuracy_differently_form_one_figure_per_metric(
    server_process, database_url
):
    """Real Keras fits: two compiled `acc`, two `accuracy` (both sparse categorical accuracy,
    as their manifests say). With align=metric, one figure per metric over all four runs,
    equal to NumPy over their History.history; the runs' own keys are named beside it."""
    import httpx
    import keras
    from sklearn.datasets import load_digits

    from fitwatch.keras import FitWatchCallback

    server = server_process(database_url).start()
    x, y = load_digits(return_X_y=True)
    x, y = (x[:400] / 16).astype(np.float32), y[:400]
    histories: list[tuple[str, dict[str, list[float]]]] = []
    for seed, spelling in enumerate(["acc", "acc", "accuracy", "accuracy"]):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential(
            [keras.Input((64,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(10)]
        )
        model.compile(
            "adam",
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[spelling],
        )
        callback = FitWatchCallback(
            project="spellings", name=f"{spelling}-{seed}", url=server.url, config={"seed": seed}
        )
        history = model.fit(
            x, y, epochs=3, batch_size=100, validation_split=0.25, verbose=0, callbacks=[callback]
        )
        histories.append((spelling, history.history))
    params = {"project": "spellings", "keys": "accuracy,val_accuracy,loss", "scope": "epoch"}
    by_key = httpx.get(f"{server.url}/api/v1/series/groups", params=params).json()
    (group,) = by_key["groups"]
    # As named, `accuracy` holds only the runs that spelled it so.
    assert {s["key"]: s["count"] for s in group["series"]} == {
        "accuracy": [2, 2, 2],
        "val_accuracy": [2, 2, 2],
        "loss": [4, 4, 4],
    }
    aligned = httpx.get(
        f"{server.url}/api/v1/series/groups", params={**params, "align": "metric"}
    ).json()
    (group,) = aligned["groups"]
    figures = {s["key"]: s for s in group["series"]}
    assert list(figures) == ["accuracy", "val_accuracy", "loss"]
    assert figures["accuracy"]["logged_keys"] == ["acc", "accuracy"]
    assert figures["val_accuracy"]["logged_keys"] == ["val_acc", "val_accuracy"]
    assert figures["loss"]["logged_keys"] == ["loss"]
    for key, val in (("accuracy", ""), ("val_accuracy", "val_")):
        table = np.array([h[val + spelling] for spelling, h in histories])
        assert figures[key]["count"] == [4, 4, 4]
        got = [decode(figures[key][f]) for f in ("mean", "std", "min", "max")]
        want = [table.mean(axis=0), table.std(axis=0), table.min(axis=0), table.max(axis=0)]
        np.testing.assert_allclose(got, want, rtol=1e-12)
