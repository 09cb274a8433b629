"""The only place that maps domain errors to HTTP responses."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from fitwatch_server.errors import (
    Conflict,
    FitwatchError,
    Forbidden,
    HostNotAllowed,
    InvalidFilter,
    InvalidInput,
    LimitExceeded,
    NestedTooDeep,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    StorageFull,
    StorageUnavailable,
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
    (StorageUnavailable, 503),
    (StorageFull, 507),
]

logger = logging.getLogger(__name__)

# A body nested this deep is read by both JSON parsers behind the API: pydantic-core's
# (points; it stops at 200 levels) and Python's json (FastAPI's bodies; it stops at the
# interpreter's recursion limit, about 1,000). Deeper bodies fail inside the parser, which
# only says "recursion limit" (points) or "There was an error parsing the body" (the rest).
MAX_JSON_DEPTH = 128
NESTED_TOO_DEEP = (
    f"the JSON body is nested too deep to read: send at most {MAX_JSON_DEPTH} levels of [ and {{ "
    "(a run's config may nest FITWATCH_MAX_DOCUMENT_DEPTH levels; store a deeper part as a "
    "JSON string)"
)


def nested_too_deep(error: ValidationError) -> NestedTooDeep | None:
    """The domain error for pydantic-core's JSON recursion limit, else None."""
    for item in error.errors(include_url=False):
        if item["type"] == "json_invalid" and "recursion limit" in item["msg"]:
            return NestedTooDeep(NESTED_TOO_DEEP)
    return None


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
    if isinstance(error, RateLimited | StorageUnavailable):
        headers["Retry-After"] = str(error.retry_after_s)
    if isinstance(error, StorageUnavailable | StorageFull):
        # The operator needs the cause in the log, not only the client in its answer.
        logger.error("fitwatch: %s", error.detail)
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


async def _validation_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    return validation_error_response(error)


def validation_error_response(error: RequestValidationError) -> Response:
    """The 422 answer to a body or parameter that does not validate (also used by
    api/points_fast_path.py)."""
    details = []
    for item in error.errors():
        clean = {k: _jsonable(v) for k, v in item.items() if k in ("type", "loc", "msg", "input")}
        if isinstance(clean.get("input"), str) and len(str(clean["input"])) > 200:
            clean["input"] = str(clean["input"])[:200] + "..."
        if isinstance(clean.get("input"), dict | list) and len(json.dumps(clean["input"])) > 200:
            clean.pop("input")
        details.append(clean)
    # ASCII-escaped: an input may echo a lone surrogate back, which UTF-8 cannot encode.
    return Response(
        json.dumps({"detail": details}, ensure_ascii=True),
        status_code=422,
        media_type="application/json",
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    # FastAPI turns Python's RecursionError while reading a JSON body into a bare 400.
    if isinstance(error.__cause__, RecursionError):
        return error_response(NestedTooDeep(NESTED_TOO_DEEP))
    return await http_exception_handler(request, error)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FitwatchError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
