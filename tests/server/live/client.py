"""Websocket clients for the live tests: a well-behaved one and a raw one that can stall."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.sync.client import ClientConnection, connect
from websockets.uri import parse_uri

Message = dict[str, Any]


def ws_url(base_url: str, query: str = "") -> str:
    return base_url.replace("http://", "ws://") + "/api/v1/live" + (f"?{query}" if query else "")


class LiveClient:
    """A client that reads everything as it arrives (max_queue=None: the library's reader
    thread never stops reading, so this client is never the slow one)."""

    def __init__(self, base_url: str, query: str = "", headers: dict[str, str] | None = None) -> None:
        self._connect = connect(
            ws_url(base_url, query), max_queue=None, open_timeout=10, additional_headers=headers
        )
        self.ws: ClientConnection = self._connect.__enter__()
        self.messages: list[Message] = []
        # Each frame as parsed: a message, or a list of messages (clients with ?batch=1).
        self.frames: list[Message | list[Message]] = []

    def send(self, message: Message | str) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def until(self, predicate: Callable[[list[Message]], Any], timeout: float = 15.0) -> Any:
        """Read until `predicate(all messages so far)` is truthy; fail after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate(self.messages)
            if result:
                return result
            left = deadline - time.monotonic()
            if left <= 0:
                tail = [m.get("type") for m in self.messages[-20:]]
                raise AssertionError(f"condition not met within {timeout} s; last types: {tail}")
            try:
                frame = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                continue
            self.frames.append(frame)
            self.messages.extend(frame if isinstance(frame, list) else [frame])

    def next_of(self, kind: str, timeout: float = 15.0) -> Message:
        """The first message of type `kind` not yet taken by `next_of`."""
        start = getattr(self, "_taken", 0)

        def find(messages: list[Message]) -> Message | None:
            for index in range(start, len(messages)):
                if messages[index]["type"] == kind:
                    self._taken = index + 1
                    return messages[index]
            return None

        found: Message = self.until(find, timeout)
        return found

    def subscribe(self, **fields: Any) -> Message:
        self.send({"type": "subscribe", **fields})
        return self.next_of("subscribed")

    def close(self) -> None:
        self._connect.__exit__(None, None, None)


def of_type(messages: list[Message], kind: str) -> list[Message]:
    return [m for m in messages if m["type"] == kind]


def received_points(messages: list[Message], run_id: str, key: str, scope: str) -> dict[int, Any]:
    """step -> value over every points message of one series (later messages win)."""
    found: dict[int, Any] = {}
    for m in messages:
        if m["type"] == "points" and (m["run_id"], m["key"], m["scope"]) == (run_id, key, scope):
            found.update(zip(m["steps"], m["values"], strict=True))
    return found


class RawClient:
    """A websocket client on a plain socket with a tiny receive buffer: it reads only when
    told to, so the test decides exactly when it is a stuck client."""

    def __init__(self, base_url: str, query: str = "", *, rcvbuf: int = 4096) -> None:
        uri = parse_uri(ws_url(base_url, query))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Set before connect so the advertised window stays small.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect((uri.host, uri.port))
        self.protocol = ClientProtocol(uri, max_size=None)
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        self.messages: list[Message] = []
        self._read(lambda: self.protocol.state is State.OPEN, timeout=10)

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)

    def _read(self, done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"raw client: condition not met within {timeout} s")
            self.sock.settimeout(min(left, 1.0))
            try:
                data = self.sock.recv(1 << 16)
            except TimeoutError:
                continue
            if not data:
                self.protocol.receive_eof()
                raise ConnectionError("the server closed the connection")
            self.protocol.receive_data(data)
            for event in self.protocol.events_received():
                opcode = getattr(event, "opcode", None)
                if opcode is Opcode.TEXT:
                    frame = json.loads(event.data)
                    self.messages.extend(frame if isinstance(frame, list) else [frame])
            self._flush()  # pongs

    def send(self, message: Message) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        self._flush()

    def read_until(self, predicate: Callable[[list[Message]], Any], timeout: float = 30.0) -> None:
        self._read(lambda: bool(predicate(self.messages)), timeout)

    def close(self) -> None:
        self.sock.close()
