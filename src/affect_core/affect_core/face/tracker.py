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
   a track was lost or while no face is tracked. In between, each track is followed
   cheaply: with a landmark model, by locating the landmarks in the box predicted from
   the track's velocity (the box keeps its size from the last detection and moves with
   the landmarks); without one, by running the detector on a window twice the face's
   size around the prediction. With ``landmark_every_n`` above 1 the landmark model runs
   on each face only every N frames; in between, the face and its landmarks move on by
   the track's velocity (no model, no detector) and eye features keep their last value.
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
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.errors import InputError
from affect_core.face import quality
from affect_core.face.detect import Detection, iou, to_float_image
from affect_core.face.detectors import (
    DETECTOR_CHOICES,
    FaceDetector,
    make_detector,
    resolve_detector,
)
from affect_core.face.eyes import EyeFeatures
from affect_core.face.head_pose import (
    HeadPose,
    estimate_head_pose,
    fit_width_scale,
    landmarks_3d,
    project_model,
    rotation_angle_deg,
)
from affect_core.face.landmarks import FaceLandmarks, Landmarker
from affect_core.face.mesh import LANDMARKER_CHOICES, make_landmarker
from affect_core.face.one_euro import OneEuroFilter
from affect_core.params import ParamSpec, resolve
from affect_core.sim.face_model import NEUTRAL_LANDMARKS_M, landmark_index
from affect_core.types import (
    ENCODING_DTYPES,
    NAN,
    CameraModel,
    EyeState,
    FaceFrame,
    FaceObservation,
    FrameQuality,
    ImageFrame,
)

PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("crop_size_px", 64, "side of the square face crop handed to the model", 16, 512),
    ParamSpec("crop_margin", 1.2, "crop side as a multiple of the larger face-box side",
              1.0, 3.0),
    ParamSpec("min_face_px", 24, "smallest face width detected, in pixels", 8, 1024),
    ParamSpec("max_faces", 4, "most faces reported per frame", 1, 32),
    ParamSpec("detector", "auto", "face detector: auto (blob on the simulated rig, blazeface "
              "on every other source), blob (bright IR blobs, no weights) or blazeface, "
              "blazeface_whole, blazeface_short (MediaPipe BlazeFace, pretrained on "
              "photographs); see affect_core.face.detectors", choices=DETECTOR_CHOICES),
    ParamSpec("track_timeout_s", 1.0, "keep a lost track this long for re-identification",
              0.0, 30.0),
    ParamSpec("max_match_distance", 0.6,
              "largest centre jump, in face widths, that still continues a track", 0.05, 5.0),
    ParamSpec("depth_max_age_s", 0.05,
              "largest stamp difference between an IR frame and its associated depth frame",
              0.0, 1.0),
    ParamSpec("landmarker", "none",
              "landmark model: mesh (MediaPipe face mesh and iris, see "
              "affect_core.face.mesh) or none (no head orientation or eye features)",
              choices=LANDMARKER_CHOICES),
    ParamSpec("detect_every_n", 4,
              "run the whole-frame detector every N frames and track in between", 1, 1000),
    ParamSpec("landmark_detect_every_n", 60,
              "while a landmark model follows every tracked face, run the whole-frame "
              "detector only every N frames, to find new faces (60: 0.5 s at 120 fps)",
              1, 10000),
    ParamSpec("iris_every_n", 4,
              "run the iris model on each face every N landmark-model frames; the pupil "
              "size keeps its last measurement in between (it changes over 100s of ms)",
              1, 120),
    ParamSpec("landmark_every_n", 1,
              "run the landmark model on each face every N frames and move its landmarks "
              "with the face in between (eye features then sample at fps / N)", 1, 120),
    ParamSpec("reid_max_distance", 2.0,
              "largest move, in face widths, at which a lost track is re-identified",
              0.1, 50.0),
    ParamSpec("reid_min_similarity", 0.5,
              "least appearance correlation for re-identifying a lost track", -1.0, 1.0),
    ParamSpec("smoothing_min_cutoff_hz", 2.0,
              "One-Euro cut-off for a still face's box and landmarks, in Hz", 0.01, 100.0),
    ParamSpec("smoothing_beta", 0.1,
              "One-Euro cut-off increase per pixel/s of motion", 0.0, 100.0),
)

_EYE_CORNERS = (landmark_index("eye_r_outer"), landmark_index("eye_r_inner"),
                landmark_index("eye_l_inner"), landmark_index("eye_l_outer"))
_SHAPE_LAG_NS = 100_000_000  # apparent shape change is measured over 100 ms
_POSE_LAG_NS = 250_000_000  # angular speed is measured over 250 ms
_RECENT_NS = 100_000_000
_THUMB_PX = 16
# A stamp this far behind the previous frame's is a clock jump (a replay loop): the
# tracker starts again; a smaller step back, or the same stamp, is a frame out of order.
CLOCK_JUMP_NS = 1_000_000_000
_WIDTH_SAMPLES = 31


@dataclass(frozen=True)
class FaceTrackerConfig:
    """Validated face_tracker parameters (see PARAMS)."""

    crop_size_px: int = 64
    crop_margin: float = 1.2
    min_face_px: int = 24
    max_faces: int = 4
    detector: str = "auto"
    track_timeout_s: float = 1.0
    max_match_distance: float = 0.6
    depth_max_age_s: float = 0.05
    landmarker: str = "none"
    detect_every_n: int = 4
    landmark_detect_every_n: int = 60
    iris_every_n: int = 4
    landmark_every_n: int = 1
    reid_max_distance: float = 2.0
    reid_min_similarity: float = 0.5
    smoothing_min_cutoff_hz: float = 2.0
    smoothing_beta: float = 0.1

    @classmethod
    def from_params(cls, given: Mapping[str, Any]) -> FaceTrackerConfig:
        """Build from a ``ros__parameters`` mapping, validating every value."""
        return cls(**resolve(PARAMS, given, "face_tracker"))


@dataclass(eq=False)
class _Track:
    person_id: str
    box_px: npt.NDArray[np.float64]  # x, y, w, h of the last raw box
    last_ns: int
    box_filter: OneEuroFilter
    landmark_filter: OneEuroFilter
    eyes: EyeFeatures
    velocity_px_s: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(2))
    speed: float = 0.0
    slow_level: float = NAN
    slow_contrast: float = NAN
    slow_depth_m: float = NAN
    appearance: npt.NDArray[np.float32] | None = None
    landmarks_px: npt.NDArray[np.float64] | None = None
    anchor_offset_px: npt.NDArray[np.float64] | None = None  # box centre - landmark centroid
    width_scales: deque[float] = field(default_factory=lambda: deque(maxlen=_WIDTH_SAMPLES))
    rotation: npt.NDArray[np.float64] | None = None
    angular_speed_deg_s: float = 0.0
    jitter_sq_deg: float = 0.0
    full_frames: int = 0
    motion_history: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=60))
    detected_size_px: tuple[float, float] = (0.0, 0.0)  # box size at the last detection
    since_landmarks_n: int = 0  # frames since the landmark model last ran on this face
    since_iris_n: int = 0  # landmark-model frames since the iris model last ran
    iris_px: npt.NDArray[np.float64] | None = None  # the last irises measured
    reused: bool = False  # this frame's landmarks are the last ones moved on, not measured
    last_eyes: EyeState = field(default_factory=EyeState)
    rotations: deque[tuple[int, npt.NDArray[np.float64]]] = field(
        default_factory=lambda: deque(maxlen=32))
    boxes: deque[tuple[int, float, float, float]] = field(  # stamp, smoothed cx, cy, w
        default_factory=lambda: deque(maxlen=64))
    shapes: deque[tuple[int, npt.NDArray[np.float64], HeadPose]] = field(
        default_factory=lambda: deque(maxlen=32))

    def predicted_box(self, stamp_ns: int) -> npt.NDArray[np.float64]:
        """Predict the box, moved on by the track's velocity to ``stamp_ns``."""
        dt_s = max((stamp_ns - self.last_ns) * 1e-9, 0.0)
        box = self.box_px.copy()
        box[:2] += self.velocity_px_s * min(dt_s, 0.2)
        return box

    width_scale: float = 1.0  # face width against the canonical face, median of estimates


@dataclass
class TrackerStats:
    """Counters the node's diagnostics report."""

    frames: int = 0
    frames_without_face: int = 0
    frames_with_depth: int = 0
    frames_without_landmarks: int = 0
    frames_depth_invalid: int = 0
    tracks_started: int = 0
    tracks_reidentified: int = 0
    tracks_lost: int = 0
    detector_runs: int = 0
    rejected_frames: int = 0
    frames_out_of_order: int = 0
    clock_resets: int = 0


def square_crop(image: npt.NDArray[np.generic], box_px: tuple[int, int, int, int],
                margin: float, size_px: int) -> npt.NDArray[np.generic]:
    """Cut a square crop centred on ``box_px``, zero-padded outside the image, resized."""
    x, y, w, h = box_px
    side = max(int(round(max(w, h) * margin)), 1)
    cx, cy = x + w / 2.0, y + h / 2.0
    x0, y0 = int(round(cx - side / 2.0)), int(round(cy - side / 2.0))
    pad = max(0, -x0, -y0, x0 + side - image.shape[1], y0 + side - image.shape[0])
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        x0, y0 = x0 + pad, y0 + pad
    crop = image[y0:y0 + side, x0:x0 + side]
    return cv2.resize(crop, (size_px, size_px), interpolation=cv2.INTER_AREA)


def appearance(crop: npt.NDArray[np.generic]) -> npt.NDArray[np.float32] | None:
    """Make a 16x16 zero-mean, unit-norm thumbnail of a face crop (None when featureless)."""
    small = cv2.resize(crop.astype(np.float32), (_THUMB_PX, _THUMB_PX),
                       interpolation=cv2.INTER_AREA)
    small -= float(small.mean())
    norm = float(np.linalg.norm(small))
    return small / norm if norm > 1e-6 else None


def _box_tuple(box: npt.NDArray[np.float64]) -> tuple[int, int, int, int]:
    return (int(round(box[0])), int(round(box[1])), max(int(round(box[2])), 1),
            max(int(round(box[3])), 1))


class FaceTracker:
    """Per-frame faces with stable ids, head pose, eye features, quality and model crops.

    See the module docstring for the method. ``landmarker`` overrides the configured
    landmark model (any object with ``locate(image, box_px)``).
    """

    def __init__(self, config: FaceTrackerConfig, camera: CameraModel | None = None,
                 landmarker: Landmarker | None = None) -> None:
        self.config = config
        self.camera = camera
        self.detector: FaceDetector = make_detector(config.detector, config.min_face_px,
                                                    config.max_faces)
        self.landmarker: Landmarker | None = landmarker
        if landmarker is None:
            self.landmarker = make_landmarker(config.landmarker,
                                              resolve_detector(config.detector, False))
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._since_detect_n = 0
        self._need_detect = True
        self._last_stamp_ns: int | None = None
        self.stats = TrackerStats()

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
        every_n = (self.config.landmark_detect_every_n
                   if self.landmarker is not None and live
                   and all(t.anchor_offset_px is not None for t in live)
                   else self.config.detect_every_n)
        full = self._need_detect or not live or self._since_detect_n + 1 >= every_n
        self._since_detect_n = 0 if full else self._since_detect_n + 1
        self._last_stamp_ns = stamp
        self._need_detect = False
        if full:
            self.stats.detector_runs += 1
            pairs = self._assign(self.detector.detect(ir.data), stamp, live, ir.data)
        else:
            pairs = self._follow(ir.data, stamp, live)
        if full:
            for det, track, _ in pairs:
                track.detected_size_px = (float(det.box_px[2]), float(det.box_px[3]))
        faces = [self._observe(ir, det, track, depth, lm, full) for det, track, lm in pairs]
        if not faces:
            self.stats.frames_without_face += 1
        return FaceFrame(stamp, ir.frame_id, faces, depth is not None)

    def regions_px(self, stamp_ns: int, scale: float = 1.5
                   ) -> list[tuple[int, int, int, int]] | None:
        """Boxes (x, y, w, h) where faces will be at ``stamp_ns``, ``scale`` times their size.

        From the tracks seen in the last 100 ms, moved on by their velocity; None while
        no face is tracked (a new face can then be anywhere). What depth is needed for:
        the tracker reads depth only inside face boxes.
        """
        recent = [t for t in self._tracks if self._last_stamp_ns is not None
                  and self._last_stamp_ns - t.last_ns <= _RECENT_NS]
        if not recent:
            return None
        regions = []
        for track in recent:
            x, y, w, h = track.predicted_box(stamp_ns)
            side_w, side_h = w * scale, h * scale
            regions.append(_box_tuple(np.array([x + (w - side_w) / 2.0, y + (h - side_h) / 2.0,
                                                side_w, side_h])))
        return regions

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

    def _new_track(self, det: Detection, stamp_ns: int) -> _Track:
        c = self.config
        track = _Track(f"p{self._next_id}", np.array(det.box_px, np.float64), stamp_ns,
                       OneEuroFilter(c.smoothing_min_cutoff_hz, c.smoothing_beta),
                       OneEuroFilter(c.smoothing_min_cutoff_hz, c.smoothing_beta),
                       EyeFeatures())
        self._next_id += 1
        self.stats.tracks_started += 1
        self._tracks.append(track)
        return track

    def _assign(self, detections: list[Detection], stamp_ns: int, live: list[_Track],
                image: npt.NDArray[np.generic]
                ) -> list[tuple[Detection, _Track, FaceLandmarks | None]]:
        """Greedy nearest-centre matching to live tracks, then re-identification."""
        # Tracks seen in the last 100 ms continue by position alone, like live ones: a
        # frame or two without a face (a missed local detection) is no occlusion.
        recent = live + [t for t in self._tracks if t not in live
                         and stamp_ns - t.last_ns <= _RECENT_NS]
        pairs: list[tuple[float, int, int]] = []
        for d, det in enumerate(detections):
            centre = _centre(np.array(det.box_px, np.float64))
            for t, track in enumerate(recent):
                box = track.predicted_box(stamp_ns)
                dist = float(np.linalg.norm(centre - _centre(box))) / max(box[2], 1.0)
                if dist <= self.config.max_match_distance:
                    pairs.append((dist, d, t))
        pairs.sort()
        used_d: set[int] = set()
        used_t: set[int] = set()
        result: list[tuple[Detection, _Track, FaceLandmarks | None]] = []
        for _, d, t in pairs:
            if d in used_d or t in used_t:
                continue
            used_d.add(d)
            used_t.add(t)
            result.append((detections[d], recent[t], None))
        lost = [t for t in self._tracks if t not in recent]
        for d, det in enumerate(detections):
            if d in used_d:
                continue
            track = self._reidentify(det, lost, image, stamp_ns)
            if track is None:
                track = self._new_track(det, stamp_ns)
            else:
                lost.remove(track)
                self.stats.tracks_reidentified += 1
            result.append((det, track, None))
        return result

    def _reidentify(self, det: Detection, lost: list[_Track],
                    image: npt.NDArray[np.generic], stamp_ns: int) -> _Track | None:
        """Find the lost track this detection most likely continues, or None."""
        if not lost:
            return None
        box = np.array(det.box_px, np.float64)
        crop = square_crop(image, det.box_px, self.config.crop_margin, 32)
        looks = appearance(crop)
        best: tuple[float, _Track] | None = None
        for track in lost:
            last = _centre(track.box_px)
            carried = last + track.velocity_px_s * (stamp_ns - track.last_ns) * 1e-9
            dist = min(float(np.linalg.norm(_centre(box) - last)),
                       float(np.linalg.norm(_centre(box) - carried))) / max(track.box_px[2], 1.0)
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

    def _follow(self, image: npt.NDArray[np.generic], stamp_ns: int, live: list[_Track]
                ) -> list[tuple[Detection, _Track, FaceLandmarks | None]]:
        """Follow live tracks without a whole-frame detection."""
        result: list[tuple[Detection, _Track, FaceLandmarks | None]] = []
        for track in live:
            predicted = track.predicted_box(stamp_ns)
            found = None
            if (self.landmarker is not None and track.landmarks_px is not None
                    and track.since_landmarks_n + 1 < self.config.landmark_every_n):
                # No landmark model this frame: the face and its landmarks move on by the
                # track's velocity; eye features wait for the next measured frame.
                shift = predicted[:2] - track.box_px[:2]
                located = FaceLandmarks(track.landmarks_px + shift, 1.0)
                result.append((Detection(_box_tuple(predicted), 1.0), track, located))
                track.reused = True
                continue
            if self.landmarker is not None and track.anchor_offset_px is not None:
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
                    det = Detection(_box_tuple(box), det.score)
                found = None if det is None else (det, None)
            if found is None:
                self._need_detect = True  # lost here: look over the whole frame next time
                continue
            result.append((found[0], track, found[1]))
        return result

    def _follow_landmarks(self, image: npt.NDArray[np.generic], track: _Track,
                          predicted: npt.NDArray[np.float64]
                          ) -> tuple[Detection, FaceLandmarks] | None:
        assert self.landmarker is not None and track.anchor_offset_px is not None
        located = self._locate(image, _box_tuple(predicted), track)
        if located is None or located.confidence < 0.5:
            return None
        centroid = np.nanmean(located.points_px, axis=0)
        if not np.isfinite(centroid).all():
            return None
        centre = centroid + track.anchor_offset_px
        w, h = track.box_px[2], track.box_px[3]
        box = np.array([centre[0] - w / 2.0, centre[1] - h / 2.0, w, h])
        return Detection(_box_tuple(box), float(located.confidence)), located

    def _locate(self, image: npt.NDArray[np.generic], box_px: tuple[int, int, int, int],
                track: _Track) -> FaceLandmarks | None:
        """Run the landmark model, with the irises every iris_every_n-th time only.

        In between, the face's last irises stand in: only their radius is used (pupil
        size), and a pupil changes over hundreds of milliseconds, not between frames.
        """
        assert self.landmarker is not None
        with_iris = track.since_iris_n % self.config.iris_every_n == 0
        located = (self.landmarker.locate(image, box_px) if with_iris
                   else self.landmarker.locate(image, box_px, iris=False))
        if located is None:
            return None
        track.since_iris_n += 1
        if located.iris_px is not None:
            track.iris_px = located.iris_px
        elif track.iris_px is not None:
            located = replace(located, iris_px=track.iris_px)
        return located

    def _local_detect(self, image: npt.NDArray[np.generic],
                      predicted: npt.NDArray[np.float64]) -> Detection | None:
        """Run the detector on a window twice the predicted face's size."""
        side = 2.0 * max(predicted[2], predicted[3])
        cx, cy = _centre(predicted)
        # On the detector's sampling grid, so a face gives the box a whole-frame pass gives.
        grid = int(getattr(self.detector, "downsample", 1))
        x0, y0 = max(int(cx - side / 2.0), 0), max(int(cy - side / 2.0), 0)
        x0, y0 = x0 - x0 % grid, y0 - y0 % grid
        x1 = min(int(cx + side / 2.0), image.shape[1])
        y1 = min(int(cy + side / 2.0), image.shape[0])
        if min(x1 - x0, y1 - y0) < self.config.min_face_px:
            return None
        target = _box_tuple(predicted)
        best: tuple[float, Detection] | None = None
        for det in self.detector.detect(image[y0:y1, x0:x1]):
            x, y, w, h = det.box_px
            moved = Detection((x + x0, y + y0, w, h), det.score)
            overlap = iou(moved.box_px, target)
            if overlap > 0.3 and (best is None or overlap > best[0]):
                best = (overlap, moved)
        return best[1] if best is not None else None

    def _observe(self, ir: ImageFrame, det: Detection, track: _Track,
                 depth: ImageFrame | None, located: FaceLandmarks | None,
                 full: bool) -> FaceObservation:
        stamp = ir.stamp_ns
        raw = np.array(det.box_px, np.float64)
        dt_s = max((stamp - track.last_ns) / 1e9, 0.0)
        if dt_s > 0.0:
            alpha = min(dt_s / 0.05, 1.0)
            shift = _centre(raw) - _centre(track.box_px)
            track.velocity_px_s += alpha * (shift / dt_s - track.velocity_px_s)
        previous_box = track.box_px if dt_s > 0.0 else None
        track.box_px, track.last_ns = raw, stamp
        cx, cy, w, h = track.box_filter(stamp, [*_centre(raw), raw[2], raw[3]])
        box_px = _box_tuple(np.array([cx - w / 2.0, cy - h / 2.0, w, h]))
        self._box_speed(track, stamp, cx, cy, w)

        image = ir.data
        if located is None and self.landmarker is not None:
            if (track.landmarks_px is not None and previous_box is not None
                    and track.since_landmarks_n + 1 < self.config.landmark_every_n):
                shift = _centre(raw) - _centre(previous_box)
                located = FaceLandmarks(track.landmarks_px + shift, 1.0)
                track.reused = True
            else:
                located = self._locate(image, det.box_px, track)
        depth_data = depth.data if depth is not None else None
        crop = square_crop(image, box_px, self.config.crop_margin, self.config.crop_size_px)
        if full:
            looks = appearance(crop)
            if looks is not None:
                track.appearance = looks if track.appearance is None else _blend(
                    track.appearance, looks)

        x, y, bw, bh = det.box_px
        inner = to_float_image(image[max(y + bh // 4, 0):y + 3 * bh // 4,
                                     max(x + bw // 4, 0):x + 3 * bw // 4])
        lighting = self._lighting(track, inner)

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
                track.anchor_offset_px = _centre(raw) - centroid
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
                pose = self._pose(track, points, smooth, depth_data, full, stamp, dt_s)
                if depth_data is not None:
                    landmarks_m = landmarks_3d(smooth, self.camera, depth_data)

        head = (NAN, NAN, NAN)
        depth_score = NAN
        if depth_data is not None:
            if not math.isfinite(track.slow_depth_m):
                track.slow_depth_m = face_depth_m
            view = self._view_explained(track, stamp, landmarks_px, pose)
            depth_score = quality.depth_consistency(fraction, face_depth_m, track.slow_depth_m,
                                                    view)
            if math.isfinite(face_depth_m):
                track.slow_depth_m += 0.1 * (face_depth_m - track.slow_depth_m)
                if pose is not None and pose.depth_refined:
                    head = (float(pose.translation_m[0]), float(pose.translation_m[1]),
                            float(pose.translation_m[2]))
                elif self.camera is not None:
                    c = _centre(raw)
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

    def _lighting(self, track: _Track, inner: npt.NDArray[np.float32]) -> float:
        if inner.size == 0:
            return 0.0
        median = float(np.median(inner[::2, ::2]))
        contrast = quality.rms_contrast(inner)
        if not math.isfinite(track.slow_level):
            track.slow_level, track.slow_contrast = median, contrast
        score = quality.lighting_consistency(inner, track.slow_level, track.slow_contrast,
                                             median)
        track.slow_level += 0.02 * (median - track.slow_level)
        track.slow_contrast += 0.02 * (contrast - track.slow_contrast)
        return score

    def _box_speed(self, track: _Track, stamp_ns: int, cx: float, cy: float, w: float) -> None:
        """Update the face's speed in widths per second, over a 250 ms baseline.

        Measured on the smoothed box: frame-to-frame differences of raw detector boxes
        are mostly the detector's own jitter (a few pixels between a whole-frame and a
        local pass), which at 120 fps would read as a fast-moving head.
        """
        track.boxes.append((stamp_ns, cx, cy, w))
        while len(track.boxes) > 1 and stamp_ns - track.boxes[1][0] >= _POSE_LAG_NS:
            track.boxes.popleft()
        then_ns, then_cx, then_cy, then_w = track.boxes[0]
        if then_ns >= stamp_ns:
            return
        baseline_s = (stamp_ns - then_ns) * 1e-9
        move = math.hypot(cx - then_cx, cy - then_cy) + abs(w - then_w)
        track.speed = move / max(then_w, 1.0) / baseline_s

    def _pose(self, track: _Track, raw: npt.NDArray[np.float64],
              smooth: npt.NDArray[np.float64], depth_m: npt.NDArray[np.float32] | None,
              full: bool, stamp_ns: int, dt_s: float) -> HeadPose | None:
        """Head pose from the smoothed landmarks; updates angular speed and jitter."""
        assert self.camera is not None
        # Face-width estimates and the raw pose (for jitter) cost a dozen and one PnP
        # solves: they are taken on detection frames only, and the width only until its
        # median has settled, then now and again.
        if full:
            track.full_frames += 1
            if len(track.width_scales) < _WIDTH_SAMPLES or track.full_frames % 8 == 0:
                scale = fit_width_scale(raw, self.camera, steps=10)
                if math.isfinite(scale):
                    track.width_scales.append(scale)
                    track.width_scale = float(np.median(track.width_scales))
        pose = estimate_head_pose(smooth, self.camera, depth_m, track.width_scale)
        if pose is None:
            return None
        # Angular speed over a 250 ms baseline: frame-to-frame differences of a pose
        # from landmarks a pixel apart are mostly noise.
        track.rotations.append((stamp_ns, pose.rotation))
        while len(track.rotations) > 1 and stamp_ns - track.rotations[1][0] >= _POSE_LAG_NS:
            track.rotations.popleft()
        then_ns, then_rotation = track.rotations[0]
        if then_ns < stamp_ns and dt_s > 0.0:
            alpha = min(dt_s / 0.05, 1.0)
            baseline_s = (stamp_ns - then_ns) * 1e-9
            speed = rotation_angle_deg(then_rotation, pose.rotation) / baseline_s
            track.angular_speed_deg_s += alpha * (speed - track.angular_speed_deg_s)
        if full:
            raw_pose = estimate_head_pose(raw, self.camera, None, track.width_scale)
            if raw_pose is not None:
                jitter = rotation_angle_deg(raw_pose.rotation, pose.rotation)
                alpha = 0.25 if track.rotation is not None else 1.0
                track.jitter_sq_deg += alpha * (jitter * jitter - track.jitter_sq_deg)
        track.rotation = pose.rotation
        return pose

    def _view_explained(self, track: _Track, stamp_ns: int,
                        landmarks_px: npt.NDArray[np.float32], pose: HeadPose | None) -> float:
        """Shape change over the last 100 ms that the change of viewing angle explains."""
        if pose is None or self.camera is None or len(landmarks_px) == 0:
            track.shapes.clear()
            return NAN
        shape = quality.normalised_shape(landmarks_px.astype(np.float64), _EYE_CORNERS)
        track.shapes.append((stamp_ns, shape, pose))
        while len(track.shapes) > 1 and stamp_ns - track.shapes[1][0] >= _SHAPE_LAG_NS:
            track.shapes.popleft()
        then_ns, then_shape, then_pose = track.shapes[0]
        if then_ns == stamp_ns:
            return 0.0
        model = NEUTRAL_LANDMARKS_M * np.array([track.width_scale, 1.0, 1.0])
        predicted = quality.shape_change(
            quality.normalised_shape(project_model(pose, self.camera, model), _EYE_CORNERS),
            quality.normalised_shape(project_model(then_pose, self.camera, model),
                                     _EYE_CORNERS))
        apparent = quality.shape_change(shape, then_shape)
        return quality.view_explained_change(apparent, predicted)


def _centre(box: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.array([box[0] + box[2] / 2.0, box[1] + box[3] / 2.0])


def _blend(old: npt.NDArray[np.float32], new: npt.NDArray[np.float32]
           ) -> npt.NDArray[np.float32]:
    mixed = 0.9 * old + 0.1 * new
    norm = float(np.linalg.norm(mixed))
    return mixed / norm if norm > 1e-6 else new
