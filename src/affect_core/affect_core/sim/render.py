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

"""Image formation: the sensor, the light, and the pieces heads are drawn with.

IR: an illuminator beside the lens lights the scene with inverse-square fall-off; ambient
IR adds a floor; the sensor adds shot noise (Poisson, as a Gaussian of variance equal to
the electron count), read noise and a fixed per-pixel gain pattern, then quantises to
16 bits and saturates at full scale. Heads themselves are drawn by
affect_core.sim.face_render; the stereo pair by affect_core.sim.scene.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.sim.face_model import NAMES_FROM_MESH, Identity

_SHIFT = 4  # fixed-point bits for subpixel drawing
_SCALE = float(1 << _SHIFT)


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
    The illuminator sits ``illuminator_offset_m`` to the right of the lens: within about
    2 degrees of the axis as seen from an eye, pupils glow (bright-pupil geometry).
    """

    illuminator: float = 0.55
    ambient: float = 0.02
    exposure_gain: float = 1.0
    illuminator_offset_m: float = 0.04  # the illuminator's distance from the lens (x)


@dataclass
class HeadState:
    """Everything needed to draw one person at one instant."""

    identity: Identity
    vertices_head_m: npt.NDArray[np.float64]  # (468, 3) face surface in the head frame
    rotation: npt.NDArray[np.float64]  # head frame -> optical frame
    position_m: npt.NDArray[np.float64]  # head origin in the optical frame
    pupil_scale: float = 1.0
    occluder: str = ""  # "", "hand", "hair" or "mask"
    blur_px: tuple[float, float] = (0.0, 0.0)  # image motion during the exposure
    action_units: dict[str, float] = field(default_factory=dict)  # for the skin's creases

    @property
    def landmarks_head_m(self) -> npt.NDArray[np.float64]:
        """Named landmarks (LANDMARK_NAMES) in the head frame."""
        return NAMES_FROM_MESH @ self.vertices_head_m

    def vertices_camera_m(self) -> npt.NDArray[np.float64]:
        """Face surface vertices in the optical frame."""
        return self.vertices_head_m @ self.rotation.T + self.position_m

    def landmarks_camera_m(self) -> npt.NDArray[np.float64]:
        """Named landmarks in the optical frame."""
        return self.landmarks_head_m @ self.rotation.T + self.position_m


def _poly(points_px: npt.NDArray[np.float64], origin: tuple[int, int]) -> npt.NDArray[np.int32]:
    shifted = (points_px - np.array(origin, dtype=np.float64)) * _SCALE
    return np.round(shifted).astype(np.int32).reshape(-1, 1, 2)


def draw_occluder(albedo: npt.NDArray[np.float32], kind: str, pt: Any,
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


def motion_blur(images: list[npt.NDArray[np.float32]], mask: npt.NDArray[np.uint8],
                blur_px: tuple[float, float]) -> tuple[list[npt.NDArray[np.float32]],
                                                       npt.NDArray[np.uint8], int]:
    """Smear a head's patches along its image motion during the exposure (a line kernel).

    Returns the patches grown by the smear on every side, and by how many pixels.
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
    images = [cv2.filter2D(np.pad(image, pad), -1, kernel, borderType=cv2.BORDER_CONSTANT)
              for image in images]
    mask_f = cv2.filter2D(np.pad(mask.astype(np.float32), pad), -1, kernel,
                          borderType=cv2.BORDER_CONSTANT)
    return images, np.clip(mask_f, 0, 255).astype(np.uint8), length


def composite(
    canvas: npt.NDArray[np.float32],
    patch: npt.NDArray[np.float32],
    mask: npt.NDArray[np.uint8],
    origin: tuple[int, int],
    premultiplied: bool = False,
) -> None:
    """Blend ``patch`` over ``canvas`` at ``origin`` by ``mask`` (0..255), clipped to bounds.

    A ``premultiplied`` patch already carries its coverage (a HeadPatch's images).
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


def dot_texture(rng: np.random.Generator, height: int, width: int) -> npt.NDArray[np.float32]:
    """Make a projected random-dot pattern (values 0..1) as active stereo cameras cast."""
    dots = (rng.random((height, width)) < 0.12).astype(np.float32)
    return np.clip(cv2.GaussianBlur(dots, (3, 3), 0.7) * 1.6, 0.0, 1.0)
