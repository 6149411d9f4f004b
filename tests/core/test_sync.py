"""The synchroniser against message_filters' semantics and test cases, with accounting."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affect_core.errors import ConfigError
from affect_core.sync.synchronizer import Synchronizer


def _collect(sync: Synchronizer) -> list[tuple]:
    out: list[tuple] = []
    sync.on_match(lambda *items: out.append(items))
    return out


def test_approx_pairs_like_message_filters() -> None:
    # message_filters test_approxsync.py: pairs at equal stamps combine on the second.
    sync: Synchronizer[str] = Synchronizer(2, "approximate", queue_size=1, slop_s=0.1)
    out = _collect(sync)
    for t in range(10):
        out.clear()
        sync.add(0, t * 10**9, f"a{t}")
        assert out == []
        sync.add(1, t * 10**9, f"b{t}")
        assert out == [(f"a{t}", f"b{t}")]


@pytest.mark.parametrize("n", range(1, 10))
def test_scrambled_sequences_recombine_like_message_filters(n: int) -> None:
    # message_filters test_approxsync.py: scrambled sequences of length N, queue N.
    rng = random.Random(n)
    seq0 = [(t * 10**9, f"a{t}") for t in range(n)]
    seq1 = [(t * 10**9, f"b{t}") for t in range(n)]
    sync: Synchronizer[str] = Synchronizer(2, "approximate", queue_size=n, slop_s=0.1)
    out = _collect(sync)
    for stamp, item in rng.sample(seq0, n):
        sync.add(0, stamp, item)
    assert out == []
    for stamp, item in rng.sample(seq1, n):
        sync.add(1, stamp, item)
    assert set(out) == {(a, b) for (_, a), (_, b) in zip(seq0, seq1)}


def test_exact_policy_matches_only_equal_stamps_and_counts_overflow() -> None:
    sync: Synchronizer[int] = Synchronizer(3, "exact", queue_size=2)
    out = _collect(sync)
    for t in (1, 2, 3):
        sync.add(0, t, t)
    sync.add(1, 3, 30)
    sync.add(2, 3, 300)
    assert out == [(3, 30, 300)]
    assert sync.stats.dropped["queue_overflow"] == [1, 0, 0]  # stamp 1 pushed out
    sync.flush()
    assert sync.stats.dropped["unmatched_at_end"] == [1, 0, 0]  # stamp 2 never matched


def test_duplicate_stamps_are_counted_not_silently_replaced() -> None:
    sync: Synchronizer[str] = Synchronizer(2, "approximate", queue_size=5, slop_s=0.01)
    drops: list[tuple] = []
    sync.on_drop(lambda *args: drops.append(args))
    sync.add(0, 100, "first")
    sync.add(0, 100, "second")
    assert drops == [(0, 100, "first", "duplicate_stamp")]


def test_warns_when_the_slop_lets_a_message_match_two_neighbours() -> None:
    sync: Synchronizer[int] = Synchronizer(2, "approximate", queue_size=10, slop_s=0.005)
    warnings: list[str] = []
    sync.on_warning(warnings.append)
    for i in range(20):
        sync.add(0, i * 8_333_333, i)  # 120 Hz: half a period is 4.2 ms < 5 ms slop
    assert len(warnings) == 1 and "half the frame period" in warnings[0]


def test_warns_when_exact_stamps_never_coincide() -> None:
    sync: Synchronizer[int] = Synchronizer(2, "exact", queue_size=10)
    warnings: list[str] = []
    sync.on_warning(warnings.append)
    for i in range(20):
        sync.add(0, i * 1000, i)
        sync.add(1, i * 1000 + 1, i)
    assert warnings and "never coincide" in warnings[0]


def test_bad_settings_fail_clearly() -> None:
    with pytest.raises(ConfigError, match="positive slop"):
        Synchronizer(2, "approximate", slop_s=0.0)
    with pytest.raises(ConfigError, match="unknown policy"):
        Synchronizer(2, "latest")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 200)), max_size=200),
       st.sampled_from(["exact", "approximate"]), st.integers(1, 8))
def test_every_message_is_matched_once_or_counted(events: list[tuple[int, int]], policy: str,
                                                  queue_size: int) -> None:
    sync: Synchronizer[tuple[int, int]] = Synchronizer(3, policy, queue_size, slop_s=10e-9)
    out = _collect(sync)
    for index, (stream, stamp) in enumerate(events):
        sync.add(stream, stamp, (stream, index))
    sync.flush()
    emitted = [item for group in out for item in group]
    assert len(emitted) == len(set(emitted))  # no message used twice
    for stream in range(3):
        received = sync.stats.received[stream]
        assert received == sum(1 for s, _ in events if s == stream)
        assert received == sync.stats.matched[stream] + sync.stats.dropped_total(stream)
    for group in out:
        stamps = [events[index][1] for _, index in group]
        assert max(stamps) - min(stamps) < (1 if policy == "exact" else 10)
