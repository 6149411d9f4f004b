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


"""Face detection with MediaPipe's BlazeFace on ONNX Runtime.

BlazeFace is a single-shot detector trained on real photographs: short range for faces
that fill much of the frame (within about 2 m of a phone camera), full range for smaller
faces (up to about 5 m). An IR frame is letterboxed into the model's square input,
contrast-stretched (``onnx_models.stretch_to_unit``) and copied into three channels.
Boxes are decoded from anchor offsets (MediaPipe's SSD anchor layout), thresholded on the
sigmoid score and merged by weighted non-maximum suppression as MediaPipe does: the
boxes that a kept box suppresses are averaged into it, weighted by score, which steadies
the box from frame to frame.

Tiled (``tiles`` 2), each pass runs the model on the whole frame and on overlapping
tiles. A tile's box that reaches one of the tile's inner edges (a side that is not the
frame's) is dropped: it may be a face cut by the tile, which the weighted merge would
pull towards the cut, and a face small enough to need a tile lies whole in another one
(tiles overlap by a quarter of their side: 160 x 120 px in a 640x480 frame).
``tiles_per_pass`` below the number of tiles runs that many per pass, taking turns, and
the tile centred nearest each face given in ``faces_px``, so every tile is looked at
every few passes for a fraction of the cost; ``every_tile`` runs them all in one pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.errors import ConfigError, ModelError
from affect_core.face.detect import Detection
from affect_core.face.onnx_models import (
    FACE_MODEL_DIR,
    check_ir_frame,
    letterbox,
    open_session,
    stretch_to_unit,
    to_model_input,
)

# The raw score is clipped before the sigmoid, as MediaPipe does, to avoid overflow.
_RAW_SCORE_LIMIT = 80.0


@dataclass(frozen=True)
class BlazeFaceVariant:
    """One BlazeFace model: its file, input side and SSD anchor layout."""

    file_name: str
    input_px: int
    strides: tuple[int, ...]
    anchors_per_cell: tuple[int, ...]


VARIANTS = {
    # modules/face_detection/face_detection_short_range_common.pbtxt: 896 anchors.
    "short": BlazeFaceVariant("face_detection_short_range.onnx", 128, (8, 16), (2, 6)),
    # modules/face_detection/face_detection_full_range_common.pbtxt: 2304 anchors.
    "full": BlazeFaceVariant("face_detection_full_range.onnx", 192, (4,), (1,)),
}


def anchor_centres(variant: BlazeFaceVariant) -> npt.NDArray[np.float32]:
    """(N, 2) anchor centres in [0, 1], in the order of the model's outputs.

    Each stride contributes a grid of cells; every cell repeats its centre once per
    anchor (MediaPipe's layers of equal stride are merged, and fixed anchor size makes
    the anchors of a cell identical).
    """
    centres = []
    for stride, repeats in zip(variant.strides, variant.anchors_per_cell):
        cells = variant.input_px // stride
        grid = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")
        cell_centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(cell_centres, repeats, axis=0))
    return np.concatenate(centres, axis=0)


class BlazeFaceDetector:
    """BlazeFace on mono8/mono16 IR frames; boxes in full-resolution pixels, best first."""

    def __init__(self, variant: str = "full", min_score: float = 0.5, nms_iou: float = 0.3,
                 min_face_px: int = 24, max_faces: int = 4, stretch: bool = True,
                 tiles: int = 1, model_dir: Path | None = None, threads: int = 1,
                 tiles_per_pass: int = 0) -> None:
        if variant not in VARIANTS:
            raise ConfigError(f"unknown BlazeFace variant {variant!r}; use one of "
                              f"{', '.join(VARIANTS)}")
        self.variant = VARIANTS[variant]
        self.min_score = min_score
        self.nms_iou = nms_iou
        self.min_face_px = min_face_px
        self.max_faces = max_faces
        self.stretch = stretch
        if not 1 <= tiles <= 4:
            raise ConfigError(f"BlazeFace tiles must be within [1, 4], got {tiles}")
        self.tiles = tiles
        grid = tiles * tiles if tiles > 1 else 0
        if not 0 <= tiles_per_pass <= grid:
            raise ConfigError(f"BlazeFace tiles_per_pass must be within [0, {grid}] for "
                              f"{tiles}x{tiles} tiles (0: all), got {tiles_per_pass}")
        self.tiles_per_pass = tiles_per_pass or grid
        self._next_tile = 0  # the tile that starts the next pass, when tiles take turns
        side = self.variant.input_px
        path = (model_dir or FACE_MODEL_DIR) / self.variant.file_name
        self.session = open_session(path, (1, 3, side, side), threads)
        self._input_name = self.session.get_inputs()[0].name
        self.anchors = anchor_centres(self.variant)
        outputs = {o.name: tuple(o.shape) for o in self.session.get_outputs()}
        shapes = sorted(outputs.values())
        if shapes != [(1, len(self.anchors), 1), (1, len(self.anchors), 16)]:
            raise ModelError(f"face model {path} outputs {outputs}, expected boxes "
                             f"(1, {len(self.anchors)}, 16) and scores (1, "
                             f"{len(self.anchors)}, 1)")
        self._box_output = next(n for n, s in outputs.items() if s[-1] == 16)
        self._score_output = next(n for n, s in outputs.items() if s[-1] == 1)

    def detect(self, image: npt.NDArray[np.generic], every_tile: bool = False,
               faces_px: Sequence[tuple[int, int, int, int]] = ()) -> list[Detection]:
        """Face boxes in ``image`` (mono8 or mono16), best first, at most max_faces.

        ``every_tile`` runs every tile in this pass, whatever the turn (for a search, and
        for passes so rare that their cost is spread thin anyway); the turns go on from
        where they were.
        ``faces_px`` (x, y, w, h): faces followed so far; while tiles take turns, the tile
        centred nearest each of them runs in every pass too, so the full-range model keeps
        seeing a face that only a tile finds.
        """
        check_ir_frame(image, self.min_face_px)
        height, width = image.shape[:2]
        boxes, scores = [], []
        regions = (self._regions(image.shape) if every_tile
                   else self._pass_regions(image.shape, faces_px))
        for x0, y0, x1, y1 in regions:
            region_boxes, region_scores = self._candidates(image[y0:y1, x0:x1])
            region_boxes[:, :2] += (x0, y0)
            whole = _clear_of_inner_edges(region_boxes, (x0, y0, x1, y1), width, height)
            region_boxes, region_scores = region_boxes[whole], region_scores[whole]
            boxes.append(region_boxes)
            scores.append(region_scores)
        all_scores = np.concatenate(scores)
        if all_scores.size == 0:
            return []
        return self._suppress(np.concatenate(boxes), all_scores, image.shape)

    def _pass_regions(self, shape: tuple[int, ...],
                      faces_px: Sequence[tuple[int, int, int, int]] = ()
                      ) -> list[tuple[int, int, int, int]]:
        """List this pass's regions: the whole frame, the faces' tiles, the tiles in turn."""
        regions = self._regions(shape)
        tiles = regions[1:]
        if self.tiles_per_pass >= len(tiles):
            return regions
        start = self._next_tile
        self._next_tile = (start + self.tiles_per_pass) % len(tiles)
        chosen = {_nearest_tile(tiles, face) for face in faces_px}
        chosen.update((start + k) % len(tiles) for k in range(self.tiles_per_pass))
        return [regions[0]] + [tiles[i] for i in sorted(chosen)]

    def _regions(self, shape: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
        """List the whole frame, then a tiles x tiles grid overlapping by a quarter of a tile.

        The model sees faces only above about a tenth of its input side; a tile gives a
        small face more model pixels (two tiles per side: 1.6 times as many).
        """
        height, width = shape[:2]
        regions = [(0, 0, width, height)]
        if self.tiles > 1:
            tile_w = min(width, int(math.ceil(width / self.tiles * 1.25)))
            tile_h = min(height, int(math.ceil(height / self.tiles * 1.25)))
            for row in range(self.tiles):
                y0 = (height - tile_h) * row // (self.tiles - 1)
                for col in range(self.tiles):
                    x0 = (width - tile_w) * col // (self.tiles - 1)
                    regions.append((x0, y0, x0 + tile_w, y0 + tile_h))
        return regions

    def _candidates(self, image: npt.NDArray[np.generic]
                    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Boxes (x, y, w, h) in ``image`` pixels and scores above min_score."""
        side = self.variant.input_px
        square, scale, valid = letterbox(image, side)
        if self.stretch:
            unit = stretch_to_unit(square, valid)
        else:
            unit = square.astype(np.float32) * np.float32(1.0 / np.iinfo(image.dtype).max)
        raw_boxes, raw_scores = self.session.run(
            [self._box_output, self._score_output],
            {self._input_name: to_model_input(unit, -1.0, 1.0)})
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores[0, :, 0].astype(np.float64),
                                              -_RAW_SCORE_LIMIT, _RAW_SCORE_LIMIT)))
        keep = np.flatnonzero(scores >= self.min_score)
        # Centre offsets are in model pixels from the anchor; width and height in model
        # pixels. Convert to (x, y, w, h) in image pixels.
        raw = raw_boxes[0, keep, :4].astype(np.float64)
        centre = (raw[:, :2] / side + self.anchors[keep]) * (side / scale)
        size = raw[:, 2:4] * (1.0 / scale)
        return np.concatenate([centre - size / 2.0, size], axis=1), scores[keep]

    def _suppress(self, boxes: npt.NDArray[np.float64], scores: npt.NDArray[np.floating],
                  shape: tuple[int, ...]) -> list[Detection]:
        """Weighted non-maximum suppression, then size filtering and clipping."""
        kept = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), self.min_score, self.nms_iou)
        found: list[Detection] = []
        for index in np.asarray(kept, dtype=np.int64).ravel():
            overlap = _iou_many(boxes[index], boxes) >= self.nms_iou
            weights = scores[overlap].astype(np.float64)
            merged = (boxes[overlap] * weights[:, None]).sum(axis=0) / weights.sum()
            x0, y0 = max(merged[0], 0.0), max(merged[1], 0.0)
            x1 = min(merged[0] + merged[2], float(shape[1]))
            y1 = min(merged[1] + merged[3], float(shape[0]))
            if min(x1 - x0, y1 - y0) < self.min_face_px:
                continue
            box = (int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0)))
            found.append(Detection(box, float(scores[index])))
            if len(found) == self.max_faces:
                break
        return found


def _nearest_tile(tiles: Sequence[tuple[int, int, int, int]],
                  box_px: tuple[int, int, int, int]) -> int:
    """Index of the tile whose centre is nearest the box's (it holds the box most whole)."""
    cx, cy = box_px[0] + box_px[2] / 2.0, box_px[1] + box_px[3] / 2.0
    return min(range(len(tiles)), key=lambda i: ((tiles[i][0] + tiles[i][2]) / 2.0 - cx) ** 2
               + ((tiles[i][1] + tiles[i][3]) / 2.0 - cy) ** 2)


def _clear_of_inner_edges(boxes: npt.NDArray[np.float64], region: tuple[int, int, int, int],
                          width: int, height: int) -> npt.NDArray[np.bool_]:
    """Mark the (x, y, w, h) boxes that stay inside the region's sides that are not the frame's.

    A box within a pixel of such a side, or beyond it, may hold a face the tile cuts.
    """
    x0, y0, x1, y1 = region
    keep = np.ones(len(boxes), bool)
    if x0 > 0:
        keep &= boxes[:, 0] > x0 + 1.0
    if y0 > 0:
        keep &= boxes[:, 1] > y0 + 1.0
    if x1 < width:
        keep &= boxes[:, 0] + boxes[:, 2] < x1 - 1.0
    if y1 < height:
        keep &= boxes[:, 1] + boxes[:, 3] < y1 - 1.0
    return keep


def _iou_many(box: npt.NDArray[np.float64],
              boxes: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Intersection over union of one (x, y, w, h) box with each row of ``boxes``."""
    ix = np.clip(np.minimum(box[0] + box[2], boxes[:, 0] + boxes[:, 2])
                 - np.maximum(box[0], boxes[:, 0]), 0.0, None)
    iy = np.clip(np.minimum(box[1] + box[3], boxes[:, 1] + boxes[:, 3])
                 - np.maximum(box[1], boxes[:, 1]), 0.0, None)
    inter = ix * iy
    union = box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - inter
    return np.where(union > 0.0, inter / np.maximum(union, 1e-12), 0.0)
