"""CPU and bytes of sending live messages one per websocket frame or several per frame (issue 8).

In process, no network: a websockets `ServerProtocol` with uvicorn's permessage-deflate
settings (or none) sends soak-like `points` messages (2 points of one series each, what one
SDK request per run carries per series) as one frame each, or joined in JSON arrays of N
messages (what a `?batch=1` client gets when N messages are ready at once). A client
protocol reads every frame back, so the figures are for frames a real client accepts.
Prints CPU per message of `send_text` + `data_to_send` (the server's share) and bytes on
the wire per message.

    python bench/live_frames.py [--messages 20000]
"""

from __future__ import annotations

import argparse
import os
import time

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from fitwatch_server.live.hub import points_messages


def _pair(deflate: bool) -> tuple[ServerProtocol, ClientProtocol]:
    # The server's settings are uvicorn's (protocols/websockets/websockets_sansio_impl.py).
    server_ext = (
        [ServerPerMessageDeflateFactory(server_max_window_bits=12, client_max_window_bits=12,
                                        compress_settings={"memLevel": 5})]
        if deflate else []
    )
    client_ext = [ClientPerMessageDeflateFactory()] if deflate else []
    client = ClientProtocol(parse_uri("ws://127.0.0.1/api/v1/live"), extensions=client_ext, max_size=None)
    server = ServerProtocol(extensions=server_ext, max_size=None)
    client.send_request(client.connect())
    for data in client.data_to_send():
        server.receive_data(data)
    request = server.events_received()[0]
    server.send_response(server.accept(request))
    for data in server.data_to_send():
        client.receive_data(data)
    client.events_received()
    assert bool(server.extensions) == deflate
    return server, client


def _messages(count: int) -> list[str]:
    keys = ("loss", "accuracy", "val_loss", "lr", "grad_norm")
    texts = []
    for n in range(count):
        step = 2 * (n // len(keys))
        rows = [(s, 1.0 / (s + 1), 1_732_354_900.0 + s / 20, None) for s in (step, step + 1)]
        texts.extend(points_messages(f"soak-{n % 50:03d}", keys[n % len(keys)], "batch", rows, has_epochs=False))
    return texts


def measure(texts: list[str], *, deflate: bool, per_frame: int) -> tuple[float, float]:
    """(server CPU us per message, wire bytes per message)."""
    server, client = _pair(deflate)
    frames = [
        texts[i] if per_frame == 1 else "[" + ",".join(texts[i : i + per_frame]) + "]"
        for i in range(0, len(texts), per_frame)
    ]
    wire = 0
    received = 0
    start = time.process_time()
    out = []
    for frame in frames:
        server.send_text(frame.encode())
        out.append(b"".join(server.data_to_send()))
    spent = time.process_time() - start
    for data in out:
        wire += len(data)
        client.receive_data(data)
        received += len(client.events_received())
    assert received == len(frames)
    return 1e6 * spent / len(texts), wire / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    texts = _messages(args.messages)
    print(f"{len(texts)} points messages, {sum(map(len, texts)) / len(texts):.0f} characters each on average; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for deflate in (True, False):
        for per_frame in (1, 2, 5, 10, 25):
            cpu, wire = measure(texts, deflate=deflate, per_frame=per_frame)
            print(f"deflate {'on ' if deflate else 'off'}  {per_frame:3d} messages a frame: "
                  f"{cpu:6.1f} us CPU, {wire:6.1f} bytes on the wire per message")


if __name__ == "__main__":
    main()
