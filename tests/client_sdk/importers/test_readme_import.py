"""The README's "Ways in and out" command, as written, on a logdir Keras's TensorBoard wrote."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.client_sdk.importers.conftest import KerasLogs, stored_equals_history
from tests.helpers.stored import Stored

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readmes_import_command_runs_as_written(
    keras_logs: dict[str, KerasLogs], live_server: str, tmp_path: Path
) -> None:
    (line,) = [
        line for line in README.read_text().splitlines() if line.startswith("fitwatch import tensorboard")
    ]
    command = line.split("#", 1)[0].strip()
    assert command == "fitwatch import tensorboard logs/ --project digits"
    # `logs/` holds one run directory, as Keras's TensorBoard(log_dir="logs/<run>") leaves it.
    shutil.copytree(keras_logs["steady"].tensorboard, tmp_path / "logs" / "steady")
    env = {
        **os.environ,
        "FITWATCH_URL": live_server,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = httpx.get(f"{live_server}/api/v1/runs", params={"project": "digits"}).json()["runs"]
    assert run["name"] == "steady"
    stored = Stored(live_server)
    try:
        stored_equals_history(stored, run["id"], keras_logs["steady"])
    finally:
        stored.close()
