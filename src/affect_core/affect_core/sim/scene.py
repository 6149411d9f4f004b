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

"""The rig's cameras and background, and rendering of a set of heads into frames."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.sim.face_render import HeadPatch, draw_head
from affect_core.sim.render import (
    HeadState,
    Lighting,
    NoiseBank,
    SensorModel,
    composite,
    dot_texture,
    expose,
)
from affect_core.types import CameraModel

IR_FRAME_ID = "ir_camera_optical_frame"
STEREO_LEFT_FRAME_ID = "stereo_left_optical_frame"
STEREO_RIGHT_FRAME_ID = "stereo_right_optical_frame"


class SceneRenderer:
    """Renders heads in front of a back wall into IR frames, stereo pairs and true depth.

    The IR camera and the left stereo camera share one optical centre and intrinsics in
    this rig, so depth from the pair is registered to the IR image pixel for pixel.
    """

    def __init__(
        self,
        width_px: int,
        height_px: int,
        focal_length_px: float,
        baseline_m: float,
        wall_distance_m: float,
        seed: int,
        sensor: SensorModel | None = None,
    ) -> None:
        rng = np.random.default_rng([seed, 0xC0FFEE])
        cx, cy = (width_px - 1) / 2.0, (height_px - 1) / 2.0
        self.ir_camera = CameraModel(width_px, height_px, focal_length_px, focal_length_px,
                                     cx, cy, IR_FRAME_ID)
        self.left_camera = CameraModel(width_px, height_px, focal_length_px, focal_length_px,
                                       cx, cy, STEREO_LEFT_FRAME_ID)
        self.right_camera = CameraModel(width_px, height_px, focal_length_px, focal_length_px,
                                        cx, cy, STEREO_RIGHT_FRAME_ID, baseline_m=baseline_m)
        self.baseline_m = baseline_m
        self.wall_distance_m = wall_distance_m
        self.sensor = sensor or SensorModel()
        self.fixed_pattern_gain = (
            1.0 + self.sensor.fixed_pattern_gain_std
            * rng.standard_normal((height_px, width_px)).astype(np.float32)
        )
        self._electrons_per_signal = (self.fixed_pattern_gain
                                      * np.float32(self.sensor.full_well_e))
        self.noise = NoiseBank(height_px, width_px, rng)
        # The wall: smooth albedo variation (posters, panels) around 0.5.
        low = rng.random((max(height_px // 40, 2), max(width_px // 40, 2))).astype(np.float32)
        self.wall_albedo = 0.35 + 0.3 * cv2.resize(low, (width_px, height_px),
                                                   interpolation=cv2.INTER_CUBIC)
        # The projector's dots are fixed in the left view (it sits at the left camera).
        self.dots = 0.25 + 0.6 * dot_texture(rng, height_px, width_px)
        self._columns = np.tile(np.arange(width_px, dtype=np.float32), (height_px, 1))
        self._rows = np.tile(np.arange(height_px, dtype=np.float32)[:, None], (1, width_px))
        self._wall_disparity = focal_length_px * baseline_m / wall_distance_m
        self.stereo_wall_right = cv2.remap(self.dots, self._columns + np.float32(
            self._wall_disparity), self._rows, cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0.25)

    def draw(self, heads: list[HeadState], lighting: Lighting) -> list[HeadPatch]:
        """Draw each head once (far to near) for this frame's IR and stereo images."""
        light = np.array([lighting.illuminator_offset_m, 0.0, 0.0])
        patches = []
        for head in sorted(heads, key=lambda h: -float(h.position_m[2])):
            patch = draw_head(head, self.ir_camera, light)
            if patch is not None:
                patches.append(patch)
        return patches

    def render_ir(
        self, heads: list[HeadState], lighting: Lighting, rng: np.random.Generator,
        patches: list[HeadPatch] | None = None,
    ) -> npt.NDArray[np.uint16]:
        """One 16-bit IR frame of ``heads`` (or their drawn ``patches``) under ``lighting``."""
        if patches is None:
            patches = self.draw(heads, lighting)
        falloff_wall = lighting.illuminator / self.wall_distance_m**2 + lighting.ambient
        signal = self.wall_albedo * np.float32(falloff_wall)
        for patch in patches:
            radiance = (patch.lit * np.float32(lighting.illuminator / patch.z_m**2)
                        + patch.albedo * np.float32(lighting.ambient))
            composite(signal, radiance, patch.mask, patch.origin, premultiplied=True)
        signal *= np.float32(lighting.exposure_gain)
        return expose(signal, self.sensor, self._electrons_per_signal, self.noise.sample(rng))

    def render_stereo(
        self, heads: list[HeadState], rng: np.random.Generator,
        patches: list[HeadPatch] | None = None,
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
        """Render a rectified active-stereo pair (8-bit) and the left view's true depth (metres).

        The left camera shares the IR camera's centre, so the drawn heads' surface depth is
        the left view's depth. The projected dots land where the left view sees them; the
        right view sees each left pixel f * B / Z pixels further left, so it is the left
        view resampled through the disparity of the surface it sees.
        """
        if patches is None:
            patches = self.draw(heads, Lighting())
        depth = np.full(self.dots.shape, self.wall_distance_m, np.float32)
        brightness = np.full(self.dots.shape, 1.0, np.float32)
        for patch in patches:
            hard = np.where(np.isfinite(patch.depth_m), 255, 0).astype(np.uint8)
            composite(depth, np.nan_to_num(patch.depth_m, posinf=0.0), hard, patch.origin)
            # Skin returns more of the projector's light than the wall.
            near = np.clip(patch.albedo * np.float32(1.4), 0.0, 1.2)
            composite(brightness, near, patch.mask, patch.origin, premultiplied=True)
        left = np.clip(self.dots * brightness, 0.0, 1.0).astype(np.float32)
        right = self.stereo_wall_right.copy()
        f_b = np.float32(self.left_camera.fx_px * self.baseline_m)
        height, width = left.shape
        disparity = f_b / depth
        for patch in patches:
            # Right pixel u sees the nearest left pixel x with x - d(x) = u. Fixed-point
            # steps from the nearest surface's disparity find it where the head occludes
            # the wall; where no left pixel maps to u (wall the head hides from the left
            # camera) the right view sees the wall's own dots.
            ph, pw = patch.depth_m.shape
            x0, y0 = max(patch.origin[0], 0), max(patch.origin[1], 0)
            x1, y1 = min(patch.origin[0] + pw, width), min(patch.origin[1] + ph, height)
            if x0 >= x1 or y0 >= y1:
                continue
            nearest = float(f_b / np.min(depth[y0:y1, x0:x1]))
            u0 = max(x0 - int(np.ceil(nearest)) - 2, 0)
            cols = self._columns[y0:y1, u0:x1]
            rows = self._rows[y0:y1, u0:x1]
            source = cols + np.float32(nearest)
            for _ in range(3):
                source = cols + cv2.remap(disparity, source, rows, cv2.INTER_LINEAR,
                                          borderMode=cv2.BORDER_REPLICATE)
            landed = source - cv2.remap(disparity, source, rows, cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_REPLICATE)
            seen = cv2.remap(left, source, rows, cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0.25)
            right[y0:y1, u0:x1] = np.where(np.abs(landed - cols) < 0.5, seen,
                                           self.stereo_wall_right[y0:y1, u0:x1])
        # 8-bit sensors with about 2 grey levels of noise (saturating conversion).
        left_8 = cv2.scaleAdd(self.noise.sample(rng), 2.0 / 255.0, left)
        right_8 = cv2.scaleAdd(self.noise.sample(rng), 2.0 / 255.0, right)
        return (cv2.convertScaleAbs(left_8, alpha=255.0),
                cv2.convertScaleAbs(right_8, alpha=255.0), depth)
