"""The synchroniser against ROS 2's own message_filters, and as a message_filters filter."""

from __future__ import annotations

import random

import pytest

pytestmark = pytest.mark.ros


class _Msg:
    """A message with a header stamp, as message_filters needs."""

    def __init__(self, stamp_ns: int, tag: str) -> None:
        from builtin_interfaces.msg import Time
        from std_msgs.msg import Header

        self.header = Header(stamp=Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9))
        self.tag = tag

    def __repr__(self) -> str:
        return self.tag


def _random_streams(seed: int, streams: int, count: int) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    events = []
    for stream in range(streams):
        period = rng.choice([8_333_333, 10_000_000, 33_333_333])
        jitter = rng.choice([0, 1_000_000, 4_000_000])
        for i in range(count):
            events.append((stream, i * period + rng.randint(-jitter, jitter) + 10**9))
    rng.shuffle(events) if seed % 2 else events.sort(key=lambda e: e[1])
    return events


@pytest.mark.parametrize("seed", range(12))
def test_approximate_policy_matches_message_filters(seed: int) -> None:
    import message_filters

    from affect_core.sync.synchronizer import Synchronizer
    from affect_ros.filters import CountingSynchronizer

    streams = 2 + seed % 2
    queue_size = 1 + seed % 5
    slop_s = [0.002, 0.005, 0.02][seed % 3]
    events = _random_streams(seed, streams, 60)
    msgs = [_Msg(stamp, f"s{stream}@{stamp}") for stream, stamp in events]

    inputs = [message_filters.SimpleFilter() for _ in range(streams)]
    reference = message_filters.ApproximateTimeSynchronizer(inputs, queue_size, slop_s)
    expected: list[tuple] = []
    reference.registerCallback(lambda *m: expected.append(tuple(x.tag for x in m)))

    ours_inputs = [message_filters.SimpleFilter() for _ in range(streams)]
    ours = CountingSynchronizer(ours_inputs, queue_size, slop_s, policy="approximate")
    got: list[tuple] = []
    ours.registerCallback(lambda *m: got.append(tuple(x.tag for x in m)))

    core: Synchronizer[str] = Synchronizer(streams, "approximate", queue_size, slop_s)
    core_got: list[tuple] = []
    core.on_match(lambda *tags: core_got.append(tags))

    for (stream, stamp), msg in zip(events, msgs):
        inputs[stream].signalMessage(msg)
        ours_inputs[stream].signalMessage(msg)
        core.add(stream, stamp, msg.tag)
    assert got == expected
    assert core_got == expected
    stats = ours.core.stats
    for stream in range(streams):
        queued = len(ours.core.queues[stream])
        assert stats.received[stream] == stats.matched[stream] + stats.dropped_total(
            stream) + queued


def test_exact_policy_matches_time_synchronizer() -> None:
    import message_filters

    from affect_ros.filters import CountingSynchronizer

    events = _random_streams(3, 3, 40)
    events = [(s, t - t % 10_000_000) for s, t in events]  # coarse stamps: many coincide
    inputs = [message_filters.SimpleFilter() for _ in range(3)]
    reference = message_filters.TimeSynchronizer(inputs, 5)
    expected: list[tuple] = []
    reference.registerCallback(lambda *m: expected.append(tuple(x.tag for x in m)))
    ours_inputs = [message_filters.SimpleFilter() for _ in range(3)]
    ours = CountingSynchronizer(ours_inputs, 5, policy="exact")
    got: list[tuple] = []
    ours.registerCallback(lambda *m: got.append(tuple(x.tag for x in m)))
    for index, (stream, stamp) in enumerate(events):
        msg = _Msg(stamp, f"{index}")
        inputs[stream].signalMessage(msg)
        ours_inputs[stream].signalMessage(msg)
    assert got == expected


def test_nearest_association_chains_like_a_filter() -> None:
    import message_filters

    from affect_ros.filters import NearestAssociation

    ir, depth = message_filters.SimpleFilter(), message_filters.SimpleFilter()
    association = NearestAssociation(ir, depth, max_age=0.05)
    pairs: list[tuple] = []
    association.registerCallback(lambda a, b: pairs.append((a.tag, b.tag if b else None)))
    for i in range(8):
        stamp = round(i * 1e9 / 120)
        ir.signalMessage(_Msg(stamp, f"ir{i}"))
        if i % 4 == 0:
            depth.signalMessage(_Msg(stamp, f"d{i // 4}"))
    # ir6 (50 ms) is exactly between d1 and d2: the earlier one wins the tie.
    depth.signalMessage(_Msg(round(8 * 1e9 / 120), "d2"))
    assert pairs == [("ir0", "d0"), ("ir1", "d0"), ("ir2", "d1"), ("ir3", "d1"),
                     ("ir4", "d1"), ("ir5", "d1"), ("ir6", "d1"), ("ir7", "d2")]
