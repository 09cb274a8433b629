"""Run search over the API: attributes, tags, config values, metric aggregates, sort, pages."""

from __future__ import annotations

import pytest

from tests.helpers.factories import make_run, post_points, series_body


@pytest.fixture
def runs(client):
    made = {}
    for name, lr, tags, opt, val_acc, loss in [
        ("resnet-a", 0.001, ["baseline"], "adam", [0.5, 0.95], [0.9, 0.2]),
        ("resnet-b", 0.1, ["v2"], "sgd", [0.4, 0.6], [1.0, 0.5]),
        ("mlp", 0.005, ["v2", "small"], "adam", [0.8, 0.91], [0.7, 0.4]),
        ("debug", 0.005, [], "adam", None, None),
    ]:
        run = make_run(client, name=name, tags=tags,
                       config={"optimizer": {"learning_rate": lr, "name": opt}, "use_ema": name == "mlp"})
        if val_acc:
            post_points(client, run["id"], series_body("val_accuracy", "epoch", [0, 1], val_acc),
                        series_body("loss", "epoch", [0, 1], loss))
        made[name] = run
    return made


def names(client, **params):
    response = client.get("/api/v1/runs", params={"sort": "name", **params})
    assert response.status_code == 200, response.text
    return [r["name"] for r in response.json()["runs"]]


def test_issue_example_with_config_tags_and_name(client, runs):
    text = 'config.optimizer.learning_rate < 0.01 and (tags in ("baseline", "v2") or name ~ "resnet")'
    assert names(client, filter=text) == ["mlp", "resnet-a"]


def test_issue_example_with_metric_aggregates(client, runs):
    assert names(client, filter="max(val_accuracy) > 0.9 and last(loss) < 0.3") == ["resnet-a"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('name ~ "RESNET"', ["resnet-a", "resnet-b"]),
        ('name !~ "resnet"', ["debug", "mlp"]),
        ('tags = "v2"', ["mlp", "resnet-b"]),
        ('tags != "v2"', ["debug", "resnet-a"]),
        ('tags not in ("v2", "baseline")', ["debug"]),
        ('config.optimizer.name = "adam"', ["debug", "mlp", "resnet-a"]),
        ('config.optimizer.name in ("sgd")', ["resnet-b"]),
        ("config.use_ema = true", ["mlp"]),
        ("config.optimizer.learning_rate >= 0.005", ["debug", "mlp", "resnet-b"]),
        ("config.optimizer.name > 1", []),  # a string is never a number
        ("min(loss) <= 0.4", ["mlp", "resnet-a"]),
        ("count(loss) = 2", ["mlp", "resnet-a", "resnet-b"]),
        ('status = "running"', ["debug", "mlp", "resnet-a", "resnet-b"]),
        ('not status = "running"', []),
        ('created_at > "2000-01-01"', ["debug", "mlp", "resnet-a", "resnet-b"]),
        ('name = "it\'s 50% _off_"', []),
    ],
)
def test_filters(client, runs, text, expected):
    assert names(client, filter=text) == expected


def test_sort_by_metric_aggregate_puts_missing_last(client, runs):
    assert names(client, sort="-max(val_accuracy)") == ["resnet-a", "mlp", "resnet-b", "debug"]
    assert names(client, sort="last(loss)") == ["resnet-a", "mlp", "resnet-b", "debug"]


def test_pagination_reports_the_total(client, runs):
    response = client.get("/api/v1/runs", params={"sort": "name", "limit": 2, "offset": 1}).json()
    assert response["total"] == 4
    assert [r["name"] for r in response["runs"]] == ["mlp", "resnet-a"]


def test_project_scopes_the_search(client, runs):
    make_run(client, project="other", name="elsewhere")
    assert names(client, project="other") == ["elsewhere"]


def test_include_series_lists_summaries(client, runs):
    response = client.get("/api/v1/runs", params={"filter": 'name = "mlp"', "include": "series"}).json()
    (run,) = response["runs"]
    assert {s["key"] for s in run["series"]} == {"val_accuracy", "loss"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"filter": "max(loss) > "}, "at position 12"),
        ({"filter": "colour = 1"}, "unknown field 'colour'"),
        ({"filter": 'max(loss) > "high"'}, "compare it with a number"),
        ({"filter": "name = 3"}, "compare it with a quoted string"),
        ({"filter": 'created_at > "yesterday"'}, "ISO date"),
        ({"filter": "last(loss, weekly) < 1"}, "unknown scope 'weekly'"),
        ({"filter": "name ~ 3"}, "quoted string"),
        ({"sort": "tags"}, "cannot be sorted by tags"),
        ({"sort": "max(loss"}, "expected ')'"),
    ],
)
def test_bad_filters_are_400_with_a_pointer(client, runs, params, message):
    response = client.get("/api/v1/runs", params=params)
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"filter": "config.optimizer.learning_rate < 99999999999999999999"},
         "outside the 64-bit range"),
        ({"filter": "max(loss) > -99999999999999999999"}, "write it with an exponent, e.g. -1e+20"),
        ({"filter": "config.optimizer.learning_rate < 1e400"}, "too large for a 64-bit float"),
        ({"filter": "(" * 500 + 'name = "mlp"' + ")" * 500}, "nest at most 32 levels"),
        ({"filter": "not " * 900 + 'name = "mlp"'}, "nest at most 32 levels"),
        ({"filter": 'config."a\u0000" = 1'}, "NUL character"),
        ({"filter": 'name = "a\u0000"'}, "NUL character"),
        ({"sort": ",".join(["name"] * 2000)}, "a sort is at most 4000 characters"),
        ({"sort": ",".join(f"max(m{i})" for i in range(17))}, "a sort has at most 16 fields"),
    ],
)
def test_filters_and_sorts_beyond_the_bounds_are_400_naming_the_bound(client, runs, params, message):
    response = client.get("/api/v1/runs", params=params)
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


def test_bounds_still_admit_what_fits(client, runs):
    assert names(client, filter="(" * 31 + 'name = "mlp"' + ")" * 31) == ["mlp"]
    assert names(client, filter="config.optimizer.learning_rate < 1e20") == [
        "debug", "mlp", "resnet-a", "resnet-b"
    ]
    assert names(client, filter=f"count(loss) < {2**63 - 1}") == ["mlp", "resnet-a", "resnet-b"]
    sixteen = ",".join(["name"] + [f"max(m{i})" for i in range(15)])
    assert names(client, sort=sixteen)[0] == "debug"


def test_an_offset_beyond_bigint_is_422_and_the_largest_is_an_empty_page(client, runs):
    response = client.get("/api/v1/runs", params={"offset": "9223372036854775808"})
    assert response.status_code == 422, response.text
    assert "less than or equal to 9223372036854775807" in response.text
    last = client.get("/api/v1/runs", params={"offset": str(2**63 - 1)})
    assert last.status_code == 200 and last.json() == {"runs": [], "total": 4}
