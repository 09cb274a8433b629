"""Environment capture: the basics always, Keras only when asked or already imported."""

from __future__ import annotations

import platform
import subprocess
import sys

from fitwatch.environment import capture_environment


def test_environment_records_python_and_host() -> None:
    env = capture_environment()
    assert env["python"] == platform.python_version()
    assert env["host"] and env["cpu_count"]


def test_capture_does_not_import_keras_unless_asked() -> None:
    code = (
        "import sys; from fitwatch.environment import capture_environment; env = capture_environment(); "
        "print('keras' in env, 'keras' in sys.modules, 'tensorflow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False", "False"]


def test_keras_environment_names_backend_and_devices() -> None:
    import keras

    env = capture_environment(with_keras=True)
    assert env["keras"] == keras.__version__
    assert env["backend"] == keras.backend.backend()
    assert isinstance(env["gpus"], list)
