"""What the run ran on: Python, host, Keras, its backend and version, visible GPUs.

Only reads modules that are already imported (plus `keras` when asked), so capturing the
environment never pulls TensorFlow into a process that did not use it.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
from typing import Any


def capture_environment(*, with_keras: bool = False) -> dict[str, Any]:
    """A JSON-ready description of this process's environment."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "argv": list(sys.argv),
    }
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        env["numpy"] = getattr(numpy, "__version__", None)
    if with_keras or "keras" in sys.modules:
        env.update(_keras_environment())
    return env


def _keras_environment() -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        import keras
    except ImportError:
        return info
    info["keras"] = keras.__version__
    backend = keras.backend.backend()
    info["backend"] = backend
    module = sys.modules.get({"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend, ""))
    if module is not None:
        info["backend_version"] = getattr(module, "__version__", None)
    info["gpus"] = _visible_gpus(backend)
    return info


def _visible_gpus(backend: str) -> list[str]:
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return [device.name for device in tf.config.list_physical_devices("GPU")]
        if backend == "jax":
            import jax

            return [str(device) for device in jax.devices() if device.platform == "gpu"]
        if backend == "torch":
            import torch

            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # noqa: BLE001 - a broken driver must not stop training
        return []
    return []
