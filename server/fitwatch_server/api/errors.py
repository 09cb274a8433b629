"""The only place that maps domain errors to HTTP responses."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from fitwatch_server.errors import (
    Conflict,
    FitwatchError,
    Forbidden,
    HostNotAllowed,
    InvalidFilter,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerBusy,
    Unauthorized,
    UnsupportedMediaType,
)

STATUS_BY_ERROR: list[tuple[type[FitwatchError], int]] = [
    (NotFound, 404),
    (PayloadTooLarge, 413),
    (InvalidInput, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Conflict, 409),
    (LimitExceeded, 422),
    (HostNotAllowed, 400),
    (UnsupportedMediaType, 415),
    (RateLimited, 429),
    (ServerBusy, 503),
]


def _status_for(error: FitwatchError) -> int:
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 400


def error_response(error: FitwatchError) -> JSONResponse:
    """The JSON answer to a domain error (also used by the ASGI middlewares in api/edge.py)."""
    body: dict[str, object] = {"detail": error.detail}
    headers: dict[str, str] = {}
    if isinstance(error, InvalidFilter):
        body["position"] = error.position
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="fitwatch"'
    if isinstance(error, RateLimited | ServerBusy):
        headers["Retry-After"] = str(error.retry_after_s)
    return JSONResponse(body, status_code=_status_for(error), headers=headers)


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, FitwatchError)
    return error_response(error)


def _jsonable(value: object) -> object:
    """Validation errors may echo NaN or bytes back; keep the error response valid JSON."""
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return repr(value)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    details = []
    for item in error.errors():
        clean = {k: _jsonable(v) for k, v in item.items() if k in ("type", "loc", "msg", "input")}
        if isinstance(clean.get("input"), str) and len(str(clean["input"])) > 200:
            clean["input"] = str(clean["input"])[:200] + "..."
        if isinstance(clean.get("input"), dict | list) and len(json.dumps(clean["input"])) > 200:
            clean.pop("input")
        details.append(clean)
    return JSONResponse({"detail": details}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FitwatchError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
