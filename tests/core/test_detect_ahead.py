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

"""The face tracker's whole-frame detection run ahead on its own thread (detect_ahead_frames).

Frames hold scikit-image's astronaut photograph (a real face, visible light, not IR), so
BlazeFace with tiles finds the faces as on a camera's frames; no landmark model, so the
periodic pass runs every ``detect_every_n`` frames and the short-range model follows.
"""

from __future__ import annotations

import threading
import time

import pytest

from affect_core.bench_real import photo_camera
from affect_core.errors import ConfigError
from affect_core.face.detect import Detection
from affect_core.face.tracker import FaceTracker, FaceTrackerConfig
from affect_core.types import ImageFrame
from tests.core.photo_faces import two_faces_from

skimage_data = pytest.importorskip("skimage.data")

EVERY_N = 6


def _tracker(**params) -> FaceTracker:
    return FaceTracker(FaceTrackerConfig.from_params(
        {"detector": "blazeface", "landmarker": "none", "detect_every_n": EVERY_N,
         **params}), photo_camera())


def _frames(second_from: int, count: int) -> list[ImageFrame]:
    """One face throughout, drifting right; a second from frame ``second_from`` on."""
    return two_faces_from(second_from, count, drift_px_per_frame=0.5)


class _Recorded:
    """Wrap a detector's detect: note the thread of each call, optionally take longer."""

    def __init__(self, detect, delay_s: float = 0.0) -> None:
        self.detect, self.delay_s, self.threads = detect, delay_s, []

    def __call__(self, image, **tiles):
        self.threads.append(threading.current_thread().name)
        time.sleep(self.delay_s)
        return self.detect(image, **tiles)


def _run(tracker: FaceTracker, frames: list[ImageFrame]) -> list[list[tuple[str, tuple]]]:
    return [[(f.person_id, f.box_px) for f in tracker.process(ir).faces] for ir in frames]


def test_a_new_face_joins_exactly_the_lag_after_the_pass_that_found_it_began() -> None:
    appears, lag = 20, 3
    frames = _frames(appears, 60)
    in_frame = [len(f) for f in _run(_tracker(), frames)]
    ahead = _tracker(detect_ahead_frames=lag)
    recorded = _Recorded(ahead.detector.detect)
    ahead.detector.detect = recorded
    counts = [len(f) for f in _run(ahead, frames)]
    # Passes begin on frames 0, 6, 12, 18, 24...: the first after frame 20 is frame 24.
    first_pass = -(-appears // EVERY_N) * EVERY_N
    assert in_frame.index(2) == first_pass
    assert counts.index(2) == first_pass + lag
    assert counts[:first_pass + lag] == [1] * (first_pass + lag)
    assert counts[first_pass + lag:] == [2] * (len(frames) - first_pass - lag)
    assert ahead.stats.faces_found_ahead == 1 and ahead.stats.tracks_started == 2
    # The first pass (no face tracked yet) runs in the frame; every later one ahead.
    assert recorded.threads[0] == threading.current_thread().name
    assert recorded.threads[1:] and all(t.startswith("affect-detect")
                                        for t in recorded.threads[1:])
    assert ahead.stats.detector_runs == len(recorded.threads) == -(-len(frames) // EVERY_N)


def test_the_results_do_not_depend_on_how_long_the_pass_takes() -> None:
    frames = _frames(20, 48)
    fast = _tracker(detect_ahead_frames=2)
    slow = _tracker(detect_ahead_frames=2)
    slow.detector.detect = _Recorded(slow.detector.detect, delay_s=0.05)
    # A replay on a loaded machine gives the live run's faces, boxes and ids.
    assert _run(slow, frames) == _run(fast, frames)


def test_a_face_the_pass_ahead_found_that_left_meanwhile_starts_no_track() -> None:
    frames = _frames(1000, 30)  # one face
    tracker = _tracker(detect_ahead_frames=4)
    detect = tracker.detector.detect
    ghost = (400, 150, 115, 115)  # where a second face was when the pass began

    def with_a_ghost(image, **tiles):
        found = detect(image, **tiles)
        if threading.current_thread() is threading.main_thread():
            return found
        return found + [Detection(ghost, 0.9)]  # only the passes run ahead

    tracker.detector.detect = with_a_ghost
    counts = [len(f) for f in _run(tracker, frames)]
    assert counts == [1] * len(frames)
    assert tracker.stats.faces_found_ahead == 0 and tracker.stats.tracks_started == 1
    assert tracker.stats.detector_runs == 5  # frames 0, 6, 12, 18, 24


def test_a_lag_not_below_the_detection_cadence_is_refused() -> None:
    with pytest.raises(ConfigError, match="detect_ahead_frames"):
        _tracker(detect_ahead_frames=EVERY_N)
    with pytest.raises(ConfigError, match="detect_ahead_frames"):
        _tracker(detect_ahead_frames=3, landmarker="mesh", landmark_detect_every_n=3)


def test_a_pass_ahead_that_misplaces_a_followed_face_does_not_double_it() -> None:
    frames = _frames(1000, 30)  # one face
    # A strict match distance: a pass's box a quarter face off is claimed by no track.
    tracker = _tracker(detect_ahead_frames=4, max_match_distance=0.1)
    detect = tracker.detector.detect

    def misplaced(image, **tiles):
        found = detect(image, **tiles)
        if threading.current_thread() is threading.main_thread() or not found:
            return found
        x, y, w, h = found[0].box_px
        return [Detection((x + int(0.25 * w), y, w, h), found[0].score)]

    tracker.detector.detect = misplaced
    faces = _run(tracker, frames)
    # The follow detector, looking around the misplaced box, finds the followed face.
    assert [len(f) for f in faces] == [1] * len(frames)
    assert {pid for f in faces for pid, _ in f} == {"p1"}
    assert tracker.stats.faces_found_ahead == 0
