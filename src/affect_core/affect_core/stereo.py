# Copyright 2026 affect maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Depth from a rectified stereo pair by semi-global matching (OpenCV).

Parameter names follow ROS 2 image_pipeline's stereo_image_proc, so a tuned
disparity_node configuration carries over. Depth is f * B / d in metres (32FC1); pixels
without a valid disparity are NaN, never 0, so downstream code cannot mistake "unknown"
for "touching the lens".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.calibration import Calibration
from affect_core.errors import ConfigError, InputError
from affect_core.params import ParamSpec, resolve
from affect_core.types import ImageFrame, StereoFrame

STEREO_LEFT_FRAME = "stereo_left_optical_frame"
STEREO_RIGHT_FRAME = "stereo_right_optical_frame"

PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("stereo_algorithm", 1, "0: block matching, 1: semi-global block matching", 0, 1),
    ParamSpec("prefilter_size", 9, "normalization window size in pixels (block matching)", 5, 255),
    ParamSpec("prefilter_cap", 31, "bound on normalized pixel values", 1, 63),
    ParamSpec("correlation_window_size", 7, "SAD correlation window width in pixels (odd)",
              1, 255),
    ParamSpec("min_disparity", 0, "smallest disparity searched, in pixels", -2048, 2048),
    ParamSpec("disparity_range", 64, "number of disparities searched (multiple of 16)",
              16, 1024),
    ParamSpec("texture_threshold", 10, "filter out low-texture areas (block matching)", 0, 10000),
    ParamSpec("speckle_size", 100, "reject disparity regions smaller than this (pixels)", 0, 1000),
    ParamSpec("speckle_range", 4, "max disparity variation within a connected component",
              0, 31),
    ParamSpec("disp12_max_diff", 1, "max left-right consistency difference in pixels", 0, 128),
    ParamSpec("uniqueness_ratio", 10.0, "margin in percent by which the best match must win",
              0.0, 100.0),
    ParamSpec("P1", 200.0, "SGBM penalty on disparity changes of +-1 between neighbours",
              0.0, 4000.0),
    ParamSpec("P2", 400.0, "SGBM penalty on larger disparity changes (greater than P1)",
              0.0, 4000.0),
    ParamSpec("full_dp", False, "run the full-scale two-pass dynamic programming SGBM"),
    ParamSpec("mode", "stereo",
              "stereo: match the left/right pair; passthrough: republish a depth camera's "
              "depth/image_raw (16UC1 mm or 32FC1 m) as metres",
              choices=("stereo", "passthrough")),
    ParamSpec("publish_disparity", False, "also publish stereo_msgs/DisparityImage"),
    ParamSpec("match_at_faces", True,
              "match only around the tracked faces (1.5 times their boxes; whole pairs while "
              "none is tracked): the tracker reads depth nowhere else, and a face costs a "
              "fraction of a pair; false matches whole pairs (a full depth image on rviz)"),
)


@dataclass(frozen=True)
class StereoConfig:
    """Validated stereo matching parameters (see PARAMS)."""

    stereo_algorithm: int = 1
    prefilter_size: int = 9
    prefilter_cap: int = 31
    correlation_window_size: int = 7
    min_disparity: int = 0
    disparity_range: int = 64
    texture_threshold: int = 10
    speckle_size: int = 100
    speckle_range: int = 4
    disp12_max_diff: int = 1
    uniqueness_ratio: float = 10.0
    P1: float = 200.0
    P2: float = 400.0
    full_dp: bool = False
    mode: str = "stereo"
    publish_disparity: bool = False
    match_at_faces: bool = True

    @classmethod
    def from_params(cls, given: Mapping[str, Any]) -> StereoConfig:
        """Build from a ``ros__parameters`` mapping, validating every value."""
        values = resolve(PARAMS, given, "stereo_depth")
        config = cls(**values)
        if config.disparity_range % 16:
            raise ConfigError(
                f"disparity_range must be a multiple of 16, got {config.disparity_range}")
        if config.correlation_window_size % 2 == 0:
            raise ConfigError("correlation_window_size must be odd, got "
                              f"{config.correlation_window_size}")
        if config.P2 <= config.P1:
            raise ConfigError(f"P2 ({config.P2}) must be greater than P1 ({config.P1})")
        return config

    @property
    def search_px(self) -> int:
        """Return the columns left of a pixel that its disparity search reads."""
        return max(self.min_disparity, 0) + self.disparity_range


class StereoDepth:
    """Computes depth (metres, NaN where unknown) in the left camera's frame."""

    def __init__(self, config: StereoConfig) -> None:
        self.config = config
        if config.stereo_algorithm == 0:
            matcher = cv2.StereoBM.create(config.disparity_range, config.correlation_window_size)
            matcher.setPreFilterSize(config.prefilter_size)
            matcher.setPreFilterCap(config.prefilter_cap)
            matcher.setTextureThreshold(config.texture_threshold)
            matcher.setMinDisparity(config.min_disparity)
            matcher.setUniquenessRatio(int(config.uniqueness_ratio))
            matcher.setSpeckleWindowSize(config.speckle_size)
            matcher.setSpeckleRange(config.speckle_range)
            matcher.setDisp12MaxDiff(config.disp12_max_diff)
            self._matcher: Any = matcher
        else:
            self._matcher = cv2.StereoSGBM.create(
                minDisparity=config.min_disparity,
                numDisparities=config.disparity_range,
                blockSize=config.correlation_window_size,
                P1=int(config.P1),
                P2=int(config.P2),
                disp12MaxDiff=config.disp12_max_diff,
                preFilterCap=config.prefilter_cap,
                uniquenessRatio=int(config.uniqueness_ratio),
                speckleWindowSize=config.speckle_size,
                speckleRange=config.speckle_range,
                mode=cv2.STEREO_SGBM_MODE_HH if config.full_dp else cv2.STEREO_SGBM_MODE_SGBM_3WAY,
            )

    def disparity(self, left: npt.NDArray[np.uint8], right: npt.NDArray[np.uint8],
                  regions_px: Sequence[tuple[int, int, int, int]] | None = None
                  ) -> npt.NDArray[np.float32]:
        """Disparity in pixels (float), NaN where matching failed or outside ``regions_px``.

        ``regions_px`` (x, y, w, h boxes in the left image) limits matching to those
        regions: where depth is used only at faces, matching a face costs a fraction of
        the frame. Matching is local (a correlation window and a search along the row),
        so each region is matched on a crop padded by the window and the search range
        and gives the disparity the whole frame would there, except where the speckle
        filter's blobs cross the crop's edge.
        """
        if regions_px is None:
            return self._match(left, right)
        if left.shape != right.shape or left.ndim != 2:
            raise InputError(f"stereo images must be single-channel and the same size, got "
                             f"{left.shape} and {right.shape}")
        disparity = np.full(left.shape, np.nan, np.float32)
        for x0, y0, x1, y1, cx0, cy0, cx1, cy1 in self._crops(left.shape, regions_px):
            crop = self._match(left[cy0:cy1, cx0:cx1], right[cy0:cy1, cx0:cx1])
            disparity[y0:y1, x0:x1] = crop[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
        return disparity

    def _match(self, left: npt.NDArray[np.uint8],
               right: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Match a whole pair (or crop): disparity in pixels, NaN where matching failed."""
        if left.shape != right.shape or left.ndim != 2:
            raise InputError(
                f"stereo images must be single-channel and the same size, got {left.shape} "
                f"and {right.shape}"
            )
        if left.dtype != np.uint8 or right.dtype != np.uint8:
            raise InputError(f"stereo images must be mono8, got {left.dtype} and {right.dtype}")
        if min(left.shape) <= self.config.correlation_window_size:
            raise InputError(f"stereo images of {left.shape[1]}x{left.shape[0]} px are too small "
                             f"for the {self.config.correlation_window_size} px correlation "
                             "window")
        search_px = self.config.search_px
        if left.shape[1] <= search_px:
            # No column has its whole search range inside the image; OpenCV's SGBM
            # crashes the process on such pairs (4.6 and 5.0) instead of raising.
            raise InputError(f"stereo images {left.shape[1]} px wide are too narrow for a "
                             f"search up to {search_px} px of disparity")
        try:
            raw = self._matcher.compute(left, right).astype(np.float32) / 16.0
        except cv2.error as err:  # sizes the matcher cannot search, e.g. narrower than its range
            raise InputError(f"stereo matching cannot run on {left.shape[1]}x{left.shape[0]} px "
                             f"images; {err.msg}") from err
        raw[raw <= max(self.config.min_disparity, 0) + 1e-3] = np.nan
        return raw

    def compute(self, frame: StereoFrame,
                regions_px: Sequence[tuple[int, int, int, int]] | None = None) -> ImageFrame:
        """Depth image (32FC1, metres) of the left view of ``frame``, NaN outside regions_px.

        See ``disparity`` for ``regions_px``.
        """
        return self.depth_from_disparity(
            frame, self.disparity(frame.left, frame.right, regions_px))

    def _crops(self, shape: tuple[int, ...], regions_px: Sequence[tuple[int, int, int, int]]
               ) -> list[tuple[int, ...]]:
        """Each region clipped to the image, with the padded crop it is matched on."""
        height, width = shape[:2]
        c = self.config
        pad = c.correlation_window_size + c.prefilter_size
        search = c.search_px
        crops = []
        for x, y, w, h in regions_px:
            x0, y0 = max(int(x), 0), max(int(y), 0)
            x1, y1 = min(int(x + w), width), min(int(y + h), height)
            if x1 <= x0 or y1 <= y0:
                continue
            cx0, cx1 = max(x0 - search - pad, 0), min(x1 + pad, width)
            cy0, cy1 = max(y0 - pad, 0), min(y1 + pad, height)
            # The matcher needs more columns than its search range and window.
            cx1 = min(max(cx1, cx0 + search + 2 * pad), width)
            crops.append((x0, y0, x1, y1, cx0, cy0, cx1, cy1))
        return crops

    @staticmethod
    def depth_from_disparity(frame: StereoFrame,
                             disparity: npt.NDArray[np.float32]) -> ImageFrame:
        """Depth f * B / d (metres, NaN where the disparity is) of ``frame``'s left view."""
        baseline_m = frame.right_camera.baseline_m
        if baseline_m <= 0.0:
            raise InputError("the right camera's baseline must be positive (CameraInfo P[3] = "
                             "-fx * baseline); check the stereo calibration")
        with np.errstate(divide="ignore", invalid="ignore"):
            depth = (frame.left_camera.fx_px * baseline_m / disparity).astype(np.float32)
        return ImageFrame(frame.stamp_ns, frame.left_camera.frame_id, "32FC1", depth)


class Rectifier:
    """Undistorts and rectifies a raw stereo pair with its two calibrations (cv2.remap).

    Already-rectified pairs (the simulated rig's, or image_proc's *_rect topics) pass
    through untouched.
    """

    def __init__(self, left: Calibration, right: Calibration) -> None:
        if (left.width_px, left.height_px) != (right.width_px, right.height_px):
            raise ConfigError("left and right calibrations have different image sizes")
        self.needed = not (left.is_rectified and right.is_rectified)
        self._left_maps = left.rectify_maps() if self.needed else None
        self._right_maps = right.rectify_maps() if self.needed else None
        self.left_camera = left.camera_model(STEREO_LEFT_FRAME)
        self.right_camera = right.camera_model(STEREO_RIGHT_FRAME)

    def rectify(self, left: npt.NDArray[np.uint8],
                right: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint8],
                                                       npt.NDArray[np.uint8]]:
        """Rectify the pair."""
        if self._left_maps is None or self._right_maps is None:
            return left, right
        return (cv2.remap(left, *self._left_maps, cv2.INTER_LINEAR),
                cv2.remap(right, *self._right_maps, cv2.INTER_LINEAR))


def regions_around(boxes_px: Sequence[tuple[int, int, int, int]], scale: float = 1.5
                   ) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) grown ``scale`` times about their centres: where to match."""
    regions = []
    for x, y, w, h in boxes_px:
        side_w, side_h = w * scale, h * scale
        regions.append((int(round(x + (w - side_w) / 2.0)), int(round(y + (h - side_h) / 2.0)),
                        max(int(round(side_w)), 1), max(int(round(side_h)), 1)))
    return regions


def depth_to_metres(frame: ImageFrame) -> ImageFrame:
    """Convert a depth camera's image to 32FC1 metres with NaN for no depth.

    16UC1 images are millimetres (the REP-118 convention), 0 meaning no reading; 32FC1
    images are metres already, where 0, negative and infinite values mean no reading.
    """
    expected = {"16UC1": np.uint16, "32FC1": np.float32}.get(frame.encoding)
    if expected is not None and frame.data.dtype != expected:
        raise InputError(f"depth image data is {frame.data.dtype}, not what its encoding "
                         f"{frame.encoding} says ({np.dtype(expected)})")
    if frame.encoding == "16UC1":
        depth = frame.data.astype(np.float32) * np.float32(0.001)
    elif frame.encoding == "32FC1":
        depth = frame.data.astype(np.float32, copy=True)
    else:
        raise InputError(f"depth images must be 16UC1 (mm) or 32FC1 (m), got {frame.encoding}")
    depth[~np.isfinite(depth) | (depth <= 0.0)] = np.nan
    return ImageFrame(frame.stamp_ns, frame.frame_id, "32FC1", depth)
