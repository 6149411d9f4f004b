"""Hypothesis strategies for the values outside data gets wrong.

Plain ``st.floats()`` rarely draws infinities and NaN in a short run, so the edge values
are drawn explicitly, half of the time.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

EDGE_FLOATS = (math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-300, -1e-300, 5e-324, 1e-9,
               -1.0, 1.0, 1e300, -1e300, 3.4028235e38, 2.0**63, 2.0**64)
EDGE_INTS = (0, -1, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, -2**31 - 1, 2**63 - 1, 2**63,
             -2**63 - 1, 2**64, 10**100)


def nasty_floats() -> st.SearchStrategy[float]:
    """Draw any float, the edge values (NaN, infinities, extremes) half of the time."""
    return st.one_of(st.sampled_from(EDGE_FLOATS), st.floats())


def nasty_ints() -> st.SearchStrategy[int]:
    """Draw any integer, the edges of int32, uint32, int64 and beyond half of the time."""
    return st.one_of(st.sampled_from(EDGE_INTS), st.integers())
