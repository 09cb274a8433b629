"""js/columns.js (the runs table's columns as data) and js/markdown.js's link rule, evaluated
in the browser; the filter clauses they build are checked against the real server's parser."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.web.dashboard import create_run, open_ready

pytestmark = pytest.mark.browser


def call(page: Any, module: str, fn: str, *args: Any) -> Any:
    return page.evaluate(
        f"async (args) => (await import('/js/{module}.js')).{fn}(...args)", list(args)
    )


def test_filter_boxes_become_clauses_the_server_accepts(page: Any, live_server: str) -> None:
    create_run(live_server, name="a", config={"optimizer": {"name": "adam"}, "units": 8})
    open_ready(page, f"{live_server}/")
    cases = {
        ('config:["units"]', "> 4"): 'config."units" > 4',
        ('config:["optimizer","name"]', "adam"): 'config."optimizer"."name" ~ "adam"',
        ("metric:min:epoch:val_loss", "<= 0.5"): 'min("val_loss", epoch) <= 0.5',
        (
            "metric:last:batch:fitwatch/learning_rate",
            "1e-3",
        ): 'last("fitwatch/learning_rate", batch) = 0.001',
        ("name", "mlp"): 'name ~ "mlp"',
        ("tags", "!= base"): 'tags !~ "base"',
        ("duration", ">= 60"): "duration >= 60",
        ("start", "2026-01-31"): 'created_at >= "2026-01-31"',
        ("status", ""): "",
    }
    for (col, typed), clause in cases.items():
        built = page.evaluate(
            "async ([id, typed]) => { const m = await import('/js/columns.js'); return m.filterClause(m.column(id), typed); }",
            [col, typed],
        )
        assert built == clause, (col, typed)
        if clause:
            answer = httpx.get(f"{live_server}/api/v1/runs", params={"filter": clause})
            assert answer.status_code == 200, (clause, answer.text)
    for sort in ("-start", 'config:["units"]', "metric:max:epoch:accuracy", "-duration", "project"):
        server_sort = call(page, "columns", "serverSort", sort)
        assert (
            httpx.get(f"{live_server}/api/v1/runs", params={"sort": server_sort}).status_code == 200
        ), server_sort
    assert call(page, "columns", "serverSort", "tags") == "-created_at"  # not sortable: the default


def test_available_columns_offer_config_leaves_and_every_metric(
    page: Any, live_server: str
) -> None:
    open_ready(page, f"{live_server}/")
    runs = [
        {
            "config": {
                "optimizer": {"name": "adam", "lr": 0.1},
                "environment": {"python": "3.11"},
                "layers": [1, 2],
            },
            "series": [{"key": "loss", "scope": "epoch"}, {"key": "loss", "scope": "batch"}],
        },
        {"config": {"units": 4}, "series": [{"key": "acc", "scope": "epoch"}]},
    ]
    offer = call(page, "columns", "availableColumns", runs)
    assert offer["config"] == [
        ["optimizer", "lr"],
        ["optimizer", "name"],
        ["units"],
    ]  # no environment, no lists
    assert offer["metrics"] == [
        {"key": "acc", "scope": "epoch"},
        {"key": "loss", "scope": "batch"},
        {"key": "loss", "scope": "epoch"},
    ]


def test_only_safe_link_targets_become_links(page: Any, live_server: str) -> None:
    open_ready(page, f"{live_server}/")
    for target in (
        "https://example.com",
        "http://x",
        "mailto:a@b.c",
        "/run.html?run=1",
        "./a",
        "runs/abc",
        "#top",
    ):
        assert call(page, "markdown", "safeHref", target) is True, target
    for target in (
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:x",
        "data:text/html,x",
        "vbscript:x",
    ):
        assert call(page, "markdown", "safeHref", target) is False, target
