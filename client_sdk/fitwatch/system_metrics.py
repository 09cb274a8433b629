"""System metrics: the `system` scope, sampled on the sender thread every few seconds.

What is sampled (keys of the `system` scope; absent, never zero, when it cannot be known):

    process/cpu_percent          this process's CPU time over wall time (100 = one core)
    process/rss_bytes            its resident memory
    host/memory_used_percent     the machine's memory in use
    host/memory_available_bytes
    gpu/<i>/utilization_percent  NVIDIA GPUs, through nvidia-ml-py (`pynvml`), when present
    gpu/<i>/memory_used_bytes, gpu/<i>/memory_used_percent
    train/steps_per_s            training throughput since the last sample (the Keras callback
    train/samples_per_s          reports progress; samples need the batch size)
    train/eta_s                  seconds left at that rate to the end of `fit()`

psutil gives the process and host figures where it is installed (the `system` extra);
without it the standard library does: `time.process_time()` for CPU, `/proc` (Linux) or
`resource` for memory. Step = the sample's ordinal (a resumed run continues it); the wall
time is the sample's. Sampling costs a few tens of microseconds every 5 s, off the training
thread (bench/callback_overhead.py measures it). Off with `system_metrics=False`
(`fitwatch.init`, the callback) or `FITWATCH_SYSTEM_METRICS=off`.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("fitwatch")

SCOPE = "system"
SAMPLE_INTERVAL_S = 5.0


@dataclass
class Progress:
    """What the training loop reports (plain attribute writes: nothing on the hot path)."""

    steps: int = 0  # steps done so far in this fit (counted from the fit's start)
    total_steps: int | None = None  # steps the fit will do, when known
    batch_size: int | None = None


def _read_proc_meminfo() -> dict[str, int]:
    values: dict[str, int] = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                name, _, rest = line.partition(":")
                parts = rest.split()
                if parts and parts[0].isascii() and parts[0].isdigit():
                    values[name] = int(parts[0]) * 1024
    except OSError:
        pass
    return values


def _rss_bytes_stdlib() -> float | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return float(int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError):
        return None


class _Gpus:
    """NVIDIA GPUs through pynvml; nothing at all when the library or a driver is missing."""

    def __init__(self) -> None:
        self.handles: list[Any] = []
        self._nvml: Any = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self.handles = [
                pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())
            ]
            self._nvml = pynvml
        except Exception as exc:  # noqa: BLE001 - no library, no driver, no device: no GPU figures
            logger.debug("fitwatch: no NVIDIA GPU metrics: %r", exc)

    def sample(self, out: dict[str, float]) -> None:
        nvml = self._nvml
        for index, handle in enumerate(self.handles):
            try:
                utilization = nvml.nvmlDeviceGetUtilizationRates(handle)
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            except Exception as exc:  # noqa: BLE001
                logger.debug("fitwatch: GPU %d not sampled: %r", index, exc)
                continue
            out[f"gpu/{index}/utilization_percent"] = float(utilization.gpu)
            out[f"gpu/{index}/memory_used_bytes"] = float(memory.used)
            if memory.total:
                out[f"gpu/{index}/memory_used_percent"] = 100.0 * memory.used / memory.total


class SystemSampler:
    """Samples the figures above; `due()` says when the next sample is wanted."""

    def __init__(
        self,
        interval_s: float = SAMPLE_INTERVAL_S,
        progress: Progress | None = None,
        *,
        use_psutil: bool = True,
    ) -> None:
        self.interval_s = interval_s
        self.progress = progress or Progress()
        self._psutil: Any = None
        self._process: Any = None
        if use_psutil:
            try:
                import psutil

                self._psutil = psutil
                self._process = psutil.Process()
                self._process.cpu_percent(None)  # the first call starts the measurement
            except ImportError:
                pass
        self._gpus = _Gpus()
        self._last_wall = time.monotonic()
        self._last_cpu = time.process_time()
        self._last_steps = 0
        self._next_at = self._last_wall  # the first sample right away

    @property
    def source(self) -> str:
        return "psutil" if self._psutil is not None else "stdlib"

    def due(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) >= self._next_at

    def sample(self) -> dict[str, float]:
        now = time.monotonic()
        elapsed = now - self._last_wall
        self._next_at = now + self.interval_s
        out: dict[str, float] = {}
        if self._psutil is not None:
            if elapsed > 0:
                out["process/cpu_percent"] = float(self._process.cpu_percent(None))
            out["process/rss_bytes"] = float(self._process.memory_info().rss)
            memory = self._psutil.virtual_memory()
            out["host/memory_used_percent"] = float(memory.percent)
            out["host/memory_available_bytes"] = float(memory.available)
        else:
            cpu = time.process_time()
            if elapsed > 0:
                out["process/cpu_percent"] = 100.0 * (cpu - self._last_cpu) / elapsed
            self._last_cpu = cpu
            rss = _rss_bytes_stdlib()
            if rss is not None:
                out["process/rss_bytes"] = rss
            meminfo = _read_proc_meminfo()
            total, available = meminfo.get("MemTotal"), meminfo.get("MemAvailable")
            if total and available is not None:
                out["host/memory_used_percent"] = 100.0 * (total - available) / total
                out["host/memory_available_bytes"] = float(available)
        self._gpus.sample(out)
        self._throughput(out, elapsed)
        self._last_wall = now
        return out

    def _throughput(self, out: dict[str, float], elapsed: float) -> None:
        progress = self.progress
        steps = progress.steps
        done = steps - self._last_steps
        self._last_steps = steps
        if elapsed <= 0 or done <= 0:
            return  # between fits, or before the first step: no rate to report
        rate = done / elapsed
        out["train/steps_per_s"] = rate
        if progress.batch_size:
            out["train/samples_per_s"] = rate * progress.batch_size
        if progress.total_steps is not None:
            out["train/eta_s"] = max(0, progress.total_steps - steps) / rate

    def reset_progress(self) -> None:
        """A new fit starts counting from 0."""
        self._last_steps = 0
