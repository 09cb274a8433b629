"""Rollup rows of new points: the plain-Python path for small transactions and the NumPy
path for large ones give the same rows, in the same order, with the same types."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fitwatch_server.store.point_data import rollups

_values = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, 1.0, -1.0, math.nan, math.inf, -math.inf]),
    st.floats(allow_nan=True, allow_infinity=True),
)


@st.composite
def _series(draw: st.DrawFn) -> list[tuple[int, list[int], list[float]]]:
    """Series with distinct ids, each with sorted distinct steps (what ingest hands over)."""
    ids = draw(st.lists(st.integers(1, 10_000), min_size=1, max_size=5, unique=True))
    found = []
    for series_id in ids:
        # Steps near bucket edges of every level, and far apart.
        steps = sorted(
            draw(
                st.sets(
                    st.one_of(
                        st.integers(0, 200),
                        st.integers(16_000, 17_000),
                        st.integers(0, 2**40),
                    ),
                    min_size=1,
                    max_size=80,
                )
            )
        )
        values = draw(st.lists(_values, min_size=len(steps), max_size=len(steps)))
        found.append((series_id, steps, values))
    return found


def _numpy_rows(series: list[tuple[int, list[int], list[float]]]) -> list[tuple[object, ...]]:
    sizes = [len(steps) for _, steps, _ in series]
    return rollups.batch_rollups(
        np.repeat(np.array([series_id for series_id, _, _ in series], dtype=np.int64), sizes),
        np.array([s for _, steps, _ in series for s in steps], dtype=np.int64),
        np.array([v for _, _, values in series for v in values], dtype=np.float64),
    )


@settings(max_examples=300, deadline=None)
@given(series=_series())
def test_plain_python_rollups_equal_the_numpy_rollups(series):
    plain = rollups.batch_rollups_plain(series)
    # repr tells -0.0 from 0.0 and 1 from 1.0: the stored rows must be the same, not equal.
    assert repr(plain) == repr(_numpy_rows(series))


def test_ties_go_to_the_earliest_step_and_nan_is_not_an_extreme():
    rows = rollups.batch_rollups_plain([(7, [0, 1, 2, 3, 64], [math.nan, 2.0, 1.0, 1.0, math.nan])])
    assert rows[:2] == [(7, 64, 0, 4, 1.0, 2, 2.0, 1, 0), (7, 64, 1, 1, None, None, None, None, 64)]
    assert rows == _numpy_rows([(7, [0, 1, 2, 3, 64], [math.nan, 2.0, 1.0, 1.0, math.nan])])
