"""Series downsampling with tsdownsample's MinMaxLTTB: first, last, extremes and non-finite kept."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from tsdownsample import MinMaxLTTBDownsampler

# MinMaxLTTB needs a few points per output bucket to be worth running.
MIN_POINTS_OUT = 3


def select_indices(
    steps: npt.NDArray[np.int64], values: npt.NDArray[np.float64], max_points: int
) -> npt.NDArray[np.int64]:
    """Indices (sorted) of the points to keep so that about `max_points` remain.

    MinMaxLTTB runs on the finite points. Then the first and last points, the global minimum
    and maximum, and every NaN/Inf point are added back: a spike or a divergence must never
    disappear from a chart because it was averaged away.
    """
    n = len(steps)
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    finite = np.isfinite(values)
    finite_idx = np.flatnonzero(finite)
    keep: list[npt.NDArray[np.int64]] = [np.array([0, n - 1], dtype=np.int64)]
    if len(finite_idx) > max(max_points, MIN_POINTS_OUT):
        chosen = MinMaxLTTBDownsampler().downsample(  # type: ignore[no-untyped-call]
            steps[finite_idx].astype(np.float64),
            values[finite_idx],
            n_out=max(max_points, MIN_POINTS_OUT),
        )
        keep.append(finite_idx[chosen])
        finite_values = values[finite_idx]
        keep.append(finite_idx[[int(np.argmin(finite_values)), int(np.argmax(finite_values))]])
    else:
        keep.append(finite_idx)
    keep.append(np.flatnonzero(~finite))
    return np.unique(np.concatenate(keep))
