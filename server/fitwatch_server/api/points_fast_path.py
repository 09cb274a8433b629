"""ASGI middleware: `POST /api/v1/runs/{run_id}/points` without FastAPI's routing and
dependency solving.

Why: the SDK posts a small batch every 0.1 s per run, so this one route carries nearly all
of the traffic. For a 50-point batch, FastAPI's route matching and its eight dependency
solves (settings, writer, hub, principal, bearer, cookie, authorize) cost more CPU than
validating and storing the points (bench/small_requests.py; docs/scale.md has the figures).

It does what the FastAPI route does, with the same parts: the caller is found and
authorised by the same functions the API router's dependency uses (`get_principal`,
`authorize`), the work is `store_points` from api/routes/points.py, and errors become the
answers api/errors.py gives. It sits inside the edge checks and the body limit (app.py), so
Host, Origin, content type, size and gzip are handled before it sees the request. Anything
that is not exactly this route and method goes on to FastAPI.
"""

from __future__ import annotations

import re

import orjson
from fastapi.exceptions import RequestValidationError
from fastapi.security import SecurityScopes
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from fitwatch_server.api.auth import SESSION_COOKIE, authorize, bearer_scheme, get_principal
from fitwatch_server.api.errors import error_response, validation_error_response
from fitwatch_server.api.routes.points import store_points
from fitwatch_server.errors import FitwatchError

NO_SCOPES = SecurityScopes([])
JSON_HEADERS = [(b"content-type", b"application/json")]


class PointsFastPath:
    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        # Starlette's `{run_id}` converter: one path segment.
        self.pattern = re.compile(re.escape(prefix) + r"/runs/(?P<run_id>[^/]+)/points")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        match = self.pattern.fullmatch(path)
        if match is None:
            await self.app(scope, receive, send)
            return
        run_id = match["run_id"]
        scope["path_params"] = {"run_id": run_id}
        request = Request(scope, receive)
        state = request.app.state
        try:
            credentials = await bearer_scheme(request)
            principal = await get_principal(
                request, credentials, request.cookies.get(SESSION_COOKIE)
            )
            await authorize(NO_SCOPES, request, principal)
            result = await store_points(
                run_id,
                await request.body(),
                writer=state.writer,
                hub=state.hub,
                settings=state.settings,
            )
        except FitwatchError as error:
            await error_response(error)(scope, receive, send)
            return
        except RequestValidationError as error:
            await validation_error_response(error)(scope, receive, send)
            return
        body = orjson.dumps(result.model_dump())
        headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
