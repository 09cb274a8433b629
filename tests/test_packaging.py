"""The wheel carries the dashboard and the migrations, so `pip install fitwatch[server]` runs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_web_and_migrations(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, check=False, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("fitwatch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "fitwatch/__init__.py" in names
    assert "fitwatch_server/app.py" in names
    assert "fitwatch_server/web/index.html" in names
    assert "fitwatch_server/migrations/env.py" in names
    assert any(n.startswith("fitwatch_server/migrations/versions/0001_") for n in names)
    metadata = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Provides-Extra: server" in text and "Provides-Extra: postgres" in text
