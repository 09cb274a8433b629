"""The metric catalog and NumPy metric implementations (`fitwatch.metrics`).

`catalog` is pure Python; `numpy_metrics` imports NumPy when it is imported itself.
"""

from __future__ import annotations

from fitwatch.metrics.catalog import MetricInfo, canonical_name, direction, lookup, val_pairs

__all__ = ["MetricInfo", "canonical_name", "direction", "lookup", "val_pairs"]
