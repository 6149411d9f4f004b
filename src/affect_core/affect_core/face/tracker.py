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

"""The face_tracker stage: detect, keep stable ids, measure quality, crop for the model."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.errors import InputError
from affect_core.face import quality
from affect_core.face.detect import Detection, to_float_image
from affect_core.face.detectors import DETECTOR_CHOICES, make_detector
from affect_core.params import ParamSpec, resolve
from affect_core.types import (
    NAN,
    CameraModel,
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
    ParamSpec("detector", "blob", "face detector: blob (bright IR blobs, no weights) or "
              "blazeface, blazeface_whole, blazeface_short (MediaPipe BlazeFace, pretrained "
              "on photographs); see affect_core.face.detectors", choices=DETECTOR_CHOICES),
    ParamSpec("track_timeout_s", 1.0, "keep a lost track this long for re-identification",
              0.0, 30.0),
    ParamSpec("max_match_distance", 0.6,
              "largest centre jump, in face widths, that still continues a track", 0.05, 5.0),
    ParamSpec("depth_max_age_s", 0.05,
              "largest stamp difference between an IR frame and its associated depth frame",
              0.0, 1.0),
)


@dataclass(frozen=True)
class FaceTrackerConfig:
    """Validated face_tracker parameters (see PARAMS)."""

    crop_size_px: int = 64
    crop_margin: float = 1.2
    min_face_px: int = 24
    max_faces: int = 4
    detector: str = "blob"
    track_timeout_s: float = 1.0
    max_match_distance: float = 0.6
    depth_max_age_s: float = 0.05

    @classmethod
    def from_params(cls, given: Mapping[str, Any]) -> FaceTrackerConfig:
        """Build from a ``ros__parameters`` mapping, validating every value."""
        return cls(**resolve(PARAMS, given, "face_tracker"))


@dataclass
class _Track:
    person_id: str
    centre_px: npt.NDArray[np.float64]
    width_px: float
    last_ns: int
    speed: float = 0.0
    slow_level: float = NAN
    slow_depth_m: float = NAN


@dataclass
class TrackerStats:
    """Counters the node's diagnostics report."""

    frames: int = 0
    frames_without_face: int = 0
    frames_with_depth: int = 0
    tracks_started: int = 0
    rejected_frames: int = 0


def square_crop(image: npt.NDArray[np.generic], box_px: tuple[int, int, int, int],
                margin: float, size_px: int) -> npt.NDArray[np.generic]:
    """A square crop centred on ``box_px``, zero-padded outside the image, resized."""
    x, y, w, h = box_px
    side = int(round(max(w, h) * margin))
    cx, cy = x + w / 2.0, y + h / 2.0
    x0, y0 = int(round(cx - side / 2.0)), int(round(cy - side / 2.0))
    pad = max(0, -x0, -y0, x0 + side - image.shape[1], y0 + side - image.shape[0])
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        x0, y0 = x0 + pad, y0 + pad
    crop = image[y0:y0 + side, x0:x0 + side]
    return cv2.resize(crop, (size_px, size_px), interpolation=cv2.INTER_AREA)


class FaceTracker:
    """Per-frame faces with stable ids, quality evidence and model crops.

    The depth frame given with an IR frame (affect_core.sync.associate picks it) must be
    registered to the IR image (same intrinsics and optical centre), as the simulated
    rig provides; without one, head positions are NaN.
    """

    def __init__(self, config: FaceTrackerConfig, camera: CameraModel | None = None) -> None:
        self.config = config
        self.camera = camera
        self.detector = make_detector(config.detector, config.min_face_px, config.max_faces)
        self._tracks: list[_Track] = []
        self._next_id = 1
        self.stats = TrackerStats()

    def process(self, ir: ImageFrame, depth: ImageFrame | None = None) -> FaceFrame:
        """Find, track and measure the faces of one IR frame, with its associated depth."""
        if ir.encoding not in ("mono16", "mono8"):
            self.stats.rejected_frames += 1
            raise InputError(f"IR frames must be mono16 or mono8, got encoding {ir.encoding!r}")
        if depth is not None and (depth.encoding != "32FC1" or depth.data.ndim != 2):
            self.stats.rejected_frames += 1
            raise InputError(f"depth frames must be 32FC1 single-channel, got {depth.encoding} "
                             f"with shape {depth.data.shape}")
        self.stats.frames += 1
        detections = self.detector.detect(ir.data)
        if depth is not None:
            self.stats.frames_with_depth += 1
            if depth.data.shape != ir.data.shape:
                raise InputError(f"depth {depth.data.shape} is not registered to the IR image "
                                 f"{ir.data.shape}; register it first")
        self._expire(ir.stamp_ns)
        assigned = self._assign(detections, ir.stamp_ns)
        faces = [self._observe(ir, det, track, depth) for det, track in assigned]
        if not faces:
            self.stats.frames_without_face += 1
        return FaceFrame(ir.stamp_ns, ir.frame_id, faces, depth is not None)

    def _expire(self, stamp_ns: int) -> None:
        timeout_ns = int(self.config.track_timeout_s * 1e9)
        self._tracks = [t for t in self._tracks if stamp_ns - t.last_ns <= timeout_ns]

    def _assign(self, detections: list[Detection],
                stamp_ns: int) -> list[tuple[Detection, _Track]]:
        """Greedy nearest-centre association, new tracks for the unmatched."""
        pairs: list[tuple[float, int, int]] = []
        for d, det in enumerate(detections):
            x, y, w, h = det.box_px
            centre = np.array([x + w / 2.0, y + h / 2.0])
            for t, track in enumerate(self._tracks):
                dist = float(np.linalg.norm(centre - track.centre_px)) / max(track.width_px, 1.0)
                if dist <= self.config.max_match_distance:
                    pairs.append((dist, d, t))
        pairs.sort()
        used_d: set[int] = set()
        used_t: set[int] = set()
        result: list[tuple[Detection, _Track]] = []
        for _, d, t in pairs:
            if d in used_d or t in used_t:
                continue
            used_d.add(d)
            used_t.add(t)
            result.append((detections[d], self._tracks[t]))
        for d, det in enumerate(detections):
            if d in used_d:
                continue
            x, y, w, h = det.box_px
            track = _Track(f"p{self._next_id}", np.array([x + w / 2.0, y + h / 2.0]),
                           float(w), stamp_ns)
            self._next_id += 1
            self.stats.tracks_started += 1
            self._tracks.append(track)
            result.append((det, track))
        return result

    def _observe(self, ir: ImageFrame, det: Detection, track: _Track,
                 depth: ImageFrame | None) -> FaceObservation:
        x, y, w, h = det.box_px
        centre = np.array([x + w / 2.0, y + h / 2.0])
        dt_s = max((ir.stamp_ns - track.last_ns) / 1e9, 0.0)
        if dt_s > 0.0:
            move = float(np.linalg.norm(centre - track.centre_px)) + abs(w - track.width_px)
            speed = move / max(track.width_px, 1.0) / dt_s
            alpha = min(dt_s / 0.05, 1.0)
            track.speed += alpha * (speed - track.speed)
        track.centre_px, track.width_px, track.last_ns = centre, float(w), ir.stamp_ns

        # Only the face region is converted to levels, not the whole frame.
        inner = to_float_image(ir.data[y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4])
        if inner.size == 0:
            inner = to_float_image(ir.data[max(y, 0):y + h, max(x, 0):x + w])
        median = float(np.median(inner)) if inner.size else 0.0
        if not math.isfinite(track.slow_level):
            track.slow_level = median
        lighting = quality.lighting_consistency(inner, track.slow_level) if inner.size else 0.0
        track.slow_level += 0.02 * (median - track.slow_level)

        head = (NAN, NAN, NAN)
        depth_score = NAN
        if depth is not None:
            patch = depth.data[y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4]
            valid = np.isfinite(patch) & (patch > 0.0)
            fraction = float(valid.mean()) if patch.size else 0.0
            z = float(np.median(patch[valid])) if valid.any() else NAN
            if not math.isfinite(track.slow_depth_m):
                track.slow_depth_m = z
            depth_score = quality.depth_consistency(fraction, z, track.slow_depth_m)
            if math.isfinite(z):
                track.slow_depth_m += 0.1 * (z - track.slow_depth_m)
                if self.camera is not None:
                    head = self.camera.back_project(float(centre[0]), float(centre[1]), z)
        crop = square_crop(ir.data, det.box_px, self.config.crop_margin, self.config.crop_size_px)
        sharp = quality.sharpness(crop.astype(np.float32))
        frame_quality = FrameQuality(quality.pose_stability(track.speed), lighting, depth_score,
                                     sharp)
        return FaceObservation(ir.stamp_ns, track.person_id, det.box_px, head, frame_quality,
                               crop, ir.encoding)
