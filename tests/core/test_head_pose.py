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


"""Head pose and 3D landmarks against the rig's truth (landmarks, rotation, position)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from affect_core.face.head_pose import (
    estimate_head_pose,
    fit_width_scale,
    landmarks_3d,
    quaternion_from_matrix,
    rotation_angle_deg,
    yaw_pitch_roll_deg,
)
from affect_core.sim.face_model import LANDMARK_NAMES, rotation_matrix
from affect_core.sim.rig import RigConfig, SimRig


def _rig() -> SimRig:
    return SimRig(RigConfig(num_people=2, preset="heterogeneous", seed=3, stereo_rate_hz=120.0,
                            factors=(("enter_leave", "off"), ("occlusion_rate_hz", 0.0))))


def test_angles_and_quaternion_follow_the_rig_convention() -> None:
    for yaw, pitch, roll in ((20.0, -10.0, 5.0), (-35.0, 15.0, -8.0), (0.0, 0.0, 0.0)):
        rotation = rotation_matrix(*np.radians([yaw, pitch, roll]))
        assert yaw_pitch_roll_deg(rotation) == pytest.approx((yaw, pitch, roll), abs=1e-9)
        x, y, z, w = quaternion_from_matrix(rotation)
        # Rotation matrix of the quaternion, written out.
        q = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                      [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                      [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
        np.testing.assert_allclose(q, rotation, atol=1e-9)


def test_pose_from_noisy_truth_landmarks_is_within_a_few_degrees() -> None:
    rig = _rig()
    rng = np.random.default_rng(0)
    frames = [(p, p.landmarks_px + rng.normal(0.0, 0.5, p.landmarks_px.shape))
              for f in rig.frames(1.5) for p in f.people]
    # The per-person face width, as the tracker estimates it: a median over frames.
    scale = {tid: float(np.median([fit_width_scale(pts, rig.ir_camera)
                                   for p, pts in frames if p.truth_id == tid][::4]))
             for tid in ("sim0", "sim1")}
    # The fitted widths rank as the people's true face widths do.
    widths = {f"sim{p.index}": p.identity.width_ratio for p in rig._people}
    assert all(0.8 < v < 1.2 for v in scale.values())
    assert (scale["sim0"] < scale["sim1"]) == (widths["sim0"] < widths["sim1"])
    errors, errors_canonical, angle_errors = [], [], []
    for person, points in frames:
        pose = estimate_head_pose(points, rig.ir_camera, width_scale=scale[person.truth_id])
        canonical = estimate_head_pose(points, rig.ir_camera)
        assert pose is not None and canonical is not None
        errors.append(rotation_angle_deg(pose.rotation, person.rotation))
        errors_canonical.append(rotation_angle_deg(canonical.rotation, person.rotation))
        angle_errors.append(np.abs(np.subtract(pose.yaw_pitch_roll_deg,
                                               person.yaw_pitch_roll_deg)))
    # Heads turn by up to 25 degrees here; faces are about 35 px between the eyes. The
    # people's faces differ from the canonical one in length and nose depth too, which a
    # width scale does not capture: those set the floor of these errors.
    assert float(np.median(errors)) < 4.5
    assert float(np.percentile(errors, 90)) < 9.0
    assert float(np.median(errors)) < 0.75 * float(np.median(errors_canonical))
    assert (np.median(angle_errors, axis=0) < np.array([3.5, 2.5, 1.0])).all()


def test_depth_refinement_cuts_the_distance_error() -> None:
    rig = _rig()
    rng = np.random.default_rng(1)
    plain, refined = [], []
    for frame in rig.frames(0.5):
        assert frame.depth_truth is not None
        for person in frame.people:
            points = person.landmarks_px + rng.normal(0.0, 0.5, person.landmarks_px.shape)
            a = estimate_head_pose(points, rig.ir_camera)
            b = estimate_head_pose(points, rig.ir_camera, frame.depth_truth.data)
            assert a is not None and b is not None and b.depth_refined
            plain.append(float(np.linalg.norm(a.translation_m - person.position_m)))
            refined.append(float(np.linalg.norm(b.translation_m - person.position_m)))
    # Without depth the distance is off by the face's size against the canonical one.
    assert float(np.median(plain)) > 0.03
    assert float(np.median(refined)) < 0.012
    assert float(np.median(refined)) < 0.25 * float(np.median(plain))


def test_3d_landmarks_come_from_depth_and_are_nan_where_it_is_invalid() -> None:
    rig = _rig()
    frame = next(iter(rig.frames(1.0 / 120.0)))
    assert frame.depth_truth is not None
    depth = frame.depth_truth.data.copy()
    person = frame.people[0]
    points = landmarks_3d(person.landmarks_px, rig.ir_camera, depth)
    # Depth is the rendered surface: the landmarks' true depth, to within the surface's
    # change over the pixels the lookup spans. Chin and jaw points sit on the silhouette,
    # where the lookup also reaches the neck behind.
    visible = np.isfinite(points[:, 2])
    assert visible.mean() > 0.9
    error_m = np.abs(points[:, 2] - person.landmarks_m[:, 2])
    edge = [LANDMARK_NAMES.index(name) for name in ("chin", "jaw_r", "jaw_l")]
    inner = visible & ~np.isin(np.arange(len(points)), edge)
    assert np.median(error_m[inner]) < 0.003 and error_m[inner].max() < 0.01
    reprojected = rig.ir_camera.project(points)
    np.testing.assert_allclose(reprojected[visible], person.landmarks_px[visible], atol=1e-6)
    x, y = (int(round(v)) for v in person.landmarks_px[14])  # nose tip
    depth[y - 1:y + 2, x - 1:x + 2] = np.nan
    holed = landmarks_3d(person.landmarks_px, rig.ir_camera, depth)
    assert np.isnan(holed[14]).all()
    assert np.isfinite(holed[visible & (np.arange(len(holed)) != 14)]).all()


def test_too_few_landmarks_give_no_pose() -> None:
    rig = _rig()
    person = next(iter(rig.frames(1.0 / 120.0))).people[0]
    points = person.landmarks_px.copy()
    points[[6, 8, 10, 12]] = np.nan  # all eye corners
    assert estimate_head_pose(points, rig.ir_camera) is None
    assert math.isnan(fit_width_scale(points, rig.ir_camera))
