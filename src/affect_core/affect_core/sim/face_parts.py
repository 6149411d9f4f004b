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

"""The parts of a face that are not plain skin: eyes, lashes, mouth, folds and glasses.

Eyes sit behind the lid openings and look at the camera: sclera, iris, a pupil that is
dark, or bright when the illuminator is within ~2 degrees of the lens axis as seen from
the eye (retro-reflection), and a specular corneal glint. Lashes are thin dark lines
along the lid margins wherever the lids are. Behind the lips: a dark mouth with upper
and lower teeth. Folds (nasolabial, frown, forehead, nose) darken the skin as the action
units that make them grow. Glasses add rims, temples and lens glare. Each
works on points of the face in the head frame (what affect_core.sim.face_render
interpolates per pixel) so it moves with the face.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.sim.face_geometry import EYE_L, EYE_R, face_mesh
from affect_core.sim.face_model import landmark_index
from affect_core.sim.render import HeadState
from affect_core.types import CameraModel

BRIGHT_PUPIL_MAX_DEG = 2.0  # illuminator within this angle of the lens: retro-reflection
EYEBALL_RADIUS_M = 0.012
IRIS_RADIUS_M = 0.006
PUPIL_RADIUS_M = 0.0022  # at pupil_scale 1
SCLERA_ALBEDO = 0.85


# Skin folds each action unit deepens: (segments between named landmarks, each end moved
# by an offset in metres in the head frame), darkness at intensity 1, half-width in metres.
_CREASES: dict[str, tuple[tuple[tuple[str, tuple[float, float], str, tuple[float, float]],
                                ...], float, float]] = {
    # Nasolabial folds: from beside the nose's wings to beside the mouth's corners.
    "AU12": ((("nose_r_ala", (-0.006, -0.002), "mouth_r_corner", (-0.006, 0.004)),
              ("nose_l_ala", (0.006, -0.002), "mouth_l_corner", (0.006, 0.004))), 0.4, 0.0011),
    "AU9": ((("nose_r_ala", (-0.005, -0.003), "mouth_r_corner", (-0.004, 0.0)),
             ("nose_l_ala", (0.005, -0.003), "mouth_l_corner", (0.004, 0.0)),
             ("eye_r_inner", (0.004, 0.006), "eye_l_inner", (-0.004, 0.006)),
             ("eye_r_inner", (0.005, 0.011), "eye_l_inner", (-0.005, 0.011))), 0.45, 0.0009),
    # Frown lines between the brows.
    "AU4": ((("brow_r_inner", (0.004, -0.004), "brow_r_inner", (0.005, 0.008)),
             ("brow_l_inner", (-0.004, -0.004), "brow_l_inner", (-0.005, 0.008))), 0.45, 0.0008),
    # Horizontal forehead lines.
    "AU1": ((("brow_r_mid", (0.0, -0.012), "brow_l_mid", (0.0, -0.012)),
             ("brow_r_mid", (0.0, -0.02), "brow_l_mid", (0.0, -0.02))), 0.3, 0.0008),
    "AU2": ((("brow_r_outer", (0.0, -0.016), "brow_l_outer", (0.0, -0.016)),), 0.25, 0.0008),
}


def creases(head: HeadState, xyz_head: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Albedo factor of the skin's folds at the given face points (1 where none)."""
    factor = np.ones(len(xyz_head), np.float32)
    landmarks = head.landmarks_head_m
    s = head.identity.scale
    for au, (segments, darkness, half_width_m) in _CREASES.items():
        strength = min(max(head.action_units.get(au, 0.0), 0.0), 1.0) * darkness
        if strength <= 0.0:
            continue
        for start, start_off, end, end_off in segments:
            a = landmarks[landmark_index(start), :2] + np.array(start_off) * s
            b = landmarks[landmark_index(end), :2] + np.array(end_off) * s
            ab = b - a
            reach = 4.0 * half_width_m * s
            lo, hi = np.minimum(a, b) - reach, np.maximum(a, b) + reach
            near = np.flatnonzero((xyz_head[:, 0] > lo[0]) & (xyz_head[:, 0] < hi[0])
                                  & (xyz_head[:, 1] > lo[1]) & (xyz_head[:, 1] < hi[1]))
            xy = xyz_head[near, :2]
            t = np.clip(((xy - a) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
            d = np.linalg.norm(xy - (a + t[:, None] * ab), axis=1)
            # Folds fade towards their ends.
            line = np.exp(-0.5 * (d / (half_width_m * s)) ** 2) * np.sin(np.pi * t) ** 0.5
            factor[near] *= (1.0 - strength * line).astype(np.float32)
    return factor


# Lash lines along the lid margins: (darkness, half-width in metres) of the upper and the
# lower lid's. Drawn per pixel along each margin where the lid is now, so a shut eye
# shows one thin dark line under bright lid skin, as a real closed eye does.
LASHES = ((0.6, 0.0007), (0.3, 0.0004))


@lru_cache(maxsize=1)
def _margin_vertices() -> tuple[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]], ...]:
    """Per eye, its upper and lower lid margin's vertices (corner, lid, corner)."""
    return tuple(face_mesh().lids(side, corners=True) for side in ("r", "l"))


def _distance_to_polyline(xy: npt.NDArray[np.float64],
                          line: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Distance of each point to the nearest segment of ``line`` (both x, y)."""
    a, ab = line[:-1], np.diff(line, axis=0)
    rel = xy[:, None, :] - a[None]
    t = np.clip((rel * ab).sum(axis=2) / np.maximum((ab * ab).sum(axis=1), 1e-12), 0.0, 1.0)
    gap = rel - t[..., None] * ab[None]
    return np.sqrt((gap * gap).sum(axis=2).min(axis=1))


def lash_lines(head: HeadState, xyz_head: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Albedo factor of the lashes at the given face points (1 away from the lid margins)."""
    factor = np.ones(len(xyz_head), np.float32)
    s = head.identity.scale
    v = head.vertices_head_m
    reach = 4.0 * max(half_width_m for _, half_width_m in LASHES) * s
    for lids in _margin_vertices():
        lines = [v[indices, :2] for indices in lids]
        both = np.concatenate(lines)
        lo, hi = both.min(axis=0) - reach, both.max(axis=0) + reach
        near = np.flatnonzero((xyz_head[:, 0] > lo[0]) & (xyz_head[:, 0] < hi[0])
                              & (xyz_head[:, 1] > lo[1]) & (xyz_head[:, 1] < hi[1]))
        if not len(near):
            continue
        xy = xyz_head[near, :2].astype(np.float64)
        shade = np.ones(len(near))
        for (darkness, half_width_m), line in zip(LASHES, lines):
            d = _distance_to_polyline(xy, line) / (half_width_m * s)
            shade *= 1.0 - darkness * np.exp(-0.5 * d * d)
        factor[near] = shade.astype(np.float32)
    return factor


def eye_centres(head: HeadState) -> list[npt.NDArray[np.float64]]:
    """Eyeball centres in the head frame: behind the middle of each lid opening."""
    mesh = face_mesh()
    v = head.identity.neutral_vertices_m()
    return [v[ring].mean(axis=0) + np.array([0.0, 0.0, EYEBALL_RADIUS_M * 0.75])
            for ring in (mesh.eye_r, mesh.eye_l)]


def gaze_points(head: HeadState) -> list[npt.NDArray[np.float64]]:
    """Where each cornea faces the camera, in the head frame (the eyes look at the lens)."""
    out = []
    for centre in eye_centres(head):
        to_camera_h = head.rotation.T @ (-(head.rotation @ centre + head.position_m))
        to_camera_h /= np.linalg.norm(to_camera_h)
        out.append(centre + to_camera_h * EYEBALL_RADIUS_M)
    return out


def eye_albedo(head: HeadState, xyz_head: npt.NDArray[np.float32],
               material: npt.NDArray[np.int8],
               illuminator_m: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    """Shade sclera, iris and pupil behind the lid opening (per pixel)."""
    identity = head.identity
    out = np.empty(len(xyz_head), np.float32)
    lens_angle_deg = np.degrees(np.arctan2(np.linalg.norm(illuminator_m[:2]),
                                           float(head.position_m[2])))
    bright = lens_angle_deg < BRIGHT_PUPIL_MAX_DEG
    for kind, gaze in zip((EYE_R, EYE_L), gaze_points(head)):
        sel = material == kind
        r = np.hypot(xyz_head[sel, 0] - gaze[0], xyz_head[sel, 1] - gaze[1]) / identity.scale
        pupil = PUPIL_RADIUS_M * head.pupil_scale
        value = np.where(r < IRIS_RADIUS_M, identity.iris_reflectance * (
            0.85 + 0.15 * np.cos(r * 2500.0)), SCLERA_ALBEDO)
        value = np.where(r < IRIS_RADIUS_M * 1.08, value, value * 0.97)
        value = np.where(r < pupil, 0.9 if bright else 0.03, value)
        out[sel] = value
    return out


def glints(head: HeadState, xyz_head: npt.NDArray[np.float32],
           material: npt.NDArray[np.int8]) -> npt.NDArray[np.float32]:
    """Add the illuminator's reflection on each cornea: a small saturating spot."""
    out = np.zeros(len(xyz_head), np.float32)
    for kind, gaze in zip((EYE_R, EYE_L), gaze_points(head)):
        sel = material == kind
        d2 = ((xyz_head[sel, 0] - gaze[0] + 0.0004) ** 2
              + (xyz_head[sel, 1] - gaze[1] + 0.0004) ** 2) / head.identity.scale**2
        out[sel] = 6.0 * np.exp(-d2 / (2.0 * 0.0007**2))
    return out


def mouth_albedo(head: HeadState, xyz_head: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Inside the lips: upper teeth below the upper lip, lower teeth above the lower one."""
    v = head.vertices_head_m
    upper, lower = face_mesh().inner_lips(head.identity.neutral_vertices_m())
    s = head.identity.scale

    def line(indices: list[int]) -> npt.NDArray[np.float64]:
        order = np.argsort(v[indices, 0])
        return np.interp(xyz_head[:, 0], v[indices, 0][order], v[indices, 1][order])

    below_upper = (xyz_head[:, 1] - line(upper)) / s
    above_lower = (line(lower) - xyz_head[:, 1]) / s
    front = np.abs(xyz_head[:, 0]) / s < 0.021
    teeth = front & ((below_upper < 0.0085) | (above_lower < 0.0035))
    gaps = np.cos(xyz_head[:, 0] / s * 2.0 * np.pi / 0.0085) > 0.96
    return np.where(teeth & ~gaps, 0.62, np.where(teeth, 0.45, 0.05)).astype(np.float32)


def draw_glasses(head: HeadState, camera: CameraModel, origin: tuple[int, int],
                 lit: npt.NDArray[np.float32], albedo: npt.NDArray[np.float32],
                 mask: npt.NDArray[np.uint8], face_px: float) -> None:
    """Draw rims and temples as dark lines in front of the eyes, glare on each lens."""
    s = head.identity.scale
    theta = np.linspace(0.0, 2.0 * np.pi, 28, endpoint=False)
    thick = max(int(round(face_px * 0.018)), 1)
    shift = np.array(origin, dtype=np.float64)
    for k, centre in enumerate(eye_centres(head)):
        rim_h = np.stack([centre[0] + 0.025 * s * np.cos(theta),
                          centre[1] + 0.003 * s + 0.018 * s * np.sin(theta),
                          np.full_like(theta, centre[2] - 0.03 * s)], axis=1)
        rim = camera.project(rim_h @ head.rotation.T + head.position_m) - shift
        poly = np.round(rim * 16).astype(np.int32).reshape(-1, 1, 2)
        for image in (lit, albedo):
            cv2.polylines(image, [poly], True, 0.08, thick, cv2.LINE_AA, 4)
        cv2.polylines(mask, [poly], True, 255, thick, cv2.LINE_AA, 4)
        sign = -1.0 if k == 0 else 1.0
        arm_h = np.array([[centre[0] + sign * 0.025 * s, centre[1], centre[2] - 0.03 * s],
                          [sign * 0.075 * s, centre[1] - 0.005 * s, 0.06 * s]])
        arm = camera.project(arm_h @ head.rotation.T + head.position_m) - shift
        for image in (lit, albedo):
            cv2.line(image, tuple(int(v) for v in arm[0]), tuple(int(v) for v in arm[1]),
                     0.08, thick, cv2.LINE_AA)
        glare_h = np.array([centre[0] + 0.008 * s, centre[1] - 0.007 * s, centre[2] - 0.03 * s])
        glare = camera.project((glare_h @ head.rotation.T + head.position_m)[None])[0] - shift
        axes = (max(face_px * 0.03, 1.0), max(face_px * 0.012, 1.0))
        cv2.ellipse(lit, ((float(glare[0]), float(glare[1])), (2 * axes[0], 2 * axes[1]), -30.0),
                    3.0, -1, cv2.LINE_AA)
