"""Stereo depth on the rig's rendered pairs against its ground-truth depth."""

from __future__ import annotations

import numpy as np
import pytest

from affect_core.errors import ConfigError, InputError
from affect_core.params import load_params_file
from affect_core.sim.rig import RigConfig, SimRig
from affect_core.stereo import StereoConfig, StereoDepth
from affect_core.types import StereoFrame

from ..conftest import LAB_YAML


def _pairs(people: int = 2) -> list:
    return [f for f in SimRig(RigConfig(num_people=people)).frames(0.5) if f.stereo]


@pytest.mark.parametrize("algorithm", [0, 1], ids=["block_matching", "sgbm"])
def test_depth_at_the_face_is_within_a_centimetre(algorithm: int) -> None:
    shipped = load_params_file(LAB_YAML)["stereo_depth"]
    stereo = StereoDepth(StereoConfig.from_params({**shipped, "stereo_algorithm": algorithm}))
    errors = []
    valid = []
    for frame in _pairs():
        depth = stereo.compute(frame.stereo).data
        truth = frame.depth_truth.data
        face = truth < 2.0
        errors.append(np.abs(depth - truth)[face & np.isfinite(depth)])
        valid.append(np.isfinite(depth[face]).mean())
    error = np.concatenate(errors)
    assert np.median(error) < 0.01
    assert np.mean(valid) > 0.9


def test_invalid_disparity_is_nan_not_zero() -> None:
    frame = _pairs(1)[0].stereo
    blank = StereoFrame(frame.stamp_ns, np.zeros_like(frame.left), np.zeros_like(frame.right),
                        frame.left_camera, frame.right_camera)
    depth = StereoDepth(StereoConfig()).compute(blank).data
    assert np.isnan(depth).all()


def test_bad_pairs_and_parameters_fail_clearly() -> None:
    frame = _pairs(1)[0].stereo
    stereo = StereoDepth(StereoConfig())
    with pytest.raises(InputError, match="same size"):
        stereo.disparity(frame.left, frame.right[:, :-1])
    with pytest.raises(InputError, match="mono8"):
        stereo.disparity(frame.left.astype(np.uint16), frame.right.astype(np.uint16))
    with pytest.raises(ConfigError, match="multiple of 16"):
        StereoConfig.from_params({"disparity_range": 40})
