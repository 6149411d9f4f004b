"""Stereo depth on the rig's rendered pairs against its ground-truth depth."""

from __future__ import annotations

import subprocess
import sys

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


def test_a_distorted_pair_is_rectified_before_matching() -> None:
    import cv2

    from affect_core.calibration import Calibration
    from affect_core.stereo import Rectifier

    frame = _pairs(1)[0]
    ideal_left = Calibration.from_model(frame.stereo.left_camera, "left")
    ideal_right = Calibration.from_model(frame.stereo.right_camera, "right")
    distortion = (-0.2, 0.05, 0.0, 0.0, 0.0)
    # Make raw images as a lens with this distortion would record them.
    raw = []
    for image, calib in ((frame.stereo.left, ideal_left), (frame.stereo.right, ideal_right)):
        k = np.array(calib.k).reshape(3, 3)
        h, w = image.shape
        grid = np.stack(np.meshgrid(np.arange(w), np.arange(h)), -1).reshape(-1, 1, 2)
        undist = cv2.undistortPoints(grid.astype(np.float64), k, np.array(distortion), P=k)
        maps = undist.reshape(h, w, 2).astype(np.float32)
        raw.append(cv2.remap(image, maps[..., 0], maps[..., 1], cv2.INTER_LINEAR))
    from dataclasses import replace

    rectifier = Rectifier(replace(ideal_left, d=distortion), replace(ideal_right, d=distortion))
    assert rectifier.needed
    left, right = rectifier.rectify(*raw)
    def smooth(image: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(image.astype(np.float32), (0, 0), 2.0)[20:140, 20:220]

    # Towards the corner, where the lens bends the image most.
    error_raw = np.mean(np.abs(smooth(raw[0]) - smooth(frame.stereo.left)))
    error_rect = np.mean(np.abs(smooth(left) - smooth(frame.stereo.left)))
    assert error_rect < 0.5 * error_raw
    assert rectifier.right_camera.baseline_m == pytest.approx(0.05)


def test_depth_camera_images_become_metres_with_nan_for_no_reading() -> None:
    from affect_core.stereo import depth_to_metres
    from affect_core.types import ImageFrame

    mm = ImageFrame(5, "depth", "16UC1", np.array([[0, 1000], [1500, 65535]], np.uint16))
    metres = depth_to_metres(mm)
    assert metres.encoding == "32FC1" and np.isnan(metres.data[0, 0])
    assert metres.data[0, 1] == pytest.approx(1.0) and metres.data[1, 0] == pytest.approx(1.5)
    with pytest.raises(InputError, match="16UC1"):
        depth_to_metres(ImageFrame(5, "depth", "mono8", np.zeros((2, 2), np.uint8)))


def test_matching_only_face_regions_gives_the_whole_frame_depth_there() -> None:
    shipped = load_params_file(LAB_YAML)["stereo_depth"]
    stereo = StereoDepth(StereoConfig.from_params(shipped))
    rig = SimRig(RigConfig(num_people=2, stereo_rate_hz=120.0))
    for frame in [rig.step() for _ in range(6)]:
        boxes = [p.box_px for p in frame.people if p.visible_fraction > 0.9]
        assert boxes
        # Face regions as the tracker gives them, one reaching past the image's left edge.
        regions = [(x - w // 4, y - h // 4, w * 3 // 2, h * 3 // 2) for x, y, w, h in boxes]
        regions.append((-40, 0, 80, 60))
        whole = stereo.compute(frame.stereo).data
        parts = stereo.compute(frame.stereo, regions).data
        inside = np.zeros(whole.shape, bool)
        for x, y, w, h in regions:
            inside[max(y, 0):y + h, max(x, 0):x + w] = True
        assert np.isnan(parts[~inside]).all()
        both = inside & np.isfinite(whole)
        same = np.isclose(parts[both], whole[both], rtol=0.0, atol=1e-6)
        assert same.mean() > 0.99  # the speckle filter may differ at a crop's edge
        face = inside & (frame.depth_truth.data < 2.0)
        assert np.isfinite(parts[face]).mean() == pytest.approx(
            np.isfinite(whole[face]).mean(), abs=0.01)
    assert np.isnan(stereo.compute(frame.stereo, []).data).all()


# SGBM (3-way) crashed the process (OpenCV 4.6 and 5.0) on pairs no wider than its search
# range; found by the stereo fuzz target. Run apart, so a regression fails this test only.
_NARROW_PAIRS = """
import numpy as np
from affect_core.errors import InputError
from affect_core.stereo import StereoConfig, StereoDepth
from affect_core.types import CameraModel, StereoFrame

left_camera = CameraModel(64, 48, 50.0, 50.0, 32.0, 24.0, "left", 0.0)
right_camera = CameraModel(64, 48, 50.0, 50.0, 32.0, 24.0, "right", 0.05)
rng = np.random.default_rng(0)
refused = 0
for width, search, low in ((15, 16, -1), (16, 16, 1), (66, 64, 3), (47, 48, -5), (31, 32, -3)):
    config = StereoConfig.from_params({"stereo_algorithm": 1, "disparity_range": search,
                                       "min_disparity": low, "correlation_window_size": 5,
                                       "full_dp": False})
    left = rng.integers(0, 256, (20, width), dtype=np.uint8)
    try:
        StereoDepth(config).compute(StereoFrame(1, left, np.roll(left, 2, axis=1),
                                                left_camera, right_camera))
    except InputError as err:
        assert "too narrow" in str(err), err
        refused += 1
print(refused)
"""


def test_pairs_narrower_than_the_search_range_are_refused_not_a_crash() -> None:
    done = subprocess.run([sys.executable, "-c", _NARROW_PAIRS], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "5"
