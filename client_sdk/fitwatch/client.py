"""Typed REST calls to the fitwatch server over one keep-alive httpx.Client.

Thin on purpose: one method a route, explicit timeouts, errors mapped onto
`fitwatch.errors`. Retrying, batching and journaling live in `sender.py`.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import httpx

from fitwatch._version import __version__
from fitwatch.codec import json_safe
from fitwatch.errors import RejectedError, ServerError, TransportError
from fitwatch.settings import GZIP_MIN_BYTES, ClientSettings

API = "/api/v1"


__all__ = ["API", "Client", "json_safe", "retry_after", "server_detail"]


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


def _raise_for_status(response: httpx.Response, what: str) -> None:
    if response.status_code < 400:
        return
    message = f"{what} returned {response.status_code}: {response.text[:500]}"
    extra: dict[str, Any] = {"retry_after_s": retry_after(response), "detail": server_detail(response)}
    error = ServerError(message, status_code=response.status_code, **extra)
    if not error.retryable:
        raise RejectedError(message, status_code=response.status_code, **extra)
    raise error


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

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        headers: dict[str, str] = {}
        content: bytes | None = None
        if body is not None:
            try:
                content = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
            except (TypeError, ValueError) as exc:
                # Never sent: no answer of the server's could make it valid, as with a 400.
                raise RejectedError(
                    f"{method} {path}: the SDK cannot encode this request as JSON ({exc})",
                    status_code=400,
                ) from exc
            headers["Content-Type"] = "application/json"
            if len(content) >= GZIP_MIN_BYTES:
                # Level 1: most of the size win for a fraction of the CPU, which the
                # training process needs more than the loopback does.
                content = gzip.compress(content, compresslevel=1)
                headers["Content-Encoding"] = "gzip"
        try:
            response = self._http.request(method, API + path, content=content, headers=headers, params=params)
        except httpx.HTTPError as exc:
            raise TransportError(f"{method} {path} failed: {type(exc).__name__}: {exc}") from exc
        self._raise_for_status(method, path, response)
        return response

    @staticmethod
    def _raise_for_status(method: str, path: str, response: httpx.Response) -> None:
        if response.status_code >= 400:
            detail = response.text[:500]
            message = f"{method} {path} returned {response.status_code}: {detail}"
            extra: dict[str, Any] = {"retry_after_s": retry_after(response), "detail": server_detail(response)}
            error = ServerError(message, status_code=response.status_code, **extra)
            if not error.retryable:
                raise RejectedError(message, status_code=response.status_code, **extra)
            raise error

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

    def list_runs(self, params: dict[str, Any]) -> dict[str, Any]:
        """GET /runs: `{"runs": [...], "total": N}` for project/filter/sort/limit/offset."""
        result: dict[str, Any] = self._request("GET", "/runs", params=params).json()
        return result

    def delete_run(self, run_id: str) -> None:
        self._request("DELETE", f"/runs/{run_id}")

    def export_run(self, run_id: str, *, format: str) -> Iterator[bytes]:  # noqa: A002 - the API's name
        """GET /runs/{id}/export, streamed: every point, never downsampled."""
        path = f"/runs/{run_id}/export"
        try:
            with self._http.stream("GET", API + path, params={"format": format}) as response:
                if response.status_code >= 400:
                    response.read()
                    self._raise_for_status("GET", path, response)
                yield from response.iter_bytes()
        except httpx.HTTPError as exc:
            raise TransportError(f"GET {path} failed: {type(exc).__name__}: {exc}") from exc

    def heartbeat(self, run_id: str) -> None:
        self._request("POST", f"/runs/{run_id}/heartbeat")

    def get_run(self, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/runs/{run_id}").json()
        return result

    def export_lines(self, run_id: str) -> Iterator[str]:
        """The run's points as CSV lines (header first), streamed: never all in memory."""
        path = f"{API}/runs/{run_id}/export"
        try:
            with self._http.stream("GET", path, params={"format": "csv"}) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for_status(response, f"GET /runs/{run_id}/export")
                # Split on "\n" only: `iter_lines()` also splits on U+2028, U+2029 and U+0085
                # (str.splitlines), which a key may hold, and broke its rows in two.
                rest = ""
                for text in response.iter_text():
                    *lines, rest = (rest + text).split("\n")
                    yield from lines
                if rest:
                    yield rest
        except httpx.HTTPError as exc:
            raise TransportError(f"GET /runs/{run_id}/export failed: {type(exc).__name__}: {exc}") from exc

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

    def empty_trash(self, project: str | None = None) -> dict[str, Any]:
        """DELETE /trash (admin): delete the runs in the trash for good, of one project or all."""
        params = {"project": project} if project else None
        result: dict[str, Any] = self._request("DELETE", "/trash", params=params).json()
        return result

    def purge_runs(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /admin/purge (admin): delete runs with no activity for `older_than_days`."""
        result: dict[str, Any] = self._request("POST", "/admin/purge", body).json()
        return result
