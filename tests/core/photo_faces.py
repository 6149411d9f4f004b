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

"""Frames with copies of a real face photograph, for the tracker's BlazeFace tests.

The face is scikit-image's astronaut photograph (visible light, not IR) on a 640x480
mono16 frame; the tests that use it skip without scikit-image.
"""

from __future__ import annotations

import cv2
import numpy as np

from affect_core.types import ImageFrame


def two_faces_from(second_from: int, count: int,
                   drift_px_per_frame: float = 0.0) -> list[ImageFrame]:
    """One face throughout, moving right by ``drift_px_per_frame``; a second from then on."""
    from skimage import data

    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[20:260, 120:330]
    face = (cv2.resize(face, None, fx=0.55, fy=0.55).astype(np.uint16) * 200 + 4000)
    h, w = face.shape
    frames = []
    for i in range(count):
        ir = np.full((480, 640), 3000, np.uint16)
        x = 60 + int(i * drift_px_per_frame)
        ir[100:100 + h, x:x + w] = face
        if i >= second_from:
            ir[150:150 + h, 400:400 + w] = face
        frames.append(ImageFrame(int(i * 1e9 / 120), "ir_camera_optical_frame", "mono16", ir))
    return frames
