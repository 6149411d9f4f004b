"""Fuzz the synchroniser and the IR/depth associator with faulty stamp sequences.

Invariants: every message offered to the synchroniser is matched once (in one emitted
set) or dropped once with a known reason, and still queued items are the difference at
any moment; matched sets respect the policy's tolerance. Every primary (IR) item comes
out of the associator exactly once, as associated or not; every secondary (depth) item
is counted as out of order, used, or unused. Settings no synchroniser can run with are
a ConfigError, never an arithmetic error.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from affect_core.errors import ConfigError
from affect_core.sync.associate import NearestAssociator
from affect_core.sync.synchronizer import DROP_REASONS, Synchronizer

from tests.core.fuzz.stamps import stamp_sequences
from tests.core.fuzz.values import nasty_floats
from tests.fuzzing import fuzz_target


@st.composite
def streams_of_stamps(draw: st.DrawFn, streams: int) -> list[tuple[int, int]]:
    """Draw interleaved (stream, stamp) arrivals, each stream with its own faulty clock."""
    per_stream = [draw(stamp_sequences(max_size=40)) for _ in range(streams)]
    # Streams sharing stamps is what makes sets match: reuse one stream's stamps often.
    if draw(st.booleans()):
        per_stream = [per_stream[0][:] for _ in range(streams)]
    arrivals = [(s, t) for s, stamps in enumerate(per_stream) for t in stamps]
    order = draw(st.permutations(range(len(arrivals))))
    if draw(st.booleans()):  # arrivals in stamp order per stream, interleaved at random
        order = sorted(order, key=lambda i: (arrivals[i][1], order.index(i)))
    return [arrivals[i] for i in order]


@fuzz_target(short=120, long=12_000)
@given(st.integers(1, 3).flatmap(lambda n: st.tuples(st.just(n), streams_of_stamps(n))),
       st.sampled_from(["exact", "approximate"]), st.integers(1, 12),
       st.sampled_from([1e-9, 1e-6, 1e-3, 0.004, 0.02, 1.0, 1e9]))
def test_every_message_is_matched_once_or_dropped_once_with_a_reason(
        case: tuple[int, list[tuple[int, int]]], policy: str, queue_size: int,
        slop_s: float) -> None:
    streams, arrivals = case
    sync: Synchronizer[int] = Synchronizer(streams, policy, queue_size, slop_s)
    sets: list[tuple[int, ...]] = []
    dropped: list[tuple[int, str]] = []
    sync.on_match(lambda *items: sets.append(items))
    sync.on_drop(lambda stream, stamp, item, reason: dropped.append((item, reason)))
    for index, (stream, stamp) in enumerate(arrivals):
        sync.add(stream, stamp, index)
        queued = sum(len(q) for q in sync.queues)
        assert index + 1 == sum(len(s) for s in sets) + len(dropped) + queued
    sync.flush()
    assert all(not q for q in sync.queues)
    used = [item for group in sets for item in group] + [item for item, _ in dropped]
    assert sorted(used) == list(range(len(arrivals)))  # each once, none lost
    assert {reason for _, reason in dropped} <= set(DROP_REASONS)
    for stream in range(streams):
        stats = sync.stats
        assert stats.received[stream] == sum(1 for s, _ in arrivals if s == stream)
        assert stats.received[stream] == stats.matched[stream] + stats.dropped_total(stream)
    assert sync.stats.sets == len(sets)
    for group in sets:
        assert [arrivals[i][0] for i in group] == list(range(streams))
        stamps = [arrivals[i][1] for i in group]
        if policy == "exact":
            assert len(set(stamps)) == 1
        else:
            assert max(stamps) - min(stamps) < sync.slop_ns


@fuzz_target(short=60, long=1_000)
@given(st.sampled_from(["exact", "approximate"]),
       st.one_of(nasty_floats(), st.integers(-2, 2)), st.integers(-2, 3),
       st.integers(-2, 3))
def test_bad_synchroniser_settings_are_config_errors(policy: str, slop_s: float,
                                                     queue_size: int, streams: int) -> None:
    valid = (streams >= 1 and queue_size >= 1 and 0.0 <= slop_s <= 1e9
             and (policy == "exact" or slop_s > 0.0))
    if valid:
        sync: Synchronizer[int] = Synchronizer(streams, policy, queue_size, slop_s)
        assert sync.slop_ns == round(slop_s * 1e9) >= 0
    else:
        with pytest.raises(ConfigError, match="slop|queue_size|stream"):
            Synchronizer(streams, policy, queue_size, slop_s)


@fuzz_target(short=120, long=12_000)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 2**63 - 1)), max_size=150)
       | st.tuples(stamp_sequences(), stamp_sequences()).map(
           lambda ab: [(True, t) for t in ab[0]] + [(False, t) for t in ab[1]]).flatmap(
               st.permutations),
       st.sampled_from([0.0, 0.004, 0.05, 1.0, 1e6]), st.integers(1, 80), st.integers(1, 20))
def test_every_ir_frame_comes_out_once_and_every_depth_frame_is_counted(
        arrivals: list[tuple[bool, int]], max_age_s: float, max_pending: int,
        history: int) -> None:
    associator: NearestAssociator[int, int] = NearestAssociator(max_age_s, max_pending, history)
    decided: list[tuple[int, int | None]] = []
    primaries = 0
    for index, (is_primary, stamp) in enumerate(arrivals):
        if is_primary:
            primaries += 1
            decided += associator.add_primary(stamp, index)
        else:
            decided += associator.add_secondary(stamp, index)
    decided += associator.flush()
    stats = associator.stats
    primary_items = [p for p, _ in decided]
    assert sorted(primary_items) == [i for i, (p, _) in enumerate(arrivals) if p]
    assert stats.primary == primaries == stats.associated + stats.without_secondary
    assert stats.without_secondary == sum(1 for _, s in decided if s is None)
    used = {s for _, s in decided if s is not None}
    assert stats.secondary == len(arrivals) - primaries
    assert stats.secondary == stats.secondary_out_of_order + len(used) + stats.secondary_unused
    for primary, secondary in decided:
        if secondary is not None:
            assert not arrivals[secondary][0]
            assert abs(arrivals[secondary][1] - arrivals[primary][1]) <= associator.max_age_ns


@fuzz_target(short=40, long=500)
@given(st.one_of(nasty_floats(), st.integers(-5, 5)))
def test_bad_association_ages_are_config_errors(max_age_s: float) -> None:
    if 0.0 <= max_age_s <= 1e9:
        assert NearestAssociator(max_age_s).max_age_ns >= 0
    else:
        with pytest.raises(ConfigError, match="max_age_s"):
            NearestAssociator(max_age_s)
