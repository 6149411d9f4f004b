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

"""``affect bench face``: the real-face configuration per 640x480 frame on one core.

The rig's faces are drawings that BlazeFace does not find without tiles, so the frames
here hold a real face instead: scikit-image's ``astronaut`` photograph (NASA, public
domain; visible light converted to grey, not IR), one copy per person, each drifting on
its own slow path across a 640x480 mono16 frame at 120 fps, with a registered depth
frame at 30 Hz. The face models' cost does not depend on what the face looks like, only
on how many faces and how often each model runs, so these frames time the stages as a
camera's would; they say nothing about accuracy.

Frames are made first; only the stages are timed, on one thread (OpenCV and ONNX
Runtime), as CPU time. Each row adds one lever to the one above, so one run shows what
each gives; the last row is the shipped default, whose landmark model runs the faces of
a frame on two threads (its CPU columns add up both threads, the wall column shows what
the second core gives). Stages: whole-frame detection (amortised over
the frames), the face mesh, the irises, everything else the tracker does per face
(smoothing, head pose, eye features, quality, the crop), the windower, and the emotion
model per window (K crops in one batch), which comes to the frame budget as
(people x model ms) / (hop_s x fps) per frame.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from affect_core.types import CameraModel, FaceFrame, ImageFrame
from affect_core.window import WindowConfig, Windower

FPS = 120.0
DEPTH_EVERY_N = 4  # 30 Hz depth beside 120 Hz IR
WIDTH_PX, HEIGHT_PX = 640, 480
# The face of the astronaut photograph (512x512): rows, columns of a brow-to-chin crop.
_FACE_ROWS, _FACE_COLS = slice(20, 260), slice(120, 330)
_LOCK = threading.Lock()  # landmark threads add to the same counters


def photo_camera() -> CameraModel:
    """Return the pinhole camera of the frames (the rig's 560 px focal length)."""
    return CameraModel(WIDTH_PX, HEIGHT_PX, 560.0, 560.0, WIDTH_PX / 2.0, HEIGHT_PX / 2.0,
                       "ir_camera_optical_frame")


def photo_frames(people: int, seconds: float,
                 face_width_px: float = 0.0) -> Iterator[tuple[ImageFrame, ImageFrame | None]]:
    """Yield (IR, depth or None) frames with ``people`` moving copies of a real face.

    Needs scikit-image (the test extra) for the photograph. Faces are about 110 px wide
    for one person and 80 px for four, unless ``face_width_px`` is given.
    """
    from skimage import data

    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[_FACE_ROWS, _FACE_COLS]
    width = face_width_px or (150.0 if people == 1 else 110.0)
    scale = width / face.shape[1]
    face = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    face16 = face.astype(np.uint16) * 200 + 4000
    h, w = face16.shape
    cols = max(1, math.ceil(math.sqrt(people)))
    rows = math.ceil(people / cols)
    count = int(round(seconds * FPS))
    for i in range(count):
        t = i / FPS
        ir = np.full((HEIGHT_PX, WIDTH_PX), 3000, np.uint16)
        depth = np.full((HEIGHT_PX, WIDTH_PX), 3.0, np.float32)
        for p in range(people):
            cx = (p % cols + 0.5) * WIDTH_PX / cols + 25.0 * math.sin(0.6 * t + p)
            cy = (p // cols + 0.5) * HEIGHT_PX / rows + 15.0 * math.sin(0.45 * t + 2 * p)
            x0 = int(np.clip(cx - w / 2, 0, WIDTH_PX - w))
            y0 = int(np.clip(cy - h / 2, 0, HEIGHT_PX - h))
            ir[y0:y0 + h, x0:x0 + w] = face16
            depth[y0:y0 + h, x0:x0 + w] = 1.0 + 0.2 * p
        stamp = int(round(t * 1e9))
        yield (ImageFrame(stamp, "ir_camera_optical_frame", "mono16", ir),
               ImageFrame(stamp, "ir_camera_optical_frame", "32FC1", depth)
               if i % DEPTH_EVERY_N == 0 else None)


class _Timed:
    """Wrap a callable and add its CPU time, on whichever thread runs it, to a counter."""

    def __init__(self, function: Callable[..., Any], totals: dict[str, float], key: str):
        self.function, self.totals, self.key = function, totals, key

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return self.function(*args, **kwargs)
        finally:
            spent = time.thread_time() - start
            with _LOCK:
                self.totals[self.key] = self.totals.get(self.key, 0.0) + spent


@dataclass
class StageSplit:
    """CPU ms per frame of each stage for one configuration."""

    name: str
    people: int
    frames: int
    ms_per_frame: dict[str, float] = field(default_factory=dict)
    faces_per_frame: float = 0.0
    detector_runs: int = 0
    wall_ms_per_frame: float = 0.0  # tracker and windower, as the clock on the wall saw it

    @property
    def total_ms(self) -> float:
        """Milliseconds per frame, all stages."""
        return sum(self.ms_per_frame.values())


def _time_tracker(name: str, people: int, frames: list[tuple[ImageFrame, ImageFrame | None]],
                  params: dict[str, Any], windower: Windower) -> StageSplit:
    from affect_core.face.tracker import FaceTracker, FaceTrackerConfig

    tracker = FaceTracker(FaceTrackerConfig.from_params(params), photo_camera())
    totals: dict[str, float] = {}
    detect = _Timed(tracker.detector.detect, totals, "detection")
    tracker.detector.detect = detect  # type: ignore[method-assign]
    mesh = tracker.landmarker
    if mesh is not None:
        mesh._run_mesh = _Timed(mesh._run_mesh, totals, "mesh")  # type: ignore[attr-defined]
        mesh._run_iris = _Timed(mesh._run_iris, totals, "irises")  # type: ignore[attr-defined]
    settle = int(FPS)  # the first second starts the tracks
    windower_s = wall_s = 0.0
    faces = 0
    timed = frames[settle:]
    depth = None
    cpu_start = 0.0
    for i, (ir, new_depth) in enumerate(frames):
        depth = new_depth or depth
        if i == settle:
            totals.clear()
            runs = tracker.stats.detector_runs
            cpu_start = time.process_time()
        wall = time.perf_counter()
        face_frame: FaceFrame = tracker.process(ir, depth)
        middle = time.thread_time()
        windower.push(face_frame)
        if i >= settle:
            windower_s += time.thread_time() - middle
            wall_s += time.perf_counter() - wall
            faces += len(face_frame.faces)
    # The process's CPU over the whole run, every thread's (landmarks on a pool, a
    # detection ahead) counted once; the tracker's is what the windower did not take.
    tracker_s = time.process_time() - cpu_start - windower_s
    n = max(len(timed), 1)
    split = StageSplit(name, people, len(timed))
    models = sum(totals.values())
    for key in ("detection", "mesh", "irises"):
        split.ms_per_frame[key] = 1000.0 * totals.get(key, 0.0) / n
    split.ms_per_frame["tracking, pose, eyes, quality"] = 1000.0 * (tracker_s - models) / n
    split.ms_per_frame["windowing"] = 1000.0 * windower_s / n
    split.faces_per_frame = faces / n
    split.detector_runs = tracker.stats.detector_runs - runs
    split.wall_ms_per_frame = 1000.0 * wall_s / n
    return split


def _model_ms_per_window(rounds: int = 60) -> float:
    """CPU ms per window of the default emotion model on K crops, one thread."""
    from affect_core.model.stage import EmotionVit, EmotionVitConfig

    k = WindowConfig().samples_per_window
    stage = EmotionVit(EmotionVitConfig(execution_provider="cpu"))
    rng = np.random.default_rng(0)
    crops = [rng.integers(2000, 30000, (64, 64)).astype(np.uint16) for _ in range(k)]
    for _ in range(5):
        stage.model.predict_explained(crops, True)
    start = time.process_time()
    for _ in range(rounds):
        stage.model.predict_explained(crops, True)
    return 1000.0 * (time.process_time() - start) / rounds


# Each lever on its own row, in the order they were added, so one run shows what each gives.
# All on one thread but the last row, whose CPU columns then add up both threads' time,
# and the detection ahead, whose pass runs on a thread of its own beside the tracker's.
CONFIGURATIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("no landmarks, detect every 4", {"landmarker": "none", "landmark_threads": 1}),
    ("+ detection 3 frames ahead", {"landmarker": "none", "detect_ahead_frames": 3,
                                    "landmark_threads": 1}),
    ("no landmarks, one tile per pass", {"landmarker": "none", "tiles_per_pass": 1,
                                         "landmark_threads": 1}),
    ("no landmarks, detect every 60", {"landmarker": "none", "detect_every_n": 60,
                                       "landmark_threads": 1}),
    ("mesh+irises, detect every 4", {"landmark_detect_every_n": 4, "iris_every_n": 1,
                                     "landmark_threads": 1}),
    ("+ detect for new faces /60", {"iris_every_n": 1, "landmark_threads": 1}),
    ("+ irises every 4th", {"landmark_threads": 1}),
    ("+ landmarks every 2nd frame", {"landmark_every_n": 2, "landmark_threads": 1}),
    ("mesh defaults, 2 threads", {}),
)


def bench_real_face(seconds: float = 3.0, people_counts: tuple[int, ...] = (1, 4),
                    configurations: tuple[tuple[str, dict[str, Any]], ...] = CONFIGURATIONS
                    ) -> tuple[list[StageSplit], float]:
    """Per-stage split for each configuration and people count; model ms per window."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    results = []
    try:
        model_ms = _model_ms_per_window()
        for people in people_counts:
            frames = list(photo_frames(people, seconds + 1.0))
            for name, overrides in configurations:
                params = {"detector": "blazeface", "landmarker": "mesh", **overrides}
                results.append(_time_tracker(name, people, frames, params,
                                             Windower(WindowConfig())))
    finally:
        cv2.setNumThreads(previous)
    return results, model_ms


def format_real_face_bench(results: list[StageSplit], model_ms: float) -> str:
    """Format the per-stage table, with the emotion model amortised per frame."""
    hop_frames = WindowConfig().hop_s * FPS
    stages = list(results[0].ms_per_frame) if results else []
    lines = ["real-face configuration (BlazeFace detector), 640x480 mono16, CPU ms per frame on "
             "1 thread; frames: a real face photograph (astronaut, visible light, not IR) "
             "moving, depth at 30 Hz:"]
    header = (f"{'people':>6}  {'configuration':<32}"
              + "".join(f"{_short(s):>11}" for s in stages)
              + f"{'model':>8}{'total':>8}{'x 120 fps':>10}{'wall ms':>9}")
    lines.append(header)
    for r in results:
        model = r.people * model_ms / hop_frames
        total = r.total_ms + model
        cells = "".join(f"{r.ms_per_frame[s]:>11.2f}" for s in stages)
        lines.append(f"{r.people:>6}  {r.name:<32}{cells}{model:>8.2f}{total:>8.2f}"
                     f"{1000.0 / FPS / total:>10.2f}{r.wall_ms_per_frame + model:>9.2f}")
    lines.append(f"detection: whole-frame runs amortised over every frame; model: the default "
                 f"emotion model, {model_ms:.2f} ms per window of "
                 f"{WindowConfig().samples_per_window} crops, a window per person every "
                 f"{hop_frames:.0f} frames; x 120 fps: the frame budget ({1000.0 / FPS:.2f} ms) "
                 "over the CPU total, >= 1 keeps up on one core; wall ms: the tracker's time on "
                 "the clock, with the model added, which threads shorten")
    return "\n".join(lines)


def _short(stage: str) -> str:
    return {"tracking, pose, eyes, quality": "track+qual"}.get(stage, stage)
