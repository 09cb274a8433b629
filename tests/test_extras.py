"""Extras that work alone: what a missing Keras backend or PostgreSQL driver says.

Each check runs a fresh interpreter in which the package is really absent: a backend that is
not installed here (jax), or `sys.modules[name] = None`, which makes `import name` fail the
way a missing package does.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **env},
    )


def test_fitwatch_keras_without_its_backend_says_what_to_install() -> None:
    pytest.importorskip("keras")
    try:
        import jax  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("jax is installed here: the backend is not missing")
    result = python("import fitwatch.keras", KERAS_BACKEND="jax")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: fitwatch.keras needs Keras 3 and a backend for it")
    assert "pip install 'fitwatch[keras]' tensorflow" in last and "jax" in last


def test_the_sdk_alone_still_imports_without_keras() -> None:
    result = python(
        "import sys; sys.modules['keras'] = None; import fitwatch; print(fitwatch.__version__)"
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("command", ["server", "db upgrade"])
def test_a_postgresql_url_without_the_driver_says_to_install_the_postgres_extra(
    command: str,
) -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from fitwatch.cli import main\n"
        f"raise SystemExit(main({command.split()!r} + ['--database-url', 'postgresql://u@127.0.0.1:1/x']))"
    )
    result = python(code)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith("Install it with: pip install 'fitwatch[postgres]'")
    )
