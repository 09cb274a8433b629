"""Benchmark: what FitWatchCallback costs per training step, and how live the data is.

Trains one load_digits MLP (64-32-10, batch 32, 57 steps an epoch) with, in turn:
no callback, a callback whose on_train_batch_end does nothing, FitWatchCallback with
update_freq="batch" and with update_freq="epoch" (system metrics off, as the budget's
baseline), and update_freq="epoch" with system metrics sampled every second (five times
the default rate, so their cost shows if there is any; each epoch variant gets a run of its own
for every fit, so its sampler thread runs only while it trains), all streaming to a real fitwatch
server started here as a subprocess (SQLite in a temp dir, a free port). Variants are
interleaved round by round, each round starting at the next one, so drift and position hit
them alike. A step's time is the gap between consecutive on_train_batch_end calls, seen by a
timing callback placed last (so it includes every other callback); the first step of each
epoch is left out.

Then it measures the end-to-end lag: from on_train_batch_end (a probe callback after
FitWatchCallback) until the point is readable from GET /api/v1/runs/{id}/series/loss,
polled by a separate process so the poller does not steal the training process's GIL.

Prints figures; never asserts. Usage: python bench/callback_overhead.py [--rounds 7] [--epochs 4]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parent.parent
for source_root in (ROOT / "client_sdk", ROOT / "server"):
    if str(source_root) not in sys.path:
        sys.path.insert(0, str(source_root))

import httpx  # noqa: E402
import keras  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import fitwatch  # noqa: E402
from fitwatch.keras import FitWatchCallback  # noqa: E402

BATCH_SIZE = 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "client_sdk"), str(ROOT / "server")])}
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "fitwatch", "server", "--port", str(port),
         "--database-url", f"sqlite:///{workdir / 'bench.db'}"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited; see {workdir / 'server.log'}")
        try:
            if httpx.get(f"{url}/api/v1/projects", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit("the server did not start within 60 s")


class NoOp(keras.callbacks.Callback):
    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        pass


class StepTimer(keras.callbacks.Callback):
    """Gaps between consecutive on_train_batch_end calls within an epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.gaps: list[float] = []
        self._last: float | None = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._last = None

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append(now - self._last)
        self._last = now


class BatchClock(keras.callbacks.Callback):
    """Wall time of each step's on_train_batch_end, keyed like fitwatch's batch steps."""

    def __init__(self) -> None:
        super().__init__()
        self.times: dict[int, float] = {}

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.times[int(self.model.optimizer.iterations.value) - 1] = time.time()


POLLER = textwrap.dedent(
    """
    import json, sys, time, httpx
    url, run_id, total, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    seen = {}
    client = httpx.Client(base_url=url, timeout=5)
    deadline = time.time() + 120
    next_step = 0
    while len(seen) < total and time.time() < deadline:
        r = client.get(f"/api/v1/runs/{run_id}/series/loss", params={"scope": "batch", "start": next_step})
        now = time.time()
        if r.status_code == 200:
            for step in r.json()["steps"]:
                seen.setdefault(step, now)
            if seen:
                next_step = max(seen) + 1
        time.sleep(0.002)
    json.dump(seen, open(out, "w"))
    """
)


def build_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per fit() in each round")
    args = parser.parse_args()

    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target
    workdir = Path(tempfile.mkdtemp(prefix="fitwatch-bench-"))
    os.environ["FITWATCH_DIR"] = str(workdir / "journal")
    server, url = start_server(workdir)
    try:
        model = build_model()
        model.fit(x, y, epochs=1, batch_size=BATCH_SIZE, verbose=0)  # trace once
        run_batch = fitwatch.init(project="bench", name="update_freq=batch", url=url, system_metrics=False)
        # The epoch variants get a new run for each fit, started before and finished after the
        # timed fit(): a run's sampler thread then lives only while its own variant trains (one
        # long-lived run with system metrics would sample during every other variant too).
        epoch_run = {"system": False, "interval": 5.0}
        system_run = {"system": True, "interval": 1.0}
        variants: dict[str, Any] = {
            "no callback": [],
            "do-nothing callback": [NoOp()],
            "fitwatch update_freq='batch'": [FitWatchCallback(run_batch, update_freq="batch")],
            "fitwatch update_freq='epoch'": epoch_run,
            "fitwatch epoch + system 1 s": system_run,
        }
        names = list(variants)
        gaps: dict[str, list[float]] = {name: [] for name in variants}
        per_fit: dict[str, list[float]] = {name: [] for name in variants}
        steps = args.epochs * -(-len(x) // BATCH_SIZE)
        for round_index in range(args.rounds):
            # Each round starts at the next variant, so none always runs first or last.
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                variant = variants[name]
                run = None
                if isinstance(variant, dict):
                    run = fitwatch.init(project="bench", name=name, url=url,
                                        system_metrics=variant["system"],
                                        system_metrics_interval_s=variant["interval"])
                    callbacks = [FitWatchCallback(run, update_freq="epoch")]
                else:
                    callbacks = variant
                timer = StepTimer()
                start = time.perf_counter()
                model.fit(x, y, epochs=args.epochs, batch_size=BATCH_SIZE, verbose=0,
                          callbacks=[*callbacks, timer])
                per_fit[name].append((time.perf_counter() - start) / steps)
                gaps[name].extend(timer.gaps)
                if run is not None:
                    run.finish()
        run_batch.finish()

        print(f"load_digits MLP 64-32-10, batch {BATCH_SIZE}, {steps // args.epochs} steps/epoch, "
              f"{args.rounds} rounds x {args.epochs} epochs per variant, {os.cpu_count()} cores")
        base = statistics.median(gaps["do-nothing callback"])
        print(f"{'variant':32} {'median us/step':>15} {'vs do-nothing':>14} {'fit()/steps us':>15}")
        for name in variants:
            median = statistics.median(gaps[name])
            print(f"{name:32} {median * 1e6:15.0f} {100 * (median / base - 1):+13.1f}% "
                  f"{statistics.median(per_fit[name]) * 1e6:15.0f}")
        print(f"requests sent by the batch run: {run_batch._sender.sent_requests} "
              f"for {args.rounds * steps} steps")
        epoch_median = statistics.median(gaps["fitwatch update_freq='epoch'"])
        system_median = statistics.median(gaps["fitwatch epoch + system 1 s"])
        print(f"system metrics (every 1 s) vs epoch mode without them: "
              f"{100 * (system_median / epoch_median - 1):+.1f}% per step (budget: <= 1%)")
        from fitwatch.system_metrics import SystemSampler

        sampler = SystemSampler()
        start = time.perf_counter()
        for _ in range(200):
            sampler.sample()
        cost = (time.perf_counter() - start) / 200
        print(f"one system sample ({sampler.source}): {cost * 1e6:.0f} us on the sender thread, "
              f"i.e. {100 * cost / 5.0:.4f}% of one core at the default 5 s interval")
        # The sampler runs on another thread; the most it can take from the training thread is
        # the time it holds the GIL, which is at most the whole sample.
        print(f"upper bound on the training thread's loss: {100 * cost / 1.0:.4f}% at the 1 s interval "
              f"used above, {100 * cost / 5.0:.4f}% at the default (budget: <= 1%)")

        # -- end-to-end lag -------------------------------------------------------------
        run = fitwatch.init(project="bench", name="lag", url=url)
        clock = BatchClock()
        lag_epochs = 6
        total = lag_epochs * -(-len(x) // BATCH_SIZE)
        iterations_before = int(model.optimizer.iterations.value)
        out = workdir / "seen.json"
        poller = subprocess.Popen([sys.executable, "-c", POLLER, url, run.id, str(total), str(out)])
        callback = FitWatchCallback(run, update_freq="batch")
        model.fit(x, y, epochs=lag_epochs, batch_size=BATCH_SIZE, verbose=0, callbacks=[callback, clock])
        run.finish()
        poller.wait(timeout=180)
        seen = {int(k): v for k, v in json.loads(out.read_text()).items()}
        lags = sorted(seen[s] - t for s, t in clock.times.items() if s in seen)
        missing = len(clock.times) - len(lags)
        q = statistics.quantiles(lags, n=100)
        print(f"end-to-end lag on_train_batch_end -> readable over REST ({len(lags)} steps, "
              f"first step {iterations_before}, {missing} never seen): "
              f"p50 {q[49] * 1e3:.0f} ms, p90 {q[89] * 1e3:.0f} ms, p99 {q[98] * 1e3:.0f} ms, "
              f"max {lags[-1] * 1e3:.0f} ms")
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    main()
