"""Hypothesis strategies for sensor stamp sequences as real streams get them wrong.

A sequence starts anywhere in int64 nanoseconds and moves by steps drawn from what
cameras, drivers and replays do: the nominal period with jitter, duplicates, small
steps back (reordering), large steps back (replay loops, clock resets), gaps (dropped
frames), bursts (a driver flushing its queue) and leaps forward (a clock switching from
boot time to epoch time).
"""

from __future__ import annotations

from hypothesis import strategies as st

INT64_MAX = 2**63 - 1
PERIOD_NS = 8_333_333  # 120 Hz

_STEP = st.one_of(
    st.integers(PERIOD_NS - 500_000, PERIOD_NS + 500_000),  # nominal, with jitter
    st.just(0),  # duplicate stamp
    st.integers(-50_000_000, -1),  # reordered by up to 50 ms
    st.integers(-10**13, -10**9),  # jumps back by 1 s .. 3 h
    st.integers(10**8, 10**10),  # gap of 0.1 .. 10 s
    st.integers(1, 1_000),  # burst: nanoseconds apart
    st.integers(10**15, 10**18),  # leap forward by days .. decades
)


@st.composite
def stamp_sequences(draw: st.DrawFn, max_size: int = 120) -> list[int]:
    """Draw a sequence of stamps (ns) in [0, INT64_MAX] with the faults listed above."""
    stamp = draw(st.one_of(st.integers(0, 10**10), st.integers(0, INT64_MAX)))
    steps = draw(st.lists(_STEP, max_size=max_size))
    stamps = []
    for step in steps:
        stamp = min(max(stamp + step, 0), INT64_MAX)
        stamps.append(stamp)
    return stamps
