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

"""The contract between landmark models and what uses landmarks (head pose, eyes, quality).

Landmark models differ (a 468-point mesh, a handful of keypoints); head pose, eye
features and evaluation need the same few named points from any of them. A landmark
model therefore reports its points in the order of ``affect_core.sim.face_model
.LANDMARK_NAMES`` (the rig's names: eye corners and lids, brows, nose, mouth, chin, jaw),
so its output can be scored against the rig's ground truth point for point, and keeps its
raw output alongside for whoever wants more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from affect_core.sim.face_model import LANDMARK_NAMES


@dataclass(frozen=True)
class FaceLandmarks:
    """Landmarks of one face in full-image pixels.

    ``points_px`` is (len(LANDMARK_NAMES), 2) in LANDMARK_NAMES order; ``confidence`` in
    [0, 1] is the model's own face-presence score; ``iris_px`` is (2, 3) with the centre
    x, y and radius of the right then left iris in pixels, or None where the model does
    not resolve irises; ``mesh_px`` is the model's raw (N, 3) output (x, y in pixels, z
    relative, in pixels at the image scale) or None; ``lids_refined`` says the eye corners
    and lids of ``points_px`` come from an eye-contour model (which follows a closing lid)
    rather than from the mesh.
    """

    points_px: npt.NDArray[np.float64]
    confidence: float
    iris_px: npt.NDArray[np.float64] | None = None
    mesh_px: npt.NDArray[np.float64] | None = None
    lids_refined: bool = False  # the eye points come from an eye model, not the mesh

    def __post_init__(self) -> None:
        """Reject arrays of the wrong shape at once, not deep inside head-pose code."""
        if self.points_px.shape != (len(LANDMARK_NAMES), 2):
            raise ValueError(f"points_px must be ({len(LANDMARK_NAMES)}, 2), got "
                             f"{self.points_px.shape}")
        if self.iris_px is not None and self.iris_px.shape != (2, 3):
            raise ValueError(f"iris_px must be (2, 3), got {self.iris_px.shape}")


class Landmarker(Protocol):
    """Anything that finds the landmarks of the face inside a detected box."""

    def locate(self, image: npt.NDArray[np.generic], box_px: tuple[int, int, int, int],
               iris: bool = True) -> FaceLandmarks | None:
        """Landmarks of the face in ``box_px`` (x, y, w, h) of a mono8/mono16 frame, or None.

        ``iris=False`` asks the model to skip the irises this time (iris_px None), where
        it measures them at extra cost.
        """
        ...
