"""fitwatch: stream Keras training metrics to a live dashboard.

The package root only re-exports `init`, `Run` and `__version__`; the Keras callback is
`fitwatch.keras.FitWatchCallback`. Importing `fitwatch` imports neither Keras,
TensorFlow nor NumPy.
"""

from __future__ import annotations

from fitwatch._version import __version__
from fitwatch.run import Run, init

__all__ = ["Run", "__version__", "init"]
