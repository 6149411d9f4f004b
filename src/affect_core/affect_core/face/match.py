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


"""Matching a whole-frame pass's faces to tracks (the tracker's step 2).

:class:`Matcher` is the part of :class:`affect_core.face.tracker.FaceTracker` that turns
the faces of a whole-frame detection into tracks: matched to the tracks seen in the last
100 ms by distance to their predicted centre, else re-identified among lost tracks by
position, size and looks, else new. A pass run ahead on its own thread
(``detect_ahead_frames``) is joined here too, to the faces followed in the frame it ends
on.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from affect_core.face.detect import Detection, iou
from affect_core.face.eyes import EyeFeatures
from affect_core.face.landmarks import FaceLandmarks
from affect_core.face.one_euro import OneEuroFilter
from affect_core.face.track_state import (
    RECENT_NS,
    FaceTrackerConfig,
    Track,
    TrackerStats,
    appearance,
    box_centre,
    square_crop,
)

Pairs = list[tuple[Detection, Track, FaceLandmarks | None]]


class Matcher:
    """Turn whole-frame detections into tracks: match, re-identify or start."""

    config: FaceTrackerConfig
    stats: TrackerStats
    _tracks: list[Track]
    _next_id: int

    # Follower's: the follow detector on a window twice the face's size.
    _local_detect: Callable[[npt.NDArray[np.generic], npt.NDArray[np.float64]],
                            Detection | None]

    def _new_track(self, det: Detection, stamp_ns: int) -> Track:
        c = self.config
        track = Track(f"p{self._next_id}", np.array(det.box_px, np.float64), stamp_ns,
                      OneEuroFilter(c.smoothing_min_cutoff_hz, c.smoothing_beta),
                      OneEuroFilter(c.smoothing_min_cutoff_hz, c.smoothing_beta),
                      EyeFeatures())
        self._next_id += 1
        self.stats.tracks_started += 1
        self._tracks.append(track)
        return track

    def _assign(self, detections: list[Detection], stamp_ns: int, live: list[Track],
                image: npt.NDArray[np.generic]
                ) -> Pairs:
        """Greedy nearest-centre matching to live tracks, then re-identification."""
        # Tracks seen in the last 100 ms continue by position alone, like live ones: a
        # frame or two without a face (a missed local detection) is no occlusion.
        recent = live + [t for t in self._tracks if t not in live
                         and stamp_ns - t.last_ns <= RECENT_NS]
        matched = self._match(detections, recent, stamp_ns)
        result: Pairs = [(detections[d], recent[t], None) for d, t in matched.items()]
        lost = [t for t in self._tracks if t not in recent]
        for d, det in enumerate(detections):
            if d not in matched:
                result.append((det, self._continue_or_start(det, lost, image, stamp_ns), None))
        return result

    def _match(self, detections: list[Detection], tracks: list[Track],
               stamp_ns: int) -> dict[int, int]:
        """Pair detection and track indices, nearest centres first, within max_match_distance.

        Each track's box is predicted to ``stamp_ns``, the instant the detections are of.
        """
        pairs: list[tuple[float, int, int]] = []
        for d, det in enumerate(detections):
            centre = box_centre(np.array(det.box_px, np.float64))
            for t, track in enumerate(tracks):
                box = track.predicted_box(stamp_ns)
                dist = float(np.linalg.norm(centre - box_centre(box))) / max(box[2], 1.0)
                if dist <= self.config.max_match_distance:
                    pairs.append((dist, d, t))
        pairs.sort()
        matched: dict[int, int] = {}
        used_t: set[int] = set()
        for _, d, t in pairs:
            if d in matched or t in used_t:
                continue
            matched[d] = t
            used_t.add(t)
        return matched

    def _continue_or_start(self, det: Detection, lost: list[Track],
                           image: npt.NDArray[np.generic], stamp_ns: int) -> Track:
        """Return the lost track ``det`` re-identifies (taken out of ``lost``), else a new one."""
        track = self._reidentify(det, lost, image, stamp_ns)
        if track is None:
            return self._new_track(det, stamp_ns)
        lost.remove(track)
        self.stats.tracks_reidentified += 1
        return track

    def _reidentify(self, det: Detection, lost: list[Track],
                    image: npt.NDArray[np.generic], stamp_ns: int) -> Track | None:
        """Find the lost track this detection most likely continues, or None."""
        if not lost:
            return None
        box = np.array(det.box_px, np.float64)
        crop = square_crop(image, det.box_px, self.config.crop_margin, 32)
        looks = appearance(crop)
        best: tuple[float, Track] | None = None
        for track in lost:
            last = box_centre(track.box_px)
            carried = last + track.velocity_px_s * (stamp_ns - track.last_ns) * 1e-9
            dist = min(float(np.linalg.norm(box_centre(box) - last)),
                       float(np.linalg.norm(box_centre(box) - carried))
                       ) / max(track.box_px[2], 1.0)
            size = box[2] / max(track.box_px[2], 1.0)
            if dist > self.config.reid_max_distance or not 0.67 <= size <= 1.5:
                continue
            similarity = (float(np.sum(looks * track.appearance))
                          if looks is not None and track.appearance is not None else 0.0)
            if similarity < self.config.reid_min_similarity:
                continue
            score = similarity - 0.1 * dist
            if best is None or score > best[0]:
                best = (score, track)
        return best[1] if best is not None else None

    def _join_ahead(self, image: npt.NDArray[np.generic], stamp_ns: int,
                    detections: list[Detection], then_ns: int,
                    followed: Pairs) -> tuple[Pairs, Pairs]:
        """Join the faces of a pass run ahead at ``then_ns`` to this frame's followed ones.

        A followed face the pass found takes its size, as from a pass in the frame, and is
        observed as a whole-frame one; a face it found that no track follows is looked for
        again by the follow detector around where the pass saw it, and starts (or
        re-identifies) a track if it is still there and is not a face already followed.
        """
        tracks = [track for _, track, _ in followed]
        matched = self._match(detections, tracks, then_ns)
        claimed = {id(tracks[t]): detections[d] for d, t in matched.items()}
        whole: Pairs = []
        rest: Pairs = []
        for det, track, located in followed:
            if id(track) in claimed:
                size = claimed[id(track)].box_px
                track.detected_size_px = (float(size[2]), float(size[3]))
                whole.append((det, track, located))
            else:
                rest.append((det, track, located))
        lost = [t for t in self._tracks if t not in tracks]
        for d, det in enumerate(detections):
            if d in matched:
                continue
            found = self._local_detect(image, np.array(det.box_px, np.float64))
            if found is None or any(iou(found.box_px, f.box_px) > 0.3 for f, _, _ in followed):
                continue
            track = self._continue_or_start(found, lost, image, stamp_ns)
            track.detected_size_px = (float(found.box_px[2]), float(found.box_px[3]))
            self.stats.faces_found_ahead += 1
            whole.append((found, track, None))
        return whole, rest
