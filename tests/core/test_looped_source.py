"""A looped replay: every pass's frames, stamps running on across passes, paced as one."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest

from affect_core.camera import IrCameraConfig
from affect_core.errors import ConfigError, SourceError
from affect_core.sim.rig import RigConfig
from affect_core.sinks.sensor_bag import SensorBagWriter, record_source
from affect_core.sources.concrete import BagSource, SimSource, open_source
from affect_core.sources.looped import LoopedSource

DURATION_S = 0.25
PERIOD_NS = round(1e9 / 120.0)


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("looped") / "sensors"
    record_source(SimSource(RigConfig(stereo_rate_hz=30.0), DURATION_S), path)
    return path


def _one_pass(bag: Path) -> tuple[list, list]:
    frames = list(BagSource(str(bag)).frames())
    return ([f.ir for f in frames if f.ir is not None],
            [f.stereo for f in frames if f.stereo is not None])


def test_each_pass_follows_the_last_one_frame_period_later(bag: Path) -> None:
    irs, pairs = _one_pass(bag)
    span_ns = irs[-1].stamp_ns - irs[0].stamp_ns + PERIOD_NS
    looped = LoopedSource(lambda: BagSource(str(bag)), rate=0.0, passes=3)
    frames = list(looped.frames())
    looped_irs = [f.ir for f in frames if f.ir is not None]
    looped_pairs = [f.stereo for f in frames if f.stereo is not None]
    assert len(looped_irs) == 3 * len(irs) == 90
    assert len(looped_pairs) == 3 * len(pairs) > 0
    stamps = np.array([f.stamp_ns for f in looped_irs])
    assert np.all(np.diff(stamps) > 0)  # no clock jump back at a pass boundary
    for k in range(3):
        chunk = looped_irs[k * len(irs):(k + 1) * len(irs)]
        assert [f.stamp_ns - k * span_ns for f in chunk] == [f.stamp_ns for f in irs]
        assert all(np.array_equal(a.data, b.data) for a, b in zip(chunk, irs))
        chunk_pairs = looped_pairs[k * len(pairs):(k + 1) * len(pairs)]
        assert [p.stamp_ns - k * span_ns for p in chunk_pairs] == [p.stamp_ns for p in pairs]
    # The boundary itself: one frame period, as inside a pass.
    assert looped_irs[len(irs)].stamp_ns - looped_irs[len(irs) - 1].stamp_ns == PERIOD_NS
    assert looped.passes_done == 3
    assert looped.stats.ir_frames == 90 and looped.stats.stereo_pairs == len(looped_pairs)


def test_counts_include_the_pass_being_read(bag: Path) -> None:
    looped = LoopedSource(lambda: BagSource(str(bag)), rate=0.0)
    taken = list(itertools.islice((f for f in looped.frames() if f.ir is not None), 45))
    assert len(taken) == 45
    assert looped.stats.ir_frames == 45 and looped.passes_done == 1
    looped.close()


def test_passes_are_paced_as_one_stream(bag: Path) -> None:
    looped = LoopedSource(lambda: BagSource(str(bag)), rate=2.0, passes=2)
    start = time.monotonic()
    stamps = [f.ir.stamp_ns for f in looped.frames() if f.ir is not None]
    elapsed_s = time.monotonic() - start
    # Recorded timing at twice the speed: sleeping never wakes early, so the two passes
    # take at least half their stamp span (the first frame is due at once).
    assert elapsed_s >= 0.5 * (stamps[-1] - stamps[0]) / 1e9 - 0.01


def test_open_source_loops_recordings_only(bag: Path) -> None:
    camera = IrCameraConfig()
    looped = open_source(f"bag:{bag}", RigConfig(), camera, 0.0, loop=True)
    assert isinstance(looped, LoopedSource) and looped.description.endswith("looped")
    taken = list(itertools.islice((f for f in looped.frames() if f.ir is not None), 75))
    assert len(taken) == 75 and looped.passes_done == 2
    looped.close()
    for spec in ("sim", "camera:0"):
        with pytest.raises(SourceError, match="loop replays a recording"):
            open_source(spec, RigConfig(), camera, 1.0, loop=True)
    with pytest.raises(ConfigError, match="loop replays a recording"):
        IrCameraConfig.from_params({"loop": True})
    assert IrCameraConfig.from_params({"loop": True, "source": f"bag:{bag}"}).loop


def test_a_recording_without_frames_is_an_error_not_an_endless_loop(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    with SensorBagWriter(empty, None):
        pass
    looped = LoopedSource(lambda: BagSource(str(empty)), rate=0.0)
    with pytest.raises(SourceError, match="gave no IR frame"):
        list(looped.frames())
