"""ASGI middleware: cap request bodies (413) and decode `Content-Encoding: gzip` bodies.

The cap applies to the decoded size, so a small gzip bomb cannot expand past it.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        encoding = headers.get(b"content-encoding", b"").decode("latin-1").strip().lower()
        declared = headers.get(b"content-length")
        if encoding not in ("", "identity", "gzip"):
            await _reply(send, 415, f"Content-Encoding {encoding!r} is not supported; send gzip or nothing")
            return
        if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _reply(send, 413, self._too_large(int(declared)))
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > self.max_body_bytes:
                await _reply(send, 413, self._too_large(len(body), at_least=True))
                return
            if not message.get("more_body", False):
                break
        if encoding == "gzip":
            decoded = _gunzip(bytes(body), self.max_body_bytes + 1)
            if decoded is None:
                await _reply(send, 400, "the body is not valid gzip; send it uncompressed or gzip it whole")
                return
            if len(decoded) > self.max_body_bytes:
                await _reply(send, 413, self._too_large(len(decoded), at_least=True, decoded=True))
                return
            body = bytearray(decoded)
            scope = dict(scope)
            scope["headers"] = [
                (k, v)
                for k, v in scope["headers"]
                if k.lower() not in (b"content-encoding", b"content-length")
            ] + [(b"content-length", str(len(body)).encode())]

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self, size: int, *, at_least: bool = False, decoded: bool = False) -> str:
        what = "decoded body" if decoded else "body"
        amount = f"at least {size}" if at_least else str(size)
        return (
            f"the {what} is {amount} bytes; the limit is {self.max_body_bytes} bytes "
            "(FITWATCH_MAX_BODY_BYTES): send smaller batches"
        )


def _gunzip(data: bytes, limit: int) -> bytes | None:
    try:
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        out = decompressor.decompress(data, limit)
        if not decompressor.eof and len(out) < limit:
            return None
        return out
    except zlib.error:
        return None


async def _reply(send: Send, status: int, detail: str) -> None:
    payload: dict[str, Any] = {"detail": detail}
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
