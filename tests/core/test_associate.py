"""IR at 120 Hz with depth at 30 Hz: nearest depth within the maximum age, counted."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from affect_core.sync.associate import NearestAssociator

IR_NS = [round(i * 1e9 / 120) for i in range(120)]
DEPTH_NS = [round(i * 1e9 / 30) for i in range(30)]


def test_each_ir_frame_gets_the_nearest_depth_even_when_depth_arrives_late() -> None:
    assoc: NearestAssociator[int, int] = NearestAssociator(max_age_s=0.05)
    pairs = []
    depth_queue = list(DEPTH_NS)
    for ir in IR_NS:
        pairs += assoc.add_primary(ir, ir)
        # Depth comes 10 ms after the IR frame of the same instant.
        while depth_queue and depth_queue[0] + 10_000_000 <= ir:
            d = depth_queue.pop(0)
            pairs += assoc.add_secondary(d, d)
    for d in depth_queue:
        pairs += assoc.add_secondary(d, d)
    pairs += assoc.flush()
    assert [ir for ir, _ in pairs] == IR_NS  # every frame once, in order
    for ir, depth in pairs:
        expected = min(DEPTH_NS, key=lambda d: abs(d - ir))
        assert depth == expected
    assert assoc.stats.associated == 120 and assoc.stats.without_secondary == 0
    assert assoc.stats.secondary_unused == 0


def test_without_waiting_each_ir_frame_gets_the_nearest_depth_already_there() -> None:
    assoc: NearestAssociator[int, int] = NearestAssociator(max_age_s=0.05, max_wait_s=0.0)
    depth_queue = list(DEPTH_NS)
    arrived: list[int] = []
    for ir in IR_NS:
        while depth_queue and depth_queue[0] + 10_000_000 <= ir:
            d = depth_queue.pop(0)
            arrived.append(d)
            assert assoc.add_secondary(d, d) == []  # nothing waits for it
        pairs = assoc.add_primary(ir, ir)
        # Decided at once, with the nearest of the depth frames that have arrived.
        near = [d for d in arrived if abs(d - ir) <= 50_000_000]
        expected = min(near, key=lambda d: abs(d - ir)) if near else None
        assert pairs == [(ir, expected)]
    # Depth arrives 10 ms late, so the first frames have none yet; later ones have depth
    # at most a depth period plus that delay old.
    assert assoc.stats.associated >= 115 and assoc.stats.decided_by_timeout == 0


def test_without_depth_frames_are_decided_by_the_maximum_age_and_counted() -> None:
    assoc: NearestAssociator[int, int] = NearestAssociator(max_age_s=0.05)
    pairs = []
    for ir in IR_NS:
        pairs += assoc.add_primary(ir, ir)
        # Nothing waits longer than the maximum age.
        assert all(ir - p <= 50_000_000 for p, _ in [(x, 0) for x, _ in assoc._pending])
    pairs += assoc.flush()
    assert [ir for ir, _ in pairs] == IR_NS
    assert all(depth is None for _, depth in pairs)
    assert assoc.stats.without_secondary == 120
    assert assoc.stats.decided_by_timeout > 100


def test_depth_older_than_the_maximum_age_is_not_used() -> None:
    assoc: NearestAssociator[int, str] = NearestAssociator(max_age_s=0.01)
    assoc.add_secondary(0, "old")
    pairs = assoc.add_primary(30_000_000, 30_000_000) + assoc.flush()
    assert pairs == [(30_000_000, None)]
    assert assoc.stats.secondary_unused == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 10**9)), max_size=150))
def test_every_primary_comes_out_exactly_once(events: list[tuple[bool, int]]) -> None:
    assoc: NearestAssociator[int, int] = NearestAssociator(max_age_s=0.05, max_pending=16)
    out = []
    primaries = []
    for index, (is_primary, stamp) in enumerate(events):
        if is_primary:
            primaries.append(index)
            out += assoc.add_primary(stamp, index)
        else:
            out += assoc.add_secondary(stamp, index)
    out += assoc.flush()
    assert sorted(p for p, _ in out) == primaries
    assert assoc.stats.associated + assoc.stats.without_secondary == len(primaries)
