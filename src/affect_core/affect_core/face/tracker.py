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


"""The face_tracker stage: detect, track with stable ids, measure pose, eyes and quality.

Per frame:

1. Detection runs on the whole frame every ``detect_every_n`` frames, and at once after
   a track was lost or while no face is tracked. A tiled detector with ``tiles_per_pass``
   below 4 looks, in the periodic passes between followed faces, at the tile of each
   face and at that many more, taking turns (every tile when searching, and in the
   sparse passes beside a landmark model). In between, each track is followed
   cheaply: with a landmark model, by locating the landmarks in the box predicted from
   the track's velocity (the box keeps its size from the last detection and moves with
   the landmarks); without one, by running ``follow_detector`` on a window twice the
   face's size around the prediction (BlazeFace's short-range model by default: the face
   fills half of that window, so one small pass finds it). With ``landmark_every_n``
   above 1 the landmark model runs on each face only every N frames; in between, the face
   and its landmarks move on by the track's velocity (no model, no detector) and eye
   features keep their last value. A face the landmark model follows that a whole-frame
   pass misses is followed on (``faces_kept_by_landmarks``) while the model's
   face-presence score holds. With ``detect_ahead_frames`` N, the periodic pass runs on
   a thread of its own and its faces join N frames later (affect_core.face.match).
2. Detections are matched to tracks seen in the last 100 ms by distance to the predicted
   centre. A detection no such track claims is matched to a track lost less than
   ``track_timeout_s`` ago when it is near its last position or where its last velocity
   would have carried it (``reid_max_distance`` face widths), of similar size, and
   looks alike (correlation of a 16x16 standardised thumbnail of the face, at least
   ``reid_min_similarity``): a person who was occluded for a moment keeps their id.
3. Boxes and landmarks are smoothed with a One-Euro filter (still faces are held
   steady, moving ones followed with little lag); eye features use the raw landmarks, a
   filter would flatten a 150 ms blink. Head pose comes from the smoothed landmarks
   (affect_core.face.head_pose), refined with the associated depth frame.
4. Quality evidence (affect_core.face.quality) and the crop for the model.

Without a landmark model (``landmarker: none``) head orientation and eye features stay
NaN and pose stability falls back to the box's motion; ``frames_without_landmarks``
counts it. The depth frame given with an IR frame (affect_core.sync.associate picks it)
must be registered to the IR image (same intrinsics and optical centre), as the
simulated rig provides; without one, head positions are NaN.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from affect_core.errors import ConfigError, InputError
from affect_core.face import quality
from affect_core.face.detect import Detection, to_float_image
from affect_core.face.detect_ahead import DetectAhead
from affect_core.face.detectors import (
    FaceDetector,
    follow_detector_for,
    make_detector,
    resolve_detector,
)
from affect_core.face.follow import Follower
from affect_core.face.head_pose import landmarks_3d
from affect_core.face.landmarks import FaceLandmarks, Landmarker
from affect_core.face.match import Matcher
from affect_core.face.mesh import make_landmarker
from affect_core.face.track_measures import (
    lighting_score,
    shape_change_explained,
    update_box_speed,
    update_pose,
)
from affect_core.face.track_state import (  # noqa: F401 - PARAMS re-exported for nodes
    CLOCK_JUMP_NS,
    PARAMS,
    RECENT_NS,
    FaceTrackerConfig,
    Track,
    TrackerStats,
    appearance,
    blend,
    box_centre,
    box_tuple,
    square_crop,
)
from affect_core.types import (
    ENCODING_DTYPES,
    NAN,
    CameraModel,
    FaceFrame,
    FaceObservation,
    FrameQuality,
    ImageFrame,
)


class FaceTracker(Follower, Matcher):
    """Per-frame faces with stable ids, head pose, eye features, quality and model crops.

    See the module docstring for the method. ``landmarker`` overrides the configured
    landmark model (any object with ``locate(image, box_px)``).
    """

    def __init__(self, config: FaceTrackerConfig, camera: CameraModel | None = None,
                 landmarker: Landmarker | None = None) -> None:
        self.config = config
        self.camera = camera
        self.detector: FaceDetector = make_detector(config.detector, config.min_face_px,
                                                    config.max_faces, config.tiles_per_pass)
        detector = resolve_detector(config.detector, False)
        follow = follow_detector_for(detector, config.follow_detector)
        self.follow_detector: FaceDetector = (
            self.detector if follow == detector
            else make_detector(follow, config.min_face_px, config.max_faces))
        self.landmarker: Landmarker | None = landmarker
        if landmarker is None:
            self.landmarker = make_landmarker(config.landmarker, detector)
        self._tracks: list[Track] = []
        self._next_id = 1
        self._since_detect_n = 0
        self._pool: ThreadPoolExecutor | None = None
        self._need_detect = True
        self._last_stamp_ns: int | None = None
        self.stats = TrackerStats()
        self._ahead = (DetectAhead(self.detector, config.detect_ahead_frames)
                       if config.detect_ahead_frames else None)
        cadence = min(config.detect_every_n, config.landmark_detect_every_n)
        if config.detect_ahead_frames >= cadence:
            raise ConfigError(f"detect_ahead_frames ({config.detect_ahead_frames}) must be "
                              f"below detect_every_n and landmark_detect_every_n ({cadence}): "
                              "a pass is joined before the next one starts")

    def process(self, ir: ImageFrame, depth: ImageFrame | None = None) -> FaceFrame:
        """Find, track and measure the faces of one IR frame, with its associated depth."""
        self._validate(ir, depth)
        self._check_order(ir.stamp_ns)
        self.stats.frames += 1
        if depth is not None:
            self.stats.frames_with_depth += 1
        stamp = ir.stamp_ns
        self._expire(stamp)
        live = [t for t in self._tracks if t.last_ns == self._last_stamp_ns]
        # Faces followed by their landmarks need the detector only to find new ones.
        sparse = (self.landmarker is not None and bool(live)
                  and all(t.anchor_offset_px is not None for t in live))
        every_n = (self.config.landmark_detect_every_n if sparse
                   else self.config.detect_every_n)
        full = self._need_detect or not live or self._since_detect_n + 1 >= every_n
        self._since_detect_n = 0 if full else self._since_detect_n + 1
        self._last_stamp_ns = stamp
        ahead = self._ahead.take() if self._ahead is not None else None
        # A search (no face followed) and the sparse passes beside a landmark model look at
        # every tile; the periodic passes between followed faces at theirs and the next.
        every_tile = sparse or not live
        faces_px = [box_tuple(t.box_px) for t in live]
        if full and self._ahead is not None and not self._need_detect and live:
            # The periodic pass: on its own thread, while the live faces are followed. The
            # last one was joined already: the lag is below the cadence.
            self._ahead.start(ir.data, stamp, faces_px, every_tile)
            self.stats.detector_runs += 1
            full = False
        self._need_detect = False
        if full:
            if self._ahead is not None:
                self._ahead.cancel()  # a face was lost: this pass supersedes the one ahead
                ahead = None
            self.stats.detector_runs += 1
            found = self.detector.detect(ir.data, every_tile=every_tile, faces_px=faces_px)
            pairs = self._assign(found, stamp, live, ir.data)
            for det, track, _ in pairs:
                track.detected_size_px = (float(det.box_px[2]), float(det.box_px[3]))
            followed = self._follow_missed(ir.data, stamp, live, pairs)
        else:
            pairs, followed = [], self._follow(ir.data, stamp, live)
            if ahead is not None:
                pairs, followed = self._join_ahead(ir.data, stamp, *ahead, followed)
        faces = ([self._observe(ir, det, track, depth, lm, True) for det, track, lm in pairs]
                 + [self._observe(ir, det, track, depth, lm, False)
                    for det, track, lm in followed])
        if not faces:
            self.stats.frames_without_face += 1
        return FaceFrame(stamp, ir.frame_id, faces, depth is not None)

    def predicted_boxes_px(self, stamp_ns: int) -> list[tuple[int, int, int, int]]:
        """Boxes (x, y, w, h) where the faces will be at ``stamp_ns``.

        From the tracks seen in the last 100 ms, moved on by their velocity; empty while
        no face is tracked. Where depth is needed: the tracker reads it only in face boxes.
        """
        return [box_tuple(t.predicted_box(stamp_ns)) for t in self._tracks
                if self._last_stamp_ns is not None
                and self._last_stamp_ns - t.last_ns <= RECENT_NS]

    def _validate(self, ir: ImageFrame, depth: ImageFrame | None) -> None:
        """Reject unusable frames with a message saying why, and count them."""
        problem = ""
        if ir.encoding not in ("mono16", "mono8"):
            problem = f"IR frames must be mono16 or mono8, got encoding {ir.encoding!r}"
        elif ir.data.ndim != 2 or ir.data.dtype != ENCODING_DTYPES[ir.encoding]:
            problem = (f"IR frame data ({ir.data.dtype}, shape {ir.data.shape}) does not match "
                       f"its encoding {ir.encoding}")
        elif ir.data.size == 0 or min(ir.data.shape) < self.config.min_face_px:
            problem = (f"IR frame of shape {ir.data.shape} is too small to hold a face of "
                       f"{self.config.min_face_px} px")
        elif depth is not None and (depth.encoding != "32FC1" or depth.data.ndim != 2):
            problem = (f"depth frames must be 32FC1 single-channel, got {depth.encoding} "
                       f"with shape {depth.data.shape}")
        elif depth is not None and depth.data.shape != ir.data.shape:
            problem = (f"depth {depth.data.shape} is not registered to the IR image "
                       f"{ir.data.shape}; register it first")
        if problem:
            self.stats.rejected_frames += 1
            raise InputError(problem)

    def _check_order(self, stamp_ns: int) -> None:
        """Skip, with a count, a frame not after the previous one; restart on a jump back."""
        last = self._last_stamp_ns
        if last is None or stamp_ns > last:
            return
        if last - stamp_ns > CLOCK_JUMP_NS:
            self.stats.clock_resets += 1
            self.stats.tracks_lost += len(self._tracks)
            self._tracks = []
            self._need_detect = True
            self._last_stamp_ns = None
            return
        self.stats.frames_out_of_order += 1
        raise InputError(f"frame out of order or a duplicate, skipped; stamped {stamp_ns} ns, "
                         f"not after the previous one ({last} ns)")

    def _expire(self, stamp_ns: int) -> None:
        timeout_ns = int(self.config.track_timeout_s * 1e9)
        kept = [t for t in self._tracks if 0 <= stamp_ns - t.last_ns <= timeout_ns]
        self.stats.tracks_lost += len(self._tracks) - len(kept)
        self._tracks = kept

    def _observe(self, ir: ImageFrame, det: Detection, track: Track,
                 depth: ImageFrame | None, located: FaceLandmarks | None,
                 full: bool) -> FaceObservation:
        stamp = ir.stamp_ns
        raw = np.array(det.box_px, np.float64)
        dt_s = max((stamp - track.last_ns) / 1e9, 0.0)
        if dt_s > 0.0:
            alpha = min(dt_s / 0.05, 1.0)
            shift = box_centre(raw) - box_centre(track.box_px)
            track.velocity_px_s += alpha * (shift / dt_s - track.velocity_px_s)
        previous_box = track.box_px if dt_s > 0.0 else None
        track.box_px, track.last_ns = raw, stamp
        cx, cy, w, h = track.box_filter(stamp, [*box_centre(raw), raw[2], raw[3]])
        box_px = box_tuple(np.array([cx - w / 2.0, cy - h / 2.0, w, h]))
        update_box_speed(track, stamp, cx, cy, w)

        image = ir.data
        if located is None and self.landmarker is not None:
            if previous_box is not None and self._moves_landmarks_on(track):
                shift = box_centre(raw) - box_centre(previous_box)
                located = FaceLandmarks(track.landmarks_px + shift, 1.0)
                track.reused = True
            else:
                located = self._locate(image, det.box_px, track)
        depth_data = depth.data if depth is not None else None
        crop = square_crop(image, box_px, self.config.crop_margin, self.config.crop_size_px)
        if full:
            looks = appearance(crop)
            if looks is not None:
                track.appearance = looks if track.appearance is None else blend(
                    track.appearance, looks)

        x, y, bw, bh = det.box_px
        inner = to_float_image(image[max(y + bh // 4, 0):y + 3 * bh // 4,
                                     max(x + bw // 4, 0):x + 3 * bw // 4])
        lighting = lighting_score(track, inner)

        pose = None
        landmarks_px = np.zeros((0, 2), np.float32)
        landmarks_m = np.zeros((0, 3), np.float64)
        eyes = None
        face_depth_m = NAN
        if depth_data is not None:
            patch = depth_data[max(y + bh // 4, 0):y + 3 * bh // 4,
                               max(x + bw // 4, 0):x + 3 * bw // 4]
            valid = np.isfinite(patch) & (patch > 0.0)
            fraction = float(valid.mean()) if patch.size else 0.0
            # Every other pixel each way: the median barely moves, its cost falls fourfold.
            sparse = patch[::2, ::2][valid[::2, ::2]]
            face_depth_m = float(np.median(sparse)) if sparse.size else NAN
            if not math.isfinite(face_depth_m):
                self.stats.frames_depth_invalid += 1
        if located is None:
            self.stats.frames_without_landmarks += 1
            track.landmarks_px = None
            track.anchor_offset_px = None
        else:
            points = located.points_px
            smooth = track.landmark_filter(stamp, points)
            landmarks_px = smooth.astype(np.float32)
            centroid = np.nanmean(points, axis=0)
            if full or track.anchor_offset_px is None:
                track.anchor_offset_px = box_centre(raw) - centroid
            track.landmarks_px = points
            focal = self.camera.fx_px if self.camera is not None else NAN
            if track.reused:
                track.since_landmarks_n += 1
                eyes = replace(track.last_eyes, blink=False)
            else:
                track.since_landmarks_n = 0
                eyes = track.eyes.update(stamp, points, located.confidence, located.iris_px,
                                         face_depth_m, focal)
                track.last_eyes = eyes
            track.reused = False
            if self.camera is not None:
                pose = update_pose(track, self.camera, points, smooth, depth_data, full, stamp,
                                   dt_s)
                if depth_data is not None:
                    landmarks_m = landmarks_3d(smooth, self.camera, depth_data)

        head = (NAN, NAN, NAN)
        depth_score = NAN
        if depth_data is not None:
            if not math.isfinite(track.slow_depth_m):
                track.slow_depth_m = face_depth_m
            view = shape_change_explained(track, self.camera, stamp, landmarks_px, pose)
            depth_score = quality.depth_consistency(fraction, face_depth_m, track.slow_depth_m,
                                                    view)
            if math.isfinite(face_depth_m):
                track.slow_depth_m += 0.1 * (face_depth_m - track.slow_depth_m)
                if pose is not None and pose.depth_refined:
                    head = (float(pose.translation_m[0]), float(pose.translation_m[1]),
                            float(pose.translation_m[2]))
                elif self.camera is not None:
                    c = box_centre(raw)
                    head = self.camera.back_project(float(c[0]), float(c[1]), face_depth_m)
        if pose is not None:
            speed, jitter = track.angular_speed_deg_s, math.sqrt(track.jitter_sq_deg)
            if track.full_frames % 2 == 0 and full:
                track.motion_history.append((speed, jitter))
            if len(track.motion_history) >= 8:
                # What a still head shows from landmark noise alone: the 10th percentile
                # over the last seconds. Only motion above it counts against stability.
                floor_speed, floor_jitter = np.percentile(track.motion_history, 10, axis=0)
                speed = max(speed - float(floor_speed), 0.0)
                jitter = max(jitter - float(floor_jitter), 0.0)
            stability = quality.pose_stability_from_pose(speed, jitter)
            orientation = pose.quaternion_xyzw
        else:
            stability = quality.pose_stability(track.speed)
            orientation = (NAN, NAN, NAN, NAN)
        sharp = quality.sharpness(crop.astype(np.float32))
        observation = FaceObservation(stamp, track.person_id, box_px, head,
                                      FrameQuality(stability, lighting, depth_score, sharp),
                                      crop, ir.encoding, landmarks_px, orientation, landmarks_m)
        if eyes is not None:
            observation.eyes = eyes
        return observation
