"""Shared bits for the adversarial scripts: a real server, Chromium, chart readers."""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "client_sdk"), str(ROOT / "server")]
import os  # noqa: E402
os.environ["PYTHONPATH"] = f"{ROOT / 'client_sdk'}:{ROOT / 'server'}:{ROOT}"

import httpx  # noqa: E402

from tests.helpers.server import ServerProcess  # noqa: E402
from tests.web.dashboard import create_run, open_ready, post_series, series, trace_data, training_run  # noqa: E402,F401

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def start_server(env=None):
    tmp = tempfile.mkdtemp(prefix="advdash-")
    server = ServerProcess(f"sqlite:///{tmp}/fw.db", env=env or {}, log_path=Path(tmp) / "server.log")
    server.start()
    return server


def browser_page(playwright):
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(20_000)
    return browser, page, errors


def rest_series(base, run_id, key, scope):
    r = httpx.get(f"{base}/api/v1/runs/{run_id}/series/{key}", params={"scope": scope})
    r.raise_for_status()
    return r.json()


def wait(cond, timeout=10.0, interval=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    return cond()
