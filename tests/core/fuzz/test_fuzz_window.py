"""Fuzz the windower with arbitrary stamp sequences: each observation is accounted once.

Invariant: after every push, observations received = windowed + dropped (by a known
reason) + still buffered; after the flush nothing is buffered, the windowed count is
exactly the set of observations that appear in emitted windows, and every window covers
its own span with its own people's frames. A leap of the clock forward by decades must
not make the windower walk every hop in between (a hang).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from affect_core.types import NAN, FaceFrame, FaceObservation, FaceWindow, FrameQuality
from affect_core.window import DROP_REASONS, PARAMS, WindowConfig, Windower

from tests.core.fuzz.stamps import stamp_sequences
from tests.fuzzing import fuzz_target, hang_guard

PEOPLE = ("p1", "p2", "p3")
_CROP = np.random.default_rng(0).integers(0, 4096, (8, 8)).astype(np.uint16)
_BOUNDS = {spec.name: (spec.min_value, spec.max_value) for spec in PARAMS}


def _value(name: str, draw: st.DrawFn) -> Any:
    low, high = _BOUNDS[name]
    if isinstance(WindowConfig.__dataclass_fields__[name].default, int):
        return draw(st.integers(int(low), int(min(high, 16))))
    return draw(st.floats(low, min(high, 5.0)))


@st.composite
def window_configs(draw: st.DrawFn) -> WindowConfig:
    """Draw a valid window_sync configuration (short windows, so examples stay small)."""
    names = ["window_s", "hop_s", "samples_per_window", "allowed_lateness_s",
             "clock_jump_s", "nominal_rate_hz"]
    given_params = {name: _value(name, draw) for name in names if draw(st.booleans())}
    given_params["event_samples"] = draw(st.integers(0, given_params.get(
        "samples_per_window", 8) - 1))
    return WindowConfig.from_params(given_params)


@st.composite
def face_frames(draw: st.DrawFn) -> list[FaceFrame]:
    """Draw frames with faulty stamps; each holds some people, some observations offset."""
    frames = []
    for stamp in draw(stamp_sequences()):
        people = draw(st.lists(st.sampled_from(PEOPLE), max_size=3))
        faces = []
        for person in people:
            offset = draw(st.sampled_from([0, 0, 0, -1, 1, -30_000_000]))
            faces.append(FaceObservation(max(stamp + offset, 0), person, (0, 0, 8, 8),
                                         (0.0, 0.0, 1.0), FrameQuality(0.9, 0.8, NAN, 0.7),
                                         _CROP, "mono16"))
        frames.append(FaceFrame(stamp, "cam", faces, False))
    return frames


def _accounted(windower: Windower) -> int:
    stats = windower.stats
    return stats.observations_windowed + sum(stats.dropped.values()) + stats.buffered


def _check_window(window: FaceWindow, config: WindowConfig) -> None:
    assert window.end_ns - window.start_ns == round(config.window_s * 1e9)
    assert window.frames_used == len(window.frame_stamps_ns) == len(window.frame_quality) > 0
    assert all(window.start_ns <= t < window.end_ns for t in window.frame_stamps_ns)
    assert len(set(window.frame_stamps_ns)) == len(window.frame_stamps_ns)
    sample_stamps = [s.stamp_ns for s in window.samples]
    assert 0 < len(sample_stamps) <= config.samples_per_window
    assert len(set(sample_stamps)) == len(sample_stamps)
    assert set(sample_stamps) <= set(window.frame_stamps_ns)
    assert all(s.person_id == window.person_id for s in window.samples)


@fuzz_target(short=150, long=12_000)
@given(window_configs(), face_frames(), st.integers(0, 2**63 - 1))
def test_every_observation_is_windowed_once_or_dropped_once_with_a_reason(
        config: WindowConfig, frames: list[FaceFrame], flush_ns: int) -> None:
    windower = Windower(config)
    windows: list[tuple[int, FaceWindow]] = []  # (clock epoch, window)
    pushed: set[tuple[int, str, int]] = set()
    for frame in frames:
        ready = windower.push(frame)
        epoch = windower.stats.clock_resets
        pushed.update((epoch, obs.person_id, obs.stamp_ns) for obs in frame.faces)
        windows += [(epoch, w) for w in ready]
        assert windower.stats.observations_received == _accounted(windower)
    last = max((f.stamp_ns for f in frames), default=0)
    windows += [(windower.stats.clock_resets, w)
                for w in windower.flush(max(flush_ns, last))]
    stats = windower.stats
    assert stats.observations_received == sum(len(f.faces) for f in frames)
    assert stats.buffered == 0
    assert stats.observations_received == stats.observations_windowed + sum(
        stats.dropped.values())
    assert set(stats.dropped) <= set(DROP_REASONS)
    assert all(count > 0 for count in stats.dropped.values())
    assert stats.windows_emitted == len(windows)
    windowed = {(epoch, w.person_id, t) for epoch, w in windows for t in w.frame_stamps_ns}
    assert windowed <= pushed
    assert len(windowed) == stats.observations_windowed
    for _, window in windows:
        _check_window(window, config)


def test_a_clock_leap_of_decades_costs_one_step_not_one_per_hop() -> None:
    # Found by the target above: 10**18 ns at a 0.5 s hop was 2 * 10**9 turns of a loop.
    windower = Windower(WindowConfig())
    windows = []
    with hang_guard(10.0, "clock leap"):
        for stamp in (0, 10**18, 10**18 + 1):
            windows += windower.push(FaceFrame(stamp, "cam", [FaceObservation(
                stamp, "p1", (0, 0, 8, 8), (0.0, 0.0, 1.0), FrameQuality(1.0, 1.0, NAN, 1.0),
                _CROP, "mono16")], False))
        windows += windower.flush(10**18 + 3 * 10**9)
    assert [w.end_ns for w in windows] == [2 * 10**9] + [
        10**18 + k * 500_000_000 for k in (1, 2, 3, 4)]
    assert [w.frames_used for w in windows] == [1, 2, 2, 2, 2]
    assert windower.stats.observations_windowed == 3
    assert windower.stats.dropped == {}
