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

"""The tiled BlazeFace detector's tiles: taking turns, and faces cut by a tile.

Frames hold scikit-image's astronaut photograph (a real face, visible light, not IR) on
a 640x480 mono16 frame. Its tiles are 400x300 px: x from 0 or 240, y from 0 or 180.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from affect_core.errors import ConfigError
from affect_core.face import blazeface
from affect_core.face.blazeface import BlazeFaceDetector
from affect_core.face.tracker import FaceTracker, FaceTrackerConfig
from affect_core.types import ImageFrame

skimage_data = pytest.importorskip("skimage.data")

# Small enough (a box of about 27 px) that only a tile finds it, one in each corner: each
# lies whole in one tile only.
CORNERS = ((60, 60), (500, 60), (60, 380), (500, 380))


def _frame(photo_width_px: int, positions: tuple[tuple[int, int], ...]) -> np.ndarray:
    face = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2GRAY)[20:260, 120:330]
    scale = photo_width_px / face.shape[1]
    face = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    face = face.astype(np.uint16) * 200 + 4000
    ir = np.full((480, 640), 3000, np.uint16)
    h, w = face.shape
    for x, y in positions:
        ir[y:y + h, x:x + w] = face
    return ir


class _CountingRuns:
    """Count the model runs of a detector's session."""

    def __init__(self, detector: BlazeFaceDetector) -> None:
        self.session, self.runs = detector.session, 0
        detector.session = self  # type: ignore[assignment]

    def run(self, *args, **kwargs):
        self.runs += 1
        return self.session.run(*args, **kwargs)


def test_tiles_take_turns_and_together_find_what_one_full_pass_finds() -> None:
    image = _frame(70, CORNERS)
    full = BlazeFaceDetector("full", tiles=2, max_faces=8).detect(image)
    assert len(full) == 4
    turns = BlazeFaceDetector("full", tiles=2, max_faces=8, tiles_per_pass=1)
    runs = _CountingRuns(turns)
    passes = [turns.detect(image) for _ in range(5)]
    assert runs.runs == 10  # the whole frame and one tile, per pass
    # The tiles in order: top left, top right, bottom left, bottom right; then again.
    assert [[d.box_px for d in p] for p in passes[:4]] == [[d.box_px] for d in
                                                           sorted(full, key=_grid_order)]
    assert passes[4] == passes[0]
    two = BlazeFaceDetector("full", tiles=2, max_faces=8, tiles_per_pass=2)
    assert sorted(d.box_px for p in (two.detect(image), two.detect(image)) for d in p) == \
        sorted(d.box_px for d in full)


def _grid_order(detection) -> tuple[int, int]:
    x, y, _, _ = detection.box_px
    return (y > 240, x > 320)


def test_a_face_cut_by_a_tile_keeps_the_box_of_the_views_that_hold_it() -> None:
    # Crossing tile 0's right side (x = 400): tile 0 sees the face cut, and its box
    # reaches the cut; the whole frame holds the face.
    image = _frame(120, ((318, 100),))
    detector = BlazeFaceDetector("full", tiles=2, tiles_per_pass=1)
    cut_boxes, _ = detector._candidates(image[0:300, 0:400])
    assert len(cut_boxes) and (cut_boxes[:, 0] + cut_boxes[:, 2] >= 399.0).all()
    whole = BlazeFaceDetector("full").detect(image)
    assert len(whole) == 1
    # Tile 0's turn: its box is dropped, the whole frame's stays as it is.
    assert detector.detect(image) == whole


def test_boxes_near_a_tile_side_inside_the_frame_are_dropped() -> None:
    boxes = np.array([[250.0, 10.0, 40.0, 40.0],    # clear of every side
                      [239.5, 10.0, 40.0, 40.0],    # over the tile's left side
                      [300.0, 200.0, 40.0, 99.5],   # within a pixel of its bottom
                      [600.0, 0.0, 40.0, 40.0]])    # on the frame's right and top edges
    keep = blazeface._clear_of_inner_edges(boxes, (240, 0, 640, 300), 640, 480)
    assert keep.tolist() == [True, False, False, True]


def test_the_tracker_looks_at_its_faces_tiles_and_one_more_in_turn() -> None:
    first = _frame(70, CORNERS[:1])
    every = _frame(70, CORNERS)  # three more small faces, from frame 1 on
    found_at: dict[int, list[int]] = {}
    runs = {}
    for tiles_per_pass in (1, 4):
        tracker = FaceTracker(FaceTrackerConfig.from_params(
            {"detector": "blazeface", "tiles_per_pass": tiles_per_pass, "detect_every_n": 4}))
        counter = _CountingRuns(tracker.detector)
        seen: dict[str, int] = {}
        for i in range(20):
            frame = ImageFrame(int(i * 1e9 / 120), "ir_camera_optical_frame", "mono16",
                               first if i == 0 else every)
            for face in tracker.process(frame).faces:
                seen.setdefault(face.person_id, i)
        found_at[tiles_per_pass] = sorted(seen.values())
        runs[tiles_per_pass] = counter.runs
        assert len(seen) == 4 and tracker.stats.tracks_lost == 0
    # Passes at frames 0, 4, 8, 12, 16. The first, a search, runs every tile. With one
    # tile per pass, each later one runs the tiles of the faces followed and the next in
    # turn (tile 0 at frame 4, 1 at 8, 2 at 12, 3 at 16): a new face at each pass from 8.
    assert found_at == {1: [0, 8, 12, 16], 4: [0, 4, 4, 4]}
    assert runs == {1: 5 + 2 + 3 + 4 + 5, 4: 5 * 5}


def test_tiles_per_pass_is_checked() -> None:
    with pytest.raises(ConfigError, match="tiles_per_pass"):
        BlazeFaceDetector("full", tiles=2, tiles_per_pass=5)
    with pytest.raises(ConfigError, match="tiles_per_pass"):
        FaceTrackerConfig.from_params({"tiles_per_pass": 0})
