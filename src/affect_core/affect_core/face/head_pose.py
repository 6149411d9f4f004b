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


"""Head pose from named landmarks (PnP), refined with depth, and 3D landmarks from depth.

Pose: the rigid landmarks (eye corners, nose tip and alae, which no action unit of the
face model moves by more than a millimetre or so) are matched against the canonical face
``NEUTRAL_LANDMARKS_M`` with ``cv2.solvePnP`` (SQPnP, a global solver, so there is no
initial guess to go wrong). The rotation maps the head frame to the camera optical
frame, as ``affect_core.sim.face_model.rotation_matrix`` does, and is reported as a
quaternion (x, y, z, w) and as yaw (about y, down), pitch (about x) and roll (about z)
with R = R_yaw R_pitch R_roll, the rig's convention.

Depth refinement: from one camera, a large head far away looks like a small head near
by, so PnP's distance is off by the person's size against the canonical face (about
10 % here). With a registered depth frame the translation is slid along its viewing
ray until its depth matches the measured one: t_z = median_i(d_i - (R p_i)_z) over the
rigid landmarks with valid depth d_i, where p_i is the canonical point (a robust
estimate that ignores landmarks on holes or on the background). The rotation is kept
from PnP: stereo depth on a face is too coarse (a few mm of relief against a few mm of
noise) for a rigid 3D fit (Kabsch) to improve it.

Face shape: people's faces are wider or narrower than the canonical one, and PnP with a
rigid model explains a wider face by tilting it (a 10 % width mismatch costs about 6
degrees of pitch). ``fit_width_scale`` finds the horizontal scale of the canonical face
that best reprojects one frame's landmarks; one frame's estimate is noisy, so the
tracker keeps a running median per person and passes it as ``width_scale``.

3D landmarks are the landmark pixels back-projected at their own depth (the median of
the valid pixels of a 3x3 neighbourhood), NaN where the depth is invalid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.sim.face_model import LANDMARK_NAMES, NEUTRAL_LANDMARKS_M
from affect_core.types import NAN, CameraModel

RIGID_LANDMARKS: tuple[str, ...] = (
    "eye_r_outer", "eye_r_inner", "eye_l_inner", "eye_l_outer",
    "nose_tip", "nose_r_ala", "nose_l_ala",
)
RIGID_INDEX = np.array([LANDMARK_NAMES.index(n) for n in RIGID_LANDMARKS])
_MODEL_M = np.ascontiguousarray(NEUTRAL_LANDMARKS_M[RIGID_INDEX], dtype=np.float64)


@dataclass(frozen=True)
class HeadPose:
    """A head pose in the IR optical frame.

    ``rotation`` maps head-frame vectors to the optical frame; ``translation_m`` is the
    head origin (between the eyes); ``reprojection_px`` the RMS residual of the rigid
    landmarks; ``depth_refined`` whether depth set the distance.
    """

    rotation: npt.NDArray[np.float64]
    translation_m: npt.NDArray[np.float64]
    reprojection_px: float
    depth_refined: bool = False

    @property
    def quaternion_xyzw(self) -> tuple[float, float, float, float]:
        """Express the rotation as a unit quaternion (x, y, z, w), w >= 0."""
        return quaternion_from_matrix(self.rotation)

    @property
    def yaw_pitch_roll_deg(self) -> tuple[float, float, float]:
        """Yaw, pitch and roll in degrees in the rig's convention (R = R_y R_x R_z)."""
        return yaw_pitch_roll_deg(self.rotation)


def yaw_pitch_roll_deg(rotation: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    """Decompose R = R_yaw(y) R_pitch(x) R_roll(z) into degrees."""
    pitch = math.asin(float(np.clip(-rotation[1, 2], -1.0, 1.0)))
    yaw = math.atan2(float(rotation[0, 2]), float(rotation[2, 2]))
    roll = math.atan2(float(rotation[1, 0]), float(rotation[1, 1]))
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


def quaternion_from_matrix(
        rotation: npt.NDArray[np.float64]) -> tuple[float, float, float, float]:
    """Compute the unit quaternion (x, y, z, w) of a rotation matrix, via its rotation vector."""
    rvec, _ = cv2.Rodrigues(np.asarray(rotation, np.float64))
    angle = float(np.linalg.norm(rvec))
    if angle < 1e-12:
        return 0.0, 0.0, 0.0, 1.0
    axis = rvec.reshape(3) / angle
    s = math.sin(angle / 2.0)
    return float(axis[0] * s), float(axis[1] * s), float(axis[2] * s), math.cos(angle / 2.0)


def rotation_angle_deg(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    """Measure the angle in degrees of the rotation taking ``a`` to ``b`` (geodesic distance)."""
    cos = (float(np.trace(a.T @ b)) - 1.0) / 2.0
    return math.degrees(math.acos(float(np.clip(cos, -1.0, 1.0))))


def _camera_matrix(camera: CameraModel) -> npt.NDArray[np.float64]:
    return np.array([[camera.fx_px, 0.0, camera.cx_px], [0.0, camera.fy_px, camera.cy_px],
                     [0.0, 0.0, 1.0]])


def _rigid_points(points_px: npt.NDArray[np.float64]
                  ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]] | None:
    image = np.asarray(points_px, np.float64)[RIGID_INDEX]
    finite = np.isfinite(image).all(axis=1)
    if int(finite.sum()) < 4:
        return None
    return finite, np.ascontiguousarray(image[finite])


def _solve(model: npt.NDArray[np.float64], pixels: npt.NDArray[np.float64],
           matrix: npt.NDArray[np.float64]
           ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float] | None:
    """SQPnP: rotation, translation and RMS reprojection error, or None."""
    ok, rvec, tvec = cv2.solvePnP(model, pixels, matrix, None, flags=cv2.SOLVEPNP_SQPNP)
    if not ok or not np.isfinite(tvec).all() or float(tvec[2, 0]) <= 0.0:
        return None
    projected, _ = cv2.projectPoints(model, rvec, tvec, matrix, None)
    rms = float(np.sqrt(np.mean(np.sum((projected.reshape(-1, 2) - pixels) ** 2, axis=1))))
    rotation, _ = cv2.Rodrigues(rvec)
    return rotation, tvec.reshape(3).astype(np.float64), rms


def fit_width_scale(points_px: npt.NDArray[np.float64], camera: CameraModel,
                    low: float = 0.75, high: float = 1.35, steps: int = 12) -> float:
    """Find the horizontal scale of the canonical face that best reprojects these landmarks.

    Golden-section search of the RMS reprojection error over [low, high]; NaN when the
    landmarks do not allow PnP.
    """
    rigid = _rigid_points(points_px)
    if rigid is None:
        return NAN
    finite, pixels = rigid
    matrix = _camera_matrix(camera)

    def cost(scale: float) -> float:
        solved = _solve(_MODEL_M[finite] * np.array([scale, 1.0, 1.0]), pixels, matrix)
        return math.inf if solved is None else solved[2]

    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = low, high
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = cost(c), cost(d)
    for _ in range(steps):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = cost(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = cost(d)
    best = (a + b) / 2.0
    return best if math.isfinite(min(fc, fd)) else NAN


def estimate_head_pose(points_px: npt.NDArray[np.float64], camera: CameraModel,
                       depth_m: npt.NDArray[np.float32] | None = None,
                       width_scale: float = 1.0) -> HeadPose | None:
    """Head pose from (len(LANDMARK_NAMES), 2) landmark pixels, refined with ``depth_m``.

    ``depth_m`` is a depth image registered to the IR image (NaN or <= 0 where invalid);
    ``width_scale`` the person's face width against the canonical face (see
    fit_width_scale). None when fewer than four rigid landmarks are finite or PnP fails.
    """
    rigid = _rigid_points(points_px)
    if rigid is None:
        return None
    finite, pixels = rigid
    model = _MODEL_M[finite]
    if math.isfinite(width_scale) and width_scale != 1.0:
        model = model * np.array([width_scale, 1.0, 1.0])
    solved = _solve(model, pixels, _camera_matrix(camera))
    if solved is None:
        return None
    rotation, translation, rms = solved
    refined = False
    if depth_m is not None:
        depths = sample_depth(depth_m, pixels)
        valid = np.isfinite(depths)
        if valid.any():
            relief = (model @ rotation.T)[:, 2]
            z = float(np.median(depths[valid] - relief[valid]))
            if z > 0.0:
                translation = translation * (z / translation[2])
                refined = True
    return HeadPose(rotation, translation, rms, refined)


def sample_depth(depth_m: npt.NDArray[np.float32], points_px: npt.NDArray[np.float64]
                 ) -> npt.NDArray[np.float64]:
    """Depth at each pixel: the median of the valid depths of its 3x3 neighbourhood, or NaN."""
    height, width = depth_m.shape
    points = np.asarray(points_px, np.float64)
    finite = np.isfinite(points).all(axis=1)
    centre = np.zeros((len(points), 2), np.int64)
    centre[finite] = np.round(points[finite]).astype(np.int64)
    inside = finite & (centre[:, 0] >= 0) & (centre[:, 0] < width) & (centre[:, 1] >= 0) & (
        centre[:, 1] < height)
    offsets = np.array([(dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
    xs = centre[:, None, 0] + offsets[None, :, 0]
    ys = centre[:, None, 1] + offsets[None, :, 1]
    within = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
    values = depth_m[np.clip(ys, 0, height - 1), np.clip(xs, 0, width - 1)].astype(np.float64)
    values[~(within & np.isfinite(values) & (values > 0.0))] = np.inf
    values.sort(axis=1)
    count = np.sum(np.isfinite(values), axis=1)
    rows = np.arange(len(points))
    low = values[rows, np.maximum(count - 1, 0) // 2]
    high = values[rows, np.maximum(count, 1) // 2 - (count == 0)]
    result = (low + high) / 2.0
    result[(count == 0) | ~inside] = NAN
    return result


def landmarks_3d(points_px: npt.NDArray[np.float64], camera: CameraModel,
                 depth_m: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """(N, 3) landmarks in the optical frame from their pixels and depth.

    Rows are NaN where the depth is invalid or the landmark lies outside the image.
    """
    pixels = np.asarray(points_px, np.float64)
    z = sample_depth(depth_m, pixels)
    x = (pixels[:, 0] - camera.cx_px) * z / camera.fx_px
    y = (pixels[:, 1] - camera.cy_px) * z / camera.fy_px
    return np.stack([x, y, z], axis=1)


def project_model(pose: HeadPose, camera: CameraModel,
                  model_m: npt.NDArray[np.float64] = NEUTRAL_LANDMARKS_M
                  ) -> npt.NDArray[np.float64]:
    """Pixels of the canonical landmarks under ``pose`` (what the pose alone predicts)."""
    return camera.project(model_m @ pose.rotation.T + pose.translation_m)
