"""Fuzz stereo matching and depth-camera conversion with the pairs a recording can hold.

Invariants: a stereo pair of any size, type or channel count, under any valid matcher
settings, gives a 32FC1 depth image of the left view's size whose readings are positive
metres or NaN, or an InputError (counted by the pipeline): never an OpenCV error. A
depth camera's image of any encoding and values gives metres with NaN for no reading,
or an InputError.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from affect_core.errors import InputError
from affect_core.stereo import StereoConfig, StereoDepth, depth_to_metres
from affect_core.types import CameraModel, ImageFrame, StereoFrame

from tests.fuzzing import fuzz_target

_LEFT = CameraModel(64, 48, 50.0, 50.0, 32.0, 24.0, "left", 0.0)


@st.composite
def stereo_configs(draw: st.DrawFn) -> StereoConfig:
    """Draw valid matcher settings (the cross-checks of from_params hold)."""
    params = {
        "stereo_algorithm": draw(st.integers(0, 1)),
        "disparity_range": 16 * draw(st.integers(1, 4)),
        "correlation_window_size": 2 * draw(st.integers(0, 7)) + 1,
        "min_disparity": draw(st.integers(-8, 8)),
        "prefilter_size": 2 * draw(st.integers(2, 10)) + 1,
        "full_dp": draw(st.booleans()),
    }
    return StereoConfig.from_params(params)


@st.composite
def pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Draw a pair: mostly matching mono8 images of any size, some of another kind."""
    shape = draw(st.tuples(st.integers(0, 40), st.integers(0, 90)))
    left = draw(hnp.arrays(np.uint8, shape, elements=st.integers(0, 255)))
    if draw(st.integers(0, 4)) == 0:
        other = draw(st.sampled_from(["uint16", "colour", "shape"]))
        if other == "uint16":
            return left, left.astype(np.uint16)
        if other == "colour":
            return np.dstack([left] * 3), np.dstack([left] * 3)
        return left, left[:-1]
    return left, np.roll(left, draw(st.integers(0, 5)), axis=1) if left.size else left


@fuzz_target(short=60, long=1_500)
@given(stereo_configs(), pairs(), st.sampled_from([0.05, 0.0, -0.1]))
def test_any_pair_gives_depth_in_metres_or_an_input_error(
        config: StereoConfig, pair: tuple[np.ndarray, np.ndarray], baseline_m: float) -> None:
    left, right = pair
    right_camera = CameraModel(64, 48, 50.0, 50.0, 32.0, 24.0, "right", baseline_m)
    try:
        depth = StereoDepth(config).compute(StereoFrame(1, left, right, _LEFT, right_camera))
    except InputError as err:
        assert str(err)
        return
    assert depth.encoding == "32FC1" and depth.data.dtype == np.float32
    assert depth.data.shape == left.shape
    readings = depth.data[np.isfinite(depth.data)]
    assert np.all(readings > 0.0)


@fuzz_target(short=60, long=2_000)
@given(st.sampled_from(["16UC1", "32FC1", "mono16", "32FC2", ""]),
       hnp.arrays(st.sampled_from([np.uint16, np.float32, np.float64, np.uint8]),
                  hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6)))
def test_any_depth_image_becomes_metres_or_an_input_error(encoding: str,
                                                          data: np.ndarray) -> None:
    try:
        depth = depth_to_metres(ImageFrame(1, "depth", encoding, data))
    except InputError as err:
        assert str(err)
        return
    assert depth.encoding == "32FC1" and depth.data.dtype == np.float32
    assert depth.data.shape == data.shape
    readings = depth.data[~np.isnan(depth.data)]
    assert np.all(np.isfinite(readings)) and np.all(readings > 0.0)


def test_a_pair_smaller_than_the_matcher_needs_is_an_input_error() -> None:
    # Found by the pair target: OpenCV raised cv2.error (or "Insufficient memory") on
    # pairs narrower than the disparity range or smaller than the window.
    for algorithm in (0, 1):
        stereo = StereoDepth(StereoConfig.from_params({"stereo_algorithm": algorithm}))
        for shape in ((0, 0), (1, 1), (5, 3), (20, 20)):
            image = np.zeros(shape, np.uint8)
            right = CameraModel(64, 48, 50.0, 50.0, 32.0, 24.0, "right", 0.05)
            try:
                stereo.compute(StereoFrame(1, image, image, _LEFT, right))
            except InputError as err:
                assert "px" in str(err)
            else:
                assert shape == (20, 20) and algorithm == 0
