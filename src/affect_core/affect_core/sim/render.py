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

"""Image formation: faces drawn into 16-bit IR frames and 8-bit active-stereo pairs.

IR: an illuminator beside the lens lights the scene with inverse-square fall-off; ambient
IR adds a floor; the sensor adds shot noise (Poisson, as a Gaussian of variance equal to
the electron count), read noise and a fixed per-pixel gain pattern, then quantises to
16 bits and saturates at full scale. Stereo: a projected dot texture stuck to each
surface, so the right image is the left one shifted by each surface's disparity
f * B / Z. Faces are drawn as planes at the head's depth in the stereo pair (the
curvature of a real face, about 3 cm, is not modelled there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.sim.face_model import Identity, landmark_index
from affect_core.types import CameraModel

_SHIFT = 4  # fixed-point bits for subpixel drawing
_SCALE = float(1 << _SHIFT)

SKIN_SHADING_MIN = 0.55  # albedo factor at the face's silhouette vs 1.0 at its centre


@dataclass(frozen=True)
class SensorModel:
    """The IR sensor: electrons at full scale, read noise, fixed-pattern gain spread."""

    full_well_e: float = 12000.0
    read_noise_e: float = 6.0
    fixed_pattern_gain_std: float = 0.01


@dataclass(frozen=True)
class Lighting:
    """Scene light: illuminator power (signal fraction at 1 m for albedo 1), ambient IR.

    ``exposure_gain`` multiplies everything before the sensor (auto-exposure changes).
    """

    illuminator: float = 0.55
    ambient: float = 0.02
    exposure_gain: float = 1.0


@dataclass
class HeadState:
    """Everything needed to draw one person at one instant."""

    identity: Identity
    landmarks_head_m: npt.NDArray[np.float64]  # (N, 3) in the head frame
    rotation: npt.NDArray[np.float64]  # head frame -> optical frame
    position_m: npt.NDArray[np.float64]  # head origin in the optical frame
    pupil_scale: float = 1.0
    occluder: str = ""  # "", "hand", "hair" or "mask"
    blur_px: tuple[float, float] = (0.0, 0.0)  # image motion during the exposure

    def landmarks_camera_m(self) -> npt.NDArray[np.float64]:
        """Landmarks in the optical frame."""
        return self.landmarks_head_m @ self.rotation.T + self.position_m

    def outline_camera_m(self, samples: int = 40) -> npt.NDArray[np.float64]:
        """Trace the face outline (an ellipse bulging back at the sides) in the optical frame."""
        theta = np.linspace(0.0, 2.0 * np.pi, samples, endpoint=False)
        half_width = 0.072 * self.identity.width_ratio * self.identity.scale
        half_height = 0.1 * self.identity.scale
        centre_y = 0.022 * self.identity.scale
        points = np.stack(
            [half_width * np.cos(theta), centre_y + half_height * np.sin(theta),
             np.full_like(theta, 0.035 * self.identity.scale)],
            axis=1,
        )
        return points @ self.rotation.T + self.position_m


def _poly(points_px: npt.NDArray[np.float64], origin: tuple[int, int]) -> npt.NDArray[np.int32]:
    shifted = (points_px - np.array(origin, dtype=np.float64)) * _SCALE
    return np.round(shifted).astype(np.int32).reshape(-1, 1, 2)


def face_box_px(
    head: HeadState, camera: CameraModel, margin_px: int = 2
) -> tuple[int, int, int, int]:
    """Integer box (x0, y0, x1, y1) that holds the projected face silhouette."""
    outline = camera.project(head.outline_camera_m())
    x0, y0 = np.floor(outline.min(axis=0)).astype(int) - margin_px
    x1, y1 = np.ceil(outline.max(axis=0)).astype(int) + margin_px
    return int(x0), int(y0), int(x1), int(y1)


def draw_face_albedo(
    head: HeadState, camera: CameraModel
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8], tuple[int, int]]:
    """Draw one face's IR albedo into a patch; return (albedo, mask, (x0, y0)).

    Specular glare from glasses is returned as albedo above 1, which saturates.
    """
    x0, y0, x1, y1 = face_box_px(head, camera)
    width, height = max(x1 - x0, 1), max(y1 - y0, 1)
    origin = (x0, y0)
    albedo = np.zeros((height, width), np.float32)
    mask = np.zeros((height, width), np.uint8)
    outline = camera.project(head.outline_camera_m())
    identity = head.identity
    skin = identity.ir_reflectance
    cv2.fillPoly(mask, [_poly(outline, origin)], 255, cv2.LINE_AA, _SHIFT)
    # Lambertian shading of a roughly convex face lit from the camera.
    centre = outline.mean(axis=0) - np.array(origin)
    half = np.maximum((outline.max(axis=0) - outline.min(axis=0)) / 2.0, 1.0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = ((xx - centre[0]) / half[0]) ** 2 + ((yy - centre[1]) / half[1]) ** 2
    shade = SKIN_SHADING_MIN + (1.0 - SKIN_SHADING_MIN) * np.sqrt(np.clip(1.0 - r2, 0.0, 1.0))
    albedo[:] = skin * shade

    lm = camera.project(head.landmarks_camera_m())

    def pt(name: str) -> npt.NDArray[np.float64]:
        return lm[landmark_index(name)]

    face_px = float(half[0] * 2.0)
    thick = max(int(round(face_px * 0.05)), 1)  # line thickness is in whole pixels

    def polyline(names: tuple[str, ...], value: float, thickness: int, closed: bool) -> None:
        pts = np.array([pt(n) for n in names])
        cv2.polylines(albedo, [_poly(pts, origin)], closed, value, thickness, cv2.LINE_AA, _SHIFT)

    def fill(names: tuple[str, ...], value: float) -> None:
        pts = np.array([pt(n) for n in names])
        cv2.fillPoly(albedo, [_poly(pts, origin)], value, cv2.LINE_AA, _SHIFT)

    if identity.facial_hair:
        beard = np.array([pt("jaw_r"), pt("mouth_r_corner"), pt("nose_r_ala"), pt("nose_l_ala"),
                          pt("mouth_l_corner"), pt("jaw_l"), pt("chin")])
        cv2.fillPoly(albedo, [_poly(beard, origin)], skin * 0.45, cv2.LINE_AA, _SHIFT)
    # Brows.
    polyline(("brow_r_outer", "brow_r_mid", "brow_r_inner"), skin * 0.45, thick, False)
    polyline(("brow_l_inner", "brow_l_mid", "brow_l_outer"), skin * 0.45, thick, False)
    # Eyes: sclera, then the dark pupil clipped by the lids.
    for side in ("r", "l"):
        corners = ("outer", "top", "inner", "bottom") if side == "r" else (
            "inner", "top", "outer", "bottom")
        names = tuple(f"eye_{side}_{corner}" for corner in corners)
        fill(names, skin * 0.7)
        top, bottom = pt(f"eye_{side}_top"), pt(f"eye_{side}_bottom")
        opening_px = float(bottom[1] - top[1])
        centre_px = (top + bottom) / 2.0
        radius_px = min(face_px * 0.04 * head.pupil_scale, max(opening_px / 2.0, 0.0))
        if radius_px > 0.3:
            c = np.round((centre_px - np.array(origin)) * _SCALE).astype(int)
            cv2.circle(albedo, (int(c[0]), int(c[1])), int(radius_px * _SCALE), 0.08,
                       -1, cv2.LINE_AA, _SHIFT)
        polyline((f"eye_{side}_outer", f"eye_{side}_top", f"eye_{side}_inner"),
                 skin * 0.5, max(thick // 2, 1), False)
    # Nose: alae shadow and nostrils.
    polyline(("nose_r_ala", "nose_tip", "nose_l_ala"), skin * 0.6, max(thick // 2, 1),
             False)
    # Mouth: the lips, and the dark opening between the inner lips when parted.
    fill(("mouth_r_corner", "lip_upper", "mouth_l_corner", "lip_lower"), skin * 0.75)
    gap = float(pt("lip_lower_inner")[1] - pt("lip_upper_inner")[1])
    if gap > 0.4:
        fill(("mouth_r_corner", "lip_upper_inner", "mouth_l_corner", "lip_lower_inner"), 0.06)
    polyline(("mouth_r_corner", "lip_upper_inner", "mouth_l_corner"), skin * 0.35,
             max(thick // 2, 1), False)
    if identity.glasses:
        for side in ("r", "l"):
            names = (f"eye_{side}_outer", f"eye_{side}_inner")
            a, b = pt(names[0]), pt(names[1])
            c = (a + b) / 2.0 - np.array(origin)
            axes = (abs(b[0] - a[0]) * 0.75 + 2.0, face_px * 0.07 + 2.0)
            cv2.ellipse(albedo, ((float(c[0]), float(c[1])), (2 * axes[0], 2 * axes[1]), 0.0),
                        0.15, max(int(face_px * 0.02), 1), cv2.LINE_AA)
            glint = (int(round(c[0] + axes[0] * 0.35)), int(round(c[1] - axes[1] * 0.4)))
            cv2.circle(albedo, glint, max(int(face_px * 0.012), 1), 3.0, -1, cv2.LINE_AA)
    if head.occluder:
        _draw_occluder(albedo, head.occluder, pt, origin, skin, face_px)
    albedo *= mask.astype(np.float32) / 255.0
    if max(abs(head.blur_px[0]), abs(head.blur_px[1])) >= 1.0:
        albedo, mask, grown_px = _motion_blur(albedo, mask, head.blur_px)
        origin = (origin[0] - grown_px, origin[1] - grown_px)
    return albedo, mask, origin


def _draw_occluder(albedo: npt.NDArray[np.float32], kind: str, pt: Any,
                   origin: tuple[int, int], skin: float, face_px: float) -> None:
    """Draw a hand over the mouth, hair over one eye, or a mask over nose and mouth."""
    if kind == "hand":
        # Nearer than the face, so brighter under the illuminator; fingers as stripes.
        c = (pt("lip_upper") + pt("chin")) / 2.0 - np.array(origin)
        axes = (face_px * 0.42, face_px * 0.3)
        cv2.ellipse(albedo, ((float(c[0]), float(c[1])), (2 * axes[0], 2 * axes[1]), 10.0),
                    min(skin * 1.25, 1.0), -1, cv2.LINE_AA)
        for k in range(-2, 3):
            x = float(c[0]) + k * axes[0] * 0.35
            cv2.line(albedo, (int(x), int(c[1] - axes[1] * 0.8)),
                     (int(x), int(c[1] + axes[1] * 0.8)), skin * 0.8, 1, cv2.LINE_AA)
    elif kind == "hair":
        band = np.array([pt("brow_r_outer") + [-face_px * 0.2, -face_px * 0.35],
                         pt("brow_r_inner") + [face_px * 0.1, -face_px * 0.35],
                         pt("eye_r_inner") + [face_px * 0.05, face_px * 0.1],
                         pt("eye_r_outer") + [-face_px * 0.2, face_px * 0.15]])
        cv2.fillPoly(albedo, [_poly(band, origin)], 0.12, cv2.LINE_AA, _SHIFT)
    elif kind == "mask":
        top = (pt("nose_tip") + pt("eye_r_bottom") + pt("eye_l_bottom")) / 3.0
        cover = np.array([pt("jaw_r"), top + [-face_px * 0.3, 0.0], top,
                          top + [face_px * 0.3, 0.0], pt("jaw_l"), pt("chin") + [0.0, 3.0]])
        cv2.fillPoly(albedo, [_poly(cover, origin)], 0.85, cv2.LINE_AA, _SHIFT)
    else:
        raise ValueError(f"unknown occluder {kind!r}")


def _motion_blur(albedo: npt.NDArray[np.float32], mask: npt.NDArray[np.uint8],
                 blur_px: tuple[float, float]) -> tuple[npt.NDArray[np.float32],
                                                        npt.NDArray[np.uint8], int]:
    """Smear a face patch along its image motion during the exposure (a line kernel).

    Returns the patch grown by the smear on every side, and by how many pixels.
    """
    length = int(np.ceil(max(abs(blur_px[0]), abs(blur_px[1])))) + 1
    size = 2 * length + 1
    kernel = np.zeros((size, size), np.float32)
    steps = 2 * length + 1
    for k in range(steps):
        u = k / (steps - 1) - 0.5
        kernel[int(round(length + u * blur_px[1])), int(round(length + u * blur_px[0]))] += 1.0
    kernel /= kernel.sum()
    pad = ((length, length), (length, length))
    albedo = cv2.filter2D(np.pad(albedo, pad), -1, kernel, borderType=cv2.BORDER_CONSTANT)
    mask_f = cv2.filter2D(np.pad(mask.astype(np.float32), pad), -1, kernel,
                          borderType=cv2.BORDER_CONSTANT)
    return albedo, np.clip(mask_f, 0, 255).astype(np.uint8), length


def composite(
    canvas: npt.NDArray[np.float32],
    patch: npt.NDArray[np.float32],
    mask: npt.NDArray[np.uint8],
    origin: tuple[int, int],
    premultiplied: bool = False,
) -> None:
    """Blend ``patch`` over ``canvas`` at ``origin`` by ``mask`` (0..255), clipped to bounds.

    A ``premultiplied`` patch already carries its coverage (draw_face_albedo's output).
    """
    x0, y0 = origin
    h, w = patch.shape
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x0 + w, canvas.shape[1]), min(y0 + h, canvas.shape[0])
    if cx0 >= cx1 or cy0 >= cy1:
        return
    px0, py0 = cx0 - x0, cy0 - y0
    sub_patch = patch[py0:py0 + cy1 - cy0, px0:px0 + cx1 - cx0]
    alpha = mask[py0:py0 + cy1 - cy0, px0:px0 + cx1 - cx0].astype(np.float32) / 255.0
    region = canvas[cy0:cy1, cx0:cx1]
    region *= 1.0 - alpha
    region += sub_patch if premultiplied else alpha * sub_patch


class NoiseBank:
    """Standard-normal noise fields drawn once, read through random windows.

    Drawing 300 k Gaussian samples per frame costs more than the rest of the frame; a
    few oversized fields read at random offsets give independent-looking noise at the
    cost of a slice. Each frame's noise has the right distribution; the same field
    recurs only at the same random offset (1 in fields x margin^2, about 16 k).
    """

    def __init__(self, height: int, width: int, rng: np.random.Generator, fields: int = 4,
                 margin: int = 64) -> None:
        self.height, self.width, self.margin = height, width, margin
        self._fields = rng.standard_normal((fields, height + margin, width + margin),
                                           dtype=np.float32)

    def sample(self, rng: np.random.Generator) -> npt.NDArray[np.float32]:
        """Draw a (height, width) view of unit-variance Gaussian noise."""
        k = int(rng.integers(0, len(self._fields)))
        dy, dx = (int(v) for v in rng.integers(0, self.margin, size=2))
        return self._fields[k, dy:dy + self.height, dx:dx + self.width]


def expose(
    signal: npt.NDArray[np.float32],
    sensor: SensorModel,
    electrons_per_signal: npt.NDArray[np.float32],
    noise: npt.NDArray[np.float32],
) -> npt.NDArray[np.uint16]:
    """Turn a signal (fraction of full scale) into a noisy, saturating 16-bit frame.

    ``electrons_per_signal`` is full well x the fixed-pattern gain of each pixel;
    ``noise`` is unit-variance Gaussian noise of the frame's shape.
    """
    electrons = cv2.multiply(signal, electrons_per_signal)
    noise_std = cv2.sqrt(cv2.add(electrons, float(sensor.read_noise_e**2)))
    electrons += cv2.multiply(noise, noise_std)
    counts = cv2.multiply(electrons, float(65535.0 / sensor.full_well_e))
    np.clip(counts, 0.0, 65535.0, out=counts)
    return counts.astype(np.uint16)


def shift_image(image: npt.NDArray[np.float32], dx_px: float) -> npt.NDArray[np.float32]:
    """Shift an image right by ``dx_px`` (subpixel, bilinear); uncovered pixels become 0."""
    matrix = np.array([[1.0, 0.0, dx_px], [0.0, 1.0, 0.0]], dtype=np.float64)
    return cv2.warpAffine(image, matrix, (image.shape[1], image.shape[0]),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def dot_texture(rng: np.random.Generator, height: int, width: int) -> npt.NDArray[np.float32]:
    """Make a projected random-dot pattern (values 0..1) as active stereo cameras cast."""
    dots = (rng.random((height, width)) < 0.12).astype(np.float32)
    return np.clip(cv2.GaussianBlur(dots, (3, 3), 0.7) * 1.6, 0.0, 1.0)
