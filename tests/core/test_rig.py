"""The simulated rig: deterministic, physically consistent, AU-faithful."""

from __future__ import annotations

import numpy as np
import pytest

from affect_core.sim.expressions import ACTION_UNITS
from affect_core.sim.face_model import (
    LANDMARK_NAMES,
    expressive_landmarks_m,
    moved_landmarks,
    sample_identity,
)
from affect_core.sim.rig import RigConfig, SimRig


def test_same_seed_same_frames_other_seed_different() -> None:
    a = [f.ir.data for f in SimRig(RigConfig(seed=3)).frames(0.1)]
    b = [f.ir.data for f in SimRig(RigConfig(seed=3)).frames(0.1)]
    c = [f.ir.data for f in SimRig(RigConfig(seed=4)).frames(0.1)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not any(np.array_equal(x, y) for x, y in zip(a, c))


def test_frames_are_16_bit_with_exact_stamps_and_stereo_rate() -> None:
    frames = list(SimRig(RigConfig()).frames(1.0))
    assert len(frames) == 120
    assert frames[0].ir.data.dtype == np.uint16 and frames[0].ir.data.shape == (480, 640)
    assert [f.stamp_ns for f in frames[:3]] == [0, 8_333_333, 16_666_667]
    assert sum(f.stereo is not None for f in frames) == 30


@pytest.mark.parametrize("au", [au for au in ACTION_UNITS])
def test_each_action_unit_moves_only_its_landmarks(au: str) -> None:
    identity = sample_identity(np.random.default_rng(0), 0, "high_reflectance")
    neutral = expressive_landmarks_m(identity, {})
    moved = expressive_landmarks_m(identity, {au: 1.0})
    changed = {LANDMARK_NAMES[i] for i in np.flatnonzero(np.abs(moved - neutral).sum(1) > 1e-9)}
    assert changed and changed <= moved_landmarks(au)


def test_saturation_and_noise_follow_the_sensor_model() -> None:
    rig = SimRig(RigConfig(num_people=0))
    frame = rig.step().ir.data.astype(np.float64)
    sensor = rig.renderer.sensor
    # A flat patch of wall: noise variance = shot + read (+ fixed-pattern spread).
    patch = frame[200:240, 300:340]
    mean_e = patch.mean() * sensor.full_well_e / 65535.0
    expected_std = np.sqrt(mean_e + sensor.read_noise_e**2) * 65535.0 / sensor.full_well_e
    diff = (rig.step().ir.data.astype(np.float64)[200:240, 300:340] - patch).ravel()
    assert diff.std() / np.sqrt(2.0) == pytest.approx(expected_std, rel=0.25)
    assert frame.max() < 65535  # a dim wall does not saturate
