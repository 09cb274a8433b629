"""Request-scoped dependencies (server/fitwatch_server/api/deps.py): a route's transaction is
committed before its answer leaves, so a client told 201 can count on the row being there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from starlette.testclient import TestClient

from tests.server.conftest import ADMIN

Message = dict[str, Any]


def test_a_routes_transaction_is_committed_before_its_answer_leaves(auth_settings: Any) -> None:
    from fitwatch_server.app import create_app
    from fitwatch_server.db import make_engine

    app = create_app(auth_settings)
    engine = make_engine(auth_settings.database_url)
    seen_at_answer: list[int] = []

    async def watching(
        scope: Message, receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        async def send_watched(message: Message) -> None:
            if message["type"] == "http.response.start" and scope.get("method") == "POST":
                # Another connection, as the next request (or another client) would see it.
                with engine.connect() as other:
                    seen_at_answer.append(other.scalar(text("SELECT count(*) FROM tokens")))
            await send(message)

        await app(scope, receive, send_watched)

    try:
        with TestClient(watching, base_url="http://localhost") as client:
            for i in range(3):
                made = client.post(
                    "/api/v1/tokens", json={"name": f"t{i}", "scope": "read"}, headers=ADMIN
                )
                assert made.status_code == 201, made.text
    finally:
        engine.dispose()
    # Committed after the answer (FastAPI's default for a dependency with yield) showed 0, 1, 2:
    # a client could be told 201 for a token a failed commit then lost, and the next request
    # (read, then write) met the late commit as "database is locked".
    assert seen_at_answer == [1, 2, 3]
