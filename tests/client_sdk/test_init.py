"""The public surface of `fitwatch`: re-exports, a sorted `__all__`, a light import."""

from __future__ import annotations

import subprocess
import sys
import types

import fitwatch


def test_all_is_sorted_and_lists_the_exported_members() -> None:
    assert fitwatch.__all__ == sorted(fitwatch.__all__)
    assert fitwatch.__all__ == ["Api", "Run", "__version__", "init"]
    # Submodules become attributes once imported elsewhere; they are not re-exports.
    exported = {
        name
        for name, value in vars(fitwatch).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert exported == {"Api", "Run", "init"}


def test_importing_fitwatch_imports_no_tensorflow_keras_numpy_or_pandas() -> None:
    code = (
        "import sys, fitwatch, fitwatch.run, fitwatch.sender, fitwatch.metrics; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'numpy', 'pandas') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_version_is_a_string() -> None:
    assert isinstance(fitwatch.__version__, str) and fitwatch.__version__.count(".") == 2
