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

"""Photographs through the lab's own per-frame face path: detector, tracker, crop.

A labelled photograph is scored, and trained on, as the lab would see it: one frame
through :class:`~affect_core.face.tracker.FaceTracker` with the configured detector,
whose crop (box x ``crop_margin``, resized to ``crop_size_px``) is what the model gets.
Face-crop data sets (LFW, FER2013) cut the face tightly, while a camera frame shows the
face with its surroundings; MediaPipe's full-range detector misses most faces that fill
its whole input, so each photograph is framed first: a border of ``border`` times its side
on every side (edge pixels repeated), which puts the face at the size a near person has
in a camera frame. Consecutive photographs are spaced further apart in time than any
tracker memory, so each is a new person.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from affect_core.face.detectors import REAL_DETECTOR
from affect_core.face.tracker import FaceTracker, FaceTrackerConfig
from affect_core.types import FaceObservation, ImageFrame

PHOTO_BORDER = 0.5  # border on each side, as a share of the photograph's side
PHOTO_DETECTOR = REAL_DETECTOR  # what every source but the rig gets by default
_PHOTO_SPACING_NS = 3_600 * 1_000_000_000  # an hour between photographs: no re-id
PHOTO_FRAME_ID = "photo"


def framed(image: npt.NDArray[np.uint8], border: float = PHOTO_BORDER
           ) -> npt.NDArray[np.uint8]:
    """Frame ``image`` with a border of ``border`` x its side, edge pixels repeated."""
    pad = int(round(border * max(image.shape[:2])))
    if pad <= 0:
        return image
    return np.asarray(cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE),
                      np.uint8)


@dataclass(frozen=True)
class PhotoFace:
    """What the face path found in one photograph."""

    observation: FaceObservation | None  # the largest face, None when none was found
    faces_found: int


class PhotoFaces:
    """Runs photographs one by one through a FaceTracker, as single frames."""

    def __init__(self, tracker_params: Mapping[str, Any] | None = None,
                 border: float = PHOTO_BORDER) -> None:
        params = {"detector": PHOTO_DETECTOR, **dict(tracker_params or {})}
        self.tracker = FaceTracker(FaceTrackerConfig.from_params(params))
        self.border = border
        self._stamp_ns = 0

    def find(self, image: npt.NDArray[np.uint8]) -> PhotoFace:
        """Find the largest face of ``image`` (8-bit grey) with the tracker's crop."""
        self._stamp_ns += _PHOTO_SPACING_NS
        frame = ImageFrame(self._stamp_ns, PHOTO_FRAME_ID, "mono8", framed(image, self.border))
        faces = self.tracker.process(frame).faces
        if not faces:
            return PhotoFace(None, 0)
        largest = max(faces, key=lambda f: f.box_px[2] * f.box_px[3])
        return PhotoFace(largest, len(faces))


@dataclass(frozen=True)
class PhotoCrops:
    """The face path's result for every photograph of a data set, in record order.

    Where no face was found, ``found`` is False, the crop is all zeros and the quality
    NaN. ``quality`` holds pose stability, lighting consistency, depth consistency and
    sharpness per photograph (FrameQuality's fields, in that order).
    """

    crops: npt.NDArray[np.uint8]  # (N, S, S)
    found: npt.NDArray[np.bool_]
    faces_found: npt.NDArray[np.int64]
    quality: npt.NDArray[np.float64]  # (N, 4)

    def __len__(self) -> int:
        return len(self.found)


def photo_crops(images: Iterable[npt.NDArray[np.uint8]], count: int,
                tracker_params: Mapping[str, Any] | None = None,
                progress: bool = False) -> PhotoCrops:
    """Run ``count`` photographs through :class:`PhotoFaces`, keeping crop and quality."""
    faces = PhotoFaces(tracker_params)
    size = faces.tracker.config.crop_size_px
    crops = np.zeros((count, size, size), np.uint8)
    found = np.zeros(count, bool)
    faces_found = np.zeros(count, np.int64)
    quality = np.full((count, 4), np.nan)
    for i, image in enumerate(tqdm(images, total=count, disable=not progress,
                                   desc="faces", unit="photo", leave=False)):
        result = faces.find(image)
        faces_found[i] = result.faces_found
        if result.observation is None:
            continue
        found[i] = True
        crops[i] = np.asarray(result.observation.crop, np.uint8)
        q = result.observation.quality
        quality[i] = (q.pose_stability, q.lighting_consistency, q.depth_consistency,
                      q.sharpness)
    return PhotoCrops(crops, found, faces_found, quality)
