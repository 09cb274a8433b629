"""System metrics on this machine: present and plausible; GPU keys absent (not zero) without
a GPU; throughput and ETA from a real Keras fit; off with one flag."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from fitwatch.system_metrics import Progress, SystemSampler
from tests.client_sdk.conftest import Stored


def _busy(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        sum(range(1000))


@pytest.mark.parametrize("use_psutil", [True, False], ids=["psutil", "stdlib"])
def test_a_sample_has_plausible_process_and_host_figures_and_no_gpu_keys(use_psutil: bool) -> None:
    if use_psutil:
        pytest.importorskip("psutil")
    sampler = SystemSampler(use_psutil=use_psutil)
    assert sampler.source == ("psutil" if use_psutil else "stdlib")
    _busy(0.2)
    sample = sampler.sample()
    assert 0 < sample["process/cpu_percent"] <= 100 * 64
    assert 10e6 < sample["process/rss_bytes"] < 100e9
    assert 0 < sample["host/memory_used_percent"] < 100
    assert sample["host/memory_available_bytes"] > 0
    assert not [k for k in sample if k.startswith("gpu/")]  # no NVIDIA GPU on this machine
    assert not [k for k in sample if k.startswith("train/")]  # nothing trained: no rate


def test_psutil_and_the_standard_library_agree_on_memory() -> None:
    psutil = pytest.importorskip("psutil")
    with_psutil = SystemSampler().sample()
    stdlib = SystemSampler(use_psutil=False).sample()
    assert stdlib["process/rss_bytes"] == pytest.approx(with_psutil["process/rss_bytes"], rel=0.2)
    assert stdlib["host/memory_used_percent"] == pytest.approx(
        psutil.virtual_memory().percent, abs=5
    )


def test_throughput_and_eta_follow_the_reported_progress() -> None:
    progress = Progress(total_steps=1000, batch_size=32)
    sampler = SystemSampler(progress=progress)
    sampler.sample()
    started = time.monotonic()
    _busy(0.1)
    progress.steps = 250
    sample = sampler.sample()
    elapsed = time.monotonic() - started
    rate = sample["train/steps_per_s"]
    assert 250 / (elapsed * 1.5) < rate < 250 / (elapsed * 0.5)
    assert sample["train/samples_per_s"] == pytest.approx(rate * 32)
    assert sample["train/eta_s"] == pytest.approx(750 / rate)
    assert "train/steps_per_s" not in sampler.sample()  # no steps since: no rate, not zero


@pytest.mark.keras
def test_a_fit_records_the_system_scope_with_throughput_and_eta(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    keras = pytest.importorskip("keras")
    np = pytest.importorskip("numpy")
    from fitwatch.keras import FitWatchCallback

    keras.utils.set_random_seed(2)
    x = np.random.default_rng(0).normal(size=(512, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(16), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    on = FitWatchCallback(
        project="system",
        url=live_server,
        update_freq="batch",
        system_metrics=True,
        system_metrics_interval_s=0.2,
    )
    model.fit(x, y, epochs=20, batch_size=16, verbose=0, callbacks=[on])
    series = {s["key"]: s for s in stored.run(on.run.id)["series"] if s["scope"] == "system"}
    assert {"process/cpu_percent", "process/rss_bytes", "host/memory_used_percent"} <= set(series)
    assert not [k for k in series if k.startswith("gpu/")]
    assert "train/steps_per_s" in series, sorted(series)
    rates = stored.points(on.run.id, "train/steps_per_s", "system")
    samples = stored.points(on.run.id, "train/samples_per_s", "system")
    assert all(r > 0 for r in rates.values())
    assert all(samples[s] == pytest.approx(16 * r) for s, r in rates.items())
    eta = stored.points(on.run.id, "train/eta_s", "system")
    assert all(v >= 0 for v in eta.values()) and sorted(eta) == sorted(rates)

    off = FitWatchCallback(project="system", url=live_server, system_metrics=False)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[off])
    assert not [s for s in stored.run(off.run.id)["series"] if s["scope"] == "system"]


def test_the_first_sample_is_kept_when_the_sender_thread_ticks_at_once(
    live_server: str, journal_dir: Path, stored: Stored
) -> None:
    import warnings

    import fitwatch

    # A 1 ms flush interval and threads that keep the GIL busy let the sender thread tick (and
    # take the first sample, due at once) before init() has returned, as in a loaded process
    # training many runs: the sample must reach the run, not a sender not yet assigned.
    runs = []
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(1000))

    spinners = [threading.Thread(target=spin, daemon=True) for _ in range(4)]
    for spinner in spinners:
        spinner.start()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for i in range(20):
                run = fitwatch.init(
                    project="system-first",
                    name=f"r{i}",
                    url=live_server,
                    system_metrics=True,
                    flush_interval_s=0.001,
                )
                time.sleep(0.05)
                runs.append(run)
        finally:
            stop.set()
        for run in runs:
            assert run.finish()
    assert not [w for w in caught if "sender error" in str(w.message)], [
        str(w.message) for w in caught
    ]
    for run in runs:
        assert 0 in stored.points(run.id, "process/rss_bytes", "system"), run.id
