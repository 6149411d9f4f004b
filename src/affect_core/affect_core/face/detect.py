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

"""Face detection on active-IR frames by illuminated-blob segmentation.

With an illuminator beside the lens, a face at 0.5-2 m returns several times more light
than a wall behind it (inverse-square fall-off), so faces are compact bright, roughly
elliptical blobs. This detector thresholds a downsampled frame (Otsu on log intensity)
and keeps blobs of face-like size, aspect and fill. It needs no weights and costs about
a millisecond, but it fails when ambient IR lights the background as brightly as the
face, or when faces touch; those misses show up as counted empty detections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.errors import InputError


@dataclass(frozen=True)
class Detection:
    """A face box in full-resolution pixels and a score in [0, 1]."""

    box_px: tuple[int, int, int, int]  # x, y, width, height
    score: float


def to_float_image(image: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    """Convert a mono8/mono16 frame to float32 in [0, 1] of its full scale."""
    if image.ndim != 2:
        raise InputError(f"IR frames must be single-channel (mono8/mono16), got shape "
                         f"{image.shape}")
    if image.dtype == np.uint16:
        return image.astype(np.float32) * np.float32(1.0 / 65535.0)
    if image.dtype == np.uint8:
        return image.astype(np.float32) * np.float32(1.0 / 255.0)
    raise InputError(f"IR frames must be mono8 or mono16, got dtype {image.dtype}")


class BlobFaceDetector:
    """Finds bright, face-shaped blobs; see the module docstring for when it works."""

    def __init__(self, min_face_px: int = 24, max_faces: int = 4, downsample: int = 4) -> None:
        self.min_face_px = min_face_px
        self.max_faces = max_faces
        self.downsample = downsample

    def detect(self, image: npt.NDArray[np.generic], every_tile: bool = False,
               faces_px: Sequence[tuple[int, int, int, int]] = ()) -> list[Detection]:
        """Face boxes in ``image`` (mono8 or mono16), best first, at most max_faces.

        ``every_tile`` and ``faces_px`` are the tiled detectors' (FaceDetector); this
        one has no tiles.
        """
        if image.size == 0 or min(image.shape[:2]) < self.min_face_px:
            raise InputError(f"IR frame of shape {image.shape} is too small to hold a face of "
                             f"{self.min_face_px} px")
        scale = self.downsample
        small = cv2.resize(to_float_image(image), (image.shape[1] // scale,
                                                   image.shape[0] // scale),
                           interpolation=cv2.INTER_AREA)
        log_img = np.log1p(small * 1000.0)
        lo, hi = float(log_img.min()), float(log_img.max())
        if hi - lo < 1e-6:
            return []
        norm = ((log_img - lo) * (255.0 / (hi - lo))).astype(np.uint8)
        _, binary = cv2.threshold(norm, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        found: list[Detection] = []
        min_side = self.min_face_px / scale
        for i in range(1, count):
            x, y, w, h, _ = (int(v) for v in stats[i])
            if max(w, h) < min_side / 2:
                continue
            # Refine locally: Otsu inside a window around the seed separates the face from
            # its own surround even when the global threshold cut through the face.
            refined = self._refine(norm, (x, y, w, h))
            if refined is None:
                continue
            box, score = refined
            if box[2] < min_side or box[3] < min_side:
                continue
            full = (box[0] * scale, box[1] * scale, box[2] * scale, box[3] * scale)
            if any(iou(full, d.box_px) > 0.3 for d in found):
                continue
            found.append(Detection(full, score))
        found.sort(key=lambda d: (-d.score, -d.box_px[2] * d.box_px[3]))
        return found[: self.max_faces]

    @staticmethod
    def _refine(norm: npt.NDArray[np.uint8], seed: tuple[int, int, int, int]
                ) -> tuple[tuple[int, int, int, int], float] | None:
        """Face box and score from a local threshold around ``seed``, or None."""
        x, y, w, h = seed
        side = int(max(w, h) * 2.2) + 4
        cx, cy = x + w // 2, y + h // 2
        x0, y0 = max(cx - side // 2, 0), max(cy - side // 2, 0)
        x1, y1 = min(cx + side // 2, norm.shape[1]), min(cy + side // 2, norm.shape[0])
        roi = norm[y0:y1, x0:x1]
        if roi.size < 16:
            return None
        level, local = cv2.threshold(roi, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        local = cv2.morphologyEx(local, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(local, connectivity=8)
        label = labels[min(cy - y0, roi.shape[0] - 1), min(cx - x0, roi.shape[1] - 1)]
        if label == 0:
            return None
        bx, by, bw, bh, area = (int(v) for v in stats[label])
        if bx == 0 or by == 0 or bx + bw >= roi.shape[1] or by + bh >= roi.shape[0]:
            if not (x0 == 0 or y0 == 0 or x1 == norm.shape[1] or y1 == norm.shape[0]):
                return None  # the blob runs out of its window: a wall region, not a head
        aspect = bh / max(bw, 1)
        fill = area / float(max(bw * bh, 1))
        if not 1.0 <= aspect <= 2.0 or fill < 0.6:
            return None
        inside = float(roi[labels == label].mean())
        outside = float(roi[labels == 0].mean()) if (labels == 0).any() else 0.0
        contrast = (inside - outside) / 255.0
        if contrast < 0.12:
            return None
        score = float(np.clip(contrast * 2.0, 0.0, 1.0) * np.clip(1.0 - abs(fill - 0.785) * 2.0,
                                                                  0.0, 1.0))
        return (x0 + bx, y0 + by, bw, bh), score


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0
