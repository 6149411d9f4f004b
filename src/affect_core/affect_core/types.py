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

"""Typed data passed between the stages.

Stamps are integer nanoseconds of the sensor clock (``*_ns``), as in ROS 2, so no stage
ever compares seconds with milliseconds. Images are numpy arrays with an explicit ROS
encoding name. NaN means "not available" (no depth, no valence head) and is never
replaced by a made-up number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

NAN = float("nan")

ENCODING_DTYPES: dict[str, type[np.generic]] = {
    "mono16": np.uint16,
    "mono8": np.uint8,
    "32FC1": np.float32,
    "16UC1": np.uint16,
}


@dataclass(frozen=True)
class CameraModel:
    """Pinhole intrinsics (rectified) of one camera, as in sensor_msgs/CameraInfo.

    ``baseline_m`` is the stereo baseline for the right camera of a pair (0 otherwise).
    """

    width_px: int
    height_px: int
    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float
    frame_id: str
    baseline_m: float = 0.0

    def project(self, points_m: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Project (N, 3) points in the optical frame to (N, 2) pixel coordinates."""
        z = points_m[:, 2]
        u = self.fx_px * points_m[:, 0] / z + self.cx_px
        v = self.fy_px * points_m[:, 1] / z + self.cy_px
        return np.stack([u, v], axis=1)

    def back_project(self, u_px: float, v_px: float, depth_m: float) -> tuple[float, float, float]:
        """Return the 3D point (x, y, z) in metres of pixel (u, v) at depth ``depth_m``."""
        return (
            (u_px - self.cx_px) * depth_m / self.fx_px,
            (v_px - self.cy_px) * depth_m / self.fy_px,
            depth_m,
        )


@dataclass
class ImageFrame:
    """One image with its stamp, frame and ROS encoding (mono16, mono8 or 32FC1)."""

    stamp_ns: int
    frame_id: str
    encoding: str
    data: npt.NDArray[np.generic]


@dataclass
class StereoFrame:
    """A rectified stereo pair (8-bit) taken at one instant."""

    stamp_ns: int
    left: npt.NDArray[np.uint8]
    right: npt.NDArray[np.uint8]
    left_camera: CameraModel
    right_camera: CameraModel


@dataclass(frozen=True)
class FrameQuality:
    """Capture-quality evidence of one face in one frame, each in [0, 1], 1 = best.

    ``depth_consistency`` is NaN when no depth frame was associated.
    """

    pose_stability: float
    lighting_consistency: float
    depth_consistency: float
    sharpness: float


@dataclass(frozen=True)
class EyeState:
    """Eye features of one face in one frame; definitions in affect_core.face.eyes.

    Openness is in [0, 1] against the person's open-eye reference; ``blink`` is true on
    the frame where a blink ends; every feature has its own confidence in [0, 1] and is
    NaN (confidence 0) where it cannot be measured.
    """

    openness: float = NAN
    openness_confidence: float = 0.0
    blink: bool = False
    blink_rate_per_min: float = NAN
    blink_rate_confidence: float = 0.0
    pupil_diameter_px: float = NAN
    pupil_diameter_mm: float = NAN
    pupil_confidence: float = 0.0


@dataclass
class FaceObservation:
    """One face in one IR frame: box, position, quality and the crop for the model."""

    stamp_ns: int
    person_id: str
    box_px: tuple[int, int, int, int]  # x, y, width, height
    head_position_m: tuple[float, float, float]
    quality: FrameQuality
    crop: npt.NDArray[np.generic]
    crop_encoding: str
    landmarks_px: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 2), np.float32)
    )
    head_orientation_xyzw: tuple[float, float, float, float] = (NAN, NAN, NAN, NAN)
    # Landmarks (affect_core.sim.face_model.LANDMARK_NAMES order) back-projected with
    # depth, (N, 3) metres in the optical frame, NaN rows where depth is invalid; empty
    # without landmarks or depth.
    landmarks_m: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.zeros((0, 3), np.float64)
    )
    eyes: EyeState = field(default_factory=EyeState)


@dataclass
class FaceFrame:
    """All faces found in one IR frame (an empty list means none were found)."""

    stamp_ns: int
    frame_id: str
    faces: list[FaceObservation]
    depth_associated: bool


@dataclass
class FaceWindow:
    """One person's observations over [start_ns, end_ns), with K sampled for the model."""

    person_id: str
    frame_id: str
    start_ns: int
    end_ns: int
    frames_used: int
    frames_expected: int
    samples: list[FaceObservation]
    pose_stability: float
    lighting_consistency: float
    depth_consistency: float
    head_position_m: tuple[float, float, float]
    # Every frame of the window, not only the samples: stamps and quality evidence.
    frame_stamps_ns: tuple[int, ...] = ()
    frame_quality: tuple[FrameQuality, ...] = ()
    sharpness: float = NAN  # mean over the window's frames, like the three scores above


@dataclass
class WindowPrediction:
    """The model's per-sample output for one window, before fusion.

    ``probabilities`` has shape (K, C) with rows summing to 1; ``valence`` and
    ``arousal`` have shape (K,) and are NaN without a valence/arousal head.
    ``attention`` has shape (K, H, W): each sample's attention map over its face crop
    (attention rollout, on the model's patch grid), or None when the model exports none.
    ``domain_distance`` has shape (K,): each sample's distance from the model's training
    data in units of its threshold (above 1: out of domain), or None without a domain model.
    """

    window: FaceWindow
    labels: tuple[str, ...]
    probabilities: npt.NDArray[np.float64]
    valence: npt.NDArray[np.float64]
    arousal: npt.NDArray[np.float64]
    model_id: str
    attention: npt.NDArray[np.float32] | None = None
    domain_distance: npt.NDArray[np.float64] | None = None


@dataclass
class Emotion:
    """The fused estimate for one person and window: the Emotion message's content."""

    stamp_ns: int
    frame_id: str
    person_id: str
    window_start_ns: int
    labels: tuple[str, ...]
    probabilities: tuple[float, ...]
    expression: str
    valence: float
    arousal: float
    confidence: float
    abstained: bool
    pose_stability: float
    lighting_consistency: float
    depth_consistency: float
    frames_used: int
    frames_expected: int
    head_position_m: tuple[float, float, float]
    model_id: str
    # The label the estimate points to, also when it abstains (for evaluation and rviz).
    candidate: str = ""
    # Why it abstained (affect_core.fusion.ABSTAIN_REASONS), "" when it did not.
    abstain_reason: str = ""
    # Median distance of the window's crops from the model's training data, in units of
    # the model's threshold (above 1: out of domain); NaN when the model has no domain model.
    domain_distance: float = NAN
