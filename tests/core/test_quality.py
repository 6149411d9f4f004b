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


"""Quality evidence against closed forms and against the rig's truth."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from affect_core.face import quality
from affect_core.face.head_pose import estimate_head_pose, project_model
from affect_core.sim.expressions import action_units
from affect_core.sim.face_model import (
    NEUTRAL_LANDMARKS_M,
    expressive_landmarks_m,
    landmark_index,
    rotation_matrix,
    sample_identity,
)
from affect_core.sim.rig import RigConfig, SimRig
from affect_core.face.tracker import square_crop

EYES = (landmark_index("eye_r_outer"), landmark_index("eye_r_inner"),
        landmark_index("eye_l_inner"), landmark_index("eye_l_outer"))


def test_pose_stability_falls_with_angular_speed_and_jitter() -> None:
    assert quality.pose_stability_from_pose(0.0, 0.0) == 1.0
    assert quality.pose_stability_from_pose(30.0, 0.0) == pytest.approx(math.exp(-1.0))
    assert quality.pose_stability_from_pose(0.0, 8.0) == pytest.approx(math.exp(-1.0))
    assert quality.pose_stability_from_pose(30.0, 8.0) == pytest.approx(math.exp(-2.0))


def test_lighting_scores_saturation_contrast_and_its_change() -> None:
    rng = np.random.default_rng(0)
    face = np.clip(rng.normal(0.4, 0.08, (40, 40)), 0, 1).astype(np.float32)  # contrast 0.2
    median, contrast = float(np.median(face)), quality.rms_contrast(face)
    assert contrast == pytest.approx(0.2, abs=0.01)
    assert quality.lighting_consistency(face, median, contrast) == pytest.approx(1.0)
    assert quality.lighting_consistency(face, median * 1.15, contrast) == pytest.approx(
        math.exp(-1.0 / 1.15), rel=0.01)  # a 15 % light change
    saturated = face.copy()
    saturated[:8] = 1.0  # 20 % of the pixels at full scale
    assert quality.lighting_consistency(saturated, 0.4) == 0.0
    flat = np.full((40, 40), 0.4, np.float32) + rng.normal(0, 0.008, (40, 40)).astype(
        np.float32)  # contrast 0.02: washed out
    assert quality.lighting_consistency(flat, 0.4) == pytest.approx(0.4, abs=0.05)
    # Contrast halved against its running value: exp(-0.5 / 0.25).
    assert quality.lighting_consistency(face, median, 2 * contrast) == pytest.approx(
        math.exp(-2.0), rel=0.01)


def test_sharpness_falls_with_blur_and_noise_alone_does_not_look_sharp() -> None:
    rig = SimRig(RigConfig(stereo_rate_hz=0.0))
    frame = rig.step()
    crop = square_crop(frame.ir.data, frame.people[0].box_px, 1.2, 64).astype(np.float32)
    scores = [quality.sharpness(cv2.GaussianBlur(crop, (0, 0), sigma) if sigma else crop)
              for sigma in (0.0, 1.0, 2.0, 4.0)]
    assert all(a > b for a, b in zip(scores, scores[1:]))
    rng = np.random.default_rng(1)
    noise = (20000.0 + rng.normal(0.0, 500.0, (64, 64))).astype(np.float32)
    assert quality.sharpness(noise) < 0.1
    assert quality.sharpness(np.full((64, 64), 7.0, np.float32)) == 0.0


def test_view_change_explains_a_head_turn_but_not_an_expression() -> None:
    camera = SimRig(RigConfig()).ir_camera
    identity = sample_identity(np.random.default_rng(0), 0, "high_reflectance")
    position = np.array([0.0, 0.0, 1.0])

    def pixels(aus: dict[str, float], yaw_deg: float) -> np.ndarray:
        head = expressive_landmarks_m(identity, aus)
        return camera.project(head @ rotation_matrix(math.radians(yaw_deg), 0, 0).T + position)

    def explained(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
        pose_a, pose_b = estimate_head_pose(a, camera), estimate_head_pose(b, camera)
        assert pose_a is not None and pose_b is not None
        apparent = quality.shape_change(quality.normalised_shape(a, EYES),
                                        quality.normalised_shape(b, EYES))
        predicted = quality.shape_change(
            quality.normalised_shape(project_model(pose_a, camera, NEUTRAL_LANDMARKS_M), EYES),
            quality.normalised_shape(project_model(pose_b, camera, NEUTRAL_LANDMARKS_M), EYES))
        return apparent, quality.view_explained_change(apparent, predicted)

    turn_apparent, turn_explained = explained(pixels({}, 0.0), pixels({}, 15.0))
    smile_apparent, smile_explained = explained(pixels({}, 0.0),
                                                pixels(action_units("happy", 1.0), 0.0))
    assert turn_explained > 0.7 * turn_apparent  # the turn is mostly a view change
    assert smile_explained < 0.2 * smile_apparent  # the smile is not
    assert quality.depth_consistency(1.0, 1.0, 1.0, turn_explained) < quality.depth_consistency(
        1.0, 1.0, 1.0, smile_explained)
    assert quality.depth_consistency(0.5, 1.0, 1.05, 0.0) == pytest.approx(0.5 * math.exp(-1))
