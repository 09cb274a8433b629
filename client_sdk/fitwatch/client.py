"""Typed REST calls to the fitwatch server over one keep-alive httpx.Client.

Thin on purpose: one method a route, explicit timeouts, errors mapped onto
`fitwatch.errors`. Retrying, batching and journaling live in `sender.py`.
"""

from __future__ import annotations

import gzip
import json
import math
from typing import Any

import httpx

from fitwatch._version import __version__
from fitwatch.errors import RejectedError, ServerError, TransportError
from fitwatch.settings import GZIP_MIN_BYTES, ClientSettings

API = "/api/v1"


def json_safe(obj: Any) -> Any:
    """Make config/summary JSON-strict: non-finite floats by name, unknown objects by str."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, int | str):
        return obj
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return "NaN" if obj != obj else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [json_safe(v) for v in obj]
    item = getattr(obj, "item", None)  # numpy scalars, 0-d arrays
    if callable(item):
        try:
            return json_safe(item())
        except (TypeError, ValueError):
            pass
    return str(obj)


def retry_after(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds (the delta form; fitwatch's server sends no dates)."""
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def server_detail(response: httpx.Response) -> str | None:
    """The `detail` string of an error answer, if it has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) else None


class Client:
    """The REST API as methods. Raises `TransportError`, `ServerError` or `RejectedError`."""

    def __init__(self, settings: ClientSettings) -> None:
        headers = {"User-Agent": f"fitwatch/{__version__}"}
        if settings.token:
            headers["Authorization"] = f"Bearer {settings.token}"
        self._http = httpx.Client(
            base_url=settings.url,
            headers=headers,
            timeout=httpx.Timeout(settings.request_timeout_s, connect=settings.connect_timeout_s),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers: dict[str, str] = {}
        content: bytes | None = None
        if body is not None:
            content = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
            if len(content) >= GZIP_MIN_BYTES:
                # Level 1: most of the size win for a fraction of the CPU, which the
                # training process needs more than the loopback does.
                content = gzip.compress(content, compresslevel=1)
                headers["Content-Encoding"] = "gzip"
        try:
            response = self._http.request(method, API + path, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise TransportError(f"{method} {path} failed: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            detail = response.text[:500]
            message = f"{method} {path} returned {response.status_code}: {detail}"
            extra: dict[str, Any] = {"retry_after_s": retry_after(response), "detail": server_detail(response)}
            error = ServerError(message, status_code=response.status_code, **extra)
            if not error.retryable:
                raise RejectedError(message, status_code=response.status_code, **extra)
            raise error
        return response

    def create_run(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /runs; idempotent when `body` carries an `id`."""
        result: dict[str, Any] = self._request("POST", "/runs", json_safe(body)).json()
        return result

    def post_points(self, run_id: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", f"/runs/{run_id}/points", body).json()
        return result

    def update_run(self, run_id: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._request("PATCH", f"/runs/{run_id}", json_safe(body)).json()
        return result

    def heartbeat(self, run_id: str) -> None:
        self._request("POST", f"/runs/{run_id}/heartbeat")

    def get_run(self, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/runs/{run_id}").json()
        return result

    def whoami(self) -> dict[str, Any]:
        """GET /auth/whoami: the token's name, scope and project, and the server's limits."""
        result: dict[str, Any] = self._request("GET", "/auth/whoami").json()
        return result

    def create_token(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", "/tokens", body).json()
        return result

    def list_tokens(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/tokens").json()["tokens"]
        return result

    def revoke_token(self, ident: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("DELETE", f"/tokens/{ident}").json()
        return result

    def get_series(
        self, run_id: str, key: str, *, scope: str = "epoch", max_points: int | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"scope": scope}
        if max_points is not None:
            params["max_points"] = max_points
        try:
            response = self._http.get(f"{API}/runs/{run_id}/series/{key}", params=params)
        except httpx.HTTPError as exc:
            raise TransportError(f"GET series {key!r} failed: {exc}") from exc
        if response.status_code >= 400:
            raise ServerError(
                f"GET series {key!r} returned {response.status_code}: {response.text[:500]}",
                status_code=response.status_code,
            )
        result: dict[str, Any] = response.json()
        return result

    def purge_runs(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /admin/purge (admin): delete runs with no activity for `older_than_days`."""
        result: dict[str, Any] = self._request("POST", "/admin/purge", body).json()
        return result
