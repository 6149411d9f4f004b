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

"""``affect synth``: a synthetic data set from the rig, in a documented layout.

Layout of OUT (version 1)::

    manifest.json      what made it: "synthetic": true, the rig parameters, the resolved
                       capture conditions, camera intrinsics, counts, layout version
    labels.jsonl       one line per person in view per frame (affect_core.sim.truth
                       person_record), plus "frame" (index) and, in crops mode, "crop"
    windows.jsonl      one line per person per window (window_s, hop_s): the window's
                       majority expression, mean valence/arousal, presence, occlusion,
                       micro-expressions, blinks, light
    frames mode:
      ir/NNNNNN.png            16-bit IR frame (mono16 PNG)
      stereo/left/NNNNNN.png   8-bit rectified pair, at the stereo rate
      stereo/right/NNNNNN.png
      depth/NNNNNN.png         true depth of the left view, 16-bit millimetres (0 = none)
    crops mode:
      crops/NNNNNN_<truth_id>.png  16-bit face crop cut by the pipeline's own detector and
                                   crop; a person the detector misses has no crop
                                   ("crop": null) and is counted in the manifest
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from affect_core.errors import RecordingError
from affect_core.face.detect import iou
from affect_core.face.detectors import SIM_DETECTOR, FaceDetector, make_detector
from affect_core.face.tracker import square_crop
from affect_core.sim.rig import FrameTruth, RigConfig, SimFrame, SimRig
from affect_core.sim.truth import person_record, window_truth

LAYOUT_VERSION = 1
MODES = ("frames", "crops")


@dataclass
class SynthSummary:
    """Counts of what was written."""

    frames: int = 0
    stereo_frames: int = 0
    person_frames: int = 0
    crops: int = 0
    crops_missed: int = 0
    windows: int = 0


def _write_png(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), image):
        raise RecordingError(f"cannot write {path}; check free disk space and permissions")


class _WindowWriter:
    """Emits per-window truth as frames arrive, keeping only one window of truth."""

    def __init__(self, config: RigConfig, window_s: float, hop_s: float, file: Any) -> None:
        self._window_ns = int(round(window_s * 1e9))
        self._hop_ns = int(round(hop_s * 1e9))
        self._expected = int(round(window_s * config.fps))
        self._next_end = self._window_ns
        self._recent: deque[FrameTruth] = deque()
        self._file = file
        self.count = 0

    def add(self, truth: FrameTruth, next_stamp_ns: int) -> None:
        self._recent.append(truth)
        while next_stamp_ns >= self._next_end:
            start = self._next_end - self._window_ns
            for record in window_truth(self._recent, start, self._next_end, self._expected):
                self._file.write(json.dumps(asdict(record)) + "\n")
                self.count += 1
            self._next_end += self._hop_ns
            while self._recent and self._recent[0].stamp_ns < self._next_end - self._window_ns:
                self._recent.popleft()


def write_dataset(config: RigConfig, duration_s: float, out: Path, mode: str = "crops",
                  window_s: float = 2.0, hop_s: float = 0.5, crop_size_px: int = 64,
                  progress: bool = True) -> SynthSummary:
    """Render ``duration_s`` seconds of the rig into ``out`` (see the module docstring)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if out.exists() and any(out.iterdir()):
        raise RecordingError(f"{out} is not empty; choose a new --out directory")
    folders = (["ir", "stereo/left", "stereo/right", "depth"] if mode == "frames"
               else ["crops"])
    for folder in folders:
        (out / folder).mkdir(parents=True, exist_ok=True)
    rig = SimRig(config)
    detector = make_detector(SIM_DETECTOR, max_faces=max(config.num_people, 1))
    summary = SynthSummary()
    total = int(round(duration_s * config.fps))
    with (out / "labels.jsonl").open("w", encoding="utf-8") as labels_file, \
            (out / "windows.jsonl").open("w", encoding="utf-8") as windows_file:
        windows = _WindowWriter(config, window_s, hop_s, windows_file)
        for index in tqdm(range(total), desc="affect synth", unit="frame", disable=not progress):
            frame = rig.step()
            name = f"{index:06d}"
            crops = _write_frame(frame, out, name, mode, detector, crop_size_px, summary)
            for person in frame.people:
                record = {"frame": index, **person_record(frame.truth(), person)}
                if mode == "crops":
                    record["crop"] = crops.get(person.truth_id)
                labels_file.write(json.dumps(record) + "\n")
                summary.person_frames += 1
            windows.add(frame.truth(), rig.stamp_ns(index + 1))
            summary.frames += 1
        summary.windows = windows.count
    conditions = config.conditions()
    camera = rig.ir_camera
    manifest = {
        "layout_version": LAYOUT_VERSION,
        "synthetic": True,
        "note": "procedural faces from the affect simulated rig; not real people",
        "mode": mode,
        "duration_s": duration_s,
        "window_s": window_s,
        "hop_s": hop_s,
        "rig": {k: v for k, v in asdict(config).items() if k != "factors"},
        "conditions": asdict(conditions),
        "ir_camera": asdict(camera),
        "stereo_baseline_m": config.baseline_m,
        "counts": asdict(summary),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return summary


def _write_frame(frame: SimFrame, out: Path, name: str, mode: str,
                 detector: FaceDetector, crop_size_px: int,
                 summary: SynthSummary) -> dict[str, str | None]:
    if mode == "frames":
        _write_png(out / "ir" / f"{name}.png", frame.ir.data)
        if frame.stereo is not None and frame.depth_truth is not None:
            _write_png(out / "stereo" / "left" / f"{name}.png", frame.stereo.left)
            _write_png(out / "stereo" / "right" / f"{name}.png", frame.stereo.right)
            depth_mm = np.nan_to_num(frame.depth_truth.data * 1000.0, nan=0.0)
            _write_png(out / "depth" / f"{name}.png",
                       np.clip(np.round(depth_mm), 0, 65535).astype(np.uint16))
            summary.stereo_frames += 1
        return {}
    crops: dict[str, str | None] = {}
    detections = detector.detect(frame.ir.data) if frame.people else []
    for person in frame.people:
        best = max(detections, key=lambda d: iou(d.box_px, person.box_px), default=None)
        if best is None or iou(best.box_px, person.box_px) < 0.5:
            crops[person.truth_id] = None
            summary.crops_missed += 1
            continue
        relative = f"crops/{name}_{person.truth_id}.png"
        _write_png(out / relative, square_crop(frame.ir.data, best.box_px, 1.2, crop_size_px))
        crops[person.truth_id] = relative
        summary.crops += 1
    return crops
