"""ASGI middleware at the edge: the checks that keep other web pages out, auth on or off.

Any page a user visits can send requests to a server on their loopback, so before routing:

- `Host` must be a loopback name, an IP literal, or a name in `FITWATCH_ALLOWED_HOSTS`;
  anything else is a 400. A DNS-rebinding page reaches the server under its own name
  (`Host: attacker.example`), never under one of these. IP literals are safe to accept:
  rebinding needs a name the attacker controls.
- A browser's `Origin` (sent on every websocket handshake and every non-GET fetch or form)
  must be the server's own (the same host and port as `Host`) or in
  `FITWATCH_ALLOWED_ORIGINS`; otherwise 403. Clients that are not browsers send no Origin.
- A body sent with POST, PUT or PATCH must be `application/json` (gzip-encoded or not);
  anything else is a 415. A form or a no-cors `text/plain` fetch cannot be made JSON
  without a CORS preflight, which this server does not grant unless configured.
- The one exception: Keras's `RemoteMonitor` posts a form (`FORM_PATHS`). Those paths take
  `application/x-www-form-urlencoded` too, and refuse every request that a browser made
  (any `Origin` or `Sec-Fetch-*` header, which browsers add to every POST and a training
  script's `requests` never sends), same-origin included: a web page gets nothing from
  them that the JSON routes refuse it. docs/security.md.

One check is not about other pages: a URL holding the NUL character (`%00`) is a 400 here,
before any route binds it as a query parameter, which PostgreSQL refuses with an error
(a 500 on every route that takes a run id, key, project or filter; issue 8).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from fitwatch_server.api.errors import error_response
from fitwatch_server.api.routes.remote_monitor import KERAS_DEFAULT_PATH
from fitwatch_server.api.routes.remote_monitor import PREFIX as REMOTE_MONITOR_PREFIX
from fitwatch_server.errors import (
    CrossOrigin,
    FitwatchError,
    HostNotAllowed,
    InvalidInput,
    UnsupportedMediaType,
)
from fitwatch_server.settings import Settings

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
FORM_PATHS = ("/api/v1" + REMOTE_MONITOR_PREFIX + "/", KERAS_DEFAULT_PATH)
FORM_MEDIA = "application/x-www-form-urlencoded"
HOST_VERDICTS_MAX = 256


def split_host(value: str) -> tuple[str, int | None] | None:
    """`Host` header -> (lower-case host without brackets, port); None when malformed."""
    if not value or any(c in value for c in "/?#@ \t"):
        return None
    try:
        parts = urlsplit("//" + value)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    return host.lower(), port


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_allowed(host: str, allowed: list[str]) -> bool:
    if host in LOOPBACK_NAMES or host.endswith(".localhost") or is_ip_literal(host):
        return True
    for pattern in allowed:
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


def _without_default_port(scheme: str, host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    if port is None or DEFAULT_PORTS.get(scheme) == port:
        return shown
    return f"{shown}:{port}"


def origin_allowed(origin: str, host_header: str, allowed: list[str]) -> bool:
    """The page's origin is this server (same host:port as `Host`) or configured."""
    origin = origin.strip().lower().rstrip("/")
    if origin in allowed:
        return True
    try:
        parts = urlsplit(origin)
        origin_host, origin_port = parts.hostname, parts.port
    except ValueError:
        return False
    host = split_host(host_header)
    if parts.scheme not in ("http", "https") or not origin_host or host is None:
        return False
    # Behind a TLS proxy the origin is https and the Host is what the proxy forwards: compare
    # host and port, with the default port of each side's scheme left out.
    mine = _without_default_port(parts.scheme, host[0], host[1])
    theirs = _without_default_port(parts.scheme, origin_host, origin_port)
    return mine == theirs


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _from_a_browser(headers: Headers) -> bool:
    return "origin" in headers or any(name.startswith("sec-fetch-") for name in headers.keys())


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in headers


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.allowed_hosts = settings.allowed_hosts
        self.allowed_origins = settings.allowed_origins
        # Host header -> allowed? Every request carries the same one or two values, and
        # parsing it (urlsplit, ipaddress) was ~5% of the event loop's time on small
        # requests (bench/small_requests.py, docs/scale.md). The header is the caller's, so
        # the cache is bounded: past the bound it is emptied, never grown.
        self._host_verdicts: dict[str, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        problem = self.check(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket" and "websocket.http.response" not in scope.get(
            "extensions", {}
        ):
            await send({"type": "websocket.close", "code": 1008, "reason": problem.detail[:120]})
            return
        await error_response(problem)(scope, receive, send)

    def _host_allowed(self, raw_host: str) -> bool:
        verdict = self._host_verdicts.get(raw_host)
        if verdict is None:
            host = split_host(raw_host)
            verdict = host is not None and host_allowed(host[0], self.allowed_hosts)
            if len(self._host_verdicts) >= HOST_VERDICTS_MAX:
                self._host_verdicts.clear()
            self._host_verdicts[raw_host] = verdict
        return verdict

    def check(self, scope: Scope) -> FitwatchError | None:
        headers = Headers(scope=scope)
        raw_host = headers.get("host", "")
        if not self._host_allowed(raw_host):
            return HostNotAllowed(
                f"this server does not answer to the host name {raw_host[:100]!r}: it answers to "
                "localhost, IP addresses and the names in FITWATCH_ALLOWED_HOSTS (add yours there "
                "if you reach fitwatch under that name)"
            )
        origin = headers.get("origin")
        browser_write = scope["type"] == "websocket" or scope["method"] not in SAFE_METHODS
        if (
            browser_write
            and origin is not None
            and not origin_allowed(origin, raw_host, self.allowed_origins)
        ):
            what = "websocket" if scope["type"] == "websocket" else f"{scope['method']} request"
            return CrossOrigin(
                f"a {what} from a page of another origin ({origin[:100]!r}) is refused; "
                "list that origin in FITWATCH_ALLOWED_ORIGINS if it is yours"
            )
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            return InvalidInput(
                "the URL contains the NUL character (%00); no run id, key, project, filter or sort "
                "can hold it: remove it"
            )
        if scope["type"] == "http" and scope["method"] in WRITE_METHODS:
            content_type = headers.get("content-type")
            form_path = scope["path"].startswith(FORM_PATHS)
            if form_path and _from_a_browser(headers):
                return CrossOrigin(
                    "the RemoteMonitor routes take forms, so no browser may post to them (this "
                    "request carries Origin or Sec-Fetch-* headers); send from Keras's RemoteMonitor "
                    "or another program"
                )
            is_form = (
                form_path and (content_type or "").split(";", 1)[0].strip().lower() == FORM_MEDIA
            )
            if (content_type is not None or _has_body(headers)) and not (
                _is_json(content_type or "") or is_form
            ):
                return UnsupportedMediaType(
                    "send the body as JSON with 'Content-Type: application/json' (gzip with "
                    f"'Content-Encoding: gzip' is fine). Received Content-Type: {content_type!r}"
                )
        return None
