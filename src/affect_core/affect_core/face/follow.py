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


"""Following tracked faces between whole-frame detections (the tracker's step 1).

Each live track is followed cheaply: by its landmarks in the box predicted from its
velocity when a landmark model runs, by the follow detector on a window twice the face's
size otherwise, or, with ``landmark_every_n`` above 1, moved on by its velocity alone.
:class:`Follower` is the part of :class:`affect_core.face.tracker.FaceTracker` that does
it; the tracker holds the state it reads (configuration, models, the thread pool).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from affect_core.face.detect import Detection, iou
from affect_core.face.detectors import FaceDetector
from affect_core.face.landmarks import FaceLandmarks, Landmarker
from affect_core.face.track_state import (FaceTrackerConfig, Track, TrackerStats, box_centre,
                                          box_tuple)
from affect_core.sim.face_geometry import LANDMARK_NAMES, names_from_mesh

# The eye corners and lids: the points an eye-contour model refines.
_EYE_ROWS = [i for i, name in enumerate(LANDMARK_NAMES) if name.startswith("eye_")]
_MESH_EYES = names_from_mesh()[_EYE_ROWS]
IRIS_EVERY_FRAME_BELOW = 0.85  # eye openness under which the iris model runs every frame


class Follower:
    """Follow live tracks from frame to frame without a whole-frame detection."""

    config: FaceTrackerConfig
    landmarker: Landmarker | None
    follow_detector: FaceDetector
    _pool: ThreadPoolExecutor | None
    _need_detect: bool
    stats: TrackerStats

    def _follow(self, image: npt.NDArray[np.generic], stamp_ns: int, live: list[Track]
                ) -> list[tuple[Detection, Track, FaceLandmarks | None]]:
        """Follow live tracks without a whole-frame detection."""
        result: list[tuple[Detection, Track, FaceLandmarks | None]] = []
        located_by = self._landmarks_in_parallel(image, stamp_ns, live)
        for track in live:
            predicted = track.predicted_box(stamp_ns)
            found = None
            if self.landmarker is not None and self._moves_landmarks_on(track):
                # No landmark model this frame: the face and its landmarks move on by the
                # track's velocity; eye features wait for the next measured frame.
                shift = predicted[:2] - track.box_px[:2]
                located = FaceLandmarks(track.landmarks_px + shift, 1.0)
                result.append((Detection(box_tuple(predicted), 1.0), track, located))
                track.reused = True
                continue
            if id(track) in located_by:
                found = located_by[id(track)].result()
            elif self.landmarker is not None and track.anchor_offset_px is not None:
                found = self._follow_landmarks(image, track, predicted)
            if found is None:
                det = self._local_detect(image, predicted)
                if det is not None:
                    # The centre from the local pass, the size from the last whole-frame
                    # one: a local threshold cuts the face a little differently, and crops
                    # should not change size between detections.
                    x, y, w, h = det.box_px
                    size = track.detected_size_px
                    box = np.array([x + w / 2.0 - size[0] / 2.0, y + h / 2.0 - size[1] / 2.0,
                                    size[0], size[1]])
                    det = Detection(box_tuple(box), det.score)
                found = None if det is None else (det, None)
            if found is None:
                self._need_detect = True  # lost here: look over the whole frame next time
                continue
            result.append((found[0], track, found[1]))
        return result

    def _follow_missed(self, image: npt.NDArray[np.generic], stamp_ns: int, live: list[Track],
                       detected: list[tuple[Detection, Track, FaceLandmarks | None]]
                       ) -> list[tuple[Detection, Track, FaceLandmarks | None]]:
        """Follow by their landmarks the live tracks a whole-frame pass did not find.

        A whole-frame detector misses a face now and then (BlazeFace without tiles, at its
        smallest faces, when the mouth opens wide) that the landmark model following it
        still sees. As in MediaPipe's own face tracking, the landmark model's face-presence
        score keeps the track: dropping it would lose the person and put the detector on
        every frame until it found them again.
        """
        if self.landmarker is None:
            return []
        claimed = {id(track) for _, track, _ in detected}
        missed = [t for t in live if id(t) not in claimed and t.anchor_offset_px is not None]
        if not missed:
            return []
        followed = self._follow(image, stamp_ns, missed)
        # Only those the landmarks found; the follow detector may keep others, as between
        # whole-frame passes.
        self.stats.faces_kept_by_landmarks += sum(lm is not None for _, _, lm in followed)
        return followed

    def _landmarks_in_parallel(self, image: npt.NDArray[np.generic], stamp_ns: int,
                               live: list[Track]) -> dict[int, Future[Any]]:
        """Start the landmark model on each face it follows this frame, on a thread pool.

        ONNX Runtime releases the GIL while it runs, so with landmark_threads > 1 the
        faces of a frame run on as many cores; each call touches only its own track.
        Empty (run in turn by the caller) for one face or one thread.
        """
        if self.landmarker is None or self.config.landmark_threads < 2:
            return {}
        tracks = [t for t in live
                  if t.anchor_offset_px is not None and not self._moves_landmarks_on(t)]
        if len(tracks) < 2:
            return {}
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.config.landmark_threads,
                                            thread_name_prefix="affect-landmarks")
        return {id(t): self._pool.submit(self._follow_landmarks, image, t,
                                         t.predicted_box(stamp_ns)) for t in tracks}

    def _moves_landmarks_on(self, track: Track) -> bool:
        """Whether this frame skips the landmark model on ``track`` (landmark_every_n)."""
        return (track.landmarks_px is not None
                and track.since_landmarks_n + 1 < self.config.landmark_every_n)

    def _follow_landmarks(self, image: npt.NDArray[np.generic], track: Track,
                          predicted: npt.NDArray[np.float64]
                          ) -> tuple[Detection, FaceLandmarks] | None:
        assert self.landmarker is not None and track.anchor_offset_px is not None
        located = self._locate(image, box_tuple(predicted), track)
        if located is None or located.confidence < 0.5:
            return None
        centroid = np.nanmean(located.points_px, axis=0)
        if not np.isfinite(centroid).all():
            return None
        centre = centroid + track.anchor_offset_px
        w, h = track.box_px[2], track.box_px[3]
        box = np.array([centre[0] - w / 2.0, centre[1] - h / 2.0, w, h])
        return Detection(box_tuple(box), float(located.confidence)), located

    def _locate(self, image: npt.NDArray[np.generic], box_px: tuple[int, int, int, int],
                track: Track) -> FaceLandmarks | None:
        """Run the landmark model, with the irises every iris_every_n-th time only.

        In between, the face's last irises stand in: only their radius is used (pupil
        size), and a pupil changes over hundreds of milliseconds, not between frames. The
        eye points the iris model refined (the mesh barely follows a closing lid) stand in
        too, as their last offset from the mesh's own eye points. While the eyes are
        closing or shut (openness below IRIS_EVERY_FRAME_BELOW) the iris model runs on
        every frame: a blink's lids are shut for under 100 ms, which every 4th frame
        samples two or three times, part-way.
        """
        assert self.landmarker is not None
        closing = track.last_eyes.openness < IRIS_EVERY_FRAME_BELOW  # False while NaN
        located = self.landmarker.locate(
            image, box_px,
            iris=closing or track.since_iris_n % self.config.iris_every_n == 0)
        if located is None:
            return None
        track.since_iris_n += 1
        if located.iris_px is not None:
            track.iris_px = located.iris_px
        elif track.iris_px is not None:
            located = replace(located, iris_px=track.iris_px)
        if located.mesh_px is not None:
            mesh_eyes = _MESH_EYES @ located.mesh_px[:, :2]
            if located.lids_refined:
                track.lid_offset_px = located.points_px[_EYE_ROWS] - mesh_eyes
            elif track.lid_offset_px is not None:
                points = located.points_px.copy()
                points[_EYE_ROWS] = mesh_eyes + track.lid_offset_px
                located = replace(located, points_px=points, lids_refined=True)
        return located

    def _local_detect(self, image: npt.NDArray[np.generic],
                      predicted: npt.NDArray[np.float64]) -> Detection | None:
        """Run the follow detector on a window twice the predicted face's size."""
        side = 2.0 * max(predicted[2], predicted[3])
        cx, cy = box_centre(predicted)
        # On the detector's sampling grid, so a face gives the box a whole-frame pass gives.
        grid = int(getattr(self.follow_detector, "downsample", 1))
        x0, y0 = max(int(cx - side / 2.0), 0), max(int(cy - side / 2.0), 0)
        x0, y0 = x0 - x0 % grid, y0 - y0 % grid
        x1 = min(int(cx + side / 2.0), image.shape[1])
        y1 = min(int(cy + side / 2.0), image.shape[0])
        if min(x1 - x0, y1 - y0) < self.config.min_face_px:
            return None
        target = box_tuple(predicted)
        best: tuple[float, Detection] | None = None
        for det in self.follow_detector.detect(image[y0:y1, x0:x1]):
            x, y, w, h = det.box_px
            moved = Detection((x + x0, y + y0, w, h), det.score)
            overlap = iou(moved.box_px, target)
            if overlap > 0.3 and (best is None or overlap > best[0]):
                best = (overlap, moved)
        return best[1] if best is not None else None
