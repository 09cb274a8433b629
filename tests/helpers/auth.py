"""A server that needs tokens, seen from a test: make tokens on it, read it as the admin."""

from __future__ import annotations

from tests.helpers.stored import Stored

ADMIN_TOKEN = "sdk-admin-" + "b" * 40


class AuthServer:
    """A server process with FITWATCH_AUTH=on; `token(scope)` makes a real token on it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stored = Stored(url, ADMIN_TOKEN)

    def token(self, scope: str, project: str | None = None, name: str | None = None) -> str:
        body = {"name": name or f"{scope}-{project or 'all'}", "scope": scope}
        if project:
            body["project"] = project
        response = self.stored.http.post("/tokens", json=body)
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token
