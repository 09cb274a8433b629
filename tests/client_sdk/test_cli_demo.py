"""`fitwatch demo`: real Keras runs on load_digits, on a running server or one it starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from tests.helpers.server import free_port
from tests.helpers.wait import wait_until

pytestmark = pytest.mark.keras


def demo_runs(url: str) -> list[dict]:
    runs = httpx.get(
        f"{url}/api/v1/runs", params={"project": "demo", "sort": "created_at", "include": "series"}
    )
    return runs.json()["runs"]


def test_the_demo_trains_runs_with_different_learning_rates_on_a_running_server(
    live_server: str,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fitwatch", "demo", "--runs", "2", "--epochs", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "FITWATCH_URL": live_server},
    )
    assert result.returncode == 0, result.stderr
    assert f"fitwatch demo: using the server at {live_server}" in result.stdout
    assert result.stdout.rstrip().endswith(
        f"fitwatch demo: done. The runs: {live_server}/?project=demo"
    )
    runs = demo_runs(live_server)
    assert [r["status"] for r in runs] == ["finished", "finished"]
    assert [r["config"]["optimizer"]["learning_rate"] for r in runs] == [0.03, 0.003]
    for run in runs:
        counts = {(s["key"], s["scope"]): s["count"] for s in run["series"]}
        assert counts[("val_accuracy", "epoch")] == 2
        assert counts[("loss", "batch")] == 2 * 45  # 1437 training samples in batches of 32


def test_the_demo_starts_a_server_and_keeps_it_until_ctrl_c() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    demo = subprocess.Popen(
        [sys.executable, "-m", "fitwatch", "demo", "--runs", "1", "--epochs", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "FITWATCH_URL": url},
    )
    try:
        assert demo.stdout is not None
        lines = []
        for line in demo.stdout:
            lines.append(line.rstrip())
            if "Ctrl+C" in line:
                break
        assert lines[0] == f"fitwatch demo: no server at {url}; starting one"
        assert f"fitwatch demo: done. The runs: {url}/?project=demo" in lines
        assert [r["status"] for r in demo_runs(url)] == ["finished"]
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0
    finally:
        if demo.poll() is None:
            demo.kill()

    def server_gone() -> bool:
        try:
            httpx.get(url, timeout=1)
        except httpx.HTTPError:
            return True
        return False

    wait_until(server_gone, timeout=30)
