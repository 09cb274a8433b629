"""`fitwatch.Api` against a live server: filter, sort, to_pandas, history, export of several runs."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

import fitwatch
from fitwatch.errors import RejectedError

pd = pytest.importorskip("pandas")

BATCH_STEPS = 5000  # more than any downsampling default: history and export must keep all


def _make_runs(url: str) -> dict[str, str]:
    ids = {}
    for name, lr in (("slow", 0.001), ("fast", 0.1), ("mid", 0.01)):
        run = fitwatch.init(
            project="api",
            name=name,
            url=url,
            tags=["sweep"],
            config={"optimizer": {"name": "adam", "lr": lr}, "layers": [8, 4]},
        )
        for epoch in range(4):
            run.log(
                {"loss": lr * 10 / (epoch + 1), "val_acc": 1 - lr * 10 / (epoch + 2)}, step=epoch
            )
        run.log({"loss": math.nan}, step=4)  # a diverged epoch: NaN is data
        for step in range(BATCH_STEPS):
            run.log({"loss": float(step)}, step=step, scope="batch", epoch=step // 1000)
        run.finish(summary={"best": {"val_acc": 1 - lr * 10 / 5}})
        ids[name] = run.id
    return ids


def test_runs_filter_sort_history_and_export(
    live_server: str, journal_dir: Path, tmp_path: Path
) -> None:
    ids = _make_runs(live_server)
    with fitwatch.Api(live_server) as api:
        found = api.runs(filter="config.optimizer.lr < 0.05", sort="-max(val_acc)", project="api")
        assert [r.name for r in found] == ["slow", "mid"]
        assert [r.name for r in api.runs(sort="name", project="api")] == ["fast", "mid", "slow"]
        assert len(api.runs(project="api", limit=2)) == 2
        assert api.runs(project="nothing-here") == []

        table = found.to_pandas()
        assert list(table["name"]) == ["slow", "mid"]
        assert list(table["config.optimizer.lr"]) == [0.001, 0.01]
        assert list(table["config.layers"]) == [[8, 4], [8, 4]]
        assert table["summary.best.val_acc"].tolist() == pytest.approx([0.998, 0.98])
        assert set(table["status"]) == {"finished"}

        slow = found[0]
        epochs = slow.history()
        assert list(epochs.columns) == ["loss", "val_acc"] and epochs.index.name == "step"
        assert epochs["loss"].iloc[:4].tolist() == [0.01 / (e + 1) for e in range(4)]
        assert math.isnan(epochs["loss"].iloc[4]) and math.isnan(epochs["val_acc"].iloc[4])
        batches = slow.history(["loss"], scope="batch")
        assert len(batches) == BATCH_STEPS and batches["loss"].tolist() == [
            float(s) for s in range(BATCH_STEPS)
        ]

        out = tmp_path / "export.csv"
        assert api.export(found, out) == 2 * (BATCH_STEPS + 5 + 4)
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["run_id"] for r in rows} == {ids["slow"], ids["mid"]}
    mine = [r for r in rows if r["run_id"] == ids["mid"] and r["scope"] == "batch"]
    assert [int(r["step"]) for r in mine] == list(range(BATCH_STEPS))  # every point, in order
    assert mine[1500]["epoch"] == "1" and float(mine[1500]["value"]) == 1500.0
    nan = [
        r
        for r in rows
        if r["run_id"] == ids["mid"]
        and r["key"] == "loss"
        and r["scope"] == "epoch"
        and r["step"] == "4"
    ]
    assert nan[0]["value"] == "NaN"


def test_a_malformed_filter_says_where(live_server: str) -> None:
    with fitwatch.Api(live_server) as api, pytest.raises(RejectedError, match="400"):
        api.runs(filter="config.lr <")


def test_history_refuses_a_string_of_keys(live_server: str, journal_dir: Path) -> None:
    run = fitwatch.init(project="api", url=live_server)
    run.log({"loss": 1.0})
    run.finish()
    with fitwatch.Api(live_server) as api:
        (found,) = api.runs(project="api")
        with pytest.raises(ValueError, match="keys must be a list of keys, not one string"):
            found.history("loss")


def test_export_keeps_keys_with_unicode_line_separators(
    live_server: str, journal_dir: Path, tmp_path: Path
) -> None:
    # U+2028, U+2029 and U+0085 are valid in a key; str.splitlines() (httpx's iter_lines)
    # breaks lines on them, which split one exported row into two rows of made-up keys.
    keys = ["loss", "a\u2028b", "c\u2029d", "e\x85f", "g,h"]
    with fitwatch.init(project="api-keys", url=live_server) as run:
        for step in range(3):
            run.log(dict.fromkeys(keys, step + 0.5), step=step)
    path = tmp_path / "keys.csv"
    with fitwatch.Api(live_server) as api:
        assert api.export([run.id], path) == len(keys) * 3
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((r["key"], int(r["step"]), float(r["value"])) for r in rows) == sorted(
        (key, step, step + 0.5) for key in keys for step in range(3)
    )
