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


"""Face landmarks from MediaPipe's 468-point face mesh and iris models on ONNX Runtime.

The mesh model takes a square, upright crop about 1.5 times the size of a detector's face
box. The landmarker crops axis-aligned first; when the eye line of that first mesh is
tilted by more than ``reroll_deg`` it crops again rotated so the eyes are level (what
MediaPipe's own graph does with the detector's eye keypoints), which keeps the mesh
accurate under head roll. The iris model then takes a crop around each eye, scaled 2.3
times the eye width; it was trained on one eye, so the other eye is mirrored.

Mesh indices follow MediaPipe's canonical face mesh, in which "right" is the subject's
right, which is the image left when the subject faces the camera; the rig's
LANDMARK_NAMES use the same convention (``eye_r_*`` has negative x, at the image left),
so ``MESH_INDEX`` (affect_core.sim.face_geometry, shared with the rig) maps name to
name. A name mapped to two indices is their midpoint (the brows: the mesh outlines each
brow, the rig marks its centre line). The eye corners and lids come from the iris model's
eye contour whenever it runs: the mesh barely moves its lids when an eye closes.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.errors import ConfigError, InputError, ModelError
from affect_core.face.landmarks import FaceLandmarks
from affect_core.face.onnx_models import (
    FACE_MODEL_DIR,
    check_ir_frame,
    open_session,
    stretch_to_unit,
    to_model_input,
)
from affect_core.sim.face_geometry import LANDMARK_NAMES, names_from_mesh

MESH_INPUT_PX = 192
IRIS_INPUT_PX = 64
MESH_POINTS = 468
IRIS_ROI_SCALE = 2.3  # MediaPipe's iris_landmark_landmarks_to_roi

# Eye corners that place the iris crops: (image-left eye = subject's right, other eye).
_EYE_CORNERS = ((33, 133), (362, 263))
# The iris model's first 16 eye-contour points, as face-mesh indices (MediaPipe's
# update_face_landmarks_calculator): lower lid corner to corner, then the upper lid.
# Positions 0, 4, 8 and 12 are the outer corner, lower lid middle, inner corner and upper
# lid middle of either eye (the second eye's crop is mirrored).
_LID_FROM_CONTOUR = {"outer": 0, "bottom": 4, "inner": 8, "top": 12}
EYE_CONTOUR_POINTS = 16


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(value, 80.0), -80.0)))


def roi_transform(centre: tuple[float, float], side_px: float, angle_rad: float,
                  out_px: int, mirror: bool = False) -> npt.NDArray[np.float64]:
    """2x3 affine map from image pixels to a square out_px crop.

    The crop is centred on ``centre``, ``side_px`` wide, rotated by ``angle_rad`` (so a
    line at that angle in the image is level in the crop), and mirrored left-right when
    ``mirror``.
    """
    scale = out_px / side_px
    cos, sin = math.cos(angle_rad) * scale, math.sin(angle_rad) * scale
    linear = np.array([[cos, sin], [-sin, cos]])
    if mirror:
        linear[0] *= -1.0
    offset = np.array([out_px / 2.0, out_px / 2.0]) - linear @ np.asarray(centre, np.float64)
    return np.concatenate([linear, offset[:, None]], axis=1)


def _apply(transform: npt.NDArray[np.float64],
           points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return points @ transform[:, :2].T + transform[:, 2]


class MeshLandmarker:
    """Landmarks, mesh and irises of the face in a detected box (a Landmarker)."""

    def __init__(self, roi_scale: float = 1.5, min_confidence: float = 0.5,
                 reroll_deg: float = 8.0, iris: bool = True, min_face_px: int = 16,
                 model_dir: Path | None = None, threads: int = 1) -> None:
        if not 1.0 <= roi_scale <= 3.0:
            raise ConfigError(f"mesh roi_scale must be within [1, 3], got {roi_scale}")
        self.roi_scale = roi_scale
        self.min_confidence = min_confidence
        self.reroll_rad = math.radians(reroll_deg)
        self.min_face_px = min_face_px
        folder = model_dir or FACE_MODEL_DIR
        self.mesh = open_session(folder / "face_landmark.onnx",
                                 (1, 3, MESH_INPUT_PX, MESH_INPUT_PX), threads)
        self.iris = (open_session(folder / "iris_landmark.onnx",
                                  (1, 3, IRIS_INPUT_PX, IRIS_INPUT_PX), threads)
                     if iris else None)
        self._check_outputs()
        # Each named landmark as a weighted mean of mesh points: one matrix product.
        self._names_from_mesh = names_from_mesh(MESH_POINTS)

    def _check_outputs(self) -> None:
        sizes = {int(np.prod(o.shape)) for o in self.mesh.get_outputs()}
        if sizes != {MESH_POINTS * 3, 1}:
            raise ModelError(f"face mesh model outputs sizes {sorted(sizes)}, expected "
                             f"{MESH_POINTS * 3} mesh values and 1 face-presence score")
        if self.iris is not None:
            sizes = {int(np.prod(o.shape)) for o in self.iris.get_outputs()}
            if sizes != {213, 15}:
                raise ModelError(f"iris model outputs sizes {sorted(sizes)}, expected 213 "
                                 "eye-contour values and 15 iris values")

    def locate(self, image: npt.NDArray[np.generic], box_px: tuple[int, int, int, int],
               iris: bool = True) -> FaceLandmarks | None:
        """Landmarks of the face in ``box_px`` (x, y, w, h), or None when the mesh sees none.

        ``iris=False`` skips the iris model (two thirds of the cost) this time.
        """
        check_ir_frame(image, self.min_face_px)
        x, y, w, h = box_px
        if w <= 0 or h <= 0:
            raise InputError(f"face box must have a positive size, got {box_px}")
        centre = (x + w / 2.0, y + h / 2.0)
        side = max(w, h) * self.roi_scale
        mesh, presence = self._run_mesh(image, centre, side, 0.0)
        roll = math.atan2(mesh[263, 1] - mesh[33, 1], mesh[263, 0] - mesh[33, 0])
        if abs(roll) > self.reroll_rad:
            # Re-crop upright about the first mesh's own centre and size.
            lo, hi = mesh[:, :2].min(axis=0), mesh[:, :2].max(axis=0)
            mid = ((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0)
            mesh, presence = self._run_mesh(image, mid, side, roll)
        if presence < self.min_confidence:
            return None
        points = self._names_from_mesh @ mesh[:, :2]
        if self.iris is None or not iris:
            return FaceLandmarks(points, presence, None, mesh)
        irises, contours = self._run_iris(image, mesh)
        # The face mesh barely moves its lids when an eye closes; the iris model's eye
        # contour follows them (what MediaPipe's refined landmarks do).
        for row, side in enumerate(("r", "l")):
            for part, k in _LID_FROM_CONTOUR.items():
                points[LANDMARK_NAMES.index(f"eye_{side}_{part}")] = contours[row, k]
        return FaceLandmarks(points, presence, irises, mesh, lids_refined=True)

    def _run_mesh(self, image: npt.NDArray[np.generic], centre: tuple[float, float],
                  side: float, angle: float) -> tuple[npt.NDArray[np.float64], float]:
        """(468, 3) mesh in image pixels and face-presence probability for one crop."""
        transform = roi_transform(centre, side, angle, MESH_INPUT_PX)
        unit = self._crop(image, transform, MESH_INPUT_PX)
        values = dict(zip([o.name for o in self.mesh.get_outputs()],
                          self.mesh.run(None, {self.mesh.get_inputs()[0].name:
                                               to_model_input(unit, 0.0, 1.0)})))
        raw = next(v for v in values.values() if v.size == MESH_POINTS * 3)
        score = next(v for v in values.values() if v.size == 1)
        mesh = raw.reshape(MESH_POINTS, 3).astype(np.float64)
        inverse = cv2.invertAffineTransform(transform)
        out = np.empty_like(mesh)
        out[:, :2] = _apply(inverse, mesh[:, :2])
        out[:, 2] = mesh[:, 2] * (side / MESH_INPUT_PX)
        return out, _sigmoid(float(score.ravel()[0]))

    def _run_iris(self, image: npt.NDArray[np.generic], mesh: npt.NDArray[np.float64]
                  ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Irises (2, 3: centre x, y, radius) and eye contours (2, 16, 2), right eye first."""
        assert self.iris is not None
        result = np.empty((2, 3))
        contours = np.empty((2, EYE_CONTOUR_POINTS, 2))
        for row, (a, b) in enumerate(_EYE_CORNERS):
            first, second = mesh[a, :2], mesh[b, :2]
            centre = (float(first[0] + second[0]) / 2.0, float(first[1] + second[1]) / 2.0)
            width = float(np.linalg.norm(second - first))
            # Both corner pairs run from image left to image right: the eye line's angle.
            angle = math.atan2(second[1] - first[1], second[0] - first[0])
            transform = roi_transform(centre, max(width * IRIS_ROI_SCALE, 2.0), angle,
                                      IRIS_INPUT_PX, mirror=row == 1)
            unit = self._crop(image, transform, IRIS_INPUT_PX)
            outputs = self.iris.run(None, {self.iris.get_inputs()[0].name:
                                           to_model_input(unit, 0.0, 1.0)})
            inverse = cv2.invertAffineTransform(transform)
            raw = next(v for v in outputs if v.size == 15).reshape(5, 3)[:, :2]
            points = _apply(inverse, raw.astype(np.float64))
            radius = float(np.linalg.norm(points[1:] - points[0], axis=1).mean())
            result[row] = (points[0, 0], points[0, 1], radius)
            contour = next(v for v in outputs if v.size == 213).reshape(71, 3)
            contours[row] = _apply(inverse, contour[:EYE_CONTOUR_POINTS, :2].astype(np.float64))
        return result, contours

    @staticmethod
    def _crop(image: npt.NDArray[np.generic], transform: npt.NDArray[np.float64],
              out_px: int) -> npt.NDArray[np.float32]:
        """Cut the crop out as float32 in [0, 1], contrast-stretched on its own content."""
        crop = cv2.warpAffine(image, transform, (out_px, out_px), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return stretch_to_unit(crop)


LANDMARKER_CHOICES = ("mesh", "none")

# Crop side per face-box side for each detector's box convention: BlazeFace boxes are
# tight squares from brow to chin (MediaPipe crops 1.5 times them); the blob detector's
# boxes hold the whole head silhouette, so a smaller margin gives the mesh the same view.
# Measured on the rig with `affect eval detectors`.
ROI_SCALE_BY_DETECTOR = {"blob": 1.2, "blazeface": 1.5, "blazeface_whole": 1.5,
                         "blazeface_short": 1.5}


def make_landmarker(name: str, detector: str = "blazeface") -> MeshLandmarker | None:
    """Make the landmarker called ``name`` ("mesh" or "none") for boxes from ``detector``."""
    if name == "mesh":
        if detector not in ROI_SCALE_BY_DETECTOR:
            raise ConfigError(f"unknown face detector {detector!r}; use one of "
                              f"{', '.join(ROI_SCALE_BY_DETECTOR)}")
        return MeshLandmarker(roi_scale=ROI_SCALE_BY_DETECTOR[detector])
    if name == "none":
        return None
    raise ConfigError(f"unknown landmarker {name!r}; use one of {', '.join(LANDMARKER_CHOICES)}")
