"""Point ingest: columnar batches, idempotent resends, NaN/Inf round trip, all-or-nothing."""

from __future__ import annotations

import gzip
import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.factories import make_run, post_points, series_body


def read(client, run_id, key, scope="epoch", **params):
    response = client.get(f"/api/v1/runs/{run_id}/series/{key}", params={"scope": scope, **params})
    assert response.status_code == 200, response.text
    return response.json()


def decode(value):
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(value, value)


def same_floats(a, b):
    return len(a) == len(b) and all(
        (math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b, strict=True)
    )


def test_batch_of_many_series_is_stored_and_summarised(client):
    run = make_run(client)
    result = post_points(
        client,
        run["id"],
        series_body("loss", "batch", [0, 1, 2], [2.0, 1.0, 1.5], epochs=[0, 0, 1]),
        series_body("val_loss", "epoch", [0, 1], [1.2, 0.9]),
    )
    assert result == {"points": 5, "series": 2}
    series = {s["key"]: s for s in client.get(f"/api/v1/runs/{run['id']}/series").json()["series"]}
    loss = series["loss"]
    assert (loss["count"], loss["first_step"], loss["last_step"], loss["last_value"]) == (3, 0, 2, 1.5)
    assert (loss["min_value"], loss["min_step"], loss["max_value"], loss["max_step"]) == (1.0, 1, 2.0, 0)
    assert read(client, run["id"], "loss", "batch")["epochs"] == [0, 0, 1]
    assert read(client, run["id"], "val_loss")["epochs"] is None


def test_resent_batch_is_a_no_op(client):
    run = make_run(client)
    body = series_body("loss", "epoch", [0, 1, 2], [3.0, 2.0, 1.0])
    post_points(client, run["id"], body)
    before = client.get(f"/api/v1/runs/{run['id']}/series").json()
    post_points(client, run["id"], body)
    post_points(client, run["id"], body)
    assert client.get(f"/api/v1/runs/{run['id']}/series").json() == before
    assert read(client, run["id"], "loss")["values"] == [3.0, 2.0, 1.0]


def test_overwriting_the_minimum_updates_the_summary(client):
    run = make_run(client)
    post_points(client, run["id"], series_body("loss", "epoch", [0, 1, 2], [3.0, 0.5, 1.0]))
    post_points(client, run["id"], series_body("loss", "epoch", [1], [2.5]))
    (summary,) = client.get(f"/api/v1/runs/{run['id']}/series").json()["series"]
    assert (summary["count"], summary["min_value"], summary["min_step"]) == (3, 1.0, 2)
    assert (summary["max_value"], summary["max_step"]) == (3.0, 0)


def test_repeated_step_in_one_request_keeps_the_last(client):
    run = make_run(client)
    post_points(client, run["id"], series_body("loss", "epoch", [2, 0, 2], [5.0, 1.0, 7.0]))
    points = read(client, run["id"], "loss")
    assert (points["steps"], points["values"]) == ([0, 2], [1.0, 7.0])


def test_non_finite_values_round_trip_as_names(client):
    run = make_run(client)
    post_points(client, run["id"], series_body("loss", "epoch", [0, 1, 2, 3], [1.0, "NaN", "Infinity", "-Infinity"]))
    assert read(client, run["id"], "loss")["values"] == [1.0, "NaN", "Infinity", "-Infinity"]
    (summary,) = client.get(f"/api/v1/runs/{run['id']}/series").json()["series"]
    assert summary["min_value"] == "-Infinity" and summary["max_value"] == "Infinity"


def test_python_json_nan_tokens_are_accepted(client):
    run = make_run(client)
    body = json.dumps({"series": [series_body("loss", "epoch", [0, 1], [float("nan"), float("inf")])]})
    response = client.post(f"/api/v1/runs/{run['id']}/points", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert read(client, run["id"], "loss")["values"] == ["NaN", "Infinity"]


def test_series_of_only_nan_has_no_min_or_max(client):
    run = make_run(client)
    post_points(client, run["id"], series_body("loss", "epoch", [0, 1], ["NaN", "NaN"]))
    (summary,) = client.get(f"/api/v1/runs/{run['id']}/series").json()["series"]
    assert summary["last_value"] == "NaN"
    assert summary["min_value"] is None and summary["max_value"] is None


def test_keys_with_slashes_and_unicode_are_addressable(client):
    run = make_run(client)
    post_points(client, run["id"], series_body("train/loss ü 🚀", "batch", [0], [1.0], epochs=[0]))
    assert read(client, run["id"], "train/loss ü 🚀", "batch")["values"] == [1.0]


def test_gzip_body_is_accepted(client):
    run = make_run(client)
    body = gzip.compress(json.dumps({"series": [series_body("loss", "epoch", [0], [1.0])]}).encode())
    response = client.post(
        f"/api/v1/runs/{run['id']}/points",
        content=body,
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert response.status_code == 200, response.text


# -- property tests -----------------------------------------------------------------------
any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    points=st.dictionaries(st.integers(0, 10_000), any_float, min_size=1, max_size=60),
    chunks=st.integers(1, 4),
    resend=st.booleans(),
)
def test_any_float_in_any_step_order_round_trips(client, points, chunks, resend):
    run = make_run(client)
    items = list(points.items())[::-1]  # not in step order
    size = -(-len(items) // chunks)
    for i in range(0, len(items), size):
        part = items[i : i + size]
        body = {"series": [{"key": "m", "scope": "batch", "steps": [s for s, _ in part],
                            "values": [v for _, v in part], "times": [1.0] * len(part)}]}
        for _ in range(2 if resend else 1):
            raw = json.dumps(body)  # Python emits NaN/Infinity tokens, which the API accepts
            response = client.post(f"/api/v1/runs/{run['id']}/points", content=raw,
                                   headers={"content-type": "application/json"})
            assert response.status_code == 200, response.text
    stored = read(client, run["id"], "m", "batch")
    expected_steps = sorted(points)
    assert stored["steps"] == expected_steps
    assert same_floats([decode(v) for v in stored["values"]], [points[s] for s in expected_steps])
    (summary,) = client.get(f"/api/v1/runs/{run['id']}/series").json()["series"]
    finite_or_inf = [(v, s) for s, v in sorted(points.items()) if not math.isnan(v)]
    assert summary["count"] == len(points)
    if finite_or_inf:
        low = min(finite_or_inf, key=lambda p: p[0])
        assert (decode(summary["min_value"]), summary["min_step"]) == low
    else:
        assert summary["min_value"] is None
