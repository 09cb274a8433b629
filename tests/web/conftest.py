"""Browser fixtures: Playwright driving Debian's Chromium against a real server process."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.helpers.auth import ADMIN_TOKEN, AuthServer
from tests.helpers.server import ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # DNS rebinding, simulated: this name resolves to loopback like an attacker's would.
    "--host-resolver-rules=MAP attacker.example 127.0.0.1",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require(shutil.which("chromium") is not None, "Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page; page errors and Content-Security-Policy violations
    (Chromium reports them on the console) fail the test at teardown."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    new_page.on(
        "console",
        lambda message: errors.append(message.text)
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text
        else None,
    )
    new_page.set_default_timeout(20_000)
    # A test that provokes a violation on purpose takes it out of this list.
    new_page.fitwatch_errors = errors  # type: ignore[attr-defined]
    yield new_page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def auth_live_server(server_process: type[ServerProcess], tmp_path: Path) -> Iterator[AuthServer]:
    """A real server process that needs tokens (FITWATCH_AUTH=on), on SQLite."""
    server = server_process(
        f"sqlite:///{tmp_path / 'auth.db'}", env={"FITWATCH_AUTH": "on", "FITWATCH_ADMIN_TOKEN": ADMIN_TOKEN}
    ).start()
    helper = AuthServer(server.url)
    yield helper
    helper.stored.close()


@pytest.fixture
def other_origin() -> Iterator[Callable[[str], str]]:
    """A second local HTTP server on another port (another origin): `serve(html)` -> its URL."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            body = pages.get(self.path.split("?")[0], b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(html: str) -> str:
        name = f"/page{len(pages)}.html"
        pages[name] = html.encode()
        return f"http://127.0.0.1:{server.server_address[1]}{name}"

    yield serve
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
