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


"""The face_tracker's parameters, the state it keeps per track, and small box helpers."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.face.detectors import DETECTOR_CHOICES
from affect_core.face.eyes import EyeFeatures
from affect_core.face.head_pose import HeadPose
from affect_core.face.mesh import LANDMARKER_CHOICES
from affect_core.face.one_euro import OneEuroFilter
from affect_core.params import ParamSpec, resolve
from affect_core.sim.face_model import landmark_index
from affect_core.types import NAN, EyeState

PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("crop_size_px", 64, "side of the square face crop handed to the model", 16, 512),
    ParamSpec("crop_margin", 1.2, "crop side as a multiple of the larger face-box side",
              1.0, 3.0),
    ParamSpec("min_face_px", 24, "smallest face width detected, in pixels", 8, 1024),
    ParamSpec("max_faces", 4, "most faces reported per frame", 1, 32),
    ParamSpec("detector", "auto", "face detector: auto (blazeface_whole on the simulated rig, "
              "blazeface on every other source), blob (bright blobs, no weights) or "
              "blazeface, blazeface_whole, blazeface_short (MediaPipe BlazeFace, pretrained "
              "on photographs); see affect_core.face.detectors", choices=DETECTOR_CHOICES),
    ParamSpec("follow_detector", "auto",
              "detector run on a window twice a tracked face's size between whole-frame "
              "passes: auto (blazeface_short after any BlazeFace detector, as the face "
              "fills half its input; otherwise the detector itself) or a detector name",
              choices=DETECTOR_CHOICES),
    ParamSpec("track_timeout_s", 1.0, "keep a lost track this long for re-identification",
              0.0, 30.0),
    ParamSpec("max_match_distance", 0.6,
              "largest centre jump, in face widths, that still continues a track", 0.05, 5.0),
    ParamSpec("depth_max_age_s", 0.05,
              "largest stamp difference between an IR frame and its associated depth frame",
              0.0, 1.0),
    ParamSpec("depth_max_wait_s", 0.0,
              "longest an IR frame waits, in sensor time, for a depth frame nearer to it than "
              "those already there; 0: at once, with the depth already there (no stereo "
              "matching in the latency; depth up to a depth period older)", 0.0, 1.0),
    ParamSpec("landmarker", "none",
              "landmark model: mesh (MediaPipe face mesh and iris, see "
              "affect_core.face.mesh) or none (no head orientation or eye features)",
              choices=LANDMARKER_CHOICES),
    ParamSpec("detect_every_n", 4,
              "run the whole-frame detector every N frames and track in between", 1, 1000),
    ParamSpec("tiles_per_pass", 4,
              "with the tiled detector (blazeface), how many of its 2x2 tiles each periodic "
              "whole-frame pass between followed faces runs, taking turns, beside the whole "
              "frame and the tile of each followed face; searches and the passes every "
              "landmark_detect_every_n frames run every tile. 4: every tile in every pass; "
              "1 costs about half as much and loses faces under hard light (README)", 1, 4),
    ParamSpec("detect_ahead_frames", 0,
              "run each periodic whole-frame detection on its own thread and join its faces "
              "N frames later, following the tracked faces meanwhile (a second core takes "
              "the pass out of the frames' latency); 0: in the frame, which waits for it. "
              "Below detect_every_n and landmark_detect_every_n", 0, 999),
    ParamSpec("landmark_detect_every_n", 60,
              "while a landmark model follows every tracked face, run the whole-frame "
              "detector only every N frames, to find new faces (60: 0.5 s at 120 fps)",
              1, 10000),
    ParamSpec("iris_every_n", 4,
              "run the iris model on each face every N landmark-model frames; the pupil "
              "size keeps its last measurement in between (it changes over 100s of ms)",
              1, 120),
    ParamSpec("landmark_threads", 2,
              "threads that run the landmark model on the faces of one frame at once "
              "(1: one face after another)", 1, 32),
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

EYE_CORNERS = (landmark_index("eye_r_outer"), landmark_index("eye_r_inner"),
               landmark_index("eye_l_inner"), landmark_index("eye_l_outer"))
SHAPE_LAG_NS = 100_000_000  # apparent shape change is measured over 100 ms
POSE_LAG_NS = 250_000_000  # angular speed is measured over 250 ms
RECENT_NS = 100_000_000
THUMB_PX = 16
# A stamp this far behind the previous frame's is a clock jump (a replay loop): the
# tracker starts again; a smaller step back, or the same stamp, is a frame out of order.
CLOCK_JUMP_NS = 1_000_000_000
WIDTH_SAMPLES = 31


@dataclass(frozen=True)
class FaceTrackerConfig:
    """Validated face_tracker parameters (see PARAMS)."""

    crop_size_px: int = 64
    crop_margin: float = 1.2
    min_face_px: int = 24
    max_faces: int = 4
    detector: str = "auto"
    follow_detector: str = "auto"
    track_timeout_s: float = 1.0
    max_match_distance: float = 0.6
    depth_max_age_s: float = 0.05
    depth_max_wait_s: float = 0.0
    landmarker: str = "none"
    detect_every_n: int = 4
    tiles_per_pass: int = 4
    detect_ahead_frames: int = 0
    landmark_detect_every_n: int = 60
    iris_every_n: int = 4
    landmark_threads: int = 2
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
class Track:
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
    width_scales: deque[float] = field(default_factory=lambda: deque(maxlen=WIDTH_SAMPLES))
    rotation: npt.NDArray[np.float64] | None = None
    angular_speed_deg_s: float = 0.0
    jitter_sq_deg: float = 0.0
    full_frames: int = 0
    motion_history: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=60))
    detected_size_px: tuple[float, float] = (0.0, 0.0)  # box size at the last detection
    since_landmarks_n: int = 0  # frames since the landmark model last ran on this face
    since_iris_n: int = 0  # landmark-model frames since the iris model last ran
    iris_px: npt.NDArray[np.float64] | None = None  # the last irises measured
    lid_offset_px: npt.NDArray[np.float64] | None = None  # eye model minus mesh, last seen
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
    faces_found_ahead: int = 0  # new faces from a detection run ahead, found again in the frame
    faces_kept_by_landmarks: int = 0  # faces a whole-frame pass missed, followed on
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
    small = cv2.resize(crop.astype(np.float32), (THUMB_PX, THUMB_PX),
                       interpolation=cv2.INTER_AREA)
    small -= float(small.mean())
    norm = float(np.linalg.norm(small))
    return small / norm if norm > 1e-6 else None


def box_tuple(box: npt.NDArray[np.float64]) -> tuple[int, int, int, int]:
    """Round an (x, y, w, h) array to whole pixels, at least 1 px wide and high."""
    return (int(round(box[0])), int(round(box[1])), max(int(round(box[2])), 1),
            max(int(round(box[3])), 1))


def box_centre(box: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Return the (x, y) centre of an (x, y, w, h) box."""
    return np.array([box[0] + box[2] / 2.0, box[1] + box[3] / 2.0])


def blend(old: npt.NDArray[np.float32], new: npt.NDArray[np.float32]
          ) -> npt.NDArray[np.float32]:
    """Blend a new appearance thumbnail into a track's, keeping it unit-norm."""
    mixed = 0.9 * old + 0.1 * new
    norm = float(np.linalg.norm(mixed))
    return mixed / norm if norm > 1e-6 else new
