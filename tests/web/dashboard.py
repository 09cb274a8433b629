"""Helpers for the dashboard tests: fill a server over REST, read what the page drew."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

T0 = 1_795_000_000.0


def create_run(base: str, **fields: Any) -> dict[str, Any]:
    body = {"project": "web", "name": "run", **fields}
    response = httpx.post(f"{base}/api/v1/runs", json=body)
    assert response.status_code in (200, 201), response.text
    run: dict[str, Any] = response.json()
    return run


def post_series(base: str, run_id: str, *series: dict[str, Any]) -> None:
    response = httpx.post(f"{base}/api/v1/runs/{run_id}/points", json={"series": list(series)})
    assert response.status_code == 200, response.text


def series(key: str, scope: str, steps: list[int], values: list[Any], steps_per_epoch: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"key": key, "scope": scope, "steps": steps, "values": values,
                            "times": [T0 + s * 0.1 for s in steps]}
    if scope in ("batch", "batch_derived"):
        body["epochs"] = [s // (steps_per_epoch or 10) for s in steps]
    return body


def training_run(base: str, *, name: str = "run", project: str = "web", lr: float = 0.001, epochs: int = 5,
                 steps_per_epoch: int = 10, config: dict[str, Any] | None = None, status: str = "finished") -> dict[str, Any]:
    """A run with batch and epoch loss/accuracy and epoch val_loss/val_accuracy, like the callback logs."""
    run = create_run(base, name=name, project=project, config={
        "optimizer": {"class_name": "Adam", "name": "adam", "learning_rate": lr},
        "fits": [{"params": {"epochs": epochs, "steps": steps_per_epoch}, "args": {"epochs": epochs}}],
        "compile": {"metrics": ["accuracy"]}, "batch_size": 32, **(config or {})})
    n = epochs * steps_per_epoch
    batch_steps = list(range(n))
    loss = [2.0 / (1 + s * lr * 10) for s in batch_steps]
    acc = [1 - v / 2.2 for v in loss]
    ep = list(range(epochs))
    post_series(base, run["id"],
                series("loss", "batch", batch_steps, loss, steps_per_epoch),
                series("accuracy", "batch", batch_steps, acc, steps_per_epoch),
                series("loss", "epoch", ep, [loss[(e + 1) * steps_per_epoch - 1] for e in ep]),
                series("accuracy", "epoch", ep, [acc[(e + 1) * steps_per_epoch - 1] for e in ep]),
                series("val_loss", "epoch", ep, [loss[(e + 1) * steps_per_epoch - 1] * 1.1 for e in ep]),
                series("val_accuracy", "epoch", ep, [acc[(e + 1) * steps_per_epoch - 1] * 0.95 for e in ep]))
    if status != "running":
        httpx.patch(f"{base}/api/v1/runs/{run['id']}", json={"status": status}).raise_for_status()
    return run


def open_ready(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")


def trace_data(page: Any, key: str) -> list[dict[str, Any]]:
    """The traces Plotly holds for the chart of `key` (x, y, name, visible)."""
    result: list[dict[str, Any]] = page.evaluate(
        """(key) => {
          const div = document.querySelector(`.chart[data-key="${CSS.escape(key)}"]`);
          if (!div || !div.data) return [];
          return div.data.map((t) => ({name: t.name, x: Array.from(t.x || []).map((v) => v instanceof Date ? v.getTime() : v),
                                        y: Array.from(t.y || []), visible: t.visible === undefined ? true : t.visible}));
        }""",
        key,
    )
    return result


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def screenshot(page: Any, name: str) -> None:
    """Refresh docs/screenshots/NAME when asked (FITWATCH_SCREENSHOTS=1), never in an ordinary
    run: a test run must not rewrite the repository's files."""
    if os.environ.get("FITWATCH_SCREENSHOTS") == "1":
        page.screenshot(path=str(SCREENSHOTS / name), full_page=False)
