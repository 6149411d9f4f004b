"""Windowing: exact tiling by the hop, counted drops, clock-jump reset."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affect_core.types import NAN, FaceFrame, FaceObservation, FrameQuality
from affect_core.window import WindowConfig, Windower

RATE_HZ = 120.0


def _stamp(i: int) -> int:
    return int(round(i * 1e9 / RATE_HZ))  # as the rig stamps: no drift over long runs


_FACE = np.random.default_rng(0).integers(1000, 3000, (16, 16)).astype(np.uint16)


def _obs(stamp_ns: int, person: str = "p1", quality: float = 1.0,
         crop: np.ndarray | None = None) -> FaceObservation:
    return FaceObservation(stamp_ns, person, (0, 0, 10, 10), (0.0, 0.0, 1.0),
                           FrameQuality(quality, 1.0, NAN, 1.0),
                           _FACE if crop is None else crop, "mono16")


def _frame(stamp_ns: int, people: tuple[str, ...] = ("p1",)) -> FaceFrame:
    return FaceFrame(stamp_ns, "cam", [_obs(stamp_ns, p) for p in people], False)


def _run(duration_s: float, config: WindowConfig) -> list:
    windower = Windower(config)
    windows = []
    n = int(round(duration_s * RATE_HZ))
    for i in range(n):
        windows += windower.push(_frame(_stamp(i)))
    windows += windower.flush(_stamp(n))
    return windows


def test_windows_tile_time_exactly_by_the_hop() -> None:
    windows = _run(10.0, WindowConfig())
    assert len(windows) == math.floor((10.0 - 2.0) / 0.5) + 1
    ends = [w.end_ns for w in windows]
    assert np.all(np.diff(ends) == 500_000_000)
    for w in windows:
        assert w.end_ns - w.start_ns == 2_000_000_000
        assert w.frames_expected == 240
        assert w.frames_used == 240  # every frame of a steady 120 Hz stream is windowed
        assert len(w.samples) == 8
        assert all(w.start_ns <= s.stamp_ns < w.end_ns for s in w.samples)


def test_samples_cover_every_part_of_the_window() -> None:
    window = _run(2.0, WindowConfig(samples_per_window=8))[0]
    bins = {(s.stamp_ns - window.start_ns) * 8 // (window.end_ns - window.start_ns)
            for s in window.samples}
    assert bins == set(range(8))


def test_each_person_gets_their_own_windows() -> None:
    windower = Windower(WindowConfig())
    windows = []
    for i in range(int(3 * RATE_HZ)):
        windows += windower.push(_frame(_stamp(i), ("p1", "p2") if i % 2 else ("p1",)))
    by_person = {w.person_id: w for w in windows}
    assert by_person["p1"].frames_used == 240 and by_person["p2"].frames_used == 120


def test_late_and_duplicate_observations_are_counted_not_lost() -> None:
    windower = Windower(WindowConfig(clock_jump_s=5.0))
    for i in range(int(3 * RATE_HZ)):
        windower.push(_frame(_stamp(i)))
    windower.push(_frame(_stamp(2)))  # far behind every open window
    last = _stamp(int(3 * RATE_HZ - 1))
    windower.push(FaceFrame(last, "cam", [_obs(last)], False))  # same stamp again
    assert windower.stats.dropped == {"late": 1, "duplicate_stamp": 1}
    windower.flush(_stamp(int(3 * RATE_HZ)))
    stats = windower.stats
    assert stats.observations_received == stats.observations_windowed + 2


def test_clock_jump_back_resets_cleanly() -> None:
    config = WindowConfig()
    windower = Windower(config)
    first = []
    for i in range(int(5 * RATE_HZ)):
        first += windower.push(_frame(_stamp(i)))
    second = []
    for i in range(int(5 * RATE_HZ)):  # a replay loop starts over at stamp 0
        second += windower.push(_frame(_stamp(i)))
    assert windower.stats.clock_resets == 1
    assert [w.end_ns for w in second] == [w.end_ns for w in first]
    # What the first pass still held is counted, not lost.
    assert windower.stats.dropped["clock_jump"] > 0
    windower.flush(_stamp(int(5 * RATE_HZ)))
    stats = windower.stats
    assert stats.observations_received == stats.observations_windowed + sum(
        stats.dropped.values())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=4_000), min_size=1, max_size=300))
def test_no_window_spans_more_than_its_length(offsets_ms: list[int]) -> None:
    windower = Windower(WindowConfig(window_s=1.0, hop_s=0.25))
    windows = []
    for ms in sorted(set(offsets_ms)):
        windows += windower.push(_frame(ms * 1_000_000))
    windows += windower.flush(5_000_000_000)
    for w in windows:
        assert w.end_ns - w.start_ns == 1_000_000_000
        assert all(w.start_ns <= s.stamp_ns < w.end_ns for s in w.samples)
        assert w.frames_used == sum(1 for ms in set(offsets_ms)
                                    if w.start_ns <= ms * 1_000_000 < w.end_ns)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6_000), st.sampled_from(["p1", "p2"])), max_size=400),
       st.booleans())
def test_every_observation_is_windowed_or_counted(events: list[tuple[int, str]],
                                                  shuffle: bool) -> None:
    # Random stamps (ms), duplicates and disorder allowed.
    if not shuffle:
        events = sorted(events)
    windower = Windower(WindowConfig(window_s=1.0, hop_s=0.25, allowed_lateness_s=0.2,
                                     clock_jump_s=100.0))
    windows = []
    for ms, person in events:
        windows += windower.push(FaceFrame(ms * 1_000_000, "cam", [_obs(ms * 1_000_000, person)],
                                           False))
    windows += windower.flush(7_000_000_000)
    stats = windower.stats
    assert stats.observations_received == len(events)
    assert stats.observations_received == stats.observations_windowed + sum(
        stats.dropped.values())
    assert set(stats.dropped) <= {"late", "duplicate_stamp", "after_last_window"}
    ends = sorted({w.end_ns for w in windows})
    assert all((b - a) % 250_000_000 == 0 for a, b in zip(ends, ends[1:]))
    for w in windows:
        assert w.end_ns - w.start_ns == 1_000_000_000
        stamps = [s.stamp_ns for s in w.samples]
        assert len(stamps) == len(set(stamps))  # no frame sampled twice
        assert all(w.start_ns <= t < w.end_ns for t in w.frame_stamps_ns)
        assert len(w.frame_stamps_ns) == w.frames_used == len(w.frame_quality)


def test_short_events_are_sampled_even_when_their_frames_score_lower() -> None:
    rng = np.random.default_rng(1)
    event = rng.integers(1000, 3000, (16, 16)).astype(np.uint16)  # a different appearance
    event_stamps = {_stamp(i) for i in range(130, 136)}  # 6 frames = 50 ms
    def run(event_samples: int) -> set[int]:
        windower = Windower(WindowConfig(event_samples=event_samples))
        windows = []
        for i in range(240):
            t = _stamp(i)
            is_event = t in event_stamps
            # Event frames are a little less sharp: quality alone would skip them.
            obs = _obs(t, quality=0.9 if is_event else 1.0, crop=event if is_event else None)
            windows += windower.push(FaceFrame(t, "cam", [obs], False))
        windows += windower.flush(_stamp(240))
        return {s.stamp_ns for s in windows[0].samples}

    assert run(event_samples=2) & event_stamps
    assert not run(event_samples=0) & event_stamps


def test_window_quality_summaries_are_the_means_of_its_frames() -> None:
    windower = Windower(WindowConfig(window_s=0.5, hop_s=0.5))
    rng = np.random.default_rng(3)
    values = rng.uniform(0.0, 1.0, (80, 4))
    values[::7, 2] = NAN  # frames without depth
    windows = []
    for i, (pose, light, depth, sharp) in enumerate(values):
        obs = FaceObservation(_stamp(i), "p1", (0, 0, 10, 10), (0.0, 0.0, 1.0),
                              FrameQuality(pose, light, depth, sharp), _FACE, "mono16")
        windows += windower.push(FaceFrame(_stamp(i), "cam", [obs], False))
    window = windows[0]
    used = values[: window.frames_used]
    assert window.pose_stability == pytest.approx(used[:, 0].mean())
    assert window.lighting_consistency == pytest.approx(used[:, 1].mean())
    assert window.depth_consistency == pytest.approx(np.nanmean(used[:, 2]))
    assert window.sharpness == pytest.approx(used[:, 3].mean())
