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

from affect_core.sim.render import (
    HeadState,
    Lighting,
    NoiseBank,
    SensorModel,
    composite,
    dot_texture,
    draw_face_albedo,
    expose,
    shift_image,
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
        wall_texture = dot_texture(rng, height_px, width_px)
        wall_disparity = focal_length_px * baseline_m / wall_distance_m
        self.stereo_wall_left = 0.25 + 0.6 * wall_texture
        self.stereo_wall_right = 0.25 + 0.6 * shift_image(wall_texture, -wall_disparity)
        self._face_textures: dict[int, npt.NDArray[np.float32]] = {}
        self._texture_seed = seed

    def _face_texture(self, person_index: int, height: int, width: int) -> npt.NDArray[np.float32]:
        texture = self._face_textures.get(person_index)
        if texture is None or texture.shape[0] < height or texture.shape[1] < width:
            size = max(height, width, 256) * 2
            rng = np.random.default_rng([self._texture_seed, 0xFACE, person_index])
            texture = dot_texture(rng, size, size)
            self._face_textures[person_index] = texture
        return texture[:height, :width]

    def render_ir(
        self, heads: list[HeadState], lighting: Lighting, rng: np.random.Generator
    ) -> npt.NDArray[np.uint16]:
        """One 16-bit IR frame of ``heads`` (drawn far to near) under ``lighting``."""
        falloff_wall = lighting.illuminator / self.wall_distance_m**2 + lighting.ambient
        signal = self.wall_albedo * np.float32(falloff_wall)
        for head in sorted(heads, key=lambda h: -float(h.position_m[2])):
            albedo, mask, origin = draw_face_albedo(head, self.ir_camera)
            z = float(head.position_m[2])
            radiance = albedo * np.float32(lighting.illuminator / z**2 + lighting.ambient)
            composite(signal, radiance, mask, origin, premultiplied=True)
        signal *= np.float32(lighting.exposure_gain)
        return expose(signal, self.sensor, self._electrons_per_signal, self.noise.sample(rng))

    def render_stereo(
        self, heads: list[HeadState], rng: np.random.Generator
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
        """Render a rectified active-stereo pair (8-bit) and the left view's true depth (metres).

        The face is a plane at the head's depth; its dot texture moves with it, so its
        disparity is exactly f * B / Z.
        """
        left = self.stereo_wall_left.copy()
        right = self.stereo_wall_right.copy()
        depth = np.full(left.shape, self.wall_distance_m, np.float32)
        f = self.left_camera.fx_px
        for head in sorted(heads, key=lambda h: -float(h.position_m[2])):
            _, mask, origin = draw_face_albedo(head, self.left_camera)
            z = float(head.position_m[2])
            disparity = f * self.baseline_m / z
            h, w = mask.shape
            texture = 0.3 + 0.7 * self._face_texture(head.identity.person_index, h, w)
            composite(left, texture, mask, origin)
            composite(depth, np.full((h, w), z, np.float32), _hard(mask), origin)
            # In the right view everything at depth z sits disparity pixels further left.
            whole = int(np.floor(disparity))
            frac = disparity - whole
            texture_r = shift_image(texture, -frac)
            mask_r = shift_image(mask.astype(np.float32), -frac).astype(np.uint8)
            composite(right, texture_r, mask_r, (origin[0] - whole, origin[1]))
        # 8-bit sensors with about 2 grey levels of noise (saturating conversion).
        left_8 = cv2.scaleAdd(self.noise.sample(rng), 2.0 / 255.0, left)
        right_8 = cv2.scaleAdd(self.noise.sample(rng), 2.0 / 255.0, right)
        return (cv2.convertScaleAbs(left_8, alpha=255.0),
                cv2.convertScaleAbs(right_8, alpha=255.0), depth)


def _hard(mask: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return np.where(mask >= 128, 255, 0).astype(np.uint8)
