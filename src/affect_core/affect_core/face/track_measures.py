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


"""What the face tracker measures on each face over time: lighting, motion, pose, shape.

Each function reads and updates one track's running state (affect_core.face
.track_state.Track): the slow lighting reference, the box's speed over 250 ms, the head
pose with its angular speed and jitter, and how much of the face's shape change the
change of viewing angle explains.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from affect_core.face import quality
from affect_core.face.head_pose import (
    HeadPose,
    estimate_head_pose,
    fit_width_scale,
    project_model,
    rotation_angle_deg,
)
from affect_core.face.track_state import (
    EYE_CORNERS,
    POSE_LAG_NS,
    SHAPE_LAG_NS,
    WIDTH_SAMPLES,
    Track,
)
from affect_core.sim.face_model import NEUTRAL_LANDMARKS_M
from affect_core.types import NAN, CameraModel


def lighting_score(track: Track, inner: npt.NDArray[np.float32]) -> float:
    if inner.size == 0:
        return 0.0
    median = float(np.median(inner[::2, ::2]))
    contrast = quality.rms_contrast(inner)
    if not math.isfinite(track.slow_level):
        track.slow_level, track.slow_contrast = median, contrast
    score = quality.lighting_consistency(inner, track.slow_level, track.slow_contrast,
                                         median)
    track.slow_level += 0.02 * (median - track.slow_level)
    track.slow_contrast += 0.02 * (contrast - track.slow_contrast)
    return score


def update_box_speed(track: Track, stamp_ns: int, cx: float, cy: float, w: float) -> None:
    """Update the face's speed in widths per second, over a 250 ms baseline.

    Measured on the smoothed box: frame-to-frame differences of raw detector boxes
    are mostly the detector's own jitter (a few pixels between a whole-frame and a
    local pass), which at 120 fps would read as a fast-moving head.
    """
    track.boxes.append((stamp_ns, cx, cy, w))
    while len(track.boxes) > 1 and stamp_ns - track.boxes[1][0] >= POSE_LAG_NS:
        track.boxes.popleft()
    then_ns, then_cx, then_cy, then_w = track.boxes[0]
    if then_ns >= stamp_ns:
        return
    baseline_s = (stamp_ns - then_ns) * 1e-9
    move = math.hypot(cx - then_cx, cy - then_cy) + abs(w - then_w)
    track.speed = move / max(then_w, 1.0) / baseline_s


def update_pose(track: Track, camera: CameraModel, raw: npt.NDArray[np.float64],
                smooth: npt.NDArray[np.float64], depth_m: npt.NDArray[np.float32] | None,
                full: bool, stamp_ns: int, dt_s: float) -> HeadPose | None:
    """Head pose from the smoothed landmarks; updates angular speed and jitter."""
    # Face-width estimates and the raw pose (for jitter) cost a dozen and one PnP
    # solves: they are taken on detection frames only, and the width only until its
    # median has settled, then now and again.
    if full:
        track.full_frames += 1
        if len(track.width_scales) < WIDTH_SAMPLES or track.full_frames % 8 == 0:
            scale = fit_width_scale(raw, camera, steps=10)
            if math.isfinite(scale):
                track.width_scales.append(scale)
                track.width_scale = float(np.median(track.width_scales))
    pose = estimate_head_pose(smooth, camera, depth_m, track.width_scale)
    if pose is None:
        return None
    # Angular speed over a 250 ms baseline: frame-to-frame differences of a pose
    # from landmarks a pixel apart are mostly noise.
    track.rotations.append((stamp_ns, pose.rotation))
    while len(track.rotations) > 1 and stamp_ns - track.rotations[1][0] >= POSE_LAG_NS:
        track.rotations.popleft()
    then_ns, then_rotation = track.rotations[0]
    if then_ns < stamp_ns and dt_s > 0.0:
        alpha = min(dt_s / 0.05, 1.0)
        baseline_s = (stamp_ns - then_ns) * 1e-9
        speed = rotation_angle_deg(then_rotation, pose.rotation) / baseline_s
        track.angular_speed_deg_s += alpha * (speed - track.angular_speed_deg_s)
    if full:
        raw_pose = estimate_head_pose(raw, camera, None, track.width_scale)
        if raw_pose is not None:
            jitter = rotation_angle_deg(raw_pose.rotation, pose.rotation)
            alpha = 0.25 if track.rotation is not None else 1.0
            track.jitter_sq_deg += alpha * (jitter * jitter - track.jitter_sq_deg)
    track.rotation = pose.rotation
    return pose


def shape_change_explained(track: Track, camera: CameraModel | None, stamp_ns: int,
                           landmarks_px: npt.NDArray[np.float32],
                           pose: HeadPose | None) -> float:
    """Shape change over the last 100 ms that the change of viewing angle explains."""
    if pose is None or camera is None or len(landmarks_px) == 0:
        track.shapes.clear()
        return NAN
    shape = quality.normalised_shape(landmarks_px.astype(np.float64), EYE_CORNERS)
    track.shapes.append((stamp_ns, shape, pose))
    while len(track.shapes) > 1 and stamp_ns - track.shapes[1][0] >= SHAPE_LAG_NS:
        track.shapes.popleft()
    then_ns, then_shape, then_pose = track.shapes[0]
    if then_ns == stamp_ns:
        return 0.0
    model = NEUTRAL_LANDMARKS_M * np.array([track.width_scale, 1.0, 1.0])
    predicted = quality.shape_change(
        quality.normalised_shape(project_model(pose, camera, model), EYE_CORNERS),
        quality.normalised_shape(project_model(then_pose, camera, model),
                                 EYE_CORNERS))
    apparent = quality.shape_change(shape, then_shape)
    return quality.view_explained_change(apparent, predicted)
