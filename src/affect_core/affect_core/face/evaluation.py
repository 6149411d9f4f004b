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


"""``affect eval face``: the face stage measured against the simulated rig's truth.

The rig runs for each preset (curated and heterogeneous) with its stereo pair turned
into depth as the lab does (block matching, depth associated within the tracker's
``depth_max_age_s``); the tracker sees only the images. Figures:

- detection recall and precision: a face matches a person in view (at least half the
  face box inside the image) at box IoU >= 0.5, one to one per frame;
- landmark NME: mean landmark error over the inter-ocular distance (outer eye corners);
- head-pose error: the angle of the rotation between estimated and true head
  orientation (median and 90th percentile, degrees);
- id switches per minute of person time: a person's matched face changes id after a gap
  no longer than the tracker's ``track_timeout_s`` (re-entries after a longer absence
  get a new id by design and are not counted);
- blink F1: a reported blink matches a true blink (eye closure crossing 0.5) of the
  same person starting up to 300 ms before it;
- quality rank correlation: Spearman's rho of each quality score against the true
  condition it measures (negated, so a good score has positive rho), over half-second
  windows per person (the mean score against the mean condition: per frame, the rig's
  shaky-head motion and sensor noise make both sides noise), for each preset and for
  the windows of both presets pooled:
  pose_stability vs true head angular speed; lighting_consistency vs the exposure change
  over the last 250 ms and vs ambient light; depth_consistency vs true head angular speed
  (the viewing-angle change) and vs the depth error at the face (stereo against the rig's
  true head depth); sharpness vs true motion-blur length (the rig blurs only fast motion,
  people walking in and out). NaN where the
  condition does not vary in the run (curated light is constant);
- cost: the tracker's mean time per frame on one thread.

Landmarks: a landmark model by name, or ``truth``: the rig's true landmarks with
Gaussian pixel noise, which isolates pose, eyes, tracking and quality from the landmark
model's errors (its NME is the noise, by construction). All figures are synthetic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import numpy.typing as npt

from affect_core.face.detect import iou
from affect_core.face.detectors import SIM_DETECTOR
from affect_core.face.head_pose import rotation_angle_deg
from affect_core.face.landmarks import FaceLandmarks
from affect_core.face.tracker import FaceTracker, FaceTrackerConfig
from affect_core.sim.face_model import landmark_index
from affect_core.sim.rig import PersonTruth, RigConfig, SimRig
from affect_core.stereo import StereoConfig, StereoDepth
from affect_core.types import NAN, FaceObservation, ImageFrame

BLINK_MATCH_NS = 300_000_000
_OUTER = (landmark_index("eye_r_outer"), landmark_index("eye_l_outer"))


class TruthLandmarker:
    """The rig's true landmarks plus Gaussian noise, as a landmark model would report them.

    ``people`` must be set to the current frame's truth before the tracker runs; the
    person whose landmarks' centre lies inside the box (nearest its centre) is returned.
    """

    def __init__(self, noise_px: float = 1.0, seed: int = 0) -> None:
        self.noise_px = noise_px
        self.people: list[PersonTruth] = []
        self._rng = np.random.default_rng(seed)

    def locate(self, image: npt.NDArray[np.generic], box_px: tuple[int, int, int, int],
               iris: bool = True) -> FaceLandmarks | None:
        """Find the truth of the person in ``box_px``, with noise; None when nobody is there."""
        x, y, w, h = box_px
        centre = np.array([x + w / 2.0, y + h / 2.0])
        best: tuple[float, PersonTruth] | None = None
        for person in self.people:
            middle = person.landmarks_px.mean(axis=0)
            if x <= middle[0] <= x + w and y <= middle[1] <= y + h:
                dist = float(np.linalg.norm(middle - centre))
                if best is None or dist < best[0]:
                    best = (dist, person)
        if best is None:
            return None
        points = best[1].landmarks_px + self._rng.normal(0.0, self.noise_px,
                                                         best[1].landmarks_px.shape)
        return FaceLandmarks(points, 1.0)


def rank(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Ranks from 1, where ties share their mean, as Spearman's rho needs them."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), np.float64)
    ranks[order] = np.arange(1, len(values) + 1, dtype=np.float64)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation over the pairs where both are finite; NaN if constant."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 3:
        return NAN
    rx, ry = rank(x), rank(y)
    if rx.std() == 0.0 or ry.std() == 0.0:
        return NAN
    return float(np.corrcoef(rx, ry)[0, 1])


def blink_f1(truth: dict[str, list[int]], found: dict[str, list[int]]) -> tuple[float, int,
                                                                                int]:
    """F1 of reported blink stamps against true blink onsets, per person; (f1, true, found)."""
    hits = total_true = total_found = 0
    for person, onsets in truth.items():
        reported = sorted(found.get(person, []))
        total_true += len(onsets)
        used: set[int] = set()
        for onset in onsets:
            for i, stamp in enumerate(reported):
                if i not in used and 0 <= stamp - onset <= BLINK_MATCH_NS:
                    used.add(i)
                    hits += 1
                    break
    total_found = sum(len(v) for v in found.values())
    if total_true == 0 and total_found == 0:
        return NAN, 0, 0
    precision = hits / total_found if total_found else 0.0
    recall = hits / total_true if total_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, total_true, total_found


@dataclass
class FaceFigures:
    """One run's figures (see the module docstring)."""

    preset: str
    people: int
    frames: int
    person_minutes: float
    detector: str
    landmarks: str
    recall: float
    precision: float
    nme: float
    pose_median_deg: float
    pose_p90_deg: float
    id_switches_per_min: float
    blink_f1: float
    blinks_true: int
    blinks_found: int
    rho: dict[str, float] = field(default_factory=dict)
    ms_per_frame: float = NAN
    windows: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.zeros((0, 9)))  # per-window means, see quality_rho


def window_means(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per (person, window) key in the first two columns, the means of the others.

    Each column's mean is over its finite values (NaN where it has none).
    """
    keys = rows[:, 0] * 1e9 + rows[:, 1]
    result = []
    for key in np.unique(keys):
        block = rows[keys == key, 2:]
        finite = np.isfinite(block)
        sums = np.where(finite, block, 0.0).sum(axis=0)
        counts = finite.sum(axis=0)
        result.append(np.where(counts > 0, sums / np.maximum(counts, 1), NAN))
    return np.array(result, np.float64).reshape(-1, rows.shape[1] - 2)


def quality_rho(windows: npt.NDArray[np.float64]) -> dict[str, float]:
    """Spearman's rho of each quality score against its true condition (negated)."""
    return {
        "pose_stability~angular speed": spearman(windows[:, 0], -windows[:, 4]),
        "lighting~exposure change": spearman(windows[:, 1], -windows[:, 5]),
        "lighting~ambient": spearman(windows[:, 1], -windows[:, 6]),
        "depth_consistency~angular speed": spearman(windows[:, 2], -windows[:, 4]),
        "depth_consistency~depth error": spearman(windows[:, 2], -windows[:, 8]),
        "sharpness~motion blur": spearman(windows[:, 3], -windows[:, 7]),
    }


def _match(faces: list[FaceObservation], people: list[PersonTruth]
           ) -> list[tuple[FaceObservation, PersonTruth]]:
    pairs = sorted(((iou(f.box_px, p.box_px), i, j) for i, f in enumerate(faces)
                    for j, p in enumerate(people)), reverse=True)
    used_f: set[int] = set()
    used_p: set[int] = set()
    result = []
    for overlap, i, j in pairs:
        if overlap < 0.5:
            break
        if i in used_f or j in used_p:
            continue
        used_f.add(i)
        used_p.add(j)
        result.append((faces[i], people[j]))
    return result


def _quaternion_matrix(q: tuple[float, float, float, float]) -> npt.NDArray[np.float64]:
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def _depth_error(depth: ImageFrame | None, box_px: tuple[int, int, int, int],
                 true_z_m: float) -> float:
    """|median depth of the inner face box - true head depth|, 1 m where none is valid."""
    if depth is None:
        return NAN
    x, y, w, h = box_px
    patch = depth.data[max(y + h // 4, 0):y + 3 * h // 4, max(x + w // 4, 0):x + 3 * w // 4]
    valid = patch[np.isfinite(patch) & (patch > 0.0)]
    return abs(float(np.median(valid)) - true_z_m) if valid.size else 1.0


def evaluate_run(preset: str, duration_s: float, people: int, seed: int = 0,
                 landmarks: str = "truth", noise_px: float = 1.0,
                 config: FaceTrackerConfig | None = None) -> FaceFigures:
    """Run the rig and the tracker for ``duration_s`` and score the tracker."""
    rig = SimRig(RigConfig(num_people=people, preset=preset, seed=seed))
    config = config or FaceTrackerConfig()
    oracle = TruthLandmarker(noise_px, seed) if landmarks == "truth" else None
    if oracle is None:
        config = replace(config, landmarker=landmarks)
    tracker = FaceTracker(config, rig.ir_camera, oracle)
    stereo = StereoDepth(StereoConfig(stereo_algorithm=0, correlation_window_size=15,
                                      disparity_range=48))
    max_age_ns = int(config.depth_max_age_s * 1e9)
    depth: ImageFrame | None = None
    previous_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    truths = found = matched = 0
    nme: list[float] = []
    pose_errors: list[float] = []
    last_id: dict[str, tuple[int, str]] = {}
    timeout_ns = int(config.track_timeout_s * 1e9)
    switches = 0
    person_frames = 0
    closure: dict[str, list[tuple[int, float]]] = {}
    blinks: dict[str, list[int]] = {}
    rotations: dict[str, list[tuple[int, npt.NDArray[np.float64]]]] = {}
    exposure: list[tuple[int, float]] = []
    rows: list[tuple[float, ...]] = []
    person_keys: dict[str, int] = {}
    spent_s = 0.0
    frames = 0
    blur_s = rig.conditions.motion_blur_exposure_s
    try:
        for frame in rig.frames(duration_s):
            frames += 1
            if frame.stereo is not None:
                depth = stereo.compute(frame.stereo)
            associated = (depth if depth is not None
                          and frame.stamp_ns - depth.stamp_ns <= max_age_ns else None)
            if oracle is not None:
                oracle.people = frame.people
            start = time.perf_counter()
            faces = tracker.process(frame.ir, associated).faces
            spent_s += time.perf_counter() - start
            exposure.append((frame.stamp_ns, frame.exposure_gain))
            while exposure[0][0] < frame.stamp_ns - 250_000_000:
                exposure.pop(0)
            exposure_change = abs(math.log(frame.exposure_gain / exposure[0][1]))
            in_view = [p for p in frame.people if p.visible_fraction >= 0.5]
            truths += len(in_view)
            found += len(faces)
            person_frames += len(frame.people)
            for person in frame.people:
                closure.setdefault(person.truth_id, []).append(
                    (frame.stamp_ns, person.eyes_closed))
            for face, person in _match(faces, frame.people):
                speed = NAN
                history = rotations.setdefault(person.truth_id, [])
                history.append((frame.stamp_ns, person.rotation))
                while len(history) > 1 and frame.stamp_ns - history[1][0] >= 100_000_000:
                    history.pop(0)
                if history[0][0] < frame.stamp_ns:
                    speed = rotation_angle_deg(history[0][1], person.rotation) / (
                        (frame.stamp_ns - history[0][0]) * 1e-9)
                if person.visible_fraction >= 0.5:
                    matched += 1
                previous = last_id.get(person.truth_id)
                if (previous is not None and previous[1] != face.person_id
                        and frame.stamp_ns - previous[0] <= timeout_ns):
                    switches += 1
                last_id[person.truth_id] = (frame.stamp_ns, face.person_id)
                if face.eyes.blink:
                    blinks.setdefault(person.truth_id, []).append(frame.stamp_ns)
                if len(face.landmarks_px):
                    iod = float(np.linalg.norm(person.landmarks_px[_OUTER[0]]
                                               - person.landmarks_px[_OUTER[1]]))
                    error = np.linalg.norm(face.landmarks_px - person.landmarks_px, axis=1)
                    nme.append(float(np.mean(error)) / iod)
                if math.isfinite(face.head_orientation_xyzw[3]):
                    pose_errors.append(rotation_angle_deg(
                        _quaternion_matrix(face.head_orientation_xyzw), person.rotation))
                q = face.quality
                rows.append((person_keys.setdefault(person.truth_id, len(person_keys)),
                             frame.stamp_ns // 500_000_000, q.pose_stability,
                             q.lighting_consistency, q.depth_consistency,
                             q.sharpness, speed, exposure_change, frame.ambient,
                             person.image_speed_px_s * blur_s,
                             _depth_error(associated, face.box_px, person.position_m[2])))
    finally:
        cv2.setNumThreads(previous_threads)
    onsets: dict[str, list[int]] = {}
    for person_id, series in closure.items():
        stamps = np.array([s for s, _ in series])
        closed = np.array([c for _, c in series]) > 0.5
        starts = np.flatnonzero(closed[1:] & ~closed[:-1]) + 1
        onsets[person_id] = [int(stamps[i]) for i in starts]
    f1, n_true, n_found = blink_f1(onsets, blinks)
    windows = window_means(np.array(rows, np.float64).reshape(-1, 11))
    minutes = person_frames / rig.config.fps / 60.0
    return FaceFigures(
        preset=preset, people=people, frames=frames, person_minutes=minutes,
        detector=config.detector,
        landmarks=f"rig truth + {noise_px:g} px noise" if landmarks == "truth" else landmarks,
        recall=matched / max(truths, 1), precision=matched / found if found else NAN,
        nme=float(np.mean(nme)) if nme else NAN,
        pose_median_deg=float(np.median(pose_errors)) if pose_errors else NAN,
        pose_p90_deg=float(np.percentile(pose_errors, 90)) if pose_errors else NAN,
        id_switches_per_min=switches / minutes if minutes else NAN,
        blink_f1=f1, blinks_true=n_true, blinks_found=n_found, rho=quality_rho(windows),
        windows=windows,
        ms_per_frame=1000.0 * spent_s / max(frames, 1))


def evaluate_face(duration_s: float, people: Sequence[int], seed: int = 0,
                  landmarks: str = "truth", noise_px: float = 1.0,
                  detector: str = SIM_DETECTOR) -> list[FaceFigures]:
    """Both presets side by side, for each number of people."""
    config = FaceTrackerConfig(detector=detector)
    return [evaluate_run(preset, duration_s, n, seed, landmarks, noise_px, config)
            for n in people for preset in ("curated", "heterogeneous")]


def format_face(results: Sequence[FaceFigures], duration_s: float) -> str:
    """Format the printed table."""
    if not results:
        return "no runs"
    lines = [f"face tracker on the simulated rig (synthetic; {duration_s:.0f} s per run, "
             f"detector: {results[0].detector}, landmarks: {results[0].landmarks}, depth: "
             "block-matching stereo):",
             f"{'preset':<14}{'people':>6}{'recall':>8}{'prec':>7}{'NME':>7}{'pose':>6}"
             f"{'p90':>6}{'sw/min':>8}{'blinkF1':>8}{'blinks':>8}{'ms/frame':>9}"]
    for r in results:
        lines.append(f"{r.preset:<14}{r.people:>6}{100 * r.recall:>7.1f}%"
                     f"{100 * r.precision:>6.1f}%{r.nme:>7.3f}{r.pose_median_deg:>6.1f}"
                     f"{r.pose_p90_deg:>6.1f}{r.id_switches_per_min:>8.2f}{r.blink_f1:>8.2f}"
                     f"{r.blinks_found:>4}/{r.blinks_true:<3}{r.ms_per_frame:>9.2f}")
    lines.append("pose: median and p90 head-orientation error in degrees; blinks: found/true")
    lines.append("quality rank correlation (Spearman rho with the true condition, higher is "
                 "better; nan: the condition does not vary):")
    names = list(results[0].rho)
    lines.append(f"{'preset':<14}{'people':>6}  " + " | ".join(names))
    for r in results:
        lines.append(f"{r.preset:<14}{r.people:>6}  "
                     + " | ".join(f"{r.rho[n]:>{len(n)}.2f}" for n in names))
    for people in sorted({r.people for r in results}):
        pooled = quality_rho(np.concatenate([r.windows for r in results
                                             if r.people == people]))
        lines.append(f"{'both pooled':<14}{people:>6}  "
                     + " | ".join(f"{pooled[n]:>{len(n)}.2f}" for n in names))
    return "\n".join(lines)
