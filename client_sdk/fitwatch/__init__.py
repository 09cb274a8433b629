"""fitwatch: stream Keras training metrics to a live dashboard.

The package root only re-exports `init`, `Run`, `Api` (the query API) and `__version__`; the Keras callback is
`fitwatch.keras.FitWatchCallback`. Importing `fitwatch` imports neither Keras,
TensorFlow nor NumPy.
"""

from __future__ import annotations

from fitwatch._version import __version__
from fitwatch.api import Api
from fitwatch.run import Run, init

__all__ = ["Api", "Run", "__version__", "init"]
