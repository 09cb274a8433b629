"""The runs table grouped (issue 11: mean ± std of a column), in Chromium against a real
server: one row per group with n and each numeric column's mean ± std (population, as
numpy.std) and min–max, checked against NumPy and `statistics` on the runs' own values;
expanding a group shows its runs."""

from __future__ import annotations

import statistics
from typing import Any

import httpx
import numpy as np
import pytest

from tests.web.dashboard import open_ready, screenshot, training_run

pytestmark = pytest.mark.browser

LR = "config.optimizer.learning_rate"


def summary(run: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in run["series"] if s["key"] == key and s["scope"] == "epoch")


def test_grouped_runs_table_shows_mean_and_std_per_group_and_expands(page: Any, live_server: str) -> None:
    for lr in (0.001, 0.01):
        for seed in range(3):
            # Epochs differ by seed, so the last losses of a group differ too.
            training_run(live_server, name=f"lr{lr}-s{seed}", project="grp", lr=lr, epochs=3 + seed, config={"seed": seed})
    open_ready(page, f"{live_server}/?project=grp")
    options = page.eval_on_selector_all("#group-by option", "os => os.map((o) => o.value)")
    assert options[0] == "" and LR in options and "-config.seed" in options and "tags" in options
    page.select_option("#group-by", LR)
    page.wait_for_selector("tr.group-row")
    assert "group=" in page.url
    assert page.text_content("#run-count").startswith("6 runs in 2 groups")
    assert page.locator("tbody tr[data-run]").count() == 0  # only the group rows until expanded

    runs = httpx.get(f"{live_server}/api/v1/runs", params={"project": "grp", "include": "series", "limit": 1000}).json()["runs"]
    for lr in (0.001, 0.01):
        label = f"{LR}={lr}"
        members = [r for r in runs if r["config"]["optimizer"]["learning_rate"] == lr]
        row = page.locator(f"tr.group-row[data-group='{label}']")
        assert row.locator("td.group-n").text_content() == "3"
        checks = {
            "metric:last:epoch:loss": [summary(r, "loss")["last_value"] for r in members],
            "metric:min:epoch:val_loss": [summary(r, "val_loss")["min_value"] for r in members],
            "epochs": [summary(r, "loss")["last_step"] + 1 for r in members],
        }
        for col, values in checks.items():
            cell = row.locator(f"td.group-stats[data-col='{col}']")
            got = {k: float(cell.get_attribute(f"data-{k}")) for k in ("mean", "std", "min", "max", "n")}
            assert got["n"] == 3
            assert got["mean"] == pytest.approx(np.mean(values), rel=1e-12)
            assert got["std"] == pytest.approx(np.std(values), rel=1e-9, abs=1e-15)  # population, ddof=0
            assert got["std"] == pytest.approx(statistics.pstdev(values), rel=1e-9, abs=1e-15)
            assert (got["min"], got["max"]) == (min(values), max(values))
            assert " \u00b1 " in cell.text_content() and "min\u2013max" in cell.get_attribute("title")
        # Values the runs share show as such; the others as a count.
        assert row.locator("td").nth(2).text_content() == "finished"
        assert np.std(checks["epochs"]) > 0

    screenshot(page, "runs-grouped.png")
    page.click(f"tr.group-row[data-group='{LR}=0.01'] button.group-toggle")
    page.wait_for_selector("tr.member")
    names = page.eval_on_selector_all("tr.member td.name a", "ns => ns.map((n) => n.textContent)")
    assert sorted(names) == ["lr0.01-s0", "lr0.01-s1", "lr0.01-s2"]
    screenshot(page, "runs-grouped-expanded.png")
    # Off again: one row per run, paged as before.
    page.select_option("#group-by", "")
    page.wait_for_function("() => document.querySelectorAll('tbody tr[data-run]').length === 6")
    assert page.locator("tr.group-row").count() == 0


def test_a_value_every_run_of_a_group_shares_has_no_spread(page: Any, live_server: str) -> None:
    open_ready(page, f"{live_server}/")
    stats = page.evaluate(
        """async () => { const { columnStats } = await import("/js/grouping.js");
          const col = { value: (run) => ({ value: run.v }) };
          return [columnStats(col, Array(7).fill({ v: 0.1 })), columnStats(col, [{ v: 1 }, { v: 3 }])]; }"""
    )
    same, spread = stats
    # Seven 0.1s sum to 0.7000000000000001: the mean and std must still be 0.1 and 0.
    assert (same["mean"], same["std"], same["min"], same["max"], same["n"]) == (0.1, 0, 0.1, 0.1, 7)
    assert (spread["mean"], spread["std"]) == (2, 1)
