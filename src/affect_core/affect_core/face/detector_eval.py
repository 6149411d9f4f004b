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


"""Measuring face detectors and the mesh landmarker: rig ground truth and photographs.

Rig (synthetic, cartoon-like IR faces): a detection is a hit when it overlaps a true face
box with IoU >= 0.5, each true face matched at most once, greedily by IoU. Faces less than
half inside the frame are "don't care": missing them is no miss, and a detection on them
is no false positive. Recall = hits / true faces; precision = hits / counted detections.

Photographs (real faces, from scikit-image, converted to grey to stand in for IR):
``astronaut`` holds one face; a detection is a hit when it holds both of its eye centres
(located by hand at (204, 101) and (246, 104) px). ``lfw_subset`` holds 100 tight 25x25
face crops and 100 non-face crops; each is enlarged 4x and centred on a 200x200 canvas of
its own mean grey, so the face is about half the frame, as at arm's length. A face crop
with a detection is a hit, a non-face crop with one is a false positive.

Landmarks: the mean distance between the mesh's rig-named points and the rig's
projected truth, divided by the distance between the outer eye corners (normalised
mean error, NME), on faces at least 90% inside the frame, cropped from the true box and
from a BlazeFace box.

Speed is the median milliseconds per call on one thread (cv2.setNumThreads(1), ONNX
Runtime intra-op threads 1), on the machine at hand: wall-clock time, and the calling
thread's CPU time, which other processes on a shared machine do not inflate. Rig frames
are 640x480; the astronaut 512x512; the LFW canvases 200x200.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.errors import ConfigError
from affect_core.face.detect import Detection, iou
from affect_core.face.detectors import FaceDetector, make_detector
from affect_core.sim.face_model import LANDMARK_NAMES
from affect_core.sim.rig import RigConfig, SimFrame, SimRig

ASTRONAUT_EYES_PX = ((204.0, 101.0), (246.0, 104.0))
LFW_SCALE = 4
LFW_CANVAS_PX = 200
_OUTER_EYES = (LANDMARK_NAMES.index("eye_r_outer"), LANDMARK_NAMES.index("eye_l_outer"))


@dataclass
class DetectionScore:
    """Counts of one detector on one data set, and its time per call."""

    detector: str
    data: str
    truths: int = 0
    hits: int = 0
    detections: int = 0
    false_positives: int = 0
    milliseconds: list[float] = field(default_factory=list)
    cpu_milliseconds: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Share of true faces found."""
        return self.hits / self.truths if self.truths else float("nan")

    @property
    def precision(self) -> float:
        """Share of counted detections that are true faces."""
        counted = self.hits + self.false_positives
        return self.hits / counted if counted else float("nan")

    @property
    def ms_per_call(self) -> float:
        """Median time of one detect() call in milliseconds."""
        return float(np.median(self.milliseconds)) if self.milliseconds else float("nan")

    @property
    def cpu_ms_per_call(self) -> float:
        """Median CPU time of the calling thread in one detect() call, in milliseconds."""
        return (float(np.median(self.cpu_milliseconds)) if self.cpu_milliseconds
                else float("nan"))


@dataclass
class LandmarkScore:
    """Normalised mean landmark error of the mesh on one data set and box source."""

    data: str
    boxes: str
    nme: list[float] = field(default_factory=list)
    rejected: int = 0
    cpu_milliseconds: list[float] = field(default_factory=list)


def match(detections: Sequence[Detection], truths: Sequence[tuple[int, int, int, int]],
          dont_care: Sequence[tuple[int, int, int, int]], min_iou: float = 0.5
          ) -> tuple[int, int]:
    """(hits, false positives) of ``detections`` against true boxes, greedily by IoU."""
    pairs = sorted(((iou(d.box_px, t), i, j) for i, d in enumerate(detections)
                    for j, t in enumerate(truths)), reverse=True)
    used_d: set[int] = set()
    used_t: set[int] = set()
    for overlap, i, j in pairs:
        if overlap < min_iou:
            break
        if i not in used_d and j not in used_t:
            used_d.add(i)
            used_t.add(j)
    false_positives = sum(
        1 for i, d in enumerate(detections)
        if i not in used_d and not any(iou(d.box_px, t) >= min_iou for t in dont_care))
    return len(used_t), false_positives


def _timed(detector: FaceDetector, image: npt.NDArray[np.generic],
           score: DetectionScore) -> list[Detection]:
    start, start_cpu = time.perf_counter(), time.thread_time()
    found = detector.detect(image)
    score.milliseconds.append((time.perf_counter() - start) * 1000.0)
    score.cpu_milliseconds.append((time.thread_time() - start_cpu) * 1000.0)
    return found


def rig_frames(preset: str, people: int, duration_s: float, stride: int,
               seed: int) -> list[SimFrame]:
    """Every ``stride``-th frame of ``duration_s`` seconds of the rig."""
    rig = SimRig(RigConfig(num_people=people, preset=preset, seed=seed))
    return [f for i, f in enumerate(rig.frames(duration_s)) if i % stride == 0]


def score_rig(detector: FaceDetector, name: str, data: str,
              frames: Sequence[SimFrame]) -> DetectionScore:
    """Recall, precision and speed of ``detector`` on rig frames (see module docstring)."""
    score = DetectionScore(name, data)
    for frame in frames:
        found = _timed(detector, frame.ir.data, score)
        truths = [p.box_px for p in frame.people if p.visible_fraction >= 0.5]
        dont_care = [p.box_px for p in frame.people if 0.0 < p.visible_fraction < 0.5]
        hits, false_positives = match(found, truths, dont_care)
        score.truths += len(truths)
        score.hits += hits
        score.detections += len(found)
        score.false_positives += false_positives
    return score


def _load_skimage() -> object:
    try:
        import skimage.data
    except ImportError as err:
        raise ConfigError("the photograph figures need scikit-image: pip install "
                          "scikit-image (it is in affect-core's test extra)") from err
    return skimage.data


def astronaut_grey() -> npt.NDArray[np.uint8]:
    """scikit-image's astronaut photograph (one real face) as a grey mono8 frame."""
    data = _load_skimage()
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)  # type: ignore[attr-defined]


def lfw_frames() -> tuple[list[npt.NDArray[np.uint8]], list[npt.NDArray[np.uint8]]]:
    """(face frames, non-face frames) from scikit-image's LFW subset (module docstring)."""
    data = _load_skimage()
    crops = data.lfw_subset()  # type: ignore[attr-defined]
    frames = []
    side = crops.shape[1] * LFW_SCALE
    offset = (LFW_CANVAS_PX - side) // 2
    for crop in crops:
        grey = np.clip(crop * 255.0, 0, 255).astype(np.uint8)
        big = cv2.resize(grey, (side, side), interpolation=cv2.INTER_CUBIC)
        canvas = np.full((LFW_CANVAS_PX, LFW_CANVAS_PX), int(grey.mean()), np.uint8)
        canvas[offset:offset + side, offset:offset + side] = big
        frames.append(canvas)
    return frames[:100], frames[100:]


def score_photographs(detector: FaceDetector, name: str) -> list[DetectionScore]:
    """Scores of ``detector`` on the astronaut and on the LFW subset."""
    astronaut = DetectionScore(name, "photo astronaut")
    found = _timed(detector, astronaut_grey(), astronaut)
    astronaut.truths, astronaut.detections = 1, len(found)
    holders = [d for d in found if all(_contains(d.box_px, eye) for eye in ASTRONAUT_EYES_PX)]
    astronaut.hits = 1 if holders else 0
    astronaut.false_positives = len(found) - len(holders[:1])
    lfw = DetectionScore(name, "photo lfw_subset")
    faces, others = lfw_frames()
    for frame in faces:
        got = _timed(detector, frame, lfw)
        lfw.truths += 1
        lfw.hits += 1 if got else 0
        lfw.detections += len(got)
    for frame in others:
        got = _timed(detector, frame, lfw)
        lfw.false_positives += 1 if got else 0
        lfw.detections += len(got)
    return [astronaut, lfw]


def _contains(box: tuple[int, int, int, int], point: tuple[float, float]) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def score_landmarks(locate: Callable[..., object], frames: Sequence[SimFrame], data: str,
                    boxes: str, detector: FaceDetector | None = None) -> LandmarkScore:
    """NME of a landmarker on rig frames, with true boxes or ``detector``'s boxes."""
    score = LandmarkScore(data, boxes)
    for frame in frames:
        found = detector.detect(frame.ir.data) if detector is not None else []
        for person in frame.people:
            if person.visible_fraction < 0.9:
                continue
            box = person.box_px
            if detector is not None:
                best = max(found, key=lambda d: iou(d.box_px, person.box_px), default=None)
                if best is None or iou(best.box_px, person.box_px) < 0.5:
                    continue
                box = best.box_px
            start = time.thread_time()
            result = locate(frame.ir.data, box)
            score.cpu_milliseconds.append((time.thread_time() - start) * 1000.0)
            if result is None:
                score.rejected += 1
                continue
            truth = person.landmarks_px
            ocular = float(np.linalg.norm(truth[_OUTER_EYES[0]] - truth[_OUTER_EYES[1]]))
            error = np.linalg.norm(result.points_px - truth, axis=1).mean()  # type: ignore
            score.nme.append(float(error) / ocular)
    return score


def evaluate_detectors(names: Sequence[str], duration_s: float, stride: int, seed: int,
                       photographs: bool = True
                       ) -> tuple[list[DetectionScore], list[LandmarkScore]]:
    """Every figure of ``affect eval detectors`` (see the module docstring)."""
    from affect_core.face.mesh import MeshLandmarker, ROI_SCALE_BY_DETECTOR

    cv2.setNumThreads(1)
    detectors = {name: make_detector(name) for name in names}
    warm_up = np.zeros((480, 640), np.uint16)
    for detector in detectors.values():
        detector.detect(warm_up)  # the first ONNX Runtime call allocates; keep it untimed
    detections: list[DetectionScore] = []
    landmarks: list[LandmarkScore] = []
    truth_mesh = MeshLandmarker(roi_scale=ROI_SCALE_BY_DETECTOR["blob"])
    box_mesh = MeshLandmarker(roi_scale=ROI_SCALE_BY_DETECTOR["blazeface"])
    blazeface = make_detector("blazeface")
    for preset in ("curated", "heterogeneous"):
        for people in (1, 2):
            frames = rig_frames(preset, people, duration_s, stride, seed)
            data = f"rig {preset} {people}p"
            for name, detector in detectors.items():
                detections.append(score_rig(detector, name, data, frames))
            if people == 2:
                landmarks.append(score_landmarks(truth_mesh.locate, frames, f"rig {preset}",
                                                 "true box"))
                landmarks.append(score_landmarks(box_mesh.locate, frames, f"rig {preset}",
                                                 "blazeface box", blazeface))
    if photographs:
        for name, detector in detectors.items():
            detections.extend(score_photographs(detector, name))
    return detections, landmarks


def format_detectors(detections: Sequence[DetectionScore],
                     landmarks: Sequence[LandmarkScore]) -> str:
    """Format the figures as a plain-text table."""
    lines = [f"{'detector':<16} {'data':<22} {'faces':>6} {'recall':>7} {'precision':>9} "
             f"{'ms/call':>8} {'cpu ms':>7}"]
    for s in detections:
        lines.append(f"{s.detector:<16} {s.data:<22} {s.truths:>6} {s.recall:>7.3f} "
                     f"{s.precision:>9.3f} {s.ms_per_call:>8.2f} {s.cpu_ms_per_call:>7.2f}")
    lines.append("")
    lines.append(f"{'mesh landmarks':<16} {'boxes':<22} {'faces':>6} {'NME mean':>9} "
                 f"{'NME p90':>8} {'rejected':>8} {'cpu ms':>7}")
    for m in landmarks:
        nme = np.asarray(m.nme)
        mean = float(nme.mean()) if nme.size else float("nan")
        p90 = float(np.percentile(nme, 90)) if nme.size else float("nan")
        ms = float(np.median(m.cpu_milliseconds)) if m.cpu_milliseconds else float("nan")
        lines.append(f"{m.data:<17} {m.boxes:<21} {nme.size:>6} {mean:>9.3f} {p90:>8.3f} "
                     f"{m.rejected:>8} {ms:>7.2f}")
    return "\n".join(lines)
