"""`fitwatch demo`: a server with a few real runs in it, for a first look at the dashboard.

Starts `fitwatch server` when none answers at `--url` / `FITWATCH_URL` (default
http://127.0.0.1:8000), trains small real Keras models on scikit-learn's `load_digits`
with different learning rates (a seeded MLP, a few seconds each on a CPU), streams them
with the callback and prints where to look. A server it started keeps running until
Ctrl+C, so the pages stay open; `--exit` stops it at once (scripts, tests).

Needs the `server` extra (when no server runs), Keras with a backend and scikit-learn:
`pip install 'fitwatch[server,keras]' tensorflow-cpu scikit-learn`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from fitwatch.settings import ClientSettings

DEMO_LEARNING_RATES = (0.03, 0.003, 0.0003)
SERVER_START_TIMEOUT_S = 90.0
DEMO_NEEDS = "pip install 'fitwatch[server,keras]' tensorflow-cpu scikit-learn"


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def answers(url: str) -> bool:
    """Whether a fitwatch server answers at `url` (401 counts: it is up, with auth on)."""
    try:
        status = httpx.get(f"{url}/api/v1/projects", timeout=2.0).status_code
    except httpx.HTTPError:
        return False
    return status in (200, 401)


def start_server(url: str) -> subprocess.Popen[bytes]:
    """`fitwatch server` on the host and port of `url`, waited for until it answers."""
    try:
        import fitwatch_server  # noqa: F401 - only to say what to install
    except ImportError:
        raise SystemExit(
            f"fitwatch demo: no server answers at {url}, and the server is not installed: {DEMO_NEEDS}"
        )
    parts = urlsplit(url)
    host, port = (
        parts.hostname or "127.0.0.1",
        parts.port or (443 if parts.scheme == "https" else 80),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "fitwatch", "server", "--host", host, "--port", str(port)]
    )
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not answers(url):
        if process.poll() is not None:
            raise SystemExit(
                f"fitwatch demo: the server stopped with exit code {process.returncode}"
            )
        if time.monotonic() > deadline:
            process.terminate()
            raise SystemExit(
                f"fitwatch demo: the server did not answer at {url} within {SERVER_START_TIMEOUT_S:.0f} s"
            )
        time.sleep(0.2)
    return process


def _digits() -> tuple[Any, Any]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise SystemExit(f"fitwatch demo: the demo trains on scikit-learn's digits: {DEMO_NEEDS}")
    import numpy as np

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    return x, data.target.astype(np.int64)


def train(url: str, *, project: str, epochs: int, learning_rates: tuple[float, ...]) -> list[str]:
    """One seeded MLP per learning rate, streamed to `url`; returns the run ids."""
    x, y = _digits()
    try:
        import keras

        from fitwatch.keras import FitWatchCallback
    except ImportError as exc:
        raise SystemExit(f"fitwatch demo: {exc}")
    run_ids = []
    for n, lr in enumerate(learning_rates):
        keras.utils.set_random_seed(n)
        model = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(lr),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        callback = FitWatchCallback(project=project, url=url, update_freq="batch", tags=["demo"])
        model.fit(
            x,
            y,
            epochs=epochs,
            batch_size=32,
            validation_split=0.2,
            verbose=0,
            callbacks=[callback],
        )
        assert callback.run is not None
        callback.run.finish()
        run_ids.append(callback.run.id)
    return run_ids


def _cmd_demo(args: argparse.Namespace) -> int:
    try:
        url = ClientSettings.load(url=args.url).url
    except ValueError as exc:
        sys.stderr.write(f"fitwatch demo: {exc}\n")
        return 2
    server = None
    if answers(url):
        _say(f"fitwatch demo: using the server at {url}")
    else:
        _say(f"fitwatch demo: no server at {url}; starting one")
        server = start_server(url)
    try:
        lrs = DEMO_LEARNING_RATES[: args.runs]
        _say(
            f"fitwatch demo: training {len(lrs)} small Keras models on load_digits (learning rates {', '.join(map(str, lrs))})"
        )
        train(url, project=args.project, epochs=args.epochs, learning_rates=lrs)
        _say(f"fitwatch demo: done. The runs: {url}/?project={args.project}")
        if server is None or args.exit:
            return 0
        _say("fitwatch demo: the server keeps running for you to look; Ctrl+C stops it")
        server.wait()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=20)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo", help="train a few small Keras runs and show them on the dashboard"
    )
    demo.add_argument(
        "--url", help="server URL (default: FITWATCH_URL, else http://127.0.0.1:8000)"
    )
    demo.add_argument("--project", default="demo", help="project of the demo runs (default demo)")
    demo.add_argument(
        "--runs",
        type=int,
        choices=range(1, len(DEMO_LEARNING_RATES) + 1),
        default=3,
        metavar="N",
        help=f"how many runs, 1-{len(DEMO_LEARNING_RATES)} (default 3)",
    )
    demo.add_argument("--epochs", type=int, default=5, help="epochs per run (default 5)")
    demo.add_argument(
        "--exit", action="store_true", help="stop a server the demo started once the runs are done"
    )
    demo.set_defaults(func=_cmd_demo)
